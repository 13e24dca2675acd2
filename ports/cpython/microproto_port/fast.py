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
MicroPython).
"""

import codecs

_decode = codecs.utf_8_decode


def copy_into(dst, doff, src, soff, n):
    dst[doff : doff + n] = memoryview(src)[soff : soff + n]


def mask(buf, key, phase=0, start=0, end=-1):
    if end < 0:
        end = len(buf)
    if start or end != len(buf):
        buf = memoryview(buf)[start:end]
    n = len(buf)
    if not n:
        return
    k = bytes(key)
    if phase:
        k = k[phase:] + k[:phase]
    x = int.from_bytes(buf, "little") ^ int.from_bytes((k * ((n >> 2) + 1))[:n], "little")
    buf[:n] = x.to_bytes(n, "little")


# RFC 3629 4: the automaton. States 1-3: that many continuation bytes
# (80-BF) to come; 4: after E0 (A0-BF next), 5: after ED (80-9F), 6: after
# F0 (90-BF), 7: after F4 (80-8F).
def utf8_step(s, b):
    """One byte of the automaton (also used by the pure-Python fallbacks)."""
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
        lo, hi, nxt = 0x80, 0xBF, s - 1
    elif s == 4:
        lo, hi, nxt = 0xA0, 0xBF, 1
    elif s == 5:
        lo, hi, nxt = 0x80, 0x9F, 1
    elif s == 6:
        lo, hi, nxt = 0x90, 0xBF, 2
    else:
        lo, hi, nxt = 0x80, 0x8F, 2
    if lo <= b <= hi:
        return nxt
    return -1


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
