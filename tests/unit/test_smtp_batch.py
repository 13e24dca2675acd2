"""Several mails on one connection (``send_many``): with PIPELINING the end
of each body goes in one write with the next mail's envelope (RFC 2920
3.1); a refused mail does not stop the others (portable)."""

from fakes import FakeSocket
from microproto import smtp
from microproto.blocking import Connection
from microproto.errors import UsageError
from microproto.smtp_core import Session, SendResult, SMTPReplyError
from microproto.smtp_ext import SMTPRecipientsRefused, mail_many

EHLO = b"250-mx\r\n250-8BITMIME\r\n250 PIPELINING\r\n"


def _session(chunks, ehlo=EHLO):
    s = Session("client.example")
    sock = FakeSocket([b"220 hi\r\n", ehlo] + list(chunks))
    c = Connection(sock, s.parser)
    c.run(s.simple(None, (220,)))
    c.run(s.hello())
    sock.sent = bytearray()
    return s, c, sock


def test_batch_pipelines_across_mails():
    s, c, sock = _session([
        b"250 ok\r\n250 ok\r\n354 go\r\n",
        # mail 1's data, then mail 2: MAIL ok, its only recipient refused, DATA refused
        b"250 queued 1\r\n250 ok\r\n550 5.1.1 no\r\n554 no valid recipients\r\n",
        b"250 reset\r\n",
        b"250 ok\r\n250 ok\r\n354 go\r\n",
        b"250 queued 3\r\n",
    ])
    mails = [("a@x", "b@y", b"one\n"), ("a@x", ["bad@y"], b"two\n"), ("a@x", "c@y", b".three\n")]
    out = c.run(mail_many(s, mails, smtp._prepare))
    assert isinstance(out[0], SendResult) and out[0].reply.lines == ["queued 1"], out
    assert isinstance(out[1], SMTPRecipientsRefused) and out[1].refused["bad@y"].code == 550, out
    assert isinstance(out[2], SendResult) and out[2].accepted == ["c@y"] and out[2].reply.lines == ["queued 3"]
    assert bytes(sock.sent) == (
        b"MAIL FROM:<a@x> BODY=8BITMIME\r\nRCPT TO:<b@y>\r\nDATA\r\n"
        b"one\r\n.\r\nMAIL FROM:<a@x> BODY=8BITMIME\r\nRCPT TO:<bad@y>\r\nDATA\r\n"
        b"RSET\r\n"
        b"MAIL FROM:<a@x> BODY=8BITMIME\r\nRCPT TO:<c@y>\r\nDATA\r\n"
        b"..three\r\n.\r\n"
    ), bytes(sock.sent)


def test_batch_refused_data_and_bad_mail_do_not_stop_it():
    s, c, sock = _session([
        b"250 ok\r\n250 ok\r\n354 go\r\n",
        b"554 5.6.0 rejected\r\n250 ok\r\n250 ok\r\n354 go\r\n",
        b"250 queued\r\n",
    ])
    mails = [("a@x", "b@y", b"one\n"), ("a@x", "bad address@y", b"x"), ("a@x", "c@y", b"three\n")]
    out = c.run(mail_many(s, mails, smtp._prepare))
    assert isinstance(out[0], SMTPReplyError) and out[0].code == 554 and out[0].command == "message data", out
    assert isinstance(out[1], UsageError), out
    assert isinstance(out[2], SendResult) and out[2].reply.code == 250, out


def test_batch_prepares_the_next_mail_while_the_server_answers():
    # mail 3 is taken (and refused) while mail 2's replies are awaited; mail
    # 2's body is encoded then too; mail 4's body (several chunks) is not
    s = Session("client.example", chunk=16)
    sock = FakeSocket([b"220 hi\r\n", EHLO,
                       b"250 ok\r\n250 ok\r\n354 go\r\n",
                       b"250 queued 1\r\n250 ok\r\n250 ok\r\n354 go\r\n",
                       b"250 queued 2\r\n250 ok\r\n250 ok\r\n354 go\r\n",
                       b"250 queued 4\r\n"])
    c = Connection(sock, s.parser)
    c.run(s.simple(None, (220,)))
    c.run(s.hello())
    sock.sent = bytearray()
    mails = [("a@x", "b@y", b"one\n"), ("a@x", "b@y", b"two\n"), ("a@x", "bad address@y", b"x"),
             ("a@x", "b@y", b"a longer body line\n.dot\n")]
    out = c.run(mail_many(s, mails, smtp._prepare))
    assert [r.reply.lines for r in (out[0], out[1], out[3])] == [["queued 1"], ["queued 2"], ["queued 4"]], out
    assert isinstance(out[2], UsageError) and len(out) == 4, out
    env = b"MAIL FROM:<a@x> BODY=8BITMIME\r\nRCPT TO:<b@y>\r\nDATA\r\n"
    assert bytes(sock.sent) == (
        env + b"one\r\n.\r\n" + env + b"two\r\n.\r\n" + env + b"a longer body line\r\n..dot\r\n.\r\n"
    ), bytes(sock.sent)


def test_batch_without_pipelining_goes_one_by_one():
    s, c, sock = _session(
        [b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n", b"250 one\r\n", b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n",
         b"250 two\r\n"],
        ehlo=b"250-mx\r\n250 8BITMIME\r\n",
    )
    out = c.run(mail_many(s, [("a@x", "b@y", b"1\n"), ("a@x", "b@y", b"2\n")], smtp._prepare))
    assert [r.reply.lines for r in out] == [["one"], ["two"]], out
    assert bytes(sock.sent).count(b"MAIL FROM") == 2


def test_send_many_over_tcp():
    from test_smtp_client import Server, _good_server

    srv = Server(_good_server)
    with smtp.SMTP("127.0.0.1", srv.port, tls=None, timeout_ms=5000) as s:
        out = s.send_many([("a@x.org", "b@y.org", b"m%d\n" % i) for i in range(5)])
    srv.wait()
    assert srv.error is None, srv.error
    assert [r.reply.code for r in out] == [250] * 5, out
