"""Telnet server (RFC 854/855) with a network REPL or a command shell.

    import asyncio
    from microproto import telnet

    async def main():
        server = await telnet.serve("repl", "127.0.0.1", 2323, password="s3cret")
        await server.wait_closed()

    asyncio.run(main())

``serve(shell, host="127.0.0.1", port=23, password=<required>, ...)``
starts listening (asyncio, both runtimes), prints ``telnet server
listening on HOST:PORT`` and returns a ``Server`` (``close()``,
``await wait_closed()``, ``sessions``: how many are open).

``shell`` is ``"repl"`` (a Python REPL per session: our own loop, see
``microproto_port.repl``), ``"native"`` (the runtime's own REPL through
``os.dupterm``, boards only, one session at a time), ``"echo"`` (a demo
shell), a ``microproto.shell.Shell`` (commands by name), any object
with ``open(term)`` returning a session object like
``shell.ShellSession``, or a plain function ``fn(session, line)``.

Security and limits (named parameters, safe defaults):
- ``password``: required; ``password=None`` runs without one, on purpose,
  and prints a warning. Compared in constant time (SHA-256 digests
  compared with XOR); ``fail_delay_ms`` pause after each failure; the
  session is cut after ``max_failures`` failures; ``login_timeout_s``.
- ``host`` defaults to loopback: give ``"0.0.0.0"`` to listen on the network.
- TLS (telnets): ``certfile`` + ``keyfile``, or an ``ssl`` context.
- ``idle_timeout_s``: a session with no input for that long is closed
  (not while a command runs).
- ``max_sessions``: more connections get a polite refusal and are closed;
  so do new ones while less than ``min_free_heap`` bytes, or a quarter of
  the heap, are free (MicroPython; ``gc.mem_free``).
- ``max_line`` bytes per input line, ``max_sb`` bytes per subnegotiation,
  ``max_negotiations`` option commands per session, ``read_size`` bytes
  per read, ``max_queued_lines`` lines typed ahead of a running command.

Protocol: ``microproto.telnet_nvt`` (IAC, RFC 1143 negotiation: ECHO and
SGA for character mode, NAWS, TERMINAL-TYPE, BINARY when asked, the rest
refused; AYT, IP/BRK; GA never sent) and ``microproto.linedisc`` (line
ends, editing, Ctrl-C/Ctrl-D).

CLI: ``python -m microproto.telnet --host H --port P [--password-env VAR
| --no-password] [--shell repl|echo|native] [--max-sessions N]
[--idle-timeout S] [--certfile F --keyfile F]`` (also through
``tools/micropython -m microproto.telnet``).
"""

import asyncio
import sys

from microproto.errors import PeerError, UsageError
from microproto.linedisc import LineDiscipline
from microproto.telnet_nvt import ECHO, TelnetCore
from microproto_port import RUNTIME, ticks_diff, ticks_ms

_REQUIRED = "<required>"


def _say(msg):
    print(msg)
    try:
        sys.stdout.flush()
    except (AttributeError, OSError):
        pass


def consteq(a, b):
    """Constant-time equality of two passwords (str or bytes, any lengths):
    ``microproto.auth.password_equal`` (SHA-256 both, compare without an
    early exit)."""
    from microproto.auth import password_equal

    return password_equal(a, b)


class _Term:
    """What a shell session sees of its connection."""

    def __init__(self, conn, peer):
        self._conn = conn
        self.peer = peer
        self.cols = 0
        self.rows = 0
        self.term_type = None

    def write(self, text):
        self._conn.write_text(text)

    def close(self):
        self._conn.closing = True


class _ReplSession:
    def __init__(self, term, banner):
        from microproto_port.repl import Session

        self.term = term
        self.repl = Session("<telnet>")
        self._banner = banner

    def banner(self):
        return self._banner

    def prompt(self):
        return self.repl.prompt

    async def line(self, text):
        out, _ = await self.repl.apush(text)
        return out

    def interrupt(self):
        if self.repl.running:
            return self.repl.interrupt()
        self.repl.reset()
        return False

    def close(self):
        self.repl.close()


