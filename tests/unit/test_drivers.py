"""The shared drivers over real loopback sockets, and over fakes."""

import asyncio

from fakes import FakeSocket, LineCore, listen_any
from microproto.aio import StreamConnection
from microproto.blocking import Connection
from microproto.errors import LimitError, PeerError
from microproto_port import net, start_thread


def test_blocking_driver_over_fake_socket():
    sock = FakeSocket([b"he", b"llo\nwor", b"ld\n"])
    conn = Connection(sock, LineCore(), bufsize=4)
    assert conn.next_event() == ("line", b"hello\n")
    assert conn.next_event() == ("line", b"world\n")
    assert conn.next_event() == ("eof", None)
    conn.flush()
    assert bytes(sock.sent) == b"HELLO\nWORLD\n"
    try:
        conn.next_event()
    except PeerError:
        pass
    else:
        raise AssertionError("read past EOF")


def test_blocking_driver_limit_from_core():
    sock = FakeSocket([b"x" * 100])
    conn = Connection(sock, LineCore(), bufsize=256)
    try:
        conn.next_event()
    except LimitError:
        pass
    else:
        raise AssertionError("70-byte line accepted by a 64-byte buffer")


def _conversation():
    ev = yield b"ping\n"
    assert ev == ("line", b"PING\n")
    ev = yield b"a\nb\n"
    ev2 = yield None
    return [ev, ev2]


def _echo_server(lsock, count):
    s, _ = lsock.accept()
    lsock.close()
    buf = memoryview(bytearray(64))
    got = 0
    while got < count:
        n = net.recv_into(s, buf)
        if not n:
            break
        got += n
        net.send_all(s, bytes(buf[:n]).upper())
    s.close()


def test_blocking_driver_over_tcp_runs_a_conversation():
    lsock, port = listen_any()
    start_thread(_echo_server, (lsock, 9))
    sock = net.tcp_connect("127.0.0.1", port, timeout_ms=5000)
    conn = Connection(sock, LineCore(echo=False), timeout_ms=5000)
    result = conn.run(_conversation())
    assert result == [("line", b"A\n"), ("line", b"B\n")], result
    conn.close()


def test_asyncio_driver_client_and_server():
    lsock, port = listen_any()
    lsock.close()
    seen = []

    async def handle(reader, writer):
        conn = StreamConnection(reader, writer, LineCore(), read_size=8)
        while True:
            ev = await conn.next_event(timeout_ms=5000)
            seen.append(ev)
            if ev[0] == "eof":
                break
        await conn.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"one\ntwo\n")
        await writer.drain()
        data = b""
        while len(data) < 8:
            chunk = await asyncio.wait_for(reader.read(64), 5)
            if not chunk:
                break
            data += chunk
        writer.close()
        await writer.wait_closed()
        for _ in range(100):
            if seen and seen[-1][0] == "eof":
                break
            await asyncio.sleep(0.01)
        server.close()
        await server.wait_closed()
        return data

    data = asyncio.run(main())
    assert data == b"ONE\nTWO\n", data
    assert seen == [("line", b"one\n"), ("line", b"two\n"), ("eof", None)], seen


def test_gate_counts_sessions_and_throttles_guessing():
    # microproto.auth.Gate, with time passed in (ms)
    from microproto.auth import Gate

    g = Gate(max_sessions=2, fail_delay_ms=1000, max_failures=3, max_failures_total=5, window_ms=10000)
    assert g.admit("a", 0) is None and g.admit("b", 0) is None
    assert g.admit("c", 0) == "busy" and g.sessions == 2
    g.sessions -= 1
    # a wrong password: the address waits fail_delay_ms at its next accept
    assert g.check("a", b"x", b"pw", 0) is False
    assert g.admit("a", 500) == "wait"
    assert g.check("a", b"pw", b"pw", 500) is None  # not even compared meanwhile
    assert g.admit("a", 1000) is None
    g.sessions -= 1
    assert g.check("a", b"y", b"pw", 1000) is False
    assert g.check("a", b"z", b"pw", 2000) is False
    # max_failures reached: refused for the rest of the window
    assert g.admit("a", 5000) == "wait"
    # spraying from many addresses: past max_failures_total, one comparison
    # per fail_delay_ms in all
    assert g.check("d", b"q", b"pw", 3000) is False
    assert g.check("e", b"q", b"pw", 3000) is False
    assert g.failures == 5
    assert g.check("f", b"pw", b"pw", 3100) is None
    assert g.check("f", b"pw", b"pw", 4000) is True
    assert g.admit("f", 4000) is None  # a right password clears the record
    g.sessions -= 1
    assert g.admit("a", 12000) is None  # the window ended
