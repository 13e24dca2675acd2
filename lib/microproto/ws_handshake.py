"""WebSocket opening handshake, server side (RFC 6455 4.2), sans-I/O.

``RequestParser`` reads an HTTP/1.1 request head from bytes with bounded
lines and header count; ``check_upgrade`` validates it as a WebSocket
upgrade; ``accept_key``, ``accept_response`` build the reply. Failures are
``HandshakeError(status, reason, headers)``: the HTTP status to answer with.
What a plain upgrade does not need lives in ``microproto.ws_http`` and is
loaded when first used, still reachable from here: ``response``,
``error_response``, ``status_text``, ``select_subprotocol``.

Limits: ``max_line`` bytes per request or header line (request line over
it: 400, header line: 431), ``max_headers`` header lines (431).
"""

import binascii
import hashlib

from microproto.errors import PeerError

# RFC 6455 1.3
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
VERSION = "13"

# visible ASCII that is not in a token (RFC 9110 5.6.2)
_DELIMS = b'"(),/:;<=>?@[\\]{}'


# why a request is refused, one reason a line: ``HandshakeError`` takes a
# line's number (one string object instead of one per reason)
_WHY = ("request head is not UTF-8\nconnection closed during the request\nrequest line too long\n"
        "header line too long\nmalformed request line\nunsupported HTTP version\n"
        "obsolete header line folding\ntoo many header lines\nmalformed header line\n"
        "method must be GET\nHTTP/1.1 required\nnot a WebSocket upgrade\n"
        "Connection header must contain Upgrade\nexactly one Host header required\n"
        "unsupported WebSocket version\nexactly one Sec-WebSocket-Key required\n"
        "Sec-WebSocket-Key must be 16 bytes in base64")


def __getattr__(name):
    # response, error_response, status_text, select_subprotocol
    if name[:2] == "__":
        raise AttributeError(name)  # (probes for __path__ and the like)
    from microproto import ws_http

    return getattr(ws_http, name)


class HandshakeError(PeerError):
    """The request cannot be upgraded: answer with ``status``
    (``reason``: text, or the number of a line of ``_WHY``)."""

    def __init__(self, status, reason, headers=()):
        if type(reason) is int:
            reason = _WHY.split("\n")[reason]
        super().__init__(reason, status)
        self.status = status
        self.headers = list(headers)


class Headers:
    """Request headers: case-insensitive lookup, order and repeats kept.

    ``Headers(items)`` from ``(name, value)`` pairs; the parser keeps the
    header lines as they came instead (``lines``: one string, ``"Name:
    value"`` a line), and the pairs are made when asked for: a connection
    holds one string, not two per header."""

    def __init__(self, items=(), lines=None):
        self._items = list(items) if lines is None else lines

    def items(self):
        """The ``(name, value)`` pairs, in order."""
        t = self._items
        if type(t) is list:
            return list(t)
        out = []
        for line in t.split("\n"):
            c = line.find(":")
            out.append((line[:c], line[c + 1 :].strip()))
        return out

    def get(self, name, default=None):
        name = name.lower()
        for k, v in self.items():
            if k.lower() == name:
                return v
        return default

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self.items() if k.lower() == name]

    def __getitem__(self, name):
        v = self.get(name)
        if v is None:
            raise KeyError(name)
        return v

    def __contains__(self, name):
        return self.get(name) is not None

    def __iter__(self):
        return iter(self.items())

    def __len__(self):
        return len(self.items())

    def __repr__(self):
        return "Headers(%r)" % (self.items(),)


class Request:
    """A parsed request head: ``method``, ``target`` (as sent), ``path``
    (without the query), ``query``, ``version``, ``headers``."""

    def __init__(self, method, target, version, headers):
        # the usual method and version: the module's own strings, not a
        # copy per connection
        self.method = "GET" if method == "GET" else method
        self.target = target
        self.version = "HTTP/1.1" if version == "HTTP/1.1" else version
        self.headers = headers
        q = target.find("?")
        self.path = target if q < 0 else target[:q]
        self.query = "" if q < 0 else target[q + 1 :]


def _is_token(b):
    # b (bytes: a method, a header name) is a token; checked as bytes, not
    # as str: on MicroPython each one-character str taken out of a str is
    # interned for good (a peer could fill the heap with new characters)
    for c in b:
        if c < 33 or c > 126 or c in _DELIMS:
            return False
    return len(b) > 0


def _text(line):
    try:
        return str(line, "utf-8")
    except UnicodeError:
        raise HandshakeError(400, 0)  # request head is not UTF-8


