"""SMTP client core (RFC 5321), sans-I/O.

What lives here: the reply parser (a core for the shared drivers), the
capability parser, command building, the dot-stuffer, and the conversations
(generators that yield bytes to send and receive parsed replies) that the
blocking and asyncio facades in ``microproto.smtp`` run.

Rules of this file:
- A reply is ``ddd`` (first digit 2-5), then ``-`` (more lines follow), a
  space or nothing, then text, then LF (a CR before it is dropped). All lines
  of one reply carry the same code. Anything else is a ``PeerError``.
- Every read is bounded: ``max_line`` bytes per reply line, ``max_lines``
  lines per reply, ``max_queue`` replies parsed but not yet taken. Exceeding
  one is a ``LimitError``; what was parsed before stays available.
- Nothing here asserts on peer data; commands built from caller data refuse
  CR, LF and NUL (``UsageError``), so no command or header can be injected.
- Time and sockets live in the drivers; this file never reads a clock.
"""

import binascii

from microproto.buffer import Buffer
from microproto.errors import LimitError, PeerError, UsageError
from microproto_port import const

# RFC 5321 4.5.3.1: 512 octets per reply line; servers send longer EHLO
# lines now and then, so the default allows more.
_MAX_LINE = const(1000)
_MAX_LINES = const(64)
_MAX_QUEUE = const(64)
# RFC 4954 4: an AUTH command line may be 12288 octets
_MAX_COMMAND = const(12288)
# body chunk size (input bytes per encode call); output is at most 2x + 8
_CHUNK = const(2048)
# RCPT commands sent in one PIPELINING group (keeps the reply queue bounded)
_PIPE_BATCH = const(32)
# BDAT chunks sent ahead of their replies with PIPELINING
_BDAT_WINDOW = const(8)
# room in front of a chunk for "BDAT <n> LAST" CRLF
_BDAT_HEAD = const(24)

_CR = const(13)
_LF = const(10)
_DOT = const(46)


# -- errors -----------------------------------------------------------------


class SMTPReplyError(PeerError):
    """The server answered a command with an error (or unexpected) reply.

    ``code`` (int), ``text`` (str, lines joined by newlines), ``enhanced``
    (RFC 3463 status like ``"5.1.1"`` or None), ``command`` (what was sent,
    without arguments that may hold secrets).
    """

    def __init__(self, reply, command=""):
        self.reply = reply
        self.text = reply.text
        self.enhanced = reply.enhanced
        self.command = command
        reason = "%s: %s" % (command, reply) if command else str(reply)
        super().__init__(reason, reply.code)

    def __str__(self):
        return self.reason


class SMTPRecipientsRefused(SMTPReplyError):
    """Every recipient was refused. ``refused`` maps address -> ``Reply``;
    ``result`` is the ``SendResult`` (no mail was sent)."""

    def __init__(self, result):
        self.result = result
        self.refused = result.refused
        first = None
        for addr in result.recipients:
            first = result.recipients[addr]
            break
        parts = []
        for addr in result.recipients:
            parts.append("%s: %s" % (addr, result.recipients[addr]))
        super().__init__(first, "all recipients refused")
        self.reason = "all recipients refused (" + "; ".join(parts) + ")"


# -- replies ----------------------------------------------------------------


def _text(b):
    """Decode reply bytes as UTF-8; bytes that are not become '?'."""
    try:
        return bytes(b).decode("utf-8")
    except UnicodeError:
        out = bytearray(b)
        for i in range(len(out)):
            if out[i] > 127:
                out[i] = 63
        return out.decode("ascii")


