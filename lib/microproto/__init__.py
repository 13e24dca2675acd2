"""microproto: application protocols for small devices.

Importing this package loads nothing else: each protocol is its own module
(``microproto.websocket``, ``microproto.telnet``, ``microproto.smtp``, ...)
and is imported only when the user asks for it.
"""

__version__ = "0.1.0"
