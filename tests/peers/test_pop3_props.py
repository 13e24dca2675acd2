"""Property tests (hypothesis) of every POP3 parser: any bytes, split at
any points, give the same events or the same defined error as the whole
(``PeerError``/``LimitError``), never another exception, with memory
bounded by the parser's fixed buffer; any message, dot-stuffed and split
anywhere, comes back byte for byte."""

from hypothesis import given, settings
from hypothesis import strategies as st

from microproto.errors import PeerError
from microproto.pop3_auth import timestamp
from microproto.pop3_core import Session, pair, uid_pair
from microproto.pop3_headers import decode, parse

SINGLE, MULTI_LINES, MULTI_CHUNKS = 0, 1, 2  # response kinds of the core
DATA, END = 4, 5  # event kinds
MAX_LINE = 64
BUFSIZE = 32

# bytes that look like POP3 often enough to reach deep states
ATOMS = [b"+OK", b"-ERR", b"+", b" ", b"\r\n", b"\n", b"\r", b".", b"..", b".\r\n", b"\r\n.\r\n", b"1 2", b"x",
         b"\x00", b"\xff", b"A" * 70]
wire = st.lists(st.one_of(st.sampled_from(ATOMS), st.binary(max_size=20)), max_size=40).map(b"".join)
kinds = st.lists(st.sampled_from([SINGLE, MULTI_LINES, MULTI_CHUNKS]), min_size=1, max_size=8)


def run(data, cuts, ks, eof):
    """(events with chunks merged, error type or None); checks the buffer
    never grows."""
    p = Session(MAX_LINE, BUFSIZE)
    size = len(p._buf)
    p.want.extend(ks)
    pieces = []
    last = 0
    for c in sorted(set(cuts)):
        if 0 < c < len(data):
            pieces.append(data[last:c])
            last = c
    pieces.append(data[last:])
    evs = []
    err = None
    try:
        for piece in pieces + ([b""] if eof else []):
            if piece == b"" and not eof:
                continue
            p.receive_data(piece)
            while True:
                ev = p.next_event()
                if ev is None:
                    break
                v = bytes(ev[1]) if ev[1] is not None else None
                evs.append((ev[0], v))
            assert len(p._buf) == size
    except PeerError as e:  # LimitError is one
        err = type(e)
    # chunk borders depend on the reads: merge adjacent chunk data
    merged = []
    for k, v in evs:
        if k == DATA and merged and merged[-1][0] == "chunk":
            merged[-1] = ("chunk", merged[-1][1] + v)
        elif k == DATA and in_chunks(merged, ks):
            merged.append(("chunk", v))
        else:
            merged.append((k, v))
    return merged, err


def in_chunks(merged, ks):
    """Whether the body being read belongs to a MULTI_CHUNKS response."""
    n = 0
    for k, v in merged:
        if k in (1, 2):  # OK, ERR close a status
            n += 1
    return 0 < n <= len(ks) and ks[n - 1] == MULTI_CHUNKS


def _prefix(a, b):
    return len(a) <= len(b) and b[: len(a)] == a


@settings(max_examples=400, deadline=None)
@given(wire, st.lists(st.integers(0, 200), max_size=8), kinds, st.booleans())
def test_any_split_same_result(data, cuts, ks, eof):
    whole, err_whole = run(data, [], ks, eof)
    split, err_split = run(data, cuts, ks, eof)
    assert err_split == err_whole
    if err_whole is None:
        assert split == whole
    else:
        # events up to the error may differ only by a chunk cut short
        for a, b in zip(split, whole):
            if a != b:
                assert a[0] == b[0] == "chunk" and (_prefix(a[1], b[1]) or _prefix(b[1], a[1]))


def stuff(msg):
    out = []
    for line in msg.split(b"\r\n")[:-1]:
        out.append((b"." + line if line.startswith(b".") else line) + b"\r\n")
    return b"".join(out) + b".\r\n"


lines = st.lists(st.one_of(st.sampled_from([b"", b".", b"..", b".x", b"x.", b"\xc3\xa4", b"\r", b"\n."]),
                           st.binary(max_size=100).map(lambda b: b.replace(b"\r\n", b""))), max_size=30)


@settings(max_examples=300, deadline=None)
@given(lines, st.lists(st.integers(0, 4000), max_size=10))
def test_message_round_trip(ls, cuts):
    msg = b"".join(x + b"\r\n" for x in ls if not x.endswith(b"\r"))
    if b"\r\n" in msg.replace(b"\r\n", b""):
        return
    data = b"+OK\r\n" + stuff(msg) + b"+OK next\r\n"
    evs, err = run(data, cuts, [MULTI_CHUNKS, SINGLE], False)
    body = b"".join(v for k, v in evs if k == "chunk")
    if err is None:
        assert body == msg
        assert evs[-2:] == [(END, None), (1, b"next")]


@given(st.binary(max_size=100))
def test_pair_parsers(b):
    for f in (pair, uid_pair):
        try:
            r = f(b)
        except PeerError:
            continue
        assert isinstance(r, tuple) and isinstance(r[0], int)


@given(st.binary(max_size=200))
def test_timestamp(b):
    r = timestamp(b)
    assert r is None or (r.startswith(b"<") and r.endswith(b">") and b"@" in r)


@settings(max_examples=300)
@given(st.one_of(st.text(max_size=200), st.lists(st.sampled_from(["=?", "?=", "?", "utf-8", "Q", "B", "iso-8859-1",
                                                                    "=C3", "=A4", "_", " ", "abc", "QUJD"]),
                                                  max_size=30).map("".join)))
def test_rfc2047_decode_never_fails(s):
    assert isinstance(decode(s), str)


@settings(max_examples=300)
@given(st.lists(st.one_of(st.sampled_from([b"From: ", b"Subject: ", b"\r\n", b" ", b"=?utf-8?q?", b"?=", b"\xff",
                                           b"To:", b"\r\n\r\n"]), st.binary(max_size=20)),
                max_size=30).map(b"".join))
def test_headers_never_fail(b):
    r = parse(b)
    assert isinstance(r, dict) and all(isinstance(v, str) for v in r.values())
