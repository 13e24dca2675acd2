"""The parts of the SMTP client that a plain send does not need, loaded on
first use (``microproto.smtp_core`` and ``microproto.smtp`` reach them):
AUTH (RFC 4954: PLAIN, LOGIN, CRAM-MD5, XOAUTH2), delivery status
notifications (RFC 3461), BDAT (RFC 3030), batches of mails on one
connection with PIPELINING across mails (RFC 2920 3.1), a server without
8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531) and ``send_mail``. The errors
(``SMTPReplyError``, ``SMTPRecipientsRefused``) are reachable here too, from
``microproto.smtp_errors``, loaded when one happens.

Same rules as ``smtp_core``: conversations are generators run by the
shared drivers, nothing asserts on peer data, nothing reads a clock.
"""

import binascii

from microproto.errors import PeerError, UsageError
from microproto.smtp_core import SENT, DotStuffer, Reply, SendResult, Session, _fail, body_chunks
from microproto_port import const

# BDAT chunks sent ahead of their replies with PIPELINING
_BDAT_WINDOW = const(8)


def __getattr__(name):
    # SMTPReplyError, SMTPRecipientsRefused: from microproto.smtp_errors,
    # loaded when an error happens or when they are asked for
    from microproto import smtp_errors

    return getattr(smtp_errors, name)


def parse_capabilities(reply):
    """EHLO reply -> dict: upper-case keyword -> list of parameters (str).
    ``AUTH=X Y`` (old form) is merged into ``AUTH``."""
    s = Session()
    conv = s.hello()
    next(conv)
    try:
        conv.send(Reply(250, reply.lines))
    except StopIteration:
        pass
    return s.caps


def max_size(caps):
    """The server's SIZE limit in bytes (0: none announced or no limit)."""
    p = caps.get("SIZE")
    if p and p[0].isdigit() and len(p[0]) < 16:
        return int(p[0])
    return 0


# -- AUTH -------------------------------------------------------------------


def b64(data):
    """Base64 of ``data`` as bytes, no newline."""
    return binascii.b2a_base64(data)[:-1]


def unb64(text):
    try:
        return binascii.a2b_base64(text)
    except ValueError:
        raise PeerError("bad base64 from server: %r" % text[:40])


def cram_md5_response(user, password, challenge):
    """RFC 2195 response (bytes, before base64): HMAC-MD5 (RFC 2104)."""
    import hashlib

    if not hasattr(hashlib, "md5"):
        raise UsageError("CRAM-MD5 needs hashlib.md5, which this firmware lacks")
    key = password
    if len(key) > 64:
        key = hashlib.md5(key).digest()
    key = key + bytes(64 - len(key))
    inner = hashlib.md5(bytes(k ^ 0x36 for k in key) + challenge).digest()
    digest = hashlib.md5(bytes(k ^ 0x5C for k in key) + inner).digest()
    return user + b" " + binascii.hexlify(digest)


def choose_mechanism(caps, mechanism=None):
    offered = [m.upper() for m in caps.get("AUTH", [])]
    if not offered:
        raise PeerError("server does not offer AUTH")
    if mechanism:
        mechanism = mechanism.upper()
        if mechanism not in offered:
            raise PeerError("server does not offer AUTH %s (offers %s)" % (mechanism, " ".join(offered)))
        return mechanism
    import hashlib

    for m in ("PLAIN", "LOGIN", "CRAM-MD5"):
        if m in offered and (m != "CRAM-MD5" or hasattr(hashlib, "md5")):
            return m
    raise PeerError("no supported AUTH mechanism among: %s" % " ".join(offered))


def auth(session, user, secret, mechanism=None):
    """AUTH (RFC 4954) with PLAIN, LOGIN, CRAM-MD5 or XOAUTH2 (``secret`` is
    then the OAuth2 access token): ``mechanism``, or the first of PLAIN,
    LOGIN, CRAM-MD5 the server offers. A conversation over ``session``."""
    mech = choose_mechanism(session.caps, mechanism)
    u = user.encode() if isinstance(user, str) else bytes(user)
    p = secret.encode() if isinstance(secret, str) else bytes(secret)
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
            r = yield b64(cram_md5_response(u, p, unb64(r.lines[0].encode()))) + b"\r\n"
    elif mech == "XOAUTH2":
        r = yield b"AUTH XOAUTH2 " + b64(b"user=" + u + b"\x01auth=Bearer " + p + b"\x01\x01") + b"\r\n"
        if r.code == 334:
            # the server sent an error description: end the exchange
            r = yield b"\r\n"
    else:
        raise UsageError("unsupported AUTH mechanism %s" % mech)
    if r.code != 235:
        raise _fail(r, "AUTH " + mech)
    return r


