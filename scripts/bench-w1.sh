#!/usr/bin/env bash
# W1 (MQTT 3.1.1 PUBLISH codec) benchmark: hubwire-mqtt beside its peers, medians and ranges.
#
# Usage: scripts/bench-w1.sh [native|browser|all]      (default: all)
#
#   native   rumqttc 0.25 mqttbytes vs hubwire-mqtt, release build (fat LTO), one fresh
#            process per implementation and run (RUNS, default 5)
#   browser  mqtt-packet 9 (esbuild + npm buffer) vs hubwire-mqtt as wasm32 in the same page,
#            headless Chromium, one fresh browser per run (BROWSER_RUNS, default 3)
#
# Every run follows shared/bench/WORKLOADS.md: warm-up 100,000, N = 1,000,000 for `combined`,
# N/4 for the secondary loops, checksums checked (an invalid run fails the script). Raw JSON
# lines go to target/bench/w1/<time>/; the summary (median, min–max) is printed at the end.
# Nothing else heavy should run meanwhile: the 1-minute load average is recorded per loop, and
# with WAIT_QUIET=<seconds> each run first waits (up to that long) for the 1-minute load
# average to drop below QUIET_LOAD (default 1.0) and for other workloads' benchmarks to end.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"
use_repo_tools

MODE="${1:-all}"
case "$MODE" in
    native | browser | all) ;;
    -h | --help)
        sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown mode: $MODE (native, browser or all)" ;;
esac
RUNS="${RUNS:-5}"
WAIT_QUIET="${WAIT_QUIET:-0}"
QUIET_LOAD="${QUIET_LOAD:-1.0}"
BROWSER_RUNS="${BROWSER_RUNS:-3}"
OUT="$ROOT/target/bench/w1/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"

machine_notes() {
    {
        echo "date: $(date -u +%FT%TZ)"
        echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet -- crates/mqtt crates/bench crates/bench-wasm || echo ' (modified)')"
        echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
        echo "rustc: $(rustc -V)"
        echo "node: $(node -v)"
        echo "uptime at start: $(uptime)"
    } | tee "$OUT/machine.txt"
}

load1() { cut -d' ' -f1 /proc/loadavg; }

# Another workload's benchmark (script, runner or browser driver) is running.
other_bench_running() {
    pgrep -f 'scripts/bench-w[02-9]\.sh|/w[02-9]-browser\.mjs|target/release/w[02-9]( |$)' >/dev/null
}

# Waits up to WAIT_QUIET seconds for the machine to calm down (other builds finishing, no other
# benchmark running).
wait_quiet() {
    local deadline=$((SECONDS + WAIT_QUIET))
    while ((SECONDS < deadline)); do
        if ! other_bench_running && awk -v l="$(load1)" -v q="$QUIET_LOAD" 'BEGIN { exit !(l < q) }'; then
            return
        fi
        sleep 5
    done
    other_bench_running && warn "another benchmark is still running: figures will be disturbed"
    return 0
}

run_native() {
    note "native: building the runner (release, fat LTO)"
    cargo build --release -p hubwire-bench --bin w1
    local bin="$ROOT/target/release/w1" run impls
    for ((run = 1; run <= RUNS; run++)); do
        # Alternate the order so neither implementation always runs first.
        if ((run % 2)); then impls=(hubwire rumqttc); else impls=(rumqttc hubwire); fi
        for impl in "${impls[@]}"; do
            wait_quiet
            note "native run $run/$RUNS: $impl (load $(load1))"
            "$bin" --impl "$impl" | sed "s/^{/{\"env\":\"native\",\"run\":$run,/" | tee -a "$OUT/native.jsonl"
        done
    done
}

