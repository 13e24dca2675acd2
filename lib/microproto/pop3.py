"""POP3 client (RFC 1939): blocking ``POP3``, asyncio ``AsyncPOP3`` and the
command line ``python -m microproto.pop3``.

    from microproto import pop3
    with pop3.POP3("mail.example.org", tls="stls", cafile="ca.pem") as box:
        box.login("me", "secret")
        count, size = box.stat()
        for n, uid in box.uidl():
            box.retr(n, into="/mail/%s.eml" % n)   # streams to the file
            box.dele(n)                            # marked; removed at QUIT
    # leaving the block sends QUIT: only then are the messages deleted

Deletions (``dele``) only mark messages: the server removes them when the
session ends with ``quit()`` (RFC 1939 6, the UPDATE state); ``rset()``
unmarks them, and a connection lost before QUIT deletes nothing. Leaving a
``with`` block normally sends QUIT; leaving it on an exception only closes.

Security: TLS verifies the server certificate (``verify=False`` turns it
off and must be asked for; on MicroPython give a CA: boards have no store);
``tls="stls"`` fails when the server does not offer STLS (no silent
downgrade); ``login`` refuses to send credentials without TLS unless
``allow_plaintext_auth=True``.

Limits (constructor arguments): ``max_line`` bytes per status or listing
line, ``bufsize`` bytes per read, ``max_size`` bytes for a message returned
as bytes (``retr(n)`` without ``into``), ``max_list`` lines in a listing,
``timeout_ms`` per socket operation. The protocol is in
``microproto.pop3_core`` (sans-I/O).
"""

from microproto.blocking import Connection
from microproto.errors import LimitError, PeerError, UsageError
from microproto.pop3_core import MULTI_CHUNKS, MULTI_LINES, POP3Error, Parser, Session, arg, pair, text, uid_pair
from microproto_port import net


class _Sink:
    """Where a multi-line body goes. ``parse``: each line parsed and kept
    (at most ``limit`` lines). Else ``into``: None collects bytes (at most
    ``limit``); a path is written as ``path.part`` and renamed when
    complete (removed if not); a binary file or a callable gets each chunk
    (a memoryview, valid only during the call)."""

    def __init__(self, into, limit, parse=None):
        self.n = 0
        self.max = limit
        self.parse = parse
        self.path = self.f = self.buf = None
        if parse:
            self.buf = []
        elif into is None:
            self.buf = bytearray()
        elif isinstance(into, str):
            self.path = into
            self.f = open(into + ".part", "wb")
            self.fn = self.f.write
        else:
            self.fn = getattr(into, "write", into)

    def __call__(self, chunk):
        b = self.buf
        if b is None:
            self.n += len(chunk)
            self.fn(chunk)
            return
        if self.parse:
            chunk = (self.parse(chunk),)
            self.n += 1
        else:
            self.n += len(chunk)
        if self.n > self.max:
            raise LimitError("response longer than %d %s" % (self.max, "lines" if self.parse else "bytes"))
        b += chunk

    def done(self, _=None, failed=False):
        """The result; a file is closed and renamed (removed if ``failed``)."""
        f = self.f
        if f is not None:
            import os

            f.close()
            self.f = None
            p = self.path
            if failed:
                os.remove(p + ".part")
                return
            try:
                os.rename(p + ".part", p)
            except OSError:  # a board's FAT does not replace on rename
                os.remove(p)
                os.rename(p + ".part", p)
        b = self.buf
        return self.n if b is None else (b if self.parse else bytes(b))


