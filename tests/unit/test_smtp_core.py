"""SMTP core: reply parser, capabilities, commands, dot-stuffer and the
conversations over scripted fake sockets (portable: CPython and MicroPython)."""

from fakes import FakeSocket
from microproto.blocking import Connection
from microproto.errors import LimitError, PeerError, UsageError
from microproto.smtp_ext import auth
from microproto.smtp_core import (
    SENT,
    DotStuffer,
    Reply,
    ReplyParser,
    Session,
    SMTPRecipientsRefused,
    SMTPReplyError,
    address,
    b64,
    command,
    cram_md5_response,
    max_size,
    parse_capabilities,
    stuff,
    unb64,
)


def _parse_all(data, splits=()):
    """Feed ``data`` cut at ``splits``; (replies, error class name or None)."""
    p = ReplyParser(max_line=64, max_lines=4, max_queue=8)
    cuts = [0] + sorted(splits) + [len(data)]
    err = None
    for i in range(len(cuts) - 1):
        try:
            p.receive_data(data[cuts[i] : cuts[i + 1]])
        except PeerError as e:
            err = type(e).__name__
            break
    out = []
    while p.pending():
        out.append(p.next_event())
    return out, err


def _raises(exc, fn, *args):
    try:
        fn(*args)
    except exc as e:
        return e
    raise AssertionError("%s not raised" % exc.__name__)


def test_single_and_multiline_replies():
    data = b"220 mx.example.org ESMTP ready\r\n250-mx.example.org\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"
    out, err = _parse_all(data)
    assert err is None
    assert out == [
        Reply(220, ["mx.example.org ESMTP ready"]),
        Reply(250, ["mx.example.org", "SIZE 1000", "8BITMIME"]),
    ], out


def test_enhanced_status_codes_kept():
    out, err = _parse_all(b"550-5.1.1 no such\r\n550 5.1.1 user here\r\n250 2.0.0\r\n451 5.1.1 mismatched class\r\n")
    assert err is None
    assert out[0] == Reply(550, ["no such", "user here"], "5.1.1"), out[0]
    assert out[1] == Reply(250, [""], "2.0.0"), out[1]
    assert out[2].enhanced is None and out[2].lines == ["5.1.1 mismatched class"]
    assert str(out[0]) == "550 5.1.1 no such ...user here", str(out[0])


def test_enhanced_status_only_when_well_formed():
    # the status is looked for only after "<class digit>." (a quick test
    # before splitting): every other shape stays text, as before
    out, err = _parse_all(b"354 3.0.0 go ahead\r\n250 2.\r\n250 2.1\r\n250 2.1.0\r\n250 2.1.0000 x\r\n")
    more, err2 = _parse_all(b"250 2x1.0 x\r\n250 25.1.0 x\r\n550\r\n250 2.1.0 ok\n250-2.1.5 one\r\n250 2.1.6 two\r\n"
                            b"250 \xc3\xa9\r\n554 5\xc3\xa9.1 \xff\r\n")
    assert err is None and err2 is None, (err, err2)
    out += more
    assert [(r.enhanced, r.lines) for r in out] == [
        (None, ["3.0.0 go ahead"]),
        (None, ["2."]),
        (None, ["2.1"]),
        ("2.1.0", [""]),
        (None, ["2.1.0000 x"]),
        (None, ["2x1.0 x"]),
        (None, ["25.1.0 x"]),
        (None, [""]),
        ("2.1.0", ["ok"]),
        ("2.1.5", ["one", "2.1.6 two"]),
        (None, ["\u00e9"]),
        (None, ["5??.1 ?"]),
    ], [(r.enhanced, r.lines) for r in out]
    assert [r.code for r in out] == [354] + [250] * 6 + [550] + [250] * 3 + [554], [r.code for r in out]


def test_bare_lf_and_code_only_lines():
    out, err = _parse_all(b"250\n354 go ahead\n")
    assert err is None
    assert out == [Reply(250, [""]), Reply(354, ["go ahead"])], out


def test_garbage_is_a_peer_error():
    for bad in (b"hello\r\n", b"25\r\n", b"600 no\r\n", b"250x\r\n", b"2a0 x\r\n", b"\r\n"):
        out, err = _parse_all(bad)
        assert err == "PeerError" and out == [], (bad, out, err)


