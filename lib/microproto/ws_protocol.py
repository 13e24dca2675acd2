"""WebSocket connection state machine, server side (RFC 6455 5-7), sans-I/O.

    p = ServerProtocol(max_size=..., deflate=PerMessageDeflate(...) or None)
    p.tick(now_ms)            # time comes in from outside
    p.receive_data(data)      # b"": the peer closed the TCP connection
    ev = p.next_event()       # see below; None when nothing is ready
    p.send_text("hi")         # send_binary, send_fragment, send_ping, send_close
    out = p.data_to_send()    # bytes for the wire
    p.close_expected()        # True: close the TCP connection now
    p.next_deadline_ms()      # when to call tick() again (None: no timer)

Events (tuples): ``("text", str)``, ``("binary", bytes)`` (a bytearray
with ``binary_type=bytearray``: see Limits),
``("fragment", is_text, bytes, fin)`` (``stream=True``: pieces of a message
as they arrive, text as validated UTF-8 bytes that may end inside a
character), ``("ping", bytes)``, ``("pong", bytes)``, ``("close", code,
reason)`` (the peer's Close, or 1006 when the connection ended without one),
``("failed", code, reason)`` (``defer_close=True`` only: see ``fail``; the
Close goes out by itself ``close_timeout_ms`` after the fault at the latest).

Rules enforced (each ends the connection with a Close frame): client
frames must be masked, RSV bits only for a negotiated extension, known
opcodes, control frames of at most 125 bytes and never fragmented,
continuation rules (1002); text valid UTF-8, checked as bytes arrive
(1007); valid close codes and reason (1002/1007); ``max_frame`` and
``max_size`` (1009); keepalive pong within ``ping_timeout_ms`` (1011).
After a failure the connection only waits for the peer's Close (or EOF, or
``close_timeout_ms``) and processes nothing else.

Limits: a joined message holds at most ``max_size`` bytes (after
inflation; None: no limit); a frame at most ``max_frame`` (default
``max_size``; not applied in ``stream`` mode, where nothing is joined);
a compressed message at most ``max_size`` bytes inflated and ``2 *
max_size + 1024`` compressed, in ``stream`` mode too (bombs);
the receive path uses one ``scratch_size`` buffer (or, when
``scratch_size`` is a buffer, that one: a driver's, shared by its
connections), a control buffer of the control frame's size (at most 125
bytes, while one comes in) and a message buffer (made with the first data frame, at once to a
frame's length; a message in one frame over 4 KiB: exactly its size) that grows up to ``max_size`` and is dropped after messages
over 4 KiB. A message of N bytes needs the buffer and the ``str``/``bytes``
handed out: 2N (on MicroPython every 64 KiB of a message over a quarter
of the heap runs a collection, so that the second N finds room). A whole
uncompressed message in one writable ``data`` (the driver's read buffer
on MicroPython) needs no message buffer: it is unmasked there, in place,
and copied once, into the ``str``/``bytes``.
``binary_type=bytearray``: a binary message is handed out as the message
buffer itself (made to the message's size when it comes in one frame, else
cut to it: on MicroPython the cut keeps its memory), or (a whole message in
one read) as a bytearray it was unmasked into: N bytes for N, no copy, and
no hash of it on MicroPython; the next message gets a new buffer. Steady
state (uncompressed frames) allocates nothing in the frame codec.

The frame header is parsed here, in place (``microproto.ws_frames`` is the
codec for clients and tests, and is not loaded by a server). Close
payloads: ``parse_close``, ``build_close``, ``close_code_valid`` (RFC 6455
5.5.1, 7.4; also reachable from ``ws_frames``).
"""

import gc

from microproto.errors import UsageError
from microproto_port import const, ticks_add, ticks_diff
from microproto_port.fast import copy_into, mask_into, utf8_check

# builtins of the hot paths as module globals: on MicroPython a global is
# found through a per-instruction cache, a builtin only after a lookup that
# misses the module's table (twice) and then searches the builtins
len, str, bytes, bytearray = len, str, bytes, bytearray

OPEN = 1
CLOSING = 2
CLOSED = 3

