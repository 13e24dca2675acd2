"""DHCP client state machine (RFC 2131 4.4), sans-I/O.

    c = Client(mac, rand, hostname=..., rapid_commit=...)   # rand(n) -> n random bytes
    c.start(now_ms, lease=None)     # INIT, or INIT-REBOOT with a remembered Lease
    c.receive_datagram(data, now_ms)
    c.tick(now_ms)                  # time comes in from outside
    out = c.datagram_to_send()      # (bytes, dest) or None; dest None: broadcast
    ev = c.next_event()             # (name, Lease or None) or None
    c.next_deadline_ms()            # ticks value when tick() is due (None: no timer)
    c.release(now_ms); c.decline(now_ms); c.inform(now_ms, "10.0.0.5"); c.probe(now_ms)

Events: ``bound``, ``renewing``, ``renewed``, ``rebinding``, ``rebound``,
``expired`` (the lease ran out: back to INIT), ``nak`` (back to INIT after
``nak_delay_ms``), ``declined``, ``released``, ``informed`` (INFORM's ACK),
``offer`` (probe mode: every offer from every server), ``gave_up``
(REQUEST or INFORM unanswered after ``max_tries``).

Rules (RFC 2131 table 5): DISCOVER carries no server id and ciaddr 0;
REQUEST from SELECTING carries requested IP and server id, from INIT-REBOOT
the requested IP only, from RENEWING (unicast to the server) and REBINDING
(broadcast) neither, with ciaddr set; DECLINE carries requested IP, server
id and a message, RELEASE (unicast) the server id and ciaddr; INFORM has
ciaddr and no requested IP, server id or lease time. DECLINE and RELEASE
carry no parameter list, hostname, max size or other options. The
broadcast flag is set on DISCOVER and on REQUESTs sent without ciaddr.

Every reply is checked: BOOTREPLY, Ethernet, the current exchange's xid,
our chaddr, the magic cookie, a server identifier (the chosen server's in
REQUESTING and RENEWING), a non-zero yiaddr and a lease time in OFFER/ACK.
Anything else is ignored and counted in ``ignored`` (``last_ignored`` says
why). Retransmission: 4, 8, 16, 32, 64, 64 ... s (``retry_base_ms``,
``retry_max_ms``) each +-1 s of jitter; RENEWING/REBINDING retry at half
the time left to T2/expiry, at least 60 s. Lease timers run on a clock in
seconds (times clamped to 2**30-1 s; 0xffffffff never expires) and no
deadline is more than ``_CAP_MS`` away, so ticks arithmetic stays safe.
"""

from microproto import dhcp_options as o
from microproto.errors import PeerError, UsageError
from microproto_port import const, ticks_add, ticks_diff

INIT = const(0)
SELECTING = const(1)
REQUESTING = const(2)
BOUND = const(3)
RENEWING = const(4)
REBINDING = const(5)
REBOOTING = const(6)
INFORMING = const(7)
PROBING = const(8)
STOPPED = const(9)
STATE_NAMES = ("INIT", "SELECTING", "REQUESTING", "BOUND", "RENEWING", "REBINDING", "REBOOTING",
               "INFORMING", "PROBING", "STOPPED")

_CAP_MS = const(1 << 27)  # ~37 h: no deadline further out (ticks_diff stays exact)
_CAP_S = const(1 << 17)
_RENEW_MIN_S = const(60)
PARAMS = bytes((1, 121, 3, 6, 12, 15, 26, 28, 42, 119))


