"""WebSocket server (RFC 6455, RFC 7692) on asyncio, for CPython and MicroPython.

    from microproto import websocket

    async def echo(ws):
        async for message in ws:          # str (text) or bytes (binary)
            await ws.send(message)

    server = await websocket.serve(echo, "0.0.0.0", 8080)
    ...
    server.close(); await server.wait_closed()

Command line: ``python -m microproto.websocket --host H --port P --echo``
(``--help`` for the options); the same on ``tools/micropython``.

Options of ``serve`` (all keyword, every limit with a safe default):

- ``certfile``/``keyfile`` (or ``ssl``: a server context): wss.
- ``subprotocols``: names the server speaks, in order of preference.
- ``origins``: allowed ``Origin`` values (403 otherwise); None: any.
- ``auth(request)``: True to accept, False (401) or an HTTP status to
  refuse; may be a coroutine function. ``password``: shortcut requiring
  HTTP Basic credentials with that password (any user name; 401 without
  credentials, 403 with a wrong password; constant-time comparison).
- ``http_handler(request)``: answers requests that are not upgrades
  (a page served on the same port): return ``(status, headers, body)``
  with ``body`` bytes, str or a binary file object (streamed), or None for
  404. ``static_handler(root)`` makes one that serves files.
- ``max_size`` (1 MiB; None: no limit): largest message and frame (1009).
  ``max_frame``: largest frame if different.
- ``stream``: deliver messages as fragments (``recv_fragment``) without
  joining them; ``recv`` still joins (up to ``max_size``).
- ``max_queue`` (16): received messages held for the handler; reading
  from the socket pauses when full (backpressure).
- ``max_connections`` (8): further clients get 503 at the handshake.
- ``handshake_timeout_ms`` (10 s), ``close_timeout_ms`` (5 s),
  ``ping_interval_ms`` (20 s; None: no keepalive), ``ping_timeout_ms``
  (20 s; no pong in time: close 1011).
- ``compression`` ("deflate" or None), ``deflate_level`` (6),
  ``deflate_mem_level`` (8), ``max_window_bits`` (15: the largest client
  window inflated; lower it on a board to save RAM).
- ``max_line`` (4096), ``max_headers`` (48): request head limits (400/431).
- ``read_size`` (4096): bytes per socket read.
- ``legacy_webrepl`` (False): for the device console only, accept what old
  WebREPL tools send against RFC 6455: unmasked client frames, no
  Sec-WebSocket-Version, a key that is not 16 bytes of base64.
"""

import asyncio
import sys

from microproto import ws_handshake as hs
from microproto.errors import PeerError, UsageError
from microproto.ws_protocol import CLOSED, OPEN, ServerProtocol
from microproto_port import ticks_diff, ticks_ms


class ConnectionClosed(PeerError):
    """The WebSocket connection is closed: ``code`` and ``reason`` are the
    peer's Close (1006: it ended without one)."""

    def __init__(self, code, reason=""):
        super().__init__(reason or "connection closed", code)


_DEBUG = False


def _log(msg):
    print("websocket: " + msg)


async def _maybe_await(x):
    if hasattr(x, "send") and hasattr(x, "throw"):
        return await x
    return x


def _basic_password(request):
    v = request.headers.get("Authorization")
    if not v or not v[:6].lower() == "basic ":
        return None
    import binascii

    try:
        raw = binascii.a2b_base64(v[6:].strip())
    except ValueError:  # binascii.Error is a ValueError
        return b""
    c = raw.find(b":")
    return raw[c + 1 :] if c >= 0 else b""


