#!/usr/bin/env bash
# Runs every hubwire test suite and prints one summary line per suite.
#
# Usage: scripts/test.sh [SUITE...]
#   native     cargo test for the native crates (codec, conventions, devhub, benches' lib)
#   dashboard  trunk build --release of the dashboard (the build scripts/run.sh serves)
#   browser    wasm tests of hubwire-web (and the dashboard) in headless Chromium, against a
#              devhub, a Mosquitto WebSocket broker and a rhea AMQP peer started here
#   interop    the official Azure IoT Node device SDK against devhub over TLS (node --test)
#   e2e        Playwright tests of the served dashboard and of the example portal page
#              (tests/e2e/*.test.mjs); first builds the JavaScript package (scripts/build-pkg.sh
#              --variant full) and type-checks tests/types/ against it
# With no SUITE, all of them run. Logs go to artifacts/test-logs/. Exits non-zero when any
# suite fails; everything started here is stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

ALL_SUITES=(native dashboard browser interop e2e)
SUITES=()
for arg in "$@"; do
    case "$arg" in
        -h | --help)
            sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        native | dashboard | browser | interop | e2e) SUITES+=("$arg") ;;
        *) die "unknown suite: $arg (suites: ${ALL_SUITES[*]})" ;;
    esac
done
[[ ${#SUITES[@]} -gt 0 ]] || SUITES=("${ALL_SUITES[@]}")
selected() {
    local s
    for s in "${SUITES[@]}"; do [[ "$s" == "$1" ]] && return 0; done
    return 1
}

# Logs go to artifacts/test-logs/; a second run at the same time in the same checkout keeps
# its own folder instead of deleting the first one's logs.
mkdir -p "$ROOT/artifacts"
exec 9>"$ROOT/artifacts/.test-logs.lock"
if flock -n 9; then
    LOG_DIR="$ROOT/artifacts/test-logs"
else
    LOG_DIR="$ROOT/artifacts/test-logs-$$"
    note "another test run is using artifacts/test-logs/: this one logs to ${LOG_DIR#"$ROOT"/}"
fi
LOGS="${LOG_DIR#"$ROOT"/}"
rm -rf "$LOG_DIR"
mkdir -p "$LOG_DIR"
WORK="$(mktemp -d -t hubwire-test.XXXXXX)"
TEST_START=$(date +%s)

# --- process bookkeeping -----------------------------------------------------------------------
STARTED_PIDS=()
cleanup() {
    local pid i
    for pid in "${STARTED_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${STARTED_PIDS[@]}"; do
        for ((i = 0; i < 50; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    # Keep the service logs next to the suite logs; drop the rest.
    cp "$WORK"/*.log "$LOG_DIR"/ 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- results -----------------------------------------------------------------------------------
SUMMARY=()
FAILED=0
record() { # record SUITE STATUS SECONDS DETAIL
    SUMMARY+=("$(printf '%-10s %-5s %5ss  %s' "$1" "$2" "$3" "$4")")
    [[ "$2" == FAIL ]] && FAILED=1
    return 0
}
skip() { # skip SUITE REASON
    warn "SKIPPING $1: $2"
    record "$1" SKIP 0 "$2"
}

# Sums cargo's "test result:" lines of a log into "N passed, M failed, K ignored".
cargo_counts() {
    awk '/test result:/ {
            for (i = 1; i <= NF; i++) {
                if ($(i) ~ /^passed;?$/) p += $(i - 1)
                if ($(i) ~ /^failed;?$/) f += $(i - 1)
                if ($(i) ~ /^ignored;?$/) g += $(i - 1)
            }
        }
        END { printf "%d passed, %d failed, %d ignored", p, f, g }' "$1"
}
# cargo_outcome LOG: the counts, plus a note when something did not even compile.
cargo_outcome() {
    local counts
    counts=$(cargo_counts "$1")
    if grep -q '^error: could not compile' "$1"; then
        counts="$counts; compile errors"
    fi
    echo "$counts"
}
# Reads node --test's TAP totals ("# pass N", "# fail N") from a log.
node_counts() {
    awk '/^# pass / { p = $3 } /^# fail / { f = $3 } /^# skipped / { s = $3 }
        END { printf "%d passed, %d failed, %d skipped", p, f, s }' "$1"
}

# run_logged LOG CMD...: runs CMD with its output on the terminal and in LOG; returns its status.
run_logged() {
    local log="$1" rc
    shift
    set +e
    "$@" 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    set -e
    return "$rc"
}

# --- install -----------------------------------------------------------------------------------
"$ROOT/scripts/install.sh"
use_repo_tools

# --- native ------------------------------------------------------------------------------------
# hubwire-web's tests run in the browser suite. The dashboard's reducer and view tests are
# target-independent and run here (its network code is wasm32-only).
if selected native; then
    note "suite native: cargo test (native crates)"
    t0=$(date +%s)
    if run_logged "$LOG_DIR/native.log" \
        cargo test --locked --no-fail-fast --workspace --exclude hubwire-web; then
        record native PASS $(($(date +%s) - t0)) "$(cargo_counts "$LOG_DIR/native.log")"
    else
        record native FAIL $(($(date +%s) - t0)) "$(cargo_outcome "$LOG_DIR/native.log") (see $LOGS/native.log)"
    fi
fi

# --- dashboard build ---------------------------------------------------------------------------
DIST_OK=0
if selected dashboard || selected e2e; then
    if ! dashboard_has_entry_point; then
        skip dashboard "crates/dashboard has no binary target yet, nothing for Trunk to build"
    else
        note "suite dashboard: trunk build --release"
        t0=$(date +%s)
        if run_logged "$LOG_DIR/dashboard.log" trunk build --release; then
            DIST_OK=1
            wasm=$(find dist -maxdepth 1 -name '*.wasm' | head -n1)
            detail="dist/ built"
            if [[ -n "$wasm" ]]; then
                detail="$(basename "$wasm") $(($(stat -c %s "$wasm") / 1024)) KiB, $(($(gzip -9 -c "$wasm" | wc -c) / 1024)) KiB gzip"
            fi
            record dashboard PASS $(($(date +%s) - t0)) "$detail"
        else
            record dashboard FAIL $(($(date +%s) - t0)) "trunk build failed (see $LOGS/dashboard.log)"
        fi
    fi
fi

# --- JavaScript package (for the portal example in the e2e suite) ------------------------------
# target/pkg/full/ as a user gets it (wasm-bindgen output, package.json, README), then a strict
# TypeScript check of a typed example against its .d.ts. devhub serves it at /portal/pkg/.
PKG_OK=0
if selected e2e; then
    note "package: scripts/build-pkg.sh --variant full, tsc -p tests/types"
    t0=$(date +%s)
    build_package() {
        "$ROOT/scripts/build-pkg.sh" --variant full --quiet
    }
    if ! run_logged "$LOG_DIR/package.log" build_package; then
        record package FAIL $(($(date +%s) - t0)) "the package did not build (see $LOGS/package.log)"
    else
        PKG_OK=1
        if run_logged "$LOG_DIR/types.log" tests/node_modules/.bin/tsc -p tests/types; then
            total=$(node -e 'const s = require(process.argv[1]); console.log((s.full.totalGzip / 1000).toFixed(1))' \
                "$ROOT/target/pkg/sizes.json" 2>/dev/null || echo "?")
            record package PASS $(($(date +%s) - t0)) "target/pkg/full ${total} KB gzip; tsc --strict on tests/types OK"
        else
            record package FAIL $(($(date +%s) - t0)) "tsc found type errors (see $LOGS/types.log)"
        fi
    fi
fi

# --- services for the cross-process suites -----------------------------------------------------
DEVHUB_UP=0
MOSQUITTO_UP=0
RHEA_UP=0
RHEA_WS=""

start_devhub() {
    note "building devhub"
    if ! run_logged "$LOG_DIR/devhub-build.log" cargo build --locked -p devhub; then
        warn "devhub does not build (see $LOGS/devhub-build.log)"
        return 1
    fi
    local port tls_port args line
    port=$(free_port 18080)
    tls_port=$(free_port 18443)
    args=(--state-dir "$WORK/devhub-state" --listen "127.0.0.1:$port"
        --tls --tls-listen "127.0.0.1:$tls_port")
    [[ $DIST_OK -eq 1 ]] && args+=(--dist "$ROOT/dist")
    [[ $PKG_OK -eq 1 ]] && args+=(--static "/portal=$ROOT/www/portal" --static "/portal/pkg=$ROOT/target/pkg/full")
    note "starting devhub ${args[*]}"
    NO_COLOR=1 "$ROOT/target/debug/devhub" "${args[@]}" >"$WORK/devhub.stdout.log" 2>"$WORK/devhub.log" 9>&- &
    DEVHUB_PID=$!
    STARTED_PIDS+=("$DEVHUB_PID")
    if ! line=$(wait_for_line "$WORK/devhub.stdout.log" '^devhub listening on http://' 60 "$DEVHUB_PID"); then
        warn "devhub did not start; its log:"
        cat "$WORK/devhub.log" "$WORK/devhub.stdout.log" >&2 || true
        return 1
    fi
    DEVHUB_ADDR="${line#devhub listening on http://}"
    if ! line=$(wait_for_line "$WORK/devhub.stdout.log" '^devhub tls listening on https://' 30 "$DEVHUB_PID"); then
        warn "devhub did not report its TLS listener; its log:"
        cat "$WORK/devhub.log" "$WORK/devhub.stdout.log" >&2 || true
        return 1
    fi
    DEVHUB_TLS_ADDR="${line#devhub tls listening on https://}"
    DEVHUB_CA="$WORK/devhub-state/ca.pem"
    [[ -f "$DEVHUB_CA" ]] || {
        warn "devhub wrote no $DEVHUB_CA"
        return 1
    }
    note "devhub up: http://$DEVHUB_ADDR, https://$DEVHUB_TLS_ADDR"
    DEVHUB_UP=1
}

start_mosquitto() {
    local mqtt_port ws_port
    mqtt_port=$(free_port 18830)
    ws_port=$(free_port 18883)
    sed -e "s/@MQTT_PORT@/$mqtt_port/" -e "s/@WS_PORT@/$ws_port/" \
        tests/mosquitto/mosquitto.conf.in >"$WORK/mosquitto.conf"
    note "starting mosquitto (mqtt 127.0.0.1:$mqtt_port, websockets 127.0.0.1:$ws_port)"
    mosquitto -c "$WORK/mosquitto.conf" >"$WORK/mosquitto.log" 2>&1 9>&- &
    MOSQUITTO_PID=$!
    STARTED_PIDS+=("$MOSQUITTO_PID")
    if ! wait_for_port "$ws_port" 20 "$MOSQUITTO_PID"; then
        warn "mosquitto did not start; its log:"
        cat "$WORK/mosquitto.log" >&2 || true
        return 1
    fi
    MOSQUITTO_WS="ws://127.0.0.1:$ws_port"
    MOSQUITTO_UP=1
}

# The independent AMQP 1.0 peer (rhea over WebSocket, tests/rhea-peer) for the generic AMQP client.
start_rhea_peer() {
    local port
    [[ -f tests/rhea-peer/server.js ]] || return 0
    port=$(free_port 25673)
    note "starting rhea AMQP peer (websockets 127.0.0.1:$port)"
    node tests/rhea-peer/server.js "$port" >"$WORK/rhea-peer.log" 2>&1 9>&- &
    RHEA_PID=$!
    STARTED_PIDS+=("$RHEA_PID")
    if ! wait_for_port "$port" 20 "$RHEA_PID"; then
        warn "the rhea peer did not start; its log:"
        cat "$WORK/rhea-peer.log" >&2 || true
        return 1
    fi
    RHEA_WS="ws://127.0.0.1:$port"
    RHEA_UP=1
}

if selected browser || selected interop || selected e2e; then
    if devhub_has_binary; then
        start_devhub || true
    else
        warn "crates/devhub has no binary yet"
    fi
fi
if selected browser; then
    start_mosquitto || true
    start_rhea_peer || true
fi

# --- browser -----------------------------------------------------------------------------------
web_has_tests() {
    grep -rqs 'wasm_bindgen_test' crates/web/src crates/web/tests
}
dashboard_has_tests() {
    grep -rqs 'wasm_bindgen_test' crates/dashboard/src crates/dashboard/tests
}
if selected browser; then
    if ! web_has_tests; then
        skip browser "crates/web has no wasm_bindgen_test tests yet"
    elif [[ $DEVHUB_UP -ne 1 || $MOSQUITTO_UP -ne 1 ]]; then
        record browser FAIL 0 "devhub or mosquitto did not start (see $LOGS/)"
    elif [[ -f tests/rhea-peer/server.js && $RHEA_UP -ne 1 ]]; then
        record browser FAIL 0 "the rhea AMQP peer did not start (see $LOGS/)"
    else
        packages=(-p hubwire-web)
        dashboard_has_tests && packages+=(-p hubwire-dashboard)
        note "suite browser: cargo test ${packages[*]} --target wasm32-unknown-unknown --tests"
        t0=$(date +%s)
        # The addresses are compiled into the tests (option_env!); the preferred fixed ports keep
        # them unchanged between runs, so the test crate is not rebuilt every time.
        if run_logged "$LOG_DIR/browser.log" env \
            CHROMEDRIVER=/usr/bin/chromedriver \
            WASM_BINDGEN_TEST_WEBDRIVER_JSON="$ROOT/crates/web/webdriver.json" \
            WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}" \
            HUBWIRE_DEVHUB_HTTP="http://$DEVHUB_ADDR" \
            HUBWIRE_DEVHUB_WS="ws://$DEVHUB_ADDR" \
            HUBWIRE_MOSQUITTO_WS="$MOSQUITTO_WS" \
            ${RHEA_WS:+HUBWIRE_RHEA_WS="$RHEA_WS"} \
            cargo test --locked --no-fail-fast "${packages[@]}" --target wasm32-unknown-unknown --tests; then
            counts=$(cargo_counts "$LOG_DIR/browser.log")
            if [[ "$counts" == "0 passed"* ]]; then
                record browser FAIL $(($(date +%s) - t0)) "ran no tests"
            else
                record browser PASS $(($(date +%s) - t0)) "$counts"
            fi
        else
            record browser FAIL $(($(date +%s) - t0)) "$(cargo_outcome "$LOG_DIR/browser.log") (see $LOGS/browser.log)"
        fi
    fi
fi

# --- node suites (interop, e2e) ----------------------------------------------------------------
# run_node_suite NAME DIR EXTRA_ENV...: node --test over DIR/*.test.mjs with devhub's addresses.
run_node_suite() {
    local name="$1" dir="$2" t0 files counts
    shift 2
    files=("$dir"/*.test.mjs)
    note "suite $name: node --test ${files[*]}"
    t0=$(date +%s)
    if run_logged "$LOG_DIR/$name.log" env \
        HUBWIRE_DEVHUB_HTTP="http://$DEVHUB_ADDR" \
        HUBWIRE_DEVHUB_WS="ws://$DEVHUB_ADDR" \
        HUBWIRE_DEVHUB_TLS="$DEVHUB_TLS_ADDR" \
        NODE_EXTRA_CA_CERTS="$DEVHUB_CA" \
        "$@" \
        node --test --test-reporter=tap "${files[@]}"; then
        counts=$(node_counts "$LOG_DIR/$name.log")
        if [[ "$counts" == "0 passed"* ]]; then
            record "$name" FAIL $(($(date +%s) - t0)) "ran no tests"
        else
            record "$name" PASS $(($(date +%s) - t0)) "$counts"
        fi
    else
        record "$name" FAIL $(($(date +%s) - t0)) "$(node_counts "$LOG_DIR/$name.log") (see $LOGS/$name.log)"
    fi
}

if selected interop; then
    if ! compgen -G "tests/interop/*.test.mjs" >/dev/null; then
        skip interop "no tests under tests/interop/"
    elif ! devhub_has_binary; then
        skip interop "crates/devhub has no binary yet"
    elif [[ $DEVHUB_UP -ne 1 ]]; then
        record interop FAIL 0 "devhub did not start (see $LOGS/devhub.log)"
    else
        run_node_suite interop tests/interop
    fi
fi

if selected e2e; then
    if ! compgen -G "tests/e2e/*.test.mjs" >/dev/null; then
        skip e2e "no Playwright tests under tests/e2e/ yet"
    elif [[ $DIST_OK -ne 1 ]]; then
        record e2e FAIL 0 "the dashboard was not built"
    elif [[ $DEVHUB_UP -ne 1 ]]; then
        record e2e FAIL 0 "devhub did not start (see $LOGS/devhub.log)"
    else
        portal=()
        [[ $PKG_OK -eq 1 ]] && portal=(HUBWIRE_PORTAL_URL="http://$DEVHUB_ADDR/portal/")
        run_node_suite e2e tests/e2e HUBWIRE_DASHBOARD_URL="http://$DEVHUB_ADDR/" "${portal[@]}" CHROMIUM=/usr/bin/chromium
    fi
fi

# --- summary -----------------------------------------------------------------------------------
echo
echo "================================ hubwire test summary ================================"
for line in "${SUMMARY[@]}"; do
    echo "$line"
done
echo "total $(($(date +%s) - TEST_START))s; logs in $LOGS/"
echo "======================================================================================="
if [[ $FAILED -ne 0 ]]; then
    echo "FAILED"
    exit 1
fi
echo "OK"
