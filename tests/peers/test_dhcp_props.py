"""Property tests (hypothesis, CPython) of every DHCP parser: the datagram
parser, the option value decoders and the client core fed with anything.
Each gives its defined result or its defined error (PeerError for a
datagram, None for a malformed value, an ignored-and-counted datagram for
the core), never another exception, and memory bounded by the input."""

import tracemalloc

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microproto import dhcp_core as core
from microproto import dhcp_lease
from microproto.errors import PeerError

MAC = b"\x02\x11\x22\x33\x44\x55"
SETTINGS = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def header(op=2, xid=b"\x01\x02\x03\x04", file=b"", sname=b""):
    p = bytearray(240)
    p[0:3] = bytes((op, 1, 6))
    p[4:8] = xid
    p[28:34] = MAC
    p[44 : 44 + len(sname)] = sname
    p[108 : 108 + len(file)] = file
    p[236:240] = b"\x63\x82\x53\x63"
    return bytes(p)


def parse_or_error(data, reply=True):
    try:
        return core.parse(data, reply)
    except PeerError as e:
        assert e.reason
        return e


@SETTINGS
@given(st.binary(max_size=1600))
def test_parse_any_bytes(data):
    r = parse_or_error(data)
    if isinstance(r, dict):
        assert r[53] and len(r[53]) == 1
        assert sum(len(v) for v in r.values()) <= len(data)


@SETTINGS
@given(st.binary(max_size=400), st.binary(max_size=128), st.binary(max_size=64))
def test_parse_any_options(opts, file, sname):
    data = header(file=file, sname=sname) + opts
    r = parse_or_error(data)
    if isinstance(r, dict):
        for k, v in r.items():
            assert 1 <= k <= 254 and k != 52 and isinstance(v, bytes)


options = st.lists(st.tuples(st.integers(1, 254).filter(lambda c: c not in (52, 53)), st.binary(max_size=300)),
                   max_size=6)


def encode(code, value, cuts):
    # RFC 3396: a value may be split into several instances of its code
    out = b""
    pos = 0
    for c in sorted(set(min(x, len(value)) for x in cuts)) + [len(value)]:
        while c - pos > 255:
            out += bytes((code, 255)) + value[pos : pos + 255]
            pos += 255
        if c > pos or (c == pos == 0 and not value):
            out += bytes((code, c - pos)) + value[pos:c]
            pos = c
    if not value and not out:
        out = bytes((code, 0))
    return out


@SETTINGS
@given(options, st.lists(st.integers(0, 300), max_size=4), st.integers(0, 12))
def test_split_options_parse_the_same(opts, cuts, pads):
    """The same options, whole or split at any points into several
    instances (RFC 3396), with pads between them, parse the same."""
    want = {}
    for code, value in opts:
        want[code] = want.get(code, b"") + value
    whole = b"".join(encode(c, v, []) for c, v in opts)
    split = (b"\0" * pads).join(encode(c, v, cuts) for c, v in opts)
    a = core.parse(header() + b"\x35\x01\x05" + whole + b"\xff")
    b = core.parse(header() + b"\x35\x01\x05" + split + b"\xff" + b"\0" * pads)
    assert a == b
    for k, v in want.items():
        assert a[k] == v


@SETTINGS
@given(options, st.integers(0, 2000))
def test_truncated_anywhere(opts, cut):
    """A valid reply truncated at any point parses to a subset or fails
    with PeerError."""
    whole = header() + b"\x35\x01\x05" + b"".join(encode(c, v, []) for c, v in opts) + b"\xff"
    r = parse_or_error(whole[: min(cut, len(whole))])
    full = core.parse(whole)
    if isinstance(r, dict):
        for k, v in r.items():
            assert full[k].startswith(v)


@SETTINGS
@given(st.lists(st.tuples(st.integers(1, 254).filter(lambda c: c not in (52, 53)), st.binary(max_size=40)),
                max_size=8), st.sampled_from([1, 3, 8]), st.binary(min_size=4, max_size=4))
