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
``os.dupterm``, boards only, one session at a time; these two are
``microproto.telnet_shells.ReplShell``/``NativeReplShell``, loaded when
used), ``"echo"`` (a demo
shell), a ``microproto.shell.Shell`` (commands by name), any object
with ``open(term)`` returning a session object like
``shell.ShellSession``, or a plain function ``fn(session, line)``.

Security and limits (named parameters, safe defaults; all servers'
limits in docs/limits.md). Sessions run on the shared driver
(``microproto.aio``) behind ``microproto.auth.Gate``:
- ``password``: required; ``password=None`` runs without one, on purpose,
  and prints a warning. Compared in constant time (SHA-256 digests
  compared with XOR). One attempt per connection: a wrong password ends
  the session, and the address is refused at accept for
  ``fail_delay_ms``, and for the rest of ``failure_window_ms`` after
  ``max_failures`` failures; past ``max_failures_total`` failures from all
  addresses in that window no password is compared (spraying).
- ``login_timeout_s``: from the connection, not extended by anything the
  client sends.
- ``host`` defaults to loopback: give ``"0.0.0.0"`` to listen on the network.
- TLS (telnets): ``certfile`` + ``keyfile``, or an ``ssl`` context.
- ``idle_timeout_s``: a session with no input for that long is closed
  (not while a command runs).
- ``write_timeout_ms``: a client that does not take what we send for that
  long is cut (its buffers freed).
- ``max_sessions``: counted at accept, before anything is read; more
  connections get a polite refusal and are closed; so do new ones while
  less than ``min_free_heap`` bytes, or an eighth of the heap, are free
  (MicroPython; ``gc.mem_free``).
- ``max_line`` bytes per input line, ``max_sb`` bytes per subnegotiation,
  ``max_negotiations`` option commands per session, ``read_size`` bytes
  per read, ``max_queued_lines`` lines typed ahead of a running command.
- After a protocol error, input is read and dropped for 2 s at most in all
  (so that the error message is not lost to a reset), then the session ends.

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

from microproto.aio import Driven, close_stream, write
from microproto.aio import serve as listen
from microproto.auth import Gate, password_equal
from microproto.errors import UsageError
from microproto.linedisc import LineDiscipline
from microproto.telnet_nvt import ECHO, TelnetCore
from microproto_port import ticks_ms

_REQUIRED = "<required>"


def _say(msg):
    print(msg)
    try:
        sys.stdout.flush()
    except (AttributeError, OSError):
        pass


# Constant-time equality of two passwords (str or bytes, any lengths): SHA-256
# both, compare without an early exit.
consteq = password_equal


def _make_shell(shell):
    if shell == "repl" or shell == "native":
        from microproto import telnet_shells

        return telnet_shells.ReplShell() if shell == "repl" else telnet_shells.NativeReplShell()
    if shell == "echo":
        from microproto.shell import demo_shell

        return demo_shell()
    if hasattr(shell, "open"):
        return shell
    if callable(shell):
        from microproto.shell import Shell

        return Shell(default=shell)
    raise UsageError("shell must be 'repl', 'echo', a Shell or a function")


