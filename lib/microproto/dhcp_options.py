"""DHCP wire format (RFC 2131 2, RFC 2132, RFC 3396, RFC 3442, RFC 3397):
bounded, total parsing and building into a preallocated buffer.

    msg = parse(datagram)      # a Message, or PeerError (never another exception)
    msg.opts[code]             # option bytes (split options joined, RFC 3396)
    n = build(buf, MSG_DISCOVER, xid, mac, options=((OPT_X, value), ...))

Rules enforced by ``parse``: at least the 236-byte fixed part and the magic
cookie, BOOTREPLY (op 2), Ethernet (htype 1, hlen 6), a DHCP message type
option of one byte. Options: pad (0) is skipped, end (255) stops a field,
an option whose length runs past its field is an error, repeated codes are
concatenated (RFC 3396), option overload (52) adds ``file`` then ``sname``
(RFC 2131 4.1); an overload option inside those fields is not followed.
Memory is bounded by the datagram: option values are slices of it.

Value decoders (``addrs``, ``seconds``, ``routes``, ``domains``, ``text``)
return None for a malformed value instead of raising: a malformed optional
option is treated as absent.
"""

from microproto.errors import PeerError
from microproto_port import const

# RFC 2131 2: fixed fields
_FIXED = const(236)
_COOKIE_END = const(240)
MIN_SIZE = const(300)  # RFC 1542 3.2: BOOTP messages of at least 300 bytes
BUF_SIZE = const(548)  # 576 (RFC 2131 2) minus IP and UDP headers
_MAGIC = b"\x63\x82\x53\x63"
FLAG_BROADCAST = const(0x8000)

# RFC 2132 9.6: message types
MSG_DISCOVER = const(1)
MSG_OFFER = const(2)
MSG_REQUEST = const(3)
MSG_DECLINE = const(4)
MSG_ACK = const(5)
MSG_NAK = const(6)
MSG_RELEASE = const(7)
MSG_INFORM = const(8)

# RFC 2132 option codes (and RFC 3442, RFC 3397, RFC 4039, RFC 4361, RFC 4702)
OPT_PAD = const(0)
OPT_SUBNET = const(1)
OPT_ROUTER = const(3)
OPT_DNS = const(6)
OPT_HOSTNAME = const(12)
OPT_DOMAIN = const(15)
OPT_MTU = const(26)
OPT_BROADCAST = const(28)
OPT_NTP = const(42)
OPT_REQUESTED_IP = const(50)
OPT_LEASE_TIME = const(51)
OPT_OVERLOAD = const(52)
OPT_MSG_TYPE = const(53)
OPT_SERVER_ID = const(54)
OPT_PARAMS = const(55)
OPT_MESSAGE = const(56)
OPT_MAX_SIZE = const(57)
OPT_T1 = const(58)
OPT_T2 = const(59)
OPT_VENDOR_CLASS = const(60)
OPT_CLIENT_ID = const(61)
OPT_RAPID_COMMIT = const(80)
OPT_FQDN = const(81)
OPT_SEARCH = const(119)
OPT_CLASSLESS = const(121)
OPT_END = const(255)

INFINITE = const(-1)  # lease time 0xffffffff
_MAX_SECONDS = const(0x3FFFFFFF)  # longer finite times are clamped (31-bit small ints)


class Message:
    """A parsed DHCP reply: ``op``, ``mtype``, ``xid`` (4 bytes), ``flags``,
    ``ciaddr``/``yiaddr``/``siaddr``/``giaddr`` (4 bytes each), ``chaddr``
    (16 bytes) and ``opts`` ({code: bytes})."""

    def __init__(self, data, opts):
        self.op = data[0]
        self.xid = bytes(data[4:8])
        self.flags = (data[10] << 8) | data[11]
        self.ciaddr = bytes(data[12:16])
        self.yiaddr = bytes(data[16:20])
        self.siaddr = bytes(data[20:24])
        self.giaddr = bytes(data[24:28])
        self.chaddr = bytes(data[28:44])
        self.opts = opts
        t = opts.get(OPT_MSG_TYPE)
        self.mtype = t[0] if t is not None and len(t) == 1 else 0

    def server_id(self):
        """The server identifier (4 bytes), or None when absent or malformed."""
        v = self.opts.get(OPT_SERVER_ID)
        return v if v is not None and len(v) == 4 else None


def _scan(data, start, end, opts, top):
    # Parse one option field into opts; returns the overload value seen
    # (top-level field only) or 0. Raises PeerError on a truncated option.
    over = 0
    i = start
    while i < end:
        code = data[i]
        if code == OPT_END:
            break
        if code == OPT_PAD:
            i += 1
            continue
        if i + 1 >= end:
            raise PeerError("truncated option %d" % code)
        n = data[i + 1]
        j = i + 2 + n
        if j > end:
            raise PeerError("option %d runs past its field" % code)
        v = bytes(data[i + 2 : j])
        if code == OPT_OVERLOAD:
            if top and n == 1:
                over |= v[0]
        else:
            old = opts.get(code)
            opts[code] = v if old is None else old + v
        i = j
    return over


def parse(data, require_reply=True):
    """Parse one DHCP datagram into a ``Message`` (see the module rules).
    ``require_reply=False`` also accepts BOOTREQUESTs (for servers and
    tests). Raises ``PeerError`` (only) when the datagram is not valid."""
    n = len(data)
    if n < _COOKIE_END:
        raise PeerError("short message")
    if bytes(data[236:240]) != _MAGIC:
        raise PeerError("no magic cookie")
    if require_reply and data[0] != 2:
        raise PeerError("not a reply")
    if data[1] != 1 or data[2] != 6:
        raise PeerError("not Ethernet")
    opts = {}
    over = _scan(data, _COOKIE_END, n, opts, True)
    if over & 1:
        _scan(data, 108, 236, opts, False)
    if over & 2:
        _scan(data, 44, 108, opts, False)
    m = Message(data, opts)
    if not m.mtype:
        raise PeerError("no message type")
    return m


