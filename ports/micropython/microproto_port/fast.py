"""Fast paths for MicroPython: WebSocket masking and incremental UTF-8 checks.

Same names and results as ports/cpython/microproto_port/fast.py. The
viper versions live in ``_fast_viper`` (a SyntaxError or ValueError where
the native emitter is missing); the pure-Python fallbacks below give the
same results, byte by byte.

``mask(buf, key, phase=0, start=0, end=-1)``: XOR ``buf[start:end]`` in
place with a 4-byte key, starting at key byte ``phase``.
``utf8_check(buf, state=0, start=0, end=-1)``: 0 (complete), 1-7 (inside a
character) or -1 (invalid, found at the first byte that cannot continue a
valid text). ``copy_into(dst, doff, src, soff, n)``. Offsets instead of
memoryview slices: a slice is a heap allocation here. MicroPython's own ``str()``
decoding accepts surrogates and overlong forms, so it is not used.
"""


def utf8_step(s, b):
    """One byte of the RFC 3629 automaton (states as in the CPython port)."""
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


try:
    from microproto_port._fast_viper import copy_viper, mask_viper, utf8_viper

    def mask(buf, key, phase=0, start=0, end=-1):
        if end < 0:
            end = len(buf)
        mask_viper(buf, start, end, key, phase)

    def utf8_check(buf, state=0, start=0, end=-1):
        if state < 0:
            return -1
        if end < 0:
            end = len(buf)
        return utf8_viper(buf, start, end, state)

    copy_into = copy_viper

except (ImportError, SyntaxError, ValueError):
    mask = py_mask
    utf8_check = py_utf8_check
    copy_into = py_copy_into
