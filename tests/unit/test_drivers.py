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


class _ServerCore(LineCore):
    """LineCore with what the server driver (``aio.Driven``) also calls;
    ``big``: each line is answered with that many bytes."""

    def __init__(self, big=0):
        LineCore.__init__(self)
        self.big = big
        self.blob = b"x" * big  # one answer, sent by reference (no copies)
        self.pending = 0

    def receive_data(self, data):
        LineCore.receive_data(self, data)
        if self.big and data:
            self.pending += 1

    def data_to_send(self):
        out = LineCore.data_to_send(self)
        if not self.pending:
            return out
        parts = [out] + [self.blob] * self.pending
        self.pending = 0
        return parts

    def events_taken(self):
        ev = self.events
        self.events = []
        return ev

    def tick(self, now_ms):
        pass

    def next_deadline_ms(self):
        return None

    def close_expected(self):
        return False

    failed = None

    def fail(self, code, reason):
        # what the driver asks of a core when receive_data raised (MemoryError: 1009)
        self.failed = code


class _ClockCore(_ServerCore):
    """A core with a deadline the test moves (``deadline``, ms ticks or
    None); a tick at or past it is counted and answered with b"T\n"."""

    deadline = None

    def __init__(self):
        _ServerCore.__init__(self)
        self.ticks = 0

    def tick(self, now_ms):
        from microproto_port import ticks_diff

        if self.deadline is not None and ticks_diff(now_ms, self.deadline) >= 0:
            self.deadline = None
            self.ticks += 1
            self.out += b"T\n"

    def next_deadline_ms(self):
        return self.deadline


async def _read_until(reader, n, timeout_s=5):
    data = b""
    while len(data) < n:
        chunk = await asyncio.wait_for(reader.read(4096), timeout_s)
        if not chunk:
            break
        data += chunk
    return data


def _on_loopback(main):
    """``asyncio.run(main(port))`` with a free loopback port, taken before
    the loop starts (a runtime without sockets fails there, where its test
    runner looks for it)."""
    lsock, port = listen_any()
    lsock.close()
    return asyncio.run(main(port))


async def _serve_driven(port, make, sessions):
    """An asyncio server on ``port`` whose connections run on
    ``aio.Driven`` (made by ``make(reader, writer)``, appended to
    ``sessions``), and a client connected to it: ``(server, reader, writer)``."""
    from microproto.aio import close_stream

    async def handle(reader, writer):
        d = make(reader, writer)
        sessions.append(d)
        # what the peer sent before start() waits in the stream's buffer
        await asyncio.sleep(0.05)
        await d.start(b"zero\n")
        await d.done.wait()
        await d.finish()
        await close_stream(writer)

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    return server, reader, writer


def test_asyncio_server_driver_feeds_in_order_and_ends_at_eof():
    # leftover first, then what waited in the stream, then each later read;
    # answers as they come; EOF ends the connection (CPython: fed from the
    # transport's callback, no reader task; MicroPython: the reader task)
    import sys

    from microproto.aio import Driven

    sessions = []
    seen = []

    def make(reader, writer):
        core = _ServerCore()
        return Driven(reader, writer, core, lambda: seen.extend(core.events_taken()), read_size=16)

    async def main(port):
        server, reader, writer = await _serve_driven(port, make, sessions)
        writer.write(b"one\ntw")
        await writer.drain()
        first = await _read_until(reader, 9)
        writer.write(b"o\nthree\n" + b"f" * 40 + b"\n")
        await writer.drain()
        rest = await _read_until(reader, 10 + 41)
        writer.close()
        await writer.wait_closed()
        for _ in range(200):
            if sessions and sessions[0].done.is_set():
                break
            await asyncio.sleep(0.01)
        d = sessions[0]
        tasks = d._task is not None
        server.close()
        await server.wait_closed()
        return first + rest, d, tasks

    data, d, tasks = _on_loopback(main)
    assert data == b"ZERO\nONE\nTWO\nTHREE\n" + b"F" * 40 + b"\n", data
    assert seen == [("line", b"zero\n"), ("line", b"one\n"), ("line", b"two\n"), ("line", b"three\n"),
                    ("line", b"f" * 40 + b"\n"), ("eof", None)], seen
    assert d.eof and d.done.is_set()
    # no timer task (the core has no deadline); the reader task only where the port does not feed the core
    assert tasks == (sys.implementation.name != "cpython"), tasks
    assert d.server is None  # no clock was ever made


