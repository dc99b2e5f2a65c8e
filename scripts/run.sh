#!/usr/bin/env bash
# Builds the dashboard and the embeddable JavaScript package, and starts devhub, the local IoT
# Hub emulator, serving both (the dashboard at /, the example portal page at /portal/ with the
# package at /portal/pkg/) with demo devices. Runs until Ctrl-C.
#
# Usage: scripts/run.sh [DEVHUB OPTION...]
#   Options are passed to devhub, e.g. `--listen 0.0.0.0:8080`, `--demo-devices 5`, `--tls`.
#   Defaults: http://127.0.0.1:8080, state (device registry, CA certificate) in .devhub/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

case "${1:-}" in
    -h | --help)
        sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
esac

"$ROOT/scripts/install.sh"
use_repo_tools

DEVHUB_ARGS=()
DASHBOARD=0
if dashboard_has_entry_point; then
    note "building the dashboard: trunk build --release"
    trunk build --release
    DEVHUB_ARGS+=(--dist "$ROOT/dist")
    DASHBOARD=1
else
    warn "crates/dashboard has no binary target yet: starting devhub without the dashboard"
fi

# The `hubwire` package (target/pkg/full/) for the example portal page in www/portal/.
PORTAL=0
note "building the JavaScript package: scripts/build-pkg.sh --variant full"
if "$ROOT/scripts/build-pkg.sh" --variant full --quiet; then
    PORTAL=1
    DEVHUB_ARGS+=(--static "/portal=$ROOT/www/portal" --static "/portal/pkg=$ROOT/target/pkg/full")
else
    warn "the JavaScript package did not build: starting devhub without the portal example"
fi

banner() {
    local http="$1" tls="${2:-}"
    echo
    echo "================================================================"
    echo "  devhub is running"
    if [[ $DASHBOARD -eq 1 ]]; then
        echo "  Dashboard:     http://$http/"
    fi
    if [[ $PORTAL -eq 1 ]]; then
        echo "  Portal:        http://$http/portal/?device=demo-device-1  (example page embedding a device)"
        echo "  JS package:    http://$http/portal/pkg/  (files in target/pkg/full/)"
    fi
    echo "  Service API:   http://$http/api/devices"
    echo "  Devices (WS):  ws://$http/\$iothub/websocket"
    [[ -n "$tls" ]] && echo "  TLS listener:  https://$tls  (CA: .devhub/ca.pem unless --state-dir)"
    echo "  Stop with Ctrl-C"
    echo "================================================================"
    echo
}

note "starting devhub (cargo run --release -p devhub)"
# devhub prints its listening address(es) on stdout before anything else; the loop shows
# everything it prints and adds the banner once the address is known. Ctrl-C stops both.
HTTP_ADDR=""
cargo run --locked --release -p devhub -- "${DEVHUB_ARGS[@]}" "$@" | while IFS= read -r line; do
    printf '%s\n' "$line"
    case "$line" in
        "devhub listening on http://"*)
            HTTP_ADDR="${line#devhub listening on http://}"
            # With --tls a second line follows at once; without it, print the banner now.
            if [[ " $* " != *" --tls "* ]]; then banner "$HTTP_ADDR"; fi
            ;;
        "devhub tls listening on https://"*)
            banner "$HTTP_ADDR" "${line#devhub tls listening on https://}"
            ;;
    esac
done
