"""DHCP client state machine (RFC 2131 4.4) and wire format, sans-I/O.

    c = Client(mac, rand, hostname=..., rapid_commit=...)   # rand(n) -> n random bytes
    c.start(now_ms, lease=None)     # INIT, or INIT-REBOOT with a remembered Lease
    c.receive_datagram(data, now_ms)
    c.tick(now_ms)                  # time comes in from outside
    out = c.datagram_to_send()      # (bytes, dest) or None; dest None: broadcast
    ev = c.next_event()             # (name, Lease or None) or None
    c.next_deadline_ms()            # ticks value when tick() is due (None: no timer)
    c.release(now_ms)               # or decline=True; start(now_ms, inform=IP / probe=True)

Events: ``bound``, ``renewing``, ``renewed``, ``rebinding``, ``rebound``,
``expired`` (the lease ran out: back to INIT), ``nak`` (back to INIT after
``nak_delay_ms``), ``declined``, ``released``, ``informed`` (INFORM's ACK),
``offer`` (probe mode: every offer from every server), ``gave_up``
(REQUEST or INFORM unanswered after ``max_tries``). ``state`` is 0 INIT,
1 SELECTING, 2 REQUESTING, 3 BOUND, 4 RENEWING, 5 REBINDING, 6 REBOOTING,
7 INFORMING, 8 PROBING, 9 STOPPED.

Rules (RFC 2131 table 5): DISCOVER carries no server id and ciaddr 0;
REQUEST from SELECTING carries requested IP and server id, from INIT-REBOOT
the requested IP only, from RENEWING (unicast to the server) and REBINDING
(broadcast) neither, with ciaddr set; DECLINE carries requested IP, server
id and a message, secs 0; RELEASE (unicast) the server id and ciaddr;
INFORM has ciaddr and no requested IP, server id or lease time. DECLINE and
RELEASE carry no parameter list, hostname, max size or other options. The
broadcast flag is set on DISCOVER and on REQUESTs sent without ciaddr.

Every reply is checked: BOOTREPLY, Ethernet, the current exchange's xid,
our chaddr, the magic cookie, a server identifier (the chosen server's in
REQUESTING and RENEWING), a non-zero yiaddr and a lease time in OFFER/ACK.
Anything else is ignored and counted in ``ignored`` (``last_ignored`` says
why). Retransmission: 4, 8, 16, 32, 64, 64 ... s (``retry_base_ms``,
``retry_max_ms``) each +-1 s of jitter; RENEWING/REBINDING retry at half
the time left to T2/expiry, at least 60 s. Lease timers run on a clock in
seconds (times clamped to 2**30-1 s; 0xffffffff, ``lease_s == -1``, never
expires) and no deadline is more than 2**27 ms away, so ticks arithmetic
stays exact and every integer stays small on a board.

Wire format (RFC 2131 2, RFC 3396): ``parse`` is total: a dict of options
({code: bytes}, the message type under 53) or ``PeerError``, never another
exception. At least the 236-byte fixed part and the magic cookie,
BOOTREPLY, Ethernet, a one-byte message type; pad is skipped, end stops a
field, an option running past its field is an error, repeated codes are
joined (RFC 3396), option overload (52) adds ``file`` then ``sname``; an
overload inside those fields is not followed. Memory is bounded by the
datagram. Decoders of option values (and the lease's fields beyond
address and times) are in ``microproto.dhcp_lease``, loaded on first use.
"""

from microproto_port import const, ticks_add, ticks_diff

_INIT = const(0)
_SELECTING = const(1)
_REQUESTING = const(2)
_BOUND = const(3)
_RENEWING = const(4)
_REBINDING = const(5)
_REBOOTING = const(6)
_INFORMING = const(7)
_PROBING = const(8)
_STOPPED = const(9)

_BUF_SIZE = const(548)  # 576 (RFC 2131 2) minus IP and UDP headers
_MIN_SIZE = const(300)  # RFC 1542 3.2
_MAGIC = b"\x63\x82\x53\x63"
_BCAST = const(0x8000)
_CAP_MS = const(1 << 27)  # ~37 h: no deadline further out
_CAP_S = const(1 << 17)

# RFC 2132 9.6 message types
_DISCOVER = const(1)
_OFFER = const(2)
_REQUEST = const(3)
_DECLINE = const(4)
_ACK = const(5)
_NAK = const(6)
_RELEASE = const(7)
_INFORM = const(8)

