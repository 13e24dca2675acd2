"""What only a refused WebSocket request needs, loaded with the first
refusal (an accepted request, a served page or a 404 never loads it):
``HandshakeError`` and the text of each refusal, ``error_response``,
``refusal`` (the answer at accept), and what no server path uses
(``Headers``, ``accept_key``, ``GUID``, ``VERSION``). Everything here is
reachable from ``microproto.ws_http`` and ``microproto.ws_handshake`` as
before (their module ``__getattr__``).
"""

from microproto.errors import PeerError
from microproto.ws_handshake import RequestParser
from microproto.ws_http import response

# RFC 6455 1.3
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
VERSION = "13"

# why a request is refused, one reason a line: ``HandshakeError`` takes a
# line's number (one string object instead of one per reason)
_WHY = ("request head is not UTF-8\nconnection closed during the request\nrequest line too long\n"
        "header line too long\nmalformed request line\nunsupported HTTP version\n"
        "obsolete header line folding\ntoo many header lines\nmalformed header line\n"
        "method must be GET\nHTTP/1.1 required\nnot a WebSocket upgrade\n"
        "Connection header must contain Upgrade\nexactly one Host header required\n"
        "unsupported WebSocket version\nexactly one Sec-WebSocket-Key required\n"
        "Sec-WebSocket-Key must be 16 bytes in base64\norigin not allowed\nwrong password\n"
        "password required\nnot authorized\ntoo many failed logins: try again later\n"
        "shutting down\ntoo many connections")


class HandshakeError(PeerError):
    """The request cannot be upgraded: answer with ``status`` (``reason``:
    text, or the number of a line of ``_WHY``; the headers a refusal of
    that number must carry come with it)."""

    def __init__(self, status, reason, headers=()):
        if type(reason) is int:
            if reason == 9:  # method must be GET
                headers = [("Allow", "GET")]
            elif reason == 11:  # not a WebSocket upgrade
                headers = [("Upgrade", "websocket"), ("Connection", "Upgrade")]
            elif reason == 14:  # unsupported WebSocket version
                headers = [("Sec-WebSocket-Version", VERSION)]
            elif reason > 20:  # too many failed logins, shutting down, too many connections
                headers = [("Retry-After", "5")]
            elif status == 401:  # password required, not authorized
                headers = [("WWW-Authenticate", 'Basic realm="microproto"')]
            reason = _WHY.split("\n")[reason]
        super().__init__(reason, status)
        self.status = status
        self.headers = list(headers)


def Headers(items=()):
    """Request headers from ``(name, value)`` pairs, with what a parsed
    request's ``headers`` offers (case-insensitive ``get``, ...): kept as
    a parsed request keeps them, one ``name: value`` line each."""
    h = RequestParser()
    h.head = "\n".join(k + ": " + v for k, v in items)
    return h


def accept_key(key):
    """Sec-WebSocket-Accept for the client's ``key`` (str)."""
    import binascii
    import hashlib

    return str(binascii.b2a_base64(hashlib.sha1(key.encode() + GUID).digest())[:-1], "ascii")


def error_response(err):
    """The response to a ``HandshakeError`` (closes the connection)."""
    body = (err.reason + "\n").encode()
    hs = list(err.headers) + [("Content-Type", "text/plain; charset=utf-8"), ("Connection", "close")]
    return response(err.status, hs, body)


def refusal(why):
    """The HTTP answer to a connection refused at accept (the gate's ``why``)."""
    return error_response(HandshakeError(503, 23) if why == "busy" else HandshakeError(429, 21))
