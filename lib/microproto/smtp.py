"""SMTP client (RFC 5321): blocking ``SMTP``, asyncio ``AsyncSMTP``, the
one-call ``send_mail`` and the command line ``python -m microproto.smtp``.

    from microproto import smtp
    with smtp.SMTP("mail.example.org", 587, tls="starttls", cafile="ca.pem") as s:
        s.login("me", "secret")
        result = s.send("me@example.org", ["you@example.org"], message)
        print(result.accepted, result.refused)

Security: TLS verifies the server certificate (``verify=False`` turns that
off and must be asked for; on MicroPython a CA must be given since boards
have no store); ``tls="starttls"`` fails when the server does not offer it
(no silent downgrade); ``login`` refuses to send credentials without TLS
unless ``allow_plaintext_auth=True``.

The protocol itself is in ``microproto.smtp_core`` (sans-I/O); what a plain
send does not need is loaded on first use: AUTH, DSN, BDAT, batches,
a server without 8BITMIME, SMTPUTF8, ``send_mail`` and the client's
methods ``login``, ``send_many``, ``sendmail``, ``noop`` and ``rset``
(``microproto.smtp_ext``), the TLS set-up and the TLS part of ``connect``
(``microproto.smtp_tls``, with ``microproto_port.tls``), the errors ``SMTPReplyError`` and
``SMTPRecipientsRefused`` (``microproto.smtp_errors``), ``AsyncSMTP``
(``microproto.smtp_async``) and the command line (``microproto.smtp_cli``). Messages are built with
``microproto.message``. Limits (reply line and line count, chunk sizes,
``timeout_ms`` per socket operation) are constructor arguments.
"""

from microproto.blocking import Connection
from microproto.errors import PeerError
from microproto.smtp_core import Reply, SendResult, Session, _fail
from microproto_port import RUNTIME, net

def __getattr__(name):
    # loaded when first asked for (a plain blocking send needs none of
    # them): AsyncSMTP (smtp_async), main, the command line (smtp_cli, see
    # ``python -m microproto.smtp --help``), send_mail (smtp_ext), the
    # errors SMTPReplyError, SMTPRecipientsRefused (smtp_errors), and
    # ``__all__`` (their names with SMTP, SendResult and Reply)
    if name == "AsyncSMTP":
        from microproto import smtp_async

        return smtp_async.AsyncSMTP
    return _fail(36, name)


def _prepare(message, from_addr, to_addrs, size, eight_bit):
    """Envelope and body facts for ``send``: (from, to, body, size, 8bit)."""
    if hasattr(message, "recipients") and hasattr(message, "size"):
        if from_addr is None:
            from_addr = message.sender()
        if to_addrs is None:
            to_addrs = message.recipients()
        if size is None:
            size = message.size()
        if eight_bit is None:
            eight_bit = message.eight_bit
    elif isinstance(message, str):
        message = message.encode()
    if isinstance(message, (bytes, bytearray)):
        if size is None:
            size = len(message)
    elif size is None and hasattr(message, "seek") and hasattr(message, "tell"):
        try:
            pos = message.tell()
            end = message.seek(0, 2)
            message.seek(pos)
            if end is not None and end >= pos:
                size = end - pos
        except (OSError, AttributeError, ValueError):
            pass
    if from_addr is None:
        raise _fail(17)  # no sender address
    if to_addrs is None:
        raise _fail(16)  # no recipients
    return from_addr, to_addrs, message, size, eight_bit