def test_asyncio_server_driver_stops_reading_while_go_is_cleared():
    from microproto.aio import Driven

    sessions = []
    seen = []

    def make(reader, writer):
        core = _ServerCore()

        def on_events():
            ev = core.events_taken()
            seen.extend(ev)
            if ev and ev[-1][0] == "line":
                d.go.clear()  # one line at a time: the test lets the next one in

        d = Driven(reader, writer, core, on_events, read_size=16)
        return d

    async def main(port):
        server, reader, writer = await _serve_driven(port, make, sessions)
        await _read_until(reader, 5)  # ZERO: the leftover was fed, go is cleared
        writer.write(b"a\n")
        await writer.drain()
        await asyncio.sleep(0.1)
        held = list(seen)
        writer.write(b"b\n")
        await writer.drain()
        await asyncio.sleep(0.1)
        still = list(seen)
        d = sessions[0]
        d.go.set()
        got = await _read_until(reader, 2)
        d.go.set()  # (a reader task may have taken both lines in one read)
        got += await _read_until(reader, 4 - len(got))
        d.go.set()
        writer.close()
        await writer.wait_closed()
        for _ in range(200):
            if d.done.is_set():
                break
            await asyncio.sleep(0.01)
        server.close()
        await server.wait_closed()
        return held, still, got, seen

    held, still, got, seen = _on_loopback(main)
    assert held == [("line", b"zero\n")] and still == held, (held, still)
    assert got == b"A\nB\n", got
    assert seen == [("line", b"zero\n"), ("line", b"a\n"), ("line", b"b\n"), ("eof", None)], seen


def test_asyncio_server_driver_cuts_a_peer_that_does_not_read():
    # the answers to its input fill the transport: the drain has
    # write_timeout_ms, then the connection is cut (done), reading stopped
    from microproto.aio import Driven

    sessions = []

    import budget

    # each line is answered with one shared blob; the transport may copy
    # what the socket does not take (MicroPython: at most a piece of it)
    big = budget.size(65536, copies=3, minimum=16384)

    def make(reader, writer):
        c = _ServerCore(big=big)
        return Driven(reader, writer, c, c.events.clear, read_size=64, write_timeout_ms=300)

    async def main(port):
        server, reader, writer = await _serve_driven(port, make, sessions)
        ended = False
        for i in range(400):
            try:
                writer.write(b"more\n")
                await asyncio.wait_for(writer.drain(), 0.05)
            except Exception:
                break  # our own buffers filled, or the server reset us
            await asyncio.sleep(0.01)
            if sessions and sessions[0].done.is_set():
                ended = True
                break
        for _ in range(300):
            if ended or (sessions and sessions[0].done.is_set()):
                ended = True
                break
            await asyncio.sleep(0.01)
        failed = sessions and sessions[0].core.failed
        writer.close()
        server.close()
        await server.wait_closed()
        return ended, failed

    ended, failed = _on_loopback(main)
    assert ended, "a peer that stopped reading was not cut"
    assert not failed, failed  # cut for not reading, not ended by a MemoryError


def test_asyncio_server_driver_timer_runs_only_while_a_deadline_is_armed():
    # no deadline: no timer task; one that appears (rearm) starts it; one
    # moved earlier wakes it at once; after the tick, with no deadline left,
    # the task is gone again
    from microproto.aio import Driven
    from microproto_port import ticks_add, ticks_diff, ticks_ms

    sessions = []

    def make(reader, writer):
        return Driven(reader, writer, _ClockCore(), None, read_size=16)

    async def main(port):
        server, reader, writer = await _serve_driven(port, make, sessions)
        await _read_until(reader, 5)  # ZERO
        d = sessions[0]
        seen = [d.server is None]
        d.core.deadline = ticks_add(ticks_ms(), 60000)
        d.rearm()
        await asyncio.sleep(0.05)
        seen.append(d.server._task is not None and d.server._armed is not None)
        t0 = ticks_ms()
        d.core.deadline = ticks_add(t0, 100)  # earlier: the sleeping timer wakes
        d.rearm()
        got = await _read_until(reader, 2)
        took = ticks_diff(ticks_ms(), t0)
        await asyncio.sleep(0.05)
        seen.append(d.server._task is None)
        writer.close()
        await writer.wait_closed()
        for _ in range(200):
            if d.done.is_set():
                break
            await asyncio.sleep(0.01)
        server.close()
        await server.wait_closed()
        return seen, got, took, d.core.ticks

    seen, got, took, ticks = _on_loopback(main)
    assert seen == [True, True, True], seen
    assert got == b"T\n" and ticks == 1, (got, ticks)
    assert 90 <= took < 3000, took


