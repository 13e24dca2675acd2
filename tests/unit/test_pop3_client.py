"""The blocking POP3 client over an in-memory socket: RFC 1939's example
session through the public API, the bytes it sends, where bodies go, the
plaintext refusal, incremental sync."""

import os

from fakes import FakeSocket
from microproto.blocking import Connection
from microproto.errors import LimitError, PeerError, UsageError
from microproto.pop3 import POP3, POP3Error

GREETING = b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"
NOCAPA = b"-ERR unknown command\r\n"


def client(*chunks, **kw):
    kw.setdefault("allow_plaintext_auth", True)
    b = POP3("example.org", tls=None, connect=False, **kw)
    sock = FakeSocket(chunks)
    b.conn = Connection(sock, b.session, 64)
    return b, sock


def _raises(exc, fn, *a, **kw):
    try:
        fn(*a, **kw)
    except exc as e:
        return e
    raise AssertionError("no %s" % exc.__name__)


def test_rfc1939_example_session():
    msg1 = b"Subject: one\r\n\r\n.dot\r\n" + b"x" * 90 + b"\r\n"
    b, sock = client(
        GREETING, NOCAPA,
        b"+OK mrose's maildrop has 2 messages (320 octets)\r\n",
        b"+OK 2 320\r\n",
        b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n",
        b"+OK 120 octets\r\nSubject: one\r\n\r\n..dot\r\n" + b"x" * 90 + b"\r\n.\r\n",
        b"+OK message 1 deleted\r\n",
        b"+OK 200 octets\r\n", b"Subject: two\r\n", b"\r\nbody\r\n.", b"\r\n",
        b"+OK message 2 deleted\r\n",
        b"+OK dewey POP3 server signing off (maildrop empty)\r\n",
    )
    b._run(b.session.command(None))
    b._run(b.session.capa(100))
    assert b.session.caps == {}
    assert b.login("mrose", "tanstaaf", "APOP") == "mrose's maildrop has 2 messages (320 octets)"
    assert b.stat() == (2, 320)
    assert b.list() == [(1, 120), (2, 200)]
    assert b.retr(1) == msg1
    assert b.dele(1) == "message 1 deleted"
    got = []
    assert b.retr(2, into=lambda c: got.append(bytes(c))) == 22
    assert b"".join(got) == b"Subject: two\r\n\r\nbody\r\n"
    b.dele(2)
    assert b.quit() == "dewey POP3 server signing off (maildrop empty)"
    assert bytes(sock.sent) == (
        b"CAPA\r\nAPOP mrose c4c9334bac560ecc979e58001b3e22fb\r\nSTAT\r\nLIST\r\nRETR 1\r\nDELE 1\r\n"
        b"RETR 2\r\nDELE 2\r\nQUIT\r\n"
    )
    assert b.conn is None and sock.closed


def test_user_pass_and_single_forms():
    b, sock = client(b"+OK\r\n+OK\r\n+OK 2 200\r\n+OK 2 QhdPYR:00WBw1Ph7x7\r\n+OK\r\nSubject: s\r\n\r\n.\r\n")
    b.login("tim", "pw", "USER")
    assert b.list(2) == (2, 200)
    assert b.uidl(2) == (2, "QhdPYR:00WBw1Ph7x7")
    assert b.top(2, 0) == b"Subject: s\r\n\r\n"
    assert bytes(sock.sent) == b"USER tim\r\nPASS pw\r\nLIST 2\r\nUIDL 2\r\nTOP 2 0\r\n"


def test_default_login_prefers_sasl_plain():
    b, sock = client(b"+OK\r\n")
    b.session.caps = {"SASL": ["LOGIN", "PLAIN"], "USER": []}
    b.login("tim", "tanstaaftanstaaf")
    assert bytes(sock.sent) == b"AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"


def test_login_refused_without_tls():
    b, sock = client(b"+OK\r\n", allow_plaintext_auth=False)
    e = _raises(UsageError, b.login, "tim", "pw")
    assert "without TLS" in str(e)
    assert bytes(sock.sent) == b""


def test_err_keeps_session_and_names_no_secret():
    b, sock = client(b"+OK\r\n-ERR [AUTH] invalid password\r\n+OK\r\n")
    e = _raises(POP3Error, b.login, "tim", "hunter2", "USER")
    assert e.code == "AUTH" and e.command == "PASS" and "hunter2" not in str(e)
    assert b.noop() == ""


