#!/bin/bash
# A 32-bit MicroPython for the portable tests: the WebAssembly port from npm
# (@micropython/micropython-webassembly-pyscript, pinned in
# tests/wasm/package.json), run under Node by tests/wasm/run.py. Idempotent;
# Node.js and npm are checked and installed each on its own (see console.sh).
set -e
export DEBIAN_FRONTEND=noninteractive
here=$(cd "$(dirname "$0")/../.." && pwd)
apt_updated=""
apt_install() {
    [ -n "$apt_updated" ] || { apt-get update -q; apt_updated=1; }
    apt-get install -y -q --no-install-recommends "$@"
}
command -v node >/dev/null 2>&1 || apt_install nodejs
command -v npm >/dev/null 2>&1 || apt_install npm
want=$(sed -n 's/.*"@micropython\/micropython-webassembly-pyscript": *"\([^"]*\)".*/\1/p' "$here/tests/wasm/package.json")
have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
    "$here/tests/wasm/node_modules/@micropython/micropython-webassembly-pyscript/package.json" 2>/dev/null | head -1)
if [ "$want" != "$have" ]; then
    (cd "$here/tests/wasm" && npm install --no-audit --no-fund)
fi
