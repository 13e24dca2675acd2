"""The asyncio driver: runs any sans-I/O core over asyncio streams.

Uses only the stream API both runtimes share: ``read``, ``write`` +
``await drain()``, ``close()`` + ``await wait_closed()``. Same core contract
as ``microproto.blocking``.

Client half: ``StreamConnection`` (in ``microproto.aio_client``, loaded
on first use, so that a server does not carry it). Server half: ``serve``
(admission at accept), ``Driven`` (one connection: reads feed the core;
on MicroPython a reader task reads, on CPython the port feeds the core
from the transport's callback, ``streams.accepted``) and ``Clock`` (one
task for the deadlines of a server's connections: it drives each core's
``next_deadline_ms()``/``tick(now_ms)``). ``write``: one write drained
under a deadline, for both.

Limits: reads are at most ``read_size`` bytes; ``timeout_ms`` (when given to
a call) bounds the wait (``asyncio.TimeoutError``), writes included: every
write drains under a deadline, and a peer that does not take the bytes in
time is cut (the connection aborted, its buffers dropped).
"""

import asyncio

from microproto.errors import PeerError
from microproto_port import RUNTIME, streams, ticks_add, ticks_diff, ticks_ms


# builtins of the hot paths as module globals (see ws_protocol)
len, type, list = len, type, list


def __getattr__(name):
    if name == "StreamConnection":
        from microproto.aio_client import StreamConnection

        return StreamConnection
    raise AttributeError(name)


def write(writer, data, timeout_ms):
    """Write ``data``; returns what to await: the drain, bounded by
    ``timeout_ms`` (None: no limit) when it would wait at all. On
    ``asyncio.TimeoutError`` the caller cuts the peer (``streams.abort``).
    A plain function, so that a write that does not wait allocates no
    coroutine of its own."""
    writer.write(data)
    if timeout_ms is None or not streams.blocked(writer):
        return writer.drain()
    return asyncio.wait_for(writer.drain(), timeout_ms / 1000)


