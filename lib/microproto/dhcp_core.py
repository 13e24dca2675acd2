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
# sets of states as bit masks (1 << state)
_IDLE = const(1 << _STOPPED | 1 << _INIT | 1 << _BOUND)  # no exchange running
_GIVE_UP = const(1 << _REQUESTING | 1 << _REBOOTING | 1 << _INFORMING)  # after max_tries
_CHOSEN = const(1 << _REQUESTING | 1 << _RENEWING)  # only the chosen server answers
_DISCOVERING = const(1 << _SELECTING | 1 << _PROBING)

_BUF_SIZE = const(548)  # 576 (RFC 2131 2) minus IP and UDP headers
_MIN_SIZE = const(300)  # RFC 1542 3.2
_BCAST = const(0x8000)
_CAP_MS = const(1 << 27)  # ~37 h: no deadline further out
_CAP_S = const(1 << 17)

# Client._v: the private state in one list (one interned name, not one per
# field; dhcp_lease.final uses _XID, _OPTS, _DECLINE_MS, _OUT too)
_XID = const(0)  # the exchange's xid (4 bytes)
_TRIES = const(1)  # transmissions of the exchange so far, minus one
_X_S = const(2)  # when the exchange began (lease clock)
_RETX = const(3)  # ticks deadline of the exchange timer, or None
_LAST = const(4)  # ticks of the last call: the core's "now"
_S = const(5)  # lease clock: seconds ...
_FRAC = const(6)  # ... and ms
_IP = const(7)  # 4 bytes: offered/bound/INFORM address
_SID = const(8)  # 4 bytes: the chosen server
_T = const(9)  # (T1, T2, expiry) on the lease clock, or None
_OPTS = const(10)  # options after the per-state ones
_BASE_MS = const(11)  # retry_base_ms
_TOP_MS = const(12)  # retry_max_ms
_MAX_TRIES = const(13)
_NAK_MS = const(14)  # nak_delay_ms
_DECLINE_MS = const(15)  # decline_delay_ms
_OUT = const(16)  # datagrams to send: (data, dest)
_EV = const(17)  # events: (name, lease)

# messages (see _msg)
_M_SHORT = const(0)
_M_COOKIE = const(1)
_M_NOT_REPLY = const(2)
_M_NOT_ETHER = const(3)
_M_TRUNCATED = const(4)
_M_OVERRUN = const(5)
_M_NO_TYPE = const(6)
_M_IDLE = const(7)
_M_NO_SID = const(8)
_M_REFUSED = const(9)
_M_TOO_LONG = const(10)
_M_NOT_IP = const(11)
_M_BAD_MAC = const(12)

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


def _msg(n, code=None):
    # Message ``n`` (_M_...): why a datagram is not valid or was ignored,
    # or what a caller got wrong. One string cut on use (only on those
    # paths), not a heap object per message.
    m = (
        "short message|no magic cookie|not a reply|not Ethernet|"
        "truncated option %d|option %d runs past its field|no message type|"
        "no exchange|no server id|refused offer|options do not fit|"
        "not an IPv4 address|mac must be 6 bytes"
    ).split("|")[n]
    return m if code is None else m % code


def _check(data, reply):
    # The options of a datagram, or the reason (str) why it is not valid.
    if len(data) < 240:
        return _msg(_M_SHORT)
    if data[236:240] != b"\x63\x82\x53\x63":
        return _msg(_M_COOKIE)
    if reply and data[0] != 2:
        return _msg(_M_NOT_REPLY)
    if data[1] != 1 or data[2] != 6:
        return _msg(_M_NOT_ETHER)
    opts = {}
    over = 0
    # options, then file (overload 1), then sname (2): RFC 3396
    for bit in range(3):
        i, end = 240, len(data)
        if bit:
            if not over & bit:
                continue
            if bit == 1:
                i, end = 108, 236
            else:
                i, end = 44, 108
        while i < end:
            code = data[i]
            if code == 255:
                break
            if code == 0:
                i += 1
                continue
            if i + 1 >= end:
                return _msg(_M_TRUNCATED, code)
            j = i + 2 + data[i + 1]
            if j > end:
                return _msg(_M_OVERRUN, code)
            v = data[i + 2 : j]
            if code == _O_OVERLOAD:
                if not bit and len(v) == 1:
                    over = v[0]
            else:
                old = opts.get(code)
                opts[code] = v if old is None else old + v
            i = j
    t = opts.get(_O_TYPE)
    if t is None or len(t) != 1 or not t[0]:
        return _msg(_M_NO_TYPE)
    return opts


