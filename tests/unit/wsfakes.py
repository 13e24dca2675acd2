"""Helpers for the WebSocket unit tests (portable): a client that frames
and masks, feeding a server core in pieces."""

from microproto.ws_frames import parse_frame, serialize

KEY = b"\x37\xfa\x21\x3d"


def cframe(opcode, payload=b"", fin=True, rsv=0, key=KEY):
    """A client frame (masked with ``KEY`` unless ``key`` is None)."""
    if isinstance(payload, str):
        payload = payload.encode()
    return serialize(opcode, payload, fin, rsv, key)


def feed(p, data, step=0):
    """Feed ``data`` to core ``p`` whole (step 0) or ``step`` bytes at a time."""
    if not step:
        p.receive_data(data)
        return
    for i in range(0, len(data), step):
        p.receive_data(data[i : i + step])


def frames(data):
    """All whole frames in ``data`` as ``(fin, rsv, opcode, payload)``."""
    out = []
    data = bytes(data)
    while data:
        f = parse_frame(data)
        assert f is not None, data
        out.append(f[:4])
        data = data[f[4] :]
    return out


def close_code_sent(p):
    """The status code of the Close frame ``p`` queued, or None."""
    for fin, rsv, op, payload in frames(p.data_to_send()):
        if op == 8:
            return (payload[0] << 8) | payload[1] if len(payload) >= 2 else 1005
    return None


def odd_char(i, lead=0xEA):
    """The UTF-8 bytes of U+A000 + i (lead 0xEB: U+B000 + i), i < 1024: a
    character in no firmware's string table, made from bytes (chr() would
    itself intern it on MicroPython)."""
    return bytes((lead, 0x80 | (i >> 6), 0x80 | (i & 63)))


def heap_growth(run):
    """Bytes still held after ``run()`` and a collection (MicroPython), or
    None where that cannot be read: CPython (nothing is interned there), the
    WebAssembly port (gc.collect() called from a test frees nothing)."""
    import gc
    import sys

    if not hasattr(gc, "mem_alloc") or sys.platform == "webassembly":
        run()
        return None
    gc.collect()
    before = gc.mem_alloc()
    run()
    gc.collect()
    return gc.mem_alloc() - before
