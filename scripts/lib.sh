# shellcheck shell=bash
# Shared helpers for the scripts in this directory (sourced, not executed).

note() { printf '==> %s\n' "$*"; }
warn() { printf '\n!!! %s\n\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

require_cmd() {
    command -v "$1" >/dev/null || die "$1 not found: $2"
}

# Timed install steps: "==> name" … "    done in 12s" / "    skipped: reason".
step_begin() {
    _STEP_NAME="$1"
    _STEP_START=$(date +%s)
    note "$1"
}
step_done() { printf '    %s: done in %ss\n' "$_STEP_NAME" "$(($(date +%s) - _STEP_START))"; }
step_skip() { printf '    %s\n' "$1"; }

# Puts the tools this repository installs first on PATH (wasm-opt from npm, cargo installs).
use_repo_tools() {
    export PATH="$ROOT/.tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
}

port_is_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a free TCP port on 127.0.0.1: the preferred one when it is free (stable ports keep
# compile-time test configuration unchanged between runs), otherwise one the kernel picks.
free_port() {
    local preferred="${1:-}"
    if [[ -n "$preferred" ]] && port_is_free "$preferred"; then
        echo "$preferred"
        return
    fi
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_for_port PORT SECONDS [PID]: waits until something accepts on 127.0.0.1:PORT. Gives up
# early when PID (the process expected to listen) has exited.
wait_for_port() {
    local port="$1" secs="$2" pid="${3:-}" i
    for ((i = 0; i < secs * 10; i++)); do
        if ! port_is_free "$port"; then
            return 0
        fi
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.1
    done
    return 1
}

# wait_for_line FILE PATTERN SECONDS [PID]: waits until FILE has a line matching the extended
# regex PATTERN and prints that line.
wait_for_line() {
    local file="$1" pattern="$2" secs="$3" pid="${4:-}" i line
    for ((i = 0; i < secs * 10; i++)); do
        line=$(grep -E -m1 "$pattern" "$file" 2>/dev/null || true)
        if [[ -n "$line" ]]; then
            echo "$line"
            return 0
        fi
        if [[ -n "$pid" ]] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.1
    done
    return 1
}

# True when the dashboard crate has something Trunk can build (a binary target).
dashboard_has_entry_point() {
    [[ -f "$ROOT/crates/dashboard/src/main.rs" ]] || grep -q '^\[\[bin\]\]' "$ROOT/crates/dashboard/Cargo.toml"
}

# True when devhub has its binary.
devhub_has_binary() {
    [[ -f "$ROOT/crates/devhub/src/main.rs" ]] || grep -q '^\[\[bin\]\]' "$ROOT/crates/devhub/Cargo.toml"
}
