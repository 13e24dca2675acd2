"""The Telnet server over loopback, with a raw client written here."""

import asyncio

from fakes import free_port
from microproto import telnet
from microproto.errors import UsageError

IAC = 255


async def read_until(reader, marker, timeout_s=5):
    data = b""
    while marker not in data:
        chunk = await asyncio.wait_for(reader.read(1024), timeout_s)
        if not chunk:
            break
        data += chunk
    return data


def answer(data):
    """Agree to everything the server asks for (WILL -> DO, DO -> WILL)."""
    out = bytearray()
    i = data.find(b"\xff")
    while 0 <= i < len(data) - 2:
        verb, opt = data[i + 1], data[i + 2]
        if verb == 251:
            out += bytes((IAC, 253, opt))
        elif verb == 253:
            out += bytes((IAC, 251, opt))
        i = data.find(b"\xff", i + 3)
    return bytes(out)


def test_password_is_required_by_default():
    async def main():
        await telnet.serve("echo", "127.0.0.1", free_port())

    try:
        asyncio.run(main())
    except UsageError:
        pass
    else:
        raise AssertionError("served without a password")


def test_a_shell_of_no_known_kind_is_refused():
    async def main():
        await telnet.serve(42, "127.0.0.1", free_port(), password=None, verbose=False)

    try:
        asyncio.run(main())
    except UsageError as e:
        assert "shell must be" in e.reason
    else:
        raise AssertionError("served with shell=42")


def test_login_repl_naws_and_limits():
    port = free_port()
    seen = {}
    logged_in = asyncio.Event()
    refused = asyncio.Event()

    async def client_session():
        # a wrong password ends the session (one attempt per connection)
        r, w = await asyncio.open_connection("127.0.0.1", port)
        await read_until(r, b"Password: ")
        w.write(b"wrong\r\n")
        await w.drain()
        seen["fail"] = await read_until(r, b"\x00never")
        w.close()
        await w.wait_closed()
        await asyncio.sleep(0.05)  # fail_delay_ms
        r, w = await asyncio.open_connection("127.0.0.1", port)
        hello = await read_until(r, b"Password: ")
        # WILL ECHO, WILL SGA, DO SGA, DO NAWS, DO TTYPE
        assert b"\xff\xfb\x01" in hello and b"\xff\xfd\x1f" in hello, hello
        w.write(answer(hello))
        w.write(bytes((IAC, 250, 31, 0, 100, 0, 40, IAC, 240)))
        w.write(b"pw\r\0")
        await w.drain()
        seen["banner"] = await read_until(r, b"> ")
        logged_in.set()
        await refused.wait()
        w.write(b"size\r")
        await w.drain()
        seen["size"] = await read_until(r, b"> ")
        w.write(b"ab\xff\xffc\r\n")
        await w.drain()
        seen["iac"] = await read_until(r, b"> ")
        w.write(b"quit\r\n")
        await w.drain()
        seen["quit"] = await read_until(r, b"\x00never")
        w.close()
        await w.wait_closed()

    async def busy():
        # max_sessions=1: a second client is refused politely
        await logged_in.wait()
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            seen["busy"] = await read_until(r, b"\x00never")
            w.close()
            await w.wait_closed()
        finally:
            refused.set()

    async def main():
        server = await telnet.serve(
            "echo", "127.0.0.1", port, password="pw", max_sessions=1, fail_delay_ms=10, verbose=False
        )
        try:
            await asyncio.gather(client_session(), busy())
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())
    assert b"Login incorrect" in seen["fail"], seen["fail"]
    assert b"echo shell" in seen["banner"], seen["banner"]
    assert b"100x40" in seen["size"], seen["size"]
    # echoed while typing, and the line: 0xFF doubled on output
    assert b"ab\xff\xffc" in seen["iac"], seen["iac"]
    assert b"bye" in seen["quit"]
    assert b"busy" in seen["busy"], seen["busy"]
    # GO-AHEAD is never sent (we WILL SUPPRESS-GO-AHEAD)
    for k in seen:
        assert b"\xff\xf9" not in seen[k], k


def test_wrong_password_ends_the_session_and_the_address_waits():
    # issue 9: the delay after a wrong password is served by the address's
    # next connection, refused at accept, so no wait holds a session slot
    port = free_port()

    async def attempt(text, until=b"\x00never"):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        data = await read_until(r, b": ")
        w.write(text)
        await w.drain()
        data += await read_until(r, until)
        w.close()
        await w.wait_closed()
        return data

    async def main():
        server = await telnet.serve("repl", "127.0.0.1", port, password=b"right", fail_delay_ms=300,
                                    max_failures=2, failure_window_ms=1500, verbose=False)
        try:
            out = [await attempt(b"a\r\nright\r\n6*7\r\n")]
            out.append(await attempt(b"right\r\n"))  # within fail_delay_ms
            await asyncio.sleep(0.4)
            out.append(await attempt(b"b\r\n"))
            await asyncio.sleep(0.4)
            out.append(await attempt(b"right\r\n"))  # max_failures reached
            slots = server.sessions
            await asyncio.sleep(1.2)  # the window ends
            out.append(await attempt(b"right\r\n6*7\r\n", b"42"))
            return out, slots
        finally:
            server.close()
            await server.wait_closed()

    out, slots = asyncio.run(main())
    assert out[0].count(b"Login incorrect") == 1 and b"42" not in out[0], out[0]
    assert b"too many failed logins" in out[1], out[1]
    assert b"Login incorrect" in out[2], out[2]
    assert b"too many failed logins" in out[3], out[3]
    assert slots == 0
    assert b"42\r\n" in out[4], out[4]


