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

from microproto import pop3_core
from microproto.blocking import Connection
from microproto.errors import UsageError
from microproto.pop3_core import POP3Error
from microproto_port import net


def _end(f, path, n):
    # the end of retr(into=path): the file written as path.part is closed,
    # then renamed over path when complete (n true), else removed
    import os

    f.close()
    p = path + ".part"
    if not n:
        os.remove(p)
        return
    try:
        os.rename(p, path)
    except OSError:  # a board's FAT does not replace on rename
        os.remove(path)
        os.rename(p, path)


class POP3:
    """A blocking POP3 session (connects in the constructor).

    ``POP3(host, port=None, tls="stls"|"implicit"|None, cafile=None,
    cadata=None, verify=True, timeout_ms=30000, allow_plaintext_auth=False,
    server_hostname=None, bufsize=2048, max_line=1000, max_size=65536,
    max_list=10000, connect=True)``; ``port`` defaults to 995 for implicit
    TLS, else 110. Use as a context manager: QUIT and close on exit.
    Capabilities (CAPA) are in ``session.caps``, the greeting in
    ``session.greeting``, whether TLS is on in ``secure``.

    Commands: ``login(user, password, mechanism=None, initial=True)``,
    ``stat()``, ``list(n=None)``, ``uidl(n=None)``, ``retr(n, into=None)``,
    ``top(n, lines=0, into=None)``, ``headers(n)``, ``dele(n)`` (a mark:
    the server deletes at ``quit()``), ``rset()``, ``noop()``, ``utf8()``,
    ``new_messages(state_file, delete=False)``, ``quit()``, ``close()``.
    """

    def __init__(self, host, port=None, tls="stls", cafile=None, cadata=None, verify=True, timeout_ms=30000,
                 allow_plaintext_auth=False, server_hostname=None, bufsize=2048, max_line=1000, max_size=65536,
                 max_list=10000, connect=True):
        if not tls or tls == "none":
            tls = None
        elif tls != "stls" and tls != "implicit":
            raise UsageError("tls=%r: not stls, implicit, None" % (tls,))
        self.host = host
        self.tls = tls
        self.port = port or (995 if tls == "implicit" else 110)
        self.cafile = cafile
        self.cadata = cadata
        self.verify = verify
        self.timeout_ms = timeout_ms
        self.allow_plaintext_auth = allow_plaintext_auth
        self.server_hostname = server_hostname or host
        self.bufsize = bufsize
        self.max_size = max_size
        self.max_list = max_list
        self.session = pop3_core.Session(max_line, bufsize)
        self.secure = False
        self.conn = None
        if connect:
            self.connect()

    def _run(self, conv, post=None, f=None, path=None):
        try:
            if self.conn is None:
                raise UsageError("not connected")
            t = self.conn.run(conv)
        except BaseException as e:
            if path:
                _end(f, path, 0)
            if not isinstance(e, (POP3Error, UsageError)):
                self.close()  # out of step with the server
            raise
        if path:
            _end(f, path, 1)
        return post(t) if post else t

    def _do(self, v, n=None, post=pop3_core.text, mode=0, t=None, into=None):
        # a command: ``v`` is the name of the method (the verb in lower
        # case), ``n`` and ``t`` its arguments. Mode 1 (a listing): its
        # lines parsed by ``post``; mode 2 (a message): the body into ``into``
        line = v.upper().encode()
        for v in (n, t):
            if v is not None:
                line += b" " + pop3_core.arg(v, "argument")
        if len(line) > 253:
            raise UsageError("command line too long")
        count = self.max_size
        f = path = None
        if mode == 1:
            into = post
            post = None
            count = self.max_list
        elif mode:
            post = None
            if isinstance(into, str):
                path = into
                into = f = open(path + ".part", "wb")
            if into is not None:
                into = getattr(into, "write", into)
        return self._run(self.session.command(line, mode, into, count), post, f, path)

    def connect(self):
        """Connect, read the greeting and CAPA; with TLS, implicit TLS
        first or STLS after them (then CAPA again): see
        ``microproto.pop3_auth.start_tls``."""
        # the timeout is set on the TCP socket: a TLS socket made over it keeps it
        s = self.session
        self.conn = Connection(net.tcp_connect(self.host, self.port, self.timeout_ms), s, self.bufsize)
        try:
            if self.tls:
                from microproto.pop3_auth import start_tls

                start_tls(self)
            else:
                self._run(s.command(None))
                self._run(s.capa(self.max_list))
        except BaseException:
            self.close()
            raise
        return self

    def login(self, *args, **kw):
        """``login(user, password, mechanism=None, initial=True)``:
        ``mechanism`` is "PLAIN", "LOGIN", "XOAUTH2" (SASL, RFC 5034;
        ``password`` is then the access token), "USER" (USER/PASS) or
        "APOP"; by default the first of PLAIN, LOGIN, USER, APOP the server
        offers. ``initial=False`` sends no SASL initial response (two
        steps). Refused without TLS unless ``allow_plaintext_auth``. See
        ``microproto.pop3_auth``."""
        from microproto.pop3_auth import login

        return self._run(login(self, *args, **kw), pop3_core.text)

    def stat(self):
        """``(message count, mailbox size in octets)``."""
        return self._do("stat", None, pop3_core.pair)

    def list(self, n=None):
        """``[(number, size), ...]``, or ``(number, size)`` of message ``n``."""
        return self._do("list", n, pop3_core.pair, n is None)

    def uidl(self, n=None):
        """``[(number, uid), ...]`` (RFC 1939 7), or ``(number, uid)`` of ``n``."""
        return self._do("uidl", n, pop3_core.uid_pair, n is None)

    def retr(self, n, into=None):
        """Message ``n`` as sent (CRLF lines, dots unstuffed). ``into``: a
        path (written whole or not at all: ``path.part`` until complete), a
        binary file or a callable (streamed; returns the byte count); None
        returns bytes, at most ``max_size``."""
        return self._do("retr", n, None, 2, None, into)

    def top(self, n, lines=0, into=None):
        """Headers and the first ``lines`` body lines of ``n`` (like ``retr``)."""
        return self._do("top", n, None, 2, lines, into)

    def headers(self, n):
        """From, To, Subject, Date, Message-ID of ``n`` (a dict of str,
        RFC 2047 decoded) from ``TOP n 0``; see ``microproto.pop3_headers``."""
        from microproto.pop3_headers import parse

        return parse(self.top(n))

    def dele(self, n):
        """Mark ``n`` deleted: the server removes it only at ``quit()``."""
        return self._do("dele", n)

    def rset(self):
        """Unmark every message marked by ``dele``."""
        return self._do("rset")

    def noop(self):
        return self._do("noop")

    def utf8(self):
        """UTF8 (RFC 6856, when CAPA lists it): text is UTF-8 from now on."""
        return self._do("utf8")

    def new_messages(self, *args, **kw):
        """``new_messages(state_file, delete=False)``: yield ``(number,
        uid)`` of each message whose UID is not in ``state_file``; a UID is
        recorded (the file rewritten, then renamed) when the loop asks for
        the next message. ``delete=True`` marks each recorded message (and
        ones recorded before) for deletion at QUIT.
        ``microproto.pop3_sync.sync(box, dir)`` saves them as files."""
        from microproto.pop3_sync import new_messages

        return new_messages(self, *args, **kw)

    def quit(self):
        """QUIT: the server deletes the marked messages, then close."""
        if self.conn is None:
            return None
        try:
            return self._do("quit")
        finally:
            self.close()

    def close(self):
        """Close without QUIT (nothing is deleted)."""
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self):
        return self

    def __exit__(self, *args):
        if args[0] is None:
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
