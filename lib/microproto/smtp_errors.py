"""The SMTP client's errors, loaded when one happens (a send that goes
well never needs them): ``SMTPReplyError``, ``SMTPRecipientsRefused``,
the texts of the other errors ``microproto.smtp_core`` raises, the end
of a refused transaction (RSET), and the rare steps ``smtp_core`` and
``smtp`` reach through ``error`` (one way in keeps their names out of the
modules every send loads): a reply's text, the reply text of a server
that does not speak UTF-8, the old ``AUTH=`` form, HELO, and the names
those modules load on first use. The errors stay reachable from
``microproto.smtp`` and ``microproto.smtp_core``.
"""

from microproto.errors import LimitError, PeerError, UsageError
from microproto.smtp_core import Reply, command

# what ``error(k, arg)`` raises for each ``k`` (``arg`` fills the text's %)
_TEXTS = (
    (UsageError, "8-bit data and the server does not offer 8BITMIME: encode the body as 7-bit (quoted-printable or base64)"),
    (UsageError, "an address is not ASCII and the server does not offer SMTPUTF8"),
    (PeerError, "server does not offer STARTTLS (tls='starttls' was asked)"),
    None,  # 3: the SIZE limit, a reply (see ``fail``)
    (LimitError, "reply line longer than %d bytes"),
    (PeerError, "not an SMTP reply: %r"),
    (PeerError, "reply code changed within a reply: %d then %d"),
    (LimitError, "reply longer than %d lines"),
    (LimitError, "more than %d replies unread"),
    (PeerError, "server closed the connection%s"),
    (PeerError, "%s: no reply"),
    (UsageError, "chunk larger than %d bytes"),
    (UsageError, "CR, LF or NUL in a command"),
    (UsageError, "command line too long"),
    (UsageError, "%s must be str"),
    (UsageError, "bad %s: %r"),
    (UsageError, "no recipients"),
    (UsageError, "no sender address"),
)


class SMTPReplyError(PeerError):
    """The server answered a command with an error (or unexpected) reply.

    ``code`` (int), ``text`` (str, lines joined by newlines), ``enhanced``
    (RFC 3463 status like ``"5.1.1"`` or None), ``command`` (what was sent,
    without arguments that may hold secrets), ``reply`` (the ``Reply``).
    """

    def __init__(self, reply, command=""):
        self.reply = reply
        self.text = reply.text
        self.enhanced = reply.enhanced
        self.command = command
        super().__init__("%s: %s" % (command, reply) if command else str(reply), reply.code)

    def __str__(self):
        return self.reason


class SMTPRecipientsRefused(SMTPReplyError):
    """Every recipient was refused. ``refused`` maps address -> ``Reply``;
    ``result`` is the ``SendResult`` (no mail was sent)."""

    def __init__(self, result):
        self.result = result
        self.refused = result.refused
        first = None
        parts = []
        for addr in result.recipients:
            first = first or result.recipients[addr]
            parts.append("%s: %s" % (addr, result.recipients[addr]))
        super().__init__(first, "all recipients refused")
        self.reason = "all recipients refused (" + "; ".join(parts) + ")"


def error(what, arg=None):
    """The error to raise: ``SMTPReplyError(what, arg)`` for a ``Reply``;
    for a number below 30, the error of that entry of ``_TEXTS``. From 30
    on, the rare steps of ``smtp_core`` and ``smtp``: 30 the text of the
    ``Reply`` ``arg``, 31 the text of reply bytes that are not UTF-8, 32
    the keyword of an EHLO line ``(kw, params)`` with ``AUTH=X`` made
    ``AUTH`` (X goes to params), 33 the HELO conversation after a refused
    EHLO ``(session, reply)``, 34 the conversation that ends a refused
    transaction ``(first, result, last)``, 35 and 36 the attribute ``arg``
    of the module ``smtp_core`` or ``smtp`` (loaded on first use)."""
    if isinstance(what, Reply):
        return SMTPReplyError(what, arg)
    if what == 30:
        ls = arg.lines
        s = "%d %s" % (arg.code, " ".join((arg.enhanced or "", ls[0] if ls else "")).strip())
        if len(ls) > 1:
            s += " ..." + " / ".join(ls[1:])
        return s.rstrip()
    if what == 31:
        return text_of(arg)
    if what == 32:
        kw, params = arg
        if kw.startswith("AUTH="):
            params.insert(0, kw[5:])
            return "AUTH"
        return kw
    if what == 33:
        return _helo(*arg)
    if what == 34:
        return refused(*arg)
    if what == 35 or what == 36:
        return _attr(what == 35, arg)
    if what == 3:
        # RFC 1870 6.1: what the server would answer, before anything is sent
        return SMTPReplyError(Reply(552, ["message of %d bytes exceeds the server's SIZE limit of %d" % arg], "5.3.4"),
                              "SIZE")
    cls, text = _TEXTS[what]
    return cls(text if arg is None else text % arg)


def _helo(session, r):
    # EHLO was not understood (RFC 5321 4.1.4): HELO; any other refusal is
    # the error
    if r.code not in (500, 502, 504, 550):
        raise SMTPReplyError(r, "EHLO")
    r = yield command("HELO", session.local_hostname)
    if not isinstance(r, Reply):
        raise error(10, "HELO")
    if r.code != 250:
        raise SMTPReplyError(r, "HELO")
    return r


def _attr(core, name):
    # a name of smtp_core (``core``) or smtp loaded on first use: the
    # errors (here), main (smtp_cli), send_mail and the rest of smtp_core's
    # (smtp_ext), smtp's ``__all__`` (smtp loads AsyncSMTP itself)
    if name in ("SMTPReplyError", "SMTPRecipientsRefused"):
        return globals()[name]
    if name == "__all__" and not core:
        return ["SMTP", "AsyncSMTP", "send_mail", "SendResult", "Reply", "SMTPReplyError", "SMTPRecipientsRefused", "main"]
    if name[-5:] == "Error" and name[:4] != "SMTP":
        # UsageError, PeerError, ...: microproto.errors' (smtp and smtp_core
        # offered them before they were loaded on use)
        from microproto import errors

        return getattr(errors, name)
    m = "ext" if core or name == "send_mail" else "cli" if name == "main" else None
    if m is None or name[:4] == "SMTP":
        raise AttributeError(name)
    return getattr(__import__("microproto.smtp_" + m, None, None, (name,)), name)


def refused(first, result, last):
    """The end of a refused mail transaction, a conversation: the empty
    body a server that said 354 anyway waits for, RSET, then the error
    (``first``: the reply to MAIL, ``last``: to DATA, or None)."""
    if last is not None and last.code == 354:
        yield b".\r\n"
    yield b"RSET\r\n"
    if first.code != 250:
        raise SMTPReplyError(first, "MAIL FROM")
    if not result.accepted:
        raise SMTPRecipientsRefused(result)
    raise SMTPReplyError(last, "DATA")


def text_of(raw):
    """Reply text that is not UTF-8: bytes above 127 become '?'."""
    return "".join(chr(c) if c < 128 else "?" for c in raw)