class WebSocket:
    """One accepted connection, given to the handler.

    Attributes: ``path``, ``request`` (method, target, query, headers),
    ``request_headers``, ``subprotocol``, ``remote_address``,
    ``close_code``/``close_reason`` (after the close).
    """

    def __init__(self, server, reader, writer, request, core, subprotocol, remote_address):
        self._server = server
        self._reader = reader
        self._writer = writer
        self._core = core
        self.request = request
        self.path = request.path
        self.request_headers = request.headers
        self.subprotocol = subprotocol
        self.remote_address = remote_address
        self._opt = server.options
        self._lock = asyncio.Lock()
        self._queue = []
        self._msg_ev = asyncio.Event()
        self._space_ev = asyncio.Event()
        self._wake = asyncio.Event()
        self._done_ev = asyncio.Event()
        self._pong_ev = asyncio.Event()
        self._fail_ev = asyncio.Event()
        self._pong_want = None
        self._done = False
        self._eof_sent = False
        self._partial = None

    # -- public API ----------------------------------------------------------

    @property
    def open(self):
        return self._core.state == OPEN and not self._done

    @property
    def close_code(self):
        return self._core.close_code

    @property
    def close_reason(self):
        return self._core.close_reason

    async def recv(self):
        """The next message: ``str`` for text, ``bytes`` for binary.
        Raises ``ConnectionClosed`` once the connection is closed and every
        received message was read."""
        if not self._core.stream:
            return (await self._next())[0]
        parts = []
        size = 0
        limit = self._core.max_size
        while True:
            data, text, fin = await self._next()
            size += len(data)
            if limit is not None and size > limit:
                await self.close(1009, "message too big")
                raise ConnectionClosed(1009, "message too big")
            parts.append(data)
            if fin:
                b = b"".join(parts)
                return str(b, "utf-8") if text else b

    async def recv_fragment(self):
        """The next piece of a message: ``(data, is_text, fin)``. With the
        ``stream`` option the pieces are whatever arrived (text as UTF-8
        bytes, possibly ending inside a character), without joining; else
        each whole message is one piece (``fin`` True)."""
        item = await self._next()
        if not self._core.stream:
            m = item[0]
            return m, isinstance(m, str), True
        return item

    async def _next(self):
        while True:
            if self._queue:
                item = self._queue.pop(0)
                self._space_ev.set()
                if item is None:
                    # the peer's fault comes after the messages before it
                    await self._send_fail_close()
                    continue
                return item
            if self._done or self._core.state == CLOSED:
                raise ConnectionClosed(self._core.close_code or 1006, self._core.close_reason)
            self._msg_ev.clear()
            await self._msg_ev.wait()

    def __aiter__(self):
        return self

    async def __anext__(self):
        try:
            return await self.recv()
        except ConnectionClosed:
            raise StopAsyncIteration

    async def send(self, message):
        """Send ``str`` as text, ``bytes``/``bytearray``/``memoryview`` as binary.
        Waits until the data is handed to the transport (backpressure)."""
        self._check()
        if isinstance(message, str):
            self._core.send_text(message)
        else:
            self._core.send_binary(message)
        await self._flush()

    async def send_fragment(self, data, text=False, fin=False):
        """Send one fragment of a message; ``text`` is read on the first
        fragment, ``fin`` marks the last."""
        self._check()
        self._core.send_fragment(data, text, fin)
        await self._flush()

    async def ping(self, data=b"", timeout_ms=None):
        """Send a ping and wait for its pong; returns the round trip in ms."""
        self._check()
        if isinstance(data, str):
            data = data.encode()
        data = bytes(data)
        self._pong_want = data
        self._pong_ev.clear()
        t0 = ticks_ms()
        self._core.send_ping(data)
        await self._flush()
        if timeout_ms is None:
            await self._pong_ev.wait()
        else:
            await asyncio.wait_for(self._pong_ev.wait(), timeout_ms / 1000)
        if self._pong_want is not None:
            raise ConnectionClosed(self._core.close_code or 1006, self._core.close_reason)
        return ticks_diff(ticks_ms(), t0)

    async def close(self, code=1000, reason=""):
        """Close handshake: send a Close, wait for the peer's (at most
        ``close_timeout_ms``), close the TCP connection."""
        if self._core.state == OPEN and not self._done:
            self._core.send_close(code, reason)
            await self._flush()
            self._wake.set()
        await self._done_ev.wait()

    async def wait_closed(self):
        await self._done_ev.wait()

    # -- internals -------------------------------------------------------------

    def _check(self):
        if self._core.state != OPEN or self._done:
            raise ConnectionClosed(self._core.close_code or 1006, self._core.close_reason)

    async def _flush(self):
        async with self._lock:
            data = self._core.data_to_send()
            if not data or self._done:
                return
            try:
                self._writer.write(data)
                await self._writer.drain()
            except OSError:
                self._finish()

    async def _send_fail_close(self):
        core = self._core
        if core.failed and core.state == OPEN:
            if None in self._queue:
                self._queue.remove(None)
            core.send_fail_close()
            self._fail_ev.set()
            await self._flush()
            self._wake.set()

    def _dispatch(self):
        for ev in self._core.events_received():
            kind = ev[0]
            if kind == "text" or kind == "binary":
                self._queue.append((ev[1],))
                self._msg_ev.set()
            elif kind == "fragment":
                self._queue.append((ev[2], ev[1], ev[3]))
                self._msg_ev.set()
            elif kind == "pong":
                if self._pong_want is not None and ev[1] == self._pong_want:
                    self._pong_want = None
                    self._pong_ev.set()
            elif kind == "close":
                self._msg_ev.set()
            elif kind == "failed":
                self._queue.append(None)
                self._msg_ev.set()

    async def _read_loop(self):
        core = self._core
        read_size = self._opt["read_size"]
        max_queue = self._opt["max_queue"]
        try:
            while not self._done:
                if len(self._queue) >= max_queue:
                    self._space_ev.clear()
                    await self._space_ev.wait()
                    continue
                try:
                    data = await self._reader.read(read_size)
                except OSError:
                    data = b""
                core.tick(ticks_ms())
                try:
                    core.receive_data(data)
                except MemoryError as e:
                    if _DEBUG:
                        sys.print_exception(e)
                    core.fail(1009, "out of memory")
                except Exception as e:  # a bug must cost one connection only
                    _log("internal error: %r" % (e,))
                    core.fail(1011, "internal error")
                self._dispatch()
                await self._flush()
                if core.failed and not self._eof_sent:
                    if None in self._queue:
                        # let the handler answer what came before the fault
                        try:
                            await asyncio.wait_for(self._fail_ev.wait(), self._opt["close_timeout_ms"] / 1000)
                        except asyncio.TimeoutError:
                            pass
                    await self._send_fail_close()
                    self._eof_sent = True
                    self._half_close()
                self._wake.set()
                if core.close_expected() or not data:
                    break
        finally:
            self._finish()

    def _half_close(self):
        # After failing, tell the peer we are done writing so that it closes
        # (MicroPython streams cannot: the peer's Close or the timeout ends it).
        w = self._writer
        try:
            if hasattr(w, "can_write_eof") and w.can_write_eof():
                w.write_eof()
        except OSError:
            pass

    async def _timer_loop(self):
        core = self._core
        while not self._done:
            d = core.next_deadline_ms()
            self._wake.clear()
            if d is None:
                await self._wake.wait()
            else:
                wait = ticks_diff(d, ticks_ms())
                if wait > 0:
                    try:
                        await asyncio.wait_for(self._wake.wait(), wait / 1000)
                    except asyncio.TimeoutError:
                        pass
            if self._done:
                break
            core.tick(ticks_ms())
            self._dispatch()
            await self._flush()
            if core.close_expected():
                self._finish()

    def _finish(self):
        if self._done:
            return
        self._done = True
        core = self._core
        if core.state != CLOSED:
            core.receive_data(b"")
            self._dispatch()
        try:
            self._writer.close()
        except OSError:
            pass
        self._msg_ev.set()
        self._space_ev.set()
        self._wake.set()
        self._pong_ev.set()
        self._fail_ev.set()
        self._done_ev.set()