_CONT = const(0)
_TEXT = const(1)
_BINARY = const(2)
_CLOSE = const(8)
_PING = const(9)
_PONG = const(10)
_RSV1 = const(0x40)
_MAX_CONTROL = const(125)
_KEEP = const(4096)  # a message buffer up to this size is kept between messages
_INITIAL = const(256)
_JOIN = const(1024)  # with ``parts``: larger output goes out as its parts


# a collection every 64 KiB of a message buffer over a quarter of the heap
# (MicroPython; None: CPython, or turned off by a test): see receive_data
_collect = gc.collect if hasattr(gc, "mem_free") else None
# a quarter of the heap, read once: gc.mem_free() walks the whole heap's
# allocation table (a call per 64 KiB step halved the unix port's 64 KiB echo)
_LARGE = (gc.mem_free() + gc.mem_alloc()) >> 2 if _collect is not None else 0
# compressed messages and stream mode: microproto.ws_stream, loaded with the
# first such message (by receive_data)
ws_stream = None


def close_code_valid(code):
    """True if ``code`` may appear in a Close frame on the wire."""
    return 3000 <= code <= 4999 or (1000 <= code <= 1011 and code not in (1004, 1005, 1006))


def build_close(code=None, reason=""):
    """A Close payload (RFC 6455 5.5.1): empty when ``code`` is None."""
    if code is None:
        return b""
    r = reason.encode() if isinstance(reason, str) else bytes(reason)
    if len(r) > _MAX_CONTROL - 2:
        r = r[: _MAX_CONTROL - 2]
        # never cut a character in two
        while r and (r[-1] & 0xC0) == 0x80:
            r = r[:-1]
        if r and r[-1] >= 0xC0:
            r = r[:-1]
    return bytes(((code >> 8) & 0xFF, code & 0xFF)) + r


def parse_close(payload):
    """``(code, reason)`` of a Close payload; ``(1005, "")`` when empty.

    Returns ``(1002, None)`` for a 1-byte payload or an invalid code and
    ``(1007, None)`` for a reason that is not UTF-8: the close code to send.
    """
    n = len(payload)
    if n == 0:
        return 1005, ""
    code = (payload[0] << 8) | payload[1] if n > 1 else 0
    if not close_code_valid(code):
        return 1002, None
    if utf8_check(payload, 0, 2, n) != 0:
        return 1007, None
    return code, str(bytes(payload[2:]), "utf-8")