def test_code_change_within_reply():
    out, err = _parse_all(b"250-a\r\n251 b\r\n")
    assert err == "PeerError" and out == []


def test_limits():
    out, err = _parse_all(b"220 ok\r\n250 " + b"x" * 70 + b"\r\n")
    assert err == "LimitError" and out == [Reply(220, ["ok"])], (out, err)
    out, err = _parse_all(b"250-a\r\n" * 4 + b"250 z\r\n")
    assert err == "LimitError"
    out, err = _parse_all(b"250 q\r\n" * 9)
    assert err == "LimitError" and len(out) == 8
    # a long line without a terminator fails as soon as it is too long
    p = ReplyParser(max_line=64)
    p.receive_data(b"250 " + b"y" * 59)
    _raises(LimitError, p.receive_data, b"y")
    # and stays failed
    _raises(LimitError, p.receive_data, b"\r\n")


def test_any_split_gives_same_result():
    samples = [
        b"220 a\r\n250-b\r\n250 2.1.0 c\r\n",
        b"250-a\r\n250-b\r\n250-c\r\n250-d\r\n250 e\r\n",
        b"220 ok\r\nbogus\r\n",
        b"221 " + b"z" * 80,
    ]
    for data in samples:
        ref = _parse_all(data)
        for i in range(len(data) + 1):
            for j in range(i, len(data) + 1, 3):
                assert _parse_all(data, (i, j)) == ref, (data, i, j)


def test_eof_handling():
    p = ReplyParser()
    p.receive_data(b"250-partial\r\n")
    p.receive_data(b"")
    e = _raises(PeerError, p.next_event)
    assert "middle of a reply" in str(e)
    p = ReplyParser()
    p.receive_data(b"250 ok\r\n")
    p.receive_data(b"")
    assert p.next_event() == Reply(250, ["ok"])
    e = _raises(PeerError, p.next_event)
    assert "closed" in str(e)


