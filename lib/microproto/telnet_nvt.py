"""Telnet NVT core (RFC 854/855, option negotiation by RFC 1143's Q-method).

Sans-I/O: ``receive_data(data)`` parses what the client sent, events come
out of ``next_event()``, bytes to send out of ``data_to_send()``. No
sockets, no clock reads, no printing: time comes in through ``tick(now_ms)``
and goes out as ``next_deadline_ms()``.

Rules of this file (the server side of a Telnet connection):

- Input: ``IAC IAC`` is one 0xFF data byte; ``IAC cmd`` for a command;
  ``IAC WILL|WONT|DO|DONT opt`` for negotiation; ``IAC SB opt ... IAC SE``
  for subnegotiation, with ``IAC IAC`` inside standing for 0xFF. The parser
  keeps its state between calls: a sequence may be split anywhere.
- Output: ``send_data()`` doubles every 0xFF; ``send_text()`` also turns
  ``\\n`` into ``CR LF`` and a bare ``CR`` into ``CR NUL`` (NVT, RFC 854).
  We never send GA: SUPPRESS-GO-AHEAD is offered, and GA is ignored on input.
- Negotiation: one Q-method state per option per side (``us`` for what we
  do, ``him`` for what the client does): NO, YES, WANTNO, WANTYES and a
  one-deep queue bit. A request is answered at most once per state change,
  so two Q-method peers cannot loop and we never send a redundant reply.
  Options we do not support (LINEMODE and every unknown one) are refused:
  WILL -> DONT, DO -> WONT; WONT/DONT for a disabled option is ignored.
- Supported: we WILL ECHO, SGA (character mode) and BINARY when asked;
  the client may WILL SGA, NAWS (window size), TERMINAL-TYPE and BINARY.
- Commands: AYT is answered (once per burst), IP and BRK become an
  ``("interrupt", None)`` event (consecutive ones merge), EC and EL are
  handed on in the data as BS (0x08) and Ctrl-U (0x15), NOP/DM/GA/AO are
  ignored.
- Errors (the session must end): a subnegotiation longer than ``max_sb``
  bytes (``LimitError``), ``IAC`` followed by anything but ``IAC``/``SE``
  inside one (``PeerError``), more than ``max_negotiations`` option
  commands (``LimitError``: an option storm). The message for the client
  is queued in ``data_to_send()`` before the error is raised, and every
  later ``receive_data`` raises the same error.

- Clock (the session's deadlines, every rule here): until ``logged_in`` is
  set, the session ends ``login_timeout_ms`` after ``start(now_ms)``,
  whatever arrives meanwhile (bytes trickling in do not extend it); once
  logged in, ``idle_timeout_ms`` after the last bytes received, not while
  ``busy`` (a command runs: ``tick(now)`` before clearing it restarts the
  count).
  At the deadline the reason is queued for the client, a ``("timeout",
  "login"|"idle")`` event follows and ``close_expected()`` turns true.

Events: ``("data", bytes)`` (adjacent data merged per call), ``("interrupt",
None)``, ``("naws", (cols, rows))``, ``("ttype", name)``, ``("eof", None)``,
``("timeout", what)``.
Memory: one ``bytearray(max_sb)`` for subnegotiations, one 256-byte option
table (both sides' states); events per call are bounded by the size of the data given.
"""

from microproto.errors import LimitError, PeerError
from microproto_port import const, ticks_add, ticks_diff

# RFC 854 commands
IAC = const(255)
DONT = const(254)
DO = const(253)
WONT = const(252)
WILL = const(251)
SB = const(250)
GA = const(249)
EL = const(248)
EC = const(247)
AYT = const(246)
AO = const(245)
IP = const(244)
BRK = const(243)
DM = const(242)
NOP = const(241)
SE = const(240)

# Options: RFC 856 BINARY, 857 ECHO, 858 SGA, 1091 TERMINAL-TYPE, 1073 NAWS, 1184 LINEMODE
BINARY = const(0)
ECHO = const(1)
SGA = const(3)
TTYPE = const(24)
NAWS = const(31)
LINEMODE = const(34)

# RFC 1091 subnegotiation verbs
_TTYPE_IS = const(0)
_TTYPE_SEND = const(1)

