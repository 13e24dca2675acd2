"""The POP3 client against Dovecot on loopback (POP3 with STLS, POP3S),
on CPython and on the MicroPython unix port: every byte of every message
retrieved (lines starting with '.', 8-bit text, a 5 MB message) equals the
file in the Maildir; UIDL is stable; DELE+QUIT removes, DELE+RSET and
DELE without QUIT do not; sync twice fetches nothing the second time;
every login method; implicit TLS; credentials refused over plaintext; a
certificate from another CA refused; the asyncio form; the command line
and its exit codes."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import MICROPYTHON, ROOT, cpython_env
import pop3_peer

SCRIPT = str(ROOT / "tests" / "peers" / "pop3_client_script.py")
OTHER_CA = str(ROOT / "tests" / "unit" / "data" / "other_ca.pem")
USER_OF = {"cpython": "alice", "micropython": "bob"}


def _ports():
    """Two free consecutive ports in 19000-19499 (the tests' range)."""
    import socket

    for p in range(19000 + os.getpid() % 200 * 2, 19499, 2):
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", p))
                b.bind(("127.0.0.1", p + 1))
            return p, p + 1
        except OSError:
            continue
    pytest.fail("no free ports in 19000-19499")


@pytest.fixture(scope="module")
def dovecot():
    port, sport = _ports()
    dv = pop3_peer.Dovecot(port, sport)
    try:
        dv.start()
    except RuntimeError as e:
        dv.cleanup()
        pytest.fail(str(e))
    yield dv
    dv.cleanup()


@pytest.fixture(scope="module")
def corpus():
    return pop3_peer.corpus(5, 5 * 1024 * 1024)


def small():
    return pop3_peer.corpus(5, 0)


def run(runtime, argv, env=None, timeout=300):
    if runtime == "cpython":
        cmd = [sys.executable] + argv
    else:
        cmd = [MICROPYTHON] + argv
    e = cpython_env()
    e.update(env or {})
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=e, cwd=str(ROOT))


def script(runtime, scenario, dv, outdir, port=None):
    p = run(runtime, [SCRIPT, scenario, "localhost", str(port or dv.port), pop3_peer.CERT, USER_OF[runtime],
                      pop3_peer.PASSWORD, str(outdir)])
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    pytest.fail("no result (rc %s):\n%s\n%s\n%s" % (p.returncode, p.stdout[-3000:], p.stderr[-3000:], dv.log()))


def maildir_files(dv, user):
    """The Maildir's files (new/ and cur/) by the name given at delivery."""
    out = {}
    md = dv.maildir(user)
    for sub in ("new", "cur"):
        for fn in os.listdir(os.path.join(md, sub)):
            with open(os.path.join(md, sub, fn), "rb") as f:
                out[fn.split(":")[0]] = f.read()
    return out


def test_fetch_every_byte(dovecot, corpus, runtime, tmp_path):
    user = USER_OF[runtime]
    names = dovecot.fill(user, corpus)
    r = script(runtime, "fetch", dovecot, tmp_path)
    assert r["secure"] is True
    assert r["stat"] == [len(corpus), sum(len(m) for m in corpus)]
    assert r["list"] == [[i + 1, len(m)] for i, m in enumerate(corpus)]
    files = maildir_files(dovecot, user)
    for i, name in enumerate(names):
        with open(tmp_path / ("%d.eml" % (i + 1)), "rb") as f:
            got = f.read()
        assert got == files[name] == corpus[i], i + 1
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".part")]
    assert r["uidl_again"] == r["uidl"]
    assert len(set(u for n, u in r["uidl"])) == len(corpus)
    assert r["uidl1"] == r["uidl"][0]
    assert r["headers"] == {
        "From": "J\u00f6rg Dot <jorg@example.org>",
        "To": "Alice \u00c4 <alice@example.org>",
        "Subject": "Punkte und Umlaute \u00e4\u00f6\u00fc",
        "Date": "Sat, 28 Nov 2026 10:00:00 +0000",
        "Message-ID": "<dots@example.org>",
    }
    assert r["small"].encode() == corpus[0]


def test_delete_only_at_quit(dovecot, runtime, tmp_path):
    user = USER_OF[runtime]
    dovecot.fill(user, small())
    r = script(runtime, "delete", dovecot, tmp_path)
    n = len(small())
    assert r["before"] == n
    assert r["after_rset"] == n
    assert r["after_close"] == n
    assert r["after_quit"] == n - 1 and r["gone"] is True
    assert dovecot.count(user) == n - 1


def test_sync_twice_fetches_nothing_new(dovecot, runtime, tmp_path):
    user = USER_OF[runtime]
    msgs = small()
    dovecot.fill(user, msgs)
    r = script(runtime, "sync", dovecot, tmp_path)
    n = len(msgs)
    assert r["first"] == n and r["second"] == 0
    assert r["saved1"] == n and r["saved2"] == 0 and r["saved_del"] == 0
    # delete=True removed what was saved before (at QUIT)
    assert r["left"] == 0 and r["saved_after"] == 0
    emls = sorted(p for p in os.listdir(tmp_path) if p.endswith(".eml"))
    assert len(emls) == n
    got = sorted(open(tmp_path / p, "rb").read() for p in emls)
    assert got == sorted(msgs)
    with open(tmp_path / ".pop3-seen") as f:
        assert len(f.read().split()) == 0  # the messages are gone from the server: pruned