class _Connection(Driven):
    """One Telnet session on the shared driver: reads feed the NVT core and
    the line discipline; commands run one at a time in their own task so
    that Ctrl-C can reach them; the core's clock ends idle sessions and
    logins that take too long. It is also what a shell session sees of its
    connection (``term``): ``peer``, ``cols``, ``rows``, ``term_type``,
    ``write(text)``, ``close()``."""

    def __init__(self, server, reader, writer, peer):
        core = TelnetCore(max_sb=server.max_sb, max_negotiations=server.max_negotiations,
                          login_timeout_ms=int(server.login_timeout_s * 1000),
                          idle_timeout_ms=int(server.idle_timeout_s * 1000))
        Driven.__init__(self, reader, writer, core, None, server.read_size, server.write_timeout_ms)
        self.server = server
        self.ld = LineDiscipline(server.max_line, echo=True)
        self.send = core.send_data  # made once: a bound method per keystroke is garbage
        self.busy = False
        self.queue = []
        core.logged_in = server.password is None
        self.peer = peer
        self.cols = self.rows = 0
        self.term_type = None
        self.session = None

    def write(self, text):
        self.core.send_text(text)
        if not self.busy:
            asyncio.create_task(self.flush())

    close = Driven._end

    async def run(self):
        core = self.core
        core.start(ticks_ms())
        if core.logged_in:
            self._open_shell()
        else:
            core.send_text("Password: ")
        await self.start()
        await self.flush()
        await self.done.wait()
        if self.session is not None:
            try:
                self.session.interrupt()
                self.session.close()
            except Exception:
                pass
        # after a protocol error the client may still be sending: closing
        # with unread input resets the connection, which can destroy the
        # message in flight; read and drop for a while (one deadline in all)
        await self.finish(2000 if core.error is not None else 0)

    def _open_shell(self):
        try:
            self.session = self.server.shell.open(self)
        except UsageError as e:
            self.core.send_text("%s\n" % e.reason)
            self._end()
            return
        b = self.session.banner()
        if b:
            self.core.send_text(b + "\n")
        self.core.send_text(self.session.prompt())
        if getattr(self.session, "raw", False):
            asyncio.create_task(self.session.pump(self))

    def on_events(self):
        """Handle what the cores produced; the session ends on EOF, a
        timeout, Ctrl-D or a failed login."""
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
                ld.echo = core.logged_in and core.local_enabled(ECHO)
                ld.feed(ev[1])
                ld.echo_into(self.send)
                while not self.closed:
                    ev = ld.next_event()
                    if ev is None:
                        break
                    kind = ev[0]
                    if kind == "line" or kind == "overlong":
                        self._line(ev[1] if kind == "line" else None)
                    elif kind == "interrupt":
                        self._interrupt()
                    elif kind == "eof" and not self.busy:
                        core.send_text("\nlogout\n")
                        self._end()
            elif kind == "interrupt":
                ld.clear()  # IAC IP/BRK: like Ctrl-C, the typed line goes
                self._interrupt()
            elif kind == "naws":
                self.cols, self.rows = ev[1]
            elif kind == "ttype":
                self.term_type = ev[1]
            else:  # eof, timeout
                self._end()

    def _interrupt(self):
        self.queue = []
        if self.session is None:
            return
        if self.session.interrupt():
            return
        if not self.busy:
            self.core.send_text("\nKeyboardInterrupt\n" + self.session.prompt())

    def _line(self, raw):
        core = self.core
        if not core.logged_in and raw is not None:
            # one attempt per connection: a wrong password ends it, and the
            # gate makes the address wait before it is admitted again
            core.send_text("\n")
            ok = self.server.gate.check(self.peer and self.peer[0], raw, self.server.password, ticks_ms())
            if ok:
                core.logged_in = True
                self._open_shell()
                return
            core.send_text(_WAIT if ok is None else "Login incorrect\n")
            self._end()
            return
        if self.busy:
            if len(self.queue) < self.server.max_queued_lines:
                self.queue.append(raw)
            else:
                self.core.send_data(b"\x07")
            return
        self.busy = self.core.busy = True
        asyncio.create_task(self._commands(raw))

    async def _commands(self, raw):
        core = self.core
        try:
            while raw is not False and not self.closed:
                s = self.session
                if raw is None:
                    core.send_text("line longer than %d bytes: ignored\n" % self.server.max_line)
                    core.send_text(s.prompt() if s is not None else "Password: ")
                elif getattr(s, "raw", False):
                    s.feed(raw + b"\r")  # typed ahead of the login
                else:
                    try:
                        text = raw.decode()
                    except UnicodeError:
                        text = None
                        core.send_text("input is not valid UTF-8: ignored\n" + s.prompt())
                    if text is not None:
                        out = await s.line(text)
                        if out:
                            if not isinstance(out, str):
                                out = str(out)
                            core.send_text(out if out.endswith("\n") else out + "\n")
                        if self.closed or getattr(s, "closed", False):
                            self._end()
                        else:
                            core.send_text(s.prompt())
                raw = self.queue.pop(0) if self.queue else False
                if raw is False:
                    # idle again before the prompt goes out: input that
                    # answers it (Ctrl-C) must not find us busy
                    self.busy = False
                await self.flush()
        except Exception as e:
            self.server.last_error = e  # the console's status view shows it
            try:
                core.send_text("\ninternal error: %r\n" % (e,))
            except Exception:
                pass
            self._end()
        finally:
            self.busy = False
            core.tick(ticks_ms())  # idle time counts from here
            core.busy = False
            self.rearm()
            await self.flush()