def login(client, user, password, mechanism=None):
    """The AUTH conversation of ``SMTP.login`` and ``AsyncSMTP.login``:
    refused without TLS unless the client has ``allow_plaintext_auth``."""
    if not client.secure and not getattr(client, "allow_plaintext_auth", False):
        raise UsageError("refusing to send credentials without TLS (allow_plaintext_auth=False)")
    return auth(client.session, user, password, mechanism)


# -- the envelope's rarer parts ---------------------------------------------


def _is_7bit(data, n):
    """True when the first ``n`` bytes of ``data`` are all below 128."""
    f = getattr(data, "isascii", None)  # CPython: fast
    if f is not None:
        return (data if n == len(data) else data[:n]).isascii()
    for i in range(n):
        if data[i] > 127:
            return False
    return True


def check_7bit(session, buf, n):
    """The body check of a mail whose 8-bit-ness is unknown, to a server
    without 8BITMIME: 8-bit data stops the body (the session is then out
    of step: ``broken``)."""
    if not _is_7bit(buf, n):
        session.broken = True
        raise _fail(0)


def envelope(caps, fwd, addrs, body, size, eight_bit, smtputf8, notify, ret, envid):
    """For ``Session.envelope``: a server without 8BITMIME (RFC 6152), a
    non-ASCII address (SMTPUTF8, RFC 6531), delivery status notifications
    (RFC 3461); ``addrs``: every address of the mail in one str. Returns
    the MAIL parameters after SIZE and BODY, one RCPT
    parameter string per recipient (or None), the body check (or False),
    the body and its size."""
    check8 = False
    if eight_bit is not False and "8BITMIME" not in caps:
        if eight_bit and hasattr(body, "seven_bit"):
            # a message.Message: its 8-bit text parts go as base64
            body.seven_bit()
            eight_bit = body.eight_bit
            size = body.size()
        if eight_bit or isinstance(body, (bytes, bytearray)) and not _is_7bit(body, len(body)):
            # RFC 6152 3: no 8-bit data to a server that did not offer 8BITMIME
            raise _fail(0)
        if eight_bit is None:
            check8 = check_7bit
    params = ""
    if smtputf8 or smtputf8 is None and len(addrs.encode()) != len(addrs):
        if "SMTPUTF8" not in caps:
            raise _fail(1)
        params = " SMTPUTF8"
    rparams = None
    if notify or ret or envid:
        params, rparams = dsn(caps, params, fwd, notify, ret, envid)
    return params, rparams, check8, body, size


# -- DSN --------------------------------------------------------------------


def xtext(s):
    """RFC 3461 4: bytes outside '!'..'~', '+' and '=' as ``+HH``."""
    out = []
    for c in s.encode():
        out.append(chr(c) if 33 <= c <= 126 and c != 43 and c != 61 else "+%02X" % c)
    return "".join(out)


def dsn(caps, params, fwd, notify, ret, envid):
    """MAIL parameters and one RCPT parameter string per recipient for
    delivery status notifications (RFC 3461)."""
    if "DSN" not in caps:
        raise UsageError("delivery notifications asked for but the server does not offer DSN")
    if ret:
        if ret.upper() not in ("FULL", "HDRS"):
            raise UsageError("ret must be FULL or HDRS")
        params += " RET=" + ret.upper()
    if envid:
        params += " ENVID=" + xtext(envid)
    rparams = [""] * len(fwd)
    if notify:
        words = notify.upper().split(",") if isinstance(notify, str) else [w.upper() for w in notify]
        for w in words:
            if w not in ("NEVER", "SUCCESS", "FAILURE", "DELAY") or (w == "NEVER" and len(words) > 1):
                raise UsageError("notify must be NEVER or some of SUCCESS, FAILURE, DELAY")
        for k in range(len(fwd)):
            a = fwd[k]
            rparams[k] = " NOTIFY=" + ",".join(words)
            if len(a.encode()) == len(a):
                rparams[k] += " ORCPT=rfc822;" + xtext(a[1:-1])
    return params, rparams


# -- BDAT -------------------------------------------------------------------


def _framed(st, head):
    # ``head`` in front of the encoded chunk, in place (one write)
    out = st.out
    out[0:0] = head
    return bytes(out) if st.copy else out


