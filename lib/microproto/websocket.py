"""WebSocket server (RFC 6455, RFC 7692) on asyncio, for CPython and MicroPython.

    from microproto import websocket

    async def echo(ws):
        async for message in ws:          # str (text) or bytes (binary)
            await ws.send(message)

    server = await websocket.serve(echo, "0.0.0.0", 8080)
    ...
    server.close(); await server.wait_closed()

Command line: ``python -m microproto.websocket --host H --port P --echo``
(``--help``; it lives in ``microproto.websocket_cli``). Connections run on
the shared driver (``microproto.aio``) behind ``microproto.auth.Gate``.
Limits and defaults of every server: docs/limits.md.

Options of ``serve`` (all keyword, every limit with a safe default):

- ``host`` defaults to ``"127.0.0.1"``: give ``"0.0.0.0"`` to be reachable
  from the network (on a board, that is what you want).
- ``certfile``/``keyfile`` (or ``ssl``: a server context): wss.
- ``subprotocols``: names the server speaks, in order of preference.
- ``origins``: allowed ``Origin`` values (403 otherwise); ``"same"``: only
  pages of this server (Origin's host equals Host) and clients sending no
  Origin; None (default): any, except with ``password``, where it means
  ``"same"`` (a page the user visits must not try passwords).
- ``auth(request)``: True to accept, False (401) or an HTTP status to
  refuse; may be a coroutine function. ``password``: HTTP Basic
  credentials with that password (any user name) on every request,
  ``http_handler`` routes included: 401 without credentials, 403 with a
  wrong one; constant-time comparison, throttled by the gate
  (``fail_delay_ms``, ``max_failures`` per address, ``max_failures_total``
  per ``failure_window_ms``; a throttled address gets 429 at accept).
- ``http_handler(request)``: answers requests that are not upgrades
  (a page served on the same port): return ``(status, headers, body)``
  with ``body`` bytes, str or a binary file object (streamed), or None for
  404. ``static_handler(root)`` makes one that serves files (in
  ``microproto.ws_static``; reachable from here).
- ``max_size`` (1 MiB; None: no limit): largest message and frame (1009);
  compressed messages are bounded by it in ``stream`` mode too.
  ``max_frame``: largest frame if different.
- ``stream``: deliver messages as fragments (``recv_fragment``) without
  joining them; ``recv`` still joins (up to ``max_size``).
- ``binary_type`` (``bytes``): ``bytearray`` hands each binary message
  over as the buffer it was received into (no copy: a message of N bytes
  needs N bytes of heap; on MicroPython no hash of it either); it is the
  handler's, a new one each message. Text stays ``str``; in ``stream``
  mode fragments and what ``recv`` joins stay ``bytes``.
- ``max_queue`` (16): received messages held for the handler; reading
  from the socket pauses when full (backpressure).
- ``max_connections`` (8): counted at accept, request heads still coming
  in included; further clients get 503 before anything is read.
- ``handshake_timeout_ms`` (10 s, for the whole request head),
  ``close_timeout_ms`` (5 s), ``write_timeout_ms`` (10 s: a peer that does
  not take what we send in that time is cut), ``ping_interval_ms`` (20 s;
  None: no keepalive), ``ping_timeout_ms`` (20 s; no pong in time: 1011).
- ``compression`` ("deflate" or None), ``deflate_level`` (6),
  ``deflate_mem_level`` (7: zlib's speed/memory trade-off, not on the wire), ``max_window_bits`` (15: the largest client
  window inflated; lower it on a board to save RAM).
- ``max_line`` (4096), ``max_headers`` (48): request head limits (400/431).
- ``read_size`` (4096): bytes per socket read, the size of the buffer
  the connections read into (one per server, made with the first
  connection: a read is handed to the connection's core at once). The
  request head is read in pieces of at most 1024 bytes (MicroPython
  allocates a read's whole size before it shrinks it).
- ``legacy_webrepl`` (False): for the device console only, accept what old
  WebREPL tools send against RFC 6455: unmasked client frames, no
  Sec-WebSocket-Version, a key that is not 16 bytes of base64.
"""

import asyncio

