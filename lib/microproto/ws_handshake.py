"""WebSocket opening handshake, server side (RFC 6455 4.2), sans-I/O.

``RequestParser`` reads an HTTP/1.1 request head from bytes with bounded
lines and header count; ``check_upgrade`` validates it as a WebSocket
upgrade; ``accept_response`` builds the 101 reply. Failures are
``HandshakeError(status, reason, headers)``: the HTTP status to answer with.

What a well-formed upgrade does not need lives in ``microproto.ws_http``,
loaded when first used (the first refused request loads it), and is still
reachable from here: ``HandshakeError``, ``response``, ``error_response``,
``status_text``, ``select_subprotocol``, ``is_upgrade``, ``tokens``,
``accept_key``, ``Headers``, ``GUID``, ``VERSION``.

Limits: ``max_line`` bytes per request or header line (request line over
it: 400, header line: 431), ``max_headers`` header lines (431).
"""


def __getattr__(name, *reason):
    # HandshakeError, response, error_response, ... (see the docstring):
    # from ws_http. Called with a reason it is ``throw`` (*reason: no
    # tuple of defaults kept with the function)
    if not reason:
        if name[:1] == "_":
            raise AttributeError(name)  # (probes for __path__ and the like)
    from microproto import ws_http

    if not reason:
        return getattr(ws_http, name)
    raise ws_http.HandshakeError(name, reason[0])


# (Internal) ``throw(code, reason)`` raises ``HandshakeError(code, reason)``,
# ``reason`` the number of a line of ws_refuse's table: the module's
# ``__getattr__`` itself (one function fewer in every server's heap)
throw = __getattr__


class RequestParser:
    """Incremental parser of one request head, and the request it read.

    ``receive_data(data)`` returns None while more bytes are needed, then
    the request: the parser itself, with ``method``, ``target`` (as sent),
    ``path`` (without the query), ``query``, ``version`` and ``headers``
    (the same object again: case-insensitive ``get``, ``get_all``, ``[]``,
    ``in``; ``items()``, iteration and ``len`` over the ``(name, value)``
    pairs in order, repeats kept; ``[i]``, an int: the i-th pair). Bytes
    after the head are in
    ``leftover`` (``request``: the request, None before). Raises
    ``HandshakeError`` on malformed or oversized input.

    One object per connection, and it holds the header lines as they came,
    one string (``"Name: value"`` a line; ``head``, internal): the pairs
    are made when asked for, not two strings per header kept for the
    connection's life.
    """

    # What a connection keeps is this object: the fewer attributes it holds,
    # the smaller its table. The usual values are the class's, set on the
    # object only when a request differs (no query, GET, HTTP/1.1, no bytes
    # after the head); target is None until the head is complete. (17
    # entries in the class's table with its own two: one more grows the table)
    request = target = None
    method = "GET"
    version = "HTTP/1.1"
    query = ""
    leftover = b""

    def __init__(self, max_line=4096, max_headers=48):
        # head, while it comes in: [max_line, max_headers, the start of a
        # line not ended yet (bytes), the request line, the header lines
        # (str)...]; once complete, the header lines as one string ("head":
        # a name the firmware already holds)
        self.head = [max_line, max_headers, b""]

    def receive_data(self, data):
        if self.request is not None:
            self.leftover += bytes(data)
            return self
        if not data:
            throw(400, 1)  # connection closed during the request
        h = self.head
        data = h[2] + bytes(data)  # (b"" + data is data: no copy)
        n = len(data)
        i = 0
        while True:
            first = len(h) == 3  # the request line
            j = data.find(b"\n", i)
            if (n if j < 0 else j) - i >= h[0]:
                # no line end within max_line bytes: request line too long
                # (400, 2), header line too long (431, 3)
                throw(431 - 31 * first, 3 - first)
            if j < 0:
                h[2] = data[i:]
                return None
            line = data[i : j - (j > i and data[j - 1] == 13)]  # without its CRLF or LF
            i = j + 1
            if not line:
                if first:
                    continue  # RFC 9112 2.2: ignore empty lines before the request
                break
            if len(h) > h[1] + 3:
                throw(431, 7)  # too many header lines
            # the method or the header name is a token (RFC 9110 5.6.2),
            # checked as bytes, not as str: on MicroPython each
            # one-character str taken out of a str is interned for good (a
            # peer could fill the heap with new characters)
            c = line.find(b": "[first : first + 1])  # b" " (request line), b":" (one constant)
            ok = c > 0
            for b in line[:c]:
                if b < 33 or b > 126 or b in b'"(),/:;<=>?@[\\]{}':
                    ok = False
            if not ok:
                # malformed request line (4), obsolete header line folding
                # (6), malformed header line (8)
                throw(400, 4 if first else 6 if line[:1].isspace() else 8)
            try:
                h.append(str(line, "utf-8"))
            except UnicodeError:
                throw(400, 0)  # request head is not UTF-8
        p = h[3].split(" ")
        if len(p) != 3 or not p[1]:
            throw(400, 4)  # malformed request line
        m, t, v = p
        if not v.startswith("HTTP/1."):
            throw(400, 5)  # unsupported HTTP version
        # the usual method and version: the class's strings, not a copy per
        # connection
        if m != "GET":
            self.method = m
        if v != "HTTP/1.1":
            self.version = v
        self.target = self.path = t
        q = t.find("?")
        if q >= 0:
            self.path = t[:q]
            self.query = t[q + 1 :]
        self.head = "\n".join(h[4:])
        self.request = self.headers = self
        if i < n:
            self.leftover = data[i:]
        return self

    def get_all(self, name=None):
        """The values of header ``name`` (any case), in order. Without a
        name: the ``(name, value)`` pairs in order (``items()``)."""
        t = self.head
        out = []
        for line in t.split("\n") if t else ():
            c = line.find(":")
            k = line[:c]
            v = line[c + 1 :].strip()
            if name is None:
                out.append((k, v))
            elif k.lower() == name.lower():
                out.append(v)
        return out

    # items() is get_all(); ``in`` is true when get_all(name) is not empty
    # (both runtimes take the truth of what __contains__ returns)
    items = __contains__ = get_all

    def get(self, name, default=None):
        v = self.get_all(name)
        return v[0] if v else default

    def __getitem__(self, name):
        if type(name) is int:
            # the i-th pair: iteration uses it (IndexError ends it), no
            # __iter__ in the class
            return self.get_all()[name]
        v = self.get_all(name)
        if not v:
            raise KeyError(name)
        return v[0]

    def __len__(self):
        return len(self.get_all())

    def __repr__(self):
        return "Headers(%r)" % (self.get_all(),)


