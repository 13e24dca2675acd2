"""Property tests (hypothesis, CPython) of the SMTP parsers and encoders:
any bytes, split anywhere, give the same result or the same defined error,
never another exception, and state stays within the configured limits."""

import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))

from fakes import FakeSocket  # noqa: E402

from microproto.blocking import Connection  # noqa: E402
from microproto.errors import PeerError, ProtocolError  # noqa: E402
from microproto.smtp_core import (  # noqa: E402
    DotStuffer,
    Reply,
    ReplyParser,
    Session,
    parse_capabilities,
    stuff,
)

MAX_LINE, MAX_LINES, MAX_QUEUE = 40, 5, 6

# bytes that look like replies often enough to reach deep states
reply_lines = st.one_of(
    st.builds(
        lambda code, sep, text, end: code + sep + text + end,
        st.sampled_from([b"220", b"250", b"354", b"421", b"550", b"251", b"999", b"2x0"]),
        st.sampled_from([b" ", b"-", b"", b"x"]),
        st.one_of(st.binary(max_size=50), st.sampled_from([b"2.1.0 ok", b"5.7.1 no", b"4.4.4"])),
        st.sampled_from([b"\r\n", b"\n", b"\r", b""]),
    ),
    st.binary(max_size=60),
)
streams = st.lists(reply_lines, max_size=12).map(b"".join)


def parse(data, cuts):
    p = ReplyParser(MAX_LINE, MAX_LINES, MAX_QUEUE)
    bounds = [0] + sorted(c % (len(data) + 1) for c in cuts) + [len(data)]
    err = None
    for i in range(len(bounds) - 1):
        try:
            p.receive_data(data[bounds[i] : bounds[i + 1]])
        except PeerError as e:  # LimitError is a PeerError
            err = (type(e), str(e))
            break
        # the state never exceeds the limits
        assert len(p.buf) < MAX_LINE
        assert len(p.lines) <= MAX_LINES
        assert len(p.items) <= MAX_QUEUE
    out = []
    while p.pending():
        out.append(p.next_event())
    return out, err


@settings(max_examples=400, deadline=None)
@given(streams, st.lists(st.integers(min_value=0, max_value=10000), max_size=6))
def test_reply_parser_split_invariant(data, cuts):
    whole = parse(data, [])
    assert parse(data, cuts) == whole
    replies, err = whole
    for r in replies:
        assert isinstance(r, Reply) and 200 <= r.code <= 559 and 1 <= len(r.lines) <= MAX_LINES
        parse_capabilities(r)  # never raises
        str(r)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_reply_parser_arbitrary_bytes(data):
    p = ReplyParser(MAX_LINE, MAX_LINES, MAX_QUEUE)
    try:
        p.receive_data(data)
        p.receive_data(b"")
        while True:
            if p.next_event() is None:
                break
    except PeerError:
        pass


def unstuff(wire):
    """What a server stores: remove the end marker and one leading dot."""
    assert wire.endswith(b"\r\n.\r\n") or wire == b".\r\n"
    body = wire[:-3]
    lines = body.split(b"\r\n")
    assert lines[-1] == b""
    out = []
    for ln in lines[:-1]:
        assert b"\r" not in ln and b"\n" not in ln
        out.append(ln[1:] if ln.startswith(b".") else ln)
    return b"".join(x + b"\r\n" for x in out)


def normalise(data):
    d = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if d and not d.endswith(b"\n"):
        d += b"\n"
    return d.replace(b"\n", b"\r\n")


body_bytes = st.one_of(
    st.binary(max_size=400),
    st.lists(st.sampled_from([b".", b"\r", b"\n", b"\r\n", b"a", b"..", b"\xc3\xa9", b"x" * 20]), max_size=80).map(b"".join),
)