from microproto import ws_handshake as hs
from microproto.aio import Clock, Driven, close_stream
from microproto.aio import serve as _listen
from microproto.aio import write as _write
from microproto.auth import Gate
from microproto.errors import PeerError, UsageError
from microproto.ws_protocol import CLOSED, OPEN, ServerProtocol
from microproto_port import RUNTIME, streams, ticks_ms


class _Options:
    """Every option of ``serve`` and its default, read from the class; a
    server's own object holds only the options it was given."""

    ssl = None
    certfile = None
    keyfile = None
    subprotocols = None
    origins = None
    auth = None
    password = None
    fail_delay_ms = 1000
    max_failures = 5
    max_failures_total = 20
    failure_window_ms = 60000
    http_handler = None
    max_size = 1 << 20
    max_frame = None
    stream = False
    binary_type = bytes
    max_queue = 16
    max_connections = 8
    handshake_timeout_ms = 10000
    close_timeout_ms = 5000
    write_timeout_ms = 10000
    ping_interval_ms = 20000
    ping_timeout_ms = 20000
    compression = "deflate"
    deflate_level = 6
    deflate_mem_level = 7
    max_window_bits = 15
    max_line = 4096
    max_headers = 48
    read_size = 4096  # one buffer per server (1024 until the connections shared it: a 1 KiB
    # message then took two reads; 4096 halves the unix port's CPU per 1 KiB and 64 KiB echo)
    backlog = 5
    legacy_webrepl = False


def __getattr__(name):
    # static_handler, from ws_http (an ``http_handler`` needs it anyway)
    if name != "static_handler":
        raise AttributeError(name)
    from microproto.ws_http import static_handler

    return static_handler


class ConnectionClosed(PeerError):
    """The WebSocket connection is closed: ``code`` and ``reason`` are the
    peer's Close (1006: it ended without one)."""

    def __init__(self, code, reason=""):
        super().__init__(reason or "connection closed", code)


