"""POP3 client core (RFC 1939, CAPA RFC 2449), sans-I/O.

    p = Parser(max_line=1000, bufsize=2048)   # the core a driver runs
    s = Session(p)                            # conversations over it
    conn.run(s.command(None))                 # the greeting
    conn.run(s.command(b"RETR 1\\r\\n", MULTI_CHUNKS, sink))
    # logins (USER/PASS, APOP, SASL) are in microproto.pop3_auth

Rules of this file:
- A status line is ``+OK``, ``-ERR`` (then a space or the line end) or a
  SASL continuation ``+`` (RFC 5034 4; ``command`` refuses it). Anything else is a
  ``PeerError``; LF ends a line, a CR before it is dropped.
- Every response must have been announced by appending its kind to ``Parser.want``:
  bytes nobody waits for are a ``PeerError`` (never buffered without end).
- A multi-line body (after ``+OK`` when ``kind`` is not SINGLE) is
  dot-unstuffed and ends at a line holding only ``.``; the end is found
  however the bytes are split across reads. Bodies come out either as
  lines (``MULTI_LINES``: LIST, UIDL, CAPA, TOP headers) or as chunks of
  the message as sent (``MULTI_CHUNKS``: RETR, TOP), which stream: the
  parser holds at most ``bufsize + max_line`` bytes whatever the size.
- Limits: ``max_line`` bytes per status line and per listing line
  (``LimitError``). After an error the parser stays failed (``error``).
- Nothing here asserts on peer data, reads a clock or touches a socket.
  Commands built from caller data refuse CR, LF and NUL (``UsageError``).
"""

from microproto.errors import LimitError, PeerError, UsageError
from microproto_port import const

# RFC 2449 4: a response line is at most 512 octets; the default allows more
_MAX_LINE = const(1000)
_BUFSIZE = const(2048)
# RFC 2449 4: a command line is at most 255 octets (AUTH initial responses
# that do not fit are sent after the server's "+" instead, RFC 5034 4)
_MAX_CMD = const(255)
_CR = const(13)
_LF = const(10)
_DOT = const(46)
_SP = const(32)

# what a response is expected to be (Parser.want)
SINGLE = 0
MULTI_LINES = 1
MULTI_CHUNKS = 2
# event kinds: (kind, value)
OK = 1  # value: status text (bytes)
ERR = 2  # value: status text (bytes)
CONT = 3  # value: the server's challenge (base64 bytes)
DATA = 4  # value: memoryview (a body line, or a chunk), valid until the next event
END = 5  # value: None

_END_EV = (END, None)


class POP3Error(PeerError):
    """The server answered ``-ERR``. ``text`` (str) is its text, ``code``
    the RFC 2449 extended response code (``"IN-USE"``, ``"LOGIN-DELAY"``,
    ``"SYS/TEMP"``, ``"AUTH"``, ...) or None, ``command`` the verb sent
    (never its arguments: no password ends up in a message)."""

    def __init__(self, text, command=""):
        code = None
        if text[:1] == "[":
            i = text.find("]")
            if i > 0:
                code = text[1:i]
        self.text = text
        self.command = command
        super().__init__("%s: -ERR %s" % (command, text) if command else "-ERR " + text, code)


def text(b):
    """Decode server text as UTF-8; bytes that are not become '?'."""
    try:
        return bytes(b).decode("utf-8")
    except UnicodeError:
        out = bytearray(b)
        for i in range(len(out)):
            if out[i] > 127:
                out[i] = 63
        return out.decode("ascii")


