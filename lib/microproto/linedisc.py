"""Line discipline for shells (sans-I/O): Telnet sessions and the device console.

Turns the data bytes of a Telnet session (after IAC decoding) into lines
and control events, and produces the echo a character-mode client expects.

Rules:
- A line ends at CR LF, CR NUL, a bare CR or a bare LF (inetutils sends
  ``CR NUL`` in character mode and ``CR LF`` otherwise, telnetlib3 a bare
  CR, netcat a bare LF): each is one line end. An LF or NUL right after a
  CR belongs to that CR, even when split across calls.
- BS (0x08) and DEL (0x7F) erase one character (a whole UTF-8 sequence);
  Ctrl-U (0x15) erases the line; ANSI escape sequences (arrow keys:
  ``ESC [ ... final``, ``ESC O x``) and other control bytes are dropped;
  TAB is kept.
- Ctrl-C (0x03) discards the line and gives ``("interrupt", None)``;
  Ctrl-D (0x04) on an empty line gives ``("eof", None)`` (ignored otherwise).
- ``max_line`` bytes at most are kept: past that the rest of the line is
  dropped (no echo, one BEL) and the line ends as ``("overlong", n)``
  where ``n`` is the number of bytes received for it; memory never grows.
- Echo (when ``echo`` is True; the server sets it while it performs ECHO
  and turns it off for passwords): typed characters, ``\\b \\b`` for an
  erase, CR LF for a line end, ``^C`` for an interrupt.

Events: ``("line", bytes)`` (without the line end), ``("overlong", n)``,
``("interrupt", None)``, ``("eof", None)``. Memory: one
``bytearray(max_line)`` allocated at creation.
"""

from microproto_port import const

_CR = const(13)
_LF = const(10)
_NUL = const(0)
_BS = const(8)
_DEL = const(127)
_ETX = const(3)  # Ctrl-C
_EOT = const(4)  # Ctrl-D
_NAK = const(21)  # Ctrl-U
_ESC = const(27)
_TAB = const(9)

_E_NONE = const(0)
_E_ESC = const(1)  # after ESC
_E_CSI = const(2)  # after ESC [ : parameters until a final byte 0x40-0x7E
_E_SS3 = const(3)  # after ESC O : one more byte


class LineDiscipline:
    """Bytes in, lines and control events out, echo to send back."""

    def __init__(self, max_line=512, echo=True):
        self.max_line = max_line
        self.echo = echo
        self._line = bytearray(max_line)
        self._len = 0
        self._dropped = 0
        self._after_cr = False
        self._esc = _E_NONE
        self._events = []
        self._echo = bytearray()

    def __len__(self):
        """Bytes in the line being typed."""
        return self._len

    def next_event(self):
        if self._events:
            return self._events.pop(0)
        return None

    def echo_to_send(self):
        """Echo bytes produced so far (plain text: CR LF already in place)."""
        if not self._echo:
            return b""
        out = bytes(self._echo)
        self._echo[:] = b""  # keeps its capacity
        return out

    def echo_into(self, send):
        """Hand the echo to ``send(bytearray)`` (which must copy it, like
        ``TelnetCore.send_data``) and forget it: no allocation."""
        if self._echo:
            send(self._echo)
            self._echo[:] = b""

    def clear(self):
        """Discard the line being typed."""
        self._len = 0
        self._dropped = 0

    def feed(self, data):
        """Process data bytes; events and echo queue up."""
        n = len(data)
        i = 0
        line = self._line
        mv = None
        while i < n:
            b = data[i]
            if self._after_cr:
                self._after_cr = False
                if b == _LF or b == _NUL:
                    i += 1
                    continue
            if self._esc != _E_NONE:
                i += 1
                e = self._esc
                if e == _E_ESC:
                    self._esc = _E_CSI if b == 0x5B else (_E_SS3 if b == 0x4F else _E_NONE)
                elif e == _E_CSI:
                    if 0x40 <= b <= 0x7E:
                        self._esc = _E_NONE
                else:
                    self._esc = _E_NONE
                continue
            if b >= 0x20 and b != _DEL or b == _TAB:
                # a run of ordinary bytes, copied at once
                j = i + 1
                while j < n:
                    c = data[j]
                    if c < 0x20 and c != _TAB or c == _DEL:
                        break
                    j += 1
                room = self.max_line - self._len
                if self._dropped or room <= 0:
                    if not self._dropped and self.echo:
                        self._echo += b"\x07"
                    self._dropped += j - i
                else:
                    take = j - i if j - i <= room else room
                    k = self._len
                    if take > 8:
                        if mv is None:
                            mv = memoryview(data)  # long runs: copied without a slice
                        run = mv[i : i + take]
                        line[k : k + take] = run
                        if self.echo:
                            self._echo += run
                    else:
                        # a short run (typing): byte by byte, nothing allocated
                        for x in range(take):
                            line[k + x] = data[i + x]
                        if self.echo:
                            for x in range(take):
                                self._echo.append(data[i + x])
                    self._len = k + take
                    if take < j - i:
                        self._dropped = j - i - take
                        if self.echo:
                            self._echo += b"\x07"
                i = j
                continue
            i += 1
            if b == _CR or b == _LF:
                self._after_cr = b == _CR
                if self._dropped:
                    self._events.append(("overlong", self._len + self._dropped))
                else:
                    self._events.append(("line", bytes(line[: self._len])))
                self._len = 0
                self._dropped = 0
                if self.echo:
                    self._echo += b"\r\n"
            elif b == _BS or b == _DEL:
                k = self._len
                if self._dropped:
                    self._dropped -= 1
                elif k:
                    k -= 1
                    # a UTF-8 sequence goes as one character
                    while k and line[k] & 0xC0 == 0x80:
                        k -= 1
                    self._len = k
                    if self.echo:
                        self._echo += b"\x08 \x08"
            elif b == _ETX:
                self._len = 0
                self._dropped = 0
                self._events.append(("interrupt", None))
                if self.echo:
                    self._echo += b"^C\r\n"
            elif b == _EOT:
                if not self._len and not self._dropped:
                    self._events.append(("eof", None))
            elif b == _NAK:
                if self.echo:
                    self._echo += b"\x08 \x08" * self._len
                self._len = 0
                self._dropped = 0
            elif b == _ESC:
                self._esc = _E_ESC
            # other control bytes (NUL included) are dropped
