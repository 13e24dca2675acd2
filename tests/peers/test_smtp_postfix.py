"""Our SMTP client against Postfix on loopback (STARTTLS, no AUTH: Postfix
SASL needs Dovecot) delivering to a Maildir: the delivered bytes equal what
was sent (lines starting with '.', 8-bit UTF-8 text, a 5 MB attachment),
from the CLI on both runtimes and from the Python API on CPython."""

import email
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import CERT, KEY, ROOT, cpython_env, free_port, runtime_command, wait_port

from microproto import smtp
from microproto.message import Message

POSTFIX = shutil.which("postfix") or "/usr/sbin/postfix"

MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
virtual   unix  - n n - - virtual
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {d}/queue
data_directory = {d}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = localhost
mydomain = localdomain
mydestination =
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
relayhost =
default_transport = error:outbound mail is off in tests
relay_transport = error:outbound mail is off in tests
virtual_mailbox_domains = example.test
virtual_mailbox_base = {d}/mail
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:{uid}
virtual_gid_maps = static:{gid}
virtual_mailbox_limit = 0
message_size_limit = 50000000
smtputf8_enable = yes
maillog_file = {d}/maillog
maillog_file_prefixes = {d}
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
biff = no
"""


class Postfix:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="mp-postfix-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        nobody = pwd.getpwnam("nobody")
        for sub in ("queue", "data", "mail"):
            os.mkdir(os.path.join(self.dir, sub))
        shutil.chown(os.path.join(self.dir, "data"), "postfix")
        os.chown(os.path.join(self.dir, "mail"), nobody.pw_uid, nobody.pw_gid)
        with open(os.path.join(self.dir, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(d=self.dir, uid=nobody.pw_uid, gid=nobody.pw_gid, cert=CERT, key=KEY))
        with open(os.path.join(self.dir, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(port=self.port))
        self.maildir = os.path.join(self.dir, "mail", "box", "new")

    def _postfix(self, *args):
        return subprocess.run([POSTFIX, "-c", self.dir] + list(args), capture_output=True, text=True, timeout=60)

    def start(self):
        for cmd in ("check", "start"):
            p = self._postfix(cmd)
            if p.returncode != 0:
                pytest.fail("postfix %s failed: %s %s\n%s" % (cmd, p.stdout, p.stderr, self.log()))
        wait_port(self.port, timeout_s=20)

    def stop(self):
        self._postfix("stop")
        pid = os.path.join(self.dir, "queue", "pid", "master.pid")
        for _ in range(100):
            if not os.path.exists(pid):
                break
            time.sleep(0.05)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(os.path.join(self.dir, "maillog")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def log_for(self, queue_id):
        """The smtpd 'disconnect' line of the session that queued ``queue_id``."""
        with open(os.path.join(self.dir, "maillog")) as f:
            lines = f.read().splitlines()
        pid = None
        for ln in lines:
            if queue_id + ": client=" in ln:
                pid = ln.split("smtpd[")[1].split("]")[0]
                start = lines.index(ln)
                break
        assert pid, queue_id
        for ln in lines[start:]:
            if "smtpd[%s]: disconnect" % pid in ln:
                return ln
        return ""

    def delivered(self, token, timeout_s=60):
        """The Maildir file holding ``token`` (delivery is asynchronous)."""
        token = token.encode()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if os.path.isdir(self.maildir):
                for name in os.listdir(self.maildir):
                    with open(os.path.join(self.maildir, name), "rb") as f:
                        data = f.read()
                    if token in data:
                        return data
            time.sleep(0.1)
        pytest.fail("nothing delivered with %r; maillog:\n%s" % (token, self.log()))


@pytest.fixture(scope="module")
def postfix():
    if not os.path.exists(POSTFIX):
        pytest.fail("postfix is not installed (.ci/install.d/smtp.sh installs it)")
    pf = Postfix()
    pf.start()
    try:
        yield pf
    finally:
        pf.stop()


TRACE_HEADERS = (b"Return-Path:", b"X-Original-To:", b"Delivered-To:", b"Received:")


def strip_trace(delivered):
    """The message as Postfix delivered it, without the trace headers it
    prepends; Maildir files use LF line ends."""
    lines = delivered.split(b"\n")
    i = 0
    while i < len(lines):
        if lines[i].startswith(TRACE_HEADERS):
            i += 1
            while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
                i += 1
        else:
            break
    return b"\n".join(lines[i:])


def big_message(tmp_path, token, size=5 * 1024 * 1024):
    att = tmp_path / "big.bin"
    att.write_bytes(os.urandom(size))
    text = "Grüße aus Köln — ✓ 8-bit UTF-8\n.a line starting with a dot\n..two dots\n.\nend\n"
    msg = Message(
        "Sender <sender@example.test>",
        ["Rcpt <box@example.test>"],
        "Postfix test %s ü" % token,
        text,
        attachments=[str(att)],
        message_id="<%s@example.test>" % token,
    )
    return msg, att, text


def run_cli(runtime, args, timeout=300):
    p = subprocess.run(
        runtime_command(runtime, "microproto.smtp", args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cpython_env(),
        cwd=str(ROOT),
        timeout=timeout,
    )
    return p


def cli_args(port):
    return [
        "--server", "127.0.0.1", "--port", str(port), "--tls", "starttls",
        "--cafile", CERT, "--tls-hostname", "localhost", "--timeout-ms", "30000",
    ]


@pytest.mark.parametrize("mode", ["bdat", "data", "data-nopipe"])
def test_cli_message_file_delivered_byte_for_byte(postfix, runtime, tmp_path, mode):
    token = "file-%s-%s-%d" % (runtime, mode, os.getpid())
    msg, att, text = big_message(tmp_path, token)
    raw = b"".join(bytes(c) for c in msg)
    assert len(raw) > 5 * 1024 * 1024
    f = tmp_path / "m.eml"
    f.write_bytes(raw)
    extra = {"bdat": [], "data": ["--no-chunking"], "data-nopipe": ["--no-chunking", "--no-pipelining"]}[mode]
    p = run_cli(runtime, cli_args(postfix.port) + extra + ["--from", "sender@example.test", "--to", "box@example.test", str(f)])
    assert p.returncode == 0, (p.stdout, p.stderr, postfix.log())
    got = strip_trace(postfix.delivered(token))
    assert got == raw.replace(b"\r\n", b"\n")
    # Postfix logs the commands of each session: check the path taken
    queue_id = p.stdout.decode().split("queued as ")[1].split()[0]
    log = postfix.log_for(queue_id)
    if mode == "bdat":
        assert "bdat=" in log and "data=" not in log, log
    else:
        assert "data=1" in log and "bdat=" not in log, log


def test_cli_built_message_with_attachment(postfix, runtime, tmp_path):
    token = "built-%s-%d" % (runtime, os.getpid())
    att = tmp_path / "data.bin"
    att.write_bytes(os.urandom(5 * 1024 * 1024 + 7))
    body = "Hällo ✓\n.leading dot\n" + token + "\n"
    p = run_cli(
        runtime,
        cli_args(postfix.port)
        + ["--from", "sender@example.test", "--to", "box@example.test", "--subject", "Grüße " + token]
        + ["--body", body, "--attach", str(att)],
    )
    assert p.returncode == 0, (p.stdout, p.stderr, postfix.log())
    got = postfix.delivered(token)
    m = email.message_from_bytes(got)
    subject = str(email.header.make_header(email.header.decode_header(m["Subject"])))
    assert subject == "Grüße " + token
    parts = list(m.walk())
    text = [x for x in parts if x.get_content_type() == "text/plain"][0]
    assert text.get_payload(decode=True).decode() == body  # Maildir keeps LF
    files = [x for x in parts if x.get_filename() == "data.bin"]
    assert files and files[0].get_payload(decode=True) == att.read_bytes()


def test_api_delivers_stuffed_and_unnormalised_lines(postfix):
    token = "api-%d" % os.getpid()
    raw = (
        b"From: a@example.test\nTo: box@example.test\nSubject: " + token.encode() + b"\n"
        b"Message-ID: <" + token.encode() + b"@example.test>\nDate: Sat, 28 Nov 2026 00:00:00 +0000\n\n"
        b".\n..\n.x\r\nlone cr\rh\xc3\xa9 \xe2\x9c\x93\nno final newline"
    )
    for chunking in (True, False):
        tok = token + ("-bdat" if chunking else "-data")
        msg = raw.replace(token.encode(), tok.encode())
        with smtp.SMTP(
            "127.0.0.1", postfix.port, cafile=CERT, server_hostname="localhost", timeout_ms=30000, chunking=chunking
        ) as s:
            assert s.secure and "8BITMIME" in s.capabilities and "PIPELINING" in s.capabilities
            assert "CHUNKING" in s.capabilities
            r = s.send("a@example.test", ["box@example.test"], msg)
            assert r.accepted == ["box@example.test"] and r.reply.code == 250
        got = strip_trace(postfix.delivered(tok))
        expected = msg.replace(b"\r\n", b"\n").replace(b"\r", b"\n") + b"\n"
        assert got == expected, (got[-120:], expected[-120:])


def test_api_message_object_and_unknown_domain(postfix, tmp_path):
    token = "obj-%d" % os.getpid()
    msg, att, text = big_message(tmp_path, token, size=300000)
    with smtp.SMTP("127.0.0.1", postfix.port, tls="starttls", cafile=CERT, server_hostname="localhost") as s:
        r = s.send(None, ["box@example.test", "x@elsewhere.invalid"], msg)
        assert r.accepted == ["box@example.test"]
        assert r.refused["x@elsewhere.invalid"].code == 454 or r.refused["x@elsewhere.invalid"].code // 100 == 5
    raw = b"".join(bytes(c) for c in msg)
    assert strip_trace(postfix.delivered(token)) == raw.replace(b"\r\n", b"\n")
