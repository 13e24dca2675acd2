"""Our own conformance suite, by Autobahn category, against the echo server
on both runtimes: each violation ends that connection with the right code,
other connections keep working, the server never dies."""

import socket
import time

import pytest
from conftest import free_port, start_module
from wsraw import Raw, echo_roundtrip, frame, handshake_request


@pytest.fixture
def server(runtime):
    port = free_port()
    args = ["--host", "127.0.0.1", "--port", str(port), "--echo", "--max-size", "65536", "--no-compression"]
    with start_module(runtime, "microproto.websocket", args, port) as p:
        p.port = port
        yield p
        assert p.alive(), "server died"


BAD = [
    # category 3: reserved bits
    ("rsv1", frame(1, "x", rsv=0x40), 1002),
    ("rsv2", frame(1, "x", rsv=0x20), 1002),
    ("rsv3 on ping", frame(9, b"", rsv=0x10), 1002),
    # category 4: opcodes
    ("opcode 3", frame(3, b""), 1002),
    ("opcode 7", frame(7, b"x"), 1002),
    ("opcode 11", frame(11, b""), 1002),
    ("opcode 15", frame(15, b"x"), 1002),
    # category 2 / 5: control frames and fragmentation
    ("ping 126 bytes", frame(9, b"x" * 126), 1002),
    ("fragmented ping", frame(9, b"x", fin=False), 1002),
    ("continuation first", frame(0, b"x"), 1002),
    ("text inside fragmented", frame(1, "a", fin=False) + frame(1, "b"), 1002),
    ("unmasked", frame(1, "x", key=None), 1002),
    # category 6: UTF-8
    ("bad utf-8", frame(1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited"), 1007),
    ("truncated utf-8 across fragments", frame(1, b"\xce", fin=False) + frame(0, b""), 1007),
    # category 7: close
    ("close 1-byte payload", frame(8, b"\x03"), 1002),
    ("close code 1005", frame(8, b"\x03\xed"), 1002),
    ("close code 999", frame(8, b"\x03\xe7"), 1002),
    ("close code 2999", frame(8, b"\x0b\xb7"), 1002),
    ("close code 5000", frame(8, b"\x13\x88"), 1002),
    ("close reason bad utf-8", frame(8, b"\x03\xe8\xff"), 1007),
    # category 9/limits
    ("message over max-size", frame(2, b"x" * 65537), 1009),
    ("fragments over max-size", frame(2, b"x" * 40000, fin=False) + frame(0, b"x" * 30000), 1009),
]


def test_each_violation_gets_its_close_code_and_others_keep_working(server):
    bystander = Raw(server.port)
    assert bystander.status == 101
    for name, data, code in BAD:
        r = Raw(server.port)
        assert r.status == 101, name
        r.send(data)
        got, before, eof = r.expect_close()
        assert got == code, (name, got, code)
        assert eof, "%s: server did not close TCP after the close handshake" % name
        r.close()
        bystander.send(frame(1, name))
        assert bystander.recv_frame() == (True, 0, 1, name.encode()), name
    assert echo_roundtrip(server.port)


def test_fail_fast_on_utf8_before_the_message_ends(server):
    r = Raw(server.port)
    r.send(frame(1, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", fin=False))
    code, _, _ = r.expect_close()  # no FIN sent: the check did not wait for it
    assert code == 1007


def test_echo_before_fault_then_close_and_no_pong(server):
    r = Raw(server.port)
    r.send(frame(1, "Hello, world!") + frame(1, "x", rsv=0x20) + frame(9, b""))
    code, before, eof = r.expect_close()
    assert before == [(True, 0, 1, b"Hello, world!")] and code == 1002 and eof


def test_fragmentation_with_interleaved_pings(server):
    r = Raw(server.port)
    r.send(frame(1, "frag", fin=False) + frame(9, b"p1") + frame(0, "ment", fin=False) + frame(9, b"p2") + frame(0, "ed"))
    got = [r.recv_frame() for _ in range(3)]
    assert got == [(True, 0, 10, b"p1"), (True, 0, 10, b"p2"), (True, 0, 1, b"fragmented")]
    r.send(frame(10, b"unsolicited") + frame(2, b"\x00\xff"))
    assert r.recv_frame() == (True, 0, 2, b"\x00\xff")
    r.send(frame(8, b"\x0f\xa0goodbye"))  # 4000
    code, _, eof = r.expect_close(reply=False)
    assert code == 4000 and eof


def test_lengths_7_16_64_bit(server):
    r = Raw(server.port)
    for n in (0, 125, 126, 65535, 65536):
        r.send(frame(2, bytes(n % 251 for _ in range(1)) * n))
        f = r.recv_frame()
        assert f[2] == 2 and len(f[3]) == n


def test_close_with_empty_payload_is_echoed_empty(server):
    r = Raw(server.port)
    r.send(frame(8, b""))
    f = r.recv_frame()
    assert f == (True, 0, 8, b"")
    assert r.eof_within(5.0)


def test_abrupt_disconnects_and_garbage_do_not_hurt(server):
    for data in (b"", b"\x81", frame(1, "x" * 1000)[:50], b"\xff" * 100):
        r = Raw(server.port)
        r.send(data)
        r.close()
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finished
    s.close()
    assert echo_roundtrip(server.port)


def _status(port, request):
    r = Raw(port, request)
    r.close()
    return r.status, r.head


def test_handshake_statuses(server):
    p = server.port
    assert _status(p, handshake_request(version=b"8"))[0] == 426
    assert b"Sec-WebSocket-Version: 13" in _status(p, handshake_request(version=b"8"))[1]
    assert _status(p, handshake_request(key=b"short"))[0] == 400
    assert _status(p, handshake_request().replace(b"GET", b"PUT", 1))[0] == 405
    assert _status(p, handshake_request().replace(b"Connection: Upgrade", b"Connection: close"))[0] == 400
    assert _status(p, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")[0] == 426
    assert _status(p, handshake_request(extra=b"X-Long: " + b"a" * 5000 + b"\r\n"))[0] == 431
    assert _status(p, handshake_request(extra=b"X-A: 1\r\n" * 60))[0] == 431
    assert _status(p, b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n\r\n")[0] == 400
    assert echo_roundtrip(p)


def test_handshake_timeout_frees_the_slot(runtime):
    port = free_port()
    args = ["--host", "127.0.0.1", "--port", str(port), "--echo", "--max-connections", "1"]
    with start_module(runtime, "microproto.websocket", args, port) as p:
        # wait_port's probe connection ends at once; then one silent client
        time.sleep(0.3)
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET / HTTP/1.1\r\n")
        a = Raw(port)
        assert a.status == 503  # the silent client holds the only slot
        a.close()
        s.close()
        time.sleep(0.5)
        assert echo_roundtrip(port)
        assert p.alive()
