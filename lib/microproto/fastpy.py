"""Pure-Python versions of the port's fast paths (``microproto_port.fast``):
WebSocket masking, the incremental UTF-8 automaton (RFC 3629 4) and byte
copies with offsets. The MicroPython port falls back to them where the
native emitter is missing; both ports export them as ``py_*`` so tests can
check a fast path against them byte for byte.

States of the automaton: 0 complete; 1-3 that many continuation bytes
(80-BF) to come; 4 after E0 (A0-BF next), 5 after ED (80-9F), 6 after F0
(90-BF), 7 after F4 (80-8F); -1 invalid.
"""


def utf8_step(s, b):
    """One byte of the automaton: the next state (-1: invalid)."""
    if s == 0:
        if b < 0x80:
            return 0
        if b < 0xC2:
            return -1
        if b < 0xE0:
            return 1
        if b == 0xE0:
            return 4
        if b == 0xED:
            return 5
        if b < 0xF0:
            return 2
        if b == 0xF0:
            return 6
        if b < 0xF4:
            return 3
        if b == 0xF4:
            return 7
        return -1
    if s < 4:
        lo = 0x80
        hi = 0xBF
        nxt = s - 1
    elif s == 4:
        lo = 0xA0
        hi = 0xBF
        nxt = 1
    elif s == 5:
        lo = 0x80
        hi = 0x9F
        nxt = 1
    elif s == 6:
        lo = 0x90
        hi = 0xBF
        nxt = 2
    else:
        lo = 0x80
        hi = 0x8F
        nxt = 2
    if lo <= b <= hi:
        return nxt
    return -1


def py_mask(buf, key, phase=0, start=0, end=-1):
    if end < 0:
        end = len(buf)
    phase -= start
    for i in range(start, end):
        buf[i] ^= key[(i + phase) & 3]


def py_mask_into(dst, doff, src, soff, n, key, phase=0):
    for i in range(n):
        dst[doff + i] = src[soff + i] ^ key[(i + phase) & 3]


def py_utf8_check(buf, state=0, start=0, end=-1):
    if state < 0:
        return -1
    if end < 0:
        end = len(buf)
    for i in range(start, end):
        state = utf8_step(state, buf[i])
        if state < 0:
            return -1
    return state


def py_copy_into(dst, doff, src, soff, n):
    for i in range(n):
        dst[doff + i] = src[soff + i]
