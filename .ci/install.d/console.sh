#!/bin/bash
# Peers for the device console tests: headless Chromium driven by
# playwright-core (Node), and the PyPI webrepl client. Idempotent; each piece
# is checked and installed on its own, whichever way Node.js came (Debian's
# nodejs + npm, or NodeSource's nodejs that carries npm: asking apt for npm
# there conflicts, so npm is only asked for when it is missing).
set -e
export DEBIAN_FRONTEND=noninteractive
here=$(cd "$(dirname "$0")/../.." && pwd)
python3 -m pip install -q webrepl websockets
apt_updated=""
apt_install() {
    [ -n "$apt_updated" ] || { apt-get update -q; apt_updated=1; }
    apt-get install -y -q --no-install-recommends "$@"
}
command -v chromium >/dev/null 2>&1 || apt_install chromium
command -v node >/dev/null 2>&1 || apt_install nodejs
command -v npm >/dev/null 2>&1 || apt_install npm
if ! [ -d "$here/tests/peers/node_modules/playwright-core" ] || ! [ -d "$here/tests/peers/node_modules/ws" ]; then
    (cd "$here/tests/peers" && npm install --no-audit --no-fund)
fi
