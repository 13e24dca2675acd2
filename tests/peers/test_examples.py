"""examples/ as a user runs them (issue 12): ``python3 examples/NAME.py``
on CPython and ``mpremote run examples/NAME.py`` over the serial line of a
virtual board of this test's own, each against a real client or peer
(the ``websockets`` client, inetutils telnet under pexpect, aiosmtpd with
STARTTLS and AUTH), then stopped with Ctrl-C. Settings reach the examples
the documented way: a git-ignored ``secrets.py`` (on the board: in its
filesystem; on CPython: first on the module path)."""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

import pexpect
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from websockets.sync.client import connect as ws_connect

from conftest import CERT, KEY, ROOT, cpython_env, wait_port

MAIL_USER, MAIL_PASSWORD = "newcomer", "first hour"
_GIVEN = set()


def free_port():
    """A TCP port in 20000-20999 (the range these tests keep to) that was
    free on 127.0.0.1 a moment ago and not yet handed out here."""
    import random

    for _ in range(2000):
        p = random.randrange(20000, 21000)
        if p in _GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                continue
        _GIVEN.add(p)
        return p
    raise AssertionError("no free port in 20000-20999")


class PrivateBoard:
    """A virtual board of the test's own (tools/virtual_board.py in a
    temporary folder; never the shared background board)."""

    def __init__(self, prefix=()):
        self.dir = tempfile.mkdtemp(prefix="microproto-examples-")
        self.fs = os.path.join(self.dir, "fs")
        self.device = os.path.join(self.dir, "tty")
        os.makedirs(self.fs)
        self.proc = subprocess.Popen(
            list(prefix) + [sys.executable, str(ROOT / "tools" / "virtual_board.py"), "--dir", self.fs, "--link",
                            self.device],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(400):
            if os.path.exists(self.device):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        pytest.fail("the virtual board did not start:\n" + (self.proc.stdout.read() or ""))

    def mpremote(self, *cmds, timeout=180):
        r = subprocess.run([sys.executable, "-m", "mpremote", "connect", self.device, "resume"] + list(cmds),
                           cwd=str(ROOT), capture_output=True, text=True, timeout=timeout)
        assert r.returncode == 0, "mpremote %s: exit %d\n%s%s" % (cmds[:2], r.returncode, r.stdout, r.stderr)
        return r.stdout

    def popen(self, *cmds):
        return subprocess.Popen([sys.executable, "-m", "mpremote", "connect", self.device, "resume"] + list(cmds),
                                cwd=str(ROOT), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)

    def deploy(self):
        r = subprocess.run([sys.executable, "tools/deploy.py", "--board", "UNIX", "--port", self.device],
                           cwd=str(ROOT), capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stdout + r.stderr

    def interrupt(self):
        """Ctrl-C to the program running on the board."""
        pid = self.proc.pid
        while True:  # through a prefix (ip netns exec execs in place) to the relay's runtime
            with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                kids = [int(p) for p in f.read().split()]
            assert len(kids) == 1, kids
            pid = kids[0]
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                if b"virtual_board.py" not in f.read():
                    break
        os.kill(pid, signal.SIGINT)

    def write(self, name, text):
        with open(os.path.join(self.fs, name), "w") as f:
            f.write(text)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout:
            self.proc.stdout.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


@pytest.fixture(scope="module")
def board():
    """One private virtual board for this module, the library deployed."""
    b = PrivateBoard()
    try:
        b.deploy()
        yield b
    finally:
        b.stop()


def secrets_text(**settings):
    return "".join("%s = %r\n" % kv for kv in sorted(settings.items()))


class Example:
    """An example started on ``where`` ("cpython" or a PrivateBoard), its
    output read up to the line that says what to do next."""

    def __init__(self, name, where, prefix=(), **settings):
        self.where = where
        self.lines = []
        if where == "cpython":
            self.dir = tempfile.mkdtemp(prefix="microproto-example-")
            with open(os.path.join(self.dir, "secrets.py"), "w") as f:
                f.write(secrets_text(**settings))
            env = cpython_env()
            env["PYTHONPATH"] = self.dir + os.pathsep + env["PYTHONPATH"]
            self.proc = subprocess.Popen(list(prefix) + [sys.executable, "examples/%s.py" % name], cwd=str(ROOT),
                                         env=env,
                                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True)
        else:
            self.dir = None
            where.write("secrets.py", secrets_text(**settings))
            # `mpremote run` without `resume` soft-resets a real board first;
            # the virtual board needs `resume`, so forget the last settings
            where.mpremote("exec", "import sys; sys.modules.pop('secrets', None)")
            self.proc = where.popen("run", "examples/%s.py" % name)

    def read_until(self, text):
        # a hang guard, not a timing check: an example that never prints
        # its line is killed, and the test fails with what it printed
        guard = threading.Timer(240, self.proc.kill)
        guard.start()
        try:
            return self._read_until(text)
        finally:
            guard.cancel()

    def _read_until(self, text):
        while True:
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait(10)
                pytest.fail("example ended (exit %s) before %r:\n%s" % (self.proc.returncode, text,
                                                                        "".join(self.lines)))
            self.lines.append(line)
            if text in line:
                return line

    def output(self):
        return "".join(self.lines)

    def ctrl_c(self):
        """Ctrl-C as the user presses it; returns the example's output."""
        if self.where == "cpython":
            self.proc.send_signal(signal.SIGINT)
            out, _ = self.proc.communicate(timeout=30)
            self.lines.append(out)
            assert self.proc.returncode == 0, self.output()
            assert "stopped" in out, self.output()
        else:
            # A board turns Ctrl-C on its serial line into KeyboardInterrupt;
            # the unix port behind the virtual board's raw pty takes it as
            # SIGINT. mpremote, still following, shows the end and exits.
            self.where.interrupt()
            out, _ = self.proc.communicate(timeout=30)
            self.lines.append(out)
            assert self.proc.returncode == 0, self.output()
            assert "stopped" in out, self.output()
            assert "board ok" in self.where.mpremote("exec", "print('board ok')", timeout=60)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        assert "Traceback" not in self.output() and "exception" not in self.output(), self.output()
        return self.output()

    def wait(self):
        out, _ = self.proc.communicate(timeout=120)
        self.lines.append(out)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return self.proc.returncode, self.output()


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def where_of(request, board_fixture_name="board"):
    return "cpython" if request.param == "cpython" else request.getfixturevalue(board_fixture_name)


@pytest.fixture(params=["cpython", "virtual-board"])
def where(request):
    return where_of(request)


def test_websocket_echo(where):
    port = free_port()
    ex = Example("websocket_echo", where, WS_PORT=port)
    ex.read_until("next: python3 -m websockets ws://127.0.0.1:%d/" % port)
    wait_port(port)
    with ws_connect("ws://127.0.0.1:%d/" % port, open_timeout=20) as ws:
        ws.send("hello from the first hour")
        assert ws.recv(timeout=20) == "hello from the first hour"
        ws.send(bytes(range(256)) * 40)
        assert ws.recv(timeout=20) == bytes(range(256)) * 40
    ex.ctrl_c()
    assert refused(port), "still listening after Ctrl-C"


def test_telnet_repl(where):
    port = free_port()
    ex = Example("telnet_repl", where, TELNET_PORT=port, TELNET_PASSWORD="sesame 12")
    line = ex.read_until("next: telnet ")
    assert "next: telnet 127.0.0.1 %d" % port in line, ex.output()
    wait_port(port)
    c = pexpect.spawn("telnet", ["127.0.0.1", str(port)], dimensions=(24, 80), timeout=20)
    try:
        c.expect("Password: ")
        c.send("sesame 12\r")
        c.expect(">>> ")
        c.send("6*7\r")
        c.expect("42")
        c.expect(">>> ")
    finally:
        c.close(force=True)
    ex.ctrl_c()
    assert refused(port), "still listening after Ctrl-C"


def test_telnet_repl_prints_a_fresh_password_when_none_is_set():
    port = free_port()
    ex = Example("telnet_repl", "cpython", TELNET_PORT=port)
    line = ex.read_until("telnet repl: password ")
    password = line.split("password ", 1)[1].strip()
    assert len(password) == 12, line
    ex.read_until("next: telnet")
    ex.ctrl_c()


async def console_login(port, password):
    """Log in to the device console as its page does and evaluate 6*7."""
    import asyncio

    import websockets

    async with websockets.connect("ws://127.0.0.1:%d/" % port, open_timeout=20) as ws:
        assert await asyncio.wait_for(ws.recv(), 20) == "Password: "
        await ws.send(password + "\r")
        assert "WebREPL connected" in await asyncio.wait_for(ws.recv(), 20)
        await ws.send("6*7\r")
        out = ""
        while not out.endswith(">>> "):
            out += await asyncio.wait_for(ws.recv(), 20)
        return out


def test_device_console(where):
    import asyncio

    port, telnet_port = free_port(), free_port()
    ex = Example("device_console", where, CONSOLE_PORT=port, TELNET_PORT=telnet_port, CONSOLE_PASSWORD="open 6x7")
    line = ex.read_until("next: open ")
    assert "next: open http://127.0.0.1:%d/ or telnet 127.0.0.1 %d" % (port, telnet_port) in line, ex.output()
    wait_port(port)
    assert "42\r\n>>> " in asyncio.run(console_login(port, "open 6x7"))
    ex.ctrl_c()
    assert refused(port) and refused(telnet_port), "still listening after Ctrl-C"


class Mailbox:
    def __init__(self):
        self.mails = []

    async def handle_DATA(self, server, session, envelope):
        self.mails.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 OK queued"


def _check_login(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == MAIL_USER.encode()
          and auth_data.password == MAIL_PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


def test_send_mail_with_starttls_and_login(where):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    box = Mailbox()
    port = free_port()
    ctl = Controller(box, hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                     authenticator=_check_login, auth_required=True, auth_require_tls=True)
    ctl.start()
    try:
        if where == "cpython":
            cafile = CERT
        else:
            shutil.copy(CERT, os.path.join(where.fs, "ca.pem"))
            cafile = "ca.pem"
        ex = Example("send_mail", where, SMTP_HOST="localhost", SMTP_PORT=port, SMTP_USER=MAIL_USER,
                     SMTP_PASSWORD=MAIL_PASSWORD, SMTP_FROM="board@example.org", SMTP_TO="me@example.org",
                     SMTP_CAFILE=cafile)
        rc, out = ex.wait()
    finally:
        ctl.stop()
    assert rc == 0, out
    assert "send mail: accepted for me@example.org" in out, out
    assert "next: look in the mailbox of me@example.org" in out, out
    assert len(box.mails) == 1, out
    sender, rcpts, content = box.mails[0]
    assert sender == "board@example.org" and rcpts == ["me@example.org"]
    assert b"Subject: Hello from microproto" in content


def test_send_mail_says_what_to_set_without_settings(where):
    ex = Example("send_mail", where)
    rc, out = ex.wait()
    assert rc == 0, out
    assert "send mail: set SMTP_HOST" in out and "next: see examples/README.md" in out, out


def test_fetch_mail_with_stls_and_login(where):
    from pop3_peer import PASSWORD, Dovecot, message

    dv = Dovecot(free_port(), free_port())
    try:
        dv.start()
        dv.fill("alice", [message(1, "first hour"), message(2, "Grüße")])
        if where == "cpython":
            cafile = CERT
        else:
            shutil.copy(CERT, os.path.join(where.fs, "ca.pem"))
            cafile = "ca.pem"
        ex = Example("fetch_mail", where, POP3_HOST="localhost", POP3_PORT=dv.port, POP3_USER="alice",
                     POP3_PASSWORD=PASSWORD, POP3_CAFILE=cafile)
        rc, out = ex.wait()
        assert rc == 0, out + dv.log()
        assert dv.count("alice") == 2  # nothing deleted
    finally:
        dv.cleanup()
    assert "fetch mail: 2 messages, " in out, out
    assert "  1  Sender <sender@example.org>  first hour" in out, out
    assert "  2  Sender <sender@example.org>  Grüße" in out, out
    assert "next: read one with" in out, out


def test_fetch_mail_says_what_to_set_without_settings(where):
    rc, out = Example("fetch_mail", where).wait()
    assert rc == 0, out
    assert "fetch mail: set POP3_HOST" in out and "next: see examples/README.md" in out, out


@pytest.fixture(params=["cpython", "virtual-board"])
def dhcp_net(request):
    """A client namespace with dnsmasq (two-server-free segment) beside it,
    and where the example runs: CPython in the namespace, or a virtual board
    whose runtime lives in the namespace."""
    from dhcp_net import Net

    net = Net()
    board = None
    try:
        net.dnsmasq()
        if request.param == "cpython":
            yield net, "cpython"
        else:
            board = PrivateBoard(prefix=["ip", "netns", "exec", net.cli])
            board.deploy()
            yield net, board
    finally:
        if board is not None:
            board.stop()
        net.close()


def test_probe_dhcp_lists_the_offer_and_takes_nothing(dhcp_net):
    net, where = dhcp_net
    ex = Example("probe_dhcp", where, prefix=["ip", "netns", "exec", net.cli] if where == "cpython" else (),
                 DHCP_IFACE=net.cif, DHCP_PROBE_S=3)
    rc, out = ex.wait()
    assert rc == 0, out
    assert "probe dhcp: DISCOVER on %s" % net.cif in out, out
    assert "offer: %s" % net.prefix in out and "from server %s, lease 120 s" % net.server_ip in out, out
    assert "probe dhcp: 1 server(s): %s" % net.server_ip in out, out
    assert "next: python3 -m microproto.dhcp --iface %s --once" % net.cif in out, out
    with open(net.path("dnsmasq.leases")) as f:
        assert f.read().strip() == "", "the probe took a lease"


def test_probe_dhcp_says_what_to_set_without_settings(where):
    rc, out = Example("probe_dhcp", where).wait()
    assert rc == 0, out
    assert "probe dhcp: set DHCP_IFACE" in out and "next: see examples/README.md" in out, out
