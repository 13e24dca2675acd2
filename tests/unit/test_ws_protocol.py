"""The server connection core: every frame rule and close code, fragments,
UTF-8 across fragments, limits, keepalive and close timeouts."""

import budget
from microproto.errors import UsageError
from microproto.ws_frames import build_header
from microproto.ws_protocol import CLOSED, CLOSING, OPEN, ServerProtocol
from wsfakes import KEY, cframe, close_code_sent, feed, frames

STEPS = (0, 1, 3, 7)


def _events(p):
    return p.events_received()


def test_rfc_masked_hello_and_fragments_at_any_split():
    data = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58" + cframe(1, "Hel", False) + cframe(0, "lo")
    for step in STEPS:
        p = ServerProtocol()
        feed(p, data, step)
        assert _events(p) == [("text", "Hello"), ("text", "Hello")], step
        assert p.data_to_send() == b""


def _zeros_frame_fed(p, n):
    """Feed ``p`` one masked binary frame of ``n`` zero bytes, built as it
    goes (the wire is never whole: a board's heap holds the core's message
    buffer and the message it hands out, not much more)."""
    hdr = bytearray(14)
    p.receive_data(memoryview(hdr)[: build_header(hdr, 0, 2, True, n, 0, KEY)])
    chunk = KEY * 256  # 1 KiB of zeros, masked (a multiple of 4: the phase holds)
    for _ in range(n // 1024):
        p.receive_data(chunk)
    if n % 1024:
        p.receive_data(chunk[: n % 1024])  # (b"" would be the end of the stream)


def test_binary_lengths_and_empty_messages():
    # RFC 6455 5.2 length boundaries, whole messages where the heap holds
    # two copies (the core's buffer and the message): all of them on a big
    # heap; on a board's, the 64-bit length is parsed and refused (1009)
    for n in (0, 125, 126, 65535, 65536, 100000):
        if not budget.fits(n + 1024, copies=3):  # one for fragmentation
            p = ServerProtocol(max_size=n - 1)
            _zeros_frame_fed(p, n)
            assert close_code_sent(p) == 1009 and p.events_received() == [], n
            continue
        p = ServerProtocol()
        _zeros_frame_fed(p, n)
        ev = _events(p)
        assert len(ev) == 1 and ev[0][0] == "binary", n
        m = ev[0][1]
        assert type(m) is bytes and len(m) == n and m.count(b"\x00") == n
        p = ev = m = None
    p = ServerProtocol()
    feed(p, cframe(1, "") + cframe(1, "", False) + cframe(0, "", True))
    assert _events(p) == [("text", ""), ("text", "")]


def test_ping_answered_with_pong_even_inside_fragmented_message():
    for step in STEPS:
        p = ServerProtocol()
        data = cframe(1, "ab", False) + cframe(9, b"payload") + cframe(0, "cd", False) + cframe(10, b"x") + cframe(0, "ef")
        feed(p, data, step)
        assert _events(p) == [("ping", b"payload"), ("pong", b"x"), ("text", "abcdef")]
        assert frames(p.data_to_send()) == [(True, 0, 10, b"payload")]


def _fails_with(data, code, step=0, **kw):
    p = ServerProtocol(**kw)
    feed(p, data, step)
    assert close_code_sent(p) == code, (data[:20], close_code_sent(p), code)
    assert p.failed and p.state != OPEN
    return p


def test_protocol_errors_1002():
    cases = [
        cframe(1, "x", key=None),  # unmasked
        cframe(1, "x", rsv=0x40),  # RSV1 without extension
        cframe(1, "x", rsv=0x20),
        cframe(1, "x", rsv=0x10),
        cframe(9, b"", rsv=0x70),
        cframe(3, b""),  # reserved opcodes
        cframe(7, b""),
        cframe(0xB, b""),
        cframe(0xF, b""),
        cframe(9, b"x" * 126),  # control frame too long
        cframe(9, b"x", fin=False),  # fragmented control
        cframe(8, b"\x03\xe8", fin=False),
        cframe(0, b"x"),  # continuation without a message
        cframe(1, "a", False) + cframe(1, "b"),  # new message inside fragmented
        cframe(1, "a", False) + cframe(2, b"b"),
        b"\x82\xff\x80\x00\x00\x00\x00\x00\x00\x01\x37\xfa\x21\x3d",  # 64-bit top bit
    ]
    for data in cases:
        for step in (0, 1):
            _fails_with(data, 1002, step)


def test_nothing_processed_after_a_failure():
    p = _fails_with(cframe(1, "ok") + cframe(1, "x", rsv=0x20) + cframe(9, b"p") + cframe(1, "later"), 1002)
    assert _events(p) == [("text", "ok")]
    assert p.data_to_send() == b""  # no pong after the fault
    feed(p, cframe(8, b"\x03\xe8"))
    assert p.close_expected() and p.state == CLOSED
    assert _events(p) == [("close", 1000, "")]


def test_deferred_close_lets_earlier_messages_be_answered():
    p = ServerProtocol(defer_close=True)
    feed(p, cframe(1, "Hello") + cframe(1, "x", rsv=0x20) + cframe(9, b""))
    assert _events(p) == [("text", "Hello"), ("failed", 1002, "reserved bits set")]
    assert p.state == OPEN and p.failed
    p.send_text("Hello")
    p.send_fail_close()
    fr = frames(p.data_to_send())
    assert fr == [(True, 0, 1, b"Hello"), (True, 0, 8, b"\x03\xea" + b"reserved bits set")]
    assert p.state == CLOSING


def test_utf8_invalid_fails_fast_across_fragments():
    bad = b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"
    for step in STEPS:
        _fails_with(cframe(1, bad), 1007, step)
    # the fault is seen in the first fragment, before the message ends
    p = _fails_with(cframe(1, bad[:13], False), 1007)
    # valid text split inside characters, across fragments
    good = "\u03ba\u1f79\u03c3\u03bc\u03b5 \U0001d11e".encode()
    for cut in range(len(good) + 1):
        p = ServerProtocol()
        feed(p, cframe(1, good[:cut], False) + cframe(0, good[cut:]))
        assert _events(p) == [("text", str(good, "utf-8"))]
    # a character left unfinished at the end of the message
    _fails_with(cframe(1, good[:-1]), 1007)
    _fails_with(cframe(1, b"\xce", False) + cframe(0, b""), 1007)


def test_binary_is_not_utf8_checked():
    p = ServerProtocol()
    feed(p, cframe(2, b"\xff\xfe"))
    assert _events(p) == [("binary", b"\xff\xfe")]


def test_close_echo_and_rules():
    for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999):
        p = ServerProtocol()
        payload = bytes((code >> 8, code & 0xFF)) + b"bye"
        feed(p, cframe(8, payload))
        assert close_code_sent(p) == code
        assert p.close_expected() and p.close_code == code and p.close_reason == "bye"
        assert _events(p) == [("close", code, "bye")]
    for code in (0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535):
        _fails_with(cframe(8, bytes((code >> 8, code & 0xFF))), 1002)
    _fails_with(cframe(8, b"\x03"), 1002)
    _fails_with(cframe(8, b"\x03\xe8\xed\xa0\x80"), 1007)
    p = ServerProtocol()
    feed(p, cframe(8, b""))
    assert frames(p.data_to_send()) == [(True, 0, 8, b"")]
    assert p.close_code == 1005 and p.close_expected()


