"""permessage-deflate backend for CPython (``zlib``, raw deflate).

``CAN_COMPRESS``: this runtime can send compressed messages.
``CAN_TAKEOVER``: an ``Inflater`` keeps its window from one message to the
next (client context takeover).

``Inflater(wbits)``: ``feed(data)`` compressed bytes of the current message,
``read(max_out)`` up to ``max_out`` bytes of output (b"" when all input is
used), ``end()`` at the end of a message. ``ValueError`` on corrupt data,
and on bytes after a final block other than the end tail.
``Deflater(wbits, level, mem_level)``: ``compress(data)`` returns the
sync-flushed deflate bytes of ``data`` (the caller strips the final
``00 00 ff ff``); ``reset()`` forgets the window.
"""

import zlib

CAN_COMPRESS = True
CAN_TAKEOVER = True

# RFC 7692 7.2.2: appended to each message before inflating it
_TAIL = b"\x00\x00\xff\xff"


class Inflater:
    # largest read into a joined message (ws_stream): the whole budget
    # (max_size) at once; zlib grows its output as it goes
    CHUNK = 1 << 30

    def __init__(self, wbits=15, takeover=True):
        self._wbits = wbits
        self._takeover = takeover
        self._d = zlib.decompressobj(-wbits)
        self._in = b""

    def feed(self, data):
        if self._in:
            self._in = self._in + bytes(data)
        else:
            self._in = bytes(data)

    def read(self, max_out):
        d = self._d
        out = b""
        if not d.eof:
            try:
                out = d.decompress(self._in, max_out)
            except zlib.error as e:
                raise ValueError(str(e))
            self._in = d.unconsumed_tail
            if not d.eof:
                return out
            self._in = d.unused_data
        # A final block ended the deflate stream: only the end tail may
        # follow in this message, whichever read it came in (RFC 7692 7.2.2).
        if self._in and self._in != _TAIL:
            raise ValueError("data after the final deflate block")
        self._in = b""
        return out

    def pending(self):
        """True while input is waiting (more output may come)."""
        return bool(self._in)

    def end(self):
        self.feed(_TAIL)

    def reset_if_needed(self):
        """After the end tail is read: start a new window if required."""
        if not self._takeover or self._d.eof:
            self._d = zlib.decompressobj(-self._wbits)
        self._in = b""


class Deflater:
    def __init__(self, wbits=15, level=6, mem_level=8):
        self._args = (level, zlib.DEFLATED, -wbits, mem_level)
        self._c = zlib.compressobj(*self._args)

    def compress(self, data):
        c = self._c
        return c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)

    def reset(self):
        self._c = zlib.compressobj(*self._args)