class ReplShell:
    """The Python REPL as a shell: one ``microproto_port.repl.Session``
    (own globals) per connection."""

    def __init__(self, banner=None):
        if banner is None:
            v = sys.version.split()[0] if RUNTIME == "cpython" else sys.version
            banner = "%s %s REPL over telnet (Ctrl-D ends the session)" % (RUNTIME, v)
        self.banner = banner

    def open(self, term):
        return _ReplSession(term, self.banner)


class _NativeSession:
    raw = True

    def __init__(self, term, stream, banner):
        self.term = term
        self.stream = stream
        self._banner = banner

    def banner(self):
        return self._banner

    def prompt(self):
        return ""  # the runtime's REPL prints its own

    def feed(self, data):
        self.stream.feed(data)

    def take(self):
        return self.stream.take()

    def interrupt(self):
        self.stream.feed(b"\x03")  # the REPL's own interrupt character
        return True

    def close(self):
        from microproto_port import repl

        repl.detach(self.stream)


class NativeReplShell:
    """The runtime's own REPL through ``os.dupterm`` (boards that have it).

    One session at a time holds the single dupterm slot (shared safely with
    the WebSocket console through ``microproto_port.repl.attach``); another
    session is told the REPL is busy. The REPL only answers while it runs,
    i.e. when the server runs in a thread or beside the REPL, not from a
    ``main.py`` that blocks in ``asyncio.run``. Input goes to the REPL as
    typed (its own line editor, Ctrl-C), output is polled every
    ``poll_ms``.
    """

    def __init__(self, banner="board REPL over telnet (os.dupterm)", poll_ms=20):
        self.banner = banner
        self.poll_ms = poll_ms

    def open(self, term):
        from microproto_port import repl

        if not repl.HAS_DUPTERM:
            raise UsageError("this runtime has no os.dupterm: use the 'repl' shell")
        stream = repl.DuptermStream()
        repl.attach(stream)  # UsageError if another session holds the slot
        return _NativeSession(term, stream, self.banner)


def _make_shell(shell):
    if shell == "repl":
        return ReplShell()
    if shell == "native":
        return NativeReplShell()
    if shell == "echo":
        from microproto.shell import demo_shell

        return demo_shell()
    if hasattr(shell, "open"):
        return shell
    if callable(shell):
        from microproto.shell import Shell

        return Shell(default=shell)
    raise UsageError("shell must be 'repl', 'echo', a Shell or a function")


