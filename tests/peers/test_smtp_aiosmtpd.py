"""Our SMTP client (CLI on both runtimes, Python API on CPython) against
aiosmtpd: STARTTLS, implicit TLS, AUTH PLAIN/LOGIN, SIZE limit, one
recipient refused, plaintext AUTH refusal, certificate verification."""

import asyncio
import base64
import hmac
import ssl
import subprocess

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from conftest import CERT, KEY, ROOT, cpython_env, free_port, runtime_command

from microproto import smtp
from microproto.errors import UsageError
from microproto.message import Message

USER, PASSWORD = "alice", "s3cret pass"
TOKEN = "ya29.test-access-token"
REFUSED = "nobody@example.org"


class Recorder:
    """aiosmtpd handler: keeps each envelope; refuses REFUSED."""

    def __init__(self):
        self.mails = []
        self.auth_mechanisms = []

    # aiosmtpd has PLAIN and LOGIN; these two hooks add CRAM-MD5 (RFC 2195)
    # and XOAUTH2, checked here with the standard library
    async def auth_CRAM__MD5(self, server, args):
        challenge = b"<20261128.4242@aiosmtpd.test>"
        resp = await server.challenge_auth(challenge)
        if not isinstance(resp, bytes) or b" " not in resp:
            return AuthResult(success=False, handled=False)
        user, digest = resp.split(b" ", 1)
        want = hmac.new(PASSWORD.encode(), challenge, "md5").hexdigest().encode()
        self.auth_mechanisms.append("CRAM-MD5")
        return AuthResult(success=user == USER.encode() and hmac.compare_digest(digest, want), handled=False)

    async def auth_XOAUTH2(self, server, args):
        if len(args) < 2:
            return AuthResult(success=False, handled=False)
        fields = base64.b64decode(args[1]).split(b"\x01")
        self.auth_mechanisms.append("XOAUTH2")
        if fields[:2] == [b"user=" + USER.encode(), b"auth=Bearer " + TOKEN.encode()]:
            return AuthResult(success=True, handled=False)
        # RFC-less but common: an error as a 334 challenge, then 535
        await server.challenge_auth(b'{"status":"401","schemes":"bearer"}')
        return AuthResult(success=False, handled=False)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            return "550 5.1.1 <%s>: no such user" % address
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        self.mails.append(
            {
                "from": envelope.mail_from,
                "to": list(envelope.rcpt_tos),
                "content": envelope.original_content,
                "mail_options": list(envelope.mail_options),
            }
        )
        return "250 2.0.0 OK queued"


def authenticator(recorder):
    def check(server, session, envelope, mechanism, auth_data):
        recorder.auth_mechanisms.append(mechanism)
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == USER.encode()
            and auth_data.password == PASSWORD.encode()
        )
        return AuthResult(success=ok, handled=False)

    return check


def server_ctx():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    return ctx


class Peer:
    def __init__(self, mode="starttls", **kw):
        self.recorder = Recorder()
        self.port = free_port()
        args = dict(
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator(self.recorder),
            auth_required=mode != "plain-noauth",
            # aiosmtpd counts only STARTTLS as TLS: over implicit TLS it
            # would never offer AUTH if this were True
            auth_require_tls=mode == "starttls",
        )
        if mode == "starttls":
            args.update(tls_context=server_ctx(), require_starttls=True)
        elif mode == "implicit":
            args.update(ssl_context=server_ctx())
        args.update(kw)
        self.controller = Controller(self.recorder, **args)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def run_cli(runtime, args, stdin=None, timeout=120):
    argv = runtime_command(runtime, "microproto.smtp", args)
    env = cpython_env()
    env["SMTP_PASSWORD"] = PASSWORD
    return subprocess.run(
        argv,
        input=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=str(ROOT),
        timeout=timeout,
    )


def cli_common(port, tls):
    return [
        "--server",
        "127.0.0.1",
        "--port",
        str(port),
        "--tls",
        tls,
        "--cafile",
        CERT,
        "--tls-hostname",
        "localhost",
        "--timeout-ms",
        "10000",
    ]


