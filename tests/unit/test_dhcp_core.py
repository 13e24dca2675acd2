"""DHCP client core (microproto.dhcp_core): every message in every state
against the rules of RFC 2131 table 5, byte vectors written out from the
RFC 2131 2 layout, reply checks, timers. No sockets: time comes in."""

from microproto import dhcp_core as core
from microproto import dhcp_lease

# RFC 2132 message types and options, states (see dhcp_core's docstring)
DISCOVER, OFFER, REQUEST, DECLINE, ACK, NAK, RELEASE, INFORM = 1, 2, 3, 4, 5, 6, 7, 8
INIT, SELECTING, REQUESTING, BOUND, RENEWING, REBINDING, REBOOTING, INFORMING, PROBING, STOPPED = range(10)
OPT_DNS, OPT_HOSTNAME, OPT_REQUESTED_IP, OPT_LEASE_TIME, OPT_SERVER_ID = 6, 12, 50, 51, 54
OPT_PARAMS, OPT_MESSAGE, OPT_MAX_SIZE, OPT_RAPID_COMMIT, OPT_CLIENT_ID = 55, 56, 57, 80, 61

MAC = b"\x02\x11\x22\x33\x44\x55"
SRV = b"\x0a\x63\x00\x01"
SRV2 = b"\x0a\x63\x00\x02"
YI = b"\x0a\x63\x00\x64"
COOKIE = b"\x63\x82\x53\x63"


class Rand:
    """Deterministic stand-in for the port's random source: bytes 1, 2, 3..."""

    def __init__(self):
        self.n = 0

    def __call__(self, k):
        out = bytearray(k)
        for i in range(k):
            self.n += 1
            out[i] = self.n & 0xFF
        return bytes(out)


def reply(req, mtype, yiaddr=YI, sid=SRV, lease=b"\x00\x00\x00\x78", extra=(), xid=None, chaddr=None):
    """A server reply to the request datagram ``req``."""
    buf = bytearray(548)
    opts = []
    if sid is not None:
        opts.append((OPT_SERVER_ID, sid))
    if lease is not None:
        opts.append((OPT_LEASE_TIME, lease))
    opts += list(extra)
    n = core.build(buf, mtype, xid or req[4:8], chaddr or MAC, None, 0, 0, opts)
    buf[0] = 2
    buf[16:20] = yiaddr
    return bytes(buf[:n])


class Msg:
    def __init__(self, d):
        self.opts = core.parse(d, False)
        self.mtype = self.opts[53][0]
        self.ciaddr = d[12:16]
        self.flags = (d[10] << 8) | d[11]
        self.xid = d[4:8]
        self.op = d[0]


def opts_of(d):
    return core.parse(d, False)


def client(**kw):
    return core.Client(MAC, Rand(), **kw)


def sent(c):
    out = c.datagram_to_send()
    assert out is not None
    return bytes(out[0]), out[1]


def header(mtype, xid, ciaddr=b"\0\0\0\0", flags=b"\x80\x00", secs=b"\0\0"):
    # RFC 2131 2: op htype hlen hops | xid | secs flags | ciaddr yiaddr siaddr giaddr | chaddr(16) sname file
    return (b"\x01\x01\x06\x00" + xid + secs + flags + ciaddr + b"\0" * 12 + MAC + b"\0" * 10 + b"\0" * 192
            + COOKIE + bytes((53, 1, mtype)))


def bound(**kw):
    c = client(**kw)
    c.start(0)
    d, _ = sent(c)
    c.receive_datagram(reply(d, OFFER), 10)
    d, _ = sent(c)
    c.receive_datagram(reply(d, ACK), 20)
    assert c.next_event()[0] == "bound"
    return c, d


def test_discover_bytes():
    c = client(client_id=b"\x01" + MAC, params=b"\x01\x03", hostname="dev")
    c.start(0)
    d, dest = sent(c)
    assert dest is None
    want = header(1, b"\x01\x02\x03\x04")
    want += b"\x39\x02\x02\x40" + b"\x3d\x07\x01" + MAC + b"\x37\x02\x01\x03" + b"\x0c\x03dev" + b"\xff"
    want += b"\0" * (300 - len(want))
    assert d == want
    m = Msg(d)
    assert m.op == 1 and m.mtype == DISCOVER and m.flags == 0x8000 and m.ciaddr == b"\0\0\0\0"
    assert c.state == SELECTING