def static_handler(root, index="index.html"):
    """An ``http_handler`` serving the files under directory ``root``
    (GET/HEAD only, no ``..``; 404 for anything else)."""
    import os

    types = {"html": "text/html; charset=utf-8", "js": "text/javascript", "css": "text/css",
             "json": "application/json", "png": "image/png", "svg": "image/svg+xml",
             "txt": "text/plain; charset=utf-8", "ico": "image/x-icon"}

    def handler(request):
        if request.method not in ("GET", "HEAD"):
            return 405, [("Allow", "GET, HEAD")], b""
        path = request.path
        if ".." in path or "\\" in path or not path.startswith("/"):
            return 404, [], b"not found\n"
        if path.endswith("/"):
            path += index
        full = root.rstrip("/") + path
        try:
            size = os.stat(full)[6]
            f = open(full, "rb")
        except OSError:
            return None
        ext = path.rsplit(".", 1)[-1] if "." in path else ""
        hdrs = [("Content-Type", types.get(ext, "application/octet-stream")), ("Content-Length", str(size))]
        if request.method == "HEAD":
            f.close()
            return 200, hdrs, b""
        return 200, hdrs, f

    return handler


class Server:
    """A listening WebSocket server (see ``serve``)."""

    def __init__(self, handler, options):
        self.handler = handler
        self.options = options
        self.active = 0
        self.connections = []
        self._server = None
        self._closing = False

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

    async def _write_close(self, writer, data, body=None):
        try:
            writer.write(data)
            await writer.drain()
            if body is not None:
                buf = bytearray(2048)
                while True:
                    n = body.readinto(buf)
                    if not n:
                        break
                    writer.write(bytes(memoryview(buf)[:n]))
                    await writer.drain()
        except OSError:
            pass
        finally:
            if body is not None:
                body.close()
        try:
            writer.close()
            await writer.wait_closed()
        except OSError:
            pass

    async def _read_request(self, reader):
        o = self.options
        parser = hs.RequestParser(o["max_line"], o["max_headers"])
        while True:
            data = await reader.read(o["read_size"])
            if not data:
                raise hs.HandshakeError(400, "connection closed during the request")
            if parser.receive_data(data) is not None:
                return parser.request, parser.leftover

    async def _accept(self, reader, writer):
        self.active += 1
        try:
            await self._connection(reader, writer)
        except Exception as e:  # one connection must never end the server
            _log("connection error: %r" % (e,))
            try:
                writer.close()
            except OSError:
                pass
        finally:
            self.active -= 1

    async def _connection(self, reader, writer):
        o = self.options
        try:
            request, leftover = await asyncio.wait_for(
                self._read_request(reader), o["handshake_timeout_ms"] / 1000
            )
            result = await self._check(request)
        except asyncio.TimeoutError:
            await self._write_close(writer, b"")
            return
        except hs.HandshakeError as e:
            await self._write_close(writer, hs.error_response(e))
            return
        if result is not None:
            status, headers, body = result
            f = None
            if isinstance(body, str):
                body = body.encode()
            elif body is not None and not isinstance(body, (bytes, bytearray)):
                f = body
                body = b""
            headers = list(headers) + [("Connection", "close")]
            if f is None:
                data = hs.response(status, headers, body or b"")
            else:
                data = hs.response(status, headers, b"")
                # Content-Length comes from the handler's own headers
                data = data.replace(b"Content-Length: 0\r\n", b"", 1)
            await self._write_close(writer, data, f)
            return
        key = request._ws_key
        subprotocol = hs.select_subprotocol(request, o["subprotocols"])
        deflate = None
        ext = None
        if o["compression"] == "deflate":
            deflate, ext = self._negotiate(request)
        core = ServerProtocol(
            max_size=o["max_size"],
            max_frame=o["max_frame"],
            stream=o["stream"],
            deflate=deflate,
            ping_interval_ms=o["ping_interval_ms"],
            ping_timeout_ms=o["ping_timeout_ms"],
            close_timeout_ms=o["close_timeout_ms"],
            scratch_size=o["read_size"],
            allow_unmasked=o["legacy_webrepl"],
            defer_close=True,
            now_ms=ticks_ms(),
        )
        peer = writer.get_extra_info("peername")
        if peer is not None and not isinstance(peer, tuple):
            try:
                import socket

                ip, port = socket.sockaddr(peer)[1:3]
                if isinstance(ip, (bytes, bytearray)) and len(ip) == 4:
                    ip = "%d.%d.%d.%d" % (ip[0], ip[1], ip[2], ip[3])
                peer = (ip, port)
            except (AttributeError, ImportError, OSError, TypeError, ValueError):
                pass
        ws = WebSocket(self, reader, writer, request, core, subprotocol, peer)
        try:
            writer.write(hs.accept_response(key, subprotocol, ext))
            await writer.drain()
        except OSError:
            writer.close()
            return
        if leftover:
            core.receive_data(leftover)
            ws._dispatch()
        self.connections.append(ws)
        rt = asyncio.create_task(ws._read_loop())
        tt = asyncio.create_task(ws._timer_loop())
        try:
            try:
                await self.handler(ws)
            except ConnectionClosed:
                pass
            except Exception as e:
                _log("handler error: %r" % (e,))
                if ws.open:
                    core.fail(1011, "internal error")
                    await ws._flush()
                    ws._wake.set()
            if ws.open:
                await ws.close(1000)
            await ws._done_ev.wait()
        finally:
            ws._finish()
            for t in (rt, tt):
                try:
                    t.cancel()
                except (RuntimeError, ValueError):
                    pass
            try:
                await writer.wait_closed()
            except OSError:
                pass
            if ws in self.connections:
                self.connections.remove(ws)

    def _negotiate(self, request):
        from microproto import ws_deflate
        from microproto_port import inflate

        if not getattr(inflate, "AVAILABLE", True):
            return None, None
        offers = request.headers.get_all("Sec-WebSocket-Extensions")
        if not offers:
            return None, None
        o = self.options
        r = ws_deflate.negotiate(offers, inflate.CAN_COMPRESS, inflate.CAN_TAKEOVER, o["max_window_bits"])
        if r is None:
            return None, None
        params, header = r
        return ws_deflate.PerMessageDeflate(params, inflate, o["deflate_level"], o["deflate_mem_level"]), header

    async def _check(self, request):
        """None to upgrade (key kept on the request), else a response
        ``(status, headers, body)``; raises ``HandshakeError``."""
        o = self.options
        if not hs.is_upgrade(request) and o["http_handler"] is not None:
            r = await _maybe_await(o["http_handler"](request))
            if r is None:
                return 404, [("Content-Type", "text/plain")], b"not found\n"
            return r
        key = hs.check_upgrade(request, o["legacy_webrepl"])
        if self._closing or self.active > o["max_connections"]:
            raise hs.HandshakeError(503, "too many connections", [("Retry-After", "5")])
        origins = o["origins"]
        if origins is not None and request.headers.get("Origin") not in origins:
            raise hs.HandshakeError(403, "origin not allowed")
        if o["password"] is not None:
            got = _basic_password(request)
            if got is None:
                raise hs.HandshakeError(401, "password required", [("WWW-Authenticate", 'Basic realm="microproto"')])
            want = o["password"]
            from microproto.auth import password_equal

            if not password_equal(got, want):
                raise hs.HandshakeError(403, "wrong password")
        if o["auth"] is not None:
            ok = await _maybe_await(o["auth"](request))
            if ok is not True:
                status = ok if isinstance(ok, int) and not isinstance(ok, bool) else 401
                extra = [("WWW-Authenticate", 'Basic realm="microproto"')] if status == 401 else []
                raise hs.HandshakeError(status, "not authorized", extra)
        request._ws_key = key
        return None


