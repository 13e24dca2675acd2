"""WebSocket connection state machine, server side (RFC 6455 5-7), sans-I/O.

    p = ServerProtocol(max_size=..., deflate=PerMessageDeflate(...) or None)
    p.tick(now_ms)            # time comes in from outside
    p.receive_data(data)      # b"": the peer closed the TCP connection
    ev = p.next_event()       # see below; None when nothing is ready
    p.send_text("hi")         # send_binary, send_fragment, send_ping, send_close
    out = p.data_to_send()    # bytes for the wire
    p.close_expected()        # True: close the TCP connection now
    p.next_deadline_ms()      # when to call tick() again (None: no timer)

Events (tuples): ``("text", str)``, ``("binary", bytes)``,
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
the receive path uses one ``scratch_size`` buffer, a 125-byte control
buffer and a message buffer that grows up to ``max_size`` and shrinks back
after large messages. Steady state (uncompressed frames) allocates nothing
in the frame codec.
"""

from microproto.errors import UsageError
from microproto.ws_frames import (
    MAX_CONTROL,
    MAX_HEADER,
    OP_BINARY,
    OP_CLOSE,
    OP_CONT,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    RSV1,
    FrameHeader,
    build_close,
    build_header,
    header_size,
    is_known_opcode,
    parse_close,
)
from microproto_port import const, ticks_add, ticks_diff
from microproto_port.fast import copy_into, mask_into, utf8_check

OPEN = 1
CLOSING = 2
CLOSED = 3

_KEEP = const(65536)  # message buffer kept between messages
_INITIAL = const(256)
_INFLATE_CHUNK = const(8192)
_JOIN = const(1024)  # with ``parts``: larger output goes out as its parts  # inflated bytes per read: small pieces, less fragmentation