@settings(max_examples=400, deadline=None)
@given(body_bytes, st.lists(st.integers(min_value=0, max_value=1000), max_size=8), st.integers(min_value=1, max_value=64))
def test_dot_stuffer_split_invariant_and_round_trip(data, cuts, chunk):
    ref = stuff(data)
    d = DotStuffer(chunk)
    out = bytearray()
    last = b""
    bounds = [0] + sorted(c % (len(data) + 1) for c in cuts) + [len(data)]
    for i in range(len(bounds) - 1):
        piece = data[bounds[i] : bounds[i + 1]]
        for j in range(0, len(piece), chunk):
            part = bytearray(piece[j : j + chunk])
            out += last
            enc = d.encode(part, len(part))
            assert len(enc) <= 2 * len(part) + 2  # bounded output per chunk
            last = bytes(enc)
    # as the client sends it: the last chunk and the end in one buffer
    fin = bytes(d.finish(len(last)))
    assert fin[: len(last)] == last
    out += fin
    assert bytes(out) == ref
    # the end marker appears only at the end, and unstuffing gives the input back
    assert b"\r\n.\r\n" not in ref[:-3] and not ref[:-3].startswith(b".\r\n")
    assert unstuff(ref) == normalise(data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=120), max_size=10))
def test_client_survives_any_server(chunks):
    """Whatever the server sends, the client ends with a protocol error or
    a result, never another exception."""
    s = Session("c.example", max_line=200, max_lines=10)
    conn = Connection(FakeSocket([b"220 hi\r\n"] + chunks), s.parser)
    try:
        conn.run(s.simple(None, (220,)))
        conn.run(s.hello())
        conn.run(s.mail("a@b.c", ["d@e.f", "g@h.i"], b"body\r\n.x\r\n"))
    except ProtocolError:
        pass


# -- the message builder ------------------------------------------------------

import email  # noqa: E402
import email.header  # noqa: E402
import email.policy  # noqa: E402

from microproto.errors import UsageError  # noqa: E402
from microproto.message import Message, encode_word, header_value  # noqa: E402

header_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)


@settings(max_examples=300, deadline=None)
@given(header_text)
def test_encoded_words_round_trip(text):
    import binascii

    words = encode_word(text)
    out = b""
    for w in words:
        assert len(w) <= 75 and w.startswith("=?UTF-8?B?") and w.endswith("?=")
        raw = binascii.a2b_base64(w[10:-2])
        raw.decode("utf-8")  # each word holds whole characters
        out += raw
    assert out.decode("utf-8") == text


@settings(max_examples=300, deadline=None)
@given(header_text)
def test_header_values_are_safe_and_faithful(value):
    if any(c in value for c in "\r\n\x00"):
        try:
            header_value("Subject", value)
        except UsageError:
            return
        raise AssertionError("CR/LF/NUL accepted in a header")
    h = header_value("Subject", value)
    assert h.endswith("\r\n")
    lines = h[:-2].split("\r\n")
    assert all(ln[:1] in (" ", "\t") for ln in lines[1:])  # folded, never a new header
    assert all(len(ln.encode()) <= 998 for ln in lines)
    decoded = str(email.header.make_header(email.header.decode_header(h[len("Subject:") :].replace("\r\n", ""))))
    # the reader sees the value (whitespace runs may be folded)
    assert " ".join(decoded.split()) == " ".join(value.split())


@settings(max_examples=100, deadline=None)
@given(header_text, st.text(max_size=400), st.booleans())
def test_built_messages_parse_back(subject, text, with_html):
    subject = "".join(c for c in subject if c not in "\r\n\x00")
    m = Message("Sender <s@example.org>", ["r@example.org"], subject, text, html="<p>x</p>" if with_html else None)
    raw = b"".join(bytes(c) for c in m)
    assert m.size() == len(raw)
    for line in raw.split(b"\r\n"):
        assert b"\r" not in line and b"\n" not in line and len(line) <= 998
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert " ".join(str(msg["Subject"] or "").split()) == " ".join(subject.split())
    body = msg.get_body(("plain",)).get_content()
    want = text.replace("\r\n", "\n").replace("\r", "\n")
    if want and not want.endswith("\n"):
        want += "\n"
    assert body.replace("\r\n", "\n") == want
