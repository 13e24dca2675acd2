"""DHCP wire format (microproto.dhcp_core.parse/build) and option decoders
(microproto.dhcp_lease): the parser on hostile and
unusual packets (pad/end, overload, split options, truncation) and the
value decoders (RFC 3442 routes, RFC 3397 search list)."""

from microproto import dhcp_core as o
from microproto import dhcp_lease as L
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
    assert o.parse(packet(b"\xff")) == {53: b"\x05"}


def test_pad_and_end():
    m = o.parse(packet(b"\x00\x00\x36\x04\x0a\x00\x00\x01\x00\xff\x33\x04\x00\x00\x00\x01"))
    assert m[54] == b"\x0a\x00\x00\x01" and 51 not in m  # nothing after end
    m = o.parse(packet(b"\x36\x04\x0a\x00\x00\x01"))  # no end option at all: accepted
    assert m[54] == b"\x0a\x00\x00\x01"


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
    assert m[121] == b"\x00\x0a\x63\x00\x01"


def test_overload_file_then_sname():
    m = o.parse(packet(b"\x34\x01\x03\xff", sname=b"\x0f\x03abc\xff", file=b"\x0f\x02xy\x0c\x01h\xff"))
    assert m[15] == b"xyabc"  # options, then file, then sname (RFC 3396)
    assert m[12] == b"h" and 52 not in m
    m = o.parse(packet(b"\x34\x01\x02\xff", sname=b"\x0f\x03abc\xff", file=b"\x0f\x02xy\xff"))
    assert m[15] == b"abc"
    # an option may not run from the file field into sname
    assert err(packet(b"\x34\x01\x01\xff", file=b"\0" * 126 + b"\x0f\x05")) == "option 15 runs past its field"
    # overload inside an overloaded field is not followed
    m = o.parse(packet(b"\x34\x01\x01", file=b"\x34\x01\x02\xff", sname=b"\x0f\x01z"))
    assert 15 not in m


def test_build_roundtrip():
    buf = bytearray(548)
    n = o.build(buf, 3, b"\xaa\xbb\xcc\xdd", MAC, b"\x0a\0\0\x05", 0, 7,
                ((50, b"\x0a\0\0\x05"), (80, b""), (12, b"x" * 255)))
    assert n == 243 + 6 + 2 + 257 + 1
    m = o.parse(buf[:n], False)
    assert buf[0] == 1 and m[53] == b"\x03" and buf[12:16] == b"\x0a\0\0\x05" and m[80] == b""
    assert buf[8:10] == b"\0\x07" and len(m[12]) == 255 and buf[28:34] == MAC
    try:
        o.build(buf, 1, b"1234", MAC, options=((12, b"x" * 255), (15, b"y" * 255)))
        raise AssertionError("no error")
    except ValueError:
        pass


def test_addresses():
    assert o.ip_str(b"\x0a\x63\x00\x01") == "10.99.0.1"
    assert o.ip_bytes("10.99.0.1") == b"\x0a\x63\x00\x01"
    for bad in ("10.99.0", "10.99.0.256", "a.b.c.d", "1.2.3.4; rm", "1.2.3.-1"):
        try:
            o.ip_bytes(bad)
            raise AssertionError(bad)
        except ValueError:
            pass
    assert L.addrs(b"\x01\x02\x03\x04\x05\x06\x07\x08") == ["1.2.3.4", "5.6.7.8"]
    assert L.addrs(b"\x01\x02\x03") is None and L.addrs(b"") is None


def test_seconds():
    assert o.seconds(b"\0\0\0\x78") == 120
    assert o.seconds(b"\xff\xff\xff\xff") == -1
    assert o.seconds(b"\x7f\xff\xff\xff") == 0x3FFFFFFF
    assert o.seconds(b"\0\0\x78") is None


def test_routes():
    assert L.routes(b"\x00\x0a\x00\x00\x01") == [("0.0.0.0", 0, "10.0.0.1")]
    assert L.routes(b"\x20\x01\x02\x03\x04\x0a\x00\x00\x01") == [("1.2.3.4", 32, "10.0.0.1")]
    assert L.routes(b"\x09\xc0\x80\x0a\x00\x00\x01") == [("192.128.0.0", 9, "10.0.0.1")]
    assert L.routes(b"\x21\x01\x02\x03\x04\x05\x0a\x00\x00\x01") is None  # width > 32
    assert L.routes(b"\x18\x0a\x00") is None  # truncated
    assert L.routes(b"") is None


def test_domains():
    # RFC 3397 4 example: eng.apple.com. and marketing.apple.com. (pointer to offset 4)
    v = b"\x03eng\x05apple\x03com\x00\x09marketing\xc0\x04"
    assert L.domains(v) == ["eng.apple.com", "marketing.apple.com"]
    assert L.domains(b"\xc0\x00") is None  # points at itself
    assert L.domains(b"\x01a\xc0\x00") is None  # loop back into the same name
    assert L.domains(b"\x01a\x00\x01b\xc0\x03") is None  # forward/self chain
    assert L.domains(b"\x05ab") is None
    assert L.domains(b"\x3f" + b"a" * 63 + b"\x3f" + b"a" * 63 + b"\x3f" + b"a" * 63 + b"\x3f" + b"a" * 63
                     + b"\x00") is None  # over 255 bytes
    assert L.domains(b"\x40a\x00") is None


def test_text():
    assert L.text(b"host\0\0") == "host"
    assert L.text(b"\xff\xfeok") == "??ok"


def test_encode_name():
    assert L.encode_name("dev.example.org") == b"\x03dev\x07example\x03org\x00"