class Driven:
    """Server half: one accepted connection driving a sans-I/O ``core``.

    ``start(leftover)`` feeds what arrived behind a handshake (and sends the
    answers at once), then reads feed the core and its answers are sent (a
    reader task, or the transport's callback where the port offers one:
    ``streams.accepted``). ``server``'s ``Clock`` (a server's, shared by its
    connections; else one made for this connection) runs while the core has
    a deadline (``core.tick`` at ``core.next_deadline_ms()``); ``rearm()``
    tells it that the deadline may have appeared or moved earlier. ``on_events()`` is
    called after every feed and tick to take the core's events. Every write
    drains within ``write_timeout_ms``, else the peer is cut. ``go`` (an
    Event, made on first use) cleared stops reading (backpressure). ``done``
    (an Event, made on first use) is set once the connection is over;
    ``finish()`` closes it.

    The core: ``receive_data``, ``data_to_send`` (bytes, or a list of
    parts), ``tick``, ``next_deadline_ms``, ``close_expected``, and
    ``fail(code, reason)``: queue the end of the connection after an
    internal error (MemoryError: 1009, a bug: 1011)."""

    # what starts constant is the class's: an instance stores what differs
    closed = False  # no more reads or writes
    eof = False
    rbuf = None  # a buffer to read into (MicroPython: no allocation per read),
    # set by a subclass whose core copies out all it keeps of a read
    _task = None  # the reader task (none where the port feeds the core)
    read_size = 1024
    write_timeout_ms = 10000
    _flushing = 0  # drains holding or waiting for the lock
    _lock = None
    _go = None
    _done = None  # the done Event (None: not made, True: over before it was)
    server = None  # the Clock that runs the core's deadlines (a server is one)
    _rest = None  # [parts, index, offset]: what _put has still to hand over (a large part)

    def __init__(self, reader, writer, core, on_events, read_size=1024, write_timeout_ms=10000):
        self.reader = reader
        self.writer = writer
        self.core = core
        if on_events is not None:
            self.on_events = on_events
        if read_size != 1024:
            self.read_size = read_size
        if write_timeout_ms != 10000:
            self.write_timeout_ms = write_timeout_ms

    @property
    def done(self):
        d = self._done
        if d is None or d is True:
            e = asyncio.Event()
            if d:
                e.set()
            d = self._done = e
        return d

    def _over(self):
        # the connection is over (done); True if it already was
        d = self._done
        if d is None:
            self._done = True
        elif d is True or d.is_set():
            return True
        else:
            d.set()
        return False

    @property
    def go(self):
        g = self._go
        if g is None:
            g = self._go = asyncio.Event()
            g.set()
        return g

    async def start(self, leftover=b""):
        fed = streams.accepted(self)  # True: the port feeds the core itself
        if leftover:
            c = self.feed(leftover)
            if c is not None:
                await c
            if self.core.close_expected():
                self._end()
        if not self.closed:
            self.rearm()
            if not fed:
                self._task = asyncio.create_task(self._reader())

    def on_events(self):
        """Take the core's events (given to the constructor, or overridden)."""

    def feed(self, data):
        """Give ``data`` to the core, take its events and hand its answers to
        the transport; returns None, or what to await (a drain; a subclass's
        own ``flush``). A plain function: a read that needs no wait costs no
        coroutine."""
        core = self.core
        core.tick(ticks_ms())
        try:
            core.receive_data(data)
        except PeerError:
            pass  # the core queued its answer and expects the close
        except MemoryError:
            core.fail(1009, "out of memory")
        except Exception as e:  # a bug must cost one connection only
            print("microproto: internal error: %r" % (e,))
            core.fail(1011, "internal error")
        self.on_events()
        self.rearm()
        if type(self).flush is not Driven.flush:
            return self.flush()
        return self._out()

    def rearm(self):
        """The core's deadline may have appeared or moved earlier: start the
        clock (``server``; without one, a clock of this connection's own),
        or wake it if it sleeps until later (input that pushes a deadline
        later costs nothing; no deadline, no task)."""
        d = self.core.next_deadline_ms()
        if d is None or self.closed:
            return
        c = self.server
        if c is None:
            c = self.server = Clock()
            c.connections = [self]
        c.wake(d)

    async def flush(self):
        """Send what the core has produced; a peer that does not take it
        within ``write_timeout_ms`` is cut. Nothing queued: no lock, no
        wait; written at once when no drain is under way, and the lock only
        taken when the transport is full (a drain to wait for)."""
        c = self._out()
        if c is not None:
            await c

    def _out(self):
        # the part of a flush that does not wait: None when nothing has to
        # be waited for, else the drain to await
        if self._flushing:
            self._flushing += 1
            return self._drain(True)
        try:
            if self.closed or not self._put() or (self._rest is None and not streams.blocked(self.writer)):
                return None
        except (OSError, RuntimeError):
            self.cut()
            return None
        self._flushing += 1
        return self._drain(False)

    async def _drain(self, put):
        # _flushing was counted by _out
        try:
            lock = self._lock
            if lock is None:
                lock = self._lock = asyncio.Lock()
            async with lock:
                if not self.closed and (not put or self._put()):
                    await self._pump()
        except (OSError, RuntimeError, asyncio.TimeoutError):
            self.cut()
        finally:
            self._flushing -= 1

    async def _pump(self):
        # drain, handing over the rest of a large part piece by piece
        # (``_put``), all within write_timeout_ms (a cut stream raises)
        w = self.writer
        end = ticks_add(ticks_ms(), self.write_timeout_ms)
        while True:
            if streams.blocked(w):
                left = ticks_diff(end, ticks_ms())
                if left <= 0:
                    raise asyncio.TimeoutError()
                await write(w, b"", left)
            if self._rest is None:
                return
            self._put()

    def _put(self):
        """Hand what the core queued to the transport (a list of parts: a
        header and its payload are not joined); False if nothing was. A
        part larger than ``streams.PIECE`` goes a piece at a time, until
        the transport is full; the rest (``_rest``: [parts, index, offset])
        goes first at the next call, after a drain (``_pump``):
        MicroPython's stream copies what the socket does not take at once."""
        w = self.writer
        r = self._rest
        if r is None:
            data = self.core.data_to_send()
            if not data:
                return False
            if type(data) is not list:
                if len(data) <= streams.PIECE:
                    w.write(data)
                    return True
                data = [data]
            else:
                for b in data:
                    if len(b) > streams.PIECE:
                        break
                else:
                    for b in data:
                        w.write(b)
                    return True
            r = self._rest = [data, 0, 0]
        parts, i, off = r
        n = len(parts)
        while i < n:
            b = parts[i]
            if len(b) - off <= streams.PIECE:
                w.write(memoryview(b)[off:] if off else b)
                i += 1
                off = 0
            else:
                w.write(memoryview(b)[off:off + streams.PIECE])
                off += streams.PIECE
            if streams.blocked(w):
                break
        if i < n:
            r[1] = i
            r[2] = off
        else:
            self._rest = None
        return True

    def cut(self):
        """End the connection now: abort the stream, drop what is buffered."""
        if self.closed:
            return
        self.closed = True
        streams.abort(self.writer)
        self._end()

    def _end(self):
        if self._over():  # first: an end reached again from on_events is a no-op
            return
        self.closed = True
        g = self._go
        if g is not None:
            g.set()
        c = self.server
        if c is not None:
            c.wake(None)  # a sleeping clock looks again (it stops if none has a deadline)
        if not self.eof:
            self.eof = True
            try:
                self.core.receive_data(b"")
                self.on_events()
            except Exception:
                pass

    def _reader(self):
        # a generator, awaited as a coroutine (CPython: streams.native).
        # Into ``rbuf`` from a MicroPython stream, the read is the stream's
        # own (wait for the socket in asyncio's IO queue, ``readinto``)
        # without a coroutine per read
        core = self.core
        buf = self.rbuf
        mv = None if buf is None else memoryview(buf)
        s = None if buf is None else getattr(self.reader, "s", None)
        try:
            while not self.closed:
                g = self._go
                if g is not None and not g.is_set():
                    yield from g.wait()
                    continue
                try:
                    if mv is None:
                        data = yield from self.reader.read(self.read_size)
                    else:
                        if s is None:
                            n = yield from self.reader.readinto(buf)
                        else:
                            yield streams.wait_read(s)
                            n = s.readinto(buf)
                            if n is None:
                                continue  # nothing yet (TLS: a record not whole)
                        data = (mv if n == len(buf) else mv[:n]) if n else b""  # a full read: no slice
                except OSError:
                    data = b""
                if self.closed:
                    break
                if not data:
                    self.eof = True
                c = self.feed(data)
                if c is not None:
                    yield from c
                if not data or core.close_expected():
                    break
        finally:
            self._end()

    async def finish(self, linger_ms=0, max_linger=65536):
        """Stop the tasks, send what is left (within ``write_timeout_ms``),
        optionally read and drop the peer's input for at most ``linger_ms``
        in all (so that closing with unread input does not reset what was
        just sent), then close the stream."""
        self.closed = True
        g = self._go
        if g is not None:
            g.set()
        t = self._task
        if t is not None:
            try:
                t.cancel()
            except (RuntimeError, ValueError):
                pass
        self._over()
        t = self.server
        if t is not None:
            t.wake(None)
        w = self.writer
        try:
            if self._put() or self._rest is not None:
                await self._pump()
            end = ticks_add(ticks_ms(), linger_ms)
            while max_linger > 0 and linger_ms:  # one deadline in all
                left = ticks_diff(end, ticks_ms())
                data = await asyncio.wait_for(self.reader.read(512), left / 1000) if left > 0 else b""
                if not data:
                    break
                max_linger -= len(data)
        except Exception:
            pass
        await close_stream(w, self.write_timeout_ms)