def test_login_and_idle_timeouts():
    port = free_port()

    async def main():
        server = await telnet.serve(
            "echo", "127.0.0.1", port, password="pw", login_timeout_s=1, idle_timeout_s=2, verbose=False
        )
        try:
            # no password typed: cut after the login timeout
            r, w = await asyncio.open_connection("127.0.0.1", port)
            slow = await read_until(r, b"\x00never")
            w.close()
            await w.wait_closed()
            # logged in: the login timeout no longer applies, the idle one does
            r, w = await asyncio.open_connection("127.0.0.1", port)
            await read_until(r, b"Password: ")
            w.write(b"pw\r\n")
            await w.drain()
            await read_until(r, b"> ")
            await asyncio.sleep(1.5)
            w.write(b"echo still here\r\n")
            await w.drain()
            alive = await read_until(r, b"still here\r\n> ")
            idle = await read_until(r, b"\x00never")
            w.close()
            await w.wait_closed()
            return slow, alive, idle
        finally:
            server.close()
            await server.wait_closed()

    slow, alive, idle = asyncio.run(main())
    assert b"login timeout" in slow, slow
    assert b"still here" in alive, alive
    assert b"idle timeout" in idle, idle


def test_one_clock_for_the_sessions_deadlines():
    # one task of the server keeps every session's deadline: it wakes for a
    # session whose deadline comes before the one it sleeps until, ends each
    # session at its own, and stops when the last session leaves
    from microproto_port import ticks_diff, ticks_ms

    port = free_port()

    async def main():
        server = await telnet.serve(
            "echo", "127.0.0.1", port, password="pw", login_timeout_s=0.6, idle_timeout_s=3, verbose=False
        )
        try:
            ra, wa = await asyncio.open_connection("127.0.0.1", port)
            await read_until(ra, b"Password: ")
            wa.write(b"pw\r\n")
            await wa.drain()
            await read_until(ra, b"> ")
            ta = ticks_ms()  # A: idle for 3 s from here
            rb, wb = await asyncio.open_connection("127.0.0.1", port)
            tb = ticks_ms()  # B: never logs in, 0.6 s: before A's deadline
            slow = await read_until(rb, b"\x00never")
            tb = ticks_diff(ticks_ms(), tb)
            idle = await read_until(ra, b"\x00never")
            ta = ticks_diff(ticks_ms(), ta)
            for w in (wa, wb):
                w.close()
                await w.wait_closed()
        finally:
            server.close()
            await server.wait_closed()
        # a session that leaves 30 s before its deadline: the clock stops
        # when it goes, not at that deadline
        server = await telnet.serve(
            "echo", "127.0.0.1", port, password="pw", login_timeout_s=30, idle_timeout_s=60, verbose=False
        )
        try:
            rc, wc = await asyncio.open_connection("127.0.0.1", port)
            await read_until(rc, b"Password: ")
            armed = server._task is not None
            wc.close()
            await wc.wait_closed()
            for _ in range(200):
                await asyncio.sleep(0.01)
                if not server.connections and server._task is None:
                    break
            stopped = server._task is None
        finally:
            server.close()
            await server.wait_closed()
        return slow, tb, idle, ta, armed, stopped

    slow, tb, idle, ta, armed, stopped = asyncio.run(main())
    assert b"login timeout" in slow and 400 <= tb < 2500, (slow, tb)
    assert b"idle timeout" in idle and ta >= 2500, (idle, ta)
    assert armed and stopped, (armed, stopped)


def test_ip_discards_the_typed_line():
    port = free_port()

    async def main():
        server = await telnet.serve("echo", "127.0.0.1", port, password=None, verbose=False)
        try:
            r, w = await asyncio.open_connection("127.0.0.1", port)
            await read_until(r, b"> ")
            w.write(b"half typed" + bytes((IAC, 244)) + b"whole\r\n")
            await w.drain()
            out = await read_until(r, b"whole\r\n> ")
            w.close()
            await w.wait_closed()
            return out
        finally:
            server.close()
            await server.wait_closed()

    out = asyncio.run(main())
    assert b"KeyboardInterrupt" in out, out
    assert b"half typed" not in out, out
