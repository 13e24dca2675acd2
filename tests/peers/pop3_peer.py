"""Peers for the POP3 tests: a private Dovecot (POP3 with STLS and POP3S,
passwd-file users, Maildirs filled by the tests) and a corpus of messages
(lines starting with '.', 8-bit text, RFC 2047 headers, a 5 MB one).

Run as a script to start Dovecot by hand (for the benchmark):
    python3 tests/peers/pop3_peer.py DIR PORT
"""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CERT = os.path.join(ROOT, "tests", "unit", "data", "cert.pem")
KEY = os.path.join(ROOT, "tests", "unit", "data", "key.pem")
PASSWORD = "s3cret pass"
USERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "bench")

CONF = """\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = pop3
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
ssl_dh = </usr/share/dovecot/dh.pem
disable_plaintext_auth = no
auth_mechanisms = plain login apop
auth_failure_delay = 0
first_valid_uid = 1
mail_location = maildir:{d}/mail/%n/Maildir
pop3_uidl_format = %08Xu%08Xv
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%n
}}
service pop3-login {{
  inet_listener pop3 {{
    port = {port}
  }}
  inet_listener pop3s {{
    port = {sport}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # no auth penalty: a test of a wrong password must not slow the next
  # login down (by 2-15 s)
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""


def crlf(text):
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def message(i, subject=None, body=None):
    subject = subject or ("message %d" % i)
    body = body or (b"Hello %d.\n" % i)
    return crlf(
        b"From: Sender <sender@example.org>\nTo: alice@example.org\nSubject: "
        + subject.encode()
        + b"\nDate: Sat, 28 Nov 2026 10:00:00 +0000\nMessage-ID: <m%d@example.org>\n\n" % i
        + body
    )


DOTS = crlf(
    b"From: =?ISO-8859-1?Q?J=F6rg_Dot?= <jorg@example.org>\n"
    b"To: =?UTF-8?B?QWxpY2Ugw4Q=?= <alice@example.org>\n"
    b"Subject: =?UTF-8?Q?Punkte_und_Umlaute_=C3=A4=C3=B6?= =?UTF-8?Q?=C3=BC?=\n"
    b"Date: Sat, 28 Nov 2026 10:00:00 +0000\n"
    b"Message-ID: <dots@example.org>\n"
    b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
    b".a line starting with a dot\n..two dots\n.\n...\nnot a dot.\n.\n"
    + "Grüße, 8-bit text: äöü ß € \u2603\n".encode("utf-8")
    + b"latin-1 bytes: \xe4\xf6\xfc\n\n\n.\n"
)


def big(size=5 * 1024 * 1024, seed=1):
    """A message of about ``size`` bytes; one line in 7 starts with '.'."""
    head = crlf(b"From: big@example.org\nTo: alice@example.org\nSubject: big\nMessage-ID: <big@example.org>\n\n")
    parts = [head]
    n = len(head)
    i = seed
    while n < size:
        line = b"%s%08d abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 \xc3\xa4\r\n" % (
            b"." if i % 7 == 0 else b"", i)
        parts.append(line)
        n += len(line)
        i += 1
    return b"".join(parts)


def corpus(n_small=5, big_size=5 * 1024 * 1024):
    """The default mailbox: small ones, the dots/8-bit one, the big one."""
    msgs = [message(i) for i in range(1, n_small + 1)]
    msgs.insert(1, DOTS)
    if big_size:
        msgs.append(big(big_size))
    return msgs


class Dovecot:
    """A private Dovecot: ``port`` (POP3 with STLS), ``sport`` (POP3S)."""

    def __init__(self, port, sport, d=None):
        self.dir = d or tempfile.mkdtemp(prefix="mp-pop3-")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.port = port
        self.sport = sport
        nobody = pwd.getpwnam("nobody")
        self.uid, self.gid = nobody.pw_uid, nobody.pw_gid
        for sub in ("run", "state", "mail"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        with open(os.path.join(self.dir, "users"), "w") as f:
            for u in USERS:
                f.write("%s:{PLAIN}%s\n" % (u, PASSWORD))
        self.conf = os.path.join(self.dir, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(CONF.format(d=self.dir, cert=CERT, key=KEY, port=port, sport=sport, uid=self.uid,
                                gid=self.gid))
        self.started = False

    def start(self):
        err = os.path.join(self.dir, "start.err")
        # dovecot daemonizes: its children must not hold our pipes open
        with open(err, "w") as f:
            rc = subprocess.call([DOVECOT, "-c", self.conf], stdin=subprocess.DEVNULL, stdout=f, stderr=f,
                                 timeout=60)
        if rc != 0:
            with open(err) as f:
                raise RuntimeError("dovecot failed to start (%s): %s" % (rc, f.read()))
        self.started = True
        import socket

        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.5).close()
                socket.create_connection(("127.0.0.1", self.sport), 0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("dovecot is not listening on %d/%d: %s" % (self.port, self.sport, self.log()))

    def log(self):
        try:
            with open(os.path.join(self.dir, "dovecot.log")) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def stop(self):
        if self.started:
            subprocess.call([DOVECOT, "-c", self.conf, "stop"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, timeout=60)
            self.started = False

    def maildir(self, user):
        return os.path.join(self.dir, "mail", user, "Maildir")

    def fill(self, user, messages):
        """Replace ``user``'s mailbox with ``messages`` (bytes each), in
        order: written in tmp/, then renamed into new/. Returns the names."""
        home = os.path.join(self.dir, "mail", user)
        shutil.rmtree(home, ignore_errors=True)
        md = self.maildir(user)
        for sub in ("tmp", "new", "cur"):
            os.makedirs(os.path.join(md, sub))
        names = []
        t = int(time.time())
        for i, m in enumerate(messages):
            name = "%d.M%dP%d.mp-test" % (t, i, os.getpid())
            with open(os.path.join(md, "tmp", name), "wb") as f:
                f.write(m)
            os.rename(os.path.join(md, "tmp", name), os.path.join(md, "new", name))
            names.append(name)
        for dirpath, dirnames, filenames in os.walk(home):
            os.chown(dirpath, self.uid, self.gid)
            for fn in filenames:
                os.chown(os.path.join(dirpath, fn), self.uid, self.gid)
        return names

    def count(self, user):
        md = self.maildir(user)
        return len(os.listdir(os.path.join(md, "new"))) + len(os.listdir(os.path.join(md, "cur")))

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


if __name__ == "__main__":
    dv = Dovecot(int(sys.argv[2]), int(sys.argv[2]) + 1, sys.argv[1])
    dv.start()
    print("dovecot on %d (STLS) and %d (POP3S) in %s" % (dv.port, dv.sport, dv.dir))
