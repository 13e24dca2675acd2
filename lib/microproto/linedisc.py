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
``("interrupt", None)``, ``("eof", None)``. Memory: the line buffer grows
to the longest line typed, never past ``max_line`` bytes, and keeps that
room: an idle session holds little (the event list exists only while
events are queued; defaults are the class's), and typing allocates nothing.
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

# what the previous byte left pending
_ST_CR = const(1)  # a CR: an LF or NUL right after it belongs to it
_ST_ESC = const(2)  # after ESC
_ST_CSI = const(3)  # after ESC [ : parameters until a final byte 0x40-0x7E
_ST_SS3 = const(4)  # after ESC O : one more byte


class LineDiscipline:
    """Bytes in, lines and control events out, echo to send back."""

    max_line = 512
    echo = True
    _dropped = 0  # bytes of the line past max_line
    _st = 0
    _events = ()  # a list while events are queued
    _echo = None  # the echo buffer, made by the first feed

    def __init__(self, max_line=512, echo=True):
        if max_line != 512:
            self.max_line = max_line
        if not echo:
            self.echo = False
        self._line = bytearray()
        # _echo: the Telnet session gives every line discipline the same
        # buffer, hands it to its NVT core and empties it after each feed
        # (no copy, no bound method per keystroke, no buffer per session)

    def __len__(self):
        """Bytes in the line being typed."""
        return len(self._line)

    def next_event(self):
        ev = self._events
        if ev:
            e = ev.pop(0)
            if not ev:
                self._events = ()  # an idle session holds no list
            return e
        return None

    def echo_to_send(self):
        """Echo bytes produced so far (plain text: CR LF already in place)."""
        if not self._echo:
            return b""
        out = bytes(self._echo)
        self._echo[:] = b""  # keeps its capacity
        return out

    def clear(self):
        """Discard the line being typed."""
        self._line[:] = b""
        if self._dropped:
            self._dropped = 0

    def feed(self, data):
        """Process data bytes; events and echo queue up."""
        n = len(data)
        i = 0
        line = self._line
        out = self._echo
        if out is None:
            out = self._echo = bytearray()
        echo = self.echo
        mv = None
        while i < n:
            b = data[i]
            st = self._st
            if st:
                self._st = 0
                if st == _ST_CR:
                    if b == _LF or b == _NUL:
                        i += 1
                        continue
                else:
                    i += 1
                    if st == _ST_ESC:
                        self._st = _ST_CSI if b == 0x5B else (_ST_SS3 if b == 0x4F else 0)
                    elif st == _ST_CSI and not 0x40 <= b <= 0x7E:
                        self._st = _ST_CSI
                    continue
            if b >= 0x20 and b != _DEL or b == _TAB:
                # a run of ordinary bytes, copied at once
                j = i + 1
                while j < n:
                    c = data[j]
                    if c < 0x20 and c != _TAB or c == _DEL:
                        break
                    j += 1
                room = self.max_line - len(line)
                if self._dropped or room <= 0:
                    if not self._dropped and echo:
                        out.append(7)  # BEL
                    self._dropped += j - i
                else:
                    take = j - i if j - i <= room else room
                    if take > 8:
                        if mv is None:
                            mv = memoryview(data)  # long runs: copied without a slice
                        run = mv[i : i + take]
                        line += run
                        if echo:
                            out += run
                    else:
                        # a short run (typing): byte by byte, nothing allocated
                        for x in range(i, i + take):
                            line.append(data[x])
                            if echo:
                                out.append(data[x])
                    if take < j - i:
                        self._dropped = j - i - take
                        if echo:
                            out.append(7)
                i = j
                continue
            i += 1
            ev = None
            if b == _CR or b == _LF:
                if b == _CR:
                    self._st = _ST_CR
                if self._dropped:
                    ev = ("overlong", len(line) + self._dropped)
                else:
                    ev = ("line", bytes(line))
                self.clear()
                if echo:
                    out += b"\r\n"
            elif b == _BS or b == _DEL:
                k = len(line)
                if self._dropped:
                    self._dropped -= 1
                elif k:
                    k -= 1
                    # a UTF-8 sequence goes as one character
                    while k and line[k] & 0xC0 == 0x80:
                        k -= 1
                    line[k:] = b""
                    if echo:
                        out += b"\x08 \x08"
            elif b == _ETX:
                self.clear()
                ev = ("interrupt", None)
                if echo:
                    out += b"^C\r\n"
            elif b == _EOT:
                if not line and not self._dropped:
                    ev = ("eof", None)
            elif b == _NAK:
                if echo:
                    out += b"\x08 \x08" * len(line)
                self.clear()
            elif b == _ESC:
                self._st = _ST_ESC
            # other control bytes (NUL included) are dropped
            if ev is not None:
                if not self._events:
                    self._events = []
                self._events.append(ev)