# -- CLI on both runtimes ---------------------------------------------------


def test_cli_starttls_auth_with_refused_recipient(runtime, tmp_path):
    att = tmp_path / "data.bin"
    att.write_bytes(bytes(range(256)) * 40)
    with Peer("starttls") as peer:
        p = run_cli(
            runtime,
            cli_common(peer.port, "starttls")
            + ["--user", USER, "--password-env", "SMTP_PASSWORD", "--from", "me@example.org"]
            + ["--to", "you@example.org", "--to", REFUSED, "--subject", "Grüße", "--body", "line\n.dot line\n"]
            + ["--attach", str(att)],
        )
        out, err = p.stdout.decode(), p.stderr.decode()
        assert p.returncode == 3, (p.returncode, out, err)
        assert REFUSED in err and "550" in err and "5.1.1" in err, err
        assert "you@example.org" in out, out
        assert len(peer.recorder.mails) == 1
        mail = peer.recorder.mails[0]
        assert mail["to"] == ["you@example.org"]
        assert mail["from"] == "me@example.org"
        content = mail["content"]
        assert b"\r\n.dot line\r\n" in content  # unstuffed by the server
        assert b"Subject: =?UTF-8?B?" in content
        import email

        msg = email.message_from_bytes(content)
        assert msg["Subject"] and str(email.header.make_header(email.header.decode_header(msg["Subject"]))) == "Grüße"
        parts = [p for p in msg.walk() if p.get_filename() == "data.bin"]
        assert parts and parts[0].get_payload(decode=True) == att.read_bytes()
        assert peer.recorder.auth_mechanisms == ["PLAIN"]


def test_cli_implicit_tls_message_file(runtime, tmp_path):
    raw = b"From: me@example.org\r\nTo: you@example.org\r\nSubject: x\r\n\r\n.leading dot\r\nbody\r\n"
    f = tmp_path / "m.eml"
    f.write_bytes(raw)
    with Peer("implicit") as peer:
        p = run_cli(
            runtime,
            cli_common(peer.port, "implicit")
            + ["--user", USER, "--password-env", "SMTP_PASSWORD", "--from", "me@example.org", "--to", "you@example.org", str(f)],
        )
        assert p.returncode == 0, (p.stdout, p.stderr)
        assert b"250" in p.stdout
        assert [m["content"] for m in peer.recorder.mails] == [raw]


def test_cli_stdin_message(runtime):
    raw = b"Subject: stdin\r\n\r\nfrom standard input\r\n"
    with Peer("starttls") as peer:
        p = run_cli(
            runtime,
            cli_common(peer.port, "starttls")
            + ["--user", USER, "--password-env", "SMTP_PASSWORD", "--from", "me@example.org", "--to", "you@example.org", "-"],
            stdin=raw,
        )
        assert p.returncode == 0, (p.stdout, p.stderr)
        assert [m["content"] for m in peer.recorder.mails] == [raw]


def test_cli_wrong_password_is_clear(runtime):
    with Peer("starttls") as peer:
        argv = cli_common(peer.port, "starttls") + ["--user", USER, "--password-env", "WRONG_PW"]
        argv += ["--from", "me@example.org", "--to", "you@example.org", "--subject", "s", "--body", "b"]
        env_pw = {"WRONG_PW": "nope"}
        cmd = runtime_command(runtime, "microproto.smtp", argv)
        env = cpython_env()
        env.update(env_pw)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=str(ROOT), timeout=60)
        assert p.returncode == 1, (p.stdout, p.stderr)
        assert b"AUTH" in p.stderr and b"535" in p.stderr, p.stderr
        assert peer.recorder.mails == []


