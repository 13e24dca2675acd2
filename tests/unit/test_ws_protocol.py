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


def test_one_timer_keepalive_then_close():
    # the keepalive and the close timeout share the core's one timer: a pong
    # arriving while closing does not move the close deadline; a deferred
    # failure's Close goes out at its deadline, then the close timeout runs
    p = ServerProtocol(ping_interval_ms=1000, ping_timeout_ms=500, close_timeout_ms=3000, now_ms=0)
    p.tick(1000)
    ping = frames(p.data_to_send())[0][3]
    p.tick(1100)
    p.send_close()
    assert p.next_deadline_ms() == 4100
    feed(p, cframe(10, ping))
    assert _events(p) == [("pong", ping)] and p.next_deadline_ms() == 4100
    p.tick(4099)
    assert p.state == CLOSING
    p.tick(4100)
    assert p.state == CLOSED and p.close_code == 1006 and p.next_deadline_ms() is None
    q = ServerProtocol(ping_interval_ms=1000, defer_close=True, close_timeout_ms=300, now_ms=0)
    q.tick(1000)
    ping = frames(q.data_to_send())[0][3]
    feed(q, cframe(10, ping + b"!") + cframe(1, "x", key=None))  # not its pong; then a fault
    assert _events(q) == [("pong", ping + b"!"), ("failed", 1002, "client frame not masked")]
    assert q.next_deadline_ms() == 1300 and q.data_to_send() == b""
    q.tick(1300)
    assert close_code_sent(q) == 1002 and q.state == CLOSING and q.next_deadline_ms() == 1300 + 300
    # ping payloads differ from one ping to the next
    r = ServerProtocol(ping_interval_ms=10, now_ms=0)
    seen = []
    for t in (10, 11, 21, 22, 32):
        r.tick(t)
        for fr in frames(r.data_to_send()):
            seen.append(fr[3])
            feed(r, cframe(10, fr[3]))
    assert len(seen) == 3 and len(set(seen)) == 3 and r.state == OPEN


def test_control_frames_of_every_size_and_after_a_failure():
    # a control frame's payload, each size to 125, at any split
    for n in (0, 1, 4, 5, 124, 125):
        body = bytes(range(n))
        for step in (0, 1, 3):
            p = ServerProtocol()
            feed(p, cframe(1, "a", False) + cframe(9, body) + cframe(0, "b"), step)
            assert _events(p) == [("ping", body), ("text", "ab")], (n, step)
            assert frames(p.data_to_send()) == [(True, 0, 10, body)]
    # after a failure: frames of any kind and size are skipped, only the
    # Close counts (also after a ping that came in part before the failure)
    for step in (0, 1, 7):
        p = ServerProtocol(defer_close=True, ping_interval_ms=1000, ping_timeout_ms=500, now_ms=0)
        ping = cframe(9, b"p" * 100)
        feed(p, ping[:20])
        p.tick(1000)
        p.tick(1500)  # no pong in time: failed (the ping's rest still comes)
        assert p.failed and p.fail_code == 1011
        data = ping[20:] + cframe(2, b"z" * 300) + cframe(9, b"q" * 3) + cframe(8, b"\x03\xe8bye")
        feed(p, data, step)
        assert p.state == CLOSED and p.close_code == 1000 and p.close_reason == "bye", step
        assert _events(p) == [("close", 1000, "bye")]  # (a keepalive failure: no "failed" event)


def _zcore(**kw):
    from microproto.ws_deflate import PerMessageDeflate, negotiate
    from microproto_port import inflate

    # a 512-byte client window: the inflater's is all these cores allocate
    # (a 32 KiB one each failed on a board's fragmented heap, ESP32_GENERIC)
    params, header = negotiate(["permessage-deflate; client_max_window_bits=9"], inflate.CAN_COMPRESS,
                               inflate.CAN_TAKEOVER)
    return ServerProtocol(deflate=PerMessageDeflate(params, inflate), **kw)


