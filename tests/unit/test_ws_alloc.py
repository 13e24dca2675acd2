"""Steady-state allocation of the frame codec and of the receive path.

On MicroPython the heap is measured with ``gc.mem_alloc()`` (no collection
can happen in between, so any allocation shows); the target is zero bytes
per frame. On CPython, where every integer is an object, the check is that
traced memory does not grow with the number of frames.
"""

import gc

import budget
from microproto.ws_frames import FrameHeader, build_header
from microproto import ws_protocol
from microproto.ws_protocol import ServerProtocol
from microproto_port.fast import copy_into, mask, utf8_check
from wsfakes import cframe

FRAMES = 20


def _wire():
    w = bytearray()
    for i in range(FRAMES):
        w += cframe(1, "h\u00e9llo wor" * 10)
    return w


def _heap(fn, rounds):
    """Bytes allocated (MicroPython) or retained (CPython) by ``rounds``
    calls of ``fn`` after a warm-up."""
    fn()
    if hasattr(gc, "mem_alloc"):
        gc.collect()
        a = gc.mem_alloc()
        for _ in range(rounds):
            fn()
        return gc.mem_alloc() - a
    import tracemalloc

    tracemalloc.start()
    try:
        for _ in range(3):
            fn()
        a = tracemalloc.get_traced_memory()[0]
        for _ in range(rounds):
            fn()
        return tracemalloc.get_traced_memory()[0] - a
    finally:
        tracemalloc.stop()


def test_codec_steady_state_allocates_nothing():
    wire = _wire()
    h = FrameHeader()
    out = bytearray(14)
    dst = bytearray(256)
    results = [0, 0]

    def run():
        off = 0
        ok = 0
        for _ in range(FRAMES):
            n = h.parse(wire, off, len(wire))
            copy_into(dst, 0, wire, off + n, h.length)
            mask(dst, h.key, 0, 0, h.length)
            if utf8_check(dst, 0, 0, h.length) == 0 and build_header(out, 0, 1, True, h.length) == 2:
                ok += 1
            off += n + h.length
        results[0] = ok
        results[1] += 1

    used = _heap(run, 50)
    assert results[0] == FRAMES and results[1] >= 51
    assert used <= 0, "codec allocated %d bytes over %d frames" % (used, 50 * FRAMES)


def test_receive_path_of_a_long_fragmented_message_allocates_nothing_per_frame():
    first = cframe(1, "start", False)
    cont = cframe(0, "h\u00e9llo wor" * 10, False)
    # 1,000 frames (a 111 KiB message), or as many as a board's heap holds
    # twice (the core's message buffer, then the text it hands out), with two
    # more for fragmentation (modules compiled from source leave a heap in
    # small pieces)
    cap = len(cont) * 20 * 55 + 64
    if hasattr(gc, "mem_alloc"):  # (on CPython its collection would upset tracemalloc's figure)
        cap = budget.size(cap, copies=4)
    rounds = max(1, min(50, cap // (len(cont) * 20) - 5))
    p = ServerProtocol(max_size=None)
    p.receive_data(first)
    while True:
        # the message buffer is made once (the warm-up calls included); a
        # heap in pieces may not have it in one: fewer rounds then
        try:
            p._reserve(len(cont) * 20 * (rounds + 5) + 64)
            break
        except MemoryError:
            if rounds == 1:
                raise
            rounds //= 2

    def run():
        for _ in range(20):
            p.receive_data(cont)

    # (the core collects every 64 KiB of a large message on MicroPython: a
    # collection while measuring would hide what the frames allocate)
    collect = ws_protocol._collect
    ws_protocol._collect = None
    try:
        used = _heap(run, rounds)
    finally:
        ws_protocol._collect = collect
    assert p.state == 1 and not p.failed and p.events_received() == []
    assert used <= 0, "receive path allocated %d bytes over %d frames" % (used, 20 * rounds)
    p.receive_data(cframe(0, "end"))
    ev = p.events_received()
    assert len(ev) == 1 and ev[0][1].startswith("starth\u00e9llo") and ev[0][1].endswith("end")