if RUNTIME != "micropython":
    Driven._reader = streams.native(Driven._reader)  # (CPython: see there)


class Clock:
    """One task for the deadlines of ``connections`` (``Driven``): it
    sleeps until the earliest of their cores' ``next_deadline_ms()``, ticks
    those whose deadline has come (their events are taken, what that queued
    is sent, a core that expects the close ends its connection) and stops
    when none has a deadline. ``wake(d)``: a deadline ``d`` appeared or
    moved earlier (starts the task, or ends its sleep if it sleeps until
    later); ``wake(None)``: a connection ended, look again. Every deadline
    is the core's own: input that moves one later costs nothing here, and
    nothing a peer sends extends another's. A server is one (it sets
    ``connections``, the list of its open connections)."""

    _task = None
    _armed = None  # the deadline the task sleeps until (None: not sleeping)

    def wake(self, d):
        t = self._task
        if t is None:
            if d is not None:
                self._task = asyncio.create_task(self._clock())
        else:
            a = self._armed
            if a is not None and (d is None or ticks_diff(d, a) < 0):
                self._armed = None
                t.cancel()  # its sleep ends; it looks again

    async def _clock(self):
        try:
            while True:
                now = ticks_ms()
                first = None
                for c in self.connections:
                    core = c.core
                    d = None if c.closed else core.next_deadline_ms()
                    if d is not None and ticks_diff(d, now) <= 0:
                        core.tick(now)
                        c.on_events()
                        f = c._out() if type(c).flush is Driven.flush else c.flush()
                        if f is not None:
                            asyncio.create_task(f)  # a drain: the others do not wait for it
                        if core.close_expected():
                            c._end()
                        d = None if c.closed else core.next_deadline_ms()
                    if d is not None and (first is None or ticks_diff(d, first) < 0):
                        first = d
                if first is None:
                    break
                self._armed = first
                try:
                    # (a deadline due again at once: a yield, not a spin)
                    await asyncio.sleep(max(0, ticks_diff(first, ticks_ms())) / 1000)
                except asyncio.CancelledError:
                    if self._armed is not None:
                        raise  # not ours (wake clears it first): the loop's end
                self._armed = None
        finally:
            self._armed = None
            self._task = None


