"""POP3 client core (RFC 1939, CAPA RFC 2449), sans-I/O.

    s = Session(max_line=1000, bufsize=2048)  # the core a driver runs
    conn.run(s.command(None))                 # the greeting
    conn.run(s.command(b"RETR 1", 2, write))  # a message, streamed
    # logins (USER/PASS, APOP, SASL) are in microproto.pop3_auth

``Session`` is the parser (``receive_data``, ``next_event``: bytes in,
events ``(kind, value)`` out) and the client state (greeting, ``caps``)
with the conversations the drivers run: generators that yield bytes to send
and get events back (``command``, ``capa``).

Rules of this file:
- A status line is ``+OK``, ``-ERR`` (then a space or the line end) or a
  SASL continuation ``+`` (RFC 5034 4; ``command`` refuses it). Anything else is a
  ``PeerError``; LF ends a line, a CR before it is dropped.
- Every response must have been announced by appending its kind to ``Session.want``
  (0: a status line only; 1: then body lines, LIST, UIDL, CAPA; 2: then a
  body in chunks, RETR, TOP): bytes nobody waits for are a ``PeerError``
  (never buffered without end).
- Events are ``(kind, value)``: 1 ``+OK`` and 2 ``-ERR`` (the status text,
  bytes), 3 a SASL continuation ``+`` (the challenge), 4 body data (a
  memoryview, valid until the next event: a line without its CRLF, or a
  chunk of the message as sent), 5 the end of a body (None).
- A multi-line body (after ``+OK`` when the kind is not 0) is
  dot-unstuffed and ends at a line holding only ``.``; the end is found
  however the bytes are split across reads. Chunks stream: the parser holds
  at most ``bufsize + max_line`` bytes whatever the size.
- Limits: ``max_line`` bytes per status line and per listing line; ``count``
  lines per listing and bytes per message collected by ``command``
  (``LimitError``). After an error the parser stays failed (``error``).
- Nothing here asserts on peer data, reads a clock or touches a socket.
  Commands built from caller data refuse CR, LF and NUL (``UsageError``).
"""

from microproto.errors import LimitError, PeerError, UsageError
from microproto_port import const

# RFC 2449 4: a response line is at most 512 octets; the default allows more
_MAX_LINE = const(1000)
_BUFSIZE = const(2048)
_CR = const(13)
_LF = const(10)
_DOT = const(46)
_SP = const(32)
# event kinds (module docstring); the response kinds are 0, 1 (_LINES), 2 (_CHUNKS)
_OK = const(1)
_ERR = const(2)
_CONT = const(3)
_DATA = const(4)
_END = const(5)
_LINES = const(1)
_CHUNKS = const(2)


class POP3Error(PeerError):
    """The server answered ``-ERR``. ``text`` (str) is its text, ``code``
    the RFC 2449 extended response code (``"IN-USE"``, ``"LOGIN-DELAY"``,
    ``"SYS/TEMP"``, ``"AUTH"``, ...) or None, ``command`` the verb sent
    (never its arguments: no password ends up in a message)."""

    def __init__(self, text, command):
        i = text.find("]")
        PeerError.__init__(self, ("%s: " % command if command else "") + "-ERR " + text,
                           text[1:i] if text[:1] == "[" and i > 0 else None)
        self.text = text
        self.command = command


def text(data):
    """Decode server text as UTF-8; bytes that are not become '?'."""
    try:
        return bytes(data).decode()
    except UnicodeError:
        out = bytearray(data)
        for i in range(len(out)):
            if out[i] > 127:
                out[i] = 63
        return out.decode()