class _Connection:
    """One Telnet session: a reader task feeding the cores, commands run
    one at a time in their own task so that Ctrl-C can reach them."""

    def __init__(self, server, reader, writer):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.core = TelnetCore(max_sb=server.max_sb, max_negotiations=server.max_negotiations)
        self.ld = LineDiscipline(server.max_line, echo=True)
        self.lock = asyncio.Lock()
        self.done = asyncio.Event()
        self.closing = False
        self.busy = False
        self.queue = []
        self.failures = 0
        self.last_rx = ticks_ms()
        self.logged_in = server.password is None
        try:
            peer = writer.get_extra_info("peername")
        except Exception:
            peer = None
        self.term = _Term(self, peer)
        self.session = None

    def write_text(self, text):
        self.core.send_text(text)
        if not self.busy:
            asyncio.create_task(self.flush())

    async def flush(self):
        async with self.lock:
            if self.done.is_set():
                return  # run() sends what is left
            out = self.core.data_to_send()
            if out:
                self.writer.write(out)
                # a peer that stops reading stops our reading too: the
                # watchdog's idle timeout ends the session
                await self.writer.drain()

    async def run(self):
        core = self.core
        core.start()
        if self.logged_in:
            self._open_shell()
        else:
            core.send_text("Password: ")
        rtask = asyncio.create_task(self._reader())
        wtask = asyncio.create_task(self._watchdog())
        try:
            await self.flush()
            await self.done.wait()
        except Exception:
            pass
        finally:
            self.done.set()
            wtask.cancel()
            rtask.cancel()
            for _ in range(20):  # let the cancellation land: one reader at a time
                if rtask.done():
                    break
                await asyncio.sleep(0)
            if self.session is not None:
                try:
                    self.session.interrupt()
                    self.session.close()
                except Exception:
                    pass
            locked = False
            try:
                # let a flush under way finish (a peer that reads nothing
                # gets 2 s), then send what is left: "bye", an error text
                await asyncio.wait_for(self.lock.acquire(), 2)
                locked = True
                out = core.data_to_send()
                if out:
                    self.writer.write(out)
                    await asyncio.wait_for(self.writer.drain(), 2)
            except Exception:
                pass
            if locked:
                self.lock.release()
            if core.error is not None:
                await self._linger()
            try:
                self.writer.close()
                await self.writer.wait_closed()
            except Exception:
                pass

    async def _linger(self):
        # After a protocol error the client may still be sending: closing
        # with unread input makes the kernel send RST, which can destroy
        # the error message in flight. Read and drop a bounded amount first.
        total = 0
        try:
            while total < 262144:
                data = await asyncio.wait_for(self.reader.read(4096), 0.5)
                if not data:
                    break
                total += len(data)
        except Exception:
            pass

    def _open_shell(self):
        try:
            self.session = self.server.shell.open(self.term)
        except UsageError as e:
            self.core.send_text("%s\n" % e.reason)
            self.closing = True
            return
        b = self.session.banner()
        if b:
            self.core.send_text(b + "\n")
        self.core.send_text(self.session.prompt())
        if getattr(self.session, "raw", False):
            asyncio.create_task(self._pump())

    async def _pump(self):
        # a raw session (the native REPL) writes when it likes: poll it
        poll_s = getattr(self.server.shell, "poll_ms", 20) / 1000
        session = self.session
        try:
            while not self.done.is_set():
                out = session.take()
                if out:
                    self.core.send_data(out)
                    await self.flush()
                await asyncio.sleep(poll_s)
        except Exception:
            self.closing = True
            self.done.set()

    async def _watchdog(self):
        # idle and login timeouts, measured from the last input; one timer
        # per session rather than a timeout around every read
        sleep_ms = getattr(asyncio, "sleep_ms", None)
        while not self.done.is_set():
            srv = self.server
            limit = srv.idle_timeout_s if self.logged_in else min(srv.idle_timeout_s, srv.login_timeout_s)
            left_ms = int(limit * 1000) - ticks_diff(ticks_ms(), self.last_rx)
            if left_ms <= 0:
                if not self.busy:
                    what = "idle" if self.logged_in else "login"
                    self.core.send_text("\n%s timeout: closing the session\n" % what)
                    self.closing = True
                    self.done.set()
                    return
                left_ms = 1000  # a command is running: look again later
            if sleep_ms is not None:
                await sleep_ms(left_ms)
            else:
                await asyncio.sleep(left_ms / 1000)

    async def _reader(self):
        core = self.core
        size = self.server.read_size
        read = self.reader.read
        try:
            while not self.closing:
                data = await read(size)
                if not data:
                    break
                self.last_rx = ticks_ms()
                try:
                    core.receive_data(data)
                except PeerError:
                    break  # the core queued the message
                if not self._events():
                    break
                await self.flush()
        except Exception:
            pass
        finally:
            self.closing = True
            self.done.set()

    def _events(self):
        """Handle what the cores produced; False when the session ends."""
        core = self.core
        ld = self.ld
        while True:
            ev = core.next_event()
            if ev is None:
                break
            kind = ev[0]
            if kind == "data":
                if self.session is not None and getattr(self.session, "raw", False):
                    self.session.feed(ev[1])
                    continue
                ld.echo = self.logged_in and core.local_enabled(ECHO)
                ld.feed(ev[1])
                ld.echo_into(core.send_data)
                if not self._line_events():
                    return False
            elif kind == "interrupt":
                ld.clear()  # IAC IP/BRK: like Ctrl-C, the typed line goes
                self._interrupt()
            elif kind == "naws":
                self.term.cols, self.term.rows = ev[1]
            elif kind == "ttype":
                self.term.term_type = ev[1]
            elif kind == "eof":
                return False
        return not self.closing

    def _line_events(self):
        ld = self.ld
        while True:
            ev = ld.next_event()
            if ev is None:
                return True
            kind = ev[0]
            if kind == "line":
                self._line(ev[1])
            elif kind == "overlong":
                self._line(None)
            elif kind == "interrupt":
                self._interrupt()
            elif kind == "eof":
                if self.busy:
                    continue
                self.core.send_text("\nlogout\n")
                return False

    def _interrupt(self):
        self.queue = []
        if self.session is None:
            return
        if self.session.interrupt():
            return
        if not self.busy:
            self.core.send_text("\nKeyboardInterrupt\n" + self.session.prompt())

    def _line(self, raw):
        if self.busy:
            if len(self.queue) < self.server.max_queued_lines:
                self.queue.append(raw)
            else:
                self.core.send_data(b"\x07")
            return
        self.busy = True
        asyncio.create_task(self._commands(raw))

    async def _commands(self, raw):
        try:
            while raw is not False and not self.closing:
                await self._command(raw)
                await self.flush()
                raw = self.queue.pop(0) if self.queue else False
        except Exception as e:
            try:
                self.core.send_text("\ninternal error: %r\n" % (e,))
            except Exception:
                pass
            self.closing = True
        finally:
            self.busy = False
            if self.closing:
                self.done.set()
            else:
                try:
                    await self.flush()
                except Exception:
                    self.done.set()

    async def _command(self, raw):
        core = self.core
        if raw is None:
            core.send_text("line longer than %d bytes: ignored\n" % self.server.max_line)
            if self.session is not None:
                core.send_text(self.session.prompt())
            else:
                core.send_text("Password: ")
            return
        if not self.logged_in:
            await self._login(raw)
            return
        if getattr(self.session, "raw", False):
            self.session.feed(raw + b"\r")  # typed ahead of the login
            return
        try:
            text = raw.decode()
        except UnicodeError:
            core.send_text("input is not valid UTF-8: ignored\n" + self.session.prompt())
            return
        out = await self.session.line(text)
        if out:
            if not isinstance(out, str):
                out = str(out)
            core.send_text(out if out.endswith("\n") else out + "\n")
        if self.closing or getattr(self.session, "closed", False):
            self.closing = True
            return
        core.send_text(self.session.prompt())

    async def _login(self, raw):
        core = self.core
        core.send_text("\n")
        if consteq(raw, self.server.password):
            self.logged_in = True
            self.failures = 0
            self._open_shell()
            return
        self.failures += 1
        await self.flush()
        sleep = getattr(asyncio, "sleep_ms", None)
        if sleep is not None:
            await sleep(self.server.fail_delay_ms)
        else:
            await asyncio.sleep(self.server.fail_delay_ms / 1000)
        if self.failures >= self.server.max_failures:
            core.send_text("Login incorrect: too many failures\n")
            self.closing = True
            return
        core.send_text("Login incorrect\nPassword: ")