# RFC 2132 (and RFC 4039, RFC 4361, RFC 4702) option codes used here
_O_REQ_IP = const(50)
_O_LEASE = const(51)
_O_OVERLOAD = const(52)
_O_TYPE = const(53)
_O_SERVER = const(54)
_O_PARAMS = const(55)
_O_MESSAGE = const(56)
_O_MAXSIZE = const(57)
_O_T1 = const(58)
_O_T2 = const(59)
_O_VENDOR = const(60)
_O_CLIENT_ID = const(61)
_O_RAPID = const(80)
_O_FQDN = const(81)
_O_HOSTNAME = const(12)

# 1 mask, 121 classless routes (RFC 3442, before 3), 3 router, 6 DNS,
# 12 host name, 15 domain, 26 MTU, 28 broadcast, 42 NTP, 119 search
PARAMS = b"\x01\x79\x03\x06\x0c\x0f\x1a\x1c\x2a\x77"


def _check(data, reply):
    # The options of a datagram, or the reason (str) why it is not valid.
    if len(data) < 240:
        return "short message"
    if bytes(data[236:240]) != _MAGIC:
        return "no magic cookie"
    if reply and data[0] != 2:
        return "not a reply"
    if data[1] != 1 or data[2] != 6:
        return "not Ethernet"
    opts = {}
    over = 0
    # options, then file (overload 1), then sname (2): RFC 3396
    for i, end, bit in ((240, len(data), 0), (108, 236, 1), (44, 108, 2)):
        if bit and not over & bit:
            continue
        while i < end:
            code = data[i]
            if code == 255:
                break
            if code == 0:
                i += 1
                continue
            if i + 1 >= end:
                return "truncated option %d" % code
            j = i + 2 + data[i + 1]
            if j > end:
                return "option %d runs past its field" % code
            v = bytes(data[i + 2 : j])
            if code == _O_OVERLOAD:
                if not bit and len(v) == 1:
                    over = v[0]
            else:
                old = opts.get(code)
                opts[code] = v if old is None else old + v
            i = j
    t = opts.get(_O_TYPE)
    if t is None or len(t) != 1 or not t[0]:
        return "no message type"
    return opts


def _error(kind, reason):
    # microproto.errors is loaded only when an error is raised: the client
    # itself counts bad datagrams and raises nothing in normal operation
    from microproto import errors

    return getattr(errors, kind)(reason)


def parse(data, reply=True):
    """The options of one DHCP datagram as {code: bytes} (see the module
    rules; ``reply=False`` also accepts BOOTREQUESTs). Raises ``PeerError``,
    and nothing else, when the datagram is not valid."""
    r = _check(data, reply)
    if isinstance(r, str):
        raise _error("PeerError", r)
    return r


def build(buf, mtype, xid, mac, ciaddr=None, flags=0, secs=0, options=()):
    """Write a BOOTREQUEST of DHCP type ``mtype`` into ``buf`` (548 bytes or
    more) and return its length (at least 300, RFC 1542). ``options``:
    ``(code, bytes)`` pairs, after the message type; ``ValueError`` if they
    do not fit."""
    for i in range(240):
        buf[i] = 0
    buf[0:3] = b"\x01\x01\x06"
    buf[4:8] = xid
    buf[8] = (secs >> 8) & 0xFF
    buf[9] = secs & 0xFF
    buf[10] = flags >> 8
    if ciaddr:
        buf[12:16] = ciaddr
    buf[28:34] = mac
    buf[236:240] = _MAGIC
    buf[240:243] = bytes((_O_TYPE, 1, mtype))
    i = 243
    for code, v in options:
        n = len(v)
        if n > 255 or i + 3 + n > len(buf):
            raise ValueError("options do not fit")
        buf[i] = code
        buf[i + 1] = n
        buf[i + 2 : i + 2 + n] = v
        i += 2 + n
    buf[i] = 255
    i += 1
    if i < _MIN_SIZE:
        buf[i:_MIN_SIZE] = bytes(_MIN_SIZE - i)
        i = _MIN_SIZE
    return i


def ip_str(b):
    """Dotted text of a 4-byte address."""
    return "%d.%d.%d.%d" % (b[0], b[1], b[2], b[3])


def ip_bytes(s):
    """4 bytes of a dotted IPv4 address; ``ValueError`` if it is not one."""
    p = s.split(".")
    if len(p) != 4:
        raise ValueError("not an IPv4 address")
    b = [int(x) for x in p]  # ValueError if not a number
    if min(b) < 0 or max(b) > 255:
        raise ValueError("not an IPv4 address")
    return bytes(b)


