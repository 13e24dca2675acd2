"""The methods of the shared driver's classes (``microproto.aio``:
``Driven``, ``Clock``) and their defaults, loaded with the first
connection (``Driven.__init__``) and copied into those classes: a server
that only listens (or a client, which imports ``microproto.aio`` for
``write``) does not hold them. They are written here as the bodies of
``_Driven`` and ``_Clock``; what they say is documented on the classes in
``microproto.aio``. The parts that only run when a write has to wait are in
``microproto.aio_rare``, loaded then."""

import asyncio

from microproto.aio import Clock, Driven, close_stream
from microproto.errors import PeerError
from microproto_port import RUNTIME, streams, ticks_diff, ticks_ms

# builtins of the hot paths as module globals (see ws_protocol)
len, type, list = len, type, list


class _Driven:
    # what starts constant is the class's: an instance stores what differs
    closed = False  # no more reads or writes
    eof = False
    rbuf = None  # a buffer to read into (MicroPython: no allocation per read),
    # set by a subclass whose core copies out all it keeps of a read
    _task = None  # the reader task (none where the port feeds the core)
    read_size = 1024
    write_timeout_ms = 10000
    # while a write waits (``microproto.aio_rare``): [drains under way,
    # their Lock, what ``_put`` has still to hand over of a large part]
    _w = None
    _go = None
    _done = None  # the done Event (None: not made, True: over before it was)
    server = None  # the Clock that runs the core's deadlines (a server is one)

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
        # be waited for, else the drain to await (``microproto.aio_rare``:
        # a write that waits, and what comes behind it, go there)
        if self._w is None:
            try:
                if self.closed or not self._put() or (self._w is None and not streams.blocked(self.writer)):
                    return None
            except (OSError, RuntimeError):
                self.cut()
                return None
            put = False
        else:
            put = True  # behind the drain under way
        from microproto.aio_rare import drain

        return drain(self, put)

    def _put(self):
        """Hand what the core queued to the transport (a list of parts: a
        header and its payload are not joined); False if nothing was. A
        part larger than ``streams.PIECE`` goes a piece at a time, until
        the transport is full, the rest at the next call, after a drain
        (``microproto.aio_rare``): MicroPython's stream copies what the
        socket does not take at once."""
        r = self._w
        if r is None or r[2] is None:
            data = self.core.data_to_send()
            if not data:
                return False
            w = self.writer
            if type(data) is not list:
                if len(data) <= streams.PIECE:
                    w.write(data)
                    return True
            else:
                for b in data:
                    if len(b) > streams.PIECE:
                        break
                else:
                    for b in data:
                        w.write(b)
                    return True
        else:
            data = None  # what is left of a large part first
        from microproto.aio_rare import _put

        return _put(self, data)

    def cut(self):
        """End the connection now: abort the stream, drop what is buffered."""
        if self.closed:
            return
        self.closed = True
        streams.abort(self.writer)
        self._end()

    def _end(self):
        # first: an end reached again from on_events is a no-op
        d = self._done
        if d is None:
            self._done = True
        elif d is True or d.is_set():
            return
        else:
            d.set()
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
        # (as few locals as before the kept view: each is 8 bytes of the
        # frame an idle session holds)
        buf = self.rbuf
        mv = v = None if buf is None else memoryview(buf)
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
                        if n != len(v):  # a view of the length read, kept while reads are that long
                            v = mv[:n] if n else b""
                        data = v
                except OSError:
                    data = b""
                if self.closed:
                    break
                if not data:
                    self.eof = True
                c = self.feed(data)
                if c is not None:
                    yield from c
                if not data or self.core.close_expected():
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
        d = self._done
        if d is None:
            self._done = True
        elif d is not True:
            d.set()
        t = self.server
        if t is not None:
            t.wake(None)
        w = self.writer
        try:
            self._put()
            # a drain to wait for, a part not all handed over, lingering: aio_rare
            if self._w is not None or streams.blocked(w) or linger_ms:
                from microproto.aio_rare import finish

                await finish(self, linger_ms, max_linger)
        except Exception:
            pass
        await close_stream(w, self.write_timeout_ms)


class _Clock:
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


def _copy(cls, body):
    # what the class body defined (not the names Python adds to every class)
    for k, v in body.__dict__.items():
        if k[:2] != "__" and k != "feed":
            setattr(cls, k, v)


_copy(Clock, _Clock)
_copy(Driven, _Driven)
if RUNTIME != "micropython":
    Driven._reader = streams.native(Driven._reader)  # (CPython: see there)
# last: Driven.__init__ imports this module until Driven has it (an import
# that failed half-way, MemoryError, is run again whole by the next one)
Driven.feed = _Driven.feed
del _Driven, _Clock, _copy
