"""The unix port sends 1 MB and 4 MB from a file inside a 64 KiB heap, and
its live heap while sending is the same for both (flat, a few KiB above
the connected session). Uses the measuring script of
tools/bench_smtp.py against aiosmtpd."""

import os
import sys

from aiosmtpd.controller import Controller

from conftest import ROOT, free_port

sys.path.insert(0, str(ROOT / "tools"))

import bench_smtp  # noqa: E402


def _message(path, mb):
    line = b"The quick brown fox jumps over the lazy dog. 0123456789 .:;-_!?\r\n"
    with open(path, "wb") as f:
        f.write(b"Subject: heap\r\n\r\n")
        for i in range(mb * 1024 * 1024 // len(line)):
            f.write(b"." + line if i % 7 == 0 else line)
    return os.path.getsize(path)


def test_heap_is_flat_in_64k(tmp_path):
    sink = bench_smtp.Sink()
    port = free_port()
    ctl = Controller(sink, hostname="127.0.0.1", port=port, data_size_limit=0)
    ctl.start()
    try:
        mpy = str(tmp_path / "mpy")
        bench_smtp.build_mpy(mpy)
        live = {}
        for mb in (1, 4):
            path = str(tmp_path / ("m%d.eml" % mb))
            size = _message(path, mb)
            before = sink.bytes
            out = bench_smtp.run_mp(bench_smtp.MP_HEAP, [port, path], "64K", mpy)
            words = out.split()
            vals = dict((words[i], words[i + 1]) for i in range(0, 16, 2))
            assert vals["REPLY"] == "250", out
            # the server got every byte of the file (after unstuffing)
            assert sink.bytes - before == size, (sink.bytes - before, size)
            live[mb] = (int(vals["CONNECTED"]), int(vals["LIVE_MAX"]), int(vals["LIVE_MIN"]))
        conn1, max1, min1 = live[1]
        conn4, max4, min4 = live[4]
        assert abs(max4 - max1) <= 512, live  # does not grow with the size
        assert max1 - min1 <= 512 and max4 - min4 <= 512, live
        # sending costs a few KiB over the connected session (whose body
        # buffers are allocated when it is made)
        assert max4 - conn4 <= 4 * 1024, live
    finally:
        ctl.stop()