_DEFAULTS = {
    "ssl": None,
    "certfile": None,
    "keyfile": None,
    "subprotocols": None,
    "origins": None,
    "auth": None,
    "password": None,
    "http_handler": None,
    "max_size": 1 << 20,
    "max_frame": None,
    "stream": False,
    "max_queue": 16,
    "max_connections": 8,
    "handshake_timeout_ms": 10000,
    "close_timeout_ms": 5000,
    "ping_interval_ms": 20000,
    "ping_timeout_ms": 20000,
    "compression": "deflate",
    "deflate_level": 6,
    "deflate_mem_level": 8,
    "max_window_bits": 15,
    "max_line": 4096,
    "max_headers": 48,
    "read_size": 4096,
    "backlog": 5,
    "legacy_webrepl": False,
}


async def serve(handler, host="0.0.0.0", port=80, **options):
    """Start a WebSocket server: ``await handler(ws)`` runs for each
    connection. Returns a ``Server`` (``close()``, ``await wait_closed()``).
    Options and limits: see the module docstring."""
    for k in options:
        if k not in _DEFAULTS:
            raise UsageError("unknown option %r" % k)
    o = dict(_DEFAULTS)
    o.update(options)
    if o["max_size"] is not None and o["max_size"] <= 0:
        o["max_size"] = None
    if o["read_size"] < 64:
        raise UsageError("read_size below 64")
    ctx = o["ssl"]
    if ctx is None and o["certfile"]:
        from microproto_port import tls

        ctx = tls.server_context(o["certfile"], o["keyfile"] or o["certfile"])
    server = Server(handler, o)
    if ctx is not None:
        server._server = await asyncio.start_server(server._accept, host, port, backlog=o["backlog"], ssl=ctx)
    else:
        server._server = await asyncio.start_server(server._accept, host, port, backlog=o["backlog"])
    server.port = port
    server.tls = ctx is not None
    return server