# RFC 1143 states (low two bits) and the queue bit
_NO = const(0)
_YES = const(1)
_WANTNO = const(2)
_WANTYES = const(3)
_OPPOSITE = const(4)
_US = const(0)  # shift of our side's state in an option's byte
_HIM = const(4)  # and of the client's

# parser states
_S_DATA = const(0)
_S_IAC = const(1)
_S_OPT = const(2)
_S_SB_OPT = const(3)
_S_SB = const(4)
_S_SB_IAC = const(5)

_AYT_REPLY = b"\r\n[yes]\r\n"
_IAC_B = b"\xff"


class TelnetCore:
    """Server side of the NVT: parser, escaper and option negotiation.

    ``max_sb``: longest subnegotiation body accepted (bytes between
    ``IAC SB opt`` and ``IAC SE``, after unescaping). ``max_negotiations``:
    option commands accepted from the client over the whole session.
    ``offer_local`` / ``offer_remote``: options we enable ourselves /
    ask the client to enable at ``start()``.
    """

    def __init__(
        self,
        max_sb=64,
        max_negotiations=256,
        offer_local=(ECHO, SGA),
        offer_remote=(SGA, NAWS, TTYPE),
        accept_local=(ECHO, SGA, BINARY),
        accept_remote=(SGA, NAWS, TTYPE, BINARY),
        login_timeout_ms=60000,
        idle_timeout_ms=600000,
    ):
        self.login_timeout_ms = login_timeout_ms
        self.idle_timeout_ms = idle_timeout_ms
        self.logged_in = False
        self.busy = False
        self.timed_out = None
        self._now = 0
        self._login_end = 0
        self._last_rx = 0
        self.max_sb = max_sb
        self.max_negotiations = max_negotiations
        self._offer_local = offer_local
        self._offer_remote = offer_remote
        self._accept_local = accept_local
        self._accept_remote = accept_remote
        # one byte per option: our side's Q-method state in bits 0-2, the
        # client's in bits 4-6 (shift _US / _HIM)
        self._opts = bytearray(256)
        self._sb = bytearray(max_sb)
        self._sb_len = 0
        self._sb_opt = 0
        self._state = _S_DATA
        self._verb = 0
        self._negotiations = 0
        self._out = bytearray()
        self._pend = bytearray()
        self._events = []
        self._ayt_pending = False
        self.error = None
        self.eof = False
        self.cols = 0
        self.rows = 0
        self.term_type = None

    # -- state queries -------------------------------------------------
    def local_enabled(self, opt):
        """True if we have agreed to perform ``opt`` (e.g. ECHO)."""
        return self._opts[opt] & 3 == _YES

    def remote_enabled(self, opt):
        """True if the client has agreed to perform ``opt`` (e.g. NAWS)."""
        return (self._opts[opt] >> _HIM) & 3 == _YES

    def close_expected(self):
        return self.error is not None or self.eof or self.timed_out is not None

    # -- clock -----------------------------------------------------------
    def next_deadline_ms(self):
        """The tick count at which ``tick`` ends the session, or None."""
        if self.close_expected() or (self.busy and self.logged_in):
            return None
        idle = ticks_add(self._last_rx, self.idle_timeout_ms)
        if self.logged_in or ticks_diff(idle, self._login_end) < 0:
            return idle
        return self._login_end

    def tick(self, now_ms):
        """Advance the clock; past the deadline the session times out."""
        self._now = now_ms
        if self.busy:
            self._last_rx = now_ms  # idle time counts from the command's end
        d = self.next_deadline_ms()
        if d is not None and ticks_diff(now_ms, d) >= 0:
            what = "idle" if self.logged_in else "login"
            self.timed_out = what
            self.send_text("\n%s timeout: closing the session\n" % what)
            self._events.append(("timeout", what))

    # -- output --------------------------------------------------------
    def data_to_send(self):
        """Everything queued for the client (bytes), and forget it."""
        self._ayt_pending = False
        if not self._out:
            return b""
        out = bytes(self._out)
        self._out[:] = b""  # keeps its capacity: no regrowth next time
        return out

    def send_data(self, data):
        """Queue application bytes, doubling every 0xFF."""
        if isinstance(data, memoryview):
            data = bytes(data)
        if data.find(_IAC_B) >= 0:  # (int in bytearray: not on MicroPython)
            data = bytes(data).replace(_IAC_B, b"\xff\xff")
        self._out += data

    def send_text(self, text):
        """Queue text (str or bytes) in NVT form: ``\\n`` -> CR LF, a bare
        CR -> CR NUL (not in BINARY mode), 0xFF doubled."""
        if isinstance(text, str):
            text = text.encode()
        if b"\r" in text:
            text = text.replace(b"\r\n", b"\n")
            if not self.local_enabled(BINARY):
                text = text.replace(b"\r", b"\r\0")
        self.send_data(text.replace(b"\n", b"\r\n"))

    def start(self, now_ms=0):
        """Queue our opening offers (call once, right after connecting);
        the login deadline counts from ``now_ms``."""
        self._now = self._last_rx = now_ms
        self._login_end = ticks_add(now_ms, self.login_timeout_ms)
        for opt in self._offer_local:
            self.request_local(opt, True)
        for opt in self._offer_remote:
            self.request_remote(opt, True)

    # -- RFC 1143: asking ----------------------------------------------
    def request_local(self, opt, enable):
        """Ask to enable/disable ``opt`` on our side (WILL/WONT), per the
        Q-method: a request already made or already true sends nothing."""
        self._ask(_US, opt, enable, WILL, WONT)

    def request_remote(self, opt, enable):
        """Ask the client to enable/disable ``opt`` (DO/DONT)."""
        self._ask(_HIM, opt, enable, DO, DONT)

    def _ask(self, sh, opt, enable, yes_verb, no_verb):
        s = (self._opts[opt] >> sh) & 7
        st = s & 3
        q = s & _OPPOSITE
        new = s
        verb = 0
        if enable:
            if st == _NO:
                new = _WANTYES
                verb = yes_verb
            elif st == _WANTNO and not q:
                new = _WANTNO | _OPPOSITE
            elif st == _WANTYES and q:
                new = _WANTYES
            # YES, WANTNO+OPPOSITE, WANTYES+EMPTY: already so or on the way
        else:
            if st == _YES:
                new = _WANTNO
                verb = no_verb
            elif st == _WANTNO and q:
                new = _WANTNO
            elif st == _WANTYES and not q:
                new = _WANTYES | _OPPOSITE
        self._opts[opt] = self._opts[opt] & (0x70 >> sh) | new << sh
        if verb:
            self._out += bytes((IAC, verb, opt))

    # -- RFC 1143: answering -------------------------------------------
    def _recv(self, sh, opt, yes, accept, yes_verb, no_verb):
        # yes: WILL (sh _HIM) or DO (sh _US); no: WONT or DONT
        s = (self._opts[opt] >> sh) & 7
        st = s & 3
        new = s
        verb = 0
        if yes:
            if st == _NO:
                if opt in accept:
                    new = _YES
                    verb = yes_verb
                else:
                    verb = no_verb
            elif st == _WANTNO:
                # error: our "no" was answered by "yes"
                new = _YES if s & _OPPOSITE else _NO
            elif st == _WANTYES:
                if s & _OPPOSITE:
                    new = _WANTNO
                    verb = no_verb
                else:
                    new = _YES
        elif st == _YES:
            new = _NO
            verb = no_verb
        elif st == _WANTNO:
            if s & _OPPOSITE:
                new = _WANTYES
                verb = yes_verb
            else:
                new = _NO
        elif st == _WANTYES:
            new = _NO
        self._opts[opt] = self._opts[opt] & (0x70 >> sh) | new << sh
        if verb:
            self._out += bytes((IAC, verb, opt))
        if new == _YES and st != _YES and sh == _HIM and opt == TTYPE:
            self._out += bytes((IAC, SB, TTYPE, _TTYPE_SEND, IAC, SE))

    # -- input ---------------------------------------------------------
    def _event(self, kind, value):
        # kind None: only the pending data (if any) becomes an event
        if self._pend:
            self._events.append(("data", bytes(self._pend)))
            self._pend[:] = b""
        if kind is None:
            return
        ev = self._events
        if ev and ev[-1][0] == kind and kind in ("interrupt", "naws"):
            ev[-1] = (kind, value)
        else:
            ev.append((kind, value))

    def next_event(self):
        """The next event, or None."""
        if self._events:
            return self._events.pop(0)
        return None

    def fail(self, code=None, reason="internal error", exc=None):
        """End the session, ``reason`` queued for the client (also what the
        driver calls when the server itself fails: a bug, no memory)."""
        self.error = exc or PeerError(reason, code)
        self._state = _S_DATA
        self._out += b"\r\ntelnet: " + reason.encode() + b"\r\n"

    def _fail(self, exc):
        self.fail(None, exc.reason, exc)
        raise exc

    def receive_data(self, data):
        """Parse bytes from the client (``b""``: end of stream).

        Raises ``PeerError``/``LimitError`` (message queued first) when the
        session must end.
        """
        if self.error is not None:
            raise self.error
        self._last_rx = self._now
        if not data:
            self.eof = True
            self._event("eof", None)
            return
        if isinstance(data, memoryview):
            data = bytes(data)
        if self._state == _S_DATA and data.find(_IAC_B) < 0:
            # the common case: plain data, handed on as it came (no copy)
            self._events.append(("data", data))
            return
        try:
            self._parse(data)
        finally:
            self._event(None, None)

    def _parse(self, data):
        n = len(data)
        i = 0
        state = self._state
        while i < n:
            if state == _S_DATA:
                j = data.find(_IAC_B, i)
                end = n if j < 0 else j
                pend = self._pend
                if end - i > 16:
                    pend += data[i:end] if i or end < n else data
                else:
                    # a short run between commands: no slice object at all
                    while i < end:
                        pend.append(data[i])
                        i += 1
                if j < 0:
                    break
                state = _S_IAC
                i = j + 1
                continue
            b = data[i]
            i += 1
            if state == _S_IAC:
                state = _S_DATA
                if b == IAC:
                    self._pend += _IAC_B
                elif WILL <= b <= DONT:
                    self._verb = b
                    state = _S_OPT
                elif b == SB:
                    state = _S_SB_OPT
                elif b == IP or b == BRK:
                    self._event("interrupt", None)
                elif b == AYT:
                    if not self._ayt_pending:
                        self._ayt_pending = True
                        self._out += _AYT_REPLY
                elif b == EC:
                    self._pend += b"\x08"
                elif b == EL:
                    self._pend += b"\x15"
                # NOP, DM, GA, AO, SE outside SB, EOR and others: ignored
            elif state == _S_OPT:
                state = _S_DATA
                self._negotiations += 1
                if self._negotiations > self.max_negotiations:
                    self._state = state
                    self._fail(LimitError("too many option negotiations"))
                v = self._verb
                if v <= WONT:  # WILL, WONT: the client's side
                    self._recv(_HIM, b, v == WILL, self._accept_remote, DO, DONT)
                else:  # DO, DONT: ours
                    self._recv(_US, b, v == DO, self._accept_local, WILL, WONT)
            elif state == _S_SB_OPT:
                self._sb_opt = b
                self._sb_len = 0
                state = _S_SB
            elif state == _S_SB:
                if b == IAC:
                    state = _S_SB_IAC
                else:
                    # bulk copy up to the next IAC
                    j = data.find(_IAC_B, i)
                    end = n if j < 0 else j
                    k = self._sb_len
                    if k + 1 + end - i > self.max_sb:
                        self._fail(LimitError("subnegotiation longer than %d bytes" % self.max_sb))
                    self._sb[k] = b
                    if end > i:
                        self._sb[k + 1 : k + 1 + end - i] = data[i:end]
                    self._sb_len = k + 1 + end - i
                    i = end
            else:  # _S_SB_IAC
                if b == IAC:
                    if self._sb_len >= self.max_sb:
                        self._fail(LimitError("subnegotiation longer than %d bytes" % self.max_sb))
                    self._sb[self._sb_len] = IAC
                    self._sb_len += 1
                    state = _S_SB
                elif b == SE:
                    state = _S_DATA
                    opt = self._sb_opt
                    k = self._sb_len
                    sb = self._sb
                    if opt == NAWS and k == 4:
                        self.cols = (sb[0] << 8) | sb[1]
                        self.rows = (sb[2] << 8) | sb[3]
                        self._event("naws", (self.cols, self.rows))
                    elif opt == TTYPE and k >= 1 and sb[0] == _TTYPE_IS:
                        try:
                            name = bytes(sb[1:k]).decode()
                            self.term_type = name
                            self._event("ttype", name)
                        except UnicodeError:
                            pass
                    # other subnegotiations (malformed NAWS included) are ignored
                else:
                    self._fail(PeerError("malformed subnegotiation"))
        self._state = state