class Parser:
    """The receiving core: bytes in, events ``(kind, value)`` out.

    Limits: ``max_line`` bytes per status or listing line; at most
    ``bufsize + max_line`` bytes held (bytes given beyond that wait in the
    caller's object until events have been taken).
    """

    def __init__(self, max_line=_MAX_LINE, bufsize=_BUFSIZE):
        self.max_line = max_line
        self._b = bytearray(bufsize + max_line)
        self._mv = memoryview(self._b)
        self._s = 0
        self._e = 0
        self._in = None
        self._ip = 0
        self.want = []  # kinds of the responses awaited, in order
        self._body = 0
        self._bol = True
        self.eof = False
        self.error = None

    def discard(self):
        """Drop everything received and not taken (after STLS the plaintext
        read before the upgrade must never be trusted, RFC 2595 4)."""
        self._s = self._e = 0
        self._in = None
        self._body = 0
        self.want = []

    def data_to_send(self):
        return b""

    def receive_data(self, data):
        """Feed received bytes (``b""``: the server closed). They are copied
        in as events are taken (``next_event``)."""
        if self.error is not None:
            raise self.error
        if not data:
            self.eof = True
        elif self._in is None:
            self._in = data
            self._ip = 0
        else:  # more before the last was taken: not a driver's pattern
            self._in = bytes(memoryview(self._in)[self._ip :]) + bytes(data)
            self._ip = 0

    def next_event(self):
        """The next event, or None when more bytes are needed. Raises
        ``PeerError`` when the server closed with a response still due."""
        if self.error is not None:
            raise self.error
        try:
            while True:
                ev = self._parse()
                if ev is not None:
                    return ev
                d = self._in
                if d is None:
                    break
                # move what is left to the front, then copy in what fits
                s = self._s
                e = self._e
                mv = self._mv
                if s:
                    mv[0 : e - s] = mv[s:e]
                    e -= s
                    self._s = 0
                ip = self._ip
                n = len(d) - ip
                k = len(mv) - e
                if n <= k:
                    mv[e : e + n] = d if ip == 0 else memoryview(d)[ip:]
                    self._in = None
                    k = n
                else:
                    mv[e : e + k] = memoryview(d)[ip : ip + k]
                    self._ip = ip + k
                self._e = e + k
            if self.eof:
                raise PeerError("connection closed" + (" mid-response" if self._body or self._e > self._s else ""))
        except PeerError as e:
            self.error = e
            raise
        return None

    def _parse(self):
        b = self._b
        s = self._s
        e = self._e
        if s >= e:
            return None
        kind = self._body
        if kind == 0:
            i = b.find(b"\n", s, e)
            if i < 0 or i - s >= self.max_line:
                if i >= 0 or e - s >= self.max_line:
                    raise LimitError("line longer than %d bytes" % self.max_line)
                return None
            self._s = i + 1
            if i > s and b[i - 1] == _CR:
                i -= 1
            line = bytes(self._mv[s:i])
            n = i - s
            if not self.want:
                raise PeerError("unexpected data: %r" % line[:40])
            sp = n == 3 or (n > 3 and line[3] == _SP)
            if line[:3] == b"+OK" and sp:
                ev = (OK, line[4:])
                self._body = self.want.pop(0)
                self._bol = True
            elif line[:4] == b"-ERR" and (n == 4 or (n > 4 and line[4] == _SP)):
                ev = (ERR, line[5:])
                self.want.pop(0)
            elif line[:1] == b"+" and (n == 1 or line[1] == _SP):
                ev = (CONT, line[2:])
            else:
                raise PeerError("bad status line: %r" % line[:40])
            return ev
        if self._bol:
            if b[s] == _DOT:
                # RFC 1939 3: a line starting with "." has it doubled; "."
                # alone ends the body (needs up to 3 bytes to know which)
                if e - s < 2:
                    return None
                c = b[s + 1]
                if c == _CR:
                    if e - s < 3:
                        return None
                    c = b[s + 2]
                    if c == _LF:
                        self._s = s + 3
                        self._body = 0
                        return _END_EV
                elif c == _LF:
                    self._s = s + 2
                    self._body = 0
                    return _END_EV
                s += 1
                self._s = s
            self._bol = False
        if kind == MULTI_CHUNKS:
            # one event per read: the stuffing dots are squeezed out by
            # moving each stretch down over them (in place, each byte once)
            mv = self._mv
            w = start = s
            while True:
                i = b.find(b"\n.", s, e)
                j = e if i < 0 else i + 1
                if w != s:
                    mv[w : w + j - s] = mv[s:j]
                w += j - s
                s = j
                if i < 0:
                    self._bol = b[e - 1] == _LF
                    break
                # a line starting with '.': the end (".CRLF", left for the
                # next call), a doubled dot (one dropped), or too few bytes
                n = e - s
                c = b[s + 1] if n > 1 else 0
                if n < 2 or (c == _CR and n < 3) or c == _LF or (c == _CR and b[s + 2] == _LF):
                    self._bol = True
                    break
                s += 1
            self._s = s
            return (DATA, mv[start:w])
        i = b.find(b"\n", s, e)
        if i < 0 or i - s >= self.max_line:
            if i >= 0 or e - s >= self.max_line:
                raise LimitError("line longer than %d bytes" % self.max_line)
            return None
        self._s = i + 1
        self._bol = True
        if i > s and b[i - 1] == _CR:
            i -= 1
        return (DATA, self._mv[s:i])


