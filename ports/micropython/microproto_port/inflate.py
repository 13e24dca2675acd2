"""permessage-deflate backend for MicroPython (``deflate.DeflateIO``).

Same names as ports/cpython/microproto_port/inflate.py. MicroPython's
``deflate`` decompresses only where compression was not built in (the unix
port here), and a ``DeflateIO`` reads a whole stream: each message is
inflated on its own once it is complete, so the window is not kept
between messages (``CAN_TAKEOVER`` False: the server asks the client for
``client_no_context_takeover``). The compressed message is held in RAM up
to the caller's ``max_size``; the inflated output is read in bounded pieces.
Bytes after a final block (BFINAL) other than the end tail: ``ValueError``.

Sending: ``Deflater`` writes deflate *stored* blocks (RFC 1951 3.2.4): valid
compressed data that any client inflates, at 5 bytes per 64 KiB of cost and
no CPU. Some clients mishandle uncompressed replies on a compressed
connection; this keeps every message of such a connection in one form.
"""

import io

from microproto_port.fast import copy_into

try:
    import deflate as _deflate
except ImportError:
    _deflate = None

AVAILABLE = _deflate is not None
CAN_COMPRESS = True  # stored blocks only: see Deflater
CAN_TAKEOVER = False

# RFC 7692 7.2.2 tail, then an empty final fixed-Huffman block so that the
# stream ends cleanly for DeflateIO.
_TAIL = b"\x00\x00\xff\xff\x03\x00"


class _Source(io.IOBase):
    """A read-only stream over a buffer, for DeflateIO."""

    def __init__(self, buf):
        self._buf = buf
        self._i = 0

    def readinto(self, buf):
        n = len(buf)
        left = len(self._buf) - self._i
        if n > left:
            n = left
        copy_into(buf, 0, self._buf, self._i, n)
        self._i += n
        return n


class Inflater:
    CHUNK = 0  # reads of the scratch buffer's size up to 8 KiB (DeflateIO.read allocates them whole)

    def __init__(self, wbits=15, takeover=False):
        self._wbits = wbits
        self._acc = bytearray()
        self._io = None
        self._src = None

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
            src = self._src
            self._src = None
            # DeflateIO stops at a final block: only our tail (whole, when
            # the message ended with that block) may be left (RFC 7692 7.2.2)
            left = len(src._buf) - src._i
            if left and left != len(_TAIL):
                raise ValueError("data after the final deflate block")
        return out

    def pending(self):
        return self._io is not None

    def end(self):
        self._acc.extend(_TAIL)
        src = self._src = _Source(self._acc)  # no copy (io.BytesIO would make one)
        self._acc = bytearray()
        self._io = _deflate.DeflateIO(src, _deflate.RAW, self._wbits)

    def reset_if_needed(self):
        self._io = None
        self._src = None
        self._acc = bytearray()


class Deflater:
    """Deflate data made of stored blocks, sync-flushed like zlib's
    (ends with ``00 00 ff ff``, which the caller strips)."""

    def __init__(self, wbits=15, level=6, mem_level=8):
        pass

    def compress(self, data):
        n = len(data)
        blocks = (n + 65534) // 65535
        out = bytearray(n + 5 * blocks + 5)
        o = 0
        i = 0
        while i < n:
            k = n - i
            if k > 65535:
                k = 65535
            out[o] = 0  # BFINAL 0, BTYPE 00 (stored)
            out[o + 1] = k & 0xFF
            out[o + 2] = k >> 8
            out[o + 3] = (~k) & 0xFF
            out[o + 4] = ((~k) >> 8) & 0xFF
            out[o + 5 : o + 5 + k] = memoryview(data)[i : i + k]
            o += 5 + k
            i += k
        out[o : o + 5] = b"\x00\x00\x00\xff\xff"
        return out

    def reset(self):
        pass