class Lease:
    """What a server granted: ``ip``, ``server`` (dotted text), ``mask``,
    ``routers``, ``dns``, ``domain``, ``hostname``, ``broadcast``, ``ntp``,
    ``mtu``, ``search``, ``routes`` (RFC 3442 ``(dest, len, gw)``; when the
    server sent option 121 it replaces ``routers``, RFC 3442),
    ``lease_s``/``t1_s``/``t2_s`` (seconds, ``o.INFINITE`` = -1) and ``opts``
    (every option's bytes)."""

    def __init__(self, ip, server, opts):
        self.ip = ip
        self.server = server
        self.opts = opts
        g = opts.get
        self.mask = o.addrs(g(o.OPT_SUBNET))
        self.mask = self.mask[0] if self.mask else None
        self.routes = o.routes(g(o.OPT_CLASSLESS))
        self.routers = o.addrs(g(o.OPT_ROUTER))
        if self.routes is not None:
            self.routers = [r[2] for r in self.routes if r[1] == 0] or None
        self.dns = o.addrs(g(o.OPT_DNS))
        self.ntp = o.addrs(g(o.OPT_NTP))
        b = o.addrs(g(o.OPT_BROADCAST))
        self.broadcast = b[0] if b else None
        self.domain = o.text(g(o.OPT_DOMAIN))
        self.hostname = o.text(g(o.OPT_HOSTNAME))
        self.search = o.domains(g(o.OPT_SEARCH))
        m = g(o.OPT_MTU)
        self.mtu = (m[0] << 8) | m[1] if m is not None and len(m) == 2 else None
        lease = o.seconds(g(o.OPT_LEASE_TIME))
        self.lease_s = lease
        t1 = o.seconds(g(o.OPT_T1))
        t2 = o.seconds(g(o.OPT_T2))
        if lease is None or lease == o.INFINITE:
            self.t1_s = self.t2_s = lease
            return
        # RFC 2131 4.4.5: defaults 0.5 and 0.875 of the lease; the server's
        # values only if 0 < T1 <= T2 <= lease.
        if t2 is None or not 0 < t2 <= lease:
            t2 = lease - (lease >> 3)
        if t1 is None or not 0 < t1 <= t2:
            t1 = min(lease >> 1, t2)
        self.t1_s = t1
        self.t2_s = t2

    def prefix_len(self):
        """The mask as a prefix length (24 for 255.255.255.0; 32 if unknown)."""
        if not self.mask:
            return 32
        n = 0
        for p in self.mask.split("."):
            v = int(p)
            while v & 0x80:
                n += 1
                v = (v << 1) & 0xFF
        return n

    def to_dict(self):
        """Plain data (JSON-ready), options as hex text."""
        import binascii

        d = {}
        for k in ("ip", "server", "mask", "routers", "dns", "domain", "hostname", "broadcast", "ntp",
                  "mtu", "search", "lease_s", "t1_s", "t2_s"):
            d[k] = getattr(self, k)
        d["routes"] = [list(r) for r in self.routes] if self.routes else None
        d["options"] = dict((str(k), binascii.hexlify(v).decode()) for k, v in self.opts.items())
        return d

    @classmethod
    def from_dict(cls, d):
        """The inverse of ``to_dict`` (a saved lease)."""
        import binascii

        opts = dict((int(k), binascii.unhexlify(v)) for k, v in d["options"].items())
        return cls(d["ip"], d["server"], opts)