def parse(data, reply=True):
    """The options of one DHCP datagram as {code: bytes} (see the module
    rules; ``reply=False`` also accepts BOOTREQUESTs). Raises ``PeerError``,
    and nothing else, when the datagram is not valid."""
    r = _check(bytes(data), reply)
    if isinstance(r, str):
        # microproto.errors is loaded only when an error is raised: the
        # client itself counts bad datagrams and raises nothing
        from microproto import errors

        raise errors.PeerError(r)
    return r


def build(buf, mtype, xid, mac, ciaddr=None, flags=0, secs=0, options=()):
    """Write a BOOTREQUEST of DHCP type ``mtype`` into ``buf`` (548 bytes or
    more) and return its length (at least 300, RFC 1542). ``options``:
    ``(code, bytes)`` pairs, after the message type; ``ValueError`` if they
    do not fit."""
    buf[0:240] = bytes(240)
    buf[0] = 1  # BOOTREQUEST
    buf[1] = 1  # Ethernet
    buf[2] = 6  # address length
    buf[4:8] = xid
    buf[8] = (secs >> 8) & 0xFF
    buf[9] = secs & 0xFF
    buf[10] = flags >> 8
    if ciaddr:
        buf[12:16] = ciaddr
    buf[28:34] = mac
    buf[236:242] = b"\x63\x82\x53\x63\x35\x01"  # magic cookie, option 53 ...
    buf[242] = mtype  # ... the message type
    i = 243
    for code, v in options:
        n = len(v)
        if n > 255 or i + 3 + n > len(buf):
            raise ValueError(_msg(_M_TOO_LONG))
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


def ip_str(v):
    """Dotted text of a 4-byte address."""
    return "%d.%d.%d.%d" % (v[0], v[1], v[2], v[3])


def ip_bytes(s):
    """4 bytes of a dotted IPv4 address; ``ValueError`` if it is not one."""
    b = [int(x) for x in s.split(".")]  # ValueError if not a number
    if len(b) != 4 or min(b) < 0 or max(b) > 255:
        raise ValueError(_msg(_M_NOT_IP))
    return bytes(b)