def _enhanced(text, code):
    """RFC 3463 ``class.subject.detail`` at the start of ``text`` when its
    class matches the reply's first digit: ``(status, rest)``."""
    sp = text.find(" ")
    head = text if sp < 0 else text[:sp]
    parts = head.split(".")
    if len(parts) != 3 or head[0:1] != str(code // 100):
        return None, text
    if head[0] not in "245":
        return None, text
    for i, p in enumerate(parts):
        if not p or len(p) > (1 if i == 0 else 3) or not p.isdigit():
            return None, text
    return head, ("" if sp < 0 else text[sp + 1 :])


class Reply:
    """One server reply: ``code`` (int), ``lines`` (list of str, the text of
    each line), ``enhanced`` (RFC 3463 status of the first line, or None)."""

    __slots__ = ("code", "lines", "enhanced")

    def __init__(self, code, lines, enhanced=None):
        self.code = code
        self.lines = lines
        self.enhanced = enhanced

    @property
    def text(self):
        return "\n".join(self.lines)

    def __eq__(self, other):
        return (
            isinstance(other, Reply)
            and self.code == other.code
            and self.lines == other.lines
            and self.enhanced == other.enhanced
        )

    def __repr__(self):
        return "Reply(%d, %r, %r)" % (self.code, self.lines, self.enhanced)

    def __str__(self):
        first = self.lines[0] if self.lines else ""
        if self.enhanced:
            first = self.enhanced + " " + first if first else self.enhanced
        s = "%d %s" % (self.code, first)
        if len(self.lines) > 1:
            s += " ..." + " / ".join(self.lines[1:])
        return s.rstrip()


class ReplyParser:
    """The receiving core: bytes in, ``Reply`` events out.

    Limits: ``max_line`` bytes per line (terminator included), ``max_lines``
    lines per reply, ``max_queue`` complete replies waiting to be taken.
    After a ``PeerError`` the parser stays failed (``error``).
    """

    def __init__(self, max_line=_MAX_LINE, max_lines=_MAX_LINES, max_queue=_MAX_QUEUE):
        self.max_line = max_line
        self.max_lines = max_lines
        self.max_queue = max_queue
        self._buf = Buffer(max_line)
        self._lines = []
        self._code = 0
        self._enh = None
        self._queue = []
        self._skip = 0
        self.eof = False
        self.error = None

    def discard(self):
        """Drop everything received and not yet taken (after STARTTLS: the
        plaintext read before the upgrade must never be trusted)."""
        self._buf.clear()
        self._lines = []
        self._queue = []
        self._code = 0
        self._enh = None

    def pass_through(self):
        """Make the next ``next_event`` return ``SENT`` at once (unless a reply
        is waiting): lets a conversation write without awaiting a reply."""
        self._skip += 1

    def _fail(self, exc):
        self.error = exc
        raise exc

    def receive_data(self, data):
        """Feed received bytes (``b""``: the server closed)."""
        if self.error is not None:
            raise self.error
        if not data:
            self.eof = True
            return
        mv = memoryview(data)
        buf = self._buf
        pos = 0
        n = len(mv)
        while pos < n:
            room = buf.capacity - len(buf)
            k = n - pos if n - pos < room else room
            buf.feed(mv[pos : pos + k])
            pos += k
            while True:
                try:
                    line = buf.readline(self.max_line)
                except LimitError:
                    self._fail(LimitError("reply line longer than %d bytes" % self.max_line))
                if line is None:
                    break
                self._line(line)

    def _line(self, line):
        n = len(line) - 1  # without LF
        if n and line[n - 1] == _CR:
            n -= 1
        if n < 3 or not (50 <= line[0] <= 53 and 48 <= line[1] <= 53 and 48 <= line[2] <= 57):
            self._fail(PeerError("not an SMTP reply: %r" % bytes(line[:40])))
        sep = line[3] if n > 3 else 32
        if sep != 32 and sep != 45:
            self._fail(PeerError("not an SMTP reply: %r" % bytes(line[:40])))
        code = (line[0] - 48) * 100 + (line[1] - 48) * 10 + line[2] - 48
        if self._lines and code != self._code:
            self._fail(PeerError("reply code changed within a reply: %d then %d" % (self._code, code)))
        if len(self._lines) >= self.max_lines:
            self._fail(LimitError("reply longer than %d lines" % self.max_lines))
        text = _text(line[4:n]) if n > 4 else ""
        if not self._lines:
            self._code = code
            self._enh, text = _enhanced(text, code)
        elif self._enh:
            # later lines repeat the status; keep the text only
            e, rest = _enhanced(text, code)
            if e == self._enh:
                text = rest
        self._lines.append(text)
        if sep == 32:
            if len(self._queue) >= self.max_queue:
                self._fail(LimitError("more than %d replies unread" % self.max_queue))
            self._queue.append(Reply(code, self._lines, self._enh))
            self._lines = []
            self._enh = None

    def data_to_send(self):
        return b""

    def next_event(self):
        """The next complete ``Reply`` (or ``SENT``, see ``pass_through``);
        None when more bytes are needed. Raises ``PeerError`` once the
        server has closed with no complete reply left."""
        if self._queue:
            if self._skip:
                self._skip = 0
            return self._queue.pop(0)
        if self._skip:
            self._skip -= 1
            return SENT
        if self.eof:
            if self._lines or len(self._buf):
                raise PeerError("server closed the connection in the middle of a reply")
            raise PeerError("server closed the connection")
        return None

    def pending(self):
        """Number of complete replies waiting."""
        return len(self._queue)


class _Sent:
    def __repr__(self):
        return "SENT"


SENT = _Sent()


# -- capabilities -----------------------------------------------------------


def parse_capabilities(reply):
    """EHLO reply -> dict: upper-case keyword -> list of parameters (str).
    ``AUTH=X Y`` (old form) is merged into ``AUTH``."""
    caps = {}
    for line in reply.lines[1:]:
        words = line.split()
        if not words:
            continue
        kw = words[0].upper()
        params = words[1:]
        if kw.startswith("AUTH="):
            params = [kw[5:]] + params
            kw = "AUTH"
        if kw in caps:
            for p in params:
                if p not in caps[kw]:
                    caps[kw].append(p)
        else:
            caps[kw] = params
    return caps


def max_size(caps):
    """The server's SIZE limit in bytes (0: none announced or no limit)."""
    p = caps.get("SIZE")
    if p and p[0].isdigit() and len(p[0]) < 16:
        return int(p[0])
    return 0


# -- commands ---------------------------------------------------------------


def _check(s, what):
    for c in "\r\n\x00":
        if c in s:
            raise UsageError("CR, LF or NUL in %s" % what)


def _ascii(s):
    for c in s:
        if ord(c) > 127:
            return False
    return True


_NO_8BIT = "8-bit data and the server does not offer 8BITMIME: encode the body as 7-bit (quoted-printable or base64)"


def _is_7bit(data, n):
    """True when the first ``n`` bytes of ``data`` are all below 128."""
    f = getattr(data, "isascii", None)  # CPython: fast
    if f is not None:
        return (data if n == len(data) else data[:n]).isascii()
    for i in range(n):
        if data[i] > 127:
            return False
    return True


def command(verb, arg=None):
    """``VERB arg CRLF`` as bytes; CR/LF/NUL in ``arg`` is a ``UsageError``."""
    if arg is None:
        line = verb
    else:
        _check(arg, verb)
        line = verb + " " + arg
    b = line.encode("utf-8")
    if len(b) + 2 > _MAX_COMMAND:
        raise UsageError("command line too long")
    return b + b"\r\n"


def address(addr, what="address"):
    """``<addr>`` for MAIL/RCPT; accepts ``"Name <a@b>"`` too."""
    if not isinstance(addr, str):
        raise UsageError("%s must be str" % what)
    _check(addr, what)
    a = addr.strip()
    lt = a.rfind("<")
    if lt >= 0 and a.endswith(">"):
        a = a[lt + 1 : -1].strip()
    if "<" in a or ">" in a or " " in a:
        raise UsageError("bad %s: %r" % (what, addr))
    return "<" + a + ">"


def xtext(s):
    """RFC 3461 4: bytes outside '!'..'~', '+' and '=' as ``+HH``."""
    out = []
    for c in s.encode("utf-8"):
        if 33 <= c <= 126 and c != 43 and c != 61:
            out.append(chr(c))
        else:
            out.append("+%02X" % c)
    return "".join(out)


def b64(data):
    """Base64 of ``data`` as bytes, no newline."""
    return binascii.b2a_base64(data)[:-1]


def unb64(text):
    try:
        return binascii.a2b_base64(text)
    except ValueError:
        raise PeerError("bad base64 from server: %r" % text[:40])


def _have_md5():
    import hashlib

    return hasattr(hashlib, "md5")


def _md5_hmac(key, msg):
    import hashlib

    if not hasattr(hashlib, "md5"):
        raise UsageError("CRAM-MD5 needs hashlib.md5, which this firmware lacks")

    if len(key) > 64:
        key = hashlib.md5(key).digest()
    key = key + bytes(64 - len(key))
    ipad = bytes((k ^ 0x36) for k in key)
    opad = bytes((k ^ 0x5C) for k in key)
    inner = hashlib.md5(ipad + msg).digest()
    return hashlib.md5(opad + inner).digest()


def cram_md5_response(user, password, challenge):
    """RFC 2195 response (bytes, before base64)."""
    digest = _md5_hmac(password, challenge)
    return user + b" " + binascii.hexlify(digest)


# -- dot-stuffing -----------------------------------------------------------


class DotStuffer:
    """DATA body encoder (RFC 5321 4.5.2 and 2.3.8): every line end becomes
    CRLF (lone CR and lone LF included), a line starting with '.' gets one
    more, and ``finish()`` ends the body with ``CRLF . CRLF``. With
    ``dots=False`` (BDAT, RFC 3030) lines are only made CRLF and ``finish``
    adds just a missing final CRLF.

    Works on chunks split anywhere. ``encode(data, n)`` takes at most
    ``chunk`` bytes and returns a view into one preallocated buffer of
    ``2 * chunk + 8`` bytes (plus ``base`` bytes kept free in front for a
    command, see ``framed``), valid until the next call.
    """

    def __init__(self, chunk=_CHUNK, copy=False, dots=True, base=0):
        self.chunk = chunk
        self._base = base
        # one chunk can double (CRLF, '..'), plus a held CR and the end
        self._buf = bytearray(base + 2 * chunk + 8)
        self._full = memoryview(self._buf)
        self._mv = self._full[base:]
        self._copy = copy
        self.reset(dots)

    def reset(self, dots=True):
        """Start a new body (the buffer is kept): dot-stuffed or not."""
        self._dots = dots
        self._bol = True  # at the start of a line
        self._cr = False  # the last byte seen was a CR not yet written

    def _result(self, o):
        if self._copy:
            return bytes(self._mv[:o])
        return self._mv[:o]

    def framed(self, head, o):
        """``head`` (at most ``base`` bytes) followed by the first ``o``
        encoded bytes, in one view (one write: no delayed-ACK stall)."""
        b = self._base
        k = len(head)
        self._full[b - k : b] = head
        if self._copy:
            return bytes(self._full[b - k : b + o])
        return self._full[b - k : b + o]

    def encode(self, data, n=None):
        if n is None:
            n = len(data)
        if n > self.chunk:
            raise UsageError("chunk larger than %d bytes" % self.chunk)
        if isinstance(data, memoryview):
            data = bytes(data[:n])
        out = self._mv
        dots = self._dots
        if (
            n
            and not self._cr
            and not (dots and self._bol and data[0] == _DOT)
            and not (dots and data.find(b"\n.", 0, n) >= 0)
        ):
            crlf = data.count(b"\r\n", 0, n)
            if data.count(b"\n", 0, n) == crlf and data.count(b"\r", 0, n) == crlf:
                # already CRLF and no line starts with '.': copy as is
                out[0:n] = memoryview(data)[0:n]
                self._bol = data[n - 1] == _LF
                return self._result(n)
        o = 0
        i = 0
        bol = self._bol
        if self._cr and n:
            self._cr = False
            out[0:2] = b"\r\n"
            o = 2
            bol = True
            if data[0] == _LF:
                i = 1
        dmv = memoryview(data)
        kcr = -2  # cached position of the next CR (-1: none before n)
        while i < n:
            if bol:
                bol = False
                if dots and data[i] == _DOT:
                    out[o] = _DOT
                    o += 1
            if kcr != -1 and kcr < i:
                kcr = data.find(b"\r", i, n)
            j = data.find(b"\n", i, n)
            p = n
            if j >= 0:
                p = j
            if kcr >= 0 and kcr < p:
                p = kcr
            if p > i:
                out[o : o + p - i] = dmv[i:p]
                o += p - i
            if p == n:
                break
            if data[p] == _LF:
                i = p + 1
            elif p + 1 < n:
                i = p + 2 if data[p + 1] == _LF else p + 1
            else:
                self._cr = True
                i = n
                break
            out[o : o + 2] = b"\r\n"
            o += 2
            bol = True
        self._bol = bol and not self._cr
        return self._result(o)

    def finish(self, keep=0):
        """The end of the body: a pending line end, a CRLF if the body did
        not end with one, then ``.CRLF``. With ``keep``, the first ``keep``
        bytes of the last ``encode`` result stay in front (one write instead
        of two: a small second write would wait for a delayed ACK)."""
        out = self._mv
        o = keep
        if self._cr or not self._bol:
            out[o : o + 2] = b"\r\n"
            o += 2
        if self._dots:
            out[o : o + 3] = b".\r\n"
            o += 3
        self._bol = True
        self._cr = False
        return self._result(o)


def stuff(data, chunk=_CHUNK):
    """Whole-body helper for tests and small messages: dot-stuffed bytes."""
    d = DotStuffer(chunk)
    parts = []
    mv = memoryview(data)
    for i in range(0, len(data), chunk):
        parts.append(bytes(d.encode(bytes(mv[i : i + chunk]))))
    parts.append(bytes(d.finish()))
    return b"".join(parts)


# -- body sources -----------------------------------------------------------


def body_chunks(source, buf):
    """Yield ``n`` after filling ``buf`` (a bytearray) with the next ``n``
    bytes of ``source``: bytes, bytearray, str, a binary file (``readinto``
    or ``read``) or an iterable of bytes-like chunks (str chunks are
    encoded as UTF-8). At most ``len(buf)`` bytes each time."""
    size = len(buf)
    bmv = memoryview(buf)
    if isinstance(source, str):
        source = source.encode("utf-8")
    if isinstance(source, (bytes, bytearray, memoryview)):
        mv = memoryview(source)
        for i in range(0, len(mv), size):
            k = len(mv) - i if len(mv) - i < size else size
            bmv[0:k] = mv[i : i + k]
            yield k
        return
    readinto = getattr(source, "readinto", None)
    if readinto is not None:
        while True:
            k = readinto(buf)
            if not k:
                return
            yield k
    read = getattr(source, "read", None)
    if read is not None:
        while True:
            c = read(size)
            if not c:
                return
            if isinstance(c, str):
                c = c.encode("utf-8")
            for k in _copy_in(c, bmv, size):
                yield k
    for c in source:
        if isinstance(c, str):
            c = c.encode("utf-8")
        for k in _copy_in(c, bmv, size):
            yield k


def _copy_in(c, bmv, size):
    mv = memoryview(c)
    m = len(mv)
    for i in range(0, m, size):
        k = m - i if m - i < size else size
        bmv[0:k] = mv[i : i + k]
        yield k


# -- results ----------------------------------------------------------------


class SendResult:
    """What happened to one mail: ``recipients`` maps every address to its
    RCPT ``Reply``; ``accepted`` (list) and ``refused`` (dict address ->
    Reply) split them; ``reply`` is the final reply to the message data."""

    def __init__(self):
        self.recipients = {}
        self.accepted = []
        self.refused = {}
        self.reply = None

    def add(self, addr, reply):
        self.recipients[addr] = reply
        if reply.code // 100 == 2:
            self.accepted.append(addr)
        else:
            self.refused[addr] = reply

    def __repr__(self):
        return "SendResult(accepted=%r, refused=%r, reply=%r)" % (
            self.accepted,
            dict((a, str(r)) for a, r in self.refused.items()),
            str(self.reply) if self.reply else None,
        )


# -- conversations ----------------------------------------------------------


def _expect(reply, ok, command):
    if reply is SENT or not isinstance(reply, Reply):
        raise PeerError("%s: no reply" % command)
    if reply.code not in ok:
        raise SMTPReplyError(reply, command)
    return reply


class Session:
    """Client state across conversations: capabilities and the parser.

    ``parser`` is the core to hand to a driver. The generator methods are
    conversations: run them with ``Connection.run``/``StreamConnection.run``.
    """

    def __init__(self, local_hostname="localhost", chunk=_CHUNK, copy_chunks=False, **limits):
        _check(local_hostname, "local_hostname")
        self.local_hostname = local_hostname
        self.parser = ReplyParser(**limits)
        self.caps = {}
        self.esmtp = False
        self.chunk = chunk
        # the body buffers, allocated once per session and reused
        self._stuffer = DotStuffer(chunk, copy_chunks, base=_BDAT_HEAD)
        self._inbuf = bytearray(chunk)
        self.greeting = None
        self.stage = ""  # the step of a mail transaction in progress
        self.broken = False  # True: out of step with the server, close it

    def greet(self):
        """Read the 220 greeting."""
        r = yield None
        self.greeting = _expect(r, (220,), "greeting")
        return r

    def hello(self):
        """EHLO, falling back to HELO when EHLO is not understood."""
        r = yield command("EHLO", self.local_hostname)
        if r.code == 250:
            self.esmtp = True
            self.caps = parse_capabilities(r)
            return r
        if r.code in (500, 502, 504, 550):
            r = yield command("HELO", self.local_hostname)
            _expect(r, (250,), "HELO")
            self.esmtp = False
            self.caps = {}
            return r
        raise SMTPReplyError(r, "EHLO")

    def starttls(self):
        """Ask for STARTTLS; on 220 the caller upgrades the socket, calls
        ``parser.discard()`` and runs ``hello()`` again."""
        if "STARTTLS" not in self.caps:
            raise PeerError("server does not offer STARTTLS")
        r = yield command("STARTTLS")
        _expect(r, (220,), "STARTTLS")
        self.parser.discard()
        return r

    def simple(self, verb, ok=(250,)):
        """One command without arguments (NOOP, RSET, QUIT)."""
        r = yield command(verb)
        return _expect(r, ok, verb)

    def choose_mechanism(self, mechanism=None):
        offered = [m.upper() for m in self.caps.get("AUTH", [])]
        if not offered:
            raise PeerError("server does not offer AUTH")
        if mechanism:
            mechanism = mechanism.upper()
            if mechanism not in offered:
                raise PeerError("server does not offer AUTH %s (offers %s)" % (mechanism, " ".join(offered)))
            return mechanism
        for m in ("PLAIN", "LOGIN", "CRAM-MD5"):
            if m in offered and (m != "CRAM-MD5" or _have_md5()):
                return m
        raise PeerError("no supported AUTH mechanism among: %s" % " ".join(offered))

    def auth(self, user, secret, mechanism=None):
        """AUTH (RFC 4954) with PLAIN, LOGIN, CRAM-MD5 or XOAUTH2 (``secret``
        is then the OAuth2 access token). The mechanism is the one given, or
        the first of PLAIN, LOGIN, CRAM-MD5 the server offers."""
        mech = self.choose_mechanism(mechanism)
        u = user.encode("utf-8") if isinstance(user, str) else bytes(user)
        p = secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
        if mech == "PLAIN":
            resp = b64(b"\x00" + u + b"\x00" + p)
            r = yield b"AUTH PLAIN " + resp + b"\r\n"
            if r.code == 334:
                r = yield resp + b"\r\n"
        elif mech == "LOGIN":
            r = yield b"AUTH LOGIN\r\n"
            if r.code == 334:
                r = yield b64(u) + b"\r\n"
                if r.code == 334:
                    r = yield b64(p) + b"\r\n"
        elif mech == "CRAM-MD5":
            r = yield b"AUTH CRAM-MD5\r\n"
            if r.code == 334:
                challenge = unb64(r.lines[0].encode())
                r = yield b64(cram_md5_response(u, p, challenge)) + b"\r\n"
        elif mech == "XOAUTH2":
            r = yield b"AUTH XOAUTH2 " + b64(b"user=" + u + b"\x01auth=Bearer " + p + b"\x01\x01") + b"\r\n"
            if r.code == 334:
                # the server sent an error description: end the exchange
                r = yield b"\r\n"
        else:
            raise UsageError("unsupported AUTH mechanism %s" % mech)
        _expect(r, (235,), "AUTH " + mech)
        return r

    def mail(
        self,
        from_addr,
        to_addrs,
        body,
        size=None,
        eight_bit=None,
        smtputf8=None,
        pipelining=True,
        chunking=False,
        notify=None,
        ret=None,
        envid=None,
    ):
        """One mail transaction: MAIL FROM, RCPT TO for each address, DATA
        and the body streamed from ``body`` (see ``body_chunks``). Returns a
        ``SendResult``; raises ``SMTPRecipientsRefused`` when every
        recipient is refused, ``SMTPReplyError`` when MAIL or the data is
        refused. After a refusal the transaction is reset (RSET).

        ``size``: the message size to announce (SIZE=) when known;
        ``eight_bit``: True/None (unknown) asks for BODY=8BITMIME when
        offered; ``smtputf8``: None means "when an address is not ASCII";
        ``chunking``: send the body with BDAT (RFC 3030) when offered.
        DSN (RFC 3461, a ``UsageError`` if not offered): ``notify`` is
        "NEVER" or a list/comma list of SUCCESS, FAILURE, DELAY (each RCPT
        then carries ORCPT too); ``ret`` is "FULL" or "HDRS"; ``envid`` an
        envelope id for the notifications.
        """
        to_addrs = [to_addrs] if isinstance(to_addrs, str) else list(to_addrs)
        if not to_addrs:
            raise UsageError("no recipients")
        caps = self.caps
        rev = address(from_addr, "sender") if from_addr else "<>"
        fwd = [address(a, "recipient") for a in to_addrs]
        if smtputf8 is None:
            smtputf8 = not _ascii(rev) or not all(_ascii(a) for a in fwd)
        params = ""
        if size is not None and "SIZE" in caps:
            limit = max_size(caps)
            if limit and size > limit:
                # RFC 1870 6.1: what the server would answer, before anything is sent
                raise SMTPReplyError(
                    Reply(552, ["message of %d bytes exceeds the server's SIZE limit of %d" % (size, limit)], "5.3.4"),
                    "SIZE",
                )
            params += " SIZE=%d" % size
        check8 = False  # look for 8-bit bytes while sending the body
        if "8BITMIME" in caps:
            if eight_bit is not False:
                params += " BODY=8BITMIME"
        elif eight_bit is not False:
            # RFC 6152 3: no 8-bit data to a server that did not offer 8BITMIME
            if isinstance(body, str):
                body = body.encode("utf-8")
            if eight_bit or isinstance(body, (bytes, bytearray)) and not _is_7bit(body, len(body)):
                raise UsageError(_NO_8BIT)
            check8 = eight_bit is None
        if smtputf8:
            if "SMTPUTF8" not in caps:
                raise UsageError("an address is not ASCII and the server does not offer SMTPUTF8")
            params += " SMTPUTF8"
        rparams = ""
        if notify or ret or envid:
            if "DSN" not in caps:
                raise UsageError("delivery notifications asked for but the server does not offer DSN")
            if ret:
                if ret.upper() not in ("FULL", "HDRS"):
                    raise UsageError("ret must be FULL or HDRS")
                params += " RET=" + ret.upper()
            if envid:
                params += " ENVID=" + xtext(envid)
            if notify:
                words = notify.upper().split(",") if isinstance(notify, str) else [w.upper() for w in notify]
                for w in words:
                    if w not in ("NEVER", "SUCCESS", "FAILURE", "DELAY") or (w == "NEVER" and len(words) > 1):
                        raise UsageError("notify must be NEVER or some of SUCCESS, FAILURE, DELAY")
                rparams = " NOTIFY=" + ",".join(words)
        rcpts = []
        for a in fwd:
            orcpt = " ORCPT=rfc822;" + xtext(a[1:-1]) if rparams and _ascii(a) else ""
            rcpts.append(command("RCPT", "TO:" + a + rparams + orcpt))
        mail_cmd = command("MAIL", "FROM:" + rev + params)
        result = SendResult()
        self.stage = "MAIL FROM"
        bdat = chunking and "CHUNKING" in caps

        pipe = pipelining and "PIPELINING" in caps
        if pipe:
            # RFC 2920: MAIL, the RCPTs (in batches) and DATA in few writes
            n = len(fwd)
            out = bytearray(mail_cmd)
            replies = []
            i = 0
            while i < n:
                j = i + _PIPE_BATCH if i + _PIPE_BATCH < n else n
                for k in range(i, j):
                    out += rcpts[k]
                if j == n and not bdat:
                    out += b"DATA\r\n"
                self.stage = "MAIL FROM" if i == 0 else "RCPT TO"
                r = yield bytes(out)
                replies.append(r)
                expect = (j - i) + (1 if j == n and not bdat else 0) + (1 if i == 0 else 0) - 1
                for _ in range(expect):
                    r = yield None
                    replies.append(r)
                out = bytearray()
                i = j
            mail_r = replies[0]
            for k in range(n):
                result.add(to_addrs[k], replies[1 + k])
            data_r = None if bdat else replies[-1]
            if mail_r.code != 250:
                if data_r is not None and data_r.code == 354:
                    yield from self._abort_data()
                yield from self._rset()
                raise SMTPReplyError(mail_r, "MAIL FROM")
            if not result.accepted:
                if data_r is not None and data_r.code == 354:
                    yield from self._abort_data()
                yield from self._rset()
                raise SMTPRecipientsRefused(result)
            if data_r is not None and data_r.code != 354:
                yield from self._rset()
                raise SMTPReplyError(data_r, "DATA")
        else:
            self.stage = "MAIL FROM"
            r = yield mail_cmd
            if r.code != 250:
                yield from self._rset()
                raise SMTPReplyError(r, "MAIL FROM")
            self.stage = "RCPT TO"
            for k in range(len(fwd)):
                r = yield rcpts[k]
                result.add(to_addrs[k], r)
            if not result.accepted:
                yield from self._rset()
                raise SMTPRecipientsRefused(result)
            if not bdat:
                self.stage = "DATA"
                r = yield b"DATA\r\n"
                if r.code != 354:
                    yield from self._rset()
                    raise SMTPReplyError(r, "DATA")
        self.stage = "message data"
        if bdat:
            r = yield from self._send_bdat(body, pipe, check8)
        else:
            r = yield from self._send_body(body, check8)
        result.reply = r
        if r.code != 250:
            raise SMTPReplyError(r, "BDAT" if bdat else "message data")
        return result

    def _rset(self):
        r = yield b"RSET\r\n"
        return r

    def _abort_data(self):
        # a server said 354 though the transaction failed: end an empty body
        r = yield b".\r\n"
        return r

    def _send_body(self, body, check8=False):
        stuffer = self._stuffer
        stuffer.reset(True)
        buf = self._inbuf
        parser = self.parser
        held = 0  # encoded bytes not yet sent (front of the out buffer)
        out = None
        for n in body_chunks(body, buf):
            if check8 and not _is_7bit(buf, n):
                # stop before the end-of-data mark: no mail is delivered
                self.broken = True
                raise UsageError(_NO_8BIT)
            if held:
                parser.pass_through()
                r = yield out
                if r is not SENT:
                    # the server spoke in the middle of the data: give up;
                    # the session is out of step and must be closed
                    self.broken = True
                    raise SMTPReplyError(r, "message data")
            out = stuffer.encode(buf, n)
            held = len(out)
        r = yield stuffer.finish(held)
        if r is SENT:
            raise PeerError("message data: no reply")
        return r

    def _send_bdat(self, body, pipelined, check8=False):
        """The body as BDAT chunks (RFC 3030): CRLF line ends, no
        dot-stuffing. With PIPELINING up to ``_BDAT_WINDOW`` chunks await
        their reply; a refused chunk stops the transfer (then RSET)."""
        stuffer = self._stuffer
        stuffer.reset(False)
        buf = self._inbuf
        parser = self.parser
        window = _BDAT_WINDOW if pipelined else 1
        waiting = 0  # chunks sent whose reply has not been read
        failed = None
        held = 0
        for n in body_chunks(body, buf):
            if check8 and not _is_7bit(buf, n):
                self.broken = True
                raise UsageError(_NO_8BIT)
            if held:
                waiting += 1
                if waiting < window:
                    parser.pass_through()
                r = yield stuffer.framed(b"BDAT %d\r\n" % held, held)
                if r is not SENT:
                    waiting -= 1
                    if r.code != 250:
                        failed = r
                        break
            held = len(stuffer.encode(buf, n))
        last = None
        if failed is None:
            held = len(stuffer.finish(held))
            waiting += 1
            last = yield stuffer.framed(b"BDAT %d LAST\r\n" % held, held)
            waiting -= 1
        # replies come in order: the one just read may not be the last
        while waiting:
            r = yield None
            waiting -= 1
            if failed is None and last.code != 250:
                failed = last
            last = r
        if failed is None and last.code != 250:
            failed = last
        if failed is not None:
            yield from self._rset()
            raise SMTPReplyError(failed, "BDAT")
        return last
