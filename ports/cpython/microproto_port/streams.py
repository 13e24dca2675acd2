"""asyncio streams on CPython: what the shared driver (``microproto.aio``)
needs beyond the stream API both runtimes share. Same names as
ports/micropython/microproto_port/streams.py."""

import asyncio
import socket
import struct
import types

_LINGER_0 = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close resets

# the driver reads into a preallocated buffer (``reader.readinto``): asyncio's StreamReader has no readinto
READINTO = False

# the driver hands parts to the transport whole (it keeps them as they are, or copies them once)
PIECE = 1 << 30


def native(gen):
    """A coroutine function around ``gen``, a generator function that the
    shared code awaits as a coroutine (on MicroPython a generator is one:
    it waits without a coroutine of its own per wait). Here it runs as a
    generator-based coroutine inside a native one, which asyncio's
    ``create_task`` and ``wait_for`` take on every version (3.12+ refuse
    a generator). Not in the MicroPython port."""
    g = types.coroutine(gen)

    async def run(*args):
        return await g(*args)

    return run


def _ready():
    return
    yield


# a ready awaitable, the same each time: a generator-based coroutine at its
# end once first awaited (MicroPython's driver awaits an empty iterator).
# Not in the MicroPython port.
READY = types.coroutine(_ready)()


def abort(writer):
    """Cut an asyncio stream now: drop what is buffered, here and in the
    kernel, and reset the connection (a peer that stopped reading must not
    hold the buffers; a plain close would queue a FIN behind them)."""
    try:
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_0)
    except (AttributeError, OSError):
        pass
    t = getattr(writer, "transport", None)
    if t is not None:
        t.abort()


def accepted(d):
    """Set up an accepted connection for the shared driver (``d``: a
    ``microproto.aio.Driven``; asyncio sets TCP_NODELAY by itself). The
    core is fed straight from the transport: we take the calls through
    which asyncio's stream protocol fills the reader (its ``data_received``,
    the reader's ``feed_data``, ``feed_eof`` and ``set_exception``: see
    ``_Fed``), so that no task is woken per read and nothing is buffered
    twice. Returns True when done; False (a reader that is not
    asyncio's) leaves the reading to the driver's reader task."""
    r = d.reader
    if not isinstance(r, asyncio.StreamReader):
        return False
    t = getattr(r, "_transport", None)
    buf = getattr(r, "_buffer", None)
    if t is None or buf is None or not hasattr(t, "pause_reading"):
        return False
    _Fed(d, r, t, buf)
    return True