def test_discover_rules():
    c = client(rapid_commit=True)
    c.start(0)
    op = opts_of(sent(c)[0])
    assert OPT_SERVER_ID not in op and OPT_REQUESTED_IP not in op
    assert OPT_RAPID_COMMIT in op and op[OPT_RAPID_COMMIT] == b""
    assert op[OPT_CLIENT_ID][0] == 255 and op[OPT_CLIENT_ID][-6:] == MAC  # RFC 4361 default


def test_request_selecting_bytes():
    c = client(client_id=b"", params=b"", hostname=None)
    c.start(0)
    d, _ = sent(c)
    c.receive_datagram(reply(d, OFFER), 100)
    r, dest = sent(c)
    assert dest is None and c.state == REQUESTING
    want = header(3, b"\x01\x02\x03\x04") + b"\x32\x04" + YI + b"\x36\x04" + SRV + b"\x39\x02\x02\x40\xff"
    want += b"\0" * (300 - len(want))
    assert r == want  # same xid as the DISCOVER (RFC 2131 4.4.1), ciaddr 0, broadcast flag


def test_bound_from_ack():
    c, _ = bound()
    assert c.state == BOUND
    lease = c.lease
    assert lease.ip == "10.99.0.100" and lease.server == "10.99.0.1"
    assert lease.lease_s == 120 and lease.t1_s == 60 and lease.t2_s == 105
    assert c.datagram_to_send() is None


def test_renewing_rules():
    c, _ = bound()
    # T1 = 60 s after the exchange began (t=0)
    assert c.next_deadline_ms() == 60000
    c.tick(59999)
    assert c.state == BOUND and c.datagram_to_send() is None
    c.tick(60000)
    assert c.state == RENEWING and c.next_event()[0] == "renewing"
    d, dest = sent(c)
    assert dest == "10.99.0.1"  # unicast to the server
    m = Msg(d)
    assert m.mtype == REQUEST and m.ciaddr == YI and m.flags == 0
    assert OPT_SERVER_ID not in m.opts and OPT_REQUESTED_IP not in m.opts
    # retry at half the time to T2 (45 s -> 22.5 s), at least 60 s, not past T2 (105 s)
    assert c.next_deadline_ms() == 105000
    c.receive_datagram(reply(d, ACK), 61000)
    assert c.next_event()[0] == "renewed" and c.state == BOUND
    assert c.next_deadline_ms() == 120000  # T1 from the renewal's start


def test_rebinding_rules_and_expiry():
    c, _ = bound()
    c.tick(60000)
    d1, _ = sent(c)
    c.tick(105000)
    assert c.state == REBINDING
    assert [c.next_event()[0], c.next_event()[0]] == ["renewing", "rebinding"]
    d, dest = sent(c)
    assert dest is None
    m = Msg(d)
    assert m.mtype == REQUEST and m.ciaddr == YI and m.flags == 0 and m.xid != d1[4:8]
    assert OPT_SERVER_ID not in m.opts and OPT_REQUESTED_IP not in m.opts
    # an ACK to the old renewing xid is ignored
    c.receive_datagram(reply(d1, ACK), 106000)
    assert c.ignored == 1 and c.last_ignored == "xid"
    assert c.next_deadline_ms() == 120000  # expiry at 120 s (half of 15 s < 60 s)
    c.tick(120000)
    assert c.next_event()[0] == "expired" and c.state == SELECTING and c.lease is None
    assert Msg(sent(c)[0]).mtype == DISCOVER


def test_rebound_from_other_server():
    c, _ = bound()
    c.tick(105000)
    sent(c)
    d, _ = sent(c)
    c.receive_datagram(reply(d, ACK, sid=SRV2), 106000)
    evs = [c.next_event()[0] for _ in range(3)]
    assert evs == ["renewing", "rebinding", "rebound"]
    assert c.lease.server == "10.99.0.2"


def test_init_reboot_rules():
    c, _ = bound()
    saved = dhcp_lease.from_dict(c.lease.to_dict())
    c2 = client()
    c2.start(5, saved)
    assert c2.state == REBOOTING
    d, dest = sent(c2)
    m = Msg(d)
    assert dest is None and m.mtype == REQUEST and m.ciaddr == b"\0\0\0\0" and m.flags == 0x8000
    assert m.opts[OPT_REQUESTED_IP] == YI and OPT_SERVER_ID not in m.opts
    c2.receive_datagram(reply(d, ACK), 10)
    assert c2.next_event()[0] == "bound"