async def close_stream(writer, timeout_ms=2000):
    """Close ``writer``; a peer that does not take the last bytes within
    ``timeout_ms`` is cut."""
    try:
        writer.close()
        await asyncio.wait_for(writer.wait_closed(), timeout_ms / 1000)
    except Exception:
        streams.abort(writer)


async def serve(on_session, host, port, gate, ssl=None, backlog=5, refuse=None):
    """Listen on ``host:port``; each connection is admitted by ``gate``
    (``microproto.auth.Gate``: counted at accept, before any byte is read)
    and handed to ``await on_session(reader, writer, peer)`` (``(ip, port)``
    or None; the gate counts failures per ip); the slot is
    released when it returns. A refused one gets ``refuse(why)`` bytes (if
    given) and is closed at once. Returns the asyncio server."""

    async def accept(reader, writer):
        peer = streams.peer(writer)
        why = gate.admit(peer and peer[0], ticks_ms())
        if why is not None:
            try:
                if refuse is not None:
                    writer.write(refuse(why))
            except Exception:
                pass
            await close_stream(writer)
            return
        try:
            await on_session(reader, writer, peer)
        except Exception as e:  # one connection must never end the server
            print("microproto: connection error: %r" % (e,))
            await close_stream(writer)
        finally:
            gate.sessions -= 1

    if ssl is None:
        return await asyncio.start_server(accept, host, port, backlog=backlog)
    return await asyncio.start_server(accept, host, port, backlog=backlog, ssl=ssl)