class RequestParser:
    """Incremental parser of one request head.

    ``receive_data(data)`` returns None while more bytes are needed, then
    the ``Request``; bytes after the head are in ``leftover``. Raises
    ``HandshakeError`` on malformed or oversized input.
    """

    def __init__(self, max_line=4096, max_headers=48):
        self.max_line = max_line
        self.max_headers = max_headers
        self._part = b""  # the start of a line not ended yet
        self._start = None
        self._headers = []
        self.leftover = b""
        self.request = None

    def receive_data(self, data):
        if self.request is not None:
            self.leftover += bytes(data)
            return self.request
        if not data:
            raise HandshakeError(400, 1)  # connection closed during the request
        data = bytes(data)
        i = 0
        n = len(data)
        while i < n:
            j = data.find(b"\n", i)
            end = n if j < 0 else j + 1
            k = len(self._part) + end - i
            if k > self.max_line or (j < 0 and k >= self.max_line):
                # no line end within max_line bytes
                if self._start is None:
                    raise HandshakeError(400, 2)  # request line too long
                raise HandshakeError(431, 3)  # header line too long
            if j < 0:
                self._part += data[i:]
                return None
            line = self._part + data[i:end] if self._part else data[i:end]
            self._part = b""
            i = end
            line = line[: -2 if line.endswith(b"\r\n") else -1]
            if self._start is None:
                if not line:
                    continue  # RFC 9112 2.2: ignore empty lines before the request
                parts = _text(line).split(" ")
                if len(parts) != 3 or not parts[1] or not _is_token(line[: line.find(b" ")]):
                    raise HandshakeError(400, 4)  # malformed request line
                if not parts[2].startswith("HTTP/1."):
                    raise HandshakeError(400, 5)  # unsupported HTTP version
                self._start = parts
                continue
            h = self._headers
            if not line:
                m, t, v = self._start
                self.request = Request(m, t, v, Headers(lines="\n".join(h)) if h else Headers())
                self._headers = None
                self.leftover = data[i:]
                return self.request
            if line[0] in (0x20, 0x09):
                raise HandshakeError(400, 6)  # obsolete header line folding
            if len(h) >= self.max_headers:
                raise HandshakeError(431, 7)  # too many header lines
            c = line.find(b":")
            if c <= 0 or not _is_token(line[:c]):
                raise HandshakeError(400, 8)  # malformed header line
            h.append(_text(line))
        return None


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


def accept_key(key):
    """Sec-WebSocket-Accept for the client's ``key`` (str)."""
    h = hashlib.sha1(key.encode() + GUID).digest()
    return str(binascii.b2a_base64(h)[:-1], "ascii")


def check_upgrade(request, legacy=False):
    """Validate ``request`` as a WebSocket opening handshake (RFC 6455
    4.2.1); return the client's key or raise ``HandshakeError``.

    ``legacy`` (the console's opt-in for old WebREPL tools, not RFC 6455):
    a missing Sec-WebSocket-Version is taken as 13 and any one non-empty
    Sec-WebSocket-Key of at most 64 bytes is accepted."""
    if request.method != "GET":
        raise HandshakeError(405, 9, [("Allow", "GET")])  # method must be GET
    if request.version != "HTTP/1.1":
        raise HandshakeError(400, 10)  # HTTP/1.1 required
    h = request.headers
    if not is_upgrade(request):
        raise HandshakeError(426, 11, [("Upgrade", "websocket"), ("Connection", "Upgrade")])  # not a WebSocket upgrade
    if "upgrade" not in tokens(h.get_all("Connection")):
        raise HandshakeError(400, 12)  # Connection header must contain Upgrade
    if len(h.get_all("Host")) != 1:
        raise HandshakeError(400, 13)  # exactly one Host header required
    versions = h.get_all("Sec-WebSocket-Version")
    if legacy and not versions:
        versions = [VERSION]
    if versions != [VERSION]:
        raise HandshakeError(426, 14, [("Sec-WebSocket-Version", VERSION)])  # unsupported WebSocket version
    keys = h.get_all("Sec-WebSocket-Key")
    if len(keys) != 1:
        raise HandshakeError(400, 15)  # exactly one Sec-WebSocket-Key required
    key = keys[0]
    if legacy and 0 < len(key) <= 64:
        return key
    try:
        raw = binascii.a2b_base64(key.encode())
    except Exception:  # binascii.Error (ValueError); micropython-lib's pure binascii raises Exception
        raw = b""
    if len(key) != 24 or len(raw) != 16:
        raise HandshakeError(400, 16)  # Sec-WebSocket-Key must be 16 bytes in base64
    return key


def accept_response(key, subprotocol=None, extensions=None, extra=()):
    """The 101 response completing the handshake."""
    out = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n" % (
        accept_key(key),)
    if subprotocol:
        out += "Sec-WebSocket-Protocol: %s\r\n" % subprotocol
    if extensions:
        out += "Sec-WebSocket-Extensions: %s\r\n" % extensions
    for k, v in extra:
        out += "%s: %s\r\n" % (k, v)
    return (out + "\r\n").encode()
