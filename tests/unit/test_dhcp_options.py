"""DHCP wire format (microproto.dhcp_options): the parser on hostile and
unusual packets (pad/end, overload, split options, truncation) and the
value decoders (RFC 3442 routes, RFC 3397 search list)."""

from microproto import dhcp_options as o
from microproto.errors import PeerError

MAC = b"\x02\x11\x22\x33\x44\x55"


def packet(options=b"", sname=b"", file=b"", op=2, mtype=5):
    p = bytearray(240)
    p[0] = op
    p[1] = 1
    p[2] = 6
    p[4:8] = b"\x01\x02\x03\x04"
    p[28:34] = MAC
    p[44 : 44 + len(sname)] = sname
    p[108 : 108 + len(file)] = file
    p[236:240] = b"\x63\x82\x53\x63"
    return bytes(p) + bytes((53, 1, mtype)) + options


def err(data):
    try:
        o.parse(data)
    except PeerError as e:
        return e.reason
    return None


def test_minimal_and_fields():
    m = o.parse(packet(b"\xff"))
    assert m.mtype == 5 and m.xid == b"\x01\x02\x03\x04" and m.chaddr[:6] == MAC and m.opts == {53: b"\x05"}


def test_pad_and_end():
    m = o.parse(packet(b"\x00\x00\x36\x04\x0a\x00\x00\x01\x00\xff\x33\x04\x00\x00\x00\x01"))
    assert m.opts[54] == b"\x0a\x00\x00\x01" and 51 not in m.opts  # nothing after end
    m = o.parse(packet(b"\x36\x04\x0a\x00\x00\x01"))  # no end option at all: accepted
    assert m.server_id() == b"\x0a\x00\x00\x01"


def test_errors():
    assert err(b"") == "short message"
    assert err(packet()[:239]) == "short message"
    assert err(packet(op=1)) == "not a reply"
    p = packet()
    assert err(p[:236] + b"\0\0\0\0" + p[240:]) == "no magic cookie"
    assert err(p[:240] + b"\xff") == "no message type"
    assert err(packet(b"\x36")) == "truncated option 54"
    assert err(packet(b"\x36\x05\x01")) == "option 54 runs past its field"
    assert err(p[:240] + b"\x35\x02\x05\x05") == "no message type"  # type of the wrong length


def test_split_options_concatenated():
    # RFC 3396: a code that appears more than once is one option
    m = o.parse(packet(b"\x79\x02\x00\x0a\x79\x03\x63\x00\x01\xff"))
    assert m.opts[121] == b"\x00\x0a\x63\x00\x01"


def test_overload_file_then_sname():
    m = o.parse(packet(b"\x34\x01\x03\xff", sname=b"\x0f\x03abc\xff", file=b"\x0f\x02xy\x0c\x01h\xff"))
    assert m.opts[15] == b"xyabc"  # options, then file, then sname (RFC 3396)
    assert m.opts[12] == b"h" and 52 not in m.opts
    m = o.parse(packet(b"\x34\x01\x02\xff", sname=b"\x0f\x03abc\xff", file=b"\x0f\x02xy\xff"))
    assert m.opts[15] == b"abc"
    # an option may not run from the file field into sname
    assert err(packet(b"\x34\x01\x01\xff", file=b"\0" * 126 + b"\x0f\x05")) == "option 15 runs past its field"
    # overload inside an overloaded field is not followed
    m = o.parse(packet(b"\x34\x01\x01", file=b"\x34\x01\x02\xff", sname=b"\x0f\x01z"))
    assert 15 not in m.opts


def test_build_roundtrip():
    buf = bytearray(o.BUF_SIZE)
    n = o.build(buf, o.MSG_REQUEST, b"\xaa\xbb\xcc\xdd", MAC, b"\x0a\0\0\x05", 0, 7,
                ((50, b"\x0a\0\0\x05"), (80, b""), (12, b"x" * 255)))
    assert n == 243 + 6 + 2 + 257 + 1
    m = o.parse(buf[:n], False)
    assert m.op == 1 and m.mtype == 3 and m.ciaddr == b"\x0a\0\0\x05" and m.opts[80] == b""
    assert buf[8:10] == b"\0\x07" and len(m.opts[12]) == 255
    try:
        o.build(buf, 1, b"1234", MAC, options=((12, b"x" * 255), (15, b"y" * 255)))
        raise AssertionError("no error")
    except ValueError:
        pass


def test_addresses():
    assert o.ip_str(b"\x0a\x63\x00\x01") == "10.99.0.1"
    assert o.ip_bytes("10.99.0.1") == b"\x0a\x63\x00\x01"
    for bad in ("10.99.0", "10.99.0.256", "a.b.c.d", "1.2.3.4; rm"):
        try:
            o.ip_bytes(bad)
            raise AssertionError(bad)
        except ValueError:
            pass
    assert o.addrs(b"\x01\x02\x03\x04\x05\x06\x07\x08") == ["1.2.3.4", "5.6.7.8"]
    assert o.addrs(b"\x01\x02\x03") is None and o.addrs(b"") is None


def test_seconds():
    assert o.seconds(b"\0\0\0\x78") == 120
    assert o.seconds(b"\xff\xff\xff\xff") == o.INFINITE
    assert o.seconds(b"\x7f\xff\xff\xff") == 0x3FFFFFFF
    assert o.seconds(b"\0\0\x78") is None


def test_routes():
    assert o.routes(b"\x00\x0a\x00\x00\x01") == [("0.0.0.0", 0, "10.0.0.1")]
    assert o.routes(b"\x20\x01\x02\x03\x04\x0a\x00\x00\x01") == [("1.2.3.4", 32, "10.0.0.1")]
    assert o.routes(b"\x09\xc0\x80\x0a\x00\x00\x01") == [("192.128.0.0", 9, "10.0.0.1")]
    assert o.routes(b"\x21\x01\x02\x03\x04\x05\x0a\x00\x00\x01") is None  # width > 32
    assert o.routes(b"\x18\x0a\x00") is None  # truncated
    assert o.routes(b"") is None


def test_domains():
    # RFC 3397 4 example: eng.apple.com. and marketing.apple.com. (pointer to offset 4)
    v = b"\x03eng\x05apple\x03com\x00\x09marketing\xc0\x04"
    assert o.domains(v) == ["eng.apple.com", "marketing.apple.com"]
    assert o.domains(b"\xc0\x00") is None  # points at itself
    assert o.domains(b"\x01a\xc0\x00") is None  # loop back into the same name
    assert o.domains(b"\x01a\x00\x01b\xc0\x03") is None  # forward/self chain
    assert o.domains(b"\x05ab") is None
    assert o.domains(b"\x3f" + b"a" * 63 + b"\x3f" + b"a" * 63 + b"\x3f" + b"a" * 63 + b"\x3f" + b"a" * 63
                     + b"\x00") is None  # over 255 bytes
    assert o.domains(b"\x40a\x00") is None


def test_text():
    assert o.text(b"host\0\0") == "host"
    assert o.text(b"\xff\xfeok") == "??ok"


def test_encode_name():
    assert o.encode_name("dev.example.org") == b"\x03dev\x07example\x03org\x00"