# -- commands and replies ------------------------------------------------------


def arg(x, what="argument"):
    """Caller data for a command line as bytes; CR, LF, NUL refused."""
    if isinstance(x, int):
        if x < 0:
            raise UsageError("%s must not be negative" % what)
        return str(x).encode()
    b = x.encode("utf-8") if isinstance(x, str) else bytes(x)
    if b"\r" in b or b"\n" in b or b"\x00" in b:
        raise UsageError("CR, LF or NUL in %s" % what)
    return b


def pair(t, uid=False):
    """``(n, size)`` from a LIST/STAT text, or ``(n, uid)`` from UIDL
    (RFC 1939 7: a uid is 1-70 characters in 0x21-0x7E)."""
    w = bytes(t).split()
    if len(w) < 2 or (uid and len(w) > 2) or not w[0].isdigit() or len(w[0]) > 12:
        w = None
    elif uid:
        if len(w[1]) > 70 or [c for c in w[1] if c < 33 or c > 126]:
            w = None
    elif not w[1].isdigit() or len(w[1]) > 12:
        w = None
    if w is None:
        raise PeerError("bad %s line: %r" % ("UIDL" if uid else "LIST/STAT", bytes(t[:80])))
    return int(w[0]), w[1].decode() if uid else int(w[1])


def uid_pair(t):
    return pair(t, True)


class Session:
    """Client state: the parser, the greeting, CAPA capabilities
    (``caps``: upper-case keyword -> list of str arguments), and the
    conversations (generators: yield bytes to send, get events back) that
    the drivers run."""

    def __init__(self, parser):
        self.parser = parser
        self.caps = {}
        self.greeting = b""

    def command(self, line, kind=SINGLE, sink=None):
        """Send ``line`` (None: only read, for the greeting), await the
        status; ``-ERR`` raises ``POP3Error``. With a multi-line ``kind``
        every body event's value goes to ``sink``. Returns the status text."""
        self.parser.want.append(kind)
        ev = yield line
        verb = "" if line is None else bytes(line[:4]).strip().decode()
        if ev[0] == ERR:
            raise POP3Error(text(ev[1]), verb)
        if ev[0] != OK:
            raise PeerError("unexpected +")
        t = ev[1]
        if line is None:
            self.greeting = t
        while kind:
            ev = yield None
            if ev[0] == END:
                break
            sink(ev[1])
        return t

    def capa(self):
        """CAPA (RFC 2449); a server without it (``-ERR``) gets ``{}``."""
        caps = {}

        def add(line):
            w = text(line).split()
            if w:
                caps[w[0].upper()] = w[1:]

        try:
            yield from self.command(b"CAPA\r\n", MULTI_LINES, add)
        except POP3Error:
            caps = {}
        self.caps = caps
        return caps
