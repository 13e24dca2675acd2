"""What the WebSocket server needs beyond a well-formed plain upgrade,
loaded when first used (a server without these options, serving well-formed
upgrades, never loads it): HTTP responses (``response``, ``status_text``),
subprotocol selection, the checks of the ``origins``, ``password``, ``auth``
and ``http_handler`` options, and answers from an ``http_handler`` (bytes,
str or a file streamed through one 1 KiB buffer). What only a refused
request needs (``HandshakeError`` and the text of each refusal,
``error_response``, ``refusal`` at accept) and what no server path uses
(``Headers``, ``accept_key``, ``GUID``, ``VERSION``) live in
``microproto.ws_refuse``, loaded with the first refusal and reachable from
here; ``static_handler`` (``microproto.ws_static``) too. What
``microproto.ws_handshake`` lists as reachable from it is reachable here.
"""

from microproto.ws_handshake import check_upgrade, throw
from microproto_port import ticks_ms

# reason phrases, one "CODE Phrase" a line (bytes: one object, no names)
_REASONS = (b"101 Switching Protocols\n200 OK\n204 No Content\n304 Not Modified\n400 Bad Request\n"
            b"401 Unauthorized\n403 Forbidden\n404 Not Found\n405 Method Not Allowed\n426 Upgrade Required\n"
            b"429 Too Many Requests\n431 Request Header Fields Too Large\n500 Internal Server Error\n"
            b"503 Service Unavailable\n")


def __getattr__(name):
    # HandshakeError, error_response, refusal, Headers, accept_key, GUID,
    # VERSION: microproto.ws_refuse; static_handler: microproto.ws_static
    if name[:1] == "_":
        raise AttributeError(name)  # (probes for __path__ and the like)
    if name == "static_handler":
        from microproto import ws_static as m
    else:
        from microproto import ws_refuse as m
    return getattr(m, name)


def tokens(values):
    """Comma-separated tokens of one or more header values, lower-cased."""
    out = []
    for v in values:
        for t in v.split(","):
            t = t.strip().lower()
            if t:
                out.append(t)
    return out


def is_upgrade(request):
    """True if the request asks for a WebSocket (the Upgrade header)."""
    return "websocket" in tokens(request.headers.get_all("Upgrade"))


def status_text(status):
    """The reason phrase of an HTTP status code ("Unknown" if not ours)."""
    i = _REASONS.find(b"%d " % status)
    if i < 0:
        return "Unknown"
    return str(_REASONS[i + 4 : _REASONS.find(b"\n", i)], "ascii")


def select_subprotocol(request, supported):
    """The first of ``supported`` (server order) that the client offered."""
    if not supported:
        return None
    offered = []
    for v in request.headers.get_all("Sec-WebSocket-Protocol"):
        for t in v.split(","):
            offered.append(t.strip())
    for p in supported:
        if p in offered:
            return p
    return None


def response(status, headers=(), body=b"", reason=None):
    """An HTTP/1.1 response head (and body) as bytes."""
    parts = ["HTTP/1.1 %d %s\r\n" % (status, reason or status_text(status))]
    for k, v in headers:
        parts.append("%s: %s\r\n" % (k, v))
    if status != 101:
        parts.append("Content-Length: %d\r\n" % len(body))
    parts.append("\r\n")
    return "".join(parts).encode() + body


def _basic_password(request):
    v = request.headers.get("Authorization")
    if not v or not v[:6].lower() == "basic ":
        return None
    import binascii

    try:
        # bytes: micropython-lib's binascii (the WebAssembly port's) takes
        # no str
        raw = binascii.a2b_base64(v[6:].strip().encode())
    except Exception:  # binascii.Error (ValueError); micropython-lib's raises Exception
        return b""
    c = raw.find(b":")
    return raw[c + 1 :] if c >= 0 else b""


async def check(server, request, peer):
    """The check of a request head with the ``origins``, ``password``,
    ``http_handler`` or ``auth`` options: None to upgrade (key kept on the
    request), else a response ``(status, headers, body)``; raises
    ``HandshakeError``."""
    o = server.options
    origins = o.origins
    if origins is None and o.password is not None:
        origins = "same"
    origin = request.headers.get("Origin")
    if origins == "same":
        # a page of this server (Origin's host is the Host), or no browser
        if origin is not None and origin.split("://", 1)[-1].rstrip("/").lower() != (
                request.headers.get("Host") or "").lower():
            throw(403, 17)  # origin not allowed
    elif origins is not None and origin not in origins:
        throw(403, 17)
    if o.password is not None:
        got = _basic_password(request)
        if got is None:
            throw(401, 19)  # password required (with WWW-Authenticate)
        ok = server.gate.check(peer and peer[0], got, o.password, ticks_ms())
        if ok is None:
            throw(429, 21)  # too many failed logins (with Retry-After)
        if not ok:
            throw(403, 18)  # wrong password
    if not is_upgrade(request) and o.http_handler is not None:
        request.peer = peer  # (ip, port) or None: a route may throttle per address
        r = o.http_handler(request)
        if hasattr(r, "send") and hasattr(r, "throw"):  # (a coroutine: the handler may be async)
            r = await r
        if r is None:
            return 404, [["Content-Type", "text/plain"]], b"not found\n"
        return r
    key = check_upgrade(request, o.legacy_webrepl)
    if server._closing:
        throw(503, 22)  # shutting down (with Retry-After)
    if o.auth is not None:
        ok = o.auth(request)
        if hasattr(ok, "send") and hasattr(ok, "throw"):
            ok = await ok
        if ok is not True:
            # not authorized (with WWW-Authenticate if 401)
            throw(ok if isinstance(ok, int) and not isinstance(ok, bool) else 401, 20)
    request._ws_key = key
    return None


async def respond(writer, data, timeout_ms, body=None):
    """Write ``data`` (and ``body``, a binary file, read into one 1 KiB
    buffer and written from it, no copy), then close the connection."""
    import asyncio

    from microproto.aio import close_stream
    from microproto.aio import write as _write
    from microproto_port import streams

    try:
        await _write(writer, data, timeout_ms)
        if body is not None:
            # each write drains to empty (within timeout_ms) before the
            # buffer is read into again: see streams.reuse_safe
            streams.reuse_safe(writer)
            buf = bytearray(1024)
            mv = memoryview(buf)
            while True:
                n = body.readinto(buf)
                if not n:
                    break
                await _write(writer, mv[:n], timeout_ms)
    except (OSError, asyncio.TimeoutError):
        pass
    finally:
        if body is not None:
            body.close()
    await close_stream(writer, timeout_ms)


async def answer(writer, result, timeout_ms):
    """Send an ``http_handler``'s ``(status, headers, body)`` and close."""
    status, headers, body = result
    f = None
    if isinstance(body, str):
        body = body.encode()
    elif body is not None and not isinstance(body, (bytes, bytearray)):
        f = body
        body = b""
    headers = list(headers) + [["Connection", "close"]]
    data = response(status, headers, body or b"")
    if f is not None:
        # Content-Length comes from the handler's own headers
        data = data.replace(b"Content-Length: 0\r\n", b"", 1)
    await respond(writer, data, timeout_ms, f)
