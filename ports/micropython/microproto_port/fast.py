"""Fast paths for MicroPython: WebSocket masking and incremental UTF-8 checks.

Same names and results as ports/cpython/microproto_port/fast.py. The
viper versions live in ``_fast_viper`` (a SyntaxError or ValueError where
the native emitter is missing); the pure-Python fallbacks below give the
same results, byte by byte.

``mask(buf, key, phase=0, start=0, end=-1)``: XOR ``buf[start:end]`` in
place with a 4-byte key, starting at key byte ``phase``.
``mask_into(dst, doff, src, soff, n, key, phase=0)``: copy and unmask in one
pass. ``utf8_check(buf, state=0, start=0, end=-1)``: 0 (complete), 1-7 (inside a
character) or -1 (invalid, found at the first byte that cannot continue a
valid text). ``copy_into(dst, doff, src, soff, n)``. Offsets instead of
memoryview slices: a slice is a heap allocation here. MicroPython's own ``str()``
decoding accepts surrogates and overlong forms, so it is not used. The
pure-Python versions (``py_mask``, ``py_mask_into``, ``py_utf8_check``,
``py_copy_into``, ``utf8_step``) come from ``microproto.fastpy`` when first
asked for (where the native emitter works, nothing else needs them).
One viper function does the masking in place, the unmasking while copying
and (with a zero key) the copying: a word at a time, whatever the
alignment of source and destination.
"""


def __getattr__(name):
    # the pure-Python versions (``py_*``, ``utf8_step``), loaded when asked for
    import microproto.fastpy as f

    return getattr(f, name)


try:
    from microproto_port._fast_viper import mask_into_viper as mask_into
    from microproto_port._fast_viper import utf8_viper

    def mask(buf, key, phase=0, start=0, end=-1):
        if end < 0:
            end = len(buf)
        mask_into(buf, start, buf, start, end - start, key, phase)

    def copy_into(dest, off, src, start, n, key=b"\0\0\0\0"):
        # (names the firmware has already: no new interned names)
        mask_into(dest, off, src, start, n, key, 0)

    def utf8_check(buf, state=0, start=0, end=-1):
        if state < 0:
            return -1
        if end < 0:
            end = len(buf)
        return utf8_viper(buf, start, end, state)

except (ImportError, SyntaxError, ValueError):
    from microproto.fastpy import py_copy_into as copy_into
    from microproto.fastpy import py_mask as mask
    from microproto.fastpy import py_mask_into as mask_into
    from microproto.fastpy import py_utf8_check as utf8_check