class POP3:
    """A blocking POP3 session (connects in the constructor).

    ``POP3(host, port=None, tls="stls"|"implicit"|None, cafile=None,
    cadata=None, verify=True, timeout_ms=30000, allow_plaintext_auth=False,
    server_hostname=None, bufsize=2048, max_line=1000, max_size=65536,
    max_list=10000, connect=True)``; ``port`` defaults to 995 for implicit
    TLS, else 110. Use as a context manager: QUIT and close on exit.
    Capabilities (CAPA) are in ``session.caps``, the greeting in
    ``session.greeting``.
    """

    def __init__(self, host, port=None, tls="stls", cafile=None, cadata=None, verify=True, timeout_ms=30000,
                 allow_plaintext_auth=False, server_hostname=None, bufsize=2048, max_line=1000, max_size=65536,
                 max_list=10000, connect=True):
        if tls in (None, "none", "", False):
            tls = None
        elif tls not in ("stls", "implicit"):
            raise UsageError("tls must be 'stls', 'implicit' or None, not %r" % (tls,))
        self.host = host
        self.tls = tls
        self.port = port or (995 if tls == "implicit" else 110)
        self.timeout_ms = timeout_ms
        self.allow_plaintext_auth = allow_plaintext_auth
        self.server_hostname = server_hostname or host
        self.bufsize = bufsize
        self.max_size = max_size
        self.max_list = max_list
        self.session = Session(Parser(max_line, bufsize))
        self.secure = False
        self.conn = None
        if tls:
            from microproto_port import tls as t

            self._tlsmod = t
            self._ctx = t.client_context(cafile, cadata, verify)
        if connect:
            self.connect()

    def _run(self, conv, post=None, sink=None):
        if self.conn is None:
            raise UsageError("not connected")
        try:
            t = self.conn.run(conv)
        except BaseException as e:
            if sink:
                sink.done(None, True)
            if not isinstance(e, (POP3Error, UsageError)):
                self.close()  # out of step with the server
            raise
        return post(t) if post else t

    def _do(self, line, kind=0, sink=None, post=text):
        if len(line) > 253:
            raise UsageError("command line too long")
        return self._run(self.session.command(line + b"\r\n", kind, sink), post, sink)

    def connect(self):
        """Connect, read the greeting, CAPA, and STLS (then CAPA again)."""
        # set on the TCP socket: a TLS socket made over it keeps it
        sock = net.tcp_connect(self.host, self.port, self.timeout_ms)
        s = self.session
        try:
            if self.tls == "implicit":
                sock = self._wrap(sock)
            self.conn = Connection(sock, s.parser, self.bufsize)
            self._run(s.command(None))
            self._run(s.capa())
            if self.tls == "stls":
                if s.caps and "STLS" not in s.caps:
                    raise PeerError("server does not offer STLS (tls='stls' was asked)")
                self._run(s.command(b"STLS\r\n"))
                sock = self._wrap(self.conn.sock)
                s.parser.discard()
                self.conn.set_socket(sock)
                self._run(s.capa())
        except BaseException:
            if self.conn is None:
                sock.close()  # the implicit TLS handshake failed
            self.close()
            raise
        return self

    def _wrap(self, sock):
        try:
            sock = self._tlsmod.wrap_client(sock, self._ctx, self.server_hostname)
        except ValueError as e:
            # MicroPython reports a certificate that fails to verify so
            raise OSError("TLS: " + " ".join(str(e).split()))
        self.secure = True
        return sock

    def login(self, user, password, mechanism=None, initial=True):
        """Log in: ``mechanism`` is "PLAIN", "LOGIN", "XOAUTH2" (SASL, RFC
        5034; ``password`` is then the access token), "USER" (USER/PASS)
        or "APOP"; by default the first of PLAIN, LOGIN, USER, APOP the
        server offers. ``initial=False`` sends no SASL initial response
        (two steps). Refused without TLS unless ``allow_plaintext_auth``.
        See ``microproto.pop3_auth``."""
        from microproto.pop3_auth import login

        return self._run(login(self, user, password, mechanism, initial), text)

    def stat(self):
        """``(message count, mailbox size in octets)``."""
        return self._do(b"STAT", post=pair)

    def list(self, n=None):
        """``[(number, size), ...]``, or ``(number, size)`` of message ``n``."""
        if n is None:
            c = _Sink(None, self.max_list, pair)
            return self._do(b"LIST", MULTI_LINES, c, c.done)
        return self._do(b"LIST " + arg(n), post=pair)

    def uidl(self, n=None):
        """``[(number, uid), ...]`` (RFC 1939 7), or ``(number, uid)`` of ``n``."""
        if n is None:
            c = _Sink(None, self.max_list, uid_pair)
            return self._do(b"UIDL", MULTI_LINES, c, c.done)
        return self._do(b"UIDL " + arg(n), post=uid_pair)

    def retr(self, n, into=None):
        """Message ``n`` as sent (CRLF lines, dots unstuffed). ``into``: a
        path (written whole or not at all: ``path.part`` until complete), a
        binary file or a callable (streamed; returns the byte count); None
        returns bytes, at most ``max_size``."""
        s = _Sink(into, self.max_size)
        return self._do(b"RETR " + arg(n), MULTI_CHUNKS, s, s.done)

    def top(self, n, lines=0, into=None):
        """Headers and the first ``lines`` body lines of ``n`` (like ``retr``)."""
        s = _Sink(into, self.max_size)
        return self._do(b"TOP " + arg(n) + b" " + arg(lines), MULTI_CHUNKS, s, s.done)

    def headers(self, n):
        """From, To, Subject, Date, Message-ID of ``n`` (a dict of str,
        RFC 2047 decoded) from ``TOP n 0``; see ``microproto.pop3_headers``."""
        from microproto.pop3_headers import parse

        return parse(self.top(n))

    def dele(self, n):
        """Mark ``n`` deleted: the server removes it only at ``quit()``."""
        return self._do(b"DELE " + arg(n))

    def rset(self):
        """Unmark every message marked by ``dele``."""
        return self._do(b"RSET")

    def noop(self):
        return self._do(b"NOOP")

    def utf8(self):
        """UTF8 (RFC 6856, when CAPA lists it): text is UTF-8 from now on."""
        return self._do(b"UTF8")

    def new_messages(self, state_file, delete=False):
        """Yield ``(number, uid)`` of each message whose UID is not in
        ``state_file``; a UID is recorded (the file rewritten, then renamed)
        when the loop asks for the next message. ``delete=True`` marks
        each recorded message (and ones recorded before) for deletion at
        QUIT. ``microproto.pop3_sync.sync(box, dir)`` saves them as files."""
        from microproto.pop3_sync import new_messages

        return new_messages(self, state_file, delete)

    def quit(self):
        """QUIT: the server deletes the marked messages, then close."""
        if self.conn is None:
            return None
        try:
            return self._do(b"QUIT")
        finally:
            self.close()

    def close(self):
        """Close without QUIT (nothing is deleted)."""
        if self.conn is not None:
            try:
                self.conn.sock.close()
            except OSError:
                pass
            self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.quit()
        else:
            self.close()


def __getattr__(name):
    # the asyncio form lives apart: a blocking program does not load it
    if name == "AsyncPOP3":
        from microproto.pop3_async import AsyncPOP3

        return AsyncPOP3
    raise AttributeError(name)


if __name__ == "__main__":
    import sys

    from microproto.pop3_cli import main

    sys.exit(main())