async def echo_handler(ws):
    """Send every message back as it came (text as text)."""
    async for message in ws:
        await ws.send(message)


def heap_echo_handler(server_ref):
    """The echo handler, plus heap figures for benchmarks (``--heap-report``):
    the text ``__heap__`` answers ``"<bytes in use after a collection>
    <connections>"``; ``__heapstart__`` collects and stops automatic
    collection, ``__heapend__`` answers the bytes allocated since and
    restarts it."""
    import gc

    state = [0]

    async def handler(ws):
        async for message in ws:
            if message == "__heap__":
                gc.collect()
                n = gc.mem_alloc() if hasattr(gc, "mem_alloc") else -1
                await ws.send("%d %d" % (n, len(server_ref[0].connections)))
            elif message == "__heapstart__":
                gc.collect()
                state[0] = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
                gc.disable()
                await ws.send("ok")
            elif message == "__heapend__":
                n = (gc.mem_alloc() - state[0]) if hasattr(gc, "mem_alloc") else -1
                gc.enable()
                await ws.send("%d" % n)
            else:
                await ws.send(message)

    return handler


async def stream_echo_handler(ws):
    """Send every message back fragment by fragment, never joining it."""
    while True:
        try:
            data, text, fin = await ws.recv_fragment()
        except ConnectionClosed:
            return
        await ws.send_fragment(data, text, fin)


