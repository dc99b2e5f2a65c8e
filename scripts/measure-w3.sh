#!/usr/bin/env bash
# W3 (WORKLOADS.md): what a page downloads, gzip -9, against the targets in BENCHMARKS.md.
#
# Usage: scripts/measure-w3.sh [--dist DIR] [--no-build]
#
#   1. the JavaScript packages: scripts/build-pkg.sh (target/pkg/{mqtt,full}/: wasm + JS glue)
#   2. the dashboard: trunk build --release --dist DIR (default target/w3-dist; a directory of
#      its own, so it never races another build into dist/), then every file the page downloads
#
# --no-build measures what is already in target/pkg/ and DIR. Writes target/w3-sizes.json.
# 1 KB = 1000 bytes.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
use_repo_tools

DIST="$ROOT/target/w3-dist"
BUILD=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --dist)
            [[ $# -ge 2 ]] || die "--dist needs a directory"
            DIST="$(realpath -m "$2")"
            shift 2
            ;;
        --no-build)
            BUILD=0
            shift
            ;;
        -h | --help)
            sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
done

require_cmd gzip "install gzip"
if [[ $BUILD -eq 1 ]]; then
    require_cmd trunk "run scripts/install.sh"
    "$ROOT/scripts/build-pkg.sh" --quiet >/dev/null
    note "dashboard: trunk build --release --dist ${DIST#"$ROOT"/}"
    trunk build --release --dist "$DIST" >/dev/null 2>&1 || {
        trunk build --release --dist "$DIST"
        die "trunk build failed"
    }
fi

gz() { gzip -9 -c "$1" | wc -c; }
kb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1000 }'; }

# name, gzip total, target KB
verdict() {
    local met=missed
    [[ $2 -le $(($3 * 1000)) ]] && met=met
    printf '%-10s %8s KB gzip   target <= %3d KB   %s\n' "$1" "$(kb "$2")" "$3" "$met"
}

printf '%-10s %-46s %10s %10s\n' build file raw gzip-9
json="{"
declare -A TOTAL
for v in mqtt full; do
    dir="$ROOT/target/pkg/$v"
    [[ -f "$dir/hubwire_web_bg.wasm" ]] || die "no package in ${dir#"$ROOT"/} (run without --no-build)"
    tr=0 tg=0
    for f in hubwire_web_bg.wasm hubwire_web.js; do
        r=$(stat -c %s "$dir/$f") g=$(gz "$dir/$f")
        printf '%-10s %-46s %10d %10d\n' "$v" "$f" "$r" "$g"
        tr=$((tr + r)) tg=$((tg + g))
    done
    printf '%-10s %-46s %10d %10d\n' "$v" total "$tr" "$tg"
    TOTAL[$v]=$tg
    json+="\"$v\":{\"raw\":$tr,\"gzip\":$tg},"
done

[[ -f "$DIST/index.html" ]] || die "no dashboard in ${DIST#"$ROOT"/} (run without --no-build)"
tr=0 tg=0
while IFS= read -r -d '' f; do
    r=$(stat -c %s "$f") g=$(gz "$f")
    printf '%-10s %-46s %10d %10d\n' dashboard "${f#"$DIST"/}" "$r" "$g"
    tr=$((tr + r)) tg=$((tg + g))
done < <(find "$DIST" -type f -print0 | sort -z)
printf '%-10s %-46s %10d %10d\n' dashboard total "$tr" "$tg"
TOTAL[dashboard]=$tg
json+="\"dashboard\":{\"raw\":$tr,\"gzip\":$tg}}"
echo "$json" >"$ROOT/target/w3-sizes.json"

echo
verdict mqtt "${TOTAL[mqtt]}" 40
verdict full "${TOTAL[full]}" 90
verdict dashboard "${TOTAL[dashboard]}" 250
