"""SMTP client core (RFC 5321), sans-I/O.

What lives here: the reply parser (a core for the shared drivers), the
capability parser, command building, the dot-stuffer, and the conversations
(generators that yield bytes to send and receive parsed replies) that the
facades in ``microproto.smtp`` run. What a plain send does not need is
loaded on first use, and its names are reachable here: AUTH, DSN, BDAT and
batches of mails (``microproto.smtp_ext``), the errors and their texts
(``SMTPReplyError``, ``SMTPRecipientsRefused``: ``microproto.smtp_errors``).

Rules of this file:
- A reply is ``ddd`` (first digit 2-5), then ``-`` (more lines follow), a
  space or nothing, then text, then LF (a CR before it is dropped). All lines
  of one reply carry the same code. Anything else is a ``PeerError``.
- Every read is bounded: ``max_line`` bytes per reply line, ``max_lines``
  lines per reply, ``max_queue`` replies parsed but not yet taken. Exceeding
  one is a ``LimitError``; what was parsed before stays available.
- Nothing here asserts on peer data; commands built from caller data refuse
  CR, LF and NUL (``UsageError``), so no command or header can be injected.
- No 8-bit data to a server that did not offer 8BITMIME (RFC 6152), no
  message larger than its SIZE (RFC 1870): refused before anything is sent
  when known, else the body stops before its end mark (no mail delivered).
- Time and sockets live in the drivers; this file never reads a clock.
"""

from microproto.errors import PeerError
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
# commands sent in one PIPELINING group (keeps the reply queue bounded)
_PIPE_BATCH = const(32)
# room in front of a chunk for "BDAT <n> LAST" CRLF
_HEAD = const(24)

_LF = const(10)
_DOT = const(46)

# what ``next_event`` gives a conversation that asked not to wait (pass_through)
SENT = "SENT"


def __getattr__(name):
    # the errors come from microproto.smtp_errors, the rarely used parts
    # (b64, unb64, xtext, cram_md5_response, stuff, ...) from microproto.smtp_ext
    return _fail(35, name)


def _fail(n, arg=None):
    # the rarely needed parts, in microproto.smtp_errors (loaded then): the
    # error to raise for a Reply or an error number, or a rare step (see
    # ``smtp_errors.error``): one way in keeps names out of this module
    from microproto import smtp_errors

    return smtp_errors.error(n, arg)


# -- replies ----------------------------------------------------------------


class Reply:
    """One server reply: ``code`` (int), ``lines`` (list of str, the text of
    each line), ``enhanced`` (RFC 3463 status of the first line, or None),
    ``text`` (the lines joined by newlines)."""

    def __init__(self, code, lines, enhanced=None):
        self.code = code
        self.lines = lines
        self.enhanced = enhanced
        self.text = "\n".join(lines)

    def __eq__(self, r):
        return isinstance(r, Reply) and (self.code, self.lines, self.enhanced) == (r.code, r.lines, r.enhanced)

    def __str__(self):
        # "250 2.0.0 first line ...second / third", made by smtp_errors
        return _fail(30, self)


