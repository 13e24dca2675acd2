"""The POP3 core (sans-I/O): RFC 1939's example exchanges in both
directions (what the client sends, how the server's bytes parse), split at
every point."""

from microproto.errors import LimitError, PeerError, UsageError
from microproto.pop3_core import POP3Error, Session, arg, uid_pair
from microproto.pop3_auth import apop_digest, sasl, timestamp

# the core's response kinds and event kinds (its module docstring)
SINGLE, MULTI_LINES, MULTI_CHUNKS = 0, 1, 2
OK, ERR, CONT, DATA, END = 1, 2, 3, 4, 5

# RFC 1939 section 10 (example session) and 7 (APOP, UIDL)
GREETING = b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n"
MESSAGE = b"From: a@b\r\nSubject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nx.\r\nend\r\n"
STUFFED = b"From: a@b\r\nSubject: dots\r\n\r\n..leading dot\r\n...two dots\r\n..\r\nx.\r\nend\r\n"
SERVER = (
    GREETING
    + b"+OK mrose's maildrop has 2 messages (320 octets)\r\n"
    + b"+OK 2 320\r\n"
    + b"+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n"
    + b"+OK 120 octets\r\n" + STUFFED + b".\r\n"
    + b"+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n"
    + b"+OK message 1 deleted\r\n"
    + b"-ERR [IN-USE] message 1 already deleted\r\n"
    + b"+OK dewey POP3 server signing off (maildrop empty)\r\n"
)
KINDS = [SINGLE, SINGLE, SINGLE, MULTI_LINES, MULTI_CHUNKS, MULTI_LINES, SINGLE, SINGLE, SINGLE]


def _events(chunks, kinds=KINDS, parser=None):
    p = parser or Session(max_line=200, bufsize=64)
    for k in kinds:
        p.want.append(k)
    out = []
    for c in chunks:
        if c == b"":
            continue  # an empty piece is no read at all; None is EOF
        p.receive_data(c or b"")
        while True:
            ev = p.next_event()
            if ev is None:
                break
            out.append((ev[0], bytes(ev[1]) if ev[1] is not None else None))
    return out


EXPECTED = [
    (OK, b"POP3 server ready <1896.697170952@dbc.mtview.ca.us>"),
    (OK, b"mrose's maildrop has 2 messages (320 octets)"),
    (OK, b"2 320"),
    (OK, b"2 messages (320 octets)"),
    (DATA, b"1 120"),
    (DATA, b"2 200"),
    (END, None),
    (OK, b"120 octets"),
    (DATA, MESSAGE),
    (END, None),
    (OK, b""),
    (DATA, b"1 whqtswO00WBw418f9t5JxYwZ"),
    (DATA, b"2 QhdPYR:00WBw1Ph7x7"),
    (END, None),
    (OK, b"message 1 deleted"),
    (ERR, b"[IN-USE] message 1 already deleted"),
    (OK, b"dewey POP3 server signing off (maildrop empty)"),
]


def _flat(evs):
    """Events with the RETR chunks joined into one DATA."""
    out = []
    in_retr = False
    for ev in evs:
        if ev == (OK, b"120 octets"):
            in_retr = True
            out.append(ev)
            continue
        if in_retr and ev[0] == DATA:
            if out[-1][0] == DATA:
                out[-1] = (DATA, out[-1][1] + ev[1])
            else:
                out.append(ev)
            continue
        if ev[0] == END:
            in_retr = False
        out.append(ev)
    return out


def test_rfc1939_session_whole():
    assert _flat(_events([SERVER])) == EXPECTED


def test_rfc1939_session_byte_by_byte():
    chunks = [SERVER[i : i + 1] for i in range(len(SERVER))]
    assert _flat(_events(chunks)) == EXPECTED


def test_rfc1939_session_every_split_point():
    for i in range(0, len(SERVER), 3):
        for j in (i + 1, i + 2, i + 7, i + 61):
            got = _flat(_events([SERVER[:i], SERVER[i:j], SERVER[j:]]))
            assert got == EXPECTED, (i, j)


