"""Fast paths for CPython: WebSocket masking and incremental UTF-8 checks.

Same names and results as ports/micropython/microproto_port/fast.py.

``mask(buf, key, phase=0, start=0, end=-1)``: XOR ``buf[start:end]``
(writable, in place; end -1: to the end) with a 4-byte key, starting at key
byte ``phase`` (0-3), so a frame can be unmasked in pieces.
``utf8_check(buf, state=0, start=0, end=-1)``: run the UTF-8 automaton over
``buf[start:end]`` from ``state``; returns 0 (complete), 1-7 (inside a
character) or -1 (invalid, detected at the first byte that cannot continue
a valid text). ``copy_into(dst, doff, src, soff, n)``: copy ``n`` bytes.
The offsets let callers avoid making memoryview slices (allocations on
MicroPython). ``hold``: CPython only, for ``microproto.ws_stream``.

The four functions come from ``microproto_port._speedups`` (our own C,
ports/cpython/microproto_port/_speedups.c) when ``pip install`` could build
it, else from the pure-Python code below (same results; ``fallback`` holds
it either way, for tests). ``SPEEDUPS`` says which: set the environment
variable ``MICROPROTO_NO_SPEEDUPS=1`` to use the pure-Python code.
"""

import codecs
import os

_decode = codecs.utf_8_decode


def copy_into(dst, doff, src, soff, n):
    dst[doff : doff + n] = memoryview(src)[soff : soff + n]


_T = [None] * 256  # XOR tables, made when a key byte first needs one


def _table(b):
    t = _T[b]
    if t is None:
        t = _T[b] = bytes([i ^ b for i in range(256)])
    return t


def mask(buf, key, phase=0, start=0, end=-1):
    if end < 0:
        end = len(buf)
    n = end - start
    if n <= 0:
        return
    if n < 32:
        for i in range(start, end):
            buf[i] ^= key[(i - start + phase) & 3]
        return
    # four strided passes, each one C-speed translate through a XOR table
    for j in range(4):
        s = start + j
        buf[s:end:4] = buf[s:end:4].translate(_table(key[(j + phase) & 3]))


def mask_into(dst, doff, src, soff, n, key, phase=0):
    """Copy ``src[soff:soff+n]`` to ``dst[doff:]`` XORed with ``key`` from
    key byte ``phase``: unmasking while copying (one pass over the payload)."""
    if n <= 0:
        return
    if n < 32:
        for i in range(n):
            dst[doff + i] = src[soff + i] ^ key[(i + phase) & 3]
        return
    end = doff + n
    for j in range(4):
        sl = src[soff + j:soff + n:4]
        if type(sl) is memoryview:
            sl = sl.tobytes()
        dst[doff + j:end:4] = sl.translate(_table(key[(j + phase) & 3]))


from microproto.fastpy import py_copy_into, py_mask, py_mask_into, py_utf8_check, utf8_step  # noqa: F401,E402


def utf8_check(buf, state=0, start=0, end=-1):
    if state < 0:
        return -1
    mv = memoryview(buf)
    if end < 0:
        end = len(mv)
    if start or end != len(mv):
        mv = mv[start:end]
    n = len(mv)
    i = 0
    while state > 0 and i < n:
        state = utf8_step(state, mv[i])
        i += 1
        if state < 0:
            return -1
    if i == n:
        return state
    try:
        i += _decode(mv[i:], "strict", False)[1]
    except UnicodeDecodeError:
        return -1
    # What the decoder left is an unfinished character (at most 3 bytes).
    while i < n:
        state = utf8_step(state, mv[i])
        if state < 0:
            return -1
        i += 1
    return state


fallback = (copy_into, mask, mask_into, utf8_check)  # the pure-Python code above
SPEEDUPS = False
if not os.environ.get("MICROPROTO_NO_SPEEDUPS"):
    try:
        from microproto_port._speedups import copy_into, mask, mask_into, utf8_check  # noqa: F811

        SPEEDUPS = True
    except ImportError:
        pass


def hold(p, data, i, k, limit):
    """For ``microproto.ws_stream`` (zlib takes a compressed message in
    pieces of any size): ``k`` payload bytes of ``data`` from ``i``, a frame
    of a joined compressed message, unmasked onto the bytes ``p._piece``
    holds (a joined message has no other use for it); once ``limit`` are
    held, they go to the inflater and the result is True (the caller
    inflates), else False. A call of zlib and of the
    inflate loop per frame was most of the CPU of a message fragmented into
    256-byte frames (Autobahn 12.x.14); CPython only (MicroPython's
    inflater holds the message itself)."""
    z = p._piece
    if z is None:
        z = p._piece = bytearray()
    zn = len(z)
    z += memoryview(data)[i : i + k]
    if p._masked:
        mask_into(z, zn, z, zn, k, p._hb, p._phase)
    p._phase = (p._phase + k) & 3
    if zn + k < limit:
        return False
    p._piece = None
    p.deflate.inflater.feed(z)
    return True