class WebSocket(Driven):
    """One accepted connection, given to the handler.

    Attributes: ``path``, ``request`` (method, target, query, headers),
    ``request_headers``, ``subprotocol``, ``remote_address``,
    ``close_code``/``close_reason`` (after the close).
    """

    _pong_ev = None  # made by the first ping()
    _full = False  # reading paused: the queue is full
    _pong_want = None
    _eof_sent = False
    # (a default read from the class: see __init__)
    _max_queue = 16

    def __init__(self, server, reader, writer, request, core, subprotocol, remote_address):
        o = server.options
        Driven.__init__(self, reader, writer, core, None, o.read_size, o.write_timeout_ms)
        self.server = server  # whose clock runs our deadlines (rearm)
        self.request = request
        self.path = request.path
        self.request_headers = request.headers
        # (15 attributes in all, done made only when waited for: on
        # MicroPython a table of 17, not 12 in a full one, where every
        # lookup that misses, a method's included, scans it all; closed,
        # read most, its own: found at once)
        self.subprotocol = subprotocol
        self.closed = False
        self.remote_address = remote_address
        if o.max_queue != 16:
            self._max_queue = o.max_queue
        self._queue = []
        if not core.stream:
            core.sink = self._queue  # whole messages straight into the queue
        # what the handler waits on for a message: an Event on MicroPython,
        # on CPython a future made only when it waits (see _next)
        self._msg_ev = asyncio.Event() if _EVENT else None
        if streams.READINTO:
            # the driver's read buffer: the core's scratch buffer (the
            # server's), which the core copies out of what it keeps (an
            # attribute, not a property: 15 in a table of 17)
            self.rbuf = core._scratch

    # -- public API ----------------------------------------------------------

    @property
    def open(self):
        return self.core.state == OPEN and not self.closed

    @property
    def close_code(self):
        return self.core.close_code

    @property
    def close_reason(self):
        return self.core.close_reason

    def recv(self):
        """The next message (a coroutine): ``str`` for text, ``bytes`` for
        binary. Raises ``ConnectionClosed`` once the connection is closed
        and every received message was read."""
        if not self.core.stream:
            return self._next(ConnectionClosed)  # (no coroutine of its own around it)
        from microproto.ws_conn import recv_joined

        return recv_joined(self)

    async def recv_fragment(self):
        """The next piece of a message: ``(data, is_text, fin)``. With the
        ``stream`` option the pieces are whatever arrived (text as UTF-8
        bytes, possibly ending inside a character), without joining; else
        each whole message is one piece (``fin`` True)."""
        item = await self._next(ConnectionClosed)
        if not self.core.stream:
            return item, isinstance(item, str), True
        return item

    def _next(self, end):
        # the next item of the queue: a message, or (stream mode) a
        # fragment ``(data, is_text, fin)``; at the end, raises ``end``
        # (ConnectionClosed, or StopAsyncIteration for ``async for``).
        # A generator, awaited as a coroutine (CPython: streams.native),
        # that waits without a coroutine of its own per wait
        q = self._queue
        while True:
            if q:
                item = q.pop(0)
                if self._full and len(q) < self._max_queue:
                    self._full = False
                    self.go.set()
                if item is None:
                    # the peer's fault comes after the messages before it
                    self.core.send_fail_close()
                    self.on_events()
                    yield from self._flush()
                    self.rearm()
                    continue
                return item
            if self.closed or self.core.state == CLOSED:
                if end is ConnectionClosed:
                    raise end(self.core.close_code or 1006, self.core.close_reason)
                raise end
            f = self._msg_ev
            if _EVENT:
                # what Event.wait does (MicroPython's asyncio), without its
                # coroutine: the task waits in the Event's queue (where a
                # cancel finds it), on_events sets the Event
                f.state = False
                t = asyncio.current_task()
                f.waiting.push(t)
                t.data = f.waiting
                yield
            else:
                # a future made only when the handler waits, set by on_events
                if f is None or f.done():
                    f = self._msg_ev = asyncio.get_running_loop().create_future()
                yield from f

    def __aiter__(self):
        return self

    def __anext__(self):
        if not self.core.stream:
            return self._next(StopAsyncIteration)  # one coroutine per message
        from microproto.ws_conn import anext_joined

        return anext_joined(self)

    def send(self, message):
        """Send ``str`` as text, ``bytes``/``bytearray``/``memoryview`` as binary
        (a coroutine). Waits until the data is handed to the transport
        (backpressure; a peer that takes nothing for ``write_timeout_ms``
        is cut)."""
        # (a plain function: what needs no wait returns a ready awaitable)
        core = self.core
        if core.state != OPEN or self.closed:
            return self.send_fragment(message)  # (raises ConnectionClosed)
        # (the core's send_text/send_binary, one call less)
        if isinstance(message, str):
            core.send_fragment(message, True, True, True)
        else:
            # a bytearray or memoryview as it is on MicroPython (its stream
            # copies what the socket does not take, before this returns or
            # its drain ends), copied on CPython (3.12+ keeps a view of it)
            core.send_fragment(message if _EVENT or isinstance(message, bytes) else bytes(message), False, True,
                               True)
        if core.failed:
            return self._flush()
        c = self._out()
        return _READY if c is None else c

    async def send_fragment(self, data, text=False, fin=False):
        """Send one fragment of a message; ``text`` is read on the first
        fragment, ``fin`` marks the last."""
        self._check()
        self.core.send_fragment(data, text, fin)
        await self.flush()

    def ping(self, data=b"", timeout_ms=None):
        """Send a ping and wait for its pong (a coroutine); returns the
        round trip in ms."""
        from microproto.ws_conn import ping

        return ping(self, data, timeout_ms)

    async def close(self, code=1000, reason=""):
        """Close handshake: send a Close, wait for the peer's (at most
        ``close_timeout_ms``), close the TCP connection."""
        if self.open:
            self.core.send_close(code, reason)
            await self._flush()
            self.rearm()
        await self.done.wait()

    async def wait_closed(self):
        await self.done.wait()

    # -- internals -------------------------------------------------------------

    def _check(self):  # (ws_conn)
        if not self.open:
            raise ConnectionClosed(self.core.close_code or 1006, self.core.close_reason)

    def on_events(self):
        core = self.core
        q = self._queue
        for ev in core.events_received():
            # (whole messages went to the queue: the core's sink)
            kind = ev[0]
            if kind == "fragment":
                q.append((ev[2], ev[1], ev[3]))
            elif kind == "pong":
                if self._pong_want is not None and ev[1] == self._pong_want:
                    self._pong_want = None
                    self._pong_ev.set()
            elif kind == "failed":
                # the Close goes out once the handler took what came before
                # (the core sends it anyway after close_timeout_ms)
                if q:
                    q.append(None)
                else:
                    core.send_fail_close()
        if len(q) >= self._max_queue:
            self._full = True
            self.go.clear()
        if (core.state == CLOSED or self.closed) and self._pong_ev is not None:
            self._pong_ev.set()
        if core.failed and core.state != OPEN and not self._eof_sent:
            # the Close is queued: once it is out, half-close (ws_conn)
            self._eof_sent = True
            if not self.closed:
                from microproto.ws_conn import eof_after_close

                asyncio.create_task(eof_after_close(self))
        if not q and not self.closed and core.state != CLOSED:
            return  # nothing for the handler (a read inside a large message): it sleeps on
        f = self._msg_ev
        if _EVENT:
            f.set()
        elif f is not None:
            self._msg_ev = None
            if not f.done():
                f.set_result(None)

    def _flush(self):
        # ``flush`` (the driver's: not overridden, so that a read costs no
        # coroutine), or after a failure the half-close once the Close is out
        if not self.core.failed:
            return self.flush()
        from microproto.ws_conn import flush_failed

        return flush_failed(self)

    def _end(self):
        Driven._end(self)
        try:
            self.writer.close()
        except OSError:
            pass