def test_server_initiated_close_and_timeout():
    p = ServerProtocol(close_timeout_ms=1000, now_ms=0)
    p.send_close(1001, "bye")
    assert frames(p.data_to_send()) == [(True, 0, 8, b"\x03\xe9bye")]
    assert p.state == CLOSING and p.next_deadline_ms() == 1000
    try:
        p.send_text("x")
    except UsageError:
        pass
    else:
        raise AssertionError("send after close")
    feed(p, cframe(1, "late"))  # data may still arrive while closing
    feed(p, cframe(8, b"\x03\xe9"))
    assert p.close_expected() and p.data_to_send() == b""
    q = ServerProtocol(close_timeout_ms=1000, now_ms=500)
    q.send_close()
    q.tick(1499)
    assert not q.close_expected()
    q.tick(1500)
    assert q.close_expected() and q.close_code == 1006


def test_eof_without_close():
    p = ServerProtocol()
    feed(p, cframe(1, "a", False))
    p.receive_data(b"")
    assert p.close_expected() and _events(p) == [("close", 1006, "")]


def test_limits_1009():
    _fails_with(cframe(2, b"x" * 101), 1009, max_size=100)
    p = ServerProtocol(max_size=100)
    feed(p, cframe(2, b"x" * 100))
    assert _events(p) == [("binary", b"x" * 100)]
    # the message limit across fragments, failing at the frame that crosses it
    p = _fails_with(cframe(2, b"x" * 60, False) + cframe(0, b"x" * 41, False), 1009, max_size=100)
    assert _events(p) == []
    _fails_with(cframe(2, b"x" * 11, False), 1009, max_size=100, max_frame=10)


