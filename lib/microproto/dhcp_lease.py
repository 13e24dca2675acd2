"""The rarely needed half of the DHCP client, loaded on first use: decoders
of option values (RFC 2132, RFC 3442, RFC 3397), the lease's decoded
fields, and lease persistence.

A ``dhcp_core.Lease`` decodes these fields when first read (then keeps
them): ``mask``, ``routers``, ``dns``, ``ntp``, ``broadcast``, ``domain``,
``hostname``, ``search`` (RFC 3397), ``routes`` (RFC 3442 ``(dest,
prefix_len, router)``; when the server sent option 121, ``routers`` is its
default routes only, as RFC 3442 asks), ``mtu``; and ``prefix_len()``,
``to_dict()``. A malformed value reads as None: it is treated as absent.
"""

from microproto.dhcp_core import Lease, build, ip_bytes, ip_str
from microproto_port import const

# indices of dhcp_core.Client._v (the same names there)
_XID = const(0)
_OPTS = const(10)
_DECLINE_MS = const(15)
_OUT = const(16)

_FIELDS = {"mask": 1, "routers": 3, "dns": 6, "hostname": 12, "domain": 15, "mtu": 26, "broadcast": 28,
           "ntp": 42, "search": 119, "routes": 121}
_KEYS = ("ip", "server", "mask", "routers", "dns", "domain", "hostname", "broadcast", "ntp", "mtu", "search",
         "lease_s", "t1_s", "t2_s", "routes")


def addrs(v):
    """A list of dotted addresses from a multiple of 4 bytes (None if not)."""
    if not v or len(v) % 4:
        return None
    return [ip_str(v[i : i + 4]) for i in range(0, len(v), 4)]


def routes(v):
    """RFC 3442 classless static routes: ``[(dest, prefix_len, router)]``
    (dotted text), or None if the option is malformed (then the whole
    option is ignored, RFC 3442)."""
    if not v:
        return None
    out = []
    i = 0
    n = len(v)
    while i < n:
        w = v[i]
        sig = (w + 7) >> 3
        if w > 32 or i + 5 + sig > n:
            return None
        dest = bytearray(4)
        dest[:sig] = v[i + 1 : i + 1 + sig]
        out.append((ip_str(dest), w, ip_str(v[i + 1 + sig : i + 5 + sig])))
        i += 5 + sig
    return out


def text(v):
    """Option bytes as text (NUL padding dropped, bad UTF-8 as '?')."""
    if v is None:
        return None
    v = bytes(v).rstrip(b"\0")
    try:
        return v.decode()
    except UnicodeError:
        return "".join(chr(c) if 32 <= c < 127 else "?" for c in v)


def domains(v):
    """RFC 3397 domain search list (DNS names with compression pointers):
    a list of names, or None if malformed. Each pointer must land before
    the previous jump's target, so no loop is possible; names are at most
    255 bytes."""
    if not v:
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
                limit = j = p
                continue
            total += c + 1
            if c & 0xC0 or total > 255 or j + 1 + c > n:
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
            label = label[:63]
            out.append(len(label))
            out += label
    out.append(0)
    return bytes(out)


def unpack(packed):
    """The options of ``Lease.packed`` as {code: bytes}."""
    opts = {}
    i = 0
    while i + 3 <= len(packed):
        j = i + 3 + ((packed[i + 1] << 8) | packed[i + 2])
        opts[packed[i]] = packed[i + 3 : j]
        i = j
    return opts


def prefix_len(lease):
    """The lease's mask as a prefix length (24 for 255.255.255.0; 32 if
    there is none)."""
    m = lease.opts.get(1)
    if m is None or len(m) != 4:
        return 32
    n = 0
    for b in m:
        while b & 0x80:
            n += 1
            b = (b << 1) & 0xFF
    return n


def decode(lease, name):
    """The value of field ``name`` (see the module docstring)."""
    code = _FIELDS[name]
    v = lease.opts.get(code)
    if code in (12, 15):
        return text(v)
    if code == 26:
        return (v[0] << 8) | v[1] if v is not None and len(v) == 2 else None
    if code == 119:
        return domains(v)
    if code == 121:
        return routes(v)
    a = addrs(v)
    if code == 3 and 121 in lease.opts:
        r = routes(lease.opts[121])
        if r is not None:
            return [x[2] for x in r if x[1] == 0] or None
    if code in (1, 28):
        return a[0] if a else None
    return a


def to_dict(lease):
    """The lease as plain data (JSON-ready), options as hex text."""
    import binascii

    d = {}
    for k in _KEYS:
        d[k] = getattr(lease, k)
    if d["routes"]:
        d["routes"] = [list(r) for r in d["routes"]]
    d["options"] = dict((str(k), binascii.hexlify(v).decode()) for k, v in lease.opts.items())
    return d


def from_dict(d):
    """The inverse of ``to_dict`` (a saved lease)."""
    import binascii

    return Lease(d["ip"], d["server"], dict((int(k), binascii.unhexlify(v)) for k, v in d["options"].items()))


def field(lease, name):
    """``Lease.__getattr__``: decode, keep and return field ``name``."""
    if name == "to_dict":
        return lambda: to_dict(lease)
    if name == "prefix_len":
        return lambda: prefix_len(lease)
    if name == "opts":
        v = unpack(lease.packed)
    elif name in _FIELDS:
        v = decode(lease, name)
    else:
        raise AttributeError(name)
    setattr(lease, name, v)
    return v


def _mac_hex(mac):
    return "".join("%02x" % b for b in mac)


def save(path, lease, mac=None):
    """Write ``lease`` (and the MAC it belongs to) to ``path`` as JSON;
    ``lease`` None: delete the file (``forget``)."""
    import json

    if lease is None:
        return forget(path)
    d = to_dict(lease)
    if mac is not None:
        d["mac"] = _mac_hex(mac)
    with open(path, "w") as f:
        f.write(json.dumps(d))


def load(path, mac=None):
    """The lease saved in ``path``, or None if there is none, it is
    unreadable, or it belongs to another MAC."""
    import json

    try:
        with open(path) as f:
            d = json.loads(f.read())
        if mac is not None and d.get("mac", "") != _mac_hex(mac):
            return None
        return from_dict(d)
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError):
        return None


def forget(path):
    """Delete the saved lease (if any)."""
    import os

    try:
        os.remove(path)
    except OSError:
        pass


def final(client, lease, decline):
    """``Client.release``: one DHCPRELEASE (unicast to the lease's server,
    ciaddr set, RFC 2131 4.4.6) or DHCPDECLINE (broadcast, requested IP,
    secs 0, RFC 2131 4.4.1); no reply comes. Then STOPPED, or INIT for a
    new DISCOVER after ``decline_delay_ms``."""
    if lease is None or decline and not 3 <= client.state <= 5:
        from microproto.errors import UsageError

        raise UsageError("no lease")
    v = client._v
    v[_XID] = client.rand(4)
    ip = ip_bytes(lease.ip)
    opts = [(54, ip_bytes(lease.server))]
    if decline:
        opts.insert(0, (50, ip))
        ip = None
    opts.append((56, b"address in use" if decline else b"release"))
    opts += [o for o in v[_OPTS] if o[0] == 61]  # the client id
    buf = bytearray(548)
    n = build(buf, 4 if decline else 7, v[_XID], client.mac, ip, 0, 0, opts)
    v[_OUT].append((memoryview(buf)[:n], None if decline else lease.server))
    client.sent += 1
    client.lease = lease
    if decline:
        client._go(0, "declined", v[_DECLINE_MS])  # INIT, DISCOVER after the delay
    else:
        client._go(9, "released")  # STOPPED
