#!/bin/bash
# Peers and tools for the SMTP tests (idempotent; run as root by .ci/run).
set -e
export DEBIAN_FRONTEND=noninteractive
python3 -m pip install -q aiosmtpd hypothesis pytest
if ! command -v postfix >/dev/null 2>&1 && ! [ -x /usr/sbin/postfix ]; then
    printf 'postfix postfix/main_mailer_type select Local only\npostfix postfix/mailname string localhost\n' \
        | debconf-set-selections
    apt-get update -q
    apt-get install -y -q --no-install-recommends postfix
fi
