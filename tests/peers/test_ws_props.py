"""Property tests (hypothesis) of every WebSocket parser: any bytes, split at
any points, give the same defined result or defined error, never another
exception, with bounded memory."""

import sys
from pathlib import Path

from hypothesis import given, settings, strategies as st

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT / "lib", ROOT / "ports" / "cpython", ROOT / "tests" / "unit"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from microproto.ws_deflate import negotiate, split_offers  # noqa: E402
from microproto.ws_frames import FrameHeader, parse_close, serialize  # noqa: E402
from microproto.ws_handshake import HandshakeError, RequestParser, check_upgrade  # noqa: E402
from microproto.ws_protocol import ServerProtocol  # noqa: E402
from microproto_port.fast import mask, utf8_check  # noqa: E402

MAX_SIZE = 2000
SETTINGS = settings(max_examples=300, deadline=None)


def _splits(data, cuts):
    points = sorted(set(c % (len(data) + 1) for c in cuts))
    out = []
    prev = 0
    for p in points + [len(data)]:
        if p > prev:  # b"" would mean end of stream
            out.append(data[prev:p])
        prev = p
    return out


def _run_core(chunks, **kw):
    p = ServerProtocol(max_size=MAX_SIZE, **kw)
    out = bytearray()
    for c in chunks:
        if not c:
            continue  # b"" is the end of the stream, tested on its own
        p.receive_data(c)  # must never raise on peer data
        out += p.data_to_send()
        assert p._msg is None or len(p._msg) <= max(MAX_SIZE, 256)
    return _join(p.events_received()), bytes(out), p.state, p.failed, p.close_code


def _join(events):
    """Stream mode: piece boundaries follow the arrival of bytes, so compare
    whole messages (a message still arriving is left out)."""
    out = []
    parts = []
    for e in events:
        if e[0] != "fragment":
            out.append(e)
            continue
        parts.append(e[2])
        if e[3]:
            out.append(("message", e[1], b"".join(parts)))
            parts = []
    return out


frame_st = st.builds(
    lambda op, payload, fin, rsv, masked: serialize(op, payload, fin, rsv, b"\x01\x02\x03\x04" if masked else None),
    st.sampled_from([0, 1, 2, 3, 8, 9, 10, 11]),
    st.binary(max_size=300) | st.text(max_size=100).map(lambda t: t.encode()),
    st.booleans(),
    st.sampled_from([0, 0, 0, 0x40, 0x20]),
    st.booleans() | st.just(True),
)


@SETTINGS
@given(st.binary(max_size=600), st.lists(st.integers(min_value=0), max_size=8))
def test_core_any_bytes_any_split(data, cuts):
    whole = _run_core([data])
    assert _run_core(_splits(data, cuts)) == whole
    assert _run_core([data[i : i + 1] for i in range(len(data))]) == whole
    # and the end of the stream after it is always a defined end
    p = ServerProtocol(max_size=MAX_SIZE)
    if data:
        p.receive_data(data)
    p.receive_data(b"")
    assert p.close_expected() and p.close_code is not None


@SETTINGS
@given(st.lists(frame_st, max_size=12), st.lists(st.integers(min_value=0), max_size=8), st.booleans())
def test_core_frame_sequences_any_split(frames, cuts, stream):
    data = b"".join(frames)
    whole = _run_core([data], stream=stream)
    assert _run_core(_splits(data, cuts), stream=stream) == whole
    events, out, state, failed, code = whole
    total = sum(len(e[-1]) for e in events if e[0] in ("text", "binary", "message"))
    assert total <= len(data)
    if failed:
        # a failure always sends exactly one Close with a defined code
        assert out.count(b"\x88") >= 1
        assert code is None or code >= 1000


@SETTINGS
@given(st.binary(max_size=400), st.lists(st.integers(min_value=0), max_size=8))
def test_request_parser_any_bytes_any_split(data, cuts):
    def run(chunks):
        p = RequestParser(max_line=256, max_headers=8)
        try:
            for c in chunks:
                if c and p.receive_data(c) is not None:
                    break
        except HandshakeError as e:
            assert e.status in (400, 431)
            return ("error", e.status)
        if p.request is None:
            return ("more",)
        r = p.request
        try:
            key = check_upgrade(r)
        except HandshakeError as e:
            assert e.status in (400, 405, 426)
            return ("request", r.method, r.target, r.headers.items(), e.status)
        return ("request", r.method, r.target, r.headers.items(), key)

    assert run(_splits(data, cuts)) == run([data])


@SETTINGS
@given(st.lists(st.sampled_from(["GET / HTTP/1.1", "Host: a", "Upgrade: websocket", "Connection: Upgrade",
                                 "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                                 "X: \u00e9", "bad line", " folded", ""]), max_size=10),
       st.lists(st.integers(min_value=0), max_size=6))
def test_request_parser_structured(lines, cuts):
    data = ("\r\n".join(lines) + "\r\n\r\n").encode()
    test_request_parser_any_bytes_any_split.hypothesis.inner_test(data, cuts)


@SETTINGS
@given(st.text(max_size=200))
def test_extension_negotiation_never_raises(text):
    offers = split_offers([text])
    assert offers is None or isinstance(offers, list)
    r = negotiate([text])
    if r is not None:
        params, header = r
        assert header.startswith("permessage-deflate")
        assert 8 <= params.server_max_window_bits <= 15 and 8 <= params.client_max_window_bits <= 15


@SETTINGS
@given(st.binary(max_size=200), st.lists(st.integers(min_value=0), max_size=6))
def test_utf8_automaton_equals_strict_decoding_at_any_split(data, cuts):
    try:
        data.decode("utf-8")
        valid = True
    except UnicodeDecodeError:
        valid = False
    s = 0
    for c in _splits(data, cuts):
        s = utf8_check(c, s)
    assert (s == 0) == valid
    # fail fast: the first failing prefix is where strict decoding of the
    # prefix with final=False stops being a valid prefix
    import codecs

    failing = [i for i in range(1, len(data) + 1) if utf8_check(data[:i]) == -1]
    if failing:
        first = failing[0]
        try:
            codecs.getincrementaldecoder("utf-8")().decode(data[: first - 1], False)
        except UnicodeDecodeError:
            raise AssertionError("automaton failed late")


@SETTINGS
@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4), st.lists(st.integers(min_value=0), max_size=6))
def test_mask_in_pieces_equals_whole(data, key, cuts):
    whole = bytearray(data)
    mask(whole, key)
    assert bytes(whole) == bytes(b ^ key[i & 3] for i, b in enumerate(data))
    pieces = bytearray(data)
    pos = 0
    for c in _splits(data, cuts):
        mask(pieces, key, pos & 3, pos, pos + len(c))
        pos += len(c)
    assert pieces == whole


@SETTINGS
@given(st.binary(max_size=30))
def test_header_and_close_parsers_total(data):
    h = FrameHeader()
    r = h.parse(data, 0, len(data))
    assert r == -1 or r == 0 or 2 <= r <= 14
    code, reason = parse_close(data)
    assert code in (1002, 1005, 1007) or 1000 <= code <= 4999
    if len(data) > 125:
        return
    assert reason is None or isinstance(reason, str)
