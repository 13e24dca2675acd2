"""WebSocket frame codec: RFC 6455 5.7 vectors in both directions, lengths,
close payloads."""

import budget
from microproto.ws_frames import (
    FrameHeader,
    build_close,
    build_header,
    close_code_valid,
    parse_close,
    parse_frame,
    serialize,
)

KEY = b"\x37\xfa\x21\x3d"

# RFC 6455 5.7
HELLO_UNMASKED = b"\x81\x05\x48\x65\x6c\x6c\x6f"
HELLO_MASKED = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"
FRAG_1 = b"\x01\x03\x48\x65\x6c"
FRAG_2 = b"\x80\x02\x6c\x6f"
PING = b"\x89\x05\x48\x65\x6c\x6c\x6f"
PONG_MASKED = b"\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"


def test_rfc6455_vectors_parse():
    assert parse_frame(HELLO_UNMASKED) == (True, 0, 1, b"Hello", 7)
    assert parse_frame(HELLO_MASKED) == (True, 0, 1, b"Hello", 11)
    assert parse_frame(FRAG_1) == (False, 0, 1, b"Hel", 5)
    assert parse_frame(FRAG_2) == (True, 0, 0, b"lo", 4)
    assert parse_frame(PING) == (True, 0, 9, b"Hello", 7)
    assert parse_frame(PONG_MASKED) == (True, 0, 10, b"Hello", 11)


def test_rfc6455_vectors_build():
    assert serialize(1, b"Hello") == HELLO_UNMASKED
    assert serialize(1, b"Hello", key=KEY) == HELLO_MASKED
    assert serialize(1, b"Hel", fin=False) == FRAG_1
    assert serialize(0, b"lo") == FRAG_2
    assert serialize(9, b"Hello") == PING
    assert serialize(10, b"Hello", key=KEY) == PONG_MASKED


def _header(n, key=None):
    """Only the header of a frame with an ``n``-byte payload."""
    buf = bytearray(14)
    return bytes(buf[: build_header(buf, 0, 2, True, n, 0, key)])


def test_rfc6455_256_and_64k_binary():
    body = bytes(range(256))
    f = serialize(2, body)
    assert f[:4] == b"\x82\x7e\x01\x00" and f[4:] == body
    assert parse_frame(f) == (True, 0, 2, body, 260)
    # RFC 6455 5.7: the 64 KiB header, on any heap
    assert _header(65536) == b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"
    # the whole frame both ways where the heap holds three copies (a
    # board's heap may not): serialize's, then parse_frame's
    if budget.fits(65546, copies=3):
        f = serialize(2, b"\xa5" * 65536)
        assert f[:10] == b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00"
        got = parse_frame(f)[3]
        assert len(got) == 65536 and got.count(b"\xa5") == 65536


def test_length_boundaries_both_ways():
    # headers for every boundary on any heap; whole frames (three copies at
    # a time: serialize's, then parse_frame's) as far as the heap allows
    for n in (0, 1, 125, 126, 127, 65535, 65536, 70000):
        whole = budget.fits(n + 14, copies=4)  # one for fragmentation
        for key in (None, KEY):
            f = serialize(2, b"x" * n, key=key) if whole else _header(n, key)
            h = FrameHeader()
            size = h.parse(f, 0, len(f))
            expect = 2 + (0 if n < 126 else 2 if n < 65536 else 8) + (4 if key else 0)
            assert size == expect, (n, size)
            assert h.length == n and h.masked == (key is not None)
            if key is not None:
                assert bytes(h.key) == KEY
            if whole:
                assert len(f) == size + n
                got = parse_frame(f)[3]
                assert len(got) == n and got.count(b"x") == n
                got = None
            else:
                assert len(f) == size and parse_frame(f) is None  # the payload is missing
            # every shorter prefix of the header asks for more bytes
            for cut in range(size):
                assert FrameHeader().parse(f, 0, cut) == 0
            f = None


def test_header_fields_and_offset():
    buf = bytearray(20)
    n = build_header(buf, 3, 2, False, 300, 0x40, KEY)
    h = FrameHeader()
    assert h.parse(buf, 3, 3 + n) == n == 8
    assert (h.fin, h.rsv, h.opcode, h.length, bytes(h.key)) == (False, 0x40, 2, 300, KEY)


def test_64bit_length_with_top_bit_is_refused():
    f = b"\x82\xff\x80\x00\x00\x00\x00\x00\x00\x01" + KEY
    assert FrameHeader().parse(f, 0, len(f)) == -1


def test_close_codes_table():
    # below 3000 as a list, the 3000-4999 range counted (no 16 KB list on a
    # board's heap)
    valid = [c for c in range(0, 3000) if close_code_valid(c)]
    assert valid == [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011]
    n = 0
    for c in range(3000, 5100):
        if close_code_valid(c):
            assert 3000 <= c <= 4999, c
            n += 1
    assert n == 2000 and close_code_valid(3000) and close_code_valid(4999) and not close_code_valid(5000)


def test_close_payload_rules():
    assert parse_close(b"") == (1005, "")
    assert parse_close(b"\x03") == (1002, None)
    assert parse_close(b"\x03\xe8") == (1000, "")
    assert parse_close(b"\x03\xe8ok") == (1000, "ok")
    assert parse_close(b"\x03\xec") == (1002, None)  # 1004
    assert parse_close(b"\x03\xed") == (1002, None)  # 1005
    assert parse_close(b"\x0b\xb8") == (3000, "")
    assert parse_close(b"\x03\xe8\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80") == (1007, None)
    assert build_close(1000, "ok") == b"\x03\xe8ok"
    assert build_close(None) == b""
    long = build_close(1000, "\u00e9" * 100)
    assert len(long) <= 125 and parse_close(long)[0] == 1000
