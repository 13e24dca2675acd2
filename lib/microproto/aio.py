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

What this module holds is what a server needs to be defined and to
listen: the methods and defaults of ``Driven`` and ``Clock`` are loaded
with the first connection (``microproto.aio_driven``, copied into the
classes by ``Driven.__init__``), what only runs when a write has to wait
when it does (``microproto.aio_rare``).

Limits: reads are at most ``read_size`` bytes; ``timeout_ms`` (when given to
a call) bounds the wait (``asyncio.TimeoutError``), writes included: every
write drains under a deadline, and a peer that does not take the bytes in
time is cut (the connection aborted, its buffers dropped).
"""

import asyncio

from microproto_port import streams, ticks_ms


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
    internal error (MemoryError: 1009, a bug: 1011).

    The methods and class defaults are ``microproto.aio_driven``'s, copied
    into the class when the first instance is made (this one, or a
    subclass's)."""

    def __init__(self, reader, writer, core, on_events, read_size=1024, write_timeout_ms=10000):
        if not hasattr(Driven, "feed"):  # the first connection: the methods
            import microproto.aio_driven  # noqa: F401 (it copies them into the class)
        # (properties stay here: MicroPython adds none to a class once it
        # has subclasses)
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

    @property
    def go(self):
        g = self._go
        if g is None:
            g = self._go = asyncio.Event()
            g.set()
        return g


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
    ``connections``, the list of its open connections). Its methods come
    with ``Driven``'s (``microproto.aio_driven``): only a connection wakes
    a clock."""


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