class ServerProtocol:
    """One server-side WebSocket connection after the opening handshake."""

    # defaults read from the class until a connection first changes them (an
    # idle connection's own attributes stay few: a smaller instance, and on
    # MicroPython a less crowded attribute table: faster lookups)
    stream = False
    deflate = None
    allow_unmasked = False
    ping_timeout_ms = 20000
    close_timeout_ms = 5000
    failed = False
    fail_code = None
    fail_reason = ""
    # what the peer sent in its Close (1006: none), and what we sent
    close_code = None
    close_reason = ""
    sent_close_code = None
    # _due: the tick count of the one timer (the close timeout once closing
    # or failed, else the pong's deadline while _ping waits for it, else the
    # next keepalive ping; None: no timer)
    _ping = None  # a keepalive ping's payload until its pong (None: none waits)
    # receive side: the header (then its mask key at 0-3), the frame, the
    # message (made with the first data frame), the control frame;
    # _left: payload bytes left in the frame, or -1 - the header's bytes so
    # far while it comes in
    _op = 0  # the frame's opcode, + 4 on a data frame that ends its message (FIN); -1: ignored
    _masked = False
    _phase = 0
    _mop = 0
    _mz = 0  # a compressed message: 1 + its compressed bytes so far (0: not compressed)
    _msg = None
    _mn = 0
    _utf = 0
    _piece = None
    # _ctl: a control frame's payload, made with its header (of the frame's
    # length: a frame's end is where it is full) and dropped after it
    _mv = None  # a view of _msg (a message handed out is a slice of it)
    # whole messages (not stream mode) go to this list when set (the
    # asyncio driver's queue: no event tuple per message), else they are
    # ("text", str) / ("binary", bytes) events
    sink = None
    # a binary message's type: bytes, or bytearray (the buffer it was
    # received into, handed over: no copy; see the module docstring)
    binary_type = bytes
    # send side: opcode of the fragmented message being sent, | _RSV1 if compressed
    _out_mop = 0

    def __init__(
        self,
        max_size=1 << 20,
        max_frame=None,
        stream=False,
        deflate=None,
        ping_interval_ms=None,
        ping_timeout_ms=20000,
        close_timeout_ms=5000,
        allow_unmasked=False,
        scratch_size=4096,
        defer_close=False,
        now_ms=0,
        parts=False,
        binary_type=bytes,
    ):
        self.defer_close = defer_close
        if binary_type is not bytes:
            self.binary_type = binary_type
        self.parts = parts
        self.max_size = max_size
        self.max_frame = max_size if max_frame is None else max_frame
        if stream:
            self.stream = stream
        if deflate is not None:
            self.deflate = deflate
        if allow_unmasked:
            self.allow_unmasked = allow_unmasked
        self.ping_interval_ms = ping_interval_ms
        if ping_timeout_ms != 20000:
            self.ping_timeout_ms = ping_timeout_ms
        if close_timeout_ms != 5000:
            self.close_timeout_ms = close_timeout_ms
        self.state = OPEN
        self.now = now_ms  # (the last tick count given: deadlines are counted from it)
        self._due = ticks_add(now_ms, ping_interval_ms) if ping_interval_ms else None
        self._hb = bytearray(14)
        self._left = -1
        # (``scratch_size`` may be the buffer itself: one shared by the
        # connections of a driver, which reads into it only to hand the
        # bytes to receive_data at once)
        self._scratch = bytearray(scratch_size) if type(scratch_size) is int else scratch_size
        self._events = []
        self._out = None  # made with the first frame sent (an idle connection has none)
        # (an attribute of its own although None: with the message buffer,
        # its view and the send state, 18 attributes in a table of 23, not
        # 17 in a full one, where every lookup that misses scans it all)
        self._ctl = None

    # -- time --------------------------------------------------------------

    def tick(self, now_ms):
        """Advance the clock: keepalive pings, pong and close timeouts."""
        self.now = now_ms
        st = self.state
        due = self._due
        if st == CLOSED or due is None or ticks_diff(now_ms, due) < 0:
            return
        if st == CLOSING:
            self._set_closed(1006, "")
        elif self.failed:
            self.send_fail_close()  # deferred for too long: the Close goes now
        elif self._ping is not None:
            self.fail(1011, 0, True)  # keepalive ping timeout
        else:
            # (a payload of its own per ping: the tick count)
            self._ping = bytes(((now_ms >> 24) & 0xFF, (now_ms >> 16) & 0xFF, (now_ms >> 8) & 0xFF, now_ms & 0xFF))
            self._frame(_PING, self._ping, True, 0)
            self._due = ticks_add(now_ms, self.ping_timeout_ms)

    def next_deadline_ms(self):
        """The tick count at which ``tick`` has work to do, or None."""
        return None if self.state == CLOSED else self._due

    # -- receiving ---------------------------------------------------------

    def receive_data(self, data):
        """Feed bytes from the peer (``b""``: end of stream). A writable
        ``data`` (bytearray, memoryview) may be unmasked in place: its
        contents afterwards are undefined; nothing keeps a view of it."""
        global ws_stream
        n = len(data)
        if not n:
            if self.state != CLOSED:
                self._set_closed(1006, "")
            return
        i = 0
        hb = self._hb
        # a writable buffer (a driver's read buffer: a memoryview on
        # MicroPython) is unmasked in place, and a whole message made from it
        rw = type(data) is not bytes
        if rw:
            try:
                data[0] = data[0]
            except TypeError:
                rw = False
        while i < n and self.state != CLOSED:
            if self._left == -1:
                # a whole small masked message (FIN text/binary, no RSV, not
                # inside a fragmented one) in this read: at once
                b0 = data[i]
                k = i + 1 < n and data[i + 1] - 0x80
                if (b0 == 0x81 or b0 == 0x82) and 0 <= k <= 126 and not self._mop and not self.failed and not self.stream:
                    j = i + 2
                    if k == 126:
                        if j + 1 >= n:
                            k = -1
                        else:
                            k = (data[j] << 8) | data[j + 1]
                            j += 2
                    mf = self.max_frame
                    if 0 <= k and j + 4 + k <= n and (mf is None or k <= mf) and (self.max_size is None or k <= self.max_size):
                        copy_into(hb, 0, data, j, 4)
                        j += 4
                        if rw:
                            # in place: one copy (the message), no message
                            # buffer; the bytes/str is made after the unmasking
                            # and keeps nothing of the buffer (reused by the next read)
                            mask_into(data, j, data, j, k, hb, 0)
                            if b0 == 0x82 or utf8_check(data, 0, j, j + k) == 0:
                                self._deliver(b0 == 0x81, data[j : j + k], True)
                                i = j + k
                                continue
                            mask_into(data, j, data, j, k, hb, 0)  # masked again, as it came
                        else:
                            msg = self._msg
                            if msg is None or len(msg) < k:
                                self._reserve(k or 1)
                                msg = self._msg
                            mask_into(msg, 0, data, j, k, hb, 0)
                            if b0 == 0x82 or utf8_check(msg, 0, 0, k) == 0:
                                self._deliver(b0 == 0x81, self._mv[:k], True)
                                i = j + k
                                continue
                        # invalid UTF-8: the general path below fails it
            if self._left < 0:
                # the header: 2 bytes, then the extended length and the mask key
                hn = -1 - self._left
                if hn == 0 and i + 1 < n:
                    # a whole header in this read (the frames of a fragmented
                    # message one after another): copied at once, not byte by byte
                    b1 = data[i + 1]
                    need = 2 + (b1 & 0x80) // 32 + (2 if (b1 & 0x7F) == 126 else 8 if (b1 & 0x7F) == 127 else 0)
                    if i + need <= n:
                        copy_into(hb, 0, data, i, need)
                        i += need
                        hn = need
                while True:
                    b1 = hb[1] if hn >= 2 else 0
                    need = 2 if hn < 2 else (2 + (b1 & 0x80) // 32 + (2 if (b1 & 0x7F) == 126 else 8 if (b1 & 0x7F) == 127 else 0))
                    if hn >= need or i >= n:
                        break
                    hb[hn] = data[i]
                    hn += 1
                    i += 1
                if hn < need:
                    self._left = -1 - hn
                    return
                length = b1 & 0x7F
                j = 2
                if length == 126:
                    length = (hb[2] << 8) | hb[3]
                    j = 4
                elif length == 127:
                    if hb[2] & 0x80:
                        self._op = -1
                        self._left = 0  # (nothing after this can be framed)
                        self.fail(1002, 1, True)  # invalid frame length
                        self._set_closed(1006, "")
                        return
                    length = 0
                    for j in range(2, 10):
                        length = (length << 8) | hb[j]
                    j = 10
                masked = self._masked = b1 >= 0x80
                b0 = hb[0]
                if masked:
                    # the key moves to the front of the header buffer, where the
                    # mask functions read it (one by one: a tuple would allocate)
                    hb[0] = hb[j]
                    hb[1] = hb[j + 1]
                    hb[2] = hb[j + 2]
                    hb[3] = hb[j + 3]
                op = b0 & 0x0F
                rsv = b0 & 0x70
                self._phase = 0
                self._left = length
                if self.failed:
                    # only a Close still counts (into a buffer of its own)
                    if op == _CLOSE and length > _MAX_CONTROL:
                        self._set_closed(1006, "")
                        return
                    self._ctl = bytearray(length) if op == _CLOSE else None
                    self._op = op
                else:
                    err = None
                    code = 1002
                    mop = self._mop
                    if rsv & ~_RSV1:
                        err = 2  # reserved bits set
                    elif rsv and (self.deflate is None or (op != _TEXT and op != _BINARY)):
                        err = 3  # RSV1 set without an extension for it
                    elif not (op <= 2 or 8 <= op <= 10):
                        err = 4  # unknown opcode
                    elif not masked and not self.allow_unmasked:
                        err = 5  # client frame not masked
                    elif op >= 8:
                        if b0 < 0x80:
                            err = 6  # fragmented control frame
                        elif length > _MAX_CONTROL:
                            err = 7  # control frame over 125 bytes
                    elif op == _CONT:
                        if not mop:
                            err = 8  # continuation without a message
                    elif mop:
                        err = 9  # new message inside a fragmented one
                    if err is None and op < 8:
                        code = 1009
                        big = self.max_size
                        if not self.stream and self.max_frame is not None and length > self.max_frame:
                            err = 10  # frame too big
                        elif big is None:
                            pass
                        elif rsv or (op == _CONT and self._mz):
                            # compressed: bounded in stream mode too (a bomb, or on
                            # MicroPython the compressed message held until its end)
                            z = self._mz if op == _CONT else 1
                            if z + length > 2 * big + 1025:
                                err = 11  # compressed message too big
                        elif not self.stream and self._mn + length > big:
                            err = 12  # message too big
                    if err is not None:
                        self._op = -1  # the faulty frame itself counts for nothing
                        self.fail(code, err)
                    elif op >= 8:
                        self._op = op
                        self._ctl = bytearray(length)
                    else:
                        self._op = op + 4 if b0 >= 0x80 else op
                        if op != _CONT:
                            self._mop = op
                            self._mz = 1 if rsv else 0
                            if ws_stream is None and (rsv or self.stream):
                                from microproto import ws_stream
                            self._mn = 0
                            self._utf = 0
                            self._piece = None
                        if self._mz:
                            self._mz += length
                        elif not self.stream:
                            # one allocation, not doublings; a whole message in
                            # one frame: of its size (not kept, or handed out)
                            self._reserve(self._mn + length, b0 >= 0x80 and op != _CONT)
            # the payload (none left: the frame ends here)
            k = self._left
            if k > n - i:
                k = n - i
            if k:
                op = self._op
                if self.failed or op >= 8 or op < 0:
                    # a control frame (after a failure: only a Close) into its buffer
                    ctl = self._ctl
                    if ctl is not None:
                        cn = len(ctl) - self._left
                        if self._masked:
                            mask_into(ctl, cn, data, i, k, hb, self._phase)
                        else:
                            copy_into(ctl, cn, data, i, k)
                        self._phase = (self._phase + k) & 3
                elif not self._mz and not self.stream:
                    # (the message buffer holds the whole frame: reserved with its header)
                    mn = self._mn
                    msg = self._msg
                    if self._masked:
                        if rw and k == n > 256:
                            # a read that is all payload: unmasked in place (the
                            # same alignment on both sides: whole words) and
                            # copied whole (memcpy), twice as fast as one pass
                            # at the message's other alignment; no view made
                            mask_into(data, 0, data, 0, k, hb, self._phase)
                            msg[mn : mn + k] = data
                        else:
                            mask_into(msg, mn, data, i, k, hb, self._phase)  # one pass
                    else:
                        copy_into(msg, mn, data, i, k)
                    self._phase = (self._phase + k) & 3
                    if self._mop == _TEXT:
                        self._utf = utf8_check(msg, self._utf, mn, mn + k)
                    if self._utf < 0:
                        self.fail(1007, 13)  # invalid UTF-8
                    else:
                        self._mn = mn + k
                        if _collect is not None and (mn + k) >> 16 != mn >> 16 and len(msg) > _LARGE:
                            # every 64 KiB of a message over a quarter of
                            # this heap (MicroPython): garbage is freed while it is
                            # still low in the heap, so what is alive when the
                            # message is handed out does not split the free
                            # space above the message buffer (room for it)
                            _collect()
                else:
                    ws_stream.payload(self, data, i, k)
                i += k
                self._left -= k
            if self._left:
                continue
            # the frame's end
            op = self._op
            self._left = -1
            if self.failed or op < 0:
                if op == _CLOSE:
                    code, reason = parse_close(self._ctl)
                    self._ctl = None
                    if reason is None:
                        code, reason = 1006, ""
                    self._set_closed(code, reason)
                continue
            if op >= 8:
                # (the buffer goes: an idle connection holds none)
                payload = bytes(self._ctl)
                self._ctl = None
                if op == _PING:
                    if self.state == OPEN:
                        self._frame(_PONG, payload, True, 0)
                    self._events.append(("ping", payload))
                elif op == _PONG:
                    if payload == self._ping and self.state == OPEN:
                        self._ping = None
                        self._due = ticks_add(self.now, self.ping_interval_ms)
                    self._events.append(("pong", payload))
                else:
                    code, reason = parse_close(payload)
                    if reason is None:
                        self.fail(code, 14)  # invalid close frame
                    else:
                        if self.state == OPEN:
                            # RFC 6455 5.5.1: answer with a Close echoing the status code
                            self.sent_close_code = None if code == 1005 else code
                            self._frame(_CLOSE, build_close(self.sent_close_code), True, 0)
                        self._set_closed(code, reason)
                continue
            if op < 4:
                continue  # not FIN: the message goes on
            text = self._mop == _TEXT
            if self._mz and not ws_stream.end(self):
                continue
            if text and self._utf != 0:
                self.fail(1007, 15)  # invalid UTF-8 (truncated character)
                continue
            if self.stream:
                piece = self._piece
                self._events.append(("fragment", text, b"" if piece is None else piece, True))
                self._piece = None
            else:
                mv = self._mv
                mn = self._mn
                if mn and not text and self.binary_type is not bytes:
                    # the message buffer itself, to the size of the message
                    # (cut on MicroPython: its memory stays, no copy); the
                    # next message makes a new one
                    msg = self._msg
                    self._msg = self._mv = mv = None  # (CPython: no view of it left, so it can be cut)
                    if mn < len(msg):
                        msg[mn:] = b""
                    self._deliver(False, msg, False)
                else:
                    self._deliver(text, mv[:mn] if mn else b"", True)
                    if mv is not None and len(mv) > _KEEP:
                        self._msg = self._mv = None
            self._mop = 0
            self._mn = 0
            self._mz = 0

    def _reserve(self, n, fin=False):
        # a message buffer of at least n bytes (``fin``: for a message in
        # one frame, n exactly when it is not kept for the next message)
        msg = self._msg
        cap = _INITIAL if msg is None else len(msg)
        if n == 0 or (msg is not None and n <= cap):
            return
        if fin and (n > _KEEP or self.binary_type is not bytes):
            cap = n
        while cap < n:
            cap *= 2
        if self.max_size is not None and cap > self.max_size:
            cap = self.max_size
        if cap < n:
            cap = n
        new = bytearray(cap)
        if self._mn:
            copy_into(new, 0, msg, 0, self._mn)
        self._msg = new
        self._mv = memoryview(new)

    def _deliver(self, text, mv, copy):
        # the message: with ``copy``, mv is a view (of _msg, or of the read
        # buffer unmasked in place) made a str/bytes/bytearray of its own
        # here; else mv is the message. To the sink, or an event
        if copy:
            mv = str(mv, "utf-8") if text else self.binary_type(mv)
        s = self.sink
        if s is None:
            self._events.append(("text" if text else "binary", mv))
        else:
            s.append(mv)

    def _set_closed(self, code, reason):
        if self.state == CLOSED:
            return
        self.state = CLOSED
        if self.close_code is None:
            self.close_code = code
            self.close_reason = reason
        self._events.append(("close", self.close_code, self.close_reason))

    def fail(self, code, reason="", now=False):
        """Fail the connection (RFC 6455 7.1.7): send a Close with ``code``
        and stop processing what the peer sends, except its Close.

        (``reason``: text, or the number of a line of the reasons below.) With
        ``defer_close`` (and not ``now``) the Close is not queued yet:
        a ``("failed", code, reason)`` event follows the messages received
        before the fault, and the caller sends the Close with
        ``send_fail_close()`` once those were handled (so that replies to
        them go out first, as the peer expects)."""
        if self.failed:
            return
        if type(reason) is int:
            # one reason a line (one string object instead of one per reason)
            reason = (
                "keepalive ping timeout\ninvalid frame length\nreserved bits set\n"
                "RSV1 set without an extension for it\nunknown opcode\nclient frame not masked\n"
                "fragmented control frame\ncontrol frame over 125 bytes\ncontinuation without a message\n"
                "new message inside a fragmented one\nframe too big\ncompressed message too big\n"
                "message too big\ninvalid UTF-8\ninvalid close frame\ninvalid UTF-8 (truncated character)\n"
                "invalid compressed data"
            ).split("\n")[reason]
        self.failed = True
        self.fail_code = code
        self.fail_reason = reason
        self._mop = 0
        self._piece = None
        if self.state == OPEN:
            if self.defer_close and not now:
                self._events.append(("failed", code, reason))
                self._due = ticks_add(self.now, self.close_timeout_ms)
            else:
                self.send_close(code, reason)

    def send_fail_close(self):
        """Send the Close of a deferred failure (no-op otherwise)."""
        if self.failed and self.state == OPEN:
            self.send_close(self.fail_code, self.fail_reason)

    def next_event(self):
        if self._events:
            return self._events.pop(0)
        return None

    def events_received(self):
        """The events since the last call, in order (a list; none: an empty
        list, without allocating one)."""
        ev = self._events
        if ev:
            self._events = []
        return ev

    def close_expected(self):
        """True when the TCP connection should be closed now."""
        return self.state == CLOSED

    # -- sending -----------------------------------------------------------

    def _frame(self, code, payload, fin, flags):
        # a server frame (opcode ``code``, | ``flags``: RSV bits): its header
        # (2, 4 or 10 bytes), then the payload
        n = len(payload)
        small = n <= _JOIN
        h = 2 if n < 126 else 4 if n < 0x10000 else 10
        # header and a small payload in one new piece; a large one's header
        # in a piece of its own
        buf = bytearray(h + n if small else h)
        buf[0] = (0x80 if fin else 0) | flags | code
        if n < 126:
            buf[1] = n
        elif n < 0x10000:
            buf[1] = 126
            buf[2] = n >> 8
            buf[3] = n & 0xFF
        else:
            buf[1] = 127
            for i in range(9, 1, -1):
                buf[i] = n & 0xFF
                n >>= 8
        out = self._out
        if out is None:
            out = self._out = []
        if small:
            if payload:
                buf[h:] = payload
            out.append(buf)
        else:
            # a large payload goes out as a view: what the transport cannot
            # take at once is then copied once, not sliced and copied again
            out.append(buf)
            out.append(memoryview(payload) if self.parts else payload)

    def send_text(self, data):
        """Queue a text message (``str``, or UTF-8 ``bytes``)."""
        self.send_fragment(data, True, True, True)

    def send_binary(self, data):
        """Queue a binary message."""
        self.send_fragment(bytes(data) if not isinstance(data, bytes) else data, False, True, True)

    def send_fragment(self, data, text=False, fin=False, _whole=False):
        """Queue one fragment of a message (``fin`` on the last); ``text``
        is used by the first fragment only."""
        if self.state != OPEN:
            raise UsageError("connection is not open")
        if isinstance(data, str):
            data = data.encode()
        mop = self._out_mop
        if _whole and mop:
            raise UsageError("a fragmented message is being sent")
        d = self.deflate
        rsv = 0
        if not mop:
            op = _TEXT if text else _BINARY
            mop = op
            if d is not None and d.deflater is not None:
                mop |= _RSV1
                rsv = _RSV1
        else:
            op = _CONT
        if mop & _RSV1:
            data = d.compress(data, fin)
        self._frame(op, data, fin, rsv)
        self._out_mop = 0 if fin else mop

    def send_ping(self, payload=b"", _op=_PING):
        """Queue a ping (``send_pong``: a pong) of at most 125 bytes."""
        if self.state != OPEN:
            raise UsageError("connection is not open")
        if len(payload) > _MAX_CONTROL:
            raise UsageError("%s payload over 125 bytes" % ("ping" if _op == _PING else "pong"))
        self._frame(_op, bytes(payload), True, 0)

    def send_pong(self, payload=b""):
        self.send_ping(payload, _PONG)

    def send_close(self, code=1000, reason=""):
        """Start the closing handshake (no-op unless open)."""
        if self.state != OPEN:
            return
        self.sent_close_code = code
        self._frame(_CLOSE, build_close(code, reason), True, 0)
        self.state = CLOSING
        self._due = ticks_add(self.now, self.close_timeout_ms)

    def data_to_send(self):
        """Bytes queued for the wire (b"" if none); with ``parts`` (the
        asyncio driver), over 1 KiB comes as a list of the parts (frame
        headers and payloads), not joined."""
        out = self._out
        if not out:
            return b""
        if len(out) == 1:
            # one part is a frame made whole in one bytearray (a larger one
            # is two parts); the list is kept: no new one per message
            return out.pop()
        n = self.pending(out)
        if self.parts and n > _JOIN:
            self._out = None
            return out  # header and payload as they are: no copy
        buf = bytearray(n)
        o = 0
        for b in out:
            k = len(b)
            copy_into(buf, o, b, 0, k)
            o += k
        out.clear()
        return buf

    def pending(self, out=None):
        """Number of bytes queued and not yet taken by ``data_to_send``."""
        n = 0
        for b in (self._out or ()) if out is None else out:
            n += len(b)
        return n