class ReplyParser:
    """The receiving core: bytes in, ``Reply`` events out.

    Limits: ``max_line`` bytes per line (terminator included), ``max_lines``
    lines per reply, ``max_queue`` complete replies waiting to be taken.
    After a ``PeerError`` the parser stays failed (``error``).
    """

    # nothing to send of its own (the conversations yield the commands)
    data_to_send = bytes

    def __init__(self, max_line=_MAX_LINE, max_lines=_MAX_LINES, max_queue=_MAX_QUEUE):
        self.max_line = max_line
        self.max_lines = max_lines
        self.max_queue = max_queue
        self.count = 0  # SENT events owed to ``pass_through``
        self.eof = False
        self.error = None
        self.discard()

    def discard(self):
        """Drop everything received and not yet taken (after STARTTLS: the
        plaintext read before the upgrade must never be trusted)."""
        self.buf = b""  # the start of a line cut by a read
        self.lines = []  # the lines of the reply being read
        self.items = []  # the complete replies not yet taken

    def pass_through(self):
        """Make the next ``next_event`` return ``SENT`` at once (unless a reply
        is waiting): lets a conversation write without awaiting a reply."""
        self.count += 1

    def receive_data(self, data):
        """Feed received bytes (``b""``: the server closed)."""
        if self.error is not None:
            raise self.error
        if not data:
            self.eof = True
            return
        m = self.max_line
        # whole lines are taken straight from the read; a partial line is
        # kept (below ``max_line`` bytes) and joined to the next read
        data = self.buf + data if self.buf else bytes(data)
        s = 0
        try:
            while True:
                e = data.find(b"\n", s, s + m)
                if e < 0:
                    if len(data) - s >= m:
                        raise _fail(4, m)
                    self.buf = data[s:]
                    return
                # the line is data[s:f] (its CR LF cut), read in place
                f = e - 1 if e > s and data[e - 1] == 13 else e
                n = f - s
                sep = data[s + 3] if n > 3 else 32
                if n < 3 or not (50 <= data[s] <= 53 and 48 <= data[s + 1] <= 53 and 48 <= data[s + 2] <= 57) or sep not in (32, 45):
                    raise _fail(5, data[s : e + 1][:40])
                code = data[s] * 100 + data[s + 1] * 10 + data[s + 2] - 5328  # 5328: "000"
                lines = self.lines
                if lines and code != self.head[0]:
                    raise _fail(6, (self.head[0], code))
                if len(lines) >= self.max_lines:
                    raise _fail(7, self.max_lines)
                try:
                    text = data[s + 4 : f].decode()
                except UnicodeError:
                    # not UTF-8: bytes above 127 become '?'
                    text = _fail(31, data[s + 4 : f])
                # RFC 3463 ``class.subject.detail`` first, when its class is
                # the code's first digit (not 3): kept in ``enhanced`` (from
                # the first line; later lines repeat it), out of the text.
                # Looked for only when the text starts with that digit and a
                # dot (most lines do not: no splitting for them)
                st = None
                if n > 5 and data[s + 5] == _DOT and data[s + 4] == data[s] != 51:
                    st = text.split(" ", 1)[0]
                    p = st.split(".")
                    if not (len(p) == 3 and 0 < len(p[1]) < 4 and 0 < len(p[2]) < 4 and (p[1] + p[2]).isdigit()):
                        st = None
                s = e + 1
                if not lines:
                    # the code and status of the reply's first line
                    self.head = (code, st)
                if st and st == self.head[1]:
                    text = text[len(st) + 1 :]
                lines.append(text)
                if sep == 32:
                    if len(self.items) >= self.max_queue:
                        raise _fail(8, self.max_queue)
                    self.items.append(Reply(code, lines, self.head[1]))
                    self.lines = []
        except PeerError as e:
            self.error = e
            raise

    def next_event(self):
        """The next complete ``Reply`` (or ``SENT``, see ``pass_through``);
        None when more bytes are needed. Raises ``PeerError`` once the
        server has closed with no complete reply left."""
        if self.items:
            self.count = 0  # SENT events owed to ``pass_through``
            return self.items.pop(0)
        if self.count:
            self.count -= 1
            return SENT
        if self.eof:
            raise _fail(9, " in the middle of a reply" if self.lines or self.buf else "")
        return None

    def pending(self):
        """Number of complete replies waiting."""
        return len(self.items)


# -- commands ---------------------------------------------------------------


def command(name, arg=None):
    """``name arg CRLF`` as bytes; CR/LF/NUL in them is a ``UsageError``."""
    if arg is not None:
        name += " " + arg
    for c in "\r\n\x00<> ":  # (the same string as ``address``'s)
        if c < " " and c in name:
            raise _fail(12)  # CR, LF or NUL in a command
    b = name.encode()
    if len(b) + 2 > _MAX_COMMAND:
        raise _fail(13)  # command line too long
    return b + b"\r\n"


def address(s, name="address"):
    """``<s>`` for MAIL/RCPT; accepts ``"Name <a@b>"`` too (``name``: what
    it is, for the error)."""
    if not isinstance(s, str):
        raise _fail(14, name)  # not a str
    a = s.strip()
    lt = a.rfind("<")
    if lt >= 0 and a.endswith(">"):
        a = a[lt + 1 : -1].strip()
    for c in "\r\n\x00<> ":
        # CR, LF, NUL anywhere; <, > and space in the address itself
        if c in (s if c < " " else a):
            raise _fail(15, (name, s))  # bad address
    return "<" + a + ">"


# -- dot-stuffing -----------------------------------------------------------