def send_bdat(session, body, pipelined, check8=False):
    """The body as BDAT chunks (RFC 3030): CRLF line ends, no
    dot-stuffing. With PIPELINING up to ``_BDAT_WINDOW`` chunks await
    their reply; a refused chunk stops the transfer (then RSET)."""
    st = session._stuffer
    st.dots = False  # a new body: CRLF lines, no dot-stuffing
    st.start = True
    st.wait = False
    buf = session.buf
    window = _BDAT_WINDOW if pipelined else 1
    waiting = 0  # chunks sent whose reply has not been read
    failed = None
    held = 0
    for n in body_chunks(body, buf):
        if check8:
            check8(session, buf, n)
        if held:
            waiting += 1
            if waiting < window:
                session.parser.pass_through()
            r = yield _framed(st, b"BDAT %d\r\n" % held)
            if r is not SENT:
                waiting -= 1
                if r.code != 250:
                    failed = r
                    break
        held = len(st.encode(buf, n))
    last = None
    if failed is None:
        held = len(st.finish(held))
        last = yield _framed(st, b"BDAT %d LAST\r\n" % held)
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
        yield b"RSET\r\n"
        raise _fail(failed, "BDAT")
    return last


def mail_bdat(session, cmds, to_addrs, body, pipe, check8):
    """The end of ``Session.mail`` when the body goes with BDAT: the
    envelope (``cmds``, no DATA), then the body in chunks."""
    result = SendResult()
    yield from session._envelope(cmds, to_addrs, result, pipe, False)
    session.stage = "message data"
    result.reply = r = yield from send_bdat(session, body, pipe, check8)
    if r.code != 250:
        raise _fail(r, "BDAT")
    return result


def stuff(data, chunk=2048):
    """Whole-body helper for tests and small messages: dot-stuffed bytes."""
    d = DotStuffer(chunk)
    parts = []
    mv = memoryview(data)
    for i in range(0, len(data), chunk):
        parts.append(bytes(d.encode(bytes(mv[i : i + chunk]))))
    parts.append(bytes(d.finish()))
    return b"".join(parts)


# -- batches ----------------------------------------------------------------


def _finish(results, i, r):
    if not isinstance(r, Reply):
        raise PeerError("message data: no reply")
    results[i].reply = r
    if r.code != 250:
        results[i] = _fail(r, "message data")


def _take(session, it, prepare):
    # the next mail of ``it`` made ready to go: (to_addrs, commands, body
    # check, body), the error that refuses it, or None after the last
    m = next(it, None)
    if m is None:
        return None
    try:
        f, t, body, size, eb = prepare(m[2], m[0], m[1], None, None) if isinstance(m, tuple) else prepare(m, None, None, None, None)
        cmds, check8, body = session.envelope(f, t, body, size, eb, None, None, None, None)
    except (UsageError, PeerError) as e:
        # refused before anything is sent (a PeerError here is the SIZE
        # limit, an SMTPReplyError)
        return e
    cmds.append(b"DATA\r\n")
    return [t] if isinstance(t, str) else t, cmds, check8, body