run_browser() {
    require_cmd wasm-bindgen "run scripts/install.sh"
    [[ -x /usr/bin/chromium ]] || die "/usr/bin/chromium not found: run scripts/install.sh"
    note "browser: building hubwire-bench-wasm (wasm-release, as shipped) and its JS glue"
    cargo build --profile wasm-release --target wasm32-unknown-unknown -p hubwire-bench-wasm
    rm -rf www/bench/pkg www/bench/pkg-o3
    wasm-bindgen --target web --out-dir www/bench/pkg \
        target/wasm32-unknown-unknown/wasm-release/hubwire_bench_wasm.wasm
    # Informational: the same code built for speed (opt-level 3 instead of "z"), reported as
    # hubwire-mqtt-o3. Its own target directory keeps the shipped build's artifacts intact.
    note "browser: the same build with opt-level 3 (hubwire-mqtt-o3)"
    CARGO_PROFILE_WASM_RELEASE_OPT_LEVEL=3 cargo build --profile wasm-release \
        --target wasm32-unknown-unknown -p hubwire-bench-wasm --target-dir target/wasm-o3
    wasm-bindgen --target web --out-dir www/bench/pkg-o3 \
        target/wasm-o3/wasm32-unknown-unknown/wasm-release/hubwire_bench_wasm.wasm
    note "browser: npm packages in tests/bench/ and the mqtt-packet bundle"
    # `npm ci` wipes node_modules, which breaks any other bench script using it at that moment:
    # install only when the lock changed (same stamp as scripts/install.sh).
    local want stamp=tests/bench/node_modules/.hubwire-installed
    want=$(sha256sum tests/bench/package-lock.json tests/bench/package.json | sha256sum | cut -d' ' -f1)
    if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
        (cd tests/bench && npm ci --no-audit --no-fund --silent)
        echo "$want" >"$stamp"
    fi
    node tests/bench/build-w1.mjs
    local run
    for ((run = 1; run <= BROWSER_RUNS; run++)); do
        wait_quiet
        note "browser run $run/$BROWSER_RUNS: fresh Chromium (load $(load1))"
        node tests/bench/w1-browser.mjs --runs 1 --first "$run" | tee -a "$OUT/browser.jsonl"
    done
}

summarize() {
    python3 - "$OUT" <<'PY'
import json, pathlib, statistics, sys
out = pathlib.Path(sys.argv[1])
rows = {}
for f in sorted(out.glob("*.jsonl")):
    for line in f.read_text().splitlines():
        d = json.loads(line)
        rows.setdefault((d["env"], d["impl"], d["loop"]), []).append(d)
if not rows:
    sys.exit("no results")
def fmt(v):
    return f"{v/1e6:.2f} M" if v >= 1e6 else f"{v/1e3:.1f} k"
print(f"\n{'env':9} {'impl':18} {'loop':17} {'median/s':>10} {'range/s':>21} {'MB/s':>8} runs load1")
med = {}
for (env, impl, loop), ds in sorted(rows.items()):
    ps = [d["per_s"] for d in ds]
    mb = statistics.median(d["mb_per_s"] for d in ds)
    loads = [d["load1"] for d in ds]
    ok = all(d["valid"] for d in ds)
    med[(env, impl, loop)] = statistics.median(ps)
    print(f"{env:9} {impl:18} {loop:17} {fmt(statistics.median(ps)):>10} "
          f"{fmt(min(ps)) + ' – ' + fmt(max(ps)):>21} {mb:8.1f} {len(ps):4} "
          f"{min(loads):.1f}–{max(loads):.1f}{'' if ok else '  INVALID'}")
targets = {"native": ("rumqttc-mqttbytes", 1.5), "chromium": ("mqtt-packet", 40.0)}
print()
for env, (peer, target) in targets.items():
    for ours in ("hubwire-mqtt", "hubwire-mqtt-o3"):
        for loop in ("combined", "encode_only", "decode_only"):
            a, b = med.get((env, ours, loop)), med.get((env, peer, loop))
            if a and b:
                extra = ""
                if loop == "combined" and ours == "hubwire-mqtt":
                    extra = f"   (target ≥ {target:g}×: {'met' if a / b >= target else 'MISSED'})"
                print(f"{env:9} {loop:12} {ours} / {peer}: {a / b:7.2f}×{extra}")
PY
}

machine_notes
if [[ "$MODE" == native || "$MODE" == all ]]; then run_native; fi
if [[ "$MODE" == browser || "$MODE" == all ]]; then run_browser; fi
echo "uptime at end: $(uptime)" | tee -a "$OUT/machine.txt"
summarize | tee "$OUT/summary.txt"
note "raw results: ${OUT#"$ROOT"/}"