class ServerProtocol:
    """One server-side WebSocket connection after the opening handshake."""

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
    ):
        self.defer_close = defer_close
        self.parts = parts
        self.max_size = max_size
        self.max_frame = max_size if max_frame is None else max_frame
        self.stream = stream
        self.deflate = deflate
        self.allow_unmasked = allow_unmasked
        self.ping_interval_ms = ping_interval_ms
        self.ping_timeout_ms = ping_timeout_ms
        self.close_timeout_ms = close_timeout_ms
        self.state = OPEN
        self.failed = False
        self.fail_code = None
        self.fail_reason = ""
        # what the peer sent in its Close (1006: none), and what we sent
        self.close_code = None
        self.close_reason = ""
        self.sent_close_code = None
        self._now = now_ms
        self._close_deadline = None
        self._ping_due = ticks_add(now_ms, ping_interval_ms) if ping_interval_ms else None
        self._ping_payload = None
        self._pong_deadline = None
        self._pings = 0
        # receive side
        self._h = FrameHeader()
        self._hb = bytearray(MAX_HEADER)
        self._hn = 0
        self._left = -1
        self._op = 0
        self._fin = True
        self._phase = 0
        self._ctl = bytearray(MAX_CONTROL)
        self._cn = 0
        self._mop = 0
        self._mz = False
        self._zn = 0
        self._msg = bytearray(_INITIAL)
        self._mn = 0
        self._utf = 0
        self._piece = None
        self._scratch = bytearray(scratch_size)
        self._events = []
        # send side
        self._ohdr = bytearray(MAX_HEADER)
        self._out = []
        self._out_mop = 0
        self._out_z = False

    # -- time --------------------------------------------------------------

    def tick(self, now_ms):
        """Advance the clock: keepalive pings, pong and close timeouts."""
        self._now = now_ms
        if self.state == CLOSING:
            if self._close_deadline is not None and ticks_diff(now_ms, self._close_deadline) >= 0:
                self._set_closed(1006, "")
            return
        if self.failed and self.state == OPEN and ticks_diff(now_ms, self._close_deadline) >= 0:
            self.send_fail_close()  # deferred for too long: the Close goes now
            return
        if self.state != OPEN or not self.ping_interval_ms or self.failed:
            return
        if self._pong_deadline is not None:
            if ticks_diff(now_ms, self._pong_deadline) >= 0:
                self.fail(1011, "keepalive ping timeout", True)
        elif ticks_diff(now_ms, self._ping_due) >= 0:
            self._pings += 1
            p = self._pings
            self._ping_payload = bytes(((p >> 24) & 0xFF, (p >> 16) & 0xFF, (p >> 8) & 0xFF, p & 0xFF))
            self._frame(OP_PING, self._ping_payload, True, 0)
            self._pong_deadline = ticks_add(now_ms, self.ping_timeout_ms)

    def next_deadline_ms(self):
        """The tick count at which ``tick`` has work to do, or None."""
        if self.state == CLOSING or (self.failed and self.state == OPEN):
            return self._close_deadline
        if self.state != OPEN or not self.ping_interval_ms or self.failed:
            return None
        if self._pong_deadline is not None:
            return self._pong_deadline
        return self._ping_due

    # -- receiving ---------------------------------------------------------

    def receive_data(self, data):
        """Feed bytes from the peer (``b""``: end of stream)."""
        n = len(data)
        if not n:
            if self.state != CLOSED:
                self._set_closed(1006, "")
            return
        i = 0
        hb = self._hb
        while i < n and self.state != CLOSED:
            if self._left < 0:
                hn = self._hn
                need = 2 if hn < 2 else header_size(hb[1])
                while hn < need and i < n:
                    hb[hn] = data[i]
                    hn += 1
                    i += 1
                    if hn == 2:
                        need = header_size(hb[1])
                self._hn = hn
                if hn < need:
                    return
                self._hn = 0
                if self._h.parse(hb, 0, need) < 0:
                    self._start_discard()
                    # nothing after this can be framed: close right away
                    self.fail(1002, "invalid frame length", True)
                    self._set_closed(1006, "")
                    return
                self._frame_start()
                if self._left == 0:
                    self._frame_end()
            else:
                k = self._left
                if k > n - i:
                    k = n - i
                last = k == self._left
                self._payload(data, i, k, last)
                i += k
                if self._left > 0:
                    self._left -= k
                if self._left == 0:
                    self._frame_end()

    def _start_discard(self):
        h = self._h
        self._op = h.opcode
        self._left = h.length
        self._cn = 0
        self._phase = 0

    def _frame_start(self):
        h = self._h
        op = h.opcode
        if self.failed:
            if op == OP_CLOSE and h.length > MAX_CONTROL:
                self._set_closed(1006, "")
            self._start_discard()
            return
        err = None
        code = 1002
        if h.rsv & ~RSV1:
            err = "reserved bits set"
        elif h.rsv and (self.deflate is None or (op != OP_TEXT and op != OP_BINARY)):
            err = "RSV1 set without an extension for it"
        elif not is_known_opcode(op):
            err = "unknown opcode"
        elif not h.masked and not self.allow_unmasked:
            err = "client frame not masked"
        elif op >= 8:
            if not h.fin:
                err = "fragmented control frame"
            elif h.length > MAX_CONTROL:
                err = "control frame over 125 bytes"
        elif op == OP_CONT:
            if not self._mop:
                err = "continuation without a message"
        elif self._mop:
            err = "new message inside a fragmented one"
        if err is None and op < 8:
            code = 1009
            big = self.max_size
            if not self.stream and self.max_frame is not None and h.length > self.max_frame:
                err = "frame too big"
            elif big is None:
                pass
            elif h.rsv or (op == OP_CONT and self._mz):
                # compressed: bounded in stream mode too (a bomb, or on
                # MicroPython the compressed message held until its end)
                if self._zn + h.length > 2 * big + 1024:
                    err = "compressed message too big"
            elif not self.stream and self._mn + h.length > big:
                err = "message too big"
        if err is not None:
            self._start_discard()
            self._op = -1  # the faulty frame itself counts for nothing
            self.fail(code, err)
            return
        if op != OP_CONT and op < 8:
            self._mop = op
            self._mz = bool(h.rsv)
            self._mn = 0
            self._zn = 0
            self._utf = 0
            self._piece = None
        if op < 8:
            self._fin = h.fin
            if self._mz:
                self._zn += h.length
            elif not self.stream:
                self._reserve(self._mn + h.length)  # one allocation, not doublings
        self._op = op
        self._left = h.length
        self._phase = 0
        self._cn = 0

    def _payload(self, data, i, k, last):
        h = self._h
        op = self._op
        failed = self.failed
        if failed or op >= 8:
            # a control frame (after a failure: only a Close) into its buffer
            if op == OP_CLOSE or (op >= 8 and not failed):
                cn = self._cn
                if h.masked:
                    mask_into(self._ctl, cn, data, i, k, h.key, self._phase)
                else:
                    copy_into(self._ctl, cn, data, i, k)
                self._cn = cn + k
                self._phase = (self._phase + k) & 3
            return
        text = self._mop == OP_TEXT
        if not self._mz and not self.stream:
            mn = self._mn
            self._reserve(mn + k)
            msg = self._msg
            if h.masked:
                mask_into(msg, mn, data, i, k, h.key, self._phase)  # one pass
            else:
                copy_into(msg, mn, data, i, k)
            self._phase = (self._phase + k) & 3
            if text:
                self._utf = utf8_check(msg, self._utf, mn, mn + k)
                if self._utf < 0:
                    self.fail(1007, "invalid UTF-8")
                    return
            self._mn = mn + k
            return
        sc = self._scratch
        size = len(sc)
        while k > 0 and not self.failed:
            c = size if k > size else k
            if h.masked:
                mask_into(sc, 0, data, i, c, h.key, self._phase)
            else:
                copy_into(sc, 0, data, i, c)
            self._phase = (self._phase + c) & 3
            if self._mz:
                self.deflate.inflater.feed(memoryview(sc)[:c])
                self._inflate()
            else:
                if text:
                    self._utf = utf8_check(sc, self._utf, 0, c)
                    if self._utf < 0:
                        self.fail(1007, "invalid UTF-8")
                        return
                self._emit_piece(bytes(memoryview(sc)[:c]))
            i += c
            k -= c

    def _emit_piece(self, piece):
        if self._piece is not None:
            self._events.append(("fragment", self._mop == OP_TEXT, self._piece, False))
        self._piece = piece

    def _inflate(self):
        inf = self.deflate.inflater
        text = self._mop == OP_TEXT
        chunk = len(self._scratch)
        if chunk > _INFLATE_CHUNK:
            chunk = _INFLATE_CHUNK
        while not self.failed:
            # the inflated size is bounded by max_size in stream mode too
            if self.max_size is None:
                budget = chunk
                limited = False
            else:
                budget = self.max_size - self._mn
                limited = True
            try:
                out = inf.read(budget + 1 if budget < chunk else chunk)
            except ValueError:
                self.fail(1007, "invalid compressed data")
                return
            if not out:
                return
            n = len(out)
            if limited and n > budget:
                self.fail(1009, "message too big")
                return
            if text:
                self._utf = utf8_check(out, self._utf)
                if self._utf < 0:
                    self.fail(1007, "invalid UTF-8")
                    return
            if self.stream:
                self._emit_piece(out)
                self._mn += n
            else:
                mn = self._mn
                self._reserve(mn + n)
                copy_into(self._msg, mn, out, 0, n)
                self._mn = mn + n

    def _reserve(self, need):
        cap = len(self._msg)
        if need <= cap:
            return
        cap *= 2
        while cap < need:
            cap *= 2
        if self.max_size is not None and cap > self.max_size:
            cap = self.max_size
        if cap < need:
            cap = need
        new = bytearray(cap)
        copy_into(new, 0, self._msg, 0, self._mn)
        self._msg = new

    def _frame_end(self):
        op = self._op
        self._left = -1
        if self.failed:
            if op == OP_CLOSE:
                code, reason = parse_close(memoryview(self._ctl)[: self._cn])
                if reason is None:
                    code, reason = 1006, ""
                self._set_closed(code, reason)
            return
        if op >= 8:
            payload = bytes(memoryview(self._ctl)[: self._cn])
            if op == OP_PING:
                if self.state == OPEN:
                    self._frame(OP_PONG, payload, True, 0)
                self._events.append(("ping", payload))
            elif op == OP_PONG:
                if self._ping_payload is not None and payload == self._ping_payload:
                    self._ping_payload = None
                    self._pong_deadline = None
                    self._ping_due = ticks_add(self._now, self.ping_interval_ms)
                self._events.append(("pong", payload))
            else:
                self._on_close(payload)
            return
        if not self._fin:
            return
        text = self._mop == OP_TEXT
        if self._mz:
            inf = self.deflate.inflater
            inf.end()
            self._inflate()
            if self.failed:
                return
            inf.reset_if_needed()
        if text and self._utf != 0:
            self.fail(1007, "invalid UTF-8 (truncated character)")
            return
        if self.stream:
            piece = self._piece
            self._events.append(("fragment", text, b"" if piece is None else piece, True))
            self._piece = None
        else:
            mv = memoryview(self._msg)[: self._mn]
            if text:
                self._events.append(("text", str(mv, "utf-8")))
            else:
                self._events.append(("binary", bytes(mv)))
            if len(self._msg) > _KEEP:
                self._msg = bytearray(_INITIAL)
        self._mop = 0
        self._mn = 0
        self._zn = 0
        self._mz = False

    def _on_close(self, payload):
        code, reason = parse_close(payload)
        if reason is None:
            self.fail(code, "invalid close frame")
            return
        if self.state == OPEN:
            # RFC 6455 5.5.1: answer with a Close echoing the status code
            self.sent_close_code = None if code == 1005 else code
            self._frame(OP_CLOSE, build_close(self.sent_close_code), True, 0)
        self._set_closed(code, reason)

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

        With ``defer_close`` (and not ``now``) the Close is not queued yet:
        a ``("failed", code, reason)`` event follows the messages received
        before the fault, and the caller sends the Close with
        ``send_fail_close()`` once those were handled (so that replies to
        them go out first, as the peer expects)."""
        if self.failed:
            return
        self.failed = True
        self.fail_code = code
        self.fail_reason = reason
        self._mop = 0
        self._piece = None
        if self.state == OPEN:
            if self.defer_close and not now:
                self._events.append(("failed", code, reason))
                self._close_deadline = ticks_add(self._now, self.close_timeout_ms)
            else:
                self._send_close(code, reason)

    def send_fail_close(self):
        """Send the Close of a deferred failure (no-op otherwise)."""
        if self.failed and self.state == OPEN:
            self._send_close(self.fail_code, self.fail_reason)

    def next_event(self):
        if self._events:
            return self._events.pop(0)
        return None

    def events_received(self):
        ev = self._events
        self._events = []
        return ev

    def close_expected(self):
        """True when the TCP connection should be closed now."""
        return self.state == CLOSED

    # -- sending -----------------------------------------------------------

    def _frame(self, op, payload, fin, rsv):
        n = build_header(self._ohdr, 0, op, fin, len(payload), rsv)
        self._out.append(bytes(memoryview(self._ohdr)[:n]))
        if payload:
            self._out.append(payload)

    def _check_open(self):
        if self.state != OPEN:
            raise UsageError("connection is not open")

    def _compressor(self):
        d = self.deflate
        if d is not None and d.deflater is not None:
            return d
        return None

    def send_text(self, data):
        """Queue a text message (``str``, or UTF-8 ``bytes``)."""
        if isinstance(data, str):
            data = data.encode()
        self._send_message(OP_TEXT, data)

    def send_binary(self, data):
        """Queue a binary message."""
        self._send_message(OP_BINARY, bytes(data) if not isinstance(data, bytes) else data)

    def _send_message(self, op, data):
        self._check_open()
        if self._out_mop:
            raise UsageError("a fragmented message is being sent")
        d = self._compressor()
        if d is not None:
            self._frame(op, d.compress(data, True), True, RSV1)
        else:
            self._frame(op, data, True, 0)

    def send_fragment(self, data, text=False, fin=False):
        """Queue one fragment of a message (``fin`` on the last); ``text``
        is used by the first fragment only."""
        self._check_open()
        if isinstance(data, str):
            data = data.encode()
        rsv = 0
        if not self._out_mop:
            op = OP_TEXT if text else OP_BINARY
            self._out_mop = op
            self._out_z = self._compressor() is not None
            if self._out_z:
                rsv = RSV1
        else:
            op = OP_CONT
        if self._out_z:
            data = self.deflate.compress(data, fin)
        self._frame(op, data, fin, rsv)
        if fin:
            self._out_mop = 0
            self._out_z = False

    def send_ping(self, payload=b""):
        self._check_open()
        if len(payload) > MAX_CONTROL:
            raise UsageError("ping payload over 125 bytes")
        self._frame(OP_PING, bytes(payload), True, 0)

    def send_pong(self, payload=b""):
        self._check_open()
        if len(payload) > MAX_CONTROL:
            raise UsageError("pong payload over 125 bytes")
        self._frame(OP_PONG, bytes(payload), True, 0)

    def send_close(self, code=1000, reason=""):
        """Start the closing handshake (no-op unless open)."""
        if self.state == OPEN:
            self._send_close(code, reason)

    def _send_close(self, code, reason):
        self.sent_close_code = code
        self._frame(OP_CLOSE, build_close(code, reason), True, 0)
        self.state = CLOSING
        self._close_deadline = ticks_add(self._now, self.close_timeout_ms)

    def data_to_send(self):
        """Bytes queued for the wire (b"" if none); with ``parts`` (the
        asyncio driver), over 1 KiB comes as a list of the parts (frame
        headers and payloads), not joined."""
        out = self._out
        if not out:
            return b""
        self._out = []
        if len(out) == 1:
            b = out[0]
            return b if isinstance(b, (bytes, bytearray)) else bytes(b)
        n = 0
        for b in out:
            n += len(b)
        if self.parts and n > _JOIN:
            return out  # header and payload as they are: no copy
        buf = bytearray(n)
        o = 0
        for b in out:
            k = len(b)
            copy_into(buf, o, b, 0, k)
            o += k
        return buf

    def pending(self):
        """Number of bytes queued and not yet taken by ``data_to_send``."""
        n = 0
        for b in self._out:
            n += len(b)
        return n