class DotStuffer:
    """DATA body encoder (RFC 5321 4.5.2 and 2.3.8): every line end becomes
    CRLF (lone CR and lone LF included), a line starting with '.' gets one
    more, and ``finish()`` ends the body with ``CRLF . CRLF``. With
    ``dots=False`` (BDAT, RFC 3030) lines are only made CRLF and ``finish``
    adds just a missing final CRLF.

    Works on chunks split anywhere. ``encode(data, n)`` takes at most
    ``chunk`` bytes and returns one bytearray (``out``), encoded in place
    and valid until the next call: the input is copied in, then a CR, an LF
    or a dot is inserted where one is missing. Its length changes within a
    capacity allocated once (``2 * chunk + 8`` bytes, one chunk can double,
    plus ``head`` bytes for a command in front), so it is never reallocated
    and encoding allocates nothing. ``copy``: results are new ``bytes``
    (for a writer that keeps what it is given).
    """

    def __init__(self, chunk=_CHUNK, copy=False, dots=True, head=0):
        self.chunk = chunk
        self.out = bytearray(head + 2 * chunk + 8)
        self.out[:] = b""  # empty, the capacity kept
        self.copy = copy
        self.dots = dots
        self.start = True  # at the start of a line
        self.wait = False  # the last byte seen was a CR not yet written

    def encode(self, data, n=None):
        if n is None:
            n = len(data)
        if n > self.chunk:
            raise _fail(11, self.chunk)
        out = self.out
        if len(data) > n:
            data = memoryview(data)[:n]
        out[:] = data
        if self.wait and n:
            # a CR ended the last chunk: its line end goes first
            self.wait = False
            out[0:0] = b"\r" if out[0] == _LF else b"\r\n"
        c = out.count(b"\r\n")
        if out.count(b"\n") != c or out.count(b"\r") != c:
            # not CRLF text: a CR after each bare LF, an LF after each bare CR
            i = 0
            c = out.find(b"\r")
            while True:
                j = out.find(b"\n", i)
                if 0 <= c and (c < j or j < 0):
                    if c + 1 == len(out):
                        # a CR at the end: it may begin a CRLF, held back
                        out[c:] = b""
                        self.wait = True
                        break
                    if out[c + 1] != _LF:
                        out[c + 1 : c + 1] = b"\n"
                    i = c + 2
                    c = out.find(b"\r", i)
                elif j < 0:
                    break
                else:
                    out[j:j] = b"\r"
                    i = j + 2
                    if c > j:
                        c += 1
        if self.dots:
            if self.start and out and out[0] == _DOT:
                out[0:0] = b"."
            j = out.find(b"\n.")
            while j >= 0:
                out[j + 1 : j + 1] = b"."
                j = out.find(b"\n.", j + 3)
        if out:
            self.start = out[-1] == _LF
        return bytes(out) if self.copy else out

    def finish(self, n=0):
        """The end of the body: a pending line end, a CRLF if the body did
        not end with one, then ``.CRLF``. With ``n``, the first ``n``
        bytes of the last ``encode`` result stay in front (one write instead
        of two: a small second write would wait for a delayed ACK)."""
        out = self.out
        out[n:] = b""
        if self.wait or not self.start:
            out.extend(b"\r\n")
        if self.dots:
            out.extend(b".\r\n")
        self.start = True
        self.wait = False
        return bytes(out) if self.copy else out


# -- body sources -----------------------------------------------------------


def body_chunks(data, buf):
    """Yield ``n`` after filling ``buf`` (a bytearray) with the next ``n``
    bytes of ``data``: bytes, bytearray, str, a binary file (``readinto``
    or ``read``) or an iterable of bytes-like chunks (str chunks are
    encoded as UTF-8). At most ``len(buf)`` bytes each time."""
    size = len(buf)
    read = None
    if isinstance(data, (str, bytes, bytearray, memoryview)):
        data = (data,)
    elif hasattr(data, "readinto"):
        while True:
            k = data.readinto(buf)
            if not k:
                return
            yield k
    else:
        read = getattr(data, "read", None)
    it = None if read else iter(data)
    while True:
        c = (read(size) or None) if read else next(it, None)
        if c is None:
            return
        if isinstance(c, str):
            c = c.encode()
        mv = memoryview(c)
        m = len(mv)
        for i in range(0, m, size):
            k = m - i if m - i < size else size
            buf[0:k] = mv[i : i + k]
            yield k


# -- conversations ----------------------------------------------------------


class SendResult:
    """What happened to one mail: ``recipients`` maps every address to its
    RCPT ``Reply``; ``accepted`` (list) and ``refused`` (dict address ->
    Reply) split them; ``reply`` is the final reply to the message data."""

    def __init__(self):
        self.recipients = {}
        self.accepted = []
        self.refused = {}
        self.reply = None

    def add(self, a, r):
        # recipient ``a`` and its RCPT reply ``r``
        self.recipients[a] = r
        if r.code // 100 == 2:
            self.accepted.append(a)
        else:
            self.refused[a] = r


