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