_USAGE = """usage: python -m microproto.websocket --host H --port P --echo [options]

Run a WebSocket echo server.

  --host H            address to listen on (default 127.0.0.1)
  --port P            TCP port (default 8080)
  --echo              echo every message back (required for now)
  --stream            echo fragment by fragment without joining messages
  --max-size N        largest message/frame in bytes, 0 for none (default 1048576)
  --certfile F        TLS certificate (PEM): serve wss://
  --keyfile F         TLS private key (PEM)
  --origin O          allowed Origin (repeat for more; default: any)
  --password P        require HTTP Basic auth with this password
  --no-compression    do not negotiate permessage-deflate
  --ping-interval-ms N  keepalive pings (0: off; default 20000)
  --ping-timeout-ms N   close (1011) when no pong comes in time (default 20000)
  --handshake-timeout-ms N  (default 10000)
  --close-timeout-ms N      (default 5000)
  --read-size N       bytes per socket read (default 4096)
  --max-connections N (default 8)
  --heap-report       benchmarks: answer __heap__/__heapstart__/__heapend__ with heap figures
  -h, --help          show this help
"""


def _parse_args(argv):
    opts = {"host": "127.0.0.1", "port": 8080, "echo": False, "origins": None}
    serve_opts = {}
    flags = {"--echo": "echo", "--stream": "stream", "--no-compression": "nocomp", "--heap-report": "heap"}
    ints = {"--port": "port", "--max-size": "max_size", "--ping-interval-ms": "ping_interval_ms",
            "--ping-timeout-ms": "ping_timeout_ms", "--handshake-timeout-ms": "handshake_timeout_ms",
            "--close-timeout-ms": "close_timeout_ms", "--read-size": "read_size",
            "--max-connections": "max_connections"}
    strs = {"--host": "host", "--certfile": "certfile", "--keyfile": "keyfile", "--password": "password"}
    i = 0
    while i < len(argv):
        a = argv[i]
        val = None
        if a.startswith("--") and "=" in a:
            a, val = a.split("=", 1)
        if a in ("-h", "--help"):
            return None
        if a in flags:
            opts[flags[a]] = True
            i += 1
            continue
        if a in ints or a in strs or a == "--origin":
            if val is None:
                if i + 1 >= len(argv):
                    raise UsageError("%s needs a value" % a)
                val = argv[i + 1]
                i += 1
            i += 1
            if a == "--origin":
                opts["origins"] = (opts["origins"] or []) + [val]
            elif a in ints:
                try:
                    opts[ints[a]] = int(val)
                except ValueError:
                    raise UsageError("%s needs a number" % a)
            else:
                opts[strs[a]] = val
            continue
        raise UsageError("unknown argument %r" % a)
    for k in ("max_size", "ping_interval_ms", "ping_timeout_ms", "handshake_timeout_ms", "close_timeout_ms",
              "read_size", "max_connections", "certfile", "keyfile", "password"):
        if k in opts:
            serve_opts[k] = opts[k]
    if "ping_interval_ms" in serve_opts and serve_opts["ping_interval_ms"] <= 0:
        serve_opts["ping_interval_ms"] = None
    if opts.get("stream"):
        serve_opts["stream"] = True
    if opts.get("nocomp"):
        serve_opts["compression"] = None
    if opts["origins"] is not None:
        serve_opts["origins"] = opts["origins"]
    return opts, serve_opts


def main(argv=None):
    """Command line entry point (``microproto-websocket``)."""
    if argv is None:
        argv = sys.argv[1:]
    try:
        parsed = _parse_args(argv)
    except UsageError as e:
        print("error: %s\n" % e.reason + _USAGE)
        return 2
    if parsed is None:
        print(_USAGE)
        return 0
    opts, serve_opts = parsed
    if not opts["echo"]:
        print("error: choose a mode (--echo)\n" + _USAGE)
        return 2
    handler = stream_echo_handler if opts.get("stream") else echo_handler
    server_ref = [None]
    if opts.get("heap"):
        handler = heap_echo_handler(server_ref)

    async def run():
        server = await serve(handler, opts["host"], opts["port"], **serve_opts)
        server_ref[0] = server
        scheme = "wss" if server.tls else "ws"
        print("listening on %s://%s:%d/" % (scheme, opts["host"], opts["port"]))
        if hasattr(sys.stdout, "flush"):
            sys.stdout.flush()
        await server.wait_closed()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
