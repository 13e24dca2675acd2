"""Our SMTP client against Postfix on loopback (STARTTLS, AUTH PLAIN/LOGIN
through Dovecot's auth service) delivering to a Maildir: the delivered
bytes equal what was sent (lines starting with '.', 8-bit UTF-8 text, a 5 MB
attachment), from the CLI on both runtimes and the Python API on CPython."""

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
DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "alice", "s3cret pass"

DOVECOT_CONF = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols =
listen = 127.0.0.1
ssl = no
auth_mechanisms = plain login
auth_failure_delay = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  unix_listener {d}/auth {{
    mode = 0666
  }}
}}
"""

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
# not our client's address: relaying needs AUTH
mynetworks = 127.0.0.2/32
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
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = {d}/dovecot/auth
smtpd_tls_auth_only = yes
biff = no
"""


class Dovecot:
    """Dovecot with no protocols: only its auth service, for Postfix SASL."""

    def __init__(self, d):
        self.dir = d
        os.makedirs(os.path.join(d, "run"))
        os.makedirs(os.path.join(d, "state"))
        with open(os.path.join(d, "users"), "w") as f:
            f.write("%s:{PLAIN}%s\n" % (USER, PASSWORD))
        self.conf = os.path.join(d, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(d=d))

    def start(self):
        # dovecot daemonizes: its children must not hold our pipes open
        err = os.path.join(self.dir, "start.err")
        with open(err, "w") as f:
            rc = subprocess.call([DOVECOT, "-c", self.conf], stdin=subprocess.DEVNULL, stdout=f, stderr=f, timeout=60)
        if rc != 0:
            with open(err) as f:
                pytest.fail("dovecot failed to start: %s" % f.read())
        sock = os.path.join(self.dir, "auth")
        for _ in range(100):
            if os.path.exists(sock):
                return
            time.sleep(0.05)
        pytest.fail("dovecot's auth socket did not appear")

    def stop(self):
        subprocess.call(
            [DOVECOT, "-c", self.conf, "stop"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )


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
        self.dovecot = Dovecot(os.path.join(self.dir, "dovecot"))

    def _postfix(self, *args):
        # postfix start daemonizes too: collect its words through a file
        out = os.path.join(self.dir, "cmd.out")
        with open(out, "w") as f:
            rc = subprocess.call([POSTFIX, "-c", self.dir] + list(args), stdin=subprocess.DEVNULL, stdout=f, stderr=f, timeout=60)
        with open(out) as f:
            return rc, f.read()

    def start(self):
        self.dovecot.start()
        for cmd in ("check", "start"):
            rc, out = self._postfix(cmd)
            if rc != 0:
                pytest.fail("postfix %s failed: %s\n%s" % (cmd, out, self.log()))
        wait_port(self.port, timeout_s=20)

    def stop(self):
        self._postfix("stop")
        self.dovecot.stop()
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
    for prog in (POSTFIX, DOVECOT):
        if not os.path.exists(prog):
            pytest.fail("%s is not installed (.ci/install.d/smtp.sh installs it)" % prog)
    pf = Postfix()
    try:
        pf.start()
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
    extra = {"bdat": ["--chunking"], "data": [], "data-nopipe": ["--no-pipelining"]}[mode]
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


def test_cli_auth_through_dovecot(postfix, runtime):
    token = "auth-%s-%d" % (runtime, os.getpid())
    args = cli_args(postfix.port) + ["--user", USER, "--password-env", "SMTP_PASSWORD"]
    args += ["--from", "sender@example.test", "--to", "box@example.test", "--subject", token, "--body", "authenticated\n"]
    env = cpython_env()
    env["SMTP_PASSWORD"] = PASSWORD
    p = subprocess.run(runtime_command(runtime, "microproto.smtp", args), capture_output=True, env=env, cwd=str(ROOT), timeout=120)
    assert p.returncode == 0, (p.stdout, p.stderr, postfix.log())
    got = postfix.delivered(token)
    assert b"with ESMTPSA" in got  # Postfix's mark of an authenticated TLS session
    env["SMTP_PASSWORD"] = "wrong"
    p = subprocess.run(runtime_command(runtime, "microproto.smtp", args), capture_output=True, env=env, cwd=str(ROOT), timeout=120)
    assert p.returncode == 1 and b"535" in p.stderr and b"AUTH" in p.stderr, p.stderr


def test_api_auth_mechanisms_and_relay(postfix):
    for mech in ("PLAIN", "LOGIN"):
        with smtp.SMTP("127.0.0.1", postfix.port, cafile=CERT, server_hostname="localhost") as s:
            assert set(s.capabilities["AUTH"]) >= {"PLAIN", "LOGIN"}
            # without AUTH this client may not relay
            try:
                s.send("sender@example.test", ["x@relay.invalid"], b"x\r\n")
            except smtp.SMTPRecipientsRefused as e:
                assert e.refused["x@relay.invalid"].code == 554, e
            else:
                raise AssertionError("unauthenticated relay accepted")
            r = s.login(USER, PASSWORD, mech)
            assert r.code == 235
            token = "api-auth-%s-%d" % (mech, os.getpid())
            r = s.send("sender@example.test", ["box@example.test"], b"Subject: " + token.encode() + b"\r\n\r\nhi\r\n")
            assert r.accepted == ["box@example.test"]
        assert b"with ESMTPSA" in postfix.delivered(token)
    with smtp.SMTP("127.0.0.1", postfix.port, tls=None) as s:
        # Postfix offers AUTH only after STARTTLS here, and we would refuse anyway
        assert "AUTH" not in s.capabilities
        try:
            s.login(USER, PASSWORD)
        except smtp.UsageError:
            pass
        else:
            raise AssertionError("credentials sent without TLS")


def test_async_api_bdat_auth(postfix, tmp_path):
    import asyncio

    token = "async-%d" % os.getpid()
    msg, att, text = big_message(tmp_path, token, size=700000)
    raw = b"".join(bytes(c) for c in msg)

    async def go():
        async with smtp.AsyncSMTP(
            "127.0.0.1", postfix.port, cafile=CERT, server_hostname="localhost", timeout_ms=30000, chunking=True
        ) as s:
            assert s.secure and "CHUNKING" in s.capabilities
            await s.login(USER, PASSWORD)
            return await s.send(None, None, msg)

    r = asyncio.run(go())
    assert r.accepted == ["box@example.test"]
    got = postfix.delivered(token)
    assert b"with ESMTPSA" in got
    assert strip_trace(got) == raw.replace(b"\r\n", b"\n")


def test_smtputf8_addresses(postfix, runtime):
    token = "utf8-%s-%d" % (runtime, os.getpid())
    args = cli_args(postfix.port) + ["--from", "jörg@example.test", "--to", "zoë@example.test"]
    args += ["--subject", token, "--body", "Grüße\n"]
    p = run_cli(runtime, args)
    assert p.returncode == 0, (p.stdout, p.stderr, postfix.log())
    got = postfix.delivered(token)
    assert "Return-Path: <jörg@example.test>".encode() in got, got[:300]
    assert "X-Original-To: zoë@example.test".encode() in got
    assert "From: jörg@example.test".encode() in got


def test_api_delivery_status_notification(postfix):
    token = "dsn-%d" % os.getpid()
    envid = "env+%s=1" % token
    with smtp.SMTP("127.0.0.1", postfix.port, cafile=CERT, server_hostname="localhost") as s:
        assert "DSN" in s.capabilities
        r = s.send(
            "sender@example.test",
            ["box@example.test"],
            b"Subject: " + token.encode() + b"\r\n\r\nplease confirm\r\n",
            notify="SUCCESS",
            ret="HDRS",
            envid=envid,
        )
        assert r.accepted == ["box@example.test"]
    # Postfix confirms the delivery to the sender, who also lives in the Maildir
    report = postfix.delivered("Original-Envelope-Id: " + envid)
    assert b"multipart/report" in report and b"report-type=delivery-status" in report
    assert b"Action: delivered" in report
    assert b"Original-Recipient: rfc822;box@example.test" in report