def test_end_marker_split_across_reads():
    body = b"+OK\r\nline\r\n.\r\n"
    for i in range(len(body) + 1):
        evs = _events([body[:i], body[i:]], [MULTI_CHUNKS])
        assert _flat(evs)[-1] == (END, None)
        assert b"".join(e[1] for e in evs if e[0] == DATA) == b"line\r\n"


def test_bare_lf_lines_accepted():
    evs = _events([b"+OK hi\n+OK\n1 2\n.\n"], [SINGLE, MULTI_LINES])
    assert evs == [(OK, b"hi"), (OK, b""), (DATA, b"1 2"), (END, None)]


def test_empty_body():
    assert _events([b"+OK\r\n.\r\n"], [MULTI_CHUNKS]) == [(OK, b""), (END, None)]


def test_err_has_no_body():
    evs = _events([b"-ERR no such message\r\n+OK 1 2\r\n"], [MULTI_CHUNKS, SINGLE])
    assert evs == [(ERR, b"no such message"), (OK, b"1 2")]


def test_continuation():
    evs = _events([b"+ VXNlcm5hbWU6\r\n+ \r\n+\r\n+OK\r\n"], [SINGLE])
    assert evs == [(CONT, b"VXNlcm5hbWU6"), (CONT, b""), (CONT, b""), (OK, b"")]


def _raises(exc, fn, *a):
    try:
        fn(*a)
    except exc as e:
        return e
    raise AssertionError("no %s" % exc.__name__)


def test_garbage_status_line():
    for bad in (b"OK\r\n", b"+OKAY\r\n", b"-ERROR\r\n", b"hello\r\n", b"\r\n", b"+ok\r\n"):
        e = _raises(PeerError, _events, [bad], [SINGLE])
        assert "status line" in str(e)


def test_unexpected_data():
    e = _raises(PeerError, _events, [b"+OK\r\n"], [])
    assert "unexpected" in str(e)


def test_long_status_line():
    p = Session(max_line=20, bufsize=64)
    e = _raises(LimitError, _events, [b"+OK " + b"x" * 30], [SINGLE], p)
    assert "20" in str(e)
    # the error sticks
    _raises(LimitError, p.receive_data, b"\r\n")


def test_long_listing_line():
    _raises(LimitError, _events, [b"+OK\r\n1 " + b"9" * 40 + b"\r\n.\r\n"], [MULTI_LINES], Session(30, 64))


def test_long_message_lines_stream():
    line = b"y" * 5000 + b"\r\n"
    evs = _events([b"+OK\r\n", line[:3000], line[3000:], b".\r\n"], [MULTI_CHUNKS], Session(30, 64))
    assert b"".join(e[1] for e in evs if e[0] == DATA) == line
    assert evs[-1] == (END, None)


def test_eof_mid_body():
    e = _raises(PeerError, _events, [b"+OK\r\nhalf a mess", None], [MULTI_CHUNKS])
    assert "mid-response" in str(e)


def test_eof_before_response():
    e = _raises(PeerError, _events, [None], [SINGLE])
    assert "closed" in str(e)


def test_discard():
    p = Session()
    p.want.append(SINGLE)
    p.receive_data(b"+OK begin TLS\r\n+OK injected\r\n")
    assert p.next_event() == (OK, b"begin TLS")
    p.discard()
    p.want.append(SINGLE)
    p.receive_data(b"+OK real\r\n")
    assert p.next_event() == (OK, b"real")


def _drive(conv, server_events):
    """Run a conversation by hand: returns (sent lines, result)."""
    sent = []
    out = next(conv)
    i = 0
    try:
        while True:
            if out:
                sent.append(out)
            out = conv.send(server_events[i])
            i += 1
    except StopIteration as e:
        return sent, e.value


def test_commands_built():
    s = Session()
    sent, r = _drive(s.command(b"STAT"), [(OK, b"2 320")])
    assert sent == [b"STAT\r\n"] and r == b"2 320"
    got = []
    sent, r = _drive(s.command(b"RETR 1", MULTI_CHUNKS, got.append),
                     [(OK, b"120 octets"), (DATA, b"abc"), (DATA, b"def"), (END, None)])
    assert sent == [b"RETR 1\r\n"] and got == [b"abc", b"def"]


