#!/usr/bin/env bash
# Installs everything hubwire needs to build, run and test, and nothing twice.
#
# Usage: scripts/install.sh [--with-wasm-pack]
#
# Every step checks first and skips when the right version is already present, so a second
# run takes seconds. Needs root (or sudo) only when Debian packages are missing.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

WITH_WASM_PACK=0
for arg in "$@"; do
    case "$arg" in
        --with-wasm-pack) WITH_WASM_PACK=1 ;;
        -h | --help)
            sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument: $arg (try --help)" ;;
    esac
done

# Versions that must match the code or the machine (see README "Toolchain").
TRUNK_VERSION="0.21.14"     # 0.22 needs a newer rustc than 1.95
BINARYEN_VERSION="132"      # Debian's binaryen cannot read wasm from current rustc
APT_PACKAGES=(chromium chromium-driver mosquitto mosquitto-clients)

INSTALL_START=$(date +%s)
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"

require_cmd cargo "install Rust with rustup first"
require_cmd rustup "install Rust with rustup first"
require_cmd node "install Node.js 20 or later first"
require_cmd npm "install npm first"

# Reads the wasm-bindgen version from Cargo.lock: the CLI must match the library byte for byte
# in its schema version, so it is never taken from anywhere else. Before any crate depends on
# wasm-bindgen the lock has no entry; then the workspace's `=x.y.z` pin is the only source.
wasm_bindgen_version() {
    local v
    v=$(awk '
        /^\[\[package\]\]/ { name = "" }
        /^name = "wasm-bindgen"$/ { name = "wasm-bindgen" }
        name == "wasm-bindgen" && /^version = / { gsub(/"/, "", $3); print $3; exit }
    ' Cargo.lock 2>/dev/null || true)
    if [[ -z "$v" ]]; then
        v=$(sed -n 's/^wasm-bindgen *= *"=\([0-9.]*\)".*/\1/p' Cargo.toml | head -n1)
        [[ -n "$v" ]] && note "Cargo.lock has no wasm-bindgen yet; using the workspace pin $v"
    fi
    [[ -n "$v" ]] || die "cannot find the wasm-bindgen version in Cargo.lock or Cargo.toml"
    echo "$v"
}

# --- Rust target -------------------------------------------------------------------------------
step_begin "wasm32-unknown-unknown target"
if rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    step_skip "present"
else
    rustup target add wasm32-unknown-unknown
    step_done
fi

# --- Debian packages ---------------------------------------------------------------------------
step_begin "Debian packages (${APT_PACKAGES[*]})"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]]; then
        missing+=("$pkg")
    fi
done
if [[ ${#missing[@]} -eq 0 ]]; then
    step_skip "present"
else
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null || die "need root or sudo to install: ${missing[*]}"
        SUDO="sudo"
    fi
    note "installing ${missing[*]}"
    $SUDO apt-get update -q
    # The packages' own service start-up may fail without an init system; that is harmless here
    # because the test scripts start Mosquitto with their own configuration.
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
    step_done
fi

# --- wasm-bindgen CLI --------------------------------------------------------------------------
WB_VERSION=$(wasm_bindgen_version)
step_begin "wasm-bindgen-cli $WB_VERSION"
have_wb=""
if command -v wasm-bindgen >/dev/null && command -v wasm-bindgen-test-runner >/dev/null; then
    have_wb=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')
fi
if [[ "$have_wb" == "$WB_VERSION" ]]; then
    step_skip "present"
else
    [[ -n "$have_wb" ]] && note "replacing wasm-bindgen $have_wb"
    # No --locked: the CLI's own lock file names a crate version this registry does not have.
    cargo install wasm-bindgen-cli --version "$WB_VERSION" --force
    step_done
fi

# --- Trunk -------------------------------------------------------------------------------------
step_begin "trunk $TRUNK_VERSION"
have_trunk=""
if command -v trunk >/dev/null; then
    have_trunk=$(trunk --version 2>/dev/null | awk '{print $2}')
fi
if [[ "$have_trunk" == "$TRUNK_VERSION" ]]; then
    step_skip "present"
else
    [[ -n "$have_trunk" ]] && note "replacing trunk $have_trunk"
    cargo install trunk --version "$TRUNK_VERSION" --locked --force
    step_done
fi

# --- wasm-opt (binaryen from npm, kept inside the repository) ----------------------------------
step_begin "wasm-opt (binaryen@$BINARYEN_VERSION) in .tools/"
WASM_OPT="$ROOT/.tools/node_modules/.bin/wasm-opt"
if [[ -x "$WASM_OPT" ]] && "$WASM_OPT" --version 2>/dev/null | grep -q "version $BINARYEN_VERSION\b"; then
    step_skip "present"
else
    mkdir -p "$ROOT/.tools"
    npm install --prefix "$ROOT/.tools" --no-audit --no-fund --no-save "binaryen@$BINARYEN_VERSION"
    "$WASM_OPT" --version
    step_done
fi

# --- Optional: wasm-pack -----------------------------------------------------------------------
if [[ $WITH_WASM_PACK -eq 1 ]]; then
    step_begin "wasm-pack"
    if command -v wasm-pack >/dev/null; then
        step_skip "present ($(wasm-pack --version))"
    else
        cargo install wasm-pack --locked
        step_done
    fi
fi

# --- Rust dependencies -------------------------------------------------------------------------
# Trunk runs cargo with --offline (Trunk.toml), so every crate must already be downloaded.
step_begin "cargo fetch --locked"
cargo fetch --locked --quiet
step_done

# --- Node packages for the cross-process tests -------------------------------------------------
for pkg_json in tests/package.json tests/*/package.json; do
    [[ -f "$pkg_json" ]] || continue
    dir=$(dirname "$pkg_json")
    step_begin "npm packages in $dir/"
    if [[ -f "$dir/package-lock.json" ]]; then
        # npm ci always wipes node_modules; skip it when the lock is unchanged since last time.
        want=$(sha256sum "$dir/package-lock.json" "$pkg_json" | sha256sum | cut -d' ' -f1)
        stamp="$dir/node_modules/.hubwire-installed"
        if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
            step_skip "up to date"
            continue
        fi
        (cd "$dir" && npm ci --no-audit --no-fund)
        echo "$want" >"$stamp"
    else
        (cd "$dir" && npm install --no-audit --no-fund)
    fi
    step_done
done

note "install complete in $(($(date +%s) - INSTALL_START))s"
