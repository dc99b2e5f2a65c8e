#!/usr/bin/env bash
# Turns the output of scripts/build-pkg.sh into npm-style packages: writes package.json and
# README.md (from scripts/pkg/) into target/pkg/<variant>/, next to the wasm-bindgen files.
#
# Usage: scripts/package-pkg.sh [--variant full|mqtt]...
#   Default: every variant that scripts/build-pkg.sh has built.
#   full → package "hubwire" (MQTT + AMQP + HTTPS), mqtt → package "hubwire-mqtt".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

VARIANTS=()
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
        -h | --help)
            sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown argument: $1 (try --help)" ;;
    esac
done
if [[ ${#VARIANTS[@]} -eq 0 ]]; then
    for v in full mqtt; do
        [[ -f "target/pkg/$v/hubwire_web.js" ]] && VARIANTS+=("$v")
    done
    [[ ${#VARIANTS[@]} -gt 0 ]] || die "no package in target/pkg/: run scripts/build-pkg.sh first"
fi

# The workspace's version and licence ([workspace.package] of the root Cargo.toml).
workspace_field() {
    awk -v key="$1" '
        /^\[/ { section = $0 }
        section == "[workspace.package]" && $1 == key {
            sub(/^[^=]*=[ \t]*"/, ""); sub(/".*$/, ""); print; exit
        }' Cargo.toml
}
VERSION=$(workspace_field version)
LICENSE=$(workspace_field license)
[[ -n "$VERSION" ]] || die "no version in [workspace.package] of Cargo.toml"

GATEWAY_DOC='- `HubwireGateway.connect({ hostName, endpoint? })`, `gateway.addDevice({ connectionString })`:
  many devices over one AMQP/WebSocket connection (a field gateway).
'

for v in "${VARIANTS[@]}"; do
    out="target/pkg/$v"
    for f in hubwire_web.js hubwire_web.d.ts hubwire_web_bg.wasm; do
        [[ -f "$out/$f" ]] || die "$out/$f is missing: run scripts/build-pkg.sh --variant $v first"
    done
    case "$v" in
        full)
            name=hubwire
            description="Azure IoT Hub device client for web pages (MQTT, AMQP and HTTPS), Rust compiled to WebAssembly"
            protocols="MQTT over WebSocket, AMQP 1.0 over WebSocket, and the HTTPS device API"
            gateway="$GATEWAY_DOC"
            ;;
        mqtt)
            name=hubwire-mqtt
            description="Azure IoT Hub device client for web pages (MQTT over WebSocket only), Rust compiled to WebAssembly"
            protocols="MQTT over WebSocket only (the smallest build; the full package \`hubwire\` adds AMQP and HTTPS)"
            gateway=""
            ;;
    esac
    # Files wasm-bindgen may add (inline JS snippets) must be published too.
    files_extra=""
    [[ -d "$out/snippets" ]] && files_extra=1
    NAME="$name" VERSION="$VERSION" LICENSE="${LICENSE:-UNLICENSED}" DESCRIPTION="$description" \
        PROTOCOLS="$protocols" GATEWAY="$gateway" FILES_EXTRA="$files_extra" \
        node --input-type=module - "$out" <<'JS'
import { readFileSync, writeFileSync } from 'node:fs';
const out = process.argv[2];
const env = process.env;
const fill = (text) => text
  .replaceAll('@NAME@', env.NAME)
  .replaceAll('@VERSION@', env.VERSION)
  .replaceAll('@LICENSE@', env.LICENSE)
  .replaceAll('@DESCRIPTION@', env.DESCRIPTION)
  .replaceAll('@PROTOCOLS@', env.PROTOCOLS)
  .replaceAll('@GATEWAY@', env.GATEWAY);
const pkg = JSON.parse(fill(readFileSync('scripts/pkg/package.json.in', 'utf8')));
if (env.FILES_EXTRA) pkg.files.push('snippets/');
writeFileSync(`${out}/package.json`, JSON.stringify(pkg, null, 2) + '\n');
writeFileSync(`${out}/README.md`, fill(readFileSync('scripts/pkg/README.md', 'utf8')));
JS
    note "$out: package $name@$VERSION (package.json, README.md)"
done
