"""The opening handshake: parsing at any split, validation statuses,
Sec-WebSocket-Accept, subprotocols, limits."""

from microproto.ws_handshake import (
    HandshakeError,
    RequestParser,
    accept_key,
    accept_response,
    check_upgrade,
    error_response,
    is_upgrade,
    select_subprotocol,
)
from wsfakes import heap_growth, odd_char

GOOD = (
    b"GET /chat?x=1 HTTP/1.1\r\n"
    b"Host: server.example.com\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: keep-alive, Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Origin: http://example.com\r\n"
    b"Sec-WebSocket-Protocol: chat, superchat\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)


def _parse(data, step=0, **kw):
    p = RequestParser(**kw)
    if not step:
        return p.receive_data(data), p
    r = None
    for i in range(0, len(data), step):
        r = p.receive_data(data[i : i + step])
        if r is not None and i + step < len(data):
            p.receive_data(data[i + step :])
            break
    return r, p


def _status(data, **kw):
    try:
        r, p = _parse(data, **kw)
        if r is None:
            return None
        check_upgrade(r)
    except HandshakeError as e:
        return e.status
    return 101


def test_rfc6455_accept_key():
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_parse_at_any_split_with_leftover():
    for step in (0, 1, 2, 5, 64):
        r, p = _parse(GOOD + b"\x81\x80abcd", step)
        assert r is not None, step
        assert r.method == "GET" and r.path == "/chat" and r.query == "x=1" and r.target == "/chat?x=1"
        assert r.headers["host"] == "server.example.com"
        assert r.headers.get("ORIGIN") == "http://example.com"
        assert p.leftover == b"\x81\x80abcd", (step, p.leftover)
        assert check_upgrade(r) == "dGhlIHNhbXBsZSBub25jZQ=="
        assert select_subprotocol(r, ["superchat", "chat"]) == "superchat"
        assert select_subprotocol(r, ["other"]) is None


def test_incomplete_request_needs_more():
    r, p = _parse(GOOD[:-2])
    assert r is None


def test_accept_response_bytes():
    out = accept_response("dGhlIHNhbXBsZSBub25jZQ==", "chat", "permessage-deflate")
    assert out.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in out
    assert b"\r\nUpgrade: websocket\r\n" in out and b"\r\nConnection: Upgrade\r\n" in out
    assert b"\r\nSec-WebSocket-Protocol: chat\r\n" in out
    assert b"\r\nSec-WebSocket-Extensions: permessage-deflate\r\n" in out
    assert out.endswith(b"\r\n\r\n")


def _without(name):
    lines = GOOD.split(b"\r\n")
    return b"\r\n".join(l for l in lines if not l.lower().startswith(name.lower() + b":"))


def _replace(name, value):
    lines = GOOD.split(b"\r\n")
    out = []
    for l in lines:
        if l.lower().startswith(name.lower() + b":"):
            l = name + b": " + value
        out.append(l)
    return b"\r\n".join(out)


def test_statuses():
    assert _status(GOOD) == 101
    assert _status(GOOD.replace(b"GET ", b"POST ", 1)) == 405
    assert _status(GOOD.replace(b"HTTP/1.1\r\n", b"HTTP/1.0\r\n", 1)) == 400
    assert _status(GOOD.replace(b"HTTP/1.1\r\n", b"SPDY/3\r\n", 1)) == 400
    assert _status(b"GET /\r\n\r\n") == 400
    assert _status(_without(b"Upgrade")) == 426
    assert _status(_replace(b"Upgrade", b"h2c")) == 426
    assert _status(_without(b"Connection")) == 400
    assert _status(_replace(b"Connection", b"keep-alive")) == 400
    assert _status(_without(b"Host")) == 400
    assert _status(_without(b"Sec-WebSocket-Key")) == 400
    assert _status(_replace(b"Sec-WebSocket-Key", b"c2hvcnQ=")) == 400
    assert _status(_replace(b"Sec-WebSocket-Key", b"not base64 at all!!!!!!!")) == 400
    assert _status(_without(b"Sec-WebSocket-Version")) == 426
    assert _status(_replace(b"Sec-WebSocket-Version", b"8")) == 426
    assert _status(GOOD.replace(b"Host:", b" Host:", 1)) == 400  # folding
    assert _status(GOOD.replace(b"Host:", b"Ho st:", 1)) == 400
    assert _status(GOOD.replace(b"Host: ", b"Host\xff: ", 1)) == 400


def test_426_carries_the_supported_version():
    r, p = _parse(_replace(b"Sec-WebSocket-Version", b"8"))
    try:
        check_upgrade(r)
    except HandshakeError as e:
        out = error_response(e)
        assert out.startswith(b"HTTP/1.1 426 ")
        assert b"\r\nSec-WebSocket-Version: 13\r\n" in out
    else:
        raise AssertionError("version 8 accepted")


def test_limits_400_and_431():
    long_target = b"GET /" + b"a" * 200 + b" HTTP/1.1\r\n"
    assert _status(long_target + GOOD[GOOD.index(b"\r\n") + 2 :], max_line=128) == 400
    assert _status(GOOD.replace(b"Origin: ", b"Origin: " + b"o" * 200), max_line=128) == 431
    many = GOOD.replace(b"Host:", b"X-A: 1\r\n" * 10 + b"Host:", 1)
    assert _status(many, max_headers=10) == 431
    assert _status(many, max_headers=20) == 101
    # a flood without line ends fails as soon as the limit is reached
    p = RequestParser(max_line=64)
    try:
        p.receive_data(b"G" * 65)
    except HandshakeError as e:
        assert e.status == 400
    else:
        raise AssertionError("65 bytes without CRLF accepted")


def test_plain_get_is_not_an_upgrade():
    r, p = _parse(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
    assert r.path == "/index.html" and not is_upgrade(r)


def test_distinct_characters_in_method_and_header_names_are_not_kept():
    # Before the password is checked, anyone can send a request head. A
    # method or header name with a character never seen before must not
    # leave anything behind (on MicroPython a one-character str taken out
    # of a str is interned for good: one request a character would fill
    # the heap).
    refused = [0, 0]

    def run(first, n):
        for i in range(first, first + n):
            for req in (b"G" + odd_char(i) + b"T / HTTP/1.1\r\n\r\n",
                        b"GET / HTTP/1.1\r\nHost: x\r\nX-" + odd_char(i + 300) + b": 1\r\n\r\n",
                        b"GET / HTTP/1.1\r\n" + odd_char(i + 600) + b"Host: x\r\n\r\n"):
                try:
                    RequestParser().receive_data(req)
                except HandshakeError as e:
                    refused[e.status == 400] += 1

    run(1000, 8)  # warm-up: what the first refusal makes once
    n = 300
    grown = heap_growth(lambda: run(0, n))
    assert refused == [0, 3 * (n + 8)], refused
    if grown is not None:
        # kept when names were checked as str: 3 * n characters, 4 B or
        # more each (their text; the tables of interned strings grow in
        # steps on top); nothing once they are checked as bytes
        assert grown < n, grown


def test_token_rules_of_methods_and_header_names():
    for ok in (b"GET", b"M-SEARCH", b"!#$%&'*+-.^_`|~09azAZ"):
        r, p = _parse(ok + b" / HTTP/1.1\r\n" + ok + b": v\r\n\r\n")
        assert r.method == str(ok, "ascii") and r.headers.get(str(ok, "ascii")) == "v"
    for bad in (b"G(T", b"G\x7fT", b"G\x01T", b"G\xc3\xa9T", b"G\"T", b"G{T", b"G/T"):
        assert _status(bad + b" / HTTP/1.1\r\nHost: x\r\n\r\n") == 400, bad
        assert _status(b"GET / HTTP/1.1\r\n" + bad + b": 1\r\n\r\n") == 400, bad
    assert _status(b"GET / HTTP/1.1\r\n: 1\r\n\r\n") == 400
    assert _status(b"GET / HTTP/1.1\r\nHost x\r\n\r\n") == 400
    assert _status(b"GET\t/ HTTP/1.1\r\n\r\n") == 400


def test_distinct_characters_in_a_static_path_are_not_kept():
    # static_handler's checks of each path part (before any file is
    # opened): nothing of a name's characters stays
    from microproto.ws_static import static_handler

    h = static_handler("/nonexistent-microproto-root")
    answers = [0, 0]

    def run(first, n):
        for i in range(first, first + n):
            r, p = _parse(b"GET /" + odd_char(i, 0xEB) + b"x/" + odd_char(i + 300, 0xEB) + b" HTTP/1.1\r\nHost: x\r\n\r\n")
            answers[h(r) is None] += 1  # None: no such file (404)

    run(1000, 4)
    n = 300
    grown = heap_growth(lambda: run(0, n))
    assert answers == [0, n + 4], answers
    if grown is not None:
        assert grown < n, grown


def test_the_request_is_its_own_headers_and_moved_names_stay_reachable():
    # one object per connection: the parser is the request and its headers
    r, p = _parse(GOOD)
    assert r is p and r.headers is r and p.request is r
    h = r.headers
    assert h.get_all("sec-websocket-protocol") == ["chat, superchat"]
    assert "HOST" in h and "X-Missing" not in h and h.get("X-Missing", 7) == 7
    pairs = h.items()
    assert len(h) == len(pairs) == 7 and list(h) == pairs and pairs[0] == ("Host", "server.example.com")
    assert repr(h) == "Headers(%r)" % (pairs,)
    try:
        h["X-Missing"]
    except KeyError:
        pass
    else:
        raise AssertionError("missing header found")
    r, p = _parse(b"GET / HTTP/1.1\r\n\r\n")
    assert r.items() == [] and len(r) == 0 and r.get("Host") is None
    # what lives in ws_http is still reachable from ws_handshake
    from microproto import ws_handshake as hs

    hh = hs.Headers([("A", "1"), ("b", "2"), ("a", "3")])
    assert hh.get_all("a") == ["1", "3"] and hh["B"] == "2" and list(hh) == [("A", "1"), ("b", "2"), ("a", "3")]
    assert hs.is_upgrade(_parse(GOOD)[0]) and hs.VERSION == "13" and len(hs.GUID) == 36
    assert hs.tokens(["a, B", " ,c "]) == ["a", "b", "c"]
    from microproto.errors import PeerError

    assert issubclass(hs.HandshakeError, PeerError) and hs.HandshakeError is HandshakeError
    assert hs.status_text(426) == "Upgrade Required"
    # a numbered refusal carries the text and the headers its status needs
    for req, status, header in ((GOOD.replace(b"GET ", b"PUT ", 1), 405, b"\r\nAllow: GET\r\n"),
                                (_without(b"Upgrade"), 426, b"\r\nUpgrade: websocket\r\n")):
        try:
            check_upgrade(_parse(req)[0])
        except HandshakeError as e:
            assert e.status == status and isinstance(e.reason, str) and e.reason
            assert header in error_response(e)
        else:
            raise AssertionError(status)


def test_headers_by_position_and_iteration():
    # iteration goes through h[i] (an int: the i-th pair; IndexError at
    # the end), as for the pairs given to Headers
    r, p = _parse(GOOD)
    pairs = r.items()
    assert r[0] == pairs[0] == ("Host", "server.example.com") and r[6] == pairs[6] and r[-1] == pairs[-1]
    try:
        r[7]
    except IndexError:
        pass
    else:
        raise AssertionError("an 8th pair")
    assert [k for k, v in r] == ["Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Origin",
                                 "Sec-WebSocket-Protocol", "Sec-WebSocket-Version"]
    assert list(_parse(b"GET / HTTP/1.1\r\n\r\n")[0]) == []
    from microproto import ws_handshake as hs

    hh = hs.Headers([("A", "1")])
    assert hh[0] == ("A", "1") and list(hh) == [("A", "1")] and len(hh) == 1 and "a" in hh
