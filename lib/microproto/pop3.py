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

from microproto.errors import LimitError, PeerError, UsageError
from microproto.pop3_core import (
    MULTI_CHUNKS,
    MULTI_LINES,
    POP3Error,
    Parser,
    Session,
    arg,
    ints,
    text,
    timestamp,
    uid_pair,
)
from microproto_port import net

__all__ = ["POP3", "AsyncPOP3", "POP3Error", "main"]

_PORTS = {"implicit": 995}


def _tls_mode(tls):
    if tls in (None, "none", "", False):
        return None
    if tls in ("stls", "implicit"):
        return tls
    raise UsageError("tls must be 'stls', 'implicit' or None, not %r" % (tls,))


class _Sink:
    """Where a RETR/TOP body goes: collected (bounded by ``max_size``), a
    file path (written to ``path.part``, renamed when complete, removed if
    not), a binary file, or a callable given each chunk (a memoryview
    valid only during the call)."""

    def __init__(self, into, max_size):
        self.n = 0
        self.max = max_size
        self.buf = None
        self.path = None
        self.f = None
        if into is None:
            self.buf = bytearray()
        elif isinstance(into, str):
            self.path = into
            self.f = open(into + ".part", "wb")
            self.fn = self.f.write
        else:
            self.fn = getattr(into, "write", into)

    def __call__(self, chunk):
        self.n += len(chunk)
        if self.buf is None:
            self.fn(chunk)
        elif self.n > self.max:
            raise LimitError("message longer than max_size=%d bytes (give into=)" % self.max)
        else:
            self.buf += chunk

    def done(self, _):
        if self.f is not None:
            import os

            self.f.close()
            self.f = None
            try:
                os.rename(self.path + ".part", self.path)
            except OSError:  # a board's FAT does not replace on rename
                os.remove(self.path)
                os.rename(self.path + ".part", self.path)
        return self.n if self.buf is None else bytes(self.buf)

    def fail(self):
        if self.f is not None:
            import os

            self.f.close()
            self.f = None
            try:
                os.remove(self.path + ".part")
            except OSError:
                pass


class _Lines:
    """Collects a listing (at most ``max_list`` lines), each parsed by ``fn``."""

    def __init__(self, fn, max_list):
        self.out = []
        self.fn = fn
        self.max = max_list

    def __call__(self, line):
        if len(self.out) >= self.max:
            raise LimitError("listing longer than max_list=%d lines" % self.max)
        self.out.append(self.fn(line))

    def done(self, _):
        return self.out


def _pair(t):
    return tuple(ints(t, 2, "LIST line"))