def test_nak_back_to_init_after_delay():
    c = client(nak_delay_ms=3000)
    c.start(0, core.Lease("10.99.5.5", "10.99.0.1", {}))
    d, _ = sent(c)
    c.receive_datagram(reply(d, NAK, yiaddr=b"\0\0\0\0", lease=None), 50)
    assert c.next_event()[0] == "nak" and c.state == INIT and c.lease is None
    assert c.next_deadline_ms() == 3050 and c.datagram_to_send() is None
    c.tick(3050)
    assert Msg(sent(c)[0]).mtype == DISCOVER


def test_decline_rules():
    c, _ = bound()
    c.release(1000, decline=True)
    d, dest = sent(c)
    m = Msg(d)
    assert dest is None and m.mtype == DECLINE and m.ciaddr == b"\0\0\0\0" and m.flags == 0 and m.xid
    assert m.opts[OPT_REQUESTED_IP] == YI and m.opts[OPT_SERVER_ID] == SRV and OPT_MESSAGE in m.opts
    for k in (OPT_PARAMS, OPT_MAX_SIZE, OPT_LEASE_TIME, OPT_HOSTNAME):
        assert k not in m.opts
    assert d[8:10] == b"\0\0"  # secs 0
    assert c.next_event()[0] == "declined" and c.state == INIT
    assert c.next_deadline_ms() == 11000  # at least 10 s (RFC 2131 3.1 step 5)


def test_release_rules():
    c, _ = bound(hostname="dev")
    c.release(2000)
    d, dest = sent(c)
    m = Msg(d)
    assert dest == "10.99.0.1" and m.mtype == RELEASE and m.ciaddr == YI and m.flags == 0
    assert m.opts[OPT_SERVER_ID] == SRV and OPT_REQUESTED_IP not in m.opts
    for k in (OPT_PARAMS, OPT_MAX_SIZE, OPT_HOSTNAME, OPT_LEASE_TIME):
        assert k not in m.opts
    assert c.next_event()[0] == "released" and c.state == STOPPED and c.next_deadline_ms() is None


def test_inform_rules():
    c = client()
    c.start(0, inform="10.99.0.50")
    d, dest = sent(c)
    m = Msg(d)
    assert dest is None and m.mtype == INFORM and m.ciaddr == b"\x0a\x63\x00\x32"
    for k in (OPT_REQUESTED_IP, OPT_SERVER_ID, OPT_LEASE_TIME):
        assert k not in m.opts
    assert OPT_PARAMS in m.opts
    c.receive_datagram(reply(d, ACK, yiaddr=b"\0\0\0\0", lease=None,
                             extra=((OPT_DNS, SRV),)), 10)
    name, lease = c.next_event()
    assert name == "informed" and lease.dns == ["10.99.0.1"] and c.state == STOPPED


def test_rapid_commit():
    c = client(rapid_commit=True)
    c.start(0)
    d, _ = sent(c)
    # an ACK without option 80 is not a rapid-commit answer
    c.receive_datagram(reply(d, ACK), 5)
    assert c.ignored == 1 and c.state == SELECTING
    c.receive_datagram(reply(d, ACK, extra=((OPT_RAPID_COMMIT, b""),)), 6)
    assert c.next_event()[0] == "bound" and c.sent == 1
    c2 = client()
    c2.start(0)
    d, _ = sent(c2)
    c2.receive_datagram(reply(d, ACK, extra=((OPT_RAPID_COMMIT, b""),)), 6)
    assert c2.ignored == 1  # not asked for


def test_reply_checks():
    c = client()
    c.start(0)
    d, _ = sent(c)
    good = reply(d, OFFER)
    bad = [
        (reply(d, OFFER, xid=b"\x09\x09\x09\x09"), "xid"),
        (reply(d, OFFER, chaddr=b"\x02\x11\x22\x33\x44\x56"), "chaddr"),
        (reply(d, OFFER, sid=None), "no server id"),
        (reply(d, OFFER, yiaddr=b"\0\0\0\0"), "offer"),
        (reply(d, OFFER, lease=None), "offer"),
        (reply(d, ACK), "type"),
        (b"\x01" + good[1:], "not a reply"),
        (good[:1] + b"\x06" + good[2:], "not Ethernet"),
        (good[:236] + b"\x63\x82\x53\x64" + good[240:], "no magic cookie"),
        (good[:239], "short message"),
        (good[:243] + b"\x36\x09\x01", "option 54 runs past its field"),
    ]
    for i, (pkt, why) in enumerate(bad):
        c.receive_datagram(pkt, 1 + i)
        assert c.ignored == i + 1, why
        assert c.last_ignored == why, (why, c.last_ignored)
        assert c.state == SELECTING and c.datagram_to_send() is None
    c.receive_datagram(good, 50)
    assert c.state == REQUESTING