class Server:
    """A running Telnet server (returned by ``serve``)."""

    def __init__(self, shell, host, port, password, **limits):
        self.shell = _make_shell(shell)
        self.host = host
        self.port = port
        if password is not None:
            if isinstance(password, str):
                password = password.encode()
            if not password:
                raise UsageError("empty password: pass password=None to run without one")
        self.password = password
        for k in limits:
            setattr(self, k, limits[k])
        self.sessions = 0
        self.connections = []
        self._server = None

    def _low_memory(self):
        # MicroPython: a session needs a few KB; running the heap dry breaks
        # more than this session (seen: a crash inside select.poll on the
        # unix port), so refuse while less than min_free_heap is free
        if not self.min_free_heap:
            return False
        import gc

        mem_free = getattr(gc, "mem_free", None)
        if mem_free is None:
            return False
        # a quarter of the heap kept free as well: what fails first is a
        # large contiguous block (poll's array grows with the sockets)
        need = max(self.min_free_heap, (mem_free() + gc.mem_alloc()) >> 2)
        if mem_free() >= need:
            return False
        gc.collect()
        return mem_free() < need

    async def _handle(self, reader, writer):
        refusal = None
        if self.sessions >= self.max_sessions:
            refusal = "Sorry, this server is busy (%d sessions at most): try again later.\r\n" % (
                self.max_sessions
            )
        elif self._low_memory():
            refusal = "Sorry, this server is low on memory: try again later.\r\n"
        if refusal is not None:
            try:
                writer.write(refusal.encode())
                await asyncio.wait_for(writer.drain(), 2)
            except Exception:
                pass
            try:
                writer.close()
                await writer.wait_closed()
            except Exception:
                pass
            return
        self.sessions += 1
        conn = _Connection(self, reader, writer)
        self.connections.append(conn)
        try:
            await conn.run()
        except asyncio.CancelledError:
            pass  # the loop is shutting down: this is the top of the task
        finally:
            self.sessions -= 1
            self.connections.remove(conn)

    def close(self):
        """Stop listening and end every session."""
        if self._server is not None:
            self._server.close()
        for c in self.connections:
            c.closing = True
            c.done.set()

    async def wait_closed(self):
        """Wait until ``close()`` has taken effect (forever if never called):
        the listener is closed and the sessions have ended (5 s at most)."""
        await self._server.wait_closed()
        for _ in range(500):
            if not self.connections:
                break
            await asyncio.sleep(0.01)