class _Client:
    """What the blocking and asyncio clients share: settings, the
    sans-I/O session and every command (``_run`` is the driver's)."""

    def _setup(self, host, port, tls, cafile, cadata, verify, timeout_ms, allow_plaintext_auth, server_hostname,
               bufsize, max_line, max_size, max_list):
        self.host = host
        self.tls = _tls_mode(tls)
        self.port = port or _PORTS.get(self.tls, 110)
        self.timeout_ms = timeout_ms
        self.allow_plaintext_auth = allow_plaintext_auth
        self.server_hostname = server_hostname or host
        self.bufsize = bufsize
        self.max_size = max_size
        self.max_list = max_list
        self.session = Session(Parser(max_line, bufsize))
        self.secure = False
        self.conn = None
        self._ctx = None
        if self.tls:
            from microproto_port import tls as _tls

            self._tlsmod = _tls
            self._ctx = _tls.client_context(cafile, cadata, verify)

    @property
    def capabilities(self):
        """CAPA keywords (dict: upper-case keyword -> list of arguments)."""
        return self.session.caps

    def _do(self, line, kind=0, sink=None, post=text):
        if len(line) > 253:
            raise UsageError("command line too long")
        return self._run(self.session.command(line + b"\r\n", kind, sink), post, sink)

    def _login_conv(self, user, password, mechanism, initial):
        if not self.secure and not self.allow_plaintext_auth:
            raise UsageError("refusing to send credentials without TLS (allow_plaintext_auth=False)")
        s = self.session
        caps = s.caps
        sasl = [m.upper() for m in caps.get("SASL", ())]
        m = mechanism.upper() if mechanism else None
        if m is None:
            for x in ("PLAIN", "LOGIN", "USER", "APOP"):
                if x in sasl or (x == "USER" and (x in caps or not caps)) or (x == "APOP" and timestamp(s.greeting)):
                    m = x
                    break
            else:
                raise PeerError("no login method offered (CAPA: %s)" % " ".join(caps))
        p = arg(password, "password")
        if m == "USER":
            return self._chain((b"USER " + arg(user, "user"), b"PASS " + p))
        if m == "APOP":
            from microproto.pop3_core import apop_digest

            ts = timestamp(s.greeting)
            if ts is None:
                raise PeerError("APOP: the greeting carries no timestamp")
            return self._chain((b"APOP " + arg(user, "user") + b" " + apop_digest(ts, p),))
        if m not in ("PLAIN", "LOGIN", "XOAUTH2"):
            raise UsageError("unsupported login mechanism %s" % m)
        if caps and m not in sasl:
            raise PeerError("server does not offer SASL %s (offers %s)" % (m, " ".join(sasl)))
        return s.auth(m, user, p, initial)

    def _chain(self, lines):
        for line in lines:
            t = yield from self.session.command(line + b"\r\n")
        return t

    def login(self, user, password, mechanism=None, initial=True):
        """Log in: ``mechanism`` is "PLAIN", "LOGIN", "XOAUTH2" (SASL, RFC
        5034; ``password`` is then the access token), "USER" (USER/PASS)
        or "APOP"; by default the first of PLAIN, LOGIN, USER, APOP the
        server offers. ``initial=False`` sends no SASL initial response
        (two steps). Refused without TLS unless ``allow_plaintext_auth``."""
        return self._run(self._login_conv(user, password, mechanism, initial), text)

    def stat(self):
        """``(message count, mailbox size in octets)``."""
        return self._do(b"STAT", post=_pair)

    def list(self, n=None):
        """``[(number, size), ...]``, or ``(number, size)`` for message ``n``."""
        if n is None:
            c = _Lines(_pair, self.max_list)
            return self._do(b"LIST", MULTI_LINES, c, c.done)
        return self._do(b"LIST " + arg(n), post=_pair)

    def uidl(self, n=None):
        """``[(number, uid), ...]`` (RFC 1939 7), or the uid (str) of ``n``."""
        if n is None:
            c = _Lines(uid_pair, self.max_list)
            return self._do(b"UIDL", MULTI_LINES, c, c.done)
        return self._do(b"UIDL " + arg(n), post=lambda t: uid_pair(t)[1])

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
        RFC 2047 decoded) from ``TOP n 0``."""
        from microproto.pop3_headers import parse

        s = _Sink(None, self.max_size)
        return self._do(b"TOP " + arg(n) + b" 0", MULTI_CHUNKS, s, lambda t: parse(s.done(t)))

    def dele(self, n):
        """Mark ``n`` deleted: the server removes it only at ``quit()``."""
        return self._do(b"DELE " + arg(n))

    def rset(self):
        """Unmark every message marked by ``dele``."""
        return self._do(b"RSET")

    def noop(self):
        return self._do(b"NOOP")

    def utf8(self):
        """UTF8 (RFC 6856) when the server offers it."""
        if "UTF8" not in self.session.caps:
            raise PeerError("server does not offer UTF8")
        return self._do(b"UTF8")

    def capa(self):
        """CAPA again (dict, see ``capabilities``)."""
        return self._run(self.session.capa())


class POP3(_Client):
    """A blocking POP3 session (connects in the constructor).

    ``POP3(host, port=None, tls="stls"|"implicit"|None, cafile=None,
    cadata=None, verify=True, timeout_ms=30000, allow_plaintext_auth=False,
    server_hostname=None, bufsize=2048, max_line=1000, max_size=65536,
    max_list=10000, connect=True)``; ``port`` defaults to 995 for implicit
    TLS, else 110. Use as a context manager: QUIT and close on exit.
    """

    def __init__(self, host, port=None, tls="stls", cafile=None, cadata=None, verify=True, timeout_ms=30000,
                 allow_plaintext_auth=False, server_hostname=None, bufsize=2048, max_line=1000, max_size=65536,
                 max_list=10000, connect=True):
        self._setup(host, port, tls, cafile, cadata, verify, timeout_ms, allow_plaintext_auth, server_hostname,
                    bufsize, max_line, max_size, max_list)
        if connect:
            self.connect()

    def _run(self, conv, post=None, sink=None):
        if self.conn is None:
            raise UsageError("not connected")
        try:
            t = self.conn.run(conv)
        except BaseException as e:
            f = getattr(sink, "fail", None)
            if f:
                f()
            if not isinstance(e, (POP3Error, UsageError)):
                self.close()  # out of step with the server
            raise
        return post(t) if post else t

    def connect(self):
        """Connect, read the greeting, CAPA, and STLS (then CAPA again)."""
        # set on the TCP socket: a TLS socket made over it keeps it
        sock = net.tcp_connect(self.host, self.port, self.timeout_ms)
        s = self.session
        try:
            if self.tls == "implicit":
                sock = self._tlsmod.wrap_client(sock, self._ctx, self.server_hostname)
                self.secure = True
            from microproto.blocking import Connection

            self.conn = Connection(sock, s.parser, self.bufsize)
            self._run(s.command(None))
            self._run(s.capa())
            if self.tls == "stls":
                if s.caps and "STLS" not in s.caps:
                    raise PeerError("server does not offer STLS (tls='stls' was asked)")
                self._run(s.command(b"STLS\r\n"))
                sock = self._tlsmod.wrap_client(self.conn.sock, self._ctx, self.server_hostname)
                s.parser.discard()
                self.conn.set_socket(sock)
                self.secure = True
                self._run(s.capa())
        except BaseException:
            self.close()
            raise
        return self

    def new_messages(self, state_file, delete=False):
        """Yield ``(number, uid)`` of each message whose UID is not in
        ``state_file``; a UID is recorded (file rewritten whole, then
        renamed) when the loop asks for the next message. ``delete=True``
        also marks each recorded message (and ones recorded before) for
        deletion at QUIT. See ``microproto.pop3_sync``."""
        from microproto.pop3_sync import new_messages

        return new_messages(self, state_file, delete)

    def sync(self, directory, delete=False):
        """Save every new message into ``directory`` as ``<uid>.eml`` (see
        ``microproto.pop3_sync.sync``); returns the list of UIDs saved."""
        from microproto.pop3_sync import sync

        return sync(self, directory, delete)

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


def main(argv=None):
    """The command line (see ``--help``); lives in ``microproto.pop3_cli``."""
    from microproto.pop3_cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    import sys

    sys.exit(main())
