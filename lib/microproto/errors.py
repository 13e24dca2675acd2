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
    """A protocol rule was broken. ``reason`` is text, ``code`` is optional;
    ``str()`` is the reason, with the code in parentheses when there is one."""

    def __init__(self, reason="", code=None):
        super().__init__(reason if code is None else "%s (%s)" % (reason, code))
        self.reason = reason
        self.code = code


# The subclasses add nothing but their place in the hierarchy (see the
# module docstring): made by type(), they need no class body, which would be
# one more code object each in a board's heap.
PeerError = type("PeerError", (ProtocolError,), {})
LimitError = type("LimitError", (PeerError,), {})
UsageError = type("UsageError", (ProtocolError,), {})