def check_upgrade(request, legacy_webrepl=False):
    """Validate ``request`` as a WebSocket opening handshake (RFC 6455
    4.2.1); return the client's key or raise ``HandshakeError``.

    ``legacy_webrepl`` (the server option of that name: the console's
    opt-in for old WebREPL tools, not RFC 6455): a missing
    Sec-WebSocket-Version is taken as 13 and any one non-empty
    Sec-WebSocket-Key of at most 64 bytes is accepted."""
    if request.method != "GET":
        throw(405, 9)  # method must be GET
    if request.version != "HTTP/1.1":
        throw(400, 10)  # HTTP/1.1 required
    h = request.headers
    # Upgrade must list the token "websocket", Connection "upgrade" (comma-
    # separated tokens, any case; ws_http.tokens): one pass over the
    # headers, each token compared as "name:token" (two string constants,
    # no new interned names)
    u = c = False
    for k, v in h.items():
        k = k.lower() + ":"
        for v in v.split(","):
            v = k + v.strip().lower()
            if v == "upgrade:websocket":
                u = True
            if v == "connection:upgrade":
                c = True
    if not u:
        throw(426, 11)  # not a WebSocket upgrade
    if not c:
        throw(400, 12)  # Connection header must contain Upgrade
    if len(h.get_all("Host")) != 1:
        throw(400, 13)  # exactly one Host header required
    v = h.get_all("Sec-WebSocket-Version")
    if v != ["13"] and (v or not legacy_webrepl):
        throw(426, 14)  # unsupported WebSocket version
    v = h.get_all("Sec-WebSocket-Key")
    if len(v) != 1:
        throw(400, 15)  # exactly one Sec-WebSocket-Key required
    key = v[0]
    if legacy_webrepl and 0 < len(key) <= 64:
        return key
    import binascii

    try:
        v = binascii.a2b_base64(key.encode())
    except Exception:  # binascii.Error (ValueError); micropython-lib's pure binascii raises Exception
        v = b""
    if len(key) != 24 or len(v) != 16:
        throw(400, 16)  # Sec-WebSocket-Key must be 16 bytes in base64
    return key


def accept_response(key, subprotocol=None, extensions=None, extra=()):
    """The 101 response completing the handshake (``Sec-WebSocket-Accept``
    for the client's ``key``, str)."""
    import binascii
    import hashlib

    out = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n" % (
        binascii.b2a_base64(hashlib.sha1(key.encode() + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())[:-1].decode(),)
    if subprotocol:
        out += "Sec-WebSocket-Protocol: %s\r\n" % subprotocol
    if extensions:
        out += "Sec-WebSocket-Extensions: %s\r\n" % extensions
    for k, v in extra:
        out += "%s: %s\r\n" % (k, v)
    return (out + "\r\n").encode()
