"""One Telnet session on the shared driver (``microproto.aio.Driven``),
loaded by ``microproto.telnet`` with the first connection: a server that
only listens does not hold it. Reads feed the NVT core
(``microproto.telnet_nvt``) and the line discipline
(``microproto.linedisc``); commands run one at a time in their own task so
that Ctrl-C can reach them; the core's clock ends idle sessions and logins
that take too long (the server's ``microproto.aio.Clock``: one task per
server, not one per session). On MicroPython the session's task reads with
the driver's reader, into one buffer per server (``Server.rbuf``): the
cores copy out what they keep of a read. The rules and limits are those of
``microproto.telnet``.
"""

import asyncio
import gc

from microproto.aio import Driven, close_stream
from microproto.errors import UsageError
from microproto.linedisc import LineDiscipline
from microproto.telnet_nvt import TelnetCore
from microproto_port import const, streams, ticks_ms

_WAIT = const("Sorry, too many failed logins: try again later.\r\n")
_END = const(1024)  # heap kept free per open session for its end (see run)
# the echo of one feed, for every session: handed to the session's core and
# emptied before the feed returns
_ECHO = bytearray()


class _Connection(Driven):
    """A session's connection; also what its shell session sees of it
    (``term``): ``peer``, ``cols``, ``rows``, ``term_type`` (the NVT
    core's, as they are now), ``write(text)``, ``close()``."""

    # until set: an instance stores only what differs
    session = None
    queue = None  # lines typed ahead of a running command

    def __init__(self, server, reader, writer, peer):
        core = TelnetCore(server.max_sb, server.max_negotiations,
                          login_timeout_ms=int(server.login_timeout_s * 1000),
                          idle_timeout_ms=int(server.idle_timeout_s * 1000))
        # (where the driver reads into the server's buffer, its size is the
        # limit: the driver's default read_size is not stored per session)
        Driven.__init__(self, reader, writer, core, None, 1024 if streams.READINTO else server.read_size,
                        server.write_timeout_ms)
        self.server = server
        if streams.READINTO:
            # the driver's read buffer: the server's, made with its first
            # session (a read is handed to the cores at once; they copy
            # what they keep)
            if server.rbuf is None:
                server.rbuf = bytearray(server.read_size)
            self.rbuf = server.rbuf
        self.ld = ld = LineDiscipline(server.max_line)
        ld._echo = _ECHO
        if server.password is None:
            core.logged_in = True
        self.peer = peer
        # typed data: the core calls the connection (__call__): no event
        # tuple per read, no bound method held per session
        core.on_data = self

    def write(self, text):
        core = self.core
        core.send_text(text)
        if not core.busy:  # (a command runs: its end flushes)
            asyncio.create_task(self.flush())

    def _end(self):
        # the session is over: the driver's end, and on MicroPython the
        # session's own task, if it is waiting for input, stops reading
        t = self._task
        self._task = None
        Driven._end(self)
        if t is not None and t is not asyncio.current_task():
            t.cancel()

    close = _end

    def _open_shell(self):
        core = self.core
        try:
            s = self.session = self.server.shell.open(self)
        except UsageError as e:
            core.send_text("%s\n" % e.reason)
            self._end()
            return
        b = s.banner()
        if b:
            core.send_text(b + "\n")
        core.send_text(s.prompt())
        if getattr(s, "raw", False):
            asyncio.create_task(s.pump(self))

    def __getattr__(self, name):
        # cols, rows, term_type: the core's (not a copy per session)
        if name == "cols" or name == "rows" or name == "term_type":
            return getattr(self.core, name)
        raise AttributeError(name)

    def __call__(self, v=None):
        # Both the driver's on_events (v None: after every feed and tick,
        # the NVT core's events) and the core's on_data (v: data from the
        # client, after the NVT: to the raw session, or through the line
        # discipline: echo, lines, control keys): one method, no bound
        # method held per session. The session ends on EOF, a timeout,
        # Ctrl-D or a failed login.
        core = self.core
        ld = src = self.ld
        if v is None:
            src = core
        else:
            s = self.session
            if s is not None and getattr(s, "raw", False):
                s.feed(v)  # (copies what it keeps: v may be the read buffer's)
                return
            ld.feed(v)
            e = _ECHO  # handed on without a copy
            if e:
                if core.logged_in and core.local_enabled(1):  # ECHO (not for a password)
                    core.send_data(e)
                e[:] = b""
        while not self.closed:
            ev = src.next_event()
            if ev is None:
                break
            kind, v = ev
            if kind == "data":
                self(v)
            elif kind == "interrupt":
                if src is core:
                    ld.clear()  # IAC IP/BRK: like Ctrl-C, the typed line goes
                if self.queue is not None:
                    self.queue = None
                s = self.session
                if s is not None and not s.interrupt() and not core.busy:
                    core.send_text("\nKeyboardInterrupt\n" + s.prompt())
            elif kind == "eof" or kind == "timeout":
                if src is core:
                    self._end()
                elif not core.busy:  # Ctrl-D (ignored while a command runs)
                    core.send_text("\nlogout\n")
                    self._end()
            elif kind == "line" and not core.logged_in:
                # one attempt per connection: a wrong password ends it, and
                # the gate makes the address wait before it is admitted again
                core.send_text("\n")
                server = self.server
                v = server.gate.check(self.peer and self.peer[0], v, server.password, ticks_ms())
                if v:
                    core.logged_in = True
                    self._open_shell()
                else:
                    core.send_text(_WAIT if v is None else "Login incorrect\n")
                    self._end()
            elif kind == "line" or kind == "overlong":  # (an overlong one: None)
                v = v if kind == "line" else None
                if core.busy:  # a command runs (the core's flag: one attribute less here)
                    q = self.queue
                    if q is None:
                        q = self.queue = []
                    if len(q) < self.server.max_queued_lines:
                        q.append(v)
                    else:
                        core.send_data(b"\x07")
                else:
                    core.busy = True
                    asyncio.create_task(self._commands(v))
            # naws, ttype: the core keeps cols, rows and term_type

    on_events = __call__

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
                q = self.queue
                raw = q.pop(0) if q else False
                if raw is False:
                    # idle again before the prompt goes out: input that
                    # answers it (Ctrl-C) must not find us busy; idle
                    # time counts from here
                    core.tick(ticks_ms())
                    core.busy = False
                await self.flush()
        except Exception as e:
            self.server.last_error = e  # the console's status view shows it
            try:
                core.send_text("\ninternal error: %r\n" % (e,))
            except Exception:
                pass
            self._end()
        finally:
            if raw is not False:  # (not idle yet: ended, or an error)
                core.tick(ticks_ms())  # idle time counts from here
                core.busy = False
            self.rearm()
            await self.flush()

    async def run(self):
        # the session's life (the coroutine run() returns: its frame is what
        # an idle session keeps of the task that serves it)
        try:
            # the driver's start(); then on MicroPython this task reads
            # with the driver's reader (no reader task, no wait beside it:
            # about 500 B less per session)
            c = streams.accepted(self)
            self.rearm()
            await self.flush()
            if not c:
                self._task = asyncio.current_task()  # what _end cancels
                try:
                    await self._reader()
                except asyncio.CancelledError:
                    if self._task is not None:
                        raise  # not _end's: the loop is shutting down
                    c = asyncio.current_task()
                    if hasattr(c, "uncancel"):
                        c.uncancel()  # CPython 3.11+: the cancel was ours
                self._end()
            if not self.done.is_set():
                await self.done.wait()  # CPython: the port feeds the core
            c = self.session
            if c is not None:
                try:
                    c.interrupt()
                    c.close()
                except Exception:
                    pass
            # after a protocol error the client may still be sending:
            # closing with unread input resets the connection, which can
            # destroy the message in flight; read and drop for a while (one
            # deadline in all)
            await self.finish(2000 if self.core.error is not None else 0)
        except asyncio.CancelledError:
            pass  # the loop is shutting down: this is the top of the task
        finally:
            self._end()  # (the clock looks again: it stops if none has a deadline)
            self.server.connections.remove(self)