def test_asyncio_server_driver_timer_ends_when_the_connection_is_cut():
    # a connection cut while its timer sleeps: the timer task ends at once
    # (it does not sleep out its deadline), and it never ticks
    from microproto.aio import Driven
    from microproto_port import ticks_add, ticks_diff, ticks_ms

    sessions = []

    def make(reader, writer):
        core = _ClockCore()
        core.deadline = ticks_add(ticks_ms(), 60000)
        return Driven(reader, writer, core, None, read_size=16)

    async def main(port):
        server, reader, writer = await _serve_driven(port, make, sessions)
        await _read_until(reader, 5)
        d = sessions[0]
        armed = d.server._task is not None and d.server._armed is not None
        d.cut()
        for _ in range(100):
            if d.server._task is None:
                break
            await asyncio.sleep(0.01)
        gone = d.server._task is None
        writer.close()
        server.close()
        await server.wait_closed()
        return armed, gone, d.core.ticks

    t0 = ticks_ms()
    armed, gone, ticks = _on_loopback(main)
    assert armed and gone and ticks == 0, (armed, gone, ticks)
    assert ticks_diff(ticks_ms(), t0) < 10000


def test_asyncio_server_driver_asks_the_core_to_fail_on_memory_error():
    # receive_data raising MemoryError costs this connection only: the
    # driver asks the core to fail (1009) and the session ends
    from microproto.aio import Driven

    sessions = []

    class _Hungry(_ServerCore):
        def receive_data(self, data):
            if data == b"boom\n":
                raise MemoryError()
            _ServerCore.receive_data(self, data)

        def close_expected(self):
            return self.failed is not None

    def make(reader, writer):
        return Driven(reader, writer, _Hungry(), None, read_size=16)

    async def main(port):
        server, reader, writer = await _serve_driven(port, make, sessions)
        await _read_until(reader, 5)
        writer.write(b"boom\n")
        await writer.drain()
        rest = await _read_until(reader, 1)
        d = sessions[0]
        for _ in range(200):
            if d.done.is_set():
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()
        await server.wait_closed()
        return rest, d.done.is_set(), d.core.failed

    rest, done, failed = _on_loopback(main)
    assert rest == b"" and done, (rest, done)
    assert failed == 1009, failed


def test_asyncio_server_driver_reads_and_answers_without_allocating():
    # the reader task's loop, driven by hand over a fake socket (no event
    # loop: MicroPython's wait for the socket is stubbed): each read reaches
    # the core with its length and bytes, and its answer goes out; on
    # MicroPython a read and its answer allocate nothing in steady state
    # (the view of a read's length is kept while reads are that long)
    import budget

    from microproto.aio import Driven
    from microproto_port import streams

    class Sock:
        n = 1

        def readinto(self, buf):
            for i in range(self.n):
                buf[i] = 0x61 + i
            return self.n

    class Writer:
        out_buf = b""  # (MicroPython: nothing buffered, blocked() is False)
        _high_water = 1 << 16  # (CPython: the transport's mark)
        count = 0

        def __init__(self):
            self.transport = self

        def get_write_buffer_size(self):
            return 0

        def write(self, data):
            self.count += 1

    class Reader:
        s = Sock()

    class Core:
        got = None
        answer = None

        def receive_data(self, data):
            if data:
                self.answer = b"!"
            if self.got is not None:
                self.got.append(bytes(data))

        def data_to_send(self):
            a = self.answer
            self.answer = None
            return a

        # what the driver also calls: nothing to time, nothing expected
        tick = _ServerCore.tick
        next_deadline_ms = _ServerCore.next_deadline_ms
        close_expected = _ServerCore.close_expected

    saved = getattr(streams, "wait_read", None)
    streams.wait_read = lambda s: None
    try:
        r = Reader()
        w = Writer()
        core = Core()
        core.got = []
        d = Driven(r, w, core, None)
        d.rbuf = bytearray(8)
        g = d._reader()
        g.send(None)  # up to its first wait
        for n in (1, 3, 3, 8, 1, 2):
            r.s.n = n
            g.send(None)
        assert core.got == [b"a", b"abc", b"abc", b"abcdefgh", b"a", b"ab"], core.got
        assert w.count == 6, w.count
        core.got = None

        def reads(n):
            for _ in range(n):
                g.send(None)

        used = budget.allocated(reads, 200)  # (None on CPython: not counted)
        assert w.count == (206 if used is None else 211), w.count  # (+5 warming up)
        assert not used, "%d bytes allocated over 200 reads" % used
        g.close()
        assert d.closed and d.done.is_set()
    finally:
        if saved is None:
            del streams.wait_read
        else:
            streams.wait_read = saved


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


def test_streams_reuse_safe_lets_a_buffer_be_refilled_after_drain():
    # one 1 KiB buffer written, drained and refilled to a peer that reads
    # only later: what arrives is what each write held (CPython 3.12+ keeps
    # views of unsent data: without reuse_safe the refills change it; 4 MiB
    # fill loopback's buffers there; MicroPython copies: a few KiB show it)
    import sys

    from microproto_port import streams

    lsock, port = listen_any()
    lsock.close()
    count = 4096 if sys.implementation.name == "cpython" else 64

    async def handle(reader, writer):
        streams.reuse_safe(writer)
        buf = bytearray(1024)
        for i in range(count):
            b = i % 251
            for j in range(len(buf)):
                buf[j] = b
            writer.write(buf)
            await writer.drain()
        writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", port)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await asyncio.sleep(0.2)  # the server's buffers fill meanwhile
        bad = []
        for i in range(count):
            got = await asyncio.wait_for(reader.readexactly(1024), 5)
            if got != bytes([i % 251]) * 1024:
                bad.append(i)
        writer.close()
        server.close()
        await server.wait_closed()
        return bad

    bad = asyncio.run(main())
    assert not bad, bad[:5]