def seconds(v):
    """A 32-bit time in seconds: -1 for 0xffffffff (infinite), clamped to
    2**30-1 above that (a small int on boards); None if not 4 bytes."""
    if v is None or len(v) != 4:
        return None
    if v == b"\xff\xff\xff\xff":
        return -1
    if v[0] >= 0x40:
        return 0x3FFFFFFF
    return (v[0] << 24) | (v[1] << 16) | (v[2] << 8) | v[3]


class Lease:
    """What a server granted: ``ip``, ``server`` (dotted text),
    ``lease_s``/``t1_s``/``t2_s`` (seconds, -1: infinite; T1/T2 default to
    0.5/0.875 of the lease, and the server's values count only if 0 < T1 <=
    T2 <= lease, RFC 2131 4.4.5). Its options are kept packed (code, 2-byte
    length, value); ``opts`` ({code: bytes}) and the other fields
    (``mask``, ``routers``, ``dns``, ``routes``, ``domain``, ...) are
    decoded on first use by ``microproto.dhcp_lease``."""

    def __init__(self, ip, server, opts):
        self.ip = ip
        self.server = server
        packed = bytearray()
        for k in opts:
            v = opts[k]
            packed += bytes((k, len(v) >> 8, len(v) & 0xFF))
            packed += v
        self.packed = bytes(packed)
        lease = self.lease_s = seconds(opts.get(_O_LEASE))
        if lease is None or lease < 0:
            self.t1_s = self.t2_s = lease
            return
        t1 = seconds(opts.get(_O_T1))
        t2 = seconds(opts.get(_O_T2))
        if t2 is None or not 0 < t2 <= lease:
            t2 = lease - (lease >> 3)
        if t1 is None or not 0 < t1 <= t2:
            t1 = min(lease >> 1, t2)
        self.t1_s = t1
        self.t2_s = t2

    def __getattr__(self, name):
        from microproto.dhcp_lease import field

        return field(self, name)


