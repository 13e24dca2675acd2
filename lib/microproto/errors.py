"""The error hierarchy shared by every protocol.

ProtocolError          a protocol rule was broken (``code``: a WebSocket close
 |                     code or a reply code, when one applies; ``reason``: text)
 +- PeerError          ... by the peer (bad bytes, a refusal, an unexpected reply)
 |   +- LimitError     ... by exceeding one of our configured limits (max_line,
 |                         max_size, ...): the peer sent more than we accept
 +- UsageError         ... by the caller (misuse of the API, invalid arguments)

Transport failures stay ``OSError`` with ``errno`` (timeouts included), as on
both runtimes the socket layer raises them.
"""


class ProtocolError(Exception):
    """A protocol rule was broken. ``reason`` is text, ``code`` is optional."""

    def __init__(self, reason="", code=None):
        super().__init__(reason)
        self.reason = reason
        self.code = code

    def __str__(self):
        if self.code is None:
            return self.reason
        return "%s (%s)" % (self.reason, self.code)


class PeerError(ProtocolError):
    """The peer broke the protocol: the connection or session cannot go on."""


class LimitError(PeerError):
    """The peer sent more than a configured limit allows."""


class UsageError(ProtocolError):
    """The caller used the API wrongly (bad argument, wrong state)."""