def test_asyncio_server_driver_sends_a_large_answer_in_pieces():
    # an answer far larger than the socket takes at once, to a peer that
    # reads only later: all of it arrives in order, and on MicroPython the
    # stream never holds more than about a piece (streams.PIECE) of copies
    import socket
    import sys

    import budget
    from microproto.aio import Driven
    from microproto_port import streams

    # a small send buffer where it can be set (the unix port lacks the
    # name: Linux's value; a board's lwIP buffers are small already)
    _SO_SNDBUF = getattr(socket, "SO_SNDBUF", 7 if sys.platform == "linux" else None)
    sessions = []
    big = budget.size(262144, copies=4, minimum=8192)
    most = [0]

    class _Big(_ServerCore):
        def receive_data(self, data):
            LineCore.receive_data(self, data)
            if data:
                self.out = bytearray()  # no echo: the answer only
                # two parts, the second large (as a frame's header and payload)
                self.big = [b"<", bytes(range(256)) * (big // 256)]

        def data_to_send(self):
            b = self.big
            self.big = None
            return b

    def make(reader, writer):
        s = getattr(writer, "s", None)
        if s is not None and _SO_SNDBUF is not None:
            try:
                s.setsockopt(socket.SOL_SOCKET, _SO_SNDBUF, 4096)
            except (AttributeError, OSError):
                pass
        c = _Big()
        c.big = None
        return Driven(reader, writer, c, None, read_size=16, write_timeout_ms=5000)

    async def watch():
        while True:
            d = sessions[0] if sessions else None
            ob = getattr(d.writer, "out_buf", None) if d is not None else None
            if ob is not None and len(ob) > most[0]:
                most[0] = len(ob)
            await asyncio.sleep(0.002)

    async def main(port):
        server, reader, writer = await _serve_driven(port, make, sessions)
        w = asyncio.create_task(watch())
        await asyncio.sleep(0.3)  # the leftover's answer fills the socket meanwhile
        # compared as it comes (not joined: the heap holds the answer once)
        pat = bytes(range(256)) * 17
        want = 1 + (big // 256) * 256
        pos = 0
        bad = 0
        while pos < want:
            chunk = await asyncio.wait_for(reader.read(4096), 5)
            if not chunk:
                break
            if pos == 0:
                if chunk[:1] != b"<":
                    bad += 1
                body = chunk[1:]
                o = 0
            else:
                body = chunk
                o = (pos - 1) % 256
            if body != pat[o:o + len(body)]:
                bad += 1
            pos += len(chunk)
        w.cancel()
        writer.close()
        server.close()
        await server.wait_closed()
        return pos, want, bad

    got, want, bad = _on_loopback(main)
    assert got == want and not bad, (got, want, bad)
    if sys.implementation.name != "cpython":
        assert most[0] <= 2 * streams.PIECE, most[0]
        # (with all of it, loopback's buffers fill: the check above was met)
        assert most[0] or big < 262144, (most[0], big)


def test_telnet_core_copies_what_it_keeps_of_a_read_buffer():
    # the driver hands the core a view of its read buffer (one per server,
    # refilled by the next read): a few plain keystrokes go to on_data as
    # they are, during the call; an event's data and parsed data are copies
    from microproto.telnet_nvt import TelnetCore

    buf = bytearray(64)
    mv = memoryview(buf)

    def fed(core, data):
        n = len(data)
        buf[:n] = data
        core.receive_data(mv[:n])
        buf[:n] = b"#" * n  # the next read overwrites the buffer

    core = TelnetCore()
    fed(core, b"ab")  # no on_data: an event
    fed(core, b"x" * 20)  # a long read
    fed(core, b"c\xff\xf4d")  # IAC IP in it: parsed
    evs = [core.next_event() for _ in range(6)]  # (five, then None)
    assert evs == [("data", b"ab"), ("data", b"x" * 20), ("data", b"c"), ("interrupt", None), ("data", b"d"), None], evs
    got = []
    core.on_data = lambda v: got.append(bytes(v))  # copied during the call
    fed(core, b"k")
    fed(core, b"ok\xff\xffz")  # IAC IAC: a data 0xFF, parsed (an event)
    assert got == [b"k"], got
    assert core.next_event() == ("data", b"ok\xffz") and core.next_event() is None