class Session:
    """The receiving core and the client state: bytes in (``receive_data``),
    events ``(kind, value)`` out (``next_event``); the greeting, the CAPA
    capabilities (``caps``: upper-case keyword -> list of str arguments),
    and the conversations (``command``, ``capa``).

    Limits: ``max_line`` bytes per status or listing line; at most
    ``bufsize + max_line`` bytes held (bytes given beyond that wait in the
    caller's object until events have been taken).
    """

    # a client core has nothing to send on its own: its commands are the
    # conversations' (the drivers call data_to_send(): bytes() is b"")
    data_to_send = bytes

    def __init__(self, max_line=_MAX_LINE, bufsize=_BUFSIZE):
        self.max_line = max_line
        self._buf = bytearray(bufsize + max_line)
        self.buf = memoryview(self._buf)
        self.caps = {}
        self.greeting = b""
        self.eof = False
        self.error = None
        self.discard()

    def discard(self):
        """Drop everything received and not taken (after STLS the plaintext
        read before the upgrade must never be trusted, RFC 2595 4)."""
        # buf[start:end]: received, not parsed; data[pos:]: given, not yet
        # copied into buf; mode: 0 awaiting a status line, 1 or 2 in a body
        # of that kind
        self.start = self.end = self.pos = self.mode = 0
        self.data = None
        self.want = []  # kinds of the responses awaited, in order

    def receive_data(self, data):
        """Feed received bytes (``b""``: the server closed). They are copied
        in as events are taken (``next_event``)."""
        if self.error:
            raise self.error
        if not data:
            self.eof = True
        elif self.data is None:
            self.data = data
            self.pos = 0
        else:  # more before the last was taken: not a driver's pattern
            self.data = bytes(memoryview(self.data)[self.pos :]) + bytes(data)
            self.pos = 0

    def next_event(self):
        """The next event, or None when more bytes are needed. Raises
        ``PeerError`` when the server closed with a response still due."""
        if self.error:
            raise self.error
        b = self._buf
        mv = self.buf
        try:
            while True:
                s = self.start
                e = self.end
                kind = self.mode
                if kind == _CHUNKS and s < e:
                    # a message: one event per read, the stuffing dots
                    # squeezed out by moving each stretch down over them (in
                    # place, each byte once). A line starts after an LF: the
                    # byte before ``start`` is kept (the status line's LF at
                    # first), so b"\n." finds a line starting with "."
                    w = n = s
                    while True:
                        i = b.find(b"\n.", s - 1, e)
                        j = e if i < 0 else i + 1
                        if w != s:
                            mv[w : w + j - s] = mv[s:j]
                        w += j - s
                        s = j
                        if i < 0:
                            break
                        # RFC 1939 3: "." alone ends the body, else the dot
                        # is a doubled one (dropped); up to 3 bytes tell
                        c = b[s + 1] if e - s > 1 else 0
                        if e - s < 2 or (c == _CR and e - s < 3):
                            break
                        if c == _LF or (c == _CR and b[s + 2] == _LF):
                            if w == n:
                                self.start = s + 2 + (c == _CR)
                                self.mode = 0
                                return (_END, None)
                            break  # the data before it first
                        s += 1
                    self.start = s
                    if w > n:
                        return (_DATA, mv[n:w])
                elif s < e:
                    # a line: a status line, or a body line
                    i = b.find(b"\n", s, e)  # an int needle fails on MicroPython <= 1.27
                    n = self.max_line
                    if i >= 0 and i - s < n:
                        self.start = i + 1
                        if i > s and b[i - 1] == _CR:
                            i -= 1
                        if kind:
                            if b[s] == _DOT:  # RFC 1939 3, as above
                                if i - s == 1:
                                    self.mode = 0
                                    return (_END, None)
                                s += 1
                            return (_DATA, mv[s:i])
                        line = bytes(mv[s:i])
                        if not self.want:
                            raise PeerError("unexpected data: %r" % line[:40])
                        # "+OK", "-ERR" or a SASL "+", then a space or the end
                        n = b"+OK-ERR"
                        for k in (3, 4, 1):
                            if line[:k] == (n[3:] if k == 4 else n[:k]) and (len(line) == k or line[k] == _SP):
                                if k == 1:
                                    return (_CONT, line[2:])
                                n = self.want.pop(0)
                                if k == 3:
                                    self.mode = n
                                return (_OK if k == 3 else _ERR, line[k + 1 :])
                        raise PeerError("bad %s line: %r" % ("status", line[:40]))
                    if i >= 0 or e - s >= n:
                        raise LimitError("%s longer than %d %s" % ("line", n, "bytes"))
                d = self.data
                if d is None:
                    break
                # move what is left to the front (with the byte before it),
                # then copy in what fits
                if s > 1:
                    mv[0 : e - s + 1] = mv[s - 1 : e]
                    e -= s - 1
                    self.start = 1
                s = self.pos
                n = len(d) - s
                k = len(mv) - e
                if n <= k:
                    mv[e : e + n] = d if s == 0 else memoryview(d)[s:]
                    self.data = None
                    k = n
                else:
                    mv[e : e + k] = memoryview(d)[s : s + k]
                    self.pos = s + k
                self.end = e + k
            if self.eof:
                e = "connection closed mid-response"
                raise PeerError(e if self.mode or self.end > self.start else e[:17])
        except PeerError as e:
            self.error = e
            raise
        return None

    def command(self, line, mode=0, fn=None, count=10000):
        """Send ``line`` (bytes without CRLF; None: only read, for the
        greeting), await the status; ``-ERR`` raises ``POP3Error``. Returns
        the status text (bytes), or for a response of kind ``mode`` 1 the
        list of ``fn(line)`` for its body lines (at most ``count``), of
        kind 2 the byte count of the body, each chunk given to ``fn``, or
        with ``fn`` None the body as bytes (at most ``count`` bytes)."""
        self.want.append(mode)
        ev = yield line and line + b"\r\n"
        if ev[0] == _ERR:
            raise POP3Error(text(ev[1]), text(line.split()[0]) if line else "")
        if ev[0] != _OK:
            raise PeerError("unexpected data: %r" % bytes(ev[1]))
        if line is None:
            self.greeting = ev[1]
        if not mode:
            return ev[1]
        out = [] if mode == _LINES else None if fn else bytearray()
        n = 0
        while True:
            ev = yield None
            v = ev[1]
            if v is None:  # the end
                break
            if mode == _LINES:
                out.append(fn(v))
                n += 1
            else:
                n += len(v)
                if out is None:
                    fn(v)
                    continue
                out += v
            if n > count:
                raise LimitError("%s longer than %d %s" % ("response", count, "lines" if mode == _LINES else "bytes"))
        return n if out is None else out if mode == _LINES else bytes(out)

    def capa(self, count):
        """CAPA (RFC 2449), at most ``count`` lines; a server without it
        (``-ERR``) gets ``{}``."""
        caps = {}
        try:
            for w in (yield from self.command("CAPA".encode(), _LINES, text, count)):
                w = w.split()
                if w:
                    caps[w[0].upper()] = w[1:]
        except POP3Error:
            pass
        self.caps = caps
        return caps


# -- commands and replies ------------------------------------------------------


def arg(v, name):
    """Caller data for a command line as bytes; CR, LF, NUL (or a negative
    number) refused."""
    b = str(v) if isinstance(v, int) else v
    b = b.encode() if isinstance(b, str) else bytes(b)
    ok = not isinstance(v, int) or v >= 0
    for c in b:
        if c == _CR or c == _LF or c == 0:
            ok = False
    if not ok:
        raise UsageError("bad %s: CR, LF, NUL or < 0" % name)
    return b


def pair(t, s=False):
    """``(n, size)`` from a LIST/STAT text, or with ``s`` ``(n, uid)`` from
    UIDL (RFC 1939 7: a uid is 1-70 characters in 0x21-0x7E)."""
    w = bytes(t).split()
    if len(w) > 1 and w[0].isdigit() and len(w[0]) <= 12:
        v = w[1]
        if not s and v.isdigit() and len(v) <= 12:
            return int(w[0]), int(v)
        if s and len(w) == 2 and len(v) <= 70 and min(v) > 32 and max(v) < 127:
            return int(w[0]), v.decode()
    raise PeerError("bad %s line: %r" % ("listing", bytes(t[:80])))


def uid_pair(t):
    return pair(t, True)