class Client:
    """The DHCP client of one interface with hardware address ``mac`` (6
    bytes). ``rand(n)`` gives random bytes (xids, jitter). ``client_id``:
    option 61 bytes (default: RFC 4361, type 255, IAID from the MAC and a
    DUID-LL; ``b""``: none). ``choose_offer(lease) -> bool`` may refuse an
    offer (default: the first valid one)."""

    def __init__(self, mac, rand, client_id=None, hostname=None, fqdn=None, rapid_commit=False,
                 params=PARAMS, vendor_class=None, choose_offer=None, retry_base_ms=4000,
                 retry_max_ms=64000, max_tries=4, nak_delay_ms=3000, decline_delay_ms=10000):
        if len(mac) != 6:
            raise UsageError("mac must be 6 bytes")
        self.mac = bytes(mac)
        self.rand = rand
        if client_id is None:
            client_id = b"\xff" + self.mac[2:] + b"\x00\x03\x00\x01" + self.mac
        self.client_id = client_id
        self.hostname = hostname
        self.fqdn = fqdn
        self.rapid_commit = rapid_commit
        self.params = params
        self.vendor_class = vendor_class
        self.choose_offer = choose_offer
        self.retry_base_ms = retry_base_ms
        self.retry_max_ms = retry_max_ms
        self.max_tries = max_tries
        self.nak_delay_ms = nak_delay_ms
        self.decline_delay_ms = decline_delay_ms
        self._buf = bytearray(o.BUF_SIZE)
        self._out = []
        self._events = []
        self.state = STOPPED
        self.lease = None
        self.ignored = 0
        self.last_ignored = None
        self.sent = 0
        self._offer = None  # (yiaddr bytes, server id bytes)
        self._xid = b"\0\0\0\0"
        self._last = None
        self._s = 0  # lease clock, seconds
        self._frac = 0
        self._retx = None  # ticks deadline of the exchange timer
        self._tries = 0
        self._x_s = 0  # when the exchange began (lease clock)
        self._ip = None  # 4 bytes: our address (bound) or the INFORM address
        self._sid = None  # 4 bytes: the lease's server id
        self._t1 = self._t2 = self._exp = None  # lease clock seconds

    # -- time -----------------------------------------------------------
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
        if d > _CAP_S:
            return _CAP_MS
        return d * 1000 - self._frac

    def next_deadline_ms(self):
        """The ticks value at which ``tick`` must next be called, or None."""
        if self._last is None:
            return None
        st = self.state
        at = self._t1 if st == BOUND else self._t2 if st == RENEWING else self._exp if st == REBINDING else None
        best = None
        if self._retx is not None:
            best = ticks_diff(self._retx, self._last)
        if at is not None:
            left = self._left_ms(at)
            if best is None or left < best:
                best = left
        if best is None:
            return None
        return ticks_add(self._last, best if best > 0 else 0)

    def _backoff(self):
        # RFC 2131 4.1: 4, 8, 16, 32, 64 s, each randomised by -1..+1 s.
        d = self.retry_base_ms << self._tries if self._tries < 5 else self.retry_max_ms
        if d > self.retry_max_ms:
            d = self.retry_max_ms
        r = self.rand(1)[0]
        d += (r % 201 - 100) * 10
        self._retx = ticks_add(self._last, d if d > 0 else 0)

    def _half_left(self, at_s):
        # RFC 2131 4.4.5: retry at half the remaining time, at least 60 s,
        # but never past ``at_s``.
        left = at_s - self._s
        w = left >> 1
        if w < _RENEW_MIN_S:
            w = _RENEW_MIN_S
        ms = self._left_ms(self._s + w) if w < left else self._left_ms(at_s)
        self._retx = ticks_add(self._last, ms if ms > 0 else 0)

    # -- public calls ---------------------------------------------------
    def start(self, now_ms, lease=None):
        """Begin: DISCOVER (INIT), or with a remembered ``lease`` a REQUEST
        for its address (INIT-REBOOT)."""
        self._clock(now_ms)
        if lease is None:
            self._discover()
            return
        self.lease = lease
        self._ip = o.ip_bytes(lease.ip)
        self._new_exchange(REBOOTING)
        self._send_request()

    def probe(self, now_ms):
        """Send one DISCOVER and report every OFFER as an ``offer`` event;
        request nothing (rogue server detection). No retransmission."""
        self._clock(now_ms)
        self._new_exchange(PROBING)
        self._send(o.MSG_DISCOVER, None, o.FLAG_BROADCAST, self._discover_opts(False))

    def inform(self, now_ms, ip, server=None):
        """Ask for parameters for an address configured by other means
        (DHCPINFORM); ends in an ``informed`` event (or ``gave_up``)."""
        self._clock(now_ms)
        self._ip = o.ip_bytes(ip)
        self._sid = o.ip_bytes(server) if server else None
        self._new_exchange(INFORMING)
        self._send_inform()

    def release(self, now_ms, lease=None):
        """Give the lease back (DHCPRELEASE, unicast to its server) and stop."""
        self._clock(now_ms)
        lease = lease or self.lease
        if lease is None:
            raise UsageError("no lease to release")
        self._xid = self.rand(4)
        ip = o.ip_bytes(lease.ip)
        sid = o.ip_bytes(lease.server)
        opts = [(o.OPT_SERVER_ID, sid), (o.OPT_MESSAGE, b"release")]
        if self.client_id:
            opts.append((o.OPT_CLIENT_ID, self.client_id))
        self._send(o.MSG_RELEASE, ip, 0, opts, lease.server, False)
        self._stop()
        self._event("released", lease)

    def decline(self, now_ms):
        """The bound address is in use by someone else: DHCPDECLINE, then a
        new DISCOVER after ``decline_delay_ms`` (RFC 2131 3.1 step 5)."""
        self._clock(now_ms)
        lease = self.lease
        if lease is None or self.state not in (BOUND, RENEWING, REBINDING):
            raise UsageError("no lease to decline")
        self._xid = self.rand(4)
        opts = [(o.OPT_REQUESTED_IP, o.ip_bytes(lease.ip)), (o.OPT_SERVER_ID, o.ip_bytes(lease.server)),
                (o.OPT_MESSAGE, b"address in use")]
        if self.client_id:
            opts.append((o.OPT_CLIENT_ID, self.client_id))
        self._send(o.MSG_DECLINE, None, 0, opts, None, False)
        self._stop()
        self._event("declined", lease)
        self._restart_later(self.decline_delay_ms)

    def stop(self):
        """Stop all timers without telling anyone (the lease stays known)."""
        self._stop()

    def datagram_to_send(self):
        """``(data, dest)``: the next datagram for UDP port 67 (dest: dotted
        server address, or None to broadcast), or None."""
        if self._out:
            return self._out.pop(0)
        return None

    def next_event(self):
        """The next ``(name, lease)`` event, or None."""
        if self._events:
            return self._events.pop(0)
        return None

    def tick(self, now_ms):
        """Run the timers that are due at ``now_ms``."""
        self._clock(now_ms)
        st = self.state
        if st in (BOUND, RENEWING, REBINDING):
            if self._exp is not None and self._left_ms(self._exp) <= 0:
                lease = self.lease
                self._stop()
                self.lease = None
                self._event("expired", lease)
                self._discover()
            elif st == BOUND and self._t1 is not None and self._left_ms(self._t1) <= 0:
                self._new_exchange(RENEWING)
                self._event("renewing", self.lease)
                self._send_request()
            if self.state == RENEWING and self._t2 is not None and self._left_ms(self._t2) <= 0:
                self._new_exchange(REBINDING)
                self._event("rebinding", self.lease)
                self._send_request()
        if self._retx is not None and ticks_diff(self._retx, now_ms) <= 0:
            self._retx = None
            self._timeout(self.state)

    def receive_datagram(self, data, now_ms):
        """One datagram that arrived on UDP port 68."""
        self._clock(now_ms)
        st = self.state
        if st in (STOPPED, INIT, BOUND):
            return self._ignore("no exchange")
        try:
            m = o.parse(data)
        except PeerError as e:
            return self._ignore(e.reason)
        if m.xid != self._xid:
            return self._ignore("xid")
        if m.chaddr[:6] != self.mac:
            return self._ignore("chaddr")
        sid = m.server_id()
        if sid is None:
            return self._ignore("no server id")
        t = m.mtype
        if st in (SELECTING, PROBING):
            if t == o.MSG_OFFER:
                return self._on_offer(m, sid)
            if t == o.MSG_ACK and st == SELECTING and self.rapid_commit and o.OPT_RAPID_COMMIT in m.opts:
                return self._on_ack(m, sid)
            return self._ignore("type")
        if st == INFORMING:
            if t != o.MSG_ACK or (self._sid is not None and sid != self._sid):
                return self._ignore("type")
            self._stop()
            return self._event("informed", Lease(o.ip_str(self._ip), o.ip_str(sid), m.opts))
        if (st == REQUESTING or st == RENEWING) and sid != self._sid:
            return self._ignore("server id")
        if t == o.MSG_ACK:
            return self._on_ack(m, sid)
        if t == o.MSG_NAK:
            lease = self.lease
            self._stop()
            self.lease = None
            self._event("nak", lease)
            self._restart_later(self.nak_delay_ms)
            return
        return self._ignore("type")

    # -- steps ------------------------------------------------------------
    def _ignore(self, why):
        self.ignored += 1
        self.last_ignored = why

    def _event(self, name, lease):
        self._events.append((name, lease))

    def _stop(self):
        self.state = STOPPED
        self._retx = None
        self._t1 = self._t2 = self._exp = None

    def _restart_later(self, delay_ms):
        self.state = INIT
        self._retx = ticks_add(self._last, delay_ms)

    def _new_exchange(self, state):
        self.state = state
        self._xid = self.rand(4)
        self._tries = 0
        self._x_s = self._s

    def _discover(self):
        self._ip = None
        self._sid = None
        self._offer = None
        self._new_exchange(SELECTING)
        self._send_discover()

    def _timeout(self, st):
        if st == INIT:
            self._discover()
        elif st == SELECTING:
            self._tries += 1
            self._send_discover()
        elif st in (REQUESTING, REBOOTING, INFORMING):
            self._tries += 1
            if self._tries >= self.max_tries:
                lease = self.lease if st == REBOOTING else None
                self._stop()
                self._event("gave_up", lease)
                if st != INFORMING:
                    self.lease = None
                    self._discover()
            elif st == INFORMING:
                self._send_inform()
            else:
                self._send_request()
        elif st in (RENEWING, REBINDING):
            self._tries += 1
            self._send_request()

    def _common_opts(self, opts, lease_opts):
        if self.client_id:
            opts.append((o.OPT_CLIENT_ID, self.client_id))
        opts.append((o.OPT_MAX_SIZE, b"\x02\x40"))  # 576 (RFC 2132 9.10)
        if self.params:
            opts.append((o.OPT_PARAMS, self.params))
        if self.vendor_class:
            opts.append((o.OPT_VENDOR_CLASS, self.vendor_class))
        if lease_opts and self.hostname:
            opts.append((o.OPT_HOSTNAME, self.hostname.encode()))
        if lease_opts and self.fqdn:
            opts.append((o.OPT_FQDN, b"\x05\x00\x00" + o.encode_name(self.fqdn)))
        return opts

    def _discover_opts(self, rapid):
        opts = []
        if rapid:
            opts.append((o.OPT_RAPID_COMMIT, b""))
        return self._common_opts(opts, True)

    def _send_discover(self):
        self._send(o.MSG_DISCOVER, None, o.FLAG_BROADCAST, self._discover_opts(self.rapid_commit))
        self._backoff()

    def _send_request(self):
        st = self.state
        opts = []
        ciaddr = None
        dest = None
        flags = 0
        if st == REQUESTING:
            opts.append((o.OPT_REQUESTED_IP, self._offer[0]))
            opts.append((o.OPT_SERVER_ID, self._offer[1]))
            flags = o.FLAG_BROADCAST
        elif st == REBOOTING:
            opts.append((o.OPT_REQUESTED_IP, self._ip))
            flags = o.FLAG_BROADCAST
        else:
            ciaddr = self._ip
            if st == RENEWING:
                dest = o.ip_str(self._sid)
        self._send(o.MSG_REQUEST, ciaddr, flags, self._common_opts(opts, True), dest)
        if st == RENEWING:
            self._half_left(self._t2)
        elif st == REBINDING:
            self._half_left(self._exp) if self._exp is not None else self._backoff()
        else:
            self._backoff()

    def _send_inform(self):
        dest = o.ip_str(self._sid) if self._sid else None
        self._send(o.MSG_INFORM, self._ip, 0, self._common_opts([], False), dest)
        self._backoff()

    def _send(self, mtype, ciaddr, flags, opts, dest=None, secs=True):
        s = self._s - self._x_s if secs else 0
        n = o.build(self._buf, mtype, self._xid, self.mac, ciaddr, flags, s if s < 0xFFFF else 0xFFFF,
                    opts)
        self._out.append((bytes(self._buf[:n]), dest))
        self.sent += 1

    def _valid_grant(self, m):
        lease = o.seconds(m.opts.get(o.OPT_LEASE_TIME))
        return m.yiaddr != b"\0\0\0\0" and lease is not None and lease != 0

    def _on_offer(self, m, sid):
        if not self._valid_grant(m):
            return self._ignore("offer")
        lease = Lease(o.ip_str(m.yiaddr), o.ip_str(sid), m.opts)
        if self.state == PROBING:
            return self._event("offer", lease)
        if self.choose_offer is not None and not self.choose_offer(lease):
            return self._ignore("refused offer")
        # RFC 2131 4.4.1: the REQUEST keeps the DISCOVER's xid.
        self._offer = (m.yiaddr, sid)
        self._sid = sid
        self.state = REQUESTING
        self._tries = 0
        self._send_request()

    def _on_ack(self, m, sid):
        if not self._valid_grant(m):
            return self._ignore("ack")
        st = self.state
        lease = Lease(o.ip_str(m.yiaddr), o.ip_str(sid), m.opts)
        self.lease = lease
        self._ip = m.yiaddr
        self._sid = sid
        self.state = BOUND
        self._retx = None
        # RFC 2131 4.4.1: the lease runs from when the request was sent;
        # the start of the exchange is the safe (earlier) end of that.
        base = self._x_s
        if lease.lease_s == o.INFINITE:
            self._t1 = self._t2 = self._exp = None
        else:
            self._t1 = base + lease.t1_s
            self._t2 = base + lease.t2_s
            self._exp = base + lease.lease_s
        name = "bound"
        if st == RENEWING:
            name = "renewed"
        elif st == REBINDING:
            name = "rebound"
        self._event(name, lease)