def test_cli_size_limit(runtime, tmp_path):
    f = tmp_path / "big.eml"
    f.write_bytes(b"Subject: big\r\n\r\n" + b"x" * 70 + b"\r\n" * 1 + (b"y" * 70 + b"\r\n") * 100)
    with Peer("starttls", data_size_limit=1000) as peer:
        p = run_cli(
            runtime,
            cli_common(peer.port, "starttls")
            + ["--user", USER, "--password-env", "SMTP_PASSWORD", "--from", "me@example.org", "--to", "you@example.org", str(f)],
        )
        assert p.returncode == 1, (p.stdout, p.stderr)
        # refused by the client from the EHLO SIZE before MAIL (RFC 1870)
        assert b"552" in p.stderr and b"SIZE limit of 1000" in p.stderr, p.stderr
        assert peer.recorder.mails == []


def test_cli_refuses_plaintext_auth(runtime):
    with Peer("plain") as peer:
        argv = ["--server", "127.0.0.1", "--port", str(peer.port), "--tls", "none", "--user", USER]
        argv += ["--password-env", "SMTP_PASSWORD", "--from", "a@b.c", "--to", "d@e.f", "--subject", "s", "--body", "b"]
        p = run_cli(runtime, argv)
        assert p.returncode == 2, (p.stdout, p.stderr)
        assert b"without TLS" in p.stderr, p.stderr
        assert peer.recorder.auth_mechanisms == []


def test_cli_rejects_unknown_ca(runtime):
    with Peer("starttls") as peer:
        argv = cli_common(peer.port, "starttls")
        argv[argv.index("--cafile") + 1] = str(ROOT / "tests" / "unit" / "data" / "other_ca.pem")
        argv += ["--from", "a@b.c", "--to", "d@e.f", "--subject", "s", "--body", "b"]
        p = run_cli(runtime, argv)
        assert p.returncode == 1, (p.stdout, p.stderr)
        assert b"TLS handshake" in p.stderr, p.stderr
        assert peer.recorder.mails == []


def test_cli_usage_errors(runtime):
    p = run_cli(runtime, ["--server", "x", "--to", "a@b"])
    assert p.returncode == 2 and b"--from is required" in p.stderr, p.stderr
    p = run_cli(runtime, ["--server", "x", "--from", "a@b", "--to", "c@d", "--tls", "maybe", "--body", "x"])
    assert p.returncode == 2 and b"tls must be" in p.stderr, p.stderr


# -- Python API (CPython) ---------------------------------------------------


def test_api_starttls_login_mechanisms():
    for mech in ("PLAIN", "LOGIN"):
        with Peer("starttls") as peer:
            with smtp.SMTP("127.0.0.1", peer.port, tls="starttls", cafile=CERT, server_hostname="localhost", timeout_ms=5000) as s:
                assert s.secure
                assert "AUTH" in s.capabilities
                s.login(USER, PASSWORD, mechanism=mech)
                r = s.send("me@example.org", ["you@example.org", REFUSED], b"Subject: t\n\nhello\n..two\n.\n")
                assert r.accepted == ["you@example.org"]
                assert list(r.refused) == [REFUSED]
                assert r.refused[REFUSED].code == 550 and r.refused[REFUSED].enhanced == "5.1.1"
                assert r.reply.code == 250 and r.reply.enhanced == "2.0.0"
                assert s.noop().code == 250
            assert peer.recorder.auth_mechanisms == [mech]
            assert peer.recorder.mails[0]["content"] == b"Subject: t\r\n\r\nhello\r\n..two\r\n.\r\n"


def test_api_all_refused_and_session_reusable():
    with Peer("starttls") as peer:
        with smtp.SMTP("127.0.0.1", peer.port, cafile=CERT, server_hostname="localhost", timeout_ms=5000) as s:
            s.login(USER, PASSWORD)
            try:
                s.send("me@example.org", [REFUSED], b"x\r\n")
            except smtp.SMTPRecipientsRefused as e:
                assert list(e.refused) == [REFUSED] and e.refused[REFUSED].code == 550
            else:
                raise AssertionError("no error when every recipient is refused")
            r = s.send("me@example.org", "you@example.org", "second\n")
            assert r.accepted == ["you@example.org"]
        assert [m["content"] for m in peer.recorder.mails] == [b"second\r\n"]


