#!/usr/bin/env bash
# Builds the embeddable JavaScript package of hubwire-web (wasm + wasm-bindgen glue + .d.ts).
#
# Usage: scripts/build-pkg.sh [--variant full|mqtt]... [--quiet]
#
#   target/pkg/full/  default features (MQTT + AMQP + HTTPS + the JS API)
#   target/pkg/mqtt/  --no-default-features --features mqtt,js (MQTT-only client)
#
# Each variant: cargo build --profile wasm-release --target wasm32-unknown-unknown, then
# wasm-bindgen --target web, then wasm-opt -Oz --converge (binaryen from .tools/, scripts/install.sh).
# Prints, per variant, the size of what a page downloads (W3 in WORKLOADS.md): the .wasm and
# the JS glue, raw and gzip -9, and their sum. Also writes target/pkg/sizes.json. Each folder
# gets its package.json and README from scripts/package-pkg.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
use_repo_tools

VARIANTS=()
QUIET=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --variant)
            [[ $# -ge 2 ]] || die "--variant needs full or mqtt"
            case "$2" in
                full | mqtt) VARIANTS+=("$2") ;;
                *) die "unknown variant: $2 (full, mqtt)" ;;
            esac
            shift 2
            ;;
        --quiet)
            QUIET=1
            shift
            ;;
        -h | --help)
            sed -n '2,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
done
[[ ${#VARIANTS[@]} -gt 0 ]] || VARIANTS=(full mqtt)

require_cmd cargo "install Rust with rustup first"
require_cmd wasm-bindgen "run scripts/install.sh"
require_cmd wasm-opt "run scripts/install.sh (binaryen@132 into .tools/)"
require_cmd gzip "install gzip"

PKG_DIR="$ROOT/target/pkg"
# Cargo's output follows CARGO_TARGET_DIR when set; the packages stay in target/pkg/.
WASM_IN="${CARGO_TARGET_DIR:-$ROOT/target}/wasm32-unknown-unknown/wasm-release/hubwire_web.wasm"

features_for() {
    case "$1" in
        full) echo "" ;;
        mqtt) echo "--no-default-features --features mqtt,js" ;;
    esac
}

gz() { gzip -9 -c "$1" | wc -c; }
size() { stat -c %s "$1"; }

build_variant() {
    local variant="$1" out="$PKG_DIR/$1" features
    features=$(features_for "$variant")
    note "hubwire-web ($variant): cargo build --profile wasm-release ${features}"
    # The two variants share one target directory; cargo keeps both builds' artifacts apart by
    # their feature hash and only the final .wasm is overwritten, so the bindgen step follows at once.
    # shellcheck disable=SC2086
    if [[ $QUIET -eq 1 ]]; then
        cargo build --locked --quiet -p hubwire-web --target wasm32-unknown-unknown \
            --profile wasm-release $features
    else
        cargo build --locked -p hubwire-web --target wasm32-unknown-unknown \
            --profile wasm-release $features
    fi
    rm -rf "$out"
    mkdir -p "$out"
    wasm-bindgen --target web --out-dir "$out" "$WASM_IN"
    # Rust's wasm32 target emits these post-MVP features; wasm-opt must accept them to keep them.
    # --converge repeats -Oz while it still shrinks the module (about 0.5 KB gzip); the
    # producers section is metadata no browser reads.
    wasm-opt -Oz --converge --strip-producers --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
        --enable-mutable-globals --enable-reference-types --enable-multivalue \
        -o "$out/hubwire_web_bg.wasm.opt" "$out/hubwire_web_bg.wasm"
    mv "$out/hubwire_web_bg.wasm.opt" "$out/hubwire_web_bg.wasm"
}

for v in "${VARIANTS[@]}"; do
    build_variant "$v"
    # The folder was just recreated: make it a whole npm-style package again.
    "$ROOT/scripts/package-pkg.sh" --variant "$v"
done

# --- sizes (every variant present, built now or before) ---------------------------------------
echo
printf '%-6s %-22s %10s %10s\n' variant file raw gzip-9
json="{"
first=1
for v in full mqtt; do
    dir="$PKG_DIR/$v"
    [[ -f "$dir/hubwire_web_bg.wasm" && -f "$dir/hubwire_web.js" ]] || continue
    wr=$(size "$dir/hubwire_web_bg.wasm")
    wg=$(gz "$dir/hubwire_web_bg.wasm")
    jr=$(size "$dir/hubwire_web.js")
    jg=$(gz "$dir/hubwire_web.js")
    printf '%-6s %-22s %10d %10d\n' "$v" hubwire_web_bg.wasm "$wr" "$wg"
    printf '%-6s %-22s %10d %10d\n' "$v" hubwire_web.js "$jr" "$jg"
    printf '%-6s %-22s %10d %10d   (%s KB gzip)\n' "$v" total "$((wr + jr))" "$((wg + jg))" \
        "$(awk -v b="$((wg + jg))" 'BEGIN { printf "%.1f", b / 1000 }')"
    [[ $first -eq 1 ]] || json+=","
    first=0
    json+="\"$v\":{\"wasmRaw\":$wr,\"wasmGzip\":$wg,\"jsRaw\":$jr,\"jsGzip\":$jg,\"totalRaw\":$((wr + jr)),\"totalGzip\":$((wg + jg))}"
done
json+="}"
echo "$json" >"$PKG_DIR/sizes.json"
note "packages in ${PKG_DIR#"$ROOT"/}/{full,mqtt}/ (sizes in ${PKG_DIR#"$ROOT"/}/sizes.json)"