def test_compressed_messages_load_their_module_and_are_bounded():
    from microproto import ws_protocol

    empty = b"\x00\x00\x00\xff\xff"  # an empty stored block: inflates to nothing
    for step in (0, 1):
        # the first compressed message loads microproto.ws_stream, also when
        # its only frame is empty (RFC 7692: one 0 byte) or a plain frame
        # came first; ("Hello": RFC 7692 7.2.3.1)
        for first in (b"\x00", b"\xf2\x48\xcd\xc9\xc9\x07\x00"):
            ws_protocol.ws_stream = None  # (as in a fresh interpreter)
            p = _zcore()
            feed(p, cframe(1, "plain") + cframe(1, first, rsv=0x40) + cframe(2, b"\x00", rsv=0x40), step)
            text = "" if first == b"\x00" else "Hello"
            assert _events(p) == [("text", "plain"), ("text", text), ("binary", b"")], (step, first)
            assert ws_protocol.ws_stream is not None and not p.failed
        # a compressed message of at most 2 * max_size + 1024 bytes
        # (compressed), whole or in fragments; one byte more fails it
        p = _zcore(max_size=10, max_frame=2000)
        feed(p, cframe(2, empty * 208 + b"\x00", rsv=0x40), step)
        feed(p, cframe(2, empty * 100, False, rsv=0x40) + cframe(0, empty * 108 + b"\x00"), step)
        assert _events(p) == [("binary", b""), ("binary", b"")] and not p.failed
        for data in (
            cframe(2, empty * 209, rsv=0x40),
            cframe(2, empty * 200, False, rsv=0x40) + cframe(0, empty * 9, False) + cframe(0, b"\x00"),
        ):
            p = _zcore(max_size=10, max_frame=2000)
            feed(p, data, step)
            assert close_code_sent(p) == 1009 and p.fail_reason == "compressed message too big", step
        # the bound exactly: 1044 bytes pass, the 1045th fails
        for first in (empty * 208 + empty[:4], empty * 100):
            p = _zcore(max_size=10, max_frame=2000)
            rest = empty * 208 + empty[:4]
            rest = rest[len(first) :]
            feed(p, cframe(2, first, False, rsv=0x40) + (cframe(0, rest, False) if rest else b""), step)
            assert not p.failed and p.data_to_send() == b"", step
            feed(p, cframe(0, b"\xff"), step)
            assert close_code_sent(p) == 1009 and p.fail_reason == "compressed message too big", step


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


def test_messages_from_a_writable_buffer_are_unmasked_in_place_and_copied():
    # a driver's read buffer (MicroPython: a view of one buffer, shared by
    # the connections and reused by the next read): whole messages are
    # unmasked in it, without a message buffer, and handed out as copies
    buf = bytearray(4096)
    mv = memoryview(buf)
    blob = bytes(range(256)) * 3
    want = [("text", "h\u00e9llo"), ("text", "x" * 200), ("text", ""), ("binary", blob), ("binary", b"")]
    wire = b"".join(cframe(1 if t == "text" else 2, m) for t, m in want)
    for sink in (None, []):
        p = ServerProtocol()
        p.sink = sink
        buf[: len(wire)] = wire
        p.receive_data(mv[: len(wire)])
        got = p.events_received() if sink is None else [("text" if type(m) is str else "binary", m) for m in sink]
        assert p._msg is None and not p.failed  # (the in-place path: no message buffer)
        # the next read overwrites the buffer: the messages stay as they were
        for i in range(len(buf)):
            buf[i] = 0x55
        p.receive_data(cframe(2, b"next"))
        assert got == want
        assert [type(m) for _, m in got] == [str, str, str, bytes, bytes]
        assert {got[3][1]: 1}.get(blob) == 1 and {got[0][1]: 1}.get("h\u00e9llo") == 1  # hashes made after unmasking
    # a read-only buffer is left as it came (the message buffer then)
    ro = bytes(wire)
    p = ServerProtocol()
    p.receive_data(memoryview(ro))
    assert ro == wire and p.events_received() == want and p._msg is not None
    # a message split across reads of the buffer, after a whole one in it
    a = cframe(2, b"one") + cframe(1, "two words")
    buf[: len(a)] = a
    p = ServerProtocol()
    p.receive_data(mv[: len(a) - 4])
    buf[:4] = a[-4:]
    p.receive_data(mv[:4])
    assert p.events_received() == [("binary", b"one"), ("text", "two words")]
    # invalid UTF-8 in the buffer still fails the connection (1007; masked
    # with KEY this payload is ASCII: the buffer is left masked as it came)
    bad = cframe(1, b"a\xffbc") + cframe(1, "after")
    buf[: len(bad)] = bad
    p = ServerProtocol()
    p.receive_data(mv[: len(bad)])
    assert close_code_sent(p) == 1007 and p.events_received() == []


def test_mask_into_in_place():
    # the core unmasks the read buffer in place: dst is src, same offsets,
    # at any alignment and length (viper, C and Python versions alike)
    from microproto.fastpy import py_mask_into
    from microproto_port.fast import mask_into

    src = bytes((i * 7 + 3) & 0xFF for i in range(80))
    for f in (mask_into, py_mask_into):
        for off in range(8):
            for n in (0, 1, 3, 4, 5, 8, 31, 32, 33, 64 - off):
                for phase in (0, 1, 3):
                    buf = bytearray(src)
                    f(buf, off, buf, off, n, KEY, phase)
                    want = bytearray(src)
                    for i in range(n):
                        want[off + i] ^= KEY[(i + phase) & 3]
                    assert buf == want, (off, n, phase)
                    f(memoryview(buf), off, memoryview(buf), off, n, KEY, phase)
                    assert buf == src, (off, n, phase)