def test_logins(dovecot, runtime, tmp_path):
    dovecot.fill(USER_OF[runtime], small())
    r = script(runtime, "logins", dovecot, tmp_path)
    n = len(small())
    assert r["PLAIN"] == r["LOGIN"] == r["USER"] == r["APOP"] == r["PLAIN2"] == n
    assert r["wrong"][0] == "AUTH" and r["wrong"][1] == "AUTH PLAIN"


def test_implicit_tls(dovecot, runtime, tmp_path):
    msgs = small()
    dovecot.fill(USER_OF[runtime], msgs)
    r = script(runtime, "implicit", dovecot, tmp_path, port=dovecot.sport)
    assert r["secure"] is True and r["stat"][0] == len(msgs)
    assert r["small"].encode() == msgs[0]


def test_plaintext_credentials_refused(dovecot, runtime, tmp_path):
    dovecot.fill(USER_OF[runtime], small())
    r = script(runtime, "refuse", dovecot, tmp_path)
    assert "without TLS" in r["refused"]
    assert r["allowed"] == len(small())


def test_certificate_from_other_ca_refused(dovecot, runtime, tmp_path):
    shutil.copy(OTHER_CA, tmp_path / "other_ca.pem")
    r = script(runtime, "badca", dovecot, tmp_path)
    assert r["error"] == "OSError"
    r = script(runtime, "badca_async", dovecot, tmp_path)
    assert r == {"stls": "OSError", "implicit": "OSError"}


def test_async_form(dovecot, runtime, tmp_path):
    msgs = small()
    dovecot.fill(USER_OF[runtime], msgs)
    r = script(runtime, "async", dovecot, tmp_path)
    assert r["secure"] is True and r["stat"][0] == len(msgs)
    for i, m in enumerate(msgs):
        assert (tmp_path / ("%d.eml" % (i + 1))).read_bytes() == m
    assert r["headers"]["Subject"] == "Punkte und Umlaute \u00e4\u00f6\u00fc"
    assert r["saved"] == len(msgs) and r["saved_again"] == 0


def cli(runtime, args, password=pop3_peer.PASSWORD):
    argv = ["-m", "microproto.pop3"] + args
    return run(runtime, argv, {"POP3PW": password})


def test_cli(dovecot, runtime, tmp_path):
    msgs = small()
    dovecot.fill(USER_OF[runtime], msgs)
    base = ["--server", "localhost", "--port", str(dovecot.port), "--cafile", pop3_peer.CERT,
            "--user", USER_OF[runtime], "--password-env", "POP3PW"]
    p = cli(runtime, base + ["stat"])
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "%d messages, %d octets" % (len(msgs), sum(map(len, msgs)))
    p = cli(runtime, base + ["uidl"])
    assert p.returncode == 0 and len(p.stdout.split("\n")) == len(msgs) + 1
    out = str(tmp_path / "two.eml")
    p = cli(runtime, base + ["retr", "2", "-o", out])
    assert p.returncode == 0, p.stderr
    assert open(out, "rb").read() == msgs[1]
    p = cli(runtime, base + ["--tls", "implicit", "--port", str(dovecot.sport), "top", "1", "0"])
    assert p.returncode == 0 and "Subject: message 1" in p.stdout
    d = tmp_path / "sync"
    d.mkdir()
    p = cli(runtime, base + ["sync", str(d)])
    assert p.returncode == 0 and "%d new" % len(msgs) in p.stdout
    p = cli(runtime, base + ["sync", str(d)])
    assert p.returncode == 0 and "0 new" in p.stdout
    p = cli(runtime, base + ["dele", "1"])
    assert p.returncode == 0 and dovecot.count(USER_OF[runtime]) == len(msgs) - 1
    # 1: the server said no (wrong password; no such message)
    p = cli(runtime, base + ["stat"], password="wrong")
    assert p.returncode == 1 and "server said no" in p.stderr
    p = cli(runtime, base + ["retr", "99"])
    assert p.returncode == 1
    # 2: usage (missing command, bad number, plaintext credentials not allowed)
    assert cli(runtime, base).returncode == 2
    assert cli(runtime, base + ["retr", "x"]).returncode == 2
    p = cli(runtime, base + ["--tls", "none", "stat"])
    assert p.returncode == 2 and "without TLS" in p.stderr
    # 3: network / TLS (nobody listening; a certificate from another CA)
    p = cli(runtime, ["--server", "127.0.0.1", "--port", "19499", "--tls", "none", "stat"])
    assert p.returncode == 3, p.stderr
    p = cli(runtime, ["--server", "localhost", "--port", str(dovecot.port), "--cafile", OTHER_CA, "stat"])
    assert p.returncode == 3, p.stderr
