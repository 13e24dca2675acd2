"""POP3 client core (RFC 1939, CAPA RFC 2449, SASL RFC 5034), sans-I/O.

    p = Parser(max_line=1000, bufsize=2048)   # the core a driver runs
    s = Session(p)                            # conversations over it
    conn.run(s.command(None))                 # the greeting
    conn.run(s.command(b"RETR 1\\r\\n", MULTI_CHUNKS, sink))
    conn.run(s.auth("PLAIN", b"user", b"secret"))

Rules of this file:
- A status line is ``+OK``, ``-ERR`` (then a space or the line end) or,
  during AUTH only, a continuation ``+`` (RFC 5034 4). Anything else is a
  ``PeerError``; LF ends a line, a CR before it is dropped.
- Every response must have been announced with ``Parser.expect(kind)``:
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

# what a response is expected to be (Parser.expect)
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
    ``"SYS/TEMP"``, ``"AUTH"``, ...) or None, ``command`` the verb sent."""

    def __init__(self, text, command=""):
        code = None
        if text[:1] == "[":
            i = text.find("]")
            if i > 0:
                code = text[1:i]
        self.text = text
        self.command = command
        super().__init__("%s: -ERR %s" % (command, text) if command else "-ERR " + text, code)

    def __str__(self):
        return self.reason


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
        self._want = []
        self._body = 0
        self._bol = True
        self.eof = False
        self.error = None

    def expect(self, kind=SINGLE):
        """Announce the next response (in order of the commands sent)."""
        self._want.append(kind)

    def discard(self):
        """Drop everything received and not taken (after STLS the plaintext
        read before the upgrade must never be trusted, RFC 2595 4)."""
        self._s = self._e = 0
        self._in = None
        self._body = 0
        self._want = []

    def data_to_send(self):
        return b""

    def receive_data(self, data):
        """Feed received bytes (``b""``: the server closed)."""
        if self.error is not None:
            raise self.error
        if not data:
            self.eof = True
            return
        if self._in is not None:  # not a driver's pattern: keep both
            data = bytes(memoryview(self._in)[self._ip :]) + bytes(data)
        self._in = data
        self._ip = 0
        self._fill()

    def _fill(self):
        s = self._s
        e = self._e
        mv = self._mv
        if s:
            if e > s:
                mv[0 : e - s] = mv[s:e]
            e -= s
            self._s = 0
        d = self._in
        ip = self._ip
        n = len(d) - ip
        k = len(self._b) - e
        if n <= k:
            mv[e : e + n] = d if ip == 0 else memoryview(d)[ip:]
            self._in = None
            k = n
        else:
            mv[e : e + k] = memoryview(d)[ip : ip + k]
            self._ip = ip + k
        self._e = e + k

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
                if self._in is None:
                    break
                self._fill()
            if self.eof:
                if self._body or self._e > self._s:
                    raise PeerError("server closed the connection in the middle of a response")
                raise PeerError("server closed the connection")
        except PeerError as e:
            self.error = e
            raise
        return None

    def _long(self):
        return LimitError("line longer than %d bytes" % self.max_line)

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
                    raise self._long()
                return None
            self._s = i + 1
            if i > s and b[i - 1] == _CR:
                i -= 1
            line = bytes(self._mv[s:i])
            n = i - s
            if not self._want:
                raise PeerError("unexpected data from server: %r" % line[:40])
            sp = n == 3 or (n > 3 and line[3] == _SP)
            if line[:3] == b"+OK" and sp:
                ev = (OK, line[4:])
                self._body = self._want.pop(0)
                self._bol = True
            elif line[:4] == b"-ERR" and (n == 4 or (n > 4 and line[4] == _SP)):
                ev = (ERR, line[5:])
                self._want.pop(0)
            elif line[:1] == b"+" and (n == 1 or line[1] == _SP):
                ev = (CONT, line[2:])
            else:
                raise PeerError("not a POP3 status line: %r" % line[:40])
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
            i = b.find(b"\n.", s, e)
            if i < 0:
                self._s = e
                self._bol = b[e - 1] == _LF
                return (DATA, self._mv[s:e])
            self._s = i + 1
            self._bol = True
            return (DATA, self._mv[s : i + 1])
        i = b.find(b"\n", s, e)
        if i < 0 or i - s >= self.max_line:
            if i >= 0 or e - s >= self.max_line:
                raise self._long()
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


