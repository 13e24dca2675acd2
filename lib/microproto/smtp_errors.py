"""The SMTP client's errors, loaded when one happens (a send that goes
well never needs them): ``SMTPReplyError``, ``SMTPRecipientsRefused``,
the texts of the other errors ``microproto.smtp_core`` raises, the end
of a refused transaction (RSET), and the reply text of a server that does
not speak UTF-8. All stay reachable from
``microproto.smtp`` and ``microproto.smtp_core``.
"""

from microproto.errors import LimitError, PeerError, UsageError
from microproto.smtp_core import Reply

# what ``fail(k, arg)`` raises for each ``k`` (``arg`` fills the text's %)
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


def fail(what, arg=None):
    """The error to raise: ``SMTPReplyError(what, arg)`` for a ``Reply``;
    for a number, the error of that entry of ``_TEXTS``."""
    if isinstance(what, Reply):
        return SMTPReplyError(what, arg)
    if what == 3:
        # RFC 1870 6.1: what the server would answer, before anything is sent
        return SMTPReplyError(Reply(552, ["message of %d bytes exceeds the server's SIZE limit of %d" % arg], "5.3.4"),
                              "SIZE")
    cls, text = _TEXTS[what]
    return cls(text if arg is None else text % arg)


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