class SMTP:
    """A blocking SMTP client session (connects in the constructor).

    ``SMTP(host, port=None, tls="starttls"|"implicit"|None, *, cafile=None,
    cadata=None, verify=True, timeout_ms=30000, local_hostname="localhost",
    allow_plaintext_auth=False, server_hostname=None, bufsize=1024,
    chunk=None, max_line=1000, max_lines=64, pipelining=True,
    chunking=False, connect=True)``.

    ``pipelining``/``chunking``: use PIPELINING (RFC 2920) and BDAT (RFC
    3030) when the server offers them (BDAT is opt-in: with bounded chunks
    it costs a reply per chunk and was slower than DATA against Postfix).
    ``port`` defaults to 587, 465 or 25 by ``tls``. ``timeout_ms`` bounds
    each socket operation (``OSError``). ``chunk`` is the body chunk size
    (default 2048 on MicroPython, 16384 on CPython; the session holds 3x it).
    With ``connect=False``, call ``connect()`` yourself. Use as a context
    manager: QUIT and close on exit. ``capabilities``: the EHLO keywords
    (dict: keyword -> list of parameters), ``secure``: TLS is up.

    Methods: ``connect()``, ``login(user, password, mechanism=None)``,
    ``send(...)``, ``send_many(mails)``, ``sendmail(from_addr, to_addrs,
    message)``, ``noop()``, ``rset()``, ``quit()``, ``close()``. ``login``,
    ``send_many``, ``sendmail``, ``noop`` and ``rset`` are loaded from
    ``microproto.smtp_ext`` on first use (see ``smtp_ext.method``); the
    TLS set-up and the TLS part of ``connect`` from ``microproto.smtp_tls``.
    """

    def __init__(self, host, port=None, tls="starttls", *, connect=True, cafile=None, cadata=None, timeout_ms=30000,
                 local_hostname="localhost", server_hostname=None, bufsize=1024,
                 chunk=None, max_line=1000, max_lines=64, pipelining=True, chunking=False, **args):
        self.host = host
        self.tls = None if tls in (None, "none", "", False) else tls
        self.port = port or 25
        self.timeout_ms = timeout_ms
        self.server_hostname = server_hostname or host
        self.pipelining = pipelining
        self.chunking = chunking
        self.bufsize = bufsize
        if chunk is None:
            # a board's heap, or fewer and larger writes where memory is plenty
            chunk = 2048 if RUNTIME == "micropython" else 16384
        self.session = Session(local_hostname, chunk, False, max_line=max_line, max_lines=max_lines)
        # the EHLO keywords (dict: keyword -> list of parameters), kept
        # up to date by the session
        self.capabilities = self.session.caps
        self.secure = False
        self.phase = "connect"
        self.conn = None
        if self.tls or args:
            # ``tls`` checked, the port by it, the context, ``args``
            # (``verify``, ``allow_plaintext_auth``): microproto.smtp_tls
            from microproto import smtp_tls

            smtp_tls.tls(self, port, cafile, cadata, args)
        if connect:
            self.connect()

    def __getattr__(self, name):
        # login, send_many, sendmail, noop, rset (bound to this client)
        from microproto import smtp_ext

        return smtp_ext.method(self, name)

    def _run(self, phase, conv):
        # ``conv``: a conversation of ``self.session``
        self.phase = phase
        return self.conn.run(conv)

    def connect(self):
        """Connect, read the greeting, EHLO, and STARTTLS when asked."""
        self.phase = "connect"
        # the timeout is set once on the TCP socket: TLS sockets made over
        # it inherit it (MicroPython's SSLSocket has no settimeout)
        sock = net.tcp_connect(self.host, self.port, self.timeout_ms)
        try:
            if self.tls:
                # implicit TLS, or STARTTLS after the greeting and EHLO
                from microproto import smtp_tls

                smtp_tls.connect(self, sock)
            else:
                s = self.session
                self.conn = Connection(sock, s.parser, self.bufsize, None)
                self._run("greeting", s.simple(None, (220,)))
                self._run("EHLO", s.hello())
        except BaseException:
            if self.conn is None:
                # the TLS handshake failed: the TCP socket is ours to close
                sock.close()
            self.close()
            raise
        self.phase = None  # connected, nothing in progress

    def send(self, from_addr, to_addrs, message, size=None, eight_bit=None, smtputf8=None, notify=None, ret=None,
             envid=None):
        """Send ``message`` (bytes, str, a binary file, an iterable of chunks,
        or a ``message.Message``) to ``to_addrs`` (a str or a list).
        ``from_addr``/``to_addrs`` may be None for a ``Message``: its From and
        To/Cc/Bcc are used. Returns a ``SendResult``: the mail went to
        ``result.accepted``; ``result.refused`` maps the others to the reply.
        Raises ``SMTPRecipientsRefused`` if all are refused. ``notify``,
        ``ret``, ``envid``: delivery status notifications (RFC 3461), see
        ``smtp_core.Session.mail``."""
        self.phase = "mail"
        from_addr, to_addrs, message, size, eight_bit = _prepare(message, from_addr, to_addrs, size, eight_bit)
        try:
            return self._run("mail", self.session.mail(from_addr, to_addrs, message, size, eight_bit, smtputf8,
                                                       self.pipelining, self.chunking, notify, ret, envid))
        except BaseException as e:
            # a refusal (an SMTPReplyError has the ``reply``) leaves the
            # session usable; anything else (mid-DATA, say) ends it
            if self.session.broken or not hasattr(e, "reply"):
                self.close()
            raise

    def quit(self):
        """QUIT, then close (a server that closes first is fine)."""
        if self.conn is None:
            return None
        try:
            return self._run("QUIT", self.session.simple("QUIT", (221,)))
        except (PeerError, OSError):
            return None
        finally:
            self.close()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.quit()
        else:
            self.close()


if __name__ == "__main__":
    import sys

    sys.exit(__getattr__("main")())
