"""The POP3 client against servers that misbehave (a scripted server on
loopback): garbage status lines, a multi-line response that never ends
(endless lines, or silence), a connection cut in the middle of RETR (the
partial file is not kept as complete), over-long lines. Each gives a clear
error: through the API on CPython, through the command line (exit status
and message) on both runtimes."""

import socket
import subprocess
import sys
import threading

import pytest

from conftest import MICROPYTHON, ROOT, cpython_env
from microproto import pop3
from microproto.errors import LimitError, PeerError

GREETING = b"+OK ready\r\n"
CAPA = b"+OK\r\nUSER\r\nUIDL\r\n.\r\n"


class BadServer:
    """Answers each command line with ``replies[verb]`` (bytes, or a
    function of the socket that does what it likes); greets with
    ``greeting``. A thread per connection."""

    def __init__(self, replies, greeting=GREETING):
        self.replies = {b"CAPA": CAPA, b"USER": b"+OK\r\n", b"PASS": b"+OK\r\n", b"QUIT": b"+OK bye\r\n"}
        self.replies.update(replies)
        self.greeting = greeting
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for port in range(19300, 19499):
            try:
                self.sock.bind(("127.0.0.1", port))
                break
            except OSError:
                continue
        self.port = self.sock.getsockname()[1]
        self.sock.listen(4)
        self.stop = False
        self.t = threading.Thread(target=self._serve, daemon=True)
        self.t.start()

    def _serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        try:
            self._conn(c)
        except OSError:
            pass
        finally:
            c.close()

    def _conn(self, c):
        if callable(self.greeting):
            self.greeting(c)
            return
        c.sendall(self.greeting)
        f = c.makefile("rb")
        for line in f:
            verb = line.split()[0].upper() if line.split() else b""
            r = self.replies.get(verb, b"-ERR unknown\r\n")
            if callable(r):
                r(c)
                return
            c.sendall(r)
            if verb == b"QUIT":
                return

    def close(self):
        self.stop = True
        self.sock.close()