def test_capabilities():
    r = Reply(250, ["mx", "SIZE 35882577", "8BITMIME", "AUTH LOGIN PLAIN", "AUTH=CRAM-MD5", "pipelining", "STARTTLS", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN", "SMTPUTF8"])
    caps = parse_capabilities(r)
    assert caps["AUTH"] == ["LOGIN", "PLAIN", "CRAM-MD5"], caps
    for k in ("8BITMIME", "PIPELINING", "STARTTLS", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN", "SMTPUTF8"):
        assert k in caps, k
    assert max_size(caps) == 35882577
    assert max_size({}) == 0 and max_size({"SIZE": []}) == 0


def test_commands_refuse_injection():
    assert command("MAIL", "FROM:<a@b>") == b"MAIL FROM:<a@b>\r\n"
    assert command("NOOP") == b"NOOP\r\n"
    for bad in ("a@b\r\nRCPT TO:<x@y>", "a\nb", "a\x00b"):
        _raises(UsageError, command, "MAIL", "FROM:" + bad)
        _raises(UsageError, address, bad)
    assert address("Joe <joe@x.org>") == "<joe@x.org>"
    assert address(" joe@x.org ") == "<joe@x.org>"
    _raises(UsageError, address, "a b@c")


def test_dot_stuffer_vectors():
    assert stuff(b"") == b".\r\n"
    assert stuff(b"a") == b"a\r\n.\r\n"
    assert stuff(b".") == b"..\r\n.\r\n"
    assert stuff(b"a\nb\rc\r\n.d\n..e\r\n.") == b"a\r\nb\r\nc\r\n..d\r\n...e\r\n..\r\n.\r\n"
    assert stuff(b"x\r\n") == b"x\r\n.\r\n"
    assert stuff(b"\r\r\n\n") == b"\r\n\r\n\r\n.\r\n"
    assert stuff(b"\xc3\xa9t\xc3\xa9\r\n") == b"\xc3\xa9t\xc3\xa9\r\n.\r\n"


def _stuff_split(data, cuts, chunk=16):
    d = DotStuffer(chunk)
    out = bytearray()
    pos = 0
    for c in sorted(cuts) + [len(data)]:
        piece = data[pos:c]
        for i in range(0, len(piece), chunk):
            part = bytearray(piece[i : i + chunk])
            out += d.encode(part, len(part))
        pos = c
    out += d.finish()
    return bytes(out)


def test_dot_stuffer_any_split():
    data = b".a\r\nb\n.\r\r\n..c\rd\r\n\r\n.e"
    ref = stuff(data)
    for i in range(len(data) + 1):
        for j in range(i, len(data) + 1):
            assert _stuff_split(data, [i, j]) == ref, (i, j)


def test_dot_stuffer_fast_path_matches():
    # CRLF text without leading dots takes the copy path; a dot after it must not
    body = b"line one\r\nline two\r\n"
    d = DotStuffer(64)
    assert bytes(d.encode(bytearray(body))) == body
    assert bytes(d.encode(bytearray(b".x\r\n"))) == b"..x\r\n"
    assert bytes(d.finish()) == b".\r\n"
    _raises(UsageError, d.encode, bytearray(65))


def test_cram_md5_rfc2195_example():
    ch = b"<1896.697170952@postoffice.reston.mci.net>"
    assert cram_md5_response(b"tim", b"tanstaaftanstaaf", ch) == b"tim b913a602c7eda7a495b4e6e7334d3890"
    assert unb64(b64(ch)) == ch
    _raises(PeerError, unb64, b"abc")


# -- conversations over a scripted socket ----------------------------------

EHLO = b"250-mx\r\n250-AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 PIPELINING\r\n"
EHLO_PLAIN = b"250-mx\r\n250 SIZE 1000\r\n"


def _session(chunks, **kw):
    s = Session("client.example", **kw)
    sock = FakeSocket([b"220 hi\r\n"] + list(chunks))
    c = Connection(sock, s.parser)
    c.run(s.simple(None, (220,)))
    return s, c, sock


def test_ehlo_then_helo_fallback():
    s, c, sock = _session([b"502 5.5.1 no EHLO\r\n", b"250 hello\r\n"])
    c.run(s.hello())
    assert not s.esmtp and s.caps == {}
    assert bytes(sock.sent) == b"EHLO client.example\r\nHELO client.example\r\n"
    s, c, sock = _session([b"421 go away\r\n"])
    e = _raises(SMTPReplyError, c.run, s.hello())
    assert e.code == 421 and e.command == "EHLO"


def test_auth_mechanisms():
    s, c, sock = _session([EHLO, b"235 2.7.0 ok\r\n"])
    c.run(s.hello())
    c.run(auth(s, "u", "p"))
    assert bytes(sock.sent).endswith(b"AUTH PLAIN " + b64(b"\x00u\x00p") + b"\r\n")

    s, c, sock = _session([EHLO, b"334 VXNlcm5hbWU6\r\n", b"334 UGFzc3dvcmQ6\r\n", b"235 ok\r\n"])
    c.run(s.hello())
    c.run(auth(s, "u", "p", "login"))
    assert bytes(sock.sent).endswith(b"AUTH LOGIN\r\n" + b64(b"u") + b"\r\n" + b64(b"p") + b"\r\n")

    ch = b"<1896.697170952@postoffice.reston.mci.net>"
    s, c, sock = _session([EHLO, b"334 " + b64(ch) + b"\r\n", b"235 ok\r\n"])
    c.run(s.hello())
    c.run(auth(s, "tim", "tanstaaftanstaaf", "CRAM-MD5"))
    assert bytes(sock.sent).endswith(b"\r\n" + b64(b"tim b913a602c7eda7a495b4e6e7334d3890") + b"\r\n")

    s, c, sock = _session([EHLO, b"334 eyJzdGF0dXMiOiI0MDEifQ==\r\n", b"535 5.7.8 bad token\r\n"])
    c.run(s.hello())
    e = _raises(SMTPReplyError, c.run, auth(s, "u@x", "Zq9secret", "XOAUTH2"))
    assert e.code == 535 and e.enhanced == "5.7.8"
    sent = bytes(sock.sent)
    assert b64(b"user=u@x\x01auth=Bearer Zq9secret\x01\x01") in sent and sent.endswith(b"\r\n\r\n")
    assert "Zq9secret" not in str(e)


def test_auth_not_offered_or_unknown():
    s, c, sock = _session([EHLO_PLAIN])
    c.run(s.hello())
    _raises(PeerError, c.run, auth(s, "u", "p"))
    s, c, sock = _session([EHLO])
    c.run(s.hello())
    _raises(PeerError, c.run, auth(s, "u", "p", "GSSAPI"))


def test_mail_pipelined_partial_refusal():
    s, c, sock = _session([EHLO, b"250 ok\r\n250 ok\r\n550 5.1.1 unknown\r\n354 go\r\n", b"250 2.0.0 queued\r\n"])
    c.run(s.hello())
    r = c.run(s.mail("a@x", ["b@y", "c@z"], b"Subject: s\n\n.hi\n", size=20))
    assert r.accepted == ["b@y"] and list(r.refused) == ["c@z"], r
    assert r.refused["c@z"].code == 550 and r.reply.code == 250
    assert bytes(sock.sent).endswith(
        b"MAIL FROM:<a@x> SIZE=20 BODY=8BITMIME\r\nRCPT TO:<b@y>\r\nRCPT TO:<c@z>\r\nDATA\r\n"
        b"Subject: s\r\n\r\n..hi\r\n.\r\n"
    ), bytes(sock.sent)


def test_mail_sequential_all_refused_resets():
    s, c, sock = _session([EHLO_PLAIN, b"250 ok\r\n", b"550 no\r\n", b"553 bad\r\n", b"250 reset\r\n"])
    c.run(s.hello())
    e = _raises(SMTPRecipientsRefused, c.run, s.mail("a@x", ["b@y", "c@z"], b"x"))
    assert e.refused["b@y"].code == 550 and e.refused["c@z"].code == 553
    assert "b@y" in str(e) and "553" in str(e)
    assert bytes(sock.sent).endswith(b"RCPT TO:<c@z>\r\nRSET\r\n")


def test_mail_refused_sender_and_data():
    s, c, sock = _session([EHLO_PLAIN, b"552 5.3.4 too big\r\n", b"250 ok\r\n"])
    c.run(s.hello())
    e = _raises(SMTPReplyError, c.run, s.mail("a@x", "b@y", b"x", size=500))
    assert e.code == 552 and e.command == "MAIL FROM"
    s, c, sock = _session([EHLO, b"250 ok\r\n250 ok\r\n554 no data\r\n", b"250 ok\r\n"])
    c.run(s.hello())
    e = _raises(SMTPReplyError, c.run, s.mail("a@x", "b@y", b"x"))
    assert e.code == 554 and bytes(sock.sent).endswith(b"DATA\r\nRSET\r\n")


def test_mail_pipelined_sender_refused_with_354():
    # a broken server that says 354 although MAIL failed: end the data, RSET
    s, c, sock = _session([EHLO, b"550 no\r\n250 ok\r\n354 go\r\n", b"554 empty\r\n", b"250 ok\r\n"])
    c.run(s.hello())
    _raises(SMTPReplyError, c.run, s.mail("a@x", "b@y", b"x"))
    assert bytes(sock.sent).endswith(b"DATA\r\n.\r\nRSET\r\n")


def test_smtputf8_and_8bitmime_params():
    s, c, sock = _session([EHLO, b"250 ok\r\n250 ok\r\n354 go\r\n", b"250 ok\r\n"])
    c.run(s.hello())
    c.run(s.mail("jörg@x.de", "b@y", "é\n", eight_bit=False))
    assert b"MAIL FROM:<j\xc3\xb6rg@x.de> SMTPUTF8\r\n" in bytes(sock.sent), bytes(sock.sent)
    s, c, sock = _session([EHLO_PLAIN])
    c.run(s.hello())
    _raises(UsageError, c.run, s.mail("jörg@x.de", "b@y", b"x"))


def test_reply_in_the_middle_of_data():
    s, c, sock = _session([EHLO_PLAIN, b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n"])
    c.run(s.hello())
    conv = s.mail("a@x", "b@y", [b"a" * 10, b"b" * 10, b"c\n"])
    out = next(conv)
    while out != b"DATA\r\n":
        out = conv.send(_reply_for(c, out))
    out = conv.send(c.next_event())  # 354 -> first body chunk
    assert bytes(out) == b"a" * 10
    s.parser.receive_data(b"452 4.3.1 out of space\r\n")
    e = _raises(SMTPReplyError, conv.send, c.next_event())
    assert e.code == 452


def _reply_for(c, out):
    from microproto_port import net

    net.send_all(c.sock, out)
    return c.next_event()


def test_starttls_discards_injected_plaintext():
    # a man in the middle appends a reply after 220: it must never be read
    s, c, sock = _session([b"250-mx\r\n250 STARTTLS\r\n", b"220 go ahead\r\n250-evil\r\n250 AUTH PLAIN\r\n"])
    c.run(s.hello())
    c.run(s.simple("STARTTLS", (220,)))
    assert s.parser.pending() == 0 and s.parser.next_event() is None


def test_pass_through_yields_sent():
    p = ReplyParser()
    p.pass_through()
    assert p.next_event() is SENT
    assert p.next_event() is None


def test_body_without_final_newline_and_held_last_chunk():
    for body, wire in (
        (b"abc", b"abc\r\n.\r\n"),
        (b"x\r", b"x\r\n.\r\n"),
        (b"a\n" * 700 + b".end", b"a\r\n" * 700 + b"..end\r\n.\r\n"),
        (b"", b".\r\n"),
    ):
        s, c, sock = _session([EHLO_PLAIN, b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n", b"250 ok\r\n"], chunk=256)
        c.run(s.hello())
        c.run(s.mail("a@x", "b@y", body))
        sent = bytes(sock.sent)
        assert sent[sent.index(b"DATA\r\n") + 6 :] == wire, (body[-10:], sent[-20:])


# -- BDAT (RFC 3030) ----------------------------------------------------------

EHLO_CHUNKING = b"250-mx\r\n250-CHUNKING\r\n250-8BITMIME\r\n250 PIPELINING\r\n"


def _split_bdat(wire):
    """[(n, last, data)] from a BDAT stream (test helper)."""
    out = []
    while wire:
        i = wire.index(b"\r\n")
        words = wire[:i].split()
        if words[0] != b"BDAT":
            out.append(("other", wire[: i + 2]))
            wire = wire[i + 2 :]
            continue
        n = int(words[1])
        last = len(words) == 3 and words[2] == b"LAST"
        out.append((n, last, wire[i + 2 : i + 2 + n]))
        wire = wire[i + 2 + n :]
    return out


def test_bdat_chunks_without_dot_stuffing():
    body = b".start\n" + b"line\n" * 300 + b".end"
    # replies: MAIL+RCPT (pipelined), then one 250 per BDAT chunk
    n_chunks = -(-len(body) // 256)  # input chunks; the last goes with LAST
    chunks = [EHLO_CHUNKING, b"250 ok\r\n250 ok\r\n"] + [b"250 2.0.0 chunk ok\r\n"] * n_chunks
    s, c, sock = _session(chunks, chunk=256)
    c.run(s.hello())
    r = c.run(s.mail("a@x", "b@y", body, chunking=True))
    assert r.reply.code == 250
    sent = bytes(sock.sent)
    start = sent.index(b"RCPT TO:<b@y>\r\n") + 15
    parts = _split_bdat(sent[start:])
    assert len(parts) == n_chunks, [p[:2] for p in parts]
    assert all(p[0] == len(p[2]) for p in parts)
    assert [p[1] for p in parts] == [False] * (n_chunks - 1) + [True]
    assert b"".join(p[2] for p in parts) == body.replace(b"\n", b"\r\n") + b"\r\n"
    assert b"DATA" not in sent


def test_bdat_empty_body_and_data_when_disabled():
    s, c, sock = _session([EHLO_CHUNKING, b"250 ok\r\n250 ok\r\n", b"250 ok\r\n"])
    c.run(s.hello())
    c.run(s.mail("a@x", "b@y", b"", chunking=True))
    assert bytes(sock.sent).endswith(b"RCPT TO:<b@y>\r\nBDAT 0 LAST\r\n")
    s, c, sock = _session([EHLO_CHUNKING, b"250 ok\r\n250 ok\r\n354 go\r\n", b"250 ok\r\n"])
    c.run(s.hello())
    c.run(s.mail("a@x", "b@y", b".x"))
    assert bytes(sock.sent).endswith(b"DATA\r\n..x\r\n.\r\n")


def test_bdat_refused_chunk_stops_and_resets():
    replies = [EHLO_CHUNKING, b"250 ok\r\n250 ok\r\n", b"250 ok\r\n", b"552 5.3.4 too big\r\n"]
    replies += [b"503 5.5.1 no\r\n"] * 7 + [b"250 reset\r\n"]
    s, c, sock = _session(replies, chunk=64)
    c.run(s.hello())
    e = _raises(SMTPReplyError, c.run, s.mail("a@x", "b@y", b"z" * 63 + b"\n" + b"y" * 5000, chunking=True))
    assert e.code == 552 and e.command == "BDAT", e
    sent = bytes(sock.sent)
    assert sent.endswith(b"RSET\r\n") and b"LAST" not in sent


def test_bdat_without_pipelining_waits_each_chunk():
    ehlo = b"250-mx\r\n250 CHUNKING\r\n"
    s, c, sock = _session([ehlo, b"250 ok\r\n", b"250 ok\r\n", b"250 c1\r\n", b"250 2.0.0 done\r\n"], chunk=100)
    c.run(s.hello())
    r = c.run(s.mail("a@x", "b@y", b"q" * 99 + b"\n" + b"w" * 99 + b"\n", chunking=True))
    assert r.reply.lines == ["done"], r.reply
    parts = _split_bdat(bytes(sock.sent)[bytes(sock.sent).index(b"RCPT TO:<b@y>\r\n") + 15 :])
    assert [(p[0], p[1]) for p in parts] == [(101, False), (101, True)], parts


def test_pipelined_groups_for_many_recipients():
    rcpts = ["r%d@y" % i for i in range(40)]
    first = b"250 mail ok\r\n" + b"".join(b"250 ok\r\n" if i != 5 else b"550 no\r\n" for i in range(32))
    second = b"250 ok\r\n" * 8 + b"354 go\r\n"
    s, c, sock = _session([EHLO, first, second, b"250 queued\r\n"])
    c.run(s.hello())
    r = c.run(s.mail("a@x", rcpts, b"hi\r\n"))
    assert list(r.refused) == ["r5@y"] and len(r.accepted) == 39 and r.reply.lines == ["queued"]
    sent = bytes(sock.sent)
    assert sent.count(b"RCPT TO:") == 40 and sent.count(b"DATA\r\n") == 1
    # the DATA goes with the last group, after the 40th RCPT
    assert sent.index(b"DATA\r\n") > sent.index(b"RCPT TO:<r39@y>")


def test_dsn_parameters():
    from microproto.smtp_core import xtext

    assert xtext("a+b=c d\u00e9") == "a+2Bb+3Dc+20d+C3+A9"
    ehlo = b"250-mx\r\n250 DSN\r\n"
    s, c, sock = _session([ehlo, b"250 ok\r\n", b"250 ok\r\n", b"354 go\r\n", b"250 ok\r\n"])
    c.run(s.hello())
    c.run(s.mail("a@x", "b+tag@y", b"x", notify=["success", "failure"], ret="hdrs", envid="id=1"))
    sent = bytes(sock.sent)
    assert b"MAIL FROM:<a@x> RET=HDRS ENVID=id+3D1\r\n" in sent, sent
    assert b"RCPT TO:<b+tag@y> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Btag@y\r\n" in sent, sent
    s, c, sock = _session([ehlo])
    c.run(s.hello())
    _raises(UsageError, c.run, s.mail("a@x", "b@y", b"x", notify="NEVER,SUCCESS"))
    _raises(UsageError, c.run, s.mail("a@x", "b@y", b"x", ret="ALL"))
    s, c, sock = _session([EHLO_PLAIN])
    c.run(s.hello())
    _raises(UsageError, c.run, s.mail("a@x", "b@y", b"x", notify="NEVER"))
    assert b"MAIL" not in bytes(sock.sent)  # nothing sent for a refused request


def test_error_classes_reachable_from_smtp_and_smtp_core():
    # both modules offered UsageError and PeerError before their rarer names
    # were loaded on use; a user's ``except smtp.UsageError`` must still work
    from microproto import errors, smtp, smtp_core

    assert smtp.UsageError is errors.UsageError
    assert smtp.PeerError is errors.PeerError
    assert smtp_core.UsageError is errors.UsageError
    try:
        smtp.NoSuchError
    except AttributeError:
        pass
    else:
        assert False, "an unknown name must be an AttributeError"


class _Writes(FakeSocket):
    # a FakeSocket that keeps every write apart
    def __init__(self, chunks):
        FakeSocket.__init__(self, chunks)
        self.writes = []

    def sendall(self, data):
        self.writes.append(bytes(data))
        FakeSocket.sendall(self, data)

    def write(self, data):
        self.sendall(data)
        return len(data)


def test_batch_one_write_per_mail_and_every_reply_checked():
    # send_many's common case (PIPELINING, a body of one chunk): one write
    # per mail (the last body's end and this envelope), every reply checked;
    # 40 recipients (over one group of 32 commands) take the general path
    from microproto import smtp
    from microproto.smtp_core import SendResult
    from microproto.smtp_ext import mail_many

    many = ["r%d@y" % i for i in range(40)]
    ok = b"250 ok\r\n"
    sock = _Writes([b"220 hi\r\n", b"250-mx\r\n250-8BITMIME\r\n250 PIPELINING\r\n",
                    ok + ok + b"354 go\r\n",
                    # mail 1's data; mail 2's MAIL refused (the 354 anyway: an empty body, RSET)
                    b"250 2.0.0 queued 1\r\n451 4.3.0 busy\r\n" + ok + b"354 go\r\n", b"554 no\r\n", ok,
                    # mail 3: DATA refused
                    ok + ok + b"503 5.5.1 no data\r\n", ok,
                    # mail 4: 40 recipients in two groups
                    ok * 32, ok * 9 + b"354 go\r\n",
                    b"250 queued 4\r\n" + ok + ok + b"354 go\r\n",
                    b"550 5.6.0 rejected\r\n"])
    s = Session("client.example")
    c = Connection(sock, s.parser)
    c.run(s.simple(None, (220,)))
    c.run(s.hello())
    del sock.writes[:]
    env = b"MAIL FROM:<a@x> BODY=8BITMIME\r\nRCPT TO:<b@y>\r\nDATA\r\n"
    mails = [("a@x", "b@y", b"one\n"), ("a@x", ["b@y"], "two\n"), ("a@x", "b@y", b"x"), ("a@x", many, b"4"),
             ("a@x", "b@y", b".5")]
    out = c.run(mail_many(s, mails, smtp._prepare))
    assert len(out) == 5, out
    assert isinstance(out[0], SendResult) and out[0].reply.enhanced == "2.0.0" and out[0].accepted == ["b@y"], out
    assert out[1].code == 451 and out[1].command == "MAIL FROM", out[1]
    assert out[2].code == 503 and out[2].command == "DATA", out[2]
    assert isinstance(out[3], SendResult) and out[3].accepted == many and out[3].reply.lines == ["queued 4"], out
    assert out[4].code == 550 and out[4].command == "message data" and out[4].reply.enhanced == "5.6.0", out[4]
    assert sock.writes[:5] == [env, b"one\r\n.\r\n" + env, b".\r\n", b"RSET\r\n", env], sock.writes
    big = b"MAIL FROM:<a@x> BODY=8BITMIME\r\n" + b"".join(b"RCPT TO:<%s>\r\n" % a.encode() for a in many) + b"DATA\r\n"
    assert b"".join(sock.writes[5:]) == b"RSET\r\n" + big + b"4\r\n.\r\n" + env + b"..5\r\n.\r\n", sock.writes[5:]
    assert s.parser.pending() == 0 and s.parser.next_event() is None