class _Fed:
    """What a ``Driven`` connection's reader receives goes to its core at
    once, as the driver's reader task would give it (``Driven.feed``, then
    its flush), without a task. When the core has to wait (``go`` cleared:
    backpressure; a flush that must wait for a drain, or a subclass's own
    flush) reading stops (``pause_reading``) and a task waits; what still
    arrives meanwhile is held and fed in order afterwards. Once the
    connection is closed, the reader gets its calls back (what ``finish``
    reads while lingering)."""

    def __init__(self, d, r, t, buf):
        self.d = d
        self.r = r
        self.t = t
        # the driver starts feeding once ``start`` has fed what came with
        # the handshake: until then (the next turn of the loop) all is held
        self.busy = True
        self.paused = False
        self.held = []
        if buf:
            self.held.append(bytes(buf))
            buf.clear()
        if getattr(r, "_eof", False) or getattr(r, "_exception", None) is not None:
            self.held.append(None)
        if getattr(r, "_paused", False):
            r._paused = False  # its transport is paused: resumed by us
            self.paused = True
        r.feed_data = self.data
        r.feed_eof = self.eof
        r.set_exception = self.exc
        # one call less per read: the transport calls us, not the stream
        # protocol's data_received (which would call reader.feed_data)
        self.p = t.get_protocol()
        if isinstance(self.p, asyncio.StreamReaderProtocol):
            self.p.data_received = self.data
        # a plain TCP transport (asyncio's, no TLS): a frame's header and
        # payload go out in one sendmsg, neither joined nor sent apart
        self.sock = None
        if type(t).__name__ == "_SelectorSocketTransport" and t.get_extra_info("sslcontext") is None:
            sock = getattr(t, "_sock", None)
            if isinstance(sock, socket.socket) and hasattr(sock, "sendmsg"):
                self.sock = sock
                d._put = self.put
        asyncio.get_running_loop().call_soon(self.resume)

    def data(self, data):
        if self.busy or _stopped(self.d):
            self.hold(bytes(data))
        elif data:
            self.take(data)

    def eof(self):
        if self.busy or _stopped(self.d):
            self.hold(None)
        else:
            self.take(None)

    def hold(self, data):
        self.held.append(data)
        if not self.busy:
            self.wait(None)  # go was cleared meanwhile: wait for it

    def exc(self, e):
        self.eof()  # as the reader task: a failed read is the end of the stream

    def take(self, data):
        d = self.d
        if d.closed:
            self.held.append(data)
            self.handover()
            return
        if data is None:
            if d.eof:
                return
            d.eof = True
            data = b""
        c = d.feed(data)  # the core took it; c: None, or what to wait for
        if c is None:
            if not data or d.core.close_expected():
                d._end()
            elif _stopped(d):
                self.wait(None)
            return
        self.wait(c)

    def wait(self, c):
        self.busy = True
        if not self.paused:
            self.paused = True
            self.t.pause_reading()
        w = self._wait(c)
        try:
            asyncio.get_running_loop().create_task(w)
        except RuntimeError:  # no loop running any more (its end): nothing to wait for
            w.close()
            if c is not None:
                c.close()

    async def _wait(self, c):
        d = self.d
        try:
            if c is not None:
                await c
            if d.eof or d.core.close_expected():
                d._end()
            while _stopped(d) and not d.closed:
                await d._go.wait()
        except Exception:
            d._end()
        finally:
            self.resume()

    def resume(self):
        self.busy = False
        d = self.d
        held = self.held
        while held and not self.busy:
            if _stopped(d) and not d.closed:
                self.wait(None)
                return
            self.take(held.pop(0))
        if not self.busy:
            if self.d.closed:
                self.handover()
            elif self.paused:
                self.paused = False
                self.t.resume_reading()

    def put(self):
        """``Driven._put``: hand what the core queued to the transport; a
        list of parts is written with one ``sendmsg`` when nothing is
        buffered before it (what is not taken goes to the transport)."""
        d = self.d
        data = d.core.data_to_send()
        if not data:
            return False
        w = d.writer
        if type(data) is not list:
            w.write(data)
            return True
        n = 0
        t = self.t
        if not t.get_write_buffer_size() and not t.is_closing():
            try:
                n = self.sock.sendmsg(data)
            except (BlockingIOError, InterruptedError):
                pass
            except OSError:
                pass  # the transport's own write meets it again and reports it
        for b in data:
            k = len(b)
            if n >= k:
                n -= k
                continue
            w.write(memoryview(b)[n:] if n else b)
            n = 0
        return True

    def handover(self):
        """The connection is closed: give the reader back its calls and
        what was held (``finish`` may read and drop it)."""
        r = self.r
        for k in ("feed_data", "feed_eof", "set_exception"):
            r.__dict__.pop(k, None)
        self.p.__dict__.pop("data_received", None)
        held = self.held
        self.held = []
        self.busy = True  # nothing comes here any more
        for x in held:
            if x is None:
                r.feed_eof()
            else:
                r.feed_data(x)
        if self.paused:
            self.paused = False
            self.t.resume_reading()


def _stopped(d):
    # ``go`` cleared (it is made on first use: none, none cleared)
    g = d._go
    return g is not None and not g.is_set()


def reuse_safe(writer):
    """Make ``drain()`` wait until the transport holds nothing of what was
    written, so that a caller may write from one buffer, drain, and fill it
    again: CPython 3.12+ keeps a view of what it could not send at once
    (no copy), which a refill would change under it."""
    t = getattr(writer, "transport", None)
    if t is not None:
        t.set_write_buffer_limits(0)


def write_eof(writer):
    """Tell the peer we are done writing (half-close), where the transport can."""
    if writer.can_write_eof():
        writer.write_eof()


def put(writer, buf):
    """0: the transport takes every write whole (``PIECE`` is never
    reached here); the same name as on MicroPython."""
    return 0


def blocked(writer):
    """True if ``drain()`` on this asyncio stream would wait (more is
    buffered than the transport's high-water mark)."""
    t = writer.transport
    try:
        return t.get_write_buffer_size() > t._high_water  # asyncio's own transports: no tuple made
    except AttributeError:
        pass
    try:
        return t.get_write_buffer_size() > t.get_write_buffer_limits()[1]
    except (AttributeError, NotImplementedError):
        return True  # cannot tell: wait under the timer


def peer(writer):
    """``(ip, port)`` of an asyncio stream's peer (ip a str), or None."""
    try:
        p = writer.get_extra_info("peername")
        return (p[0], p[1])
    except (TypeError, IndexError, AttributeError):
        return None
