"""The CLI (both runtimes) against misbehaving servers: a clear error and a
non-zero exit, no hang, no crash."""

import socket
import subprocess
import threading
import time

from conftest import CERT, ROOT, cpython_env, runtime_command


class BadServer:
    """A TCP server in a thread; ``script(conn)`` plays one connection."""

    def __init__(self, script):
        self.lsock = socket.socket()
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(1)
        self.port = self.lsock.getsockname()[1]
        self.script = script
        self.received = b""
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.lsock.settimeout(60)
        try:
            c, _ = self.lsock.accept()
        except OSError:
            return
        c.settimeout(20)
        try:
            self.script(self, c)
        except OSError:
            pass
        finally:
            c.close()
            self.lsock.close()

    def line(self, c):
        while b"\n" not in self.received:
            d = c.recv(4096)
            if not d:
                raise OSError("closed")
            self.received += d
        i = self.received.index(b"\n") + 1
        ln, self.received = self.received[:i], self.received[i:]
        return ln


def cli(runtime, port, extra=(), tls="none", timeout_ms=2000, stdin=b"Subject: x\r\n\r\nbody\r\n" * 2000):
    args = ["--server", "127.0.0.1", "--port", str(port), "--tls", tls, "--timeout-ms", str(timeout_ms)]
    if tls != "none":
        args += ["--cafile", CERT, "--tls-hostname", "localhost"]
    args += ["--from", "a@example.org", "--to", "b@example.org"] + list(extra) + ["-"]
    t0 = time.monotonic()
    p = subprocess.run(
        runtime_command(runtime, "microproto.smtp", args),
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cpython_env(),
        cwd=str(ROOT),
        timeout=60,
    )
    return p, time.monotonic() - t0


def greet_ehlo(srv, c, ehlo=b"250 mx\r\n"):
    c.sendall(b"220 mx ESMTP\r\n")
    srv.line(c)
    c.sendall(ehlo)


def test_garbage_greeting(runtime):
    srv = BadServer(lambda s, c: (c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n"), time.sleep(1)))
    p, took = cli(runtime, srv.port)
    assert p.returncode == 1, p
    assert b"not an SMTP reply" in p.stderr and b"greeting" in p.stderr, p.stderr
    assert b"Traceback" not in p.stderr


def test_garbage_after_mail(runtime):
    def script(s, c):
        greet_ehlo(s, c)
        s.line(c)
        c.sendall(b"\x00\xff\xfe garbage\r\n")
        time.sleep(1)

    srv = BadServer(script)
    p, took = cli(runtime, srv.port)
    assert p.returncode == 1 and b"not an SMTP reply" in p.stderr and b"during MAIL FROM" in p.stderr, p.stderr


def test_never_answers(runtime):
    srv = BadServer(lambda s, c: time.sleep(8))
    p, took = cli(runtime, srv.port, timeout_ms=700)
    assert p.returncode == 1, p
    assert b"timed out" in p.stderr and b"greeting" in p.stderr, p.stderr
    assert took < 6, took


def test_closes_mid_data(runtime):
    def script(s, c):
        greet_ehlo(s, c)
        for reply in (b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n"):
            s.line(c)
            c.sendall(reply)
        c.recv(1000)  # some of the body, then hang up

    srv = BadServer(script)
    p, took = cli(runtime, srv.port, stdin=b"Subject: x\r\n\r\n" + b"y" * 70 * 100000)
    assert p.returncode == 1, p
    err = p.stderr.lower()
    assert b"closed" in err or b"reset" in err or b"broken pipe" in err or b"errno" in err, err
    assert b"during message data" in p.stderr, p.stderr
    assert b"Traceback" not in p.stderr and took < 30


def test_starttls_then_handshake_fails(runtime):
    def script(s, c):
        greet_ehlo(s, c, b"250-mx\r\n250 STARTTLS\r\n")
        s.line(c)
        c.sendall(b"220 ready\r\n")
        c.sendall(b"HTTP/1.0 200 OK\r\n\r\nthis is not TLS\r\n")
        time.sleep(1)

    srv = BadServer(script)
    p, took = cli(runtime, srv.port, tls="starttls")
    assert p.returncode == 1, p
    assert b"TLS handshake" in p.stderr, p.stderr
    assert b"Traceback" not in p.stderr and took < 10


def test_one_megabyte_reply_line(runtime):
    def script(s, c):
        c.sendall(b"220 mx\r\n")
        s.line(c)
        c.sendall(b"250-" + b"A" * (1 << 20) + b"\r\n250 ok\r\n")

    srv = BadServer(script)
    p, took = cli(runtime, srv.port)
    assert p.returncode == 1, p
    assert b"longer than 1000 bytes" in p.stderr and b"EHLO" in p.stderr, p.stderr
    assert took < 10


def test_connection_refused(runtime):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    p, took = cli(runtime, port)
    assert p.returncode == 1 and b"during connect" in p.stderr, p.stderr