def test_requesting_other_server_ignored():
    c = client()
    c.start(0)
    d, _ = sent(c)
    c.receive_datagram(reply(d, OFFER), 1)
    r, _ = sent(c)
    c.receive_datagram(reply(r, OFFER, sid=SRV2), 2)
    c.receive_datagram(reply(r, ACK, sid=SRV2), 3)
    assert c.ignored == 2 and c.state == REQUESTING
    c.receive_datagram(reply(r, NAK, sid=SRV2, lease=None), 3)
    assert c.state == REQUESTING


def test_choose_offer_hook():
    seen = []
    c = client(choose_offer=lambda lease: seen.append(lease.server) or lease.server == "10.99.0.2")
    c.start(0)
    d, _ = sent(c)
    c.receive_datagram(reply(d, OFFER), 1)
    assert c.state == SELECTING and c.last_ignored == "refused offer"
    c.receive_datagram(reply(d, OFFER, sid=SRV2), 2)
    assert c.state == REQUESTING and seen == ["10.99.0.1", "10.99.0.2"]
    assert opts_of(sent(c)[0])[OPT_SERVER_ID] == SRV2


def test_discover_backoff():
    c = client()
    c.start(0)
    sent(c)
    t = 0
    waits = []
    for _ in range(7):
        dl = c.next_deadline_ms()
        waits.append(dl - t)
        t = dl
        c.tick(t)
        m = Msg(sent(c)[0])
        assert m.mtype == DISCOVER
    for w, base in zip(waits, (4000, 8000, 16000, 32000, 64000, 64000, 64000)):
        assert base - 1000 <= w <= base + 1000, waits


def test_secs_field():
    c = client()
    c.start(0)
    sent(c)
    c.tick(c.next_deadline_ms())
    d, _ = sent(c)
    assert d[8] == 0 and 3 <= d[9] <= 5  # seconds since the exchange began


def test_requesting_gives_up():
    c = client(max_tries=2)
    c.start(0)
    d, _ = sent(c)
    c.receive_datagram(reply(d, OFFER), 1)
    sent(c)
    c.tick(c.next_deadline_ms())
    assert Msg(sent(c)[0]).mtype == REQUEST
    c.tick(c.next_deadline_ms())
    assert c.next_event()[0] == "gave_up"
    assert Msg(sent(c)[0]).mtype == DISCOVER


def test_probe_lists_every_offer():
    c = client()
    c.start(0, probe=True)
    d, _ = sent(c)
    assert opts_of(d).get(OPT_RAPID_COMMIT) is None
    c.receive_datagram(reply(d, OFFER), 1)
    c.receive_datagram(reply(d, OFFER, sid=SRV2, yiaddr=b"\x0a\x63\x00\x65"), 2)
    evs = [c.next_event(), c.next_event()]
    assert [e[0] for e in evs] == ["offer", "offer"]
    assert [e[1].server for e in evs] == ["10.99.0.1", "10.99.0.2"]
    assert c.datagram_to_send() is None and c.next_deadline_ms() is None


def test_infinite_lease_has_no_timers():
    c = client()
    c.start(0)
    d, _ = sent(c)
    c.receive_datagram(reply(d, OFFER, lease=b"\xff\xff\xff\xff"), 1)
    d, _ = sent(c)
    c.receive_datagram(reply(d, ACK, lease=b"\xff\xff\xff\xff"), 2)
    assert c.next_event()[0] == "bound" and c.lease.lease_s == -1
    assert c.next_deadline_ms() is None


def test_long_lease_deadline_capped_and_wraps():
    # a 30-day lease, started near the 2**30 wrap of the CPython port's ticks
    from microproto_port import ticks_add, ticks_diff

    t0 = (1 << 30) - 5000
    c = client()
    c.start(t0)
    d, _ = sent(c)
    c.receive_datagram(reply(d, OFFER, lease=b"\x00\x27\x8d\x00"), t0)
    d, _ = sent(c)
    c.receive_datagram(reply(d, ACK, lease=b"\x00\x27\x8d\x00"), t0)
    c.next_event()
    dl = c.next_deadline_ms()
    assert 0 < ticks_diff(dl, t0) <= 1 << 27
    now = t0
    for _ in range(20):  # T1 = 15 days, in steps of at most ~37 h
        now = c.next_deadline_ms()
        c.tick(now)
        if c.state != BOUND:
            break
    assert c.state == RENEWING
    assert c.lease.t1_s == 1296000


