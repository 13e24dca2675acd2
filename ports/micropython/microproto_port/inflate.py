"""permessage-deflate backend for MicroPython (``deflate.DeflateIO``).

Same names as ports/cpython/microproto_port/inflate.py. MicroPython's
``deflate`` decompresses only where compression was not built in (the unix
port here), and a ``DeflateIO`` reads a whole stream: each message is
inflated on its own once it is complete, so the window is not kept
between messages (``CAN_TAKEOVER`` False: the server asks the client for
``client_no_context_takeover``). The compressed message is held in RAM up
to the caller's ``max_size``; the inflated output is read in bounded pieces.
"""

import io

try:
    import deflate as _deflate
except ImportError:
    _deflate = None

AVAILABLE = _deflate is not None
CAN_COMPRESS = False
CAN_TAKEOVER = False

# RFC 7692 7.2.2 tail, then an empty final fixed-Huffman block so that the
# stream ends cleanly for DeflateIO.
_TAIL = b"\x00\x00\xff\xff\x03\x00"


class Inflater:
    def __init__(self, wbits=15, takeover=False):
        self._wbits = wbits
        self._acc = bytearray()
        self._io = None

    def feed(self, data):
        self._acc.extend(data)

    def read(self, max_out):
        if self._io is None:
            return b""
        try:
            out = self._io.read(max_out)
        except (OSError, ValueError) as e:
            raise ValueError("corrupt deflate data: %r" % (e,))
        if not out:
            self._io = None
        return out

    def pending(self):
        return self._io is not None

    def end(self):
        self._acc.extend(_TAIL)
        self._io = _deflate.DeflateIO(io.BytesIO(self._acc), _deflate.RAW, self._wbits)

    def reset_if_needed(self):
        self._io = None
        self._acc = bytearray()


class Deflater:
    def __init__(self, wbits=15, level=6, mem_level=8):
        raise OSError("compression not available on this runtime")