def build(buf, mtype, xid, mac, ciaddr=None, flags=0, secs=0, options=()):
    """Write a BOOTREQUEST of DHCP type ``mtype`` into ``buf`` (at least
    ``BUF_SIZE`` bytes) and return its length (at least ``MIN_SIZE``).
    ``options`` is a sequence of ``(code, bytes)``; the message type comes
    first and the end option last. Raises ``ValueError`` if they do not fit."""
    for i in range(_COOKIE_END):
        buf[i] = 0
    buf[0] = 1
    buf[1] = 1
    buf[2] = 6
    buf[4:8] = xid
    buf[8] = (secs >> 8) & 0xFF
    buf[9] = secs & 0xFF
    buf[10] = (flags >> 8) & 0xFF
    if ciaddr:
        buf[12:16] = ciaddr
    buf[28 : 28 + len(mac)] = mac
    buf[236:240] = _MAGIC
    buf[240] = OPT_MSG_TYPE
    buf[241] = 1
    buf[242] = mtype
    i = 243
    limit = len(buf) - 1
    for code, v in options:
        n = len(v)
        if n > 255 or i + 2 + n > limit:
            raise ValueError("options do not fit")
        buf[i] = code
        buf[i + 1] = n
        buf[i + 2 : i + 2 + n] = v
        i += 2 + n
    buf[i] = OPT_END
    i += 1
    while i < MIN_SIZE:
        buf[i] = 0
        i += 1
    return i


def ip_str(b):
    """Dotted text of a 4-byte address."""
    return "%d.%d.%d.%d" % (b[0], b[1], b[2], b[3])


def ip_bytes(s):
    """4 bytes of a dotted IPv4 address; ``ValueError`` if it is not one."""
    parts = s.split(".")
    if len(parts) != 4:
        raise ValueError("not an IPv4 address: %s" % s)
    out = bytearray(4)
    for i in range(4):
        v = int(parts[i])
        if not 0 <= v <= 255:
            raise ValueError("not an IPv4 address: %s" % s)
        out[i] = v
    return bytes(out)


def addrs(v):
    """A list of dotted addresses from a multiple of 4 bytes (None if not)."""
    if v is None or not v or len(v) % 4:
        return None
    return [ip_str(v[i : i + 4]) for i in range(0, len(v), 4)]


def seconds(v):
    """A 32-bit time in seconds: ``INFINITE`` for 0xffffffff, clamped to
    2**30-1 above that (so it stays a small int on boards); None if not
    4 bytes."""
    if v is None or len(v) != 4:
        return None
    if v == b"\xff\xff\xff\xff":
        return INFINITE
    if v[0] >= 0x40:
        return _MAX_SECONDS
    return (v[0] << 24) | (v[1] << 16) | (v[2] << 8) | v[3]


def routes(v):
    """RFC 3442 classless static routes: a list of ``(dest, prefix_len,
    router)`` (dotted text), or None if the option is malformed (then the
    whole option is ignored, as RFC 3442 asks)."""
    if v is None or not v:
        return None
    out = []
    i = 0
    n = len(v)
    while i < n:
        width = v[i]
        if width > 32:
            return None
        sig = (width + 7) >> 3
        if i + 1 + sig + 4 > n:
            return None
        dest = bytearray(4)
        dest[:sig] = v[i + 1 : i + 1 + sig]
        out.append((ip_str(dest), width, ip_str(v[i + 1 + sig : i + 5 + sig])))
        i += 5 + sig
    return out


def text(v):
    """Option bytes as text (NUL padding dropped, bad UTF-8 replaced by '?')."""
    if v is None:
        return None
    end = len(v)
    while end and v[end - 1] == 0:
        end -= 1
    try:
        return bytes(v[:end]).decode()
    except UnicodeError:
        return "".join(chr(c) if 32 <= c < 127 else "?" for c in v[:end])


def domains(v):
    """RFC 3397 domain search list (DNS names with compression pointers):
    a list of names, or None if the option is malformed. Each pointer must
    land before the previous jump's target, so no loop is possible."""
    if v is None or not v:
        return None
    out = []
    i = 0
    n = len(v)
    while i < n:
        labels = []
        j = i
        nxt = -1
        limit = i
        total = 0
        while True:
            if j >= n:
                return None
            c = v[j]
            if c == 0:
                j += 1
                break
            if c & 0xC0 == 0xC0:
                if j + 1 >= n:
                    return None
                p = ((c & 0x3F) << 8) | v[j + 1]
                if p >= limit:
                    return None
                if nxt < 0:
                    nxt = j + 2
                limit = p
                j = p
                continue
            if c & 0xC0:
                return None
            total += c + 1
            if total > 255 or j + 1 + c > n:
                return None
            labels.append(text(v[j + 1 : j + 1 + c]))
            j += 1 + c
        out.append(".".join(labels))
        i = nxt if nxt >= 0 else j
    return out


def encode_name(name):
    """A DNS name in wire format (RFC 1035 3.1), for option 81."""
    out = bytearray()
    for label in name.encode().split(b"."):
        if label:
            out.append(len(label) & 0x3F)
            out += label[:63]
    out.append(0)
    return bytes(out)