def test_lease_t1_t2_sanity():
    L = core.Lease
    lease = L("1.2.3.4", "1.2.3.1", {51: b"\0\0\0\x64", 58: b"\0\0\0\x50", 59: b"\0\0\0\x40"})
    assert (lease.t1_s, lease.t2_s) == (50, 64)  # T1 > T2 refused: defaults
    lease = L("1.2.3.4", "1.2.3.1", {51: b"\0\0\0\x64", 58: b"\0\0\0\x0a", 59: b"\0\0\0\x14"})
    assert (lease.t1_s, lease.t2_s) == (10, 20)
    lease = L("1.2.3.4", "1.2.3.1", {51: b"\xf0\0\0\0"})
    assert lease.lease_s == 0x3FFFFFFF
    assert L("1.2.3.4", "1.2.3.1", {1: b"\xff\xff\xf0\0"}).prefix_len() == 20


def test_classless_routes_replace_router():
    rt = bytes((0, 10, 99, 0, 254, 24, 192, 168, 7, 10, 99, 0, 253))
    lease = core.Lease("10.99.0.100", "10.99.0.1", {3: SRV, 121: rt})
    assert lease.routes == [("0.0.0.0", 0, "10.99.0.254"), ("192.168.7.0", 24, "10.99.0.253")]
    assert lease.routers == ["10.99.0.254"]
    lease = core.Lease("10.99.0.100", "10.99.0.1", {3: SRV, 121: b"\x21\0\0\0\0\0"})
    assert lease.routes is None and lease.routers == ["10.99.0.1"]


def test_lease_dict_roundtrip():
    c, _ = bound()
    d = c.lease.to_dict()
    back = dhcp_lease.from_dict(d)
    assert back.to_dict() == d and back.ip == "10.99.0.100"


def test_unexpected_replies_when_idle():
    c, d = bound()
    c.receive_datagram(reply(d, ACK), 30)
    assert c.ignored == 1 and c.last_ignored == "no exchange" and c.state == BOUND


def test_optional_options():
    c = client(client_id=b"", fqdn="dev.example.org", vendor_class=b"microproto")
    c.start(0)
    op = opts_of(sent(c)[0])
    assert OPT_CLIENT_ID not in op
    assert op[81] == b"\x05\x00\x00\x03dev\x07example\x03org\x00"  # RFC 4702: E and S flags
    assert op[60] == b"microproto"


def test_usage_errors():
    from microproto.errors import UsageError

    for call in (lambda: core.Client(b"\x01\x02", Rand()), lambda: client().release(0),
                 lambda: client().release(0, core.Lease("10.0.0.5", "10.0.0.1", {}), decline=True)):
        try:
            call()
            raise AssertionError("no error")
        except UsageError:
            pass


def test_offer_with_overloaded_options():
    # the lease time and server id in the file field (option 52 = 1)
    c = client()
    c.start(0)
    d, _ = sent(c)
    p = bytearray(reply(d, OFFER, sid=None, lease=None))
    p[108:120] = b"\x36\x04" + SRV + b"\x33\x04\x00\x00\x00\x78"
    p[243:246] = b"\x34\x01\x01"
    p[246] = 255
    c.receive_datagram(bytes(p), 1)
    assert c.state == REQUESTING and c.ignored == 0


def test_lease_fields_on_demand():
    rt = bytes((24, 192, 168, 7, 10, 99, 0, 253))
    lease = core.Lease("10.99.0.100", "10.99.0.1", {1: b"\xff\xff\xff\x00", 3: SRV, 6: SRV + SRV2, 15: b"lan\0",
                                                    26: b"\x05\xdc", 121: rt, 119: b"\x03lan\x00"})
    assert lease.mask == "255.255.255.0" and lease.prefix_len() == 24
    assert lease.dns == ["10.99.0.1", "10.99.0.2"] and lease.domain == "lan" and lease.mtu == 1500
    assert lease.routes == [("192.168.7.0", 24, "10.99.0.253")] and lease.routers is None  # 121 wins
    assert lease.search == ["lan"] and lease.ntp is None and lease.opts[26] == b"\x05\xdc"
    try:
        lease.nonesuch
        raise AssertionError("no error")
    except AttributeError:
        pass


def test_lease_module_uses_the_core_state_indices():
    # dhcp_lease.final reads Client._v by index; on MicroPython the const()
    # names are compiled away, on CPython both modules keep them
    for name in ("_XID", "_OPTS", "_DECLINE_MS", "_OUT"):
        a = getattr(core, name, None)
        if a is None:
            return
        assert getattr(dhcp_lease, name) == a, name
