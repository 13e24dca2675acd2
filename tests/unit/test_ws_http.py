"""What ws_http does without a socket: the password of HTTP Basic
credentials (the ``password`` option and the console's status page)."""

from microproto.ws_handshake import RequestParser
from microproto.ws_http import _basic_password


def _request(authorization=None):
    head = b"GET / HTTP/1.1\r\nHost: x\r\n"
    if authorization is not None:
        head += b"Authorization: " + authorization + b"\r\n"
    return RequestParser().receive_data(head + b"\r\n")


def test_basic_password():
    assert _basic_password(_request(b"Basic dXNlcjpzM2NyZXQ=")) == b"s3cret"  # user:s3cret
    assert _basic_password(_request(b"bAsIc dXNlcjpzM2NyZXQ=")) == b"s3cret"
    assert _basic_password(_request(b"Basic OnMzY3JldA==")) == b"s3cret"  # no user name
    assert _basic_password(_request(b"Basic YTpiOmM=")) == b"b:c"  # the first colon ends the user
    assert _basic_password(_request(b"Basic dXNlcjpww6Rzcw==")) == b"p\xc3\xa4ss"  # UTF-8 kept as bytes
    assert _basic_password(_request(b"Basic dXNlcg==")) == b""  # no colon: no password
    assert _basic_password(_request(b"Basic dXNlcjpzM2NyZXQ")) == b""  # bad padding
    assert _basic_password(_request(b"Basic \xc3\xa9")) == b""  # not base64
    assert _basic_password(_request(b"Basic ")) is None  # (the value is stripped: "Basic")
    assert _basic_password(_request(b"Bearer dXNlcjpzM2NyZXQ=")) is None
    assert _basic_password(_request()) is None


def _run(coro):
    # a coroutine that does not suspend (check with plain handlers), run
    # without an event loop (the WebAssembly port has no asyncio.run)
    try:
        coro.send(None)
    except StopIteration as e:
        return e.args[0] if e.args else None
    raise AssertionError("suspended")


class _Options:
    origins = password = http_handler = auth = None
    legacy_webrepl = False


class _Gate:
    def __init__(self, answer):
        self.answer = answer

    def check(self, peer, password, expected, now_ms):
        return self.answer


class _Server:
    _closing = False

    def __init__(self, gate_answer=True, **options):
        self.options = _Options()
        for k in options:
            setattr(self.options, k, options[k])
        self.gate = _Gate(gate_answer)


UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")


def _head(extra=b"", head=UPGRADE):
    return RequestParser().receive_data(head + extra + b"\r\n")


def _refused(server, request):
    from microproto.ws_http import error_response

    try:
        _run(check(server, request, ("10.0.0.1", 1)))
    except HandshakeError as e:
        return error_response(e)
    raise AssertionError("accepted")


from microproto.ws_http import check  # noqa: E402
from microproto.ws_handshake import HandshakeError  # noqa: E402


def test_check_accepts_and_refuses_with_the_same_answers():
    # accepted: the key is kept on the request, nothing to answer
    r = _head(b"Origin: http://h\r\n")
    assert _run(check(_Server(origins="same"), r, None)) is None and r._ws_key == "dGhlIHNhbXBsZSBub25jZQ=="
    r = _head(b"Authorization: Basic dTpwdw==\r\n")
    assert _run(check(_Server(password=b"pw", auth=lambda req: True), r, ("10.0.0.1", 1))) is None
    # each refusal of the options: status, headers and text as they were
    # before the refusals moved to microproto.ws_refuse
    tail = b"Content-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: "
    out = _refused(_Server(origins="same"), _head(b"Origin: http://evil\r\n"))
    assert out == b"HTTP/1.1 403 Forbidden\r\n" + tail + b"19\r\n\r\norigin not allowed\n"
    assert _refused(_Server(origins=["http://a"]), _head(b"Origin: http://b\r\n")) == out
    out = _refused(_Server(password=b"pw"), _head())
    assert out == (b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"microproto\"\r\n" + tail
                   + b"18\r\n\r\npassword required\n")
    out = _refused(_Server(None, password=b"pw"), _head(b"Authorization: Basic dTpwdw==\r\n"))
    assert out == (b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 5\r\n" + tail
                   + b"40\r\n\r\ntoo many failed logins: try again later\n")
    out = _refused(_Server(False, password=b"pw"), _head(b"Authorization: Basic dTp4\r\n"))
    assert out == b"HTTP/1.1 403 Forbidden\r\n" + tail + b"15\r\n\r\nwrong password\n"
    s = _Server(origins="same")
    s._closing = True
    out = _refused(s, _head())
    assert out == b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n" + tail + b"14\r\n\r\nshutting down\n"
    out = _refused(_Server(auth=lambda req: False), _head())
    assert out == (b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"microproto\"\r\n" + tail
                   + b"15\r\n\r\nnot authorized\n")
    out = _refused(_Server(auth=lambda req: 403), _head())
    assert out == b"HTTP/1.1 403 Forbidden\r\n" + tail + b"15\r\n\r\nnot authorized\n"
    # a refusal of ws_handshake's check_upgrade through check
    out = _refused(_Server(origins="same"), _head(head=UPGRADE.replace(b"GET ", b"PUT ", 1)))
    assert out == b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\n" + tail + b"19\r\n\r\nmethod must be GET\n"


def test_check_routes_plain_requests_to_the_http_handler():
    seen = []

    def handler(request):
        seen.append(request.peer)
        return None if request.path == "/missing" else (200, [["X", "1"]], b"ok")

    s = _Server(http_handler=handler)
    plain = b"GET / HTTP/1.1\r\nHost: h\r\n"
    assert _run(check(s, _head(head=plain), ("10.0.0.1", 1))) == (200, [["X", "1"]], b"ok")
    r = _run(check(s, _head(head=plain.replace(b" / ", b" /missing ", 1)), None))
    assert r[0] == 404 and list(r[1][0]) == ["Content-Type", "text/plain"] and r[2] == b"not found\n"
    assert seen == [("10.0.0.1", 1), None]


def test_refusal_at_accept():
    from microproto.ws_http import refusal

    tail = b"\r\nRetry-After: 5\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: "
    assert refusal("busy") == b"HTTP/1.1 503 Service Unavailable" + tail + b"21\r\n\r\ntoo many connections\n"
    assert refusal("throttled") == (b"HTTP/1.1 429 Too Many Requests" + tail
                                    + b"40\r\n\r\ntoo many failed logins: try again later\n")


def test_moved_names_stay_reachable():
    from microproto import ws_handshake, ws_http, ws_refuse, ws_static

    for name in ("HandshakeError", "error_response", "refusal", "Headers", "accept_key", "GUID", "VERSION"):
        assert getattr(ws_http, name) is getattr(ws_refuse, name), name
        assert getattr(ws_handshake, name) is getattr(ws_refuse, name), name
    assert ws_http.static_handler is ws_static.static_handler
    for name in ("_WHY", "no_such_name"):
        try:
            getattr(ws_http, name)
        except AttributeError:
            pass
        else:
            raise AssertionError(name)
    # a text reason is kept as given, with the headers given
    e = HandshakeError(400, "custom", [("X-A", "1")])
    assert e.status == 400 and e.reason == "custom" and e.headers == [("X-A", "1")]
    assert HandshakeError(426, 14).headers == [("Sec-WebSocket-Version", "13")]