def test_binary_type_bytearray_hands_over_the_buffer_it_received_into():
    import gc

    # binary messages as bytearrays of their own (text stays str): a whole
    # message in one read, from a writable or a read-only buffer, a frame
    # fed in pieces (the message buffer itself, made to its size) and a
    # fragmented message (the buffer cut to it); a new one each message
    blob = bytes(range(256)) * 20  # 5 KiB: over the kept buffer's 4 KiB
    want = [("binary", b"ab"), ("text", "t\u00e9xt"), ("binary", blob), ("binary", b""), ("binary", blob + b"xyz")]
    wire = (cframe(2, b"ab") + cframe(1, "t\u00e9xt") + cframe(2, blob) + cframe(2, b"") + cframe(2, blob, False)
            + cframe(0, b"xy", False) + cframe(0, b"z"))
    buf = bytearray(len(wire))
    for step in (0, 5, 1000):
        for writable in (False, True):
            for sink in (None, []):
                p = got = nxt = None  # the last round's messages and core
                gc.collect()
                p = ServerProtocol(binary_type=bytearray)
                p.sink = sink
                if step:
                    feed(p, wire, step)
                else:
                    buf[:] = wire
                    p.receive_data(memoryview(buf) if writable else bytes(wire))
                got = p.events_received() if sink is None else [("text" if type(m) is str else "binary", m)
                                                                 for m in sink]
                assert got == want, (step, writable)
                assert [type(m) for _, m in got] == [bytearray, str, bytearray, bytearray, bytearray], step
                # each its own: changing one changes no other, nor what comes next
                got[0][1][0] = 0x21
                got[2][1][0] = 0x21
                assert got[4][1][:3] == b"\x00\x01\x02"
                feed(p, cframe(2, blob) + cframe(2, b"ab"), step)
                nxt = p.events_received() if sink is None else sink[5:]
                nxt = [m if type(m) is not tuple else m[1] for m in nxt]
                assert nxt == [blob, b"ab"] and nxt[0] is not got[2][1], step
    # a message in one frame fed in pieces is the message buffer, of its size
    p = ServerProtocol(binary_type=bytearray)
    feed(p, cframe(2, blob), 700)
    assert p._msg is None and p.events_received() == [("binary", blob)]
    # the default is unchanged: bytes
    p = ServerProtocol()
    feed(p, cframe(2, blob) + cframe(2, b"ab"), 700)
    assert [type(m) for _, m in p.events_received()] == [bytes, bytes]


def test_binary_type_bytearray_message_of_n_bytes_allocates_about_n():
    # a message fed in 1 KiB reads: the bytearray handed out is all that
    # grows with it (the default mode holds the buffer and a bytes copy)
    import gc
    import sys

    n = 64 * 1024 if budget.fits(64 * 1024, copies=3) else 8 * 1024
    hdr = bytearray(14)
    hdr = bytes(memoryview(hdr)[: build_header(hdr, 0, 2, True, n, 0, KEY)])
    src = KEY * 256  # 1 KiB of zeros, masked
    chunk = bytearray(src)  # a writable read buffer, refilled (unmasked in place or not)
    mv = memoryview(chunk)
    got = []
    for mode in (bytearray, bytes):
        p = ServerProtocol(binary_type=mode)
        p.sink = got
        if hasattr(gc, "mem_alloc") and sys.platform != "webassembly":
            gc.collect()
            gc.disable()
            a = gc.mem_alloc()
            p.receive_data(hdr)
            for _ in range(n // 1024):
                chunk[:] = src
                p.receive_data(mv)
            used = gc.mem_alloc() - a
            gc.enable()
            if mode is bytearray:
                assert n <= used <= n + 512, used
            else:
                assert used >= 2 * n, used  # (what the mode saves)
        else:
            p.receive_data(hdr)
            for _ in range(n // 1024):
                chunk[:] = src
                p.receive_data(mv)
        m = got.pop()
        assert type(m) is mode and len(m) == n and m.count(b"\x00") == n
        p = m = None


def test_reads_that_are_all_payload_are_unmasked_in_place_then_copied():
    # a frame's payload in writable reads of any length (the phase of the
    # key carried across them, reads of more than 256 bytes unmasked in
    # the read buffer and copied whole), both binary types, text too
    blob = bytes((i * 31 + 7) & 0xFF for i in range(5000))
    text = ("d\u00e9j\u00e0 vu " * 500).encode()
    for payload, op in ((blob, 2), (text, 1)):
        wire = cframe(op, payload)
        for mode in (bytes, bytearray):
            for sizes in ((14, 257, 1000, 3, 4000), (8, 300, 301, 302, 5000), (4, 700)):
                p = ServerProtocol(binary_type=mode)
                buf = bytearray(6000)
                pos = 0
                k = 0
                while pos < len(wire):
                    n = min(sizes[k % len(sizes)], len(wire) - pos)
                    buf[:n] = wire[pos:pos + n]
                    p.receive_data(memoryview(buf)[:n])
                    pos += n
                    k += 1
                ev = p.events_received()
                want = ("text", payload.decode()) if op == 1 else ("binary", payload)
                assert ev == [want] and type(ev[0][1]) is (str if op == 1 else mode), (op, mode, sizes)