def _raises(exc, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except exc as e:
        return e
    pytest.fail("no %s" % exc.__name__)


def box(srv, **kw):
    b = pop3.POP3("127.0.0.1", srv.port, tls=None, allow_plaintext_auth=True, timeout_ms=5000, **kw)
    b.login("u", "p")
    return b


def test_garbage_greeting():
    for g in (b"HELLO\r\n", b"+OKAY\r\n", b"\x00\xff\r\n", b"220 smtp here\r\n"):
        srv = BadServer({}, greeting=g)
        try:
            e = _raises(PeerError, pop3.POP3, "127.0.0.1", srv.port, tls=None)
            assert "bad status line" in str(e)
        finally:
            srv.close()


def test_garbage_reply():
    srv = BadServer({b"STAT": b"+OK two 320\r\n", b"LIST": b"+OK\r\n1 x\r\n.\r\n", b"UIDL": b"* 1 abc\r\n"})
    try:
        e = _raises(PeerError, box(srv).stat)
        assert "bad listing line" in str(e)
        _raises(PeerError, box(srv).list)
        e = _raises(PeerError, box(srv).uidl)
        assert "bad status line" in str(e)
    finally:
        srv.close()


def _endless_lines(c):
    c.sendall(b"+OK\r\n")
    i = 0
    while True:
        c.sendall(b"%d 100\r\n" % i)
        i += 1


def _endless_body(c):
    c.sendall(b"+OK\r\n")
    while True:
        c.sendall(b"x" * 1000 + b"\r\n")


def _silence(c):
    c.sendall(b"+OK\r\nsome of the message\r\n")
    c.recv(100)  # until the client gives up


def test_never_ending_listing_stops_at_max_list():
    srv = BadServer({b"LIST": _endless_lines})
    try:
        e = _raises(LimitError, box(srv, max_list=500).list)
        assert "500 lines" in str(e)
    finally:
        srv.close()


def test_never_ending_message_stops_at_max_size():
    srv = BadServer({b"RETR": _endless_body})
    try:
        b = box(srv, max_size=100000)
        e = _raises(LimitError, b.retr, 1)
        assert "100000 bytes" in str(e)
        assert b.conn is None  # out of step: closed
    finally:
        srv.close()


def test_silent_server_times_out():
    srv = BadServer({b"RETR": _silence})
    try:
        b = pop3.POP3("127.0.0.1", srv.port, tls=None, allow_plaintext_auth=True, timeout_ms=300)
        b.login("u", "p")
        _raises(OSError, b.retr, 1)
    finally:
        srv.close()


def _cut(c):
    c.sendall(b"+OK 5000 octets\r\n" + b"partial line\r\n" * 100)
    c.shutdown(socket.SHUT_RDWR)


def test_cut_mid_retr_keeps_no_file(tmp_path):
    srv = BadServer({b"RETR": _cut})
    try:
        target = tmp_path / "m.eml"
        e = _raises(PeerError, box(srv).retr, 1, into=str(target))
        assert "mid-response" in str(e)
        assert not target.exists() and not (tmp_path / "m.eml.part").exists()
    finally:
        srv.close()


def test_over_long_lines():
    srv = BadServer({b"STAT": b"+OK " + b"9" * 5000 + b"\r\n", b"UIDL": b"+OK\r\n1 " + b"a" * 2000 + b"\r\n.\r\n"})
    try:
        e = _raises(LimitError, box(srv).stat)
        assert "longer than 1000" in str(e)
        _raises(LimitError, box(srv).uidl)
    finally:
        srv.close()


def test_err_keeps_session():
    srv = BadServer({b"DELE": b"-ERR [IN-USE] no\r\n", b"NOOP": b"+OK\r\n"})
    try:
        b = box(srv)
        e = _raises(pop3.POP3Error, b.dele, 1)
        assert e.code == "IN-USE" and e.command == "DELE"
        assert b.noop() == ""
        b.quit()
    finally:
        srv.close()


@pytest.mark.parametrize("runtime", ["cpython", "micropython"])
def test_cli_clear_errors(runtime, tmp_path):
    def cli(srv, *args):
        cmd = [sys.executable] if runtime == "cpython" else [MICROPYTHON]
        cmd += ["-m", "microproto.pop3", "--server", "127.0.0.1", "--port", str(srv.port), "--tls", "none",
                "--allow-plaintext-auth", "--user", "u", "--password-env", "PW", "--timeout-ms", "2000"]
        env = cpython_env()
        env["PW"] = "p"
        return subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=60, env=env, cwd=str(ROOT))

    srv = BadServer({}, greeting=b"HELLO\r\n")
    try:
        p = cli(srv, "stat")
        assert p.returncode == 1 and "bad status line" in p.stderr, p.stderr
    finally:
        srv.close()
    srv = BadServer({b"RETR": _cut, b"STAT": b"+OK " + b"9" * 5000 + b"\r\n"})
    try:
        out = tmp_path / "m.eml"
        p = cli(srv, "retr", "1", "-o", str(out))
        assert p.returncode == 1 and "mid-response" in p.stderr, p.stderr
        assert not out.exists() and not (tmp_path / "m.eml.part").exists()
        p = cli(srv, "stat")
        assert p.returncode == 1 and "longer than 1000" in p.stderr, p.stderr
    finally:
        srv.close()
    srv = BadServer({b"RETR": _silence})
    try:
        p = cli(srv, "retr", "1", "-o", str(tmp_path / "s.eml"))
        assert p.returncode == 3 and "timed out" in p.stderr, p.stderr
    finally:
        srv.close()


def _stls_injector(c):
    """Greets, offers STLS, answers it with +OK and a forged reply in the
    same packet (RFC 2595 4: plaintext read before the upgrade must be
    dropped), then speaks POP3 over TLS."""
    import ssl

    from conftest import CERT, KEY

    c.sendall(GREETING)
    f = c.makefile("rb")
    assert f.readline().startswith(b"CAPA")
    c.sendall(b"+OK\r\nSTLS\r\nUSER\r\n.\r\n")
    assert f.readline().startswith(b"STLS")
    c.sendall(b"+OK begin TLS\r\n-ERR forged by a man in the middle\r\n")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    t = ctx.wrap_socket(c, server_side=True)
    tf = t.makefile("rb")
    for line in tf:
        verb = line.split()[0].upper()
        t.sendall({b"CAPA": b"+OK\r\nUSER\r\n.\r\n", b"STAT": b"+OK 7 700\r\n"}.get(verb, b"+OK\r\n"))
        if verb == b"QUIT":
            break
    t.close()


def test_stls_drops_plaintext_read_before_the_upgrade():
    from conftest import CERT

    srv = BadServer({}, greeting=_stls_injector)
    try:
        with pop3.POP3("localhost", srv.port, tls="stls", cafile=CERT, timeout_ms=5000) as b:
            assert b.secure
            assert b.session.caps == {"USER": []}
            b.login("u", "p")  # the forged -ERR would have failed this
            assert b.stat() == (7, 700)
    finally:
        srv.close()