class Client:
    """The DHCP client of one interface with hardware address ``mac`` (6
    bytes). ``rand(n)`` gives random bytes (xids, jitter). ``client_id``:
    option 61 (default: RFC 4361, type 255, IAID from the MAC and a
    DUID-LL; ``b""``: none). ``fqdn``: option 81 (RFC 4702, the server
    updates DNS). ``choose_offer(lease) -> bool`` may refuse an offer
    (default: the first valid one is taken)."""

    def __init__(self, mac, rand, client_id=None, hostname=None, fqdn=None, rapid_commit=False,
                 params=PARAMS, vendor_class=None, choose_offer=None, retry_base_ms=4000,
                 retry_max_ms=64000, max_tries=4, nak_delay_ms=3000, decline_delay_ms=10000):
        if len(mac) != 6:
            raise _error("UsageError", "mac must be 6 bytes")
        self.mac = mac = bytes(mac)
        self.rand = rand
        if client_id is None:
            client_id = b"\xff" + mac[2:] + b"\x00\x03\x00\x01" + mac
        # options of DISCOVER/REQUEST/INFORM after the per-state ones
        opts = [(_O_MAXSIZE, b"\x02\x40")]  # 576 (RFC 2132 9.10)
        if client_id:
            opts.append((_O_CLIENT_ID, client_id))
        if params:
            opts.append((_O_PARAMS, params))
        if vendor_class:
            opts.append((_O_VENDOR, vendor_class))
        if hostname:
            opts.append((_O_HOSTNAME, hostname.encode()))
        if fqdn:
            from microproto.dhcp_lease import encode_name

            opts.append((_O_FQDN, b"\x05\x00\x00" + encode_name(fqdn)))
        self._opts = opts
        self._cid = client_id
        self.rapid_commit = rapid_commit
        self.choose_offer = choose_offer
        self._cfg = (retry_base_ms, retry_max_ms, max_tries, nak_delay_ms, decline_delay_ms)
        self._out = []  # datagrams, then events: ("", (data, dest)) / (name, lease)
        self.state = _STOPPED
        self.lease = None
        self.ignored = 0
        self.last_ignored = None
        self.sent = 0
        self._xid = None
        self._last = None
        self._s = 0  # lease clock, seconds (+ _frac ms)
        self._frac = 0
        self._retx = None  # ticks deadline of the exchange timer
        self._tries = 0
        self._x_s = 0  # when the exchange began (lease clock)
        self._ip = None  # 4 bytes: offered/bound/INFORM address
        self._sid = None  # 4 bytes: the chosen server
        self._t = None  # (T1, T2, expiry) on the lease clock

    def _clock(self, now_ms):
        if self._last is not None:
            d = ticks_diff(now_ms, self._last)
            if d > 0:
                ms = self._frac + d
                self._s += ms // 1000
                self._frac = ms % 1000
        self._last = now_ms

    def _left_ms(self, at_s):
        d = at_s - self._s
        return _CAP_MS if d > _CAP_S else d * 1000 - self._frac

    def next_deadline_ms(self):
        """The ticks value at which ``tick`` must next be called, or None."""
        st = self.state
        best = None if self._retx is None else ticks_diff(self._retx, self._last)
        if self._t and _BOUND <= st <= _REBINDING:
            left = self._left_ms(self._t[st - _BOUND])  # T1 / T2 / expiry
            if best is None or left < best:
                best = left
        if best is None:
            return None
        return ticks_add(self._last, best if best > 0 else 0)

    def start(self, now_ms, lease=None, probe=False, inform=None, server=None):
        """Begin: DISCOVER (INIT), or with a remembered ``lease`` a REQUEST
        for its address (INIT-REBOOT). ``probe``: send one DISCOVER and
        report every OFFER as an ``offer`` event, request nothing, never
        retransmit (rogue server detection). ``inform``: an address
        configured by other means: DHCPINFORM (to ``server`` or broadcast),
        ending in ``informed`` or ``gave_up``."""
        self._clock(now_ms)
        st = _SELECTING
        if probe:
            st = _PROBING
        elif inform:
            st = _INFORMING
            self._ip = ip_bytes(inform)
            self._sid = ip_bytes(server) if server else None
        elif lease is not None:
            st = _REBOOTING
            self.lease = lease
            self._ip = ip_bytes(lease.ip)
        self._exchange(st)

    def release(self, now_ms, lease=None, decline=False):
        """Give the lease (default: the current one) back: DHCPRELEASE,
        unicast to its server, and stop. ``decline``: the bound address is in
        use by someone else: DHCPDECLINE, then DISCOVER again after
        ``decline_delay_ms`` (RFC 2131 3.1 step 5). Loads ``dhcp_lease``."""
        from microproto.dhcp_lease import final

        self._clock(now_ms)
        final(self, lease or self.lease, decline)

    def datagram_to_send(self):
        """``(data, dest)``: the next datagram for UDP port 67 (dest: dotted
        server address, or None to broadcast), or None."""
        for i in range(len(self._out)):
            if self._out[i][0] == "":
                return self._out.pop(i)[1]
        return None

    def next_event(self):
        """The next ``(name, lease)`` event, or None."""
        for i in range(len(self._out)):
            if self._out[i][0]:
                return self._out.pop(i)
        return None

    def tick(self, now_ms):
        """Run the timers that are due at ``now_ms``."""
        self._clock(now_ms)
        t = self._t
        if t and _BOUND <= self.state <= _REBINDING:
            if self._left_ms(t[2]) <= 0:
                self._stop(_STOPPED, None, "expired")
                self._exchange(_SELECTING)
            else:
                if self.state == _BOUND and self._left_ms(t[0]) <= 0:
                    self._out.append(("renewing", self.lease))
                    self._exchange(_RENEWING)
                if self.state == _RENEWING and self._left_ms(t[1]) <= 0:
                    self._out.append(("rebinding", self.lease))
                    self._exchange(_REBINDING)
        if self._retx is None or ticks_diff(self._retx, now_ms) > 0:
            return
        self._retx = None
        st = self.state
        if st == _INIT:
            return self._exchange(_SELECTING)
        self._tries += 1
        if st in (_REQUESTING, _REBOOTING, _INFORMING) and self._tries >= self._cfg[2]:
            self._stop(_STOPPED, None, "gave_up")
            if st != _INFORMING:
                self._exchange(_SELECTING)
            return
        self._send()

    def receive_datagram(self, data, now_ms):
        """One datagram that arrived on UDP port 68."""
        self._clock(now_ms)
        st = self.state
        why = None
        if st in (_STOPPED, _INIT, _BOUND):
            why = "no exchange"
        else:
            opts = _check(data, True)
            if isinstance(opts, str):
                why = opts
        if why is None:
            sid = opts.get(_O_SERVER)
            t = opts[_O_TYPE][0]
            yi = bytes(data[16:20])
            grant = yi != b"\0\0\0\0" and seconds(opts.get(_O_LEASE)) not in (None, 0)
            if bytes(data[4:8]) != self._xid:
                why = "xid"
            elif bytes(data[28:34]) != self.mac:
                why = "chaddr"
            elif sid is None or len(sid) != 4:
                why = "no server id"
            elif st == _INFORMING:
                if t == _ACK and (self._sid is None or sid == self._sid):
                    self.lease = Lease(ip_str(self._ip), ip_str(sid), opts)
                    return self._stop(_STOPPED, None, "informed")
                why = "type"
            elif st in (_REQUESTING, _RENEWING) and sid != self._sid:
                why = "server id"
            elif st in (_SELECTING, _PROBING) and t == _OFFER and grant:
                lease = Lease(ip_str(yi), ip_str(sid), opts)
                if st == _PROBING:
                    return self._out.append(("offer", lease))
                if self.choose_offer is None or self.choose_offer(lease):
                    # RFC 2131 4.4.1: the REQUEST keeps the DISCOVER's xid
                    self._ip = yi
                    self._sid = sid
                    self.state = _REQUESTING
                    self._tries = 0
                    return self._send()
                why = "refused offer"
            elif t == _ACK and (st != _SELECTING or self.rapid_commit and _O_RAPID in opts) and st != _PROBING:
                if grant:
                    lease = self.lease = Lease(ip_str(yi), ip_str(sid), opts)
                    self._ip = yi
                    self._sid = sid
                    self._stop(_BOUND, None, "renewed" if st == _RENEWING else "rebound" if st == _REBINDING
                               else "bound")
                    if lease.lease_s >= 0:
                        # RFC 2131 4.4.1: the lease runs from when the request
                        # was sent; the exchange's start is the safe end of that
                        b = self._x_s
                        self._t = (b + lease.t1_s, b + lease.t2_s, b + lease.lease_s)
                    return
                why = "ack"
            elif t == _NAK and st > _SELECTING and st != _PROBING:
                return self._stop(_INIT, self._cfg[3], "nak")
            else:
                why = "offer" if t == _OFFER else "type"
        self.ignored += 1
        self.last_ignored = why

    def _stop(self, state, delay_ms, event):
        # Leave the exchange for ``state``, reporting ``event`` with the
        # lease; the lease is kept only when bound.
        self.state = state
        self._retx = None if delay_ms is None else ticks_add(self._last, delay_ms)
        self._t = None
        self._out.append((event, self.lease))
        if state != _BOUND:
            self.lease = None

    def _exchange(self, state):
        # a new exchange: new xid (RFC 2131 4.4.1), first transmission
        if state == _SELECTING:
            self._ip = self._sid = None
        self.state = state
        self._xid = self.rand(4)
        self._tries = 0
        self._x_s = self._s
        self._send()

    def _send(self):
        # (Re)transmit the current state's message and set its timer.
        st = self.state
        opts = []
        ciaddr = dest = None
        flags = _BCAST
        mtype = _REQUEST
        if st == _SELECTING or st == _PROBING:
            mtype = _DISCOVER
            if self.rapid_commit and st == _SELECTING:
                opts.append((_O_RAPID, b""))
        elif st == _REQUESTING:
            opts.append((_O_REQ_IP, self._ip))
            opts.append((_O_SERVER, self._sid))
        elif st == _REBOOTING:
            opts.append((_O_REQ_IP, self._ip))
        else:
            ciaddr = self._ip
            flags = 0
            if st == _INFORMING:
                mtype = _INFORM
                dest = ip_str(self._sid) if self._sid else None
            elif st == _RENEWING:
                dest = ip_str(self._sid)
        s = self._s - self._x_s
        self._put(mtype, ciaddr, flags, s if s < 0xFFFF else 0xFFFF, opts + self._opts, dest)
        if st == _PROBING:
            return
        if st == _RENEWING or st == _REBINDING:
            # RFC 2131 4.4.5: half the time left to T2 / expiry, at least
            # 60 s, never past it
            at = self._t[st - _BOUND]
            w = (at - self._s) >> 1
            d = self._left_ms(self._s + w if w > 60 else at if at - self._s <= 60 else self._s + 60)
        else:
            # RFC 2131 4.1: 4, 8, 16, 32, 64 s, each -1..+1 s at random
            base, top = self._cfg[0], self._cfg[1]
            d = top if self._tries >= 5 else min(base << self._tries, top)
            d += (self.rand(1)[0] % 201 - 100) * 10
        self._retx = ticks_add(self._last, d if d > 0 else 0)

    def _put(self, mtype, ciaddr, flags, secs, opts, dest):
        buf = bytearray(_BUF_SIZE)
        n = build(buf, mtype, self._xid, self.mac, ciaddr, flags, secs, opts)
        self._out.append(("", (memoryview(buf)[:n], dest)))
        self.sent += 1