def refuse(server, reason):
    """What the server sends a connection it refuses at accept (``reason``:
    ``"wait"`` or ``"busy"``, from ``auth.Gate.admit``)."""
    return (_WAIT if reason == "wait" else
            "Sorry, this server is busy (%d sessions at most): try again later.\r\n" % server.max_sessions).encode()


def run(server, reader, writer, peer):
    """Serve one accepted connection of ``server`` (a ``telnet.Server``);
    returns what to await until it ends."""
    # MicroPython: a session needs a few KB; running the heap dry breaks
    # more than this session (seen: a crash inside select.poll on the
    # unix port), so refuse while less than min_free_heap is free, or an
    # eighth of the heap: what fails first is a large contiguous block
    # (poll's array grows with the sockets). An eighth, not a quarter:
    # on a board's heap (about 112 KB) min_free_heap governs either way;
    # a quarter made a 64-bit unix port need 4/3 of what its sessions
    # hold. 24 KiB by default: the last session admitted can still
    # compile a max_line statement, in a REPL server and beside the
    # console's browser session (measured: docs/telnet.md, Memory; 20 KiB
    # failed once there, 16 KiB often; 32 KiB until the collections before
    # a session's and a REPL's first objects, telnet.serve, cut the holes
    # such a statement's blocks could not use).
    # Plus _END per open session: sessions that end together (their last
    # read, their close under a deadline) need that much each for a moment
    # (without it, 395 sessions of a 1 MB heap closed at once ran it dry)
    need = server.min_free_heap if hasattr(gc, "mem_free") else 0
    if need:
        need = max(need, (gc.mem_free() + gc.mem_alloc()) >> 3) + _END * len(server.connections)
        if gc.mem_free() < need:
            gc.collect()
    if need and gc.mem_free() < need:
        try:
            writer.write(b"Sorry, this server is low on memory: try again later.\r\n")
        except Exception:
            pass
        return close_stream(writer)  # (as the driver's refusal at accept)
    conn = _Connection(server, reader, writer, peer)
    core = conn.core
    core.start(ticks_ms())
    if core.logged_in:
        conn._open_shell()
    else:
        core.send_text("Password: ")
    # only now: the clock must not see a session without its deadlines
    server.connections.append(conn)
    return conn.run()