class Session:
    """Client state across conversations: capabilities and the parser.

    ``parser`` is the core to hand to a driver. The generator methods are
    conversations: run them with ``Connection.run``/``StreamConnection.run``.
    """

    def __init__(self, local_hostname="localhost", chunk=_CHUNK, copy=False, **args):
        # checked for CR, LF, NUL here, built again by ``hello``
        command("EHLO", local_hostname)
        self.local_hostname = local_hostname
        # ``args``: the parser's limits (max_line, max_lines, max_queue)
        self.parser = ReplyParser(**args)
        self.caps = {}
        self.esmtp = False
        self.chunk = chunk
        # the body buffers, allocated once per session and reused
        self._stuffer = DotStuffer(chunk, copy, True, _HEAD)
        self.buf = bytearray(chunk)
        self.greeting = None
        self.stage = ""  # the step of a mail transaction in progress
        self.broken = False  # True: out of step with the server, close it

    def hello(self):
        """EHLO, falling back to HELO when EHLO is not understood."""
        r = yield command("EHLO", self.local_hostname)
        self.esmtp = r.code == 250
        # the keywords (upper case) and their parameters; the old
        # ``AUTH=X Y`` form is merged into AUTH
        caps = self.caps  # refilled in place: the facades hand it out
        caps.clear()
        for line in r.lines[1:] if self.esmtp else ():
            words = line.split()
            if words:
                kw = words[0].upper()
                params = words[1:]
                if "=" in kw:
                    # the old ``AUTH=X Y`` form: X goes to AUTH's parameters
                    kw = _fail(32, (kw, params))
                old = caps.setdefault(kw, [])
                for p in params:
                    if p not in old:
                        old.append(p)
        if not self.esmtp:
            # EHLO not understood: HELO (or the error)
            r = yield from _fail(33, (self, r))
        return r

    def simple(self, name=None, args=(250,)):
        """One command without arguments (NOOP, RSET, QUIT); None reads the
        greeting (kept in ``greeting``); STARTTLS (RFC 3207) only when
        offered: on 220 the caller upgrades the socket, calls
        ``parser.discard()`` and runs ``hello()`` again. ``args``: the
        codes that are success."""
        if name == "STARTTLS" and name not in self.caps:
            raise _fail(2)
        r = yield command(name) if name else None
        name = name or "greeting"
        if not isinstance(r, Reply):
            raise _fail(10, name)
        if r.code not in args:
            raise _fail(r, name)
        if name == "greeting":
            self.greeting = r
        elif name == "STARTTLS":
            self.parser.discard()
        return r

    def mail(self, from_addr, to_addrs, message, size=None, eight_bit=None, smtputf8=None, pipelining=True,
             chunking=False, notify=None, ret=None, envid=None):
        """One mail transaction: MAIL FROM, RCPT TO for each address, DATA
        and the body streamed from ``message`` (see ``body_chunks``). Returns
        a ``SendResult``; raises ``SMTPRecipientsRefused`` when every
        recipient is refused, ``SMTPReplyError`` when MAIL or the data is
        refused. After a refusal the transaction is reset (RSET).

        ``size``: the message size to announce (SIZE=) when known; larger
        than the server's SIZE: ``SMTPReplyError`` 552 (command "SIZE")
        before anything is sent. ``eight_bit``: True/None (unknown) asks
        for BODY=8BITMIME when offered; when it is not offered, an 8-bit
        body (known, or found while sending) is a ``UsageError`` and no mail
        is delivered. ``smtputf8``: None means "when an address is not
        ASCII"; ``chunking``: send the body with BDAT (RFC 3030) when
        offered (``microproto.smtp_ext``). DSN (RFC 3461, a ``UsageError``
        if not offered): ``notify`` is "NEVER" or a list/comma list of
        SUCCESS, FAILURE, DELAY (each RCPT then carries ORCPT too); ``ret``
        is "FULL" or "HDRS"; ``envid`` an envelope id for the notifications.
        """
        args, f, message = self.envelope(from_addr, to_addrs, message, size, eight_bit, smtputf8, notify, ret, envid)
        pipelining = pipelining and "PIPELINING" in self.caps
        if chunking and "CHUNKING" in self.caps:
            # BDAT: the envelope without DATA, then the body in chunks
            from microproto import smtp_ext

            return (yield from smtp_ext.mail_bdat(self, args, to_addrs, message, pipelining, f))
        args.append(b"DATA\r\n")
        r = SendResult()
        yield from self._envelope(args, to_addrs, r, pipelining, True)
        self.stage = "message data"
        r.reply = yield from self._send_body(message, f)
        if r.reply.code != 250:
            raise _fail(r.reply, "message data")
        return r

    def envelope(self, from_addr, to_addrs, message, size, eight_bit, smtputf8, notify, ret, envid):
        """The MAIL and RCPT commands of a mail (a list of bytes), the
        check of the body's bytes while sending (a function, or False) and
        the body (a str made bytes). Raises what can be known before
        sending. A server without 8BITMIME, SMTPUTF8 and DSN are handled by
        ``microproto.smtp_ext.envelope``, loaded when one is in play."""
        caps = self.caps
        if isinstance(to_addrs, str):
            to_addrs = [to_addrs]
        if not to_addrs:
            raise _fail(16)  # no recipients
        rev = address(from_addr or "", "sender")  # "<>" for none
        fwd = [address(a, "to_addrs") for a in to_addrs]
        if isinstance(message, str):
            message = message.encode()
        a = rev + "".join(fwd)
        more = ""
        rparams = f = False
        if eight_bit is not False and "8BITMIME" not in caps or smtputf8 or smtputf8 is None and len(a.encode()) != len(a) or notify or ret or envid:
            from microproto import smtp_ext

            more, rparams, f, message, size = smtp_ext.envelope(caps, fwd, a, message, size, eight_bit, smtputf8, notify, ret,
                                                                envid)
        params = ""
        if size is not None and "SIZE" in caps:
            p = caps["SIZE"]
            if p and p[0].isdigit() and len(p[0]) < 16 and 0 < int(p[0]) < size:
                raise _fail(3, (size, int(p[0])))
            params = " SIZE=%d" % size
        if eight_bit is not False and "8BITMIME" in caps:
            params += " BODY=8BITMIME"
        args = [command("MAIL FROM:" + rev + params + more)]
        for k in range(len(fwd)):
            args.append(command("RCPT TO:" + fwd[k] + (rparams[k] if rparams else "")))
        return args, f, message

    def _envelope(self, args, to_addrs, value, pipelining, data):
        """Send the commands ``args``: MAIL, the RCPTs and DATA (when
        ``data``), in groups of ``_PIPE_BATCH`` with ``pipelining`` (RFC
        2920) or one by one; fill ``value`` (a ``SendResult``); on a
        refusal end the transaction (RSET) and raise."""
        if isinstance(to_addrs, str):
            to_addrs = [to_addrs]
        replies = []
        n = len(args)
        i = 0
        while i < n:
            if not pipelining and i and (replies[0].code != 250 or data and i == n - 1 and not value.accepted):
                break  # one by one: stop at a refused MAIL, no DATA without a recipient
            j = i + _PIPE_BATCH if pipelining else i + 1
            j = n if j > n else j
            # the command's name, its colon cut
            self.stage = ("MAIL FROM:" if i == 0 else "RCPT TO:" if i < n - 1 or not data else "DATA:")[:-1]
            r = yield b"".join(args[i:j])
            while True:
                if not isinstance(r, Reply):
                    raise _fail(10, self.stage)
                k = len(replies)
                if 0 < k <= len(to_addrs):
                    value.add(to_addrs[k - 1], r)
                replies.append(r)
                if k + 1 == j:
                    break
                r = yield None
            i = j
        last = replies[-1] if data and len(replies) == n else None
        if replies[0].code != 250 or not value.accepted or last is not None and last.code != 354:
            # the empty body a server that said 354 anyway waits for, RSET,
            # then the error
            yield from _fail(34, (replies[0], value, last))
        return replies

    def _send_body(self, message, f=False, end=False):
        """The body, dot-stuffed, then the end mark; returns the reply.
        ``f``: the check of the body's bytes (8-bit data to a server without
        8BITMIME, see ``envelope``). With ``end``, the last piece and the
        end mark are returned unsent (bytes) instead: a batch sends them with
        the next mail's commands."""
        st = self._stuffer
        st.dots = st.start = True  # a new body, dot-stuffed
        st.wait = False
        buf = self.buf
        held = 0  # encoded bytes not yet sent (in the stuffer's buffer)
        out = None
        for n in body_chunks(message, buf):
            if f:
                # 8-bit bytes stop the body before its end mark: no mail
                f(self, buf, n)
            if held:
                self.parser.pass_through()
                r = yield out
                if r is not SENT:
                    # the server spoke in the middle of the data: give up;
                    # the session is out of step and must be closed
                    self.broken = True
                    raise _fail(r, "message data")
            out = st.encode(buf, n)
            held = len(out)
        out = st.finish(held)
        if end:
            return bytes(out)
        r = yield out
        if not isinstance(r, Reply):
            raise _fail(10, "message data")
        return r