def test_stream_mode_delivers_pieces_without_joining():
    p = ServerProtocol(stream=True, scratch_size=64, max_size=10)
    text = ("\u00e9" * 100).encode()
    feed(p, cframe(1, text, False) + cframe(0, text), 50)
    evs = _events(p)
    assert all(e[0] == "fragment" and e[1] is True for e in evs)
    assert [e[3] for e in evs].count(True) == 1 and evs[-1][3] is True
    assert b"".join(e[2] for e in evs) == text + text
    assert max(len(e[2]) for e in evs) <= 64


def test_keepalive_ping_pong_and_dead_peer_1011():
    p = ServerProtocol(ping_interval_ms=1000, ping_timeout_ms=500, now_ms=0)
    assert p.next_deadline_ms() == 1000
    p.tick(999)
    assert p.data_to_send() == b""
    p.tick(1000)
    fr = frames(p.data_to_send())
    assert len(fr) == 1 and fr[0][2] == 9
    assert p.next_deadline_ms() == 1500
    p.tick(1200)
    feed(p, cframe(10, fr[0][3]))
    assert p.next_deadline_ms() == 2200
    p.tick(2200)
    fr = frames(p.data_to_send())
    assert fr[0][2] == 9
    feed(p, cframe(10, b"other"))  # an unsolicited pong does not count
    p.tick(2699)
    assert p.state == OPEN
    p.tick(2700)
    assert close_code_sent(p) == 1011 and p.state == CLOSING


def test_send_frames():
    p = ServerProtocol()
    p.send_text("h\u00e9")
    p.send_binary(b"\x00\x01")
    p.send_ping(b"p")
    p.send_fragment("ab", text=True)
    p.send_pong(b"q")
    p.send_fragment(b"cd", fin=True)
    assert frames(p.data_to_send()) == [
        (True, 0, 1, "h\u00e9".encode()),
        (True, 0, 2, b"\x00\x01"),
        (True, 0, 9, b"p"),
        (False, 0, 1, b"ab"),
        (True, 0, 10, b"q"),
        (True, 0, 0, b"cd"),
    ]
    p.send_fragment(b"x")
    try:
        p.send_text("y")
    except UsageError:
        pass
    else:
        raise AssertionError("message sent inside a fragmented one")
    try:
        p.send_ping(b"x" * 126)
    except UsageError:
        pass
    else:
        raise AssertionError("126-byte ping")


def test_unmasked_only_when_allowed():
    p = ServerProtocol(allow_unmasked=True)
    feed(p, cframe(1, "legacy", key=None))
    assert _events(p) == [("text", "legacy")]