def ints(t, n, what):
    """``n`` numbers at the start of server text ``t`` (bytes or str)."""
    w = bytes(t).split() if not isinstance(t, str) else t.split()
    if len(w) < n:
        raise PeerError("bad %s: %r" % (what, t[:40]))
    out = []
    for x in w[:n]:
        if not x.isdigit() or len(x) > 12:
            raise PeerError("bad %s: %r" % (what, t[:40]))
        out.append(int(x))
    return out


def uid_pair(t):
    """``n uid`` from a UIDL line (RFC 1939 7: uid is 1-70 of 0x21-0x7E)."""
    w = bytes(t).split()
    if len(w) != 2 or not w[0].isdigit() or len(w[0]) > 12 or len(w[1]) > 70:
        raise PeerError("bad UIDL line: %r" % bytes(t[:80]))
    for c in w[1]:
        if c < 33 or c > 126:
            raise PeerError("bad UIDL line: %r" % bytes(t[:80]))
    return int(w[0]), w[1].decode()


def timestamp(greeting):
    """The APOP timestamp ``<...@...>`` of a greeting (bytes), or None."""
    i = greeting.find(b"<")
    j = greeting.find(b">", i + 1)
    if i < 0 or j < 0 or b"@" not in greeting[i:j]:
        return None
    return bytes(greeting[i : j + 1])


def apop_digest(stamp, secret):
    """RFC 1939 7: hex MD5 of timestamp + secret (bytes)."""
    import binascii
    import hashlib

    if not hasattr(hashlib, "md5"):
        raise UsageError("APOP needs hashlib.md5, which this firmware lacks")
    return binascii.hexlify(hashlib.md5(stamp + secret).digest())


def b64(data):
    import binascii

    return binascii.b2a_base64(data)[:-1]


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
        self.parser.expect(kind)
        ev = yield line
        verb = "" if line is None else bytes(line[:4]).strip().decode()
        if ev[0] == ERR:
            raise POP3Error(text(ev[1]), verb)
        if ev[0] != OK:
            raise PeerError("%s: unexpected continuation from server" % (verb or "greeting"))
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

    def auth(self, mech, user, secret, initial=True):
        """AUTH (RFC 5034) with PLAIN, LOGIN or XOAUTH2 (``secret`` is then
        the access token). The first response goes on the command line when
        ``initial`` and it fits in 255 octets, else after the server's "+".
        A challenge after the last response cancels the exchange ("*"; an
        empty line for XOAUTH2, whose error comes that way)."""
        mech = mech.upper()
        u = arg(user, "user")
        if mech == "PLAIN":
            steps = [b64(b"\x00" + u + b"\x00" + secret)]
        elif mech == "LOGIN":
            steps = [b64(u), b64(secret)]
            initial = False
        elif mech == "XOAUTH2":
            steps = [b64(b"user=" + u + b"\x01auth=Bearer " + secret + b"\x01\x01")]
        else:
            raise UsageError("unsupported AUTH mechanism %s" % mech)
        line = b"AUTH " + mech.encode()
        if initial and len(line) + len(steps[0]) + 3 <= _MAX_CMD:
            line += b" " + steps.pop(0)
        self.parser.expect()
        ev = yield line + b"\r\n"
        while ev[0] == CONT:
            if steps:
                ev = yield steps.pop(0) + b"\r\n"
            else:
                ev = yield b"\r\n" if mech == "XOAUTH2" else b"*\r\n"
        if ev[0] != OK:
            raise POP3Error(text(ev[1]), "AUTH " + mech)
        return ev[1]