# builtins of the hot paths as module globals (see ws_protocol)
len, str, bytes, isinstance, StopAsyncIteration = len, str, bytes, isinstance, StopAsyncIteration

_EVENT = RUNTIME == "micropython"
# what a send that needs no wait returns: a ready awaitable, the same each
# time (nothing allocated). MicroPython awaits an iterator: one at its end
_READY = iter(())
if not _EVENT:
    # CPython (see microproto_port.streams): what awaits there
    WebSocket._next = streams.native(WebSocket._next)
    _READY = streams.READY


def _refusal(why):
    from microproto.ws_http import refusal

    return refusal(why)


class Server(Clock):
    """A listening WebSocket server (see ``serve``). ``gate``: its
    ``microproto.auth.Gate`` (``gate.sessions``: connections open). It is
    its connections' clock (``microproto.aio.Clock``: one task runs their
    keepalive pings, pong and close deadlines)."""

    def __init__(self, handler, options):
        self.handler = handler
        self.options = o = options
        self.gate = Gate(o.max_connections, o.fail_delay_ms, o.max_failures, o.max_failures_total,
                         o.failure_window_ms)
        self.connections = []
        self._server = None
        self._closing = False
        # the buffer every connection reads into and its core unmasks from:
        # one per server, a read is handed to the core at once (made with
        # the first connection)
        self._scratch = None

    def close(self):
        """Stop listening and close open connections with 1001."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        for ws in list(self.connections):
            if ws.open:
                asyncio.create_task(ws.close(1001, "server shutting down"))

    async def wait_closed(self):
        if self._server is not None:
            await self._server.wait_closed()
        for ws in list(self.connections):
            await ws.wait_closed()

    async def _read_request(self, reader):
        o = self.options
        parser = hs.RequestParser(o.max_line, o.max_headers)
        while True:
            data = await reader.read(o.read_size if o.read_size < 1024 else 1024)
            if not data:
                raise hs.HandshakeError(400, 1)  # connection closed during the request
            if parser.receive_data(data) is not None:
                return parser.request, parser.leftover

    async def _session(self, reader, writer, peer):
        # the handshake's frame is gone before the handler runs: an open
        # connection holds only this one
        ws = await self._handshake(reader, writer, peer)
        if ws is None:
            return
        ws, leftover = ws
        self.connections.append(ws)
        try:
            # frames pipelined behind the handshake are fed and answered now
            await ws.start(leftover)
            leftover = None
            try:
                await self.handler(ws)
            except ConnectionClosed:
                pass
            except Exception as e:
                print("websocket: handler error: %r" % (e,))
                if ws.open:
                    ws.core.fail(1011, "internal error", True)
                    await ws._flush()
                    ws.rearm()
            if ws.open:
                await ws.close(1000)
            await ws.done.wait()
        finally:
            await ws.finish()
            if ws in self.connections:
                self.connections.remove(ws)  # (finish woke the clock: it stops if none has a deadline)

    async def _handshake(self, reader, writer, peer):
        # (WebSocket, bytes after the head) once the 101 is sent, or None
        # (answered and closed)
        o = self.options
        t = o.write_timeout_ms
        try:
            # one deadline for the whole head: bytes trickling in do not extend it
            request, leftover = await asyncio.wait_for(self._read_request(reader), o.handshake_timeout_ms / 1000)
            if o.origins is not None or o.password is not None or o.http_handler is not None or o.auth is not None:
                from microproto.ws_http import check

                result = await check(self, request, peer)
            else:
                request._ws_key = hs.check_upgrade(request, o.legacy_webrepl)
                if self._closing:
                    raise hs.HandshakeError(503, "shutting down", [("Retry-After", "5")])
                result = None
        except asyncio.TimeoutError:
            await close_stream(writer)
            return None
        except hs.HandshakeError as e:
            from microproto import ws_http

            await ws_http.respond(writer, ws_http.error_response(e), t)
            return None
        if result is not None:
            from microproto.ws_http import answer

            await answer(writer, result, t)
            return None
        subprotocol = deflate = ext = None
        if o.subprotocols:
            subprotocol = hs.select_subprotocol(request, o.subprotocols)
        if o.compression == "deflate" and "Sec-WebSocket-Extensions" in request.headers:
            from microproto.ws_deflate import accept

            deflate, ext = accept(request.headers.get_all("Sec-WebSocket-Extensions"), o)
        core = ServerProtocol(
            max_size=o.max_size,
            max_frame=o.max_frame,
            stream=o.stream,
            deflate=deflate,
            ping_interval_ms=o.ping_interval_ms,
            ping_timeout_ms=o.ping_timeout_ms,
            close_timeout_ms=o.close_timeout_ms,
            scratch_size=self._scratch or o.read_size,  # (the server's buffer once made)
            allow_unmasked=o.legacy_webrepl,
            defer_close=True,
            now_ms=ticks_ms(),
            parts=True,
            binary_type=o.binary_type,
        )
        self._scratch = core._scratch
        ws = WebSocket(self, reader, writer, request, core, subprotocol, peer)
        try:
            key = request._ws_key
            request._ws_key = None  # (the connection does not keep it)
            await _write(writer, hs.accept_response(key, subprotocol, ext), t)
        except (OSError, asyncio.TimeoutError):
            await close_stream(writer)
            return None
        return ws, leftover


async def serve(handler, host="127.0.0.1", port=80, **options):
    """Start a WebSocket server: ``await handler(ws)`` runs for each
    connection. Returns a ``Server`` (``close()``, ``await wait_closed()``).
    Options and limits: see the module docstring."""
    o = _Options()
    for k in options:
        if k not in _Options.__dict__ or k[0] == "_":
            raise UsageError("unknown option %r" % k)
        setattr(o, k, options[k])
    if o.max_size is not None and o.max_size <= 0:
        o.max_size = None
    if o.read_size < 64:
        raise UsageError("read_size below 64")
    if o.binary_type is not bytes and o.binary_type is not bytearray:
        raise UsageError("binary_type is bytes or bytearray")
    ctx = o.ssl
    if ctx is None and o.certfile:
        from microproto_port import tls

        ctx = tls.server_context(o.certfile, o.keyfile or o.certfile)
    server = Server(handler, o)
    server._server = await _listen(server._session, host, port, server.gate, ctx, o.backlog, _refusal)
    server.port = port
    server.tls = ctx is not None
    return server


def main(argv=None):
    """Command line entry point (``microproto-websocket``): see
    ``microproto.websocket_cli``."""
    from microproto.websocket_cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    import sys

    # one copy of this module, whichever way it was started
    sys.modules["microproto.websocket"] = sys.modules["__main__"]
    sys.exit(main())