_WAIT = "Sorry, too many failed logins: try again later.\r\n"


class Server:
    """A running Telnet server (returned by ``serve``): ``sessions`` open,
    ``gate`` (``microproto.auth.Gate``), ``last_error`` (the last exception
    a session's command raised, or None)."""

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
        self.gate = Gate(self.max_sessions, self.fail_delay_ms, self.max_failures, self.max_failures_total,
                         self.failure_window_ms)
        self.connections = []
        self._server = None
        self.last_error = None

    @property
    def sessions(self):
        return self.gate.sessions

    async def _session(self, reader, writer, peer):
        # MicroPython: a session needs a few KB; running the heap dry breaks
        # more than this session (seen: a crash inside select.poll on the
        # unix port), so refuse while less than min_free_heap is free, or an
        # eighth of the heap: what fails first is a large contiguous block
        # (poll's array grows with the sockets). An eighth, not a quarter:
        # on a board's heap (about 112 KB) min_free_heap governs either way;
        # a quarter made a 64-bit unix port need 4/3 of what its sessions
        # hold, and the 1 MB exhaustion test passes with an eighth (144
        # sessions held, refused politely, still serving)
        import gc

        low = False
        if self.min_free_heap and hasattr(gc, "mem_free"):
            need = max(self.min_free_heap, (gc.mem_free() + gc.mem_alloc()) >> 3)
            if gc.mem_free() < need:
                gc.collect()
                low = gc.mem_free() < need
        if low:
            try:
                await write(writer, b"Sorry, this server is low on memory: try again later.\r\n", 2000)
            except Exception:
                pass
            await close_stream(writer)
            return
        conn = _Connection(self, reader, writer, peer)
        self.connections.append(conn)
        try:
            await conn.run()
        except asyncio.CancelledError:
            pass  # the loop is shutting down: this is the top of the task
        finally:
            self.connections.remove(conn)

    def close(self):
        """Stop listening and end every session."""
        if self._server is not None:
            self._server.close()
        for c in self.connections:
            c._end()

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
    max_failures=5,
    max_failures_total=20,
    failure_window_ms=60000,
    write_timeout_ms=10000,
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
        max_failures_total=max_failures_total,
        failure_window_ms=failure_window_ms,
        write_timeout_ms=write_timeout_ms,
        max_queued_lines=max_queued_lines,
        read_size=read_size,
        min_free_heap=min_free_heap,
    )
    if ssl is None and certfile is not None:
        from microproto_port import tls

        ssl = tls.server_context(certfile, keyfile or certfile)
    def refuse(why):
        return (_WAIT if why == "wait" else
                "Sorry, this server is busy (%d sessions at most): try again later.\r\n" % max_sessions).encode()

    server._server = await listen(server._session, host, port, server.gate, ssl, 5, refuse)
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
    # one copy of this module, whichever way it was started
    sys.modules["microproto.telnet"] = sys.modules["__main__"]
    main()
