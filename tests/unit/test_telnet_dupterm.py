"""The dupterm path (boards): slot sharing and the native-REPL shell, with
a stand-in for ``os.dupterm`` (the unix port has none). MicroPython port
only: CPython has no dupterm and no ``DuptermStream`` (``microproto_port.dupterm``)."""

import asyncio

from fakes import free_port
from microproto import telnet
from microproto.errors import UsageError
from microproto_port import dupterm as repl


class FakeOS:
    """``os.dupterm(stream, index)`` with one slot, returning the previous."""

    def __init__(self):
        self.slot = "uart"
        self.calls = 0

    def dupterm(self, stream, index=0):
        assert index == 0
        prev = self.slot
        self.slot = stream
        self.calls += 1
        return prev


def _patched():
    fake = FakeOS()
    saved = (repl.HAS_DUPTERM, repl.os)
    repl.HAS_DUPTERM = True
    repl.os = fake
    return fake, saved


def _restore(saved):
    repl.HAS_DUPTERM, repl.os = saved


def test_stream_bounds():
    if not hasattr(repl, "DuptermStream"):
        return  # CPython port: no dupterm at all (attach returns False)
    s = repl.DuptermStream(max_rx=4, max_tx=5)
    assert s.readinto(bytearray(8)) is None
    assert s.feed(b"abcdef") == 4  # the rest is dropped, memory bounded
    buf = bytearray(3)
    assert s.readinto(buf) == 3 and buf == b"abc"
    buf = bytearray(3)
    assert s.readinto(buf) == 1 and buf[:1] == b"d"
    assert s.write(b"0123456789") == 10
    assert s.take() == b"01234" and s.take() == b""


def test_one_slot_shared_safely():
    if not hasattr(repl, "DuptermStream"):
        assert repl.attach(object()) is False
        return
    fake, saved = _patched()
    try:
        a = repl.DuptermStream()
        b = repl.DuptermStream()
        assert repl.attach(a) is True and fake.slot is a
        assert repl.attach(a) is True  # the owner again: nothing changes
        try:
            repl.attach(b)
        except UsageError:
            pass
        else:
            raise AssertionError("second owner took the slot")
        assert fake.slot is a
        repl.detach(b)  # not the owner: ignored
        assert fake.slot is a
        repl.detach(a)
        assert fake.slot == "uart"  # the previous terminal is back
        assert repl.attach(b) is True
        repl.detach(b)
        assert fake.slot == "uart"
    finally:
        _restore(saved)


def test_native_shell_plumbing():
    if not hasattr(repl, "DuptermStream"):
        return
    fake, saved = _patched()
    port = free_port()

    async def board_repl(stop):
        # stands in for the runtime's REPL reading and writing the slot
        buf = bytearray(64)
        line = b""
        while not stop.is_set():
            s = fake.slot
            if s != "uart":
                n = s.readinto(buf)
                if n:
                    line += bytes(buf[:n])
                    while b"\r" in line:
                        cmd, line = line.split(b"\r", 1)
                        s.write(b"got " + cmd + b"\r\n>>> ")
            await asyncio.sleep(0.01)

    async def read_until(r, marker):
        data = b""
        while marker not in data:
            c = await asyncio.wait_for(r.read(256), 5)
            if not c:
                break
            data += c
        return data

    async def main():
        stop = asyncio.Event()
        task = asyncio.create_task(board_repl(stop))
        server = await telnet.serve("native", "127.0.0.1", port, password="pw", verbose=False)
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            await read_until(r, b"Password: ")
            w.write(b"pw\r\n")
            await w.drain()
            banner = await read_until(r, b"dupterm")
            w.write(b"6*7\r")
            await w.drain()
            got = await read_until(r, b">>> ")
            # a second session finds the slot taken
            r2, w2 = await asyncio.open_connection("127.0.0.1", port)
            await read_until(r2, b"Password: ")
            w2.write(b"pw\r\n")
            await w2.drain()
            busy = await read_until(r2, b"\x00never")
            w2.close()
            w.close()
            await w.wait_closed()
            for _ in range(100):
                if fake.slot == "uart":
                    break
                await asyncio.sleep(0.01)
            return banner, got, busy
        finally:
            stop.set()
            server.close()
            await task

    try:
        banner, got, busy = asyncio.run(main())
    finally:
        _restore(saved)
    assert b"dupterm" in banner, banner
    assert b"got 6*7\r\n>>> " in got, got
    assert b"held by another session" in busy, busy
    assert fake.slot == "uart"  # given back when the session ended