def mail_many(session, mails, prepare, pipelining=True):
    """Send every mail of ``mails`` on the session: a conversation that
    returns a list with, per mail, its ``SendResult`` or the error that
    refused it (``SMTPReplyError``, ``SMTPRecipientsRefused``,
    ``UsageError``); the other mails still go.

    Each item is ``(from_addr, to_addrs, message)`` or a ``Message``;
    ``prepare`` is ``microproto.smtp._prepare``. With PIPELINING the end
    of each body goes in one write with the next mail's MAIL, RCPTs and
    DATA (RFC 2920 3.1): one write and one round trip per mail; while the
    server answers, the next mail is made ready and a body given as bytes
    of at most one chunk is encoded, so that little is left to do once its
    354 comes. Every reply is checked: a refusal ends that mail's
    transaction (RSET) and is its entry in the list. Without PIPELINING,
    or for a mail of more than 31 recipients, the last body's end goes
    alone and the mail as ``Session.mail`` sends it.
    """
    pipe = pipelining and "PIPELINING" in session.caps
    results = []
    tail = None  # the end of the last body, not sent yet
    pi = 0  # its mail's index in results
    it = iter(mails)
    nxt = False  # the next mail, not taken yet
    while True:
        if nxt is False:
            nxt = _take(session, it, prepare)
        if nxt is None:
            break
        if not isinstance(nxt, tuple):
            results.append(nxt)
            nxt = False
            continue
        t, cmds, check8, body = nxt
        nxt = False
        result = SendResult()
        n = len(cmds)
        if pipe and n <= 32:
            # the envelope in one write (at most _PIPE_BATCH commands),
            # after the end of the last body
            if tail is not None:
                cmds.insert(0, tail)
            out = b"".join(cmds)
            session.stage = "MAIL FROM"
            session.parser.pass_through()
            r = yield out
            # while the server answers: the next mail, and this body when
            # it is bytes of one chunk (checked for 8-bit data in full by
            # ``envelope`` already), left in the stuffer's buffer (no copy:
            # nothing else uses that buffer before it is written)
            nxt = _take(session, it, prepare)
            end = None
            if isinstance(body, (bytes, bytearray)) and len(body) <= session.chunk:
                st = session._stuffer
                st.dots = st.start = True
                st.wait = False
                end = st.finish(len(st.encode(body)))
            if r is SENT:
                r = yield None
            if tail is not None:
                # the reply to the last body comes first
                tail = None
                _finish(results, pi, r)
                r = yield None
            first = r
            for k in range(n):
                if k:
                    r = yield None
                if not isinstance(r, Reply):
                    raise _fail(10, session.stage)
                if 0 < k < n - 1:
                    result.add(t[k - 1], r)
            if first.code != 250 or not result.accepted or r.code != 354:
                # the empty body a server that said 354 anyway waits for,
                # RSET, the error
                try:
                    yield from _fail(34, (first, result, r))
                except PeerError as e:
                    if not hasattr(e, "reply"):
                        raise
                    results.append(e)
                continue
            session.stage = "message data"
            if end is None:
                end = yield from session._send_body(body, check8, True)
        else:
            if tail is not None:
                _finish(results, pi, (yield tail))
                tail = None
            try:
                yield from session._envelope(cmds, t, result, pipe, True)
            except PeerError as e:
                if not hasattr(e, "reply"):
                    raise  # not a refusal (an SMTPReplyError): the session is gone
                results.append(e)
                continue
            session.stage = "message data"
            end = yield from session._send_body(body, check8, pipe)
            if not pipe:
                results.append(result)
                _finish(results, len(results) - 1, end)
                continue
        results.append(result)
        tail = end
        pi = len(results) - 1
    if tail is not None:
        _finish(results, pi, (yield tail))
    return results


# -- the blocking client's methods loaded on first use --------------------


def _send_many(client, mails):
    # SMTP.send_many: as SMTP.send, a refusal leaves the session usable
    from microproto.smtp import _prepare

    try:
        return client._run("mail", mail_many(client.session, mails, _prepare, client.pipelining))
    except BaseException as e:
        if client.session.broken or not hasattr(e, "reply"):
            client.close()
        raise


def method(client, name):
    """``client.name`` for the methods of ``SMTP`` loaded on first use,
    bound to ``client``:

    - ``login(user, password, mechanism=None)``: AUTH with the first of
      PLAIN, LOGIN, CRAM-MD5 the server offers (or ``mechanism``;
      "XOAUTH2" takes an access token as password); refused without TLS
      unless ``allow_plaintext_auth``.
    - ``send_many(mails)``: several mails on this connection; ``mails`` is
      an iterable of ``(from_addr, to_addrs, message)`` or ``Message``
      objects. With PIPELINING the end of each mail goes in one write with
      the next mail's envelope (one round trip per mail). Returns a list
      with, per mail, its ``SendResult`` or the error that refused it; the
      other mails still go.
    - ``sendmail(from_addr, to_addrs, message)``: smtplib-style, returns
      the dict of refused recipients (address -> (code, text)).
    - ``noop()``, ``rset()``.
    """
    if name == "login":
        return lambda user, password, mechanism=None: client._run("AUTH", login(client, user, password, mechanism))
    if name == "send_many":
        return lambda mails: _send_many(client, mails)
    if name == "sendmail":
        return lambda from_addr, to_addrs, message: {
            a: (x.code, x.text) for a, x in client.send(from_addr, to_addrs, message).refused.items()
        }
    if name == "noop" or name == "rset":
        verb = name.upper()
        return lambda: client._run(verb, client.session.simple(verb))
    raise AttributeError(name)


def send_mail(host, from_addr, to_addrs, message=None, subject=None, text=None, port=None, tls="starttls",
              user=None, password=None, attachments=(), **kw):
    """Connect, log in (when ``user`` is given), send, QUIT: one call.

    ``message`` is sent as is; or give ``subject``/``text``/``attachments``
    to build one. Other keywords go to ``SMTP``. Returns the ``SendResult``.
    """
    from microproto.smtp import SMTP

    if message is None:
        from microproto.message import Message

        message = Message(from_addr, to_addrs, subject or "", text or "", attachments=attachments)
    with SMTP(host, port, tls=tls, **kw) as s:
        if user is not None:
            s.login(user, password)
        return s.send(from_addr, to_addrs, message)
