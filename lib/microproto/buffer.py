"""A bounded receive buffer shared by every protocol core and driver.

One ``bytearray`` of fixed capacity is allocated when the buffer is made and
never grows: data that does not fit raises ``LimitError``. Bytes are taken
from the front (exact counts or lines); the free space at the back can be
filled in place by a driver (``readinto`` into ``free_view()``), so the
steady state of a connection allocates nothing for receiving.

Limits: ``capacity`` bytes held at once; ``readline(max_line)`` refuses a
line longer than ``max_line`` bytes (terminator included) as soon as that
many bytes have arrived without one.
"""

from microproto.errors import LimitError


class Buffer:
    """Fixed-capacity FIFO of bytes."""

    def __init__(self, capacity):
        self._buf = bytearray(capacity)
        self._mv = memoryview(self._buf)
        self._cap = capacity
        self._start = 0
        self._end = 0

    def __len__(self):
        return self._end - self._start

    @property
    def capacity(self):
        return self._cap

    def clear(self):
        self._start = 0
        self._end = 0

    def _compact(self):
        s = self._start
        if s:
            e = self._end
            if e > s:
                self._mv[0 : e - s] = self._mv[s:e]
            self._end = e - s
            self._start = 0

    def feed(self, data):
        """Append ``data``; raise ``LimitError`` if it does not fit."""
        n = len(data)
        if n > self._cap - (self._end - self._start):
            raise LimitError("receive buffer full (%d bytes)" % self._cap)
        if self._end + n > self._cap:
            self._compact()
        self._mv[self._end : self._end + n] = data
        self._end += n

    def free_view(self):
        """A memoryview of the free space at the back, for ``readinto``.

        Call ``commit(n)`` with the number of bytes written into it. An empty
        view means the buffer is full.
        """
        if self._end == self._cap:
            self._compact()
        return self._mv[self._end :]

    def commit(self, n):
        """Account for ``n`` bytes written into ``free_view()``."""
        self._end += n

    def view(self, n=None):
        """A memoryview of the first ``n`` bytes (all if None), not consumed.

        Valid only until the next ``feed``/``free_view``.
        """
        if n is None:
            return self._mv[self._start : self._end]
        return self._mv[self._start : self._start + n]

    def consume(self, n):
        """Drop ``n`` bytes from the front."""
        self._start += n
        if self._start >= self._end:
            self._start = 0
            self._end = 0

    def take(self, n):
        """Remove and return the first ``n`` bytes (a new ``bytes``)."""
        b = bytes(self._mv[self._start : self._start + n])
        self.consume(len(b))
        return b

    def find(self, sub, start=0):
        """Index (relative to the front) of ``sub``, or -1."""
        i = self._buf.find(sub, self._start + start, self._end)
        return i - self._start if i >= 0 else -1

    def line_length(self, max_line, end=b"\n"):
        """Length of the first line including ``end``, or 0 if incomplete.

        Raises ``LimitError`` when no terminator is within ``max_line`` bytes.
        """
        i = self._buf.find(end, self._start, min(self._end, self._start + max_line))
        if i >= 0:
            return i - self._start + len(end)
        if self._end - self._start >= max_line:
            raise LimitError("line longer than %d bytes" % max_line)
        return 0

    def readline(self, max_line, end=b"\n"):
        """Remove and return the first line (terminator kept), or None."""
        n = self.line_length(max_line, end)
        if n:
            return self.take(n)
        return None