def test_err_raises_pop3error():
    s = Session()
    e = _raises(POP3Error, _drive, s.command(b"DELE 1"), [(ERR, b"[SYS/TEMP] busy")])
    assert e.code == "SYS/TEMP" and e.command == "DELE" and e.text == "[SYS/TEMP] busy"
    e = _raises(POP3Error, _drive, s.command(b"PASS secret"), [(ERR, b"no")])
    assert "secret" not in str(e)


def test_apop_rfc1939_vector():
    ts = timestamp(GREETING)
    assert ts == b"<1896.697170952@dbc.mtview.ca.us>"
    assert apop_digest(ts, b"tanstaaf") == b"c4c9334bac560ecc979e58001b3e22fb"
    assert timestamp(b"+OK ready") is None
    assert timestamp(b"+OK <no at sign>") is None


def test_uidl_lines():
    assert uid_pair(b"1 whqtswO00WBw418f9t5JxYwZ") == (1, "whqtswO00WBw418f9t5JxYwZ")
    for bad in (b"1", b"x y", b"1 " + b"a" * 71, b"1 a\x7fb", b"1 a b"):
        _raises(PeerError, uid_pair, bad)


def test_capa():
    s = Session()
    sent, caps = _drive(s.capa(100), [(OK, b"Capability list follows"), (DATA, b"TOP"), (DATA, b"USER"),
                                   (DATA, b"SASL PLAIN LOGIN"), (DATA, b"stls"), (END, None)])
    assert sent == [b"CAPA\r\n"]
    assert caps == {"TOP": [], "USER": [], "SASL": ["PLAIN", "LOGIN"], "STLS": []}
    sent, caps = _drive(s.capa(100), [(ERR, b"unknown command")])
    assert caps == {}


def test_auth_plain_initial_response():
    s = Session()
    sent, r = _drive(sasl(s, "PLAIN", "tim", b"tanstaaftanstaaf"), [(OK, b"Maildrop locked")])
    # RFC 5034 6 example
    assert sent == [b"AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"]


def test_auth_plain_two_steps():
    s = Session()
    sent, r = _drive(sasl(s, "PLAIN", "tim", b"tanstaaftanstaaf", initial=False), [(CONT, b""), (OK, b"")])
    assert sent == [b"AUTH PLAIN\r\n", b"AHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n"]


def test_auth_login():
    s = Session()
    sent, r = _drive(sasl(s, "LOGIN", "tim", b"pw"), [(CONT, b"VXNlcm5hbWU6"), (CONT, b"UGFzc3dvcmQ6"), (OK, b"")])
    assert sent == [b"AUTH LOGIN\r\n", b"dGlt\r\n", b"cHc=\r\n"]


def test_auth_xoauth2_one_line_and_error():
    s = Session()
    tok = b"ya29.tok"
    sent, r = _drive(sasl(s, "XOAUTH2", "u@x", tok), [(OK, b"")])
    assert sent == [b"AUTH XOAUTH2 dXNlcj11QHgBYXV0aD1CZWFyZXIgeWEyOS50b2sBAQ==\r\n"]
    e = _raises(POP3Error, _drive, sasl(s, "XOAUTH2", "u@x", tok), [(CONT, b"eyJzdGF0dXMiOiI0MDEifQ=="),
                                                                  (ERR, b"[AUTH] invalid")])
    assert e.code == "AUTH"


def test_auth_xoauth2_long_token_two_steps():
    s = Session()
    tok = b"t" * 400
    sent, r = _drive(sasl(s, "XOAUTH2", "u@x", tok), [(CONT, b""), (OK, b"")])
    assert sent[0] == b"AUTH XOAUTH2\r\n" and len(sent) == 2 and len(sent[1]) > 255


def test_auth_cancel_on_extra_challenge():
    s = Session()
    e = _raises(POP3Error, _drive, sasl(s, "PLAIN", "a", b"b"), [(CONT, b"more?"), (ERR, b"cancelled")])
    assert e.command == "AUTH PLAIN"


def test_arguments_refuse_injection():
    assert arg(3, "n") == b"3" and arg("tim", "user") == b"tim"
    for bad in ("a\r\nDELE 1", "a\nb", "a\x00"):
        _raises(UsageError, arg, bad, "user")
    _raises(UsageError, arg, -1, "n")
