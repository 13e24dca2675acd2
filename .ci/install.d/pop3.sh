#!/bin/bash
# Peers and tools for the POP3 tests (idempotent; run as root by .ci/run):
# Dovecot's POP3 server from Debian (policy-rc.d keeps apt from starting it:
# the tests start their own instance), hypothesis and pytest from PyPI.
# dovecot-core may already come from smtp.sh; each piece is checked alone.
set -e
export DEBIAN_FRONTEND=noninteractive
python3 -c "import hypothesis" 2>/dev/null || python3 -m pip install -q hypothesis
python3 -c "import pytest" 2>/dev/null || python3 -m pip install -q pytest
need=""
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need="$need dovecot-core"
[ -x /usr/lib/dovecot/pop3 ] || [ -x /usr/lib/dovecot/pop3-login ] || need="$need dovecot-pop3d"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
if [ -n "$need" ]; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends $need
fi