async def serve(
    shell="repl",
    host="127.0.0.1",
    port=23,
    password=_REQUIRED,
    max_sessions=4,
    idle_timeout_s=600,
    ssl=None,
    certfile=None,
    keyfile=None,
    max_line=512,
    max_sb=64,
    max_negotiations=256,
    login_timeout_s=60,
    fail_delay_ms=1000,
    max_failures=3,
    max_queued_lines=16,
    read_size=512,
    min_free_heap=32768,
    verbose=True,
):
    """Start a Telnet server; returns a ``Server`` (see the module docstring)."""
    if password is _REQUIRED:
        raise UsageError("a password is required (pass password=None on purpose to run without one)")
    server = Server(
        shell,
        host,
        port,
        password,
        max_sessions=max_sessions,
        idle_timeout_s=idle_timeout_s,
        max_line=max_line,
        max_sb=max_sb,
        max_negotiations=max_negotiations,
        login_timeout_s=login_timeout_s,
        fail_delay_ms=fail_delay_ms,
        max_failures=max_failures,
        max_queued_lines=max_queued_lines,
        read_size=read_size,
        min_free_heap=min_free_heap,
    )
    if ssl is None and certfile is not None:
        from microproto_port import tls

        ssl = tls.server_context(certfile, keyfile or certfile)
    if ssl is None:
        server._server = await asyncio.start_server(server._handle, host, port)
    else:
        server._server = await asyncio.start_server(server._handle, host, port, ssl=ssl)
    if password is None:
        _say(
            "WARNING: telnet server without a password: anyone who can reach %s:%d gets a %s"
            % (host, port, "Python REPL" if shell == "repl" else "shell")
        )
    if verbose:
        _say("telnet%s server listening on %s:%d" % ("s" if ssl else "", host, port))
    return server


def main(argv=None):
    """Command line entry point (``microproto-telnet``; the parser lives in
    ``microproto.telnet_cli`` so that a board importing the server does not
    load it)."""
    from microproto.telnet_cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    main()
