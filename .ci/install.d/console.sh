#!/bin/bash
# Peers for the device console tests: headless Chromium driven by
# playwright-core (Node), and the PyPI webrepl client. Idempotent.
set -e
export DEBIAN_FRONTEND=noninteractive
here=$(cd "$(dirname "$0")/../.." && pwd)
python3 -m pip install -q webrepl websockets
if ! command -v chromium >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    apt-get install -y -q --no-install-recommends chromium nodejs npm
fi
if ! [ -d "$here/tests/peers/node_modules/playwright-core" ] || ! [ -d "$here/tests/peers/node_modules/ws" ]; then
    (cd "$here/tests/peers" && npm install --no-audit --no-fund)
fi
