"""The unix port retrieves a 10 MB message from Dovecot into a file inside
a 64 KiB heap (modules from .mpy, as on a board), every byte right, and its
live heap while retrieving does not move (flat: a few hundred bytes over
the connected session). Uses the measuring script of tools/bench_pop3.py."""

import sys

import pytest

from conftest import ROOT
import pop3_peer

sys.path.insert(0, str(ROOT / "tools"))

import bench_pop3  # noqa: E402


def test_10mb_retr_into_file_flat_in_64k(tmp_path):
    port, sport = bench_pop3.free_ports()
    dv = pop3_peer.Dovecot(port, sport)  # in its own world-readable temp dir
    try:
        try:
            dv.start()
        except RuntimeError as e:
            pytest.fail(str(e))
        big = pop3_peer.big(10 * 1024 * 1024)
        dv.fill("heidi", [big])
        mpy = str(tmp_path / "mpy")
        bench_pop3.build_mpy(mpy)
        path = str(tmp_path / "big.eml")
        h = bench_pop3.heap_10mb(port, path, mpy, user="heidi")
        with open(path, "rb") as f:
            assert f.read() == big
        assert h["BYTES"] == len(big)
        assert h["LIVE_MAX"] - h["LIVE_MIN"] <= 512, h  # flat
        assert h["LIVE_MAX"] - h["CONNECTED"] <= 2048, h
    finally:
        dv.cleanup()
