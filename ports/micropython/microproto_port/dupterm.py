"""The runtime's own REPL over a connection (MicroPython, boards with
``os.dupterm``; the same API on ports/cpython). Loaded only by the native
shell (``microproto.telnet_shells``), so a Python REPL session costs none of it.

- ``HAS_DUPTERM``; ``attach(stream) -> bool``: give the runtime's own REPL
  to ``stream`` (``os.dupterm`` slot 0; ESP32 and rp2 have only one).
  The slot is shared safely: one owner at a time (``UsageError`` if
  another stream holds it), the previous terminal is put back by
  ``detach(stream)``. False when the runtime has no ``os.dupterm`` (the
  unix port).
- ``DuptermStream`` is a stream to attach: bytes from the client go in
  with ``feed()``, the REPL's output comes out of ``take()``.
"""

import io
import os

HAS_DUPTERM = hasattr(os, "dupterm")

try:
    _IOBase = io.IOBase
except AttributeError:  # a port built without it
    _IOBase = object


class DuptermStream(_IOBase):
    """A stream for ``os.dupterm``: ``feed(data)`` queues client input for
    the REPL (at most ``max_rx`` bytes waiting; more is dropped), the
    REPL's output collects for ``take()`` (at most ``max_tx`` bytes; older
    output is kept, newer dropped, until taken)."""

    def __init__(self, max_rx=256, max_tx=2048):
        self._rx = bytearray(max_rx)
        self._rx_len = 0
        self._tx = bytearray()
        self.max_tx = max_tx

    def feed(self, data):
        n = min(len(data), len(self._rx) - self._rx_len)
        self._rx[self._rx_len : self._rx_len + n] = data[:n]
        self._rx_len += n
        notify = getattr(os, "dupterm_notify", None)
        if notify is not None:
            notify(None)
        return n

    def readinto(self, buf):
        n = min(len(buf), self._rx_len)
        if not n:
            return None
        buf[:n] = self._rx[:n]
        self._rx[: self._rx_len - n] = self._rx[n : self._rx_len]
        self._rx_len -= n
        return n

    def write(self, buf):
        room = self.max_tx - len(self._tx)
        if room > 0:
            self._tx += buf[:room] if len(buf) > room else buf
        return len(buf)

    def take(self):
        out = bytes(self._tx)
        self._tx = bytearray()
        return out

    def ioctl(self, req, arg):
        return 0


_owner = None
_previous = None


def attach(stream):
    """Give the runtime's REPL to ``stream`` (see the module docstring)."""
    global _owner, _previous
    if not HAS_DUPTERM:
        return False
    if _owner is not None:
        if _owner is stream:
            return True
        from microproto.errors import UsageError

        raise UsageError("the dupterm slot is held by another session")
    _previous = os.dupterm(stream, 0)
    _owner = stream
    return True


def detach(stream):
    """Give the slot back (to the terminal that held it before ``attach``)."""
    global _owner, _previous
    if HAS_DUPTERM and _owner is stream:
        os.dupterm(_previous, 0)
        _owner = None
        _previous = None