def test_api_message_builder_and_size_param(tmp_path):
    att = tmp_path / "a.txt"
    att.write_bytes(b"attachment\n" * 1000)
    with Peer("starttls", data_size_limit=100000) as peer:
        msg = Message("Me <me@example.org>", ["you@example.org"], "hé", "body ü\n", attachments=[str(att)])
        with smtp.SMTP("127.0.0.1", peer.port, cafile=CERT, server_hostname="localhost") as s:
            s.login(USER, PASSWORD)
            r = s.send(None, None, msg)
            assert r.accepted == ["you@example.org"]
        mail = peer.recorder.mails[0]
        assert "SIZE=%d" % msg.size() in mail["mail_options"], mail["mail_options"]
        assert "BODY=8BITMIME" in mail["mail_options"]
        assert mail["content"] == b"".join(bytes(c) for c in msg)


def test_api_plaintext_auth_needs_opt_in():
    with Peer("plain") as peer:
        with smtp.SMTP("127.0.0.1", peer.port, tls=None) as s:
            with pytest.raises(UsageError):
                s.login(USER, PASSWORD)
        with smtp.SMTP("127.0.0.1", peer.port, tls=None, allow_plaintext_auth=True) as s:
            s.login(USER, PASSWORD)
            s.send("a@example.org", ["b@example.org"], b"plain\r\n")
        assert peer.recorder.auth_mechanisms == ["PLAIN"]


def test_api_starttls_required_but_not_offered():
    with Peer("plain-noauth") as peer:
        with pytest.raises(smtp.PeerError) as ei:
            smtp.SMTP("127.0.0.1", peer.port, tls="starttls", cafile=CERT)
        assert "STARTTLS" in str(ei.value)


def test_send_mail_helper():
    with Peer("implicit") as peer:
        r = smtp.send_mail(
            "127.0.0.1",
            "me@example.org",
            ["you@example.org"],
            subject="one call",
            text="hi\n",
            port=peer.port,
            tls="implicit",
            user=USER,
            password=PASSWORD,
            cafile=CERT,
            server_hostname="localhost",
        )
        assert r.accepted == ["you@example.org"]
        assert b"Subject: one call\r\n" in peer.recorder.mails[0]["content"]


def test_async_client_starttls_and_implicit():
    async def go(port, tls):
        async with smtp.AsyncSMTP("127.0.0.1", port, tls=tls, cafile=CERT, server_hostname="localhost", timeout_ms=5000) as s:
            await s.login(USER, PASSWORD)
            r = await s.send("me@example.org", ["you@example.org", REFUSED], b"async\n.x\n")
            assert (await s.noop()).code == 250
            return r

    for mode in ("starttls", "implicit"):
        with Peer(mode) as peer:
            r = asyncio.run(go(peer.port, mode))
            assert r.accepted == ["you@example.org"] and list(r.refused) == [REFUSED]
            assert peer.recorder.mails[0]["content"] == b"async\r\n.x\r\n"


@pytest.mark.parametrize("mech,secret,ok", [("CRAM-MD5", PASSWORD, True), ("XOAUTH2", TOKEN, True), ("CRAM-MD5", "bad", False), ("XOAUTH2", "bad", False)])
def test_cli_cram_md5_and_xoauth2(runtime, mech, secret, ok):
    with Peer("starttls") as peer:
        argv = cli_common(peer.port, "starttls") + ["--user", USER, "--password-env", "SECRET", "--auth", mech]
        argv += ["--from", "me@example.org", "--to", "you@example.org", "--subject", mech, "--body", "x"]
        env = cpython_env()
        env["SECRET"] = secret
        p = subprocess.run(runtime_command(runtime, "microproto.smtp", argv), capture_output=True, env=env, cwd=str(ROOT), timeout=60)
        assert peer.recorder.auth_mechanisms == [mech]
        if ok:
            assert p.returncode == 0, (p.stdout, p.stderr)
            assert len(peer.recorder.mails) == 1
        else:
            assert p.returncode == 1 and b"535" in p.stderr and b"AUTH " + mech.encode() in p.stderr, p.stderr
            assert secret.encode() not in p.stderr
            assert peer.recorder.mails == []
