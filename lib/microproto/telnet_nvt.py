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
Memory: one buffer for the data of a call that holds commands or a
subnegotiation's body (at most ``max_sb`` bytes; made for such a call and
kept only while a subnegotiation is open), a 32-byte option table (both sides' states; longer
only for options past 31 that are offered or accepted), the output (on
MicroPython two buffers used in turn: ``data_to_send()`` returns one, valid
until the next call, so that output allocates nothing in steady state (echo,
prompts); one that grew past 64 bytes is dropped, so that an idle session
does not keep the room of its banner or of a command's output); events per call are bounded by the
size of the data given, and their list exists only while some are queued.
"""

from microproto.errors import LimitError, PeerError
from microproto_port import RUNTIME, const, ticks_add, ticks_diff

# RFC 854 commands and the options we know (RFC 856 BINARY, 857 ECHO, 858
# SGA, 1091 TERMINAL-TYPE, 1073 NAWS, 1184 LINEMODE): public by name (IAC,
# DONT, DO, WONT, WILL, SB, GA, EL, EC, AYT, AO, IP, BRK, DM, NOP, SE:
# 255 down to 240; BINARY, ECHO, SGA, TTYPE, NAWS, LINEMODE) through the
# module's __getattr__, private consts here
_NAMES = const("IAC DONT DO WONT WILL SB GA EL EC AYT AO IP BRK DM NOP SE BINARY ECHO SGA TTYPE NAWS LINEMODE")
_IAC = const(255)
_DONT = const(254)
_WONT = const(252)
_WILL = const(251)
_SB = const(250)
_EL = const(248)
_EC = const(247)
_AYT = const(246)
_IP = const(244)
_BRK = const(243)
_SE = const(240)
_BINARY = const(0)
_ECHO = const(1)
_SGA = const(3)
_TTYPE = const(24)
_NAWS = const(31)


def __getattr__(name):
    n = _NAMES.split()
    if name in n:
        i = n.index(name)
        return 255 - i if i < 16 else b"\x00\x01\x03\x18\x1f\x22"[i - 16]
    raise AttributeError(name)


# RFC 1143 states: NO 0, YES 1, WANTNO 2, WANTYES 3, | 4 the queue bit
# (OPPOSITE); our side's state in bits 0-2 of an option's byte, the
# client's in bits 4-6 (shift _HIM)
_YES = const(1)
_HIM = const(4)
# The Q-method as a table: row (0 "no" received, 1 "yes" received for an
# option we refuse, 2 "yes" for one we accept, 3 we ask to disable, 4 we
# ask to enable) * 8 + the side's state -> new state | reply << 3 (reply 1:
# WILL/DO, 2: WONT/DONT)
_Q = const(b"\x00\x10\x00\x00\x04\x10\x0b\x00\x10\x01\x00\x01\x14\x05\x01\x12\t\x01\x00\x01\t\x05\x01\x12\x00\x12\x02\x07\x04\x12\x02\x07\x0b\x01\x06\x03\x0b\x05\x06\x03")
# offer_local, offer_remote, accept_local, accept_remote
_OPTIONS = const(((_ECHO, _SGA), (_SGA, _NAWS, _TTYPE), (_ECHO, _SGA, _BINARY), (_SGA, _NAWS, _TTYPE, _BINARY)))

# parser states (low 3 bits of _st; the verb or the SB option above them)
_S_IAC = const(1)
_S_OPT = const(2)
_S_SB_OPT = const(3)
_S_SB = const(4)
_S_SB_IAC = const(5)

_IAC_B = const(b"\xff")
# MicroPython's streams copy what they keep of a write: the output buffer
# can be handed out and reused (CPython's transports may keep a view of it)
_REUSE = RUNTIME == "micropython"


class TelnetCore:
    """Server side of the NVT: parser, escaper and option negotiation.

    ``max_sb``: longest subnegotiation body accepted (bytes between
    ``IAC SB opt`` and ``IAC SE``, after unescaping). ``max_negotiations``:
    option commands accepted from the client over the whole session.
    ``offer_local`` / ``offer_remote``: options we enable ourselves /
    ask the client to enable at ``start()``. ``on_data`` (attribute): when
    set, plain data (no IAC in it, nothing pending in the parser, no event
    waiting) goes to ``on_data(data)`` at once instead of becoming a
    ``("data", data)`` event: a keystroke then allocates nothing here.
    Given a memoryview (a driver's read buffer), ``on_data`` may get a
    short one as it is, valid only during the call: it copies what it
    keeps; an event's data is always a copy.
    """

    # defaults live in the class: an instance stores only what differs
    max_sb = 64
    max_negotiations = 256
    login_timeout_ms = 60000
    idle_timeout_ms = 600000
    logged_in = False
    busy = False
    timed_out = None
    error = None
    eof = False
    cols = 0
    rows = 0
    term_type = None
    _o = _OPTIONS
    _events = ()  # a list while events are queued
    _buf = None  # data of the current call, or an open SB's body
    _n = 0  # option commands received
    _st = 0  # parser state
    on_data = None

    def __init__(
        self,
        max_sb=64,
        max_negotiations=256,
        offer_local=(_ECHO, _SGA),
        offer_remote=(_SGA, _NAWS, _TTYPE),
        accept_local=(_ECHO, _SGA, _BINARY),
        accept_remote=(_SGA, _NAWS, _TTYPE, _BINARY),
        login_timeout_ms=60000,
        idle_timeout_ms=600000,
    ):
        if max_sb != 64:
            self.max_sb = max_sb
        if max_negotiations != 256:
            self.max_negotiations = max_negotiations
        if login_timeout_ms != 60000:
            self.login_timeout_ms = login_timeout_ms
        if idle_timeout_ms != 600000:
            self.idle_timeout_ms = idle_timeout_ms
        o = (offer_local, offer_remote, accept_local, accept_remote)
        if o != _OPTIONS:
            self._o = o
        self._opts = bytearray(32)  # grows for an option past 31 we track
        self._out = bytearray()
        # the clock (start() sets it; every session has it: not the class's)
        self._now = self._last_rx = self._login_end = 0
        if _REUSE:
            self._spare = bytearray()

    # -- state queries -------------------------------------------------
    def local_enabled(self, opt, off=0):
        """True if we have agreed to perform ``opt`` (e.g. ECHO); with
        ``off=4``, if the client has."""
        t = self._opts
        return opt < len(t) and t[opt] >> off & 3 == _YES

    def remote_enabled(self, opt):
        """True if the client has agreed to perform ``opt`` (e.g. NAWS)."""
        return self.local_enabled(opt, _HIM)

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
            self._event("timeout", what)

    # -- output --------------------------------------------------------
    def data_to_send(self):
        """Everything queued for the client, and forget it (bytes-like; on
        MicroPython a buffer that stays valid until the next call and is
        reused after it)."""
        out = self._out
        if not out:
            return b""
        if not _REUSE or len(out) > 64:
            # a large buffer is not kept: an idle session holds little
            self._out = bytearray()
            return out
        self._out = s = self._spare
        s[:] = b""
        self._spare = out
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
            if not self.local_enabled(_BINARY):
                text = text.replace(b"\r", b"\r\0")
        self.send_data(text.replace(b"\n", b"\r\n"))

    def start(self, now_ms=0):
        """Queue our opening offers (call once, right after connecting);
        the login deadline counts from ``now_ms``."""
        self._now = self._last_rx = now_ms
        self._login_end = ticks_add(now_ms, self.login_timeout_ms)
        for opt in self._o[0]:
            self._q(4, 0, opt)
        for opt in self._o[1]:
            self._q(4, _HIM, opt)

    # -- RFC 1143 --------------------------------------------------------
    def request_local(self, opt, enable):
        """Ask to enable/disable ``opt`` on our side (WILL/WONT), per the
        Q-method: a request already made or already true sends nothing."""
        self._q(4 if enable else 3, 0, opt)

    def request_remote(self, opt, enable):
        """Ask the client to enable/disable ``opt`` (DO/DONT)."""
        self._q(4 if enable else 3, _HIM, opt)

    def _q(self, mode, off, opt):
        # one transition of the Q-method (``mode``: the table's row) for one
        # side of ``opt`` (``off``: its bits' offset, 0 or _HIM): the new
        # state, the reply if any, and TTYPE's SEND once the client agreed
        t = self._opts
        s = t[opt] >> off & 7 if opt < len(t) else 0
        x = _Q[mode * 8 + s]
        if x & 7 != s:
            if opt >= len(t):
                t.extend(bytes(opt + 1 - len(t)))
            t[opt] = t[opt] & (0x70 >> off) | (x & 7) << off
        if x > 7:
            self._out += bytes((_IAC, 250 + (x >> 3) + (off >> 1), opt))
        if x & 7 == _YES and s & 3 != _YES and off and opt == _TTYPE:
            self._out += b"\xff\xfa\x18\x01\xff\xf0"  # IAC SB TTYPE SEND IAC SE

    # -- input ---------------------------------------------------------
    def _event(self, name, value):
        # the data gathered so far first; consecutive interrupts and
        # window sizes merge; the list is made when the first event comes
        buf = self._buf
        ev = self._events
        if buf and self._st & 7 < _S_SB_OPT:
            if not ev:
                ev = self._events = []
            ev.append(("data", bytes(buf)))
            buf[:] = b""
        if name is None:
            return
        if ev and ev[-1][0] == name and (name == "interrupt" or name == "naws"):
            ev[-1] = (name, value)
        else:
            if not ev:
                ev = self._events = []
            ev.append((name, value))

    def next_event(self):
        """The next event, or None."""
        ev = self._events
        if ev:
            e = ev.pop(0)
            if not ev:
                self._events = ()  # an idle session holds no list
            return e
        return None

    def fail(self, code=None, reason="internal error", exc=None):
        """End the session, ``reason`` queued for the client (also what the
        driver calls when the server itself fails: a bug, no memory)."""
        self.error = exc or PeerError(reason, code)
        if self._st & 7 >= _S_SB_OPT:
            self._buf = None  # a subnegotiation's body is not data
        self._st = 0
        self._out += b"\r\ntelnet: " + reason.encode() + b"\r\n"

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
        st = self._st
        if isinstance(data, memoryview):
            # (the driver's read buffer) a few keystrokes are looked at in
            # place and handed on; what is parsed or kept is copied
            if not st and len(data) <= 16 and self.on_data is not None and not self._events:
                for b in data:
                    if b == _IAC:
                        break
                else:
                    self.on_data(data)
                    return
            data = bytes(data)
        if not st and data.find(_IAC_B) < 0:
            # the common case: plain data, handed on as it came (no copy)
            if self.on_data is not None and not self._events:
                self.on_data(data)
            else:
                self._event("data", data)
            return
        # the parser: state, and the verb (_S_OPT) or the SB option
        state = st & 7
        arg = st >> 3
        n = len(data)
        i = 0
        buf = self._buf
        if buf is None:
            buf = self._buf = bytearray()
        err = None
        while i < n:
            if not state or state == _S_SB:
                # a run of data, or of an SB body, up to the next IAC
                j = data.find(_IAC_B, i)
                end = n if j < 0 else j
                if state and len(buf) + end - i > self.max_sb:
                    err = LimitError("subnegotiation longer than %d bytes" % self.max_sb)
                    break
                if end - i > 16:
                    buf += data[i:end]
                else:
                    # a short run between commands: no slice object at all
                    while i < end:
                        buf.append(data[i])
                        i += 1
                if j < 0:
                    break
                state += 1  # _S_IAC or _S_SB_IAC
                i = j + 1
                continue
            b = data[i]
            i += 1
            # what _event and fail look at meanwhile: inside a
            # subnegotiation or not (stored when it differs: a session that
            # only negotiates options keeps no slot for it)
            x = state if state >= _S_SB_OPT else 0
            if x != self._st:
                self._st = x
            if state == _S_IAC:
                state = 0
                if b == _IAC:
                    buf += _IAC_B
                elif b >= _WILL and b <= _DONT:
                    arg = b
                    state = _S_OPT
                elif b == _SB:
                    self._event(None, None)
                    state = _S_SB_OPT
                elif b == _IP or b == _BRK:
                    self._event("interrupt", None)
                elif b == _AYT:
                    y = b"\r\n[yes]\r\n"
                    if y not in self._out:  # once per burst
                        self._out += y
                elif b == _EC:
                    buf += b"\x08"
                elif b == _EL:
                    buf += b"\x15"
                # NOP, DM, GA, AO, SE outside SB, EOR and others: ignored
            elif state == _S_OPT:
                state = 0
                self._n += 1
                # WILL/WONT: the client's side; DO/DONT: ours
                sh = _HIM if arg <= _WONT else 0
                if self._n > self.max_negotiations:
                    err = LimitError("too many option negotiations")
                elif (arg - _WILL) & 1:
                    self._q(0, sh, b)  # WONT, DONT
                else:
                    self._q(2 if b in self._o[2 + (sh >> 2)] else 1, sh, b)
            elif state == _S_SB_OPT:
                arg = b
                state = _S_SB
            elif b == _IAC:  # _S_SB_IAC
                if len(buf) >= self.max_sb:
                    err = LimitError("subnegotiation longer than %d bytes" % self.max_sb)
                else:
                    buf.append(_IAC)
                    state = _S_SB
            elif b == _SE:
                state = 0
                k = len(buf)
                if arg == _NAWS and k == 4:
                    self.cols = (buf[0] << 8) | buf[1]
                    self.rows = (buf[2] << 8) | buf[3]
                    self._event("naws", (self.cols, self.rows))
                elif arg == _TTYPE and k and not buf[0]:  # IS
                    try:
                        self.term_type = bytes(buf[1:]).decode()
                        self._event("ttype", self.term_type)
                    except UnicodeError:
                        pass
                # other subnegotiations (malformed NAWS included) are ignored
                buf[:] = b""
            else:
                err = PeerError("malformed subnegotiation")
            if err is not None:
                break
        if err is None:
            x = state and state | arg << 3
            if x != self._st:
                self._st = x
        else:
            self.fail(None, err.reason, err)  # an SB body is dropped
        self._event(None, None)  # the data gathered, as one event
        if not buf and self._buf is buf:
            self._buf = None  # an idle session keeps no buffer
        if err is not None:
            raise err