def test_retr_into_path_written_whole():
    path = "pop3_unit_test.eml"
    b, sock = client(b"+OK\r\nabc\r\n.\r\n", b"+OK\r\nhalf")
    try:
        assert b.retr(1, into=path) == 5
        with open(path, "rb") as f:
            assert f.read() == b"abc\r\n"
        e = _raises(PeerError, b.retr, 2, into=path)
        assert "mid-response" in str(e)
        # the old complete file stays, no partial one is left
        with open(path, "rb") as f:
            assert f.read() == b"abc\r\n"
        _raises(OSError, os.stat, path + ".part")
        assert b.conn is None
    finally:
        os.remove(path)


def test_retr_into_file_object():
    import io

    f = io.BytesIO()
    b, sock = client(b"+OK\r\n..a\r\nb\r\n.\r\n")
    assert b.retr(3, into=f) == 7
    assert f.getvalue() == b".a\r\nb\r\n"


def test_max_size_and_max_list():
    b, sock = client(b"+OK\r\n" + b"y" * 200 + b"\r\n.\r\n")
    b.max_size = 100
    _raises(LimitError, b.retr, 1)
    assert b.conn is None  # out of step: closed
    b, sock = client(b"+OK\r\n1 1\r\n2 2\r\n3 3\r\n.\r\n", max_list=2)
    _raises(LimitError, b.list)


def test_caller_data_cannot_inject():
    b, sock = client(b"+OK\r\n")
    _raises(UsageError, b.login, "tim\r\nDELE 1", "pw", "USER")
    _raises(UsageError, b.dele, "1\r\nDELE 2")
    assert bytes(sock.sent) == b""


def test_new_messages_records_state():
    state = "pop3_unit_state.txt"
    uidl = b"+OK\r\n1 aaa\r\n2 bbb\r\n3 ccc\r\n.\r\n"
    try:
        with open(state, "w") as f:
            f.write("bbb\ngone\n")
        b, sock = client(uidl, b"+OK\r\n")
        got = []
        for n, uid in b.new_messages(state, delete=True):
            got.append(uid)
            with open(state) as f:
                assert uid not in f.read()  # recorded only after the body ran
            if uid == "aaa":
                break  # a reset here: aaa comes again next time
        assert got == ["aaa"]
        with open(state) as f:
            assert f.read().split() == ["bbb", "gone"]  # nothing recorded yet
        assert bytes(sock.sent) == b"UIDL\r\n"
        b, sock = client(uidl, b"+OK\r\n+OK\r\n+OK\r\n")
        got = [uid for n, uid in b.new_messages(state, delete=True)]
        assert got == ["aaa", "ccc"]
        with open(state) as f:
            assert sorted(f.read().split()) == ["aaa", "bbb", "ccc"]  # "gone" pruned
        # seen ones are deleted too when delete=True
        assert bytes(sock.sent) == b"UIDL\r\nDELE 1\r\nDELE 2\r\nDELE 3\r\n"
    finally:
        os.remove(state)


def test_headers():
    b, sock = client(b"+OK\r\nSubject: =?utf-8?B?w6TDtsO8?=\r\nFrom: a@b\r\n\r\n.\r\n")
    h = b.headers(1)
    assert h == {"Subject": "\u00e4\u00f6\u00fc", "From": "a@b"}
    assert bytes(sock.sent) == b"TOP 1 0\r\n"


def test_simple_commands_and_caps():
    b, sock = client(GREETING, b"+OK\r\nUTF8\r\nSASL XOAUTH2\r\n.\r\n", b"+OK\r\n+OK\r\n+OK\r\n+ \r\n",
                     b"+ eyJlcnIiOjF9\r\n", b"-ERR [AUTH] token expired\r\n")
    b._run(b.session.command(None))
    b._run(b.session.capa(100))
    assert b.session.caps == {"UTF8": [], "SASL": ["XOAUTH2"]}
    b.utf8()
    b.noop()
    b.rset()
    # a long token: AUTH, then the token after "+", then an empty line after the error
    e = _raises(POP3Error, b.login, "u@x", "t" * 300, "XOAUTH2")
    assert e.code == "AUTH"
    sent = bytes(sock.sent).split(b"\r\n")
    assert sent[:5] == [b"CAPA", b"UTF8", b"NOOP", b"RSET", b"AUTH XOAUTH2"]
    assert len(sent[5]) > 300 and sent[6:] == [b"", b""]


def test_commands_after_close_refused_and_leave_no_file():
    path = "pop3_unit_closed.eml"
    b, sock = client()
    b.close()
    e = _raises(UsageError, b.retr, 1, into=path)
    assert "not connected" in str(e)
    _raises(OSError, os.stat, path + ".part")
    _raises(UsageError, b.stat)