def seconds(v):
    """A 32-bit time in seconds: -1 for 0xffffffff (infinite), clamped to
    2**30-1 above that (a small int on boards); None if not 4 bytes."""
    if v is None or len(v) != 4:
        return None
    if v[0] & v[1] & v[2] & v[3] == 0xFF:  # 0xffffffff
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

    def __init__(self, ip, server, options):
        self.ip = ip
        self.server = server
        opts = options
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
        from microproto import dhcp_lease

        return dhcp_lease.field(self, name)


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
            from microproto import errors

            raise errors.UsageError(_msg(_M_BAD_MAC))
        self.mac = mac = bytes(mac)
        self.rand = rand
        if client_id is None:
            client_id = b"\xff" + mac[2:] + b"\x00\x03\x00\x01" + mac
        # options of DISCOVER/REQUEST/INFORM after the per-state ones
        # (RELEASE and DECLINE take the client id from here)
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
            from microproto import dhcp_lease

            opts.append((_O_FQDN, b"\x05\x00\x00" + dhcp_lease.encode_name(fqdn)))
        self.rapid_commit = rapid_commit
        self.choose_offer = choose_offer
        self.state = _STOPPED
        self.lease = None
        self.ignored = 0
        self.last_ignored = None
        self.sent = 0
        # the private state, one list (see _XID...): xid, tries, exchange
        # start, retransmission deadline, clock (ticks, s, ms), address,
        # server, lease timers, options, settings, datagrams, events
        self._v = [None, 0, 0, None, None, 0, 0, None, None, None, opts, retry_base_ms, retry_max_ms, max_tries,
                   nak_delay_ms, decline_delay_ms, [], []]

    def _clock(self, now_ms):
        # Move the lease clock to ``now_ms``.
        v = self._v
        if v[_LAST] is not None:
            d = ticks_diff(now_ms, v[_LAST])
            if d > 0:
                d += v[_FRAC]
                v[_S] += d // 1000
                v[_FRAC] = d % 1000
        v[_LAST] = now_ms

    def _left_ms(self, t):
        # ms from now to second ``t`` of the lease clock (capped)
        v = self._v
        d = t - v[_S]
        return _CAP_MS if d > _CAP_S else d * 1000 - v[_FRAC]

    def next_deadline_ms(self):
        """The ticks value at which ``tick`` must next be called, or None."""
        v = self._v
        st = self.state
        best = None if v[_RETX] is None else ticks_diff(v[_RETX], v[_LAST])
        if v[_T] and _BOUND <= st <= _REBINDING:
            left = self._left_ms(v[_T][st - _BOUND])  # T1 / T2 / expiry
            if best is None or left < best:
                best = left
        if best is None:
            return None
        return ticks_add(v[_LAST], best if best > 0 else 0)

    def start(self, now_ms, lease=None, probe=False, inform=None, server=None):
        """Begin: DISCOVER (INIT), or with a remembered ``lease`` a REQUEST
        for its address (INIT-REBOOT). ``probe``: send one DISCOVER and
        report every OFFER as an ``offer`` event, request nothing, never
        retransmit (rogue server detection). ``inform``: an address
        configured by other means: DHCPINFORM (to ``server`` or broadcast),
        ending in ``informed`` or ``gave_up``."""
        self._clock(now_ms)
        v = self._v
        st = _SELECTING
        if probe:
            st = _PROBING
        elif inform:
            st = _INFORMING
            v[_IP] = ip_bytes(inform)
            v[_SID] = ip_bytes(server) if server else None
        elif lease is not None:
            st = _REBOOTING
            self.lease = lease
            v[_IP] = ip_bytes(lease.ip)
        self._go(st)

    def release(self, now_ms, lease=None, decline=False):
        """Give the lease (default: the current one) back: DHCPRELEASE,
        unicast to its server, and stop. ``decline``: the bound address is in
        use by someone else: DHCPDECLINE, then DISCOVER again after
        ``decline_delay_ms`` (RFC 2131 3.1 step 5). Loads ``dhcp_lease``."""
        from microproto import dhcp_lease

        self._clock(now_ms)
        dhcp_lease.final(self, lease or self.lease, decline)

    def datagram_to_send(self):
        """``(data, dest)``: the next datagram for UDP port 67 (dest: dotted
        server address, or None to broadcast), or None."""
        q = self._v[_OUT]
        return q.pop(0) if q else None

    def next_event(self):
        """The next ``(name, lease)`` event, or None."""
        q = self._v[_EV]
        return q.pop(0) if q else None

    def tick(self, now_ms):
        """Run the timers that are due at ``now_ms``."""
        self._clock(now_ms)
        v = self._v
        t = v[_T]
        if t and _BOUND <= self.state <= _REBINDING:
            if self._left_ms(t[2]) <= 0:
                return self._go(_SELECTING, "expired")
            if self.state == _BOUND and self._left_ms(t[0]) <= 0:
                v[_EV].append(("renewing", self.lease))
                self._go(_RENEWING)
            if self.state == _RENEWING and self._left_ms(t[1]) <= 0:
                v[_EV].append(("rebinding", self.lease))
                self._go(_REBINDING)
        if v[_RETX] is None or ticks_diff(v[_RETX], now_ms) > 0:
            return
        v[_RETX] = None
        st = self.state
        if st == _INIT:
            return self._go(_SELECTING)
        v[_TRIES] += 1
        if 1 << st & _GIVE_UP and v[_TRIES] >= v[_MAX_TRIES]:
            return self._go(_STOPPED if st == _INFORMING else _SELECTING, "gave_up")
        self._go()

    def receive_datagram(self, data, now_ms):
        """One datagram that arrived on UDP port 68."""
        self._clock(now_ms)
        v = self._v
        st = self.state
        why = None
        if 1 << st & _IDLE:
            why = _msg(_M_IDLE)
        else:
            data = bytes(data)
            opts = _check(data, True)
            if isinstance(opts, str):
                why = opts
        if why is None:
            sid = opts.get(_O_SERVER)
            t = opts[_O_TYPE][0]
            yi = data[16:20]
            grant = any(yi) and seconds(opts.get(_O_LEASE))  # a lease time, not 0
            if data[4:8] != v[_XID]:
                why = "xid"
            elif data[28:34] != self.mac:
                why = "chaddr"
            elif sid is None or len(sid) != 4:
                why = _msg(_M_NO_SID)
            elif st == _INFORMING:
                if t == _ACK and (v[_SID] is None or sid == v[_SID]):
                    self.lease = Lease(ip_str(v[_IP]), ip_str(sid), opts)
                    return self._go(_STOPPED, "informed")
                why = "type"
            elif 1 << st & _CHOSEN and sid != v[_SID]:
                why = "server id"
            elif 1 << st & _DISCOVERING and t == _OFFER and grant:
                lease = Lease(ip_str(yi), ip_str(sid), opts)
                if st == _PROBING:
                    return v[_EV].append(("offer", lease))
                if self.choose_offer is None or self.choose_offer(lease):
                    # RFC 2131 4.4.1: the REQUEST keeps the DISCOVER's xid
                    v[_IP] = yi
                    v[_SID] = sid
                    v[_TRIES] = 0
                    self.state = _REQUESTING
                    return self._go()
                why = _msg(_M_REFUSED)
            elif t == _ACK and (st != _SELECTING or self.rapid_commit and _O_RAPID in opts) and st != _PROBING:
                if grant:
                    lease = self.lease = Lease(ip_str(yi), ip_str(sid), opts)
                    v[_IP] = yi
                    v[_SID] = sid
                    self._go(_BOUND, "renewed" if st == _RENEWING else "rebound" if st == _REBINDING
                               else "bound")
                    if lease.lease_s >= 0:
                        # RFC 2131 4.4.1: the lease runs from when the request
                        # was sent; the exchange's start is the safe end of that
                        b = v[_X_S]
                        v[_T] = (b + lease.t1_s, b + lease.t2_s, b + lease.lease_s)
                    return
                why = "ack"
            elif t == _NAK and st > _SELECTING and st != _PROBING:
                return self._go(_INIT, "nak", v[_NAK_MS])
            else:
                why = "offer" if t == _OFFER else "type"
        self.ignored += 1
        self.last_ignored = why

    def _go(self, state=None, event=None, value=None):
        # The one move of the machine. ``event``: the exchange ended:
        # report it with the lease (kept only when going to BOUND), stop
        # the lease timers. ``state``: go there; STOPPED, INIT (its timer
        # ``value`` ms away, or none) and BOUND send nothing, any other
        # begins a new exchange (a new xid, RFC 2131 4.4.1). Then
        # (re)transmit the state's message and set its timer.
        v = self._v
        if event:
            v[_EV].append((event, self.lease))
            v[_T] = None
            if state != _BOUND:
                self.lease = None
        if state is not None:
            if 1 << state & _IDLE:
                self.state = state
                v[_RETX] = None if value is None else ticks_add(v[_LAST], value)
                return
            if state == _SELECTING:
                v[_IP] = v[_SID] = None
            self.state = state
            v[_XID] = self.rand(4)
            v[_TRIES] = 0
            v[_X_S] = v[_S]
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
            opts.append((_O_REQ_IP, v[_IP]))
            opts.append((_O_SERVER, v[_SID]))
        elif st == _REBOOTING:
            opts.append((_O_REQ_IP, v[_IP]))
        else:
            ciaddr = v[_IP]
            flags = 0
            if st == _INFORMING:
                mtype = _INFORM
                dest = ip_str(v[_SID]) if v[_SID] else None
            elif st == _RENEWING:
                dest = ip_str(v[_SID])
        buf = bytearray(_BUF_SIZE)
        n = build(buf, mtype, v[_XID], self.mac, ciaddr, flags, min(v[_S] - v[_X_S], 0xFFFF), opts + v[_OPTS])
        v[_OUT].append((memoryview(buf)[:n], dest))
        self.sent += 1
        if st == _PROBING:
            return
        now = v[_S]
        if st == _RENEWING or st == _REBINDING:
            # RFC 2131 4.4.5: half the time left to T2 / expiry, at least
            # 60 s, never past it
            at = v[_T][st - _BOUND]
            w = (at - now) >> 1
            d = self._left_ms(now + w if w > 60 else at if at - now <= 60 else now + 60)
        else:
            # RFC 2131 4.1: 4, 8, 16, 32, 64 s, each -1..+1 s at random
            top = v[_TOP_MS]
            d = top if v[_TRIES] >= 5 else min(v[_BASE_MS] << v[_TRIES], top)
            d += (self.rand(1)[0] % 201 - 100) * 10
        v[_RETX] = ticks_add(v[_LAST], d if d > 0 else 0)
