"""permessage-deflate backend for MicroPython (``deflate.DeflateIO``).

Same names as ports/cpython/microproto_port/inflate.py. MicroPython's
``deflate`` decompresses only where compression was not built in (the unix
port here), and a ``DeflateIO`` reads a whole stream: each message is
inflated on its own once it is complete, so the window is not kept
between messages (``CAN_TAKEOVER`` False: the server asks the client for
``client_no_context_takeover``). The compressed message is held in RAM up
to the caller's ``max_size``; the inflated output is read in bounded pieces.
Bytes after a final block (BFINAL) other than the end tail: ``ValueError``.

``WINDOW_BITS`` (10): the largest window the server asks a client for when
the client lets it choose (``client_max_window_bits`` offered). Each
message is inflated on its own, so a larger window only serves messages
longer than it, and ``DeflateIO`` allocates the whole window (with about
1.3 KB of decoder state) for every message: 1 KiB instead of 4 KiB.

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
WINDOW_BITS = 10

# RFC 7692 7.2.2 tail, then an empty final fixed-Huffman block so that the
# stream ends cleanly for DeflateIO.
_TAIL = b"\x00\x00\xff\xff\x03\x00"


class Inflater(io.IOBase):
    """The inflater of one connection. It is also the stream its
    ``DeflateIO`` reads the message from (``readinto``: the bytes fed, then
    the tail), without a copy and without a stream object per message."""

    # the largest read into a joined message: DeflateIO.read allocates
    # its whole size (+1) at once, and after a few messages a small heap
    # has no free 4 KiB block (the read size it was before: the scratch
    # buffer's); 1 KiB pieces, copied into the message as they come
    CHUNK = 1024
    _io = None  # the DeflateIO of the message being read (None: none)

    def __init__(self, wbits=15, takeover=False):
        self._wbits = wbits
        self._acc = bytearray()  # the compressed message (then read from _i on)
        self._i = 0

    def feed(self, data):
        self._acc.extend(data)

    def readinto(self, buf):
        # DeflateIO's source: the message, then _TAIL (not appended: no
        # copy of the message to grow it)
        a = self._acc
        i = self._i
        n = len(buf)
        k = len(a)
        if i < k:
            if n > k - i:
                n = k - i
            copy_into(buf, 0, a, i, n)
        else:
            i -= k
            if n > 6 - i:
                n = 6 - i
            copy_into(buf, 0, _TAIL, i, n)
        self._i += n
        return n

    def read(self, max_out):
        if self._io is None:
            return b""
        try:
            out = self._io.read(max_out)
        except (OSError, ValueError) as e:
            raise ValueError("corrupt deflate data: %r" % (e,))
        if not out:
            # DeflateIO stops at a final block: only our tail (whole, when
            # the message ended with that block) may be left (RFC 7692 7.2.2)
            left = len(self._acc) + 6 - self._i
            self.reset_if_needed()
            if left and left != 6:
                raise ValueError("data after the final deflate block")
        return out

    def pending(self):
        return self._io is not None

    def end(self):
        self._i = 0
        self._io = _deflate.DeflateIO(self, _deflate.RAW, self._wbits)

    def reset_if_needed(self):
        self._io = None
        if self._acc:
            self._acc = bytearray()
        self._i = 0


class Deflater:
    """Deflate data made of stored blocks, sync-flushed like zlib's
    (ends with ``00 00 ff ff``, which the caller strips)."""

    def __init__(self, wbits=15, level=6, mem_level=8):
        pass

    reset = __init__  # (nothing to forget)

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