def test_build_parse_roundtrip(opts, mtype, xid):
    buf = bytearray(548)
    try:
        n = core.build(buf, mtype, xid, MAC, None, 0x8000, 3, opts)
    except ValueError:
        assert 243 + sum(2 + len(v) for _, v in opts) + 1 > 548
        return
    assert n >= 300 and buf[4:8] == xid and buf[28:34] == MAC
    got = core.parse(buf[:n], False)
    want = {53: bytes((mtype,))}
    for c, v in opts:
        want[c] = want.get(c, b"") + v
    assert got == want


@SETTINGS
@given(st.binary(max_size=600))
def test_decoders_total(v):
    for f in (dhcp_lease.addrs, dhcp_lease.routes, dhcp_lease.domains, dhcp_lease.text, core.seconds):
        r = f(v)
        assert r is None or isinstance(r, (list, str, int))
    names = dhcp_lease.domains(v)
    if names is not None:
        assert all(len(n) <= 255 for n in names) and len(names) <= len(v)
    routes = dhcp_lease.routes(v)
    if routes is not None:
        assert all(0 <= w <= 32 for _, w, _ in routes) and len(routes) <= len(v) // 5
    opts = dhcp_lease.unpack(v)
    assert sum(len(x) for x in opts.values()) <= len(v)


@SETTINGS
@given(st.dictionaries(st.integers(0, 255), st.binary(max_size=300), max_size=10))
def test_lease_fields_total(opts):
    lease = core.Lease("10.0.0.5", "10.0.0.1", opts)
    assert lease.opts == opts
    d = lease.to_dict()
    assert dhcp_lease.from_dict(d).to_dict() == d
    assert 0 <= lease.prefix_len() <= 32
    if lease.lease_s is not None and lease.lease_s > 0:
        assert 0 < lease.t1_s <= lease.t2_s <= lease.lease_s


class Rand:
    def __init__(self):
        self.n = 0

    def __call__(self, k):
        self.n += 1
        return bytes((self.n + i) & 0xFF for i in range(k))


def reply_to(req, mtype, extra=b""):
    p = bytearray(header(xid=bytes(req[4:8])))
    p[16:20] = b"\x0a\x00\x00\x05"
    return bytes(p) + bytes((53, 1, mtype)) + b"\x36\x04\x0a\x00\x00\x01\x33\x04\x00\x00\x00\x78" + extra + b"\xff"


@SETTINGS
@given(st.lists(st.one_of(st.tuples(st.just("tick"), st.integers(0, 200000)),
                          st.tuples(st.just("junk"), st.binary(max_size=400)),
                          st.tuples(st.just("mutate"), st.integers(0, 300), st.integers(0, 255)),
                          st.tuples(st.just("reply"), st.sampled_from([2, 5, 6]))), max_size=40))
def test_core_never_raises(steps):
    """The client core fed any datagrams and times stays in a defined
    state and keeps a deadline while an exchange or a lease runs."""
    c = core.Client(MAC, Rand())
    now = 0
    c.start(now)
    last = None
    for step in steps:
        out = c.datagram_to_send()
        while out is not None:
            last = bytes(out[0])
            out = c.datagram_to_send()
        if step[0] == "tick":
            now += step[1]
            c.tick(now)
        elif step[0] == "junk":
            c.receive_datagram(step[1], now)
        elif last is not None:
            r = bytearray(reply_to(last, 2 if step[0] == "mutate" else step[1]))
            if step[0] == "mutate":
                r[step[1] % len(r)] = step[2]
            c.receive_datagram(bytes(r), now)
        assert 0 <= c.state <= 9
        if c.state != 9:
            assert c.next_deadline_ms() is not None
        while c.next_event() is not None:
            pass


def test_parse_memory_bounded():
    data = header() + b"\x35\x01\x05" + b"\x0c\x01x" * 400
    tracemalloc.start()
    core.parse(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 * len(data), peak
