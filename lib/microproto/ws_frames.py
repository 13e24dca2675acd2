"""WebSocket frame codec (RFC 6455 section 5), sans-I/O and allocation-free.

``FrameHeader.parse(buf, start, end)`` reads a header from ``buf`` into the
object's fields (no tuple, no slice), ``build_header(buf, off, ...)``
writes one into a caller's buffer. Payloads are unmasked in place with
``microproto_port.fast.mask``. ``serialize``/``parse_frame`` are allocating
helpers for tests and clients. Close payloads: ``parse_close``,
``build_close`` and ``close_code_valid`` (RFC 6455 5.5.1, 7.4), which live
in ``microproto.ws_protocol`` (the server core parses headers in place and
does not load this module).

Limits: control payloads are at most 125 bytes; a 64-bit length with the
top bit set is refused (``parse`` returns -1).
"""

from microproto_port import const

# RFC 6455 5.2: opcodes
OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

# RFC 6455 5.2: header bits
_FIN = const(0x80)
_RSV_MASK = const(0x70)
_MASK_BIT = const(0x80)
RSV1 = 0x40
MAX_HEADER = 14
MAX_CONTROL = 125

# RFC 6455 7.4.1 / 7.4.2: close codes
CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_PROTOCOL_ERROR = 1002
CLOSE_UNSUPPORTED = 1003
CLOSE_NO_STATUS = 1005
CLOSE_ABNORMAL = 1006
CLOSE_INVALID_DATA = 1007
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_EXTENSION = 1010
CLOSE_INTERNAL_ERROR = 1011


def __getattr__(name):
    # the Close payload helpers live with the server core (which does not
    # load this module): ``build_close``, ``parse_close``, ``close_code_valid``
    if name in ("build_close", "parse_close", "close_code_valid"):
        from microproto import ws_protocol

        return getattr(ws_protocol, name)
    raise AttributeError(name)


def is_control(opcode):
    return opcode >= 8


def is_known_opcode(opcode):
    return opcode <= 2 or 8 <= opcode <= 10


def header_size(b1):
    """Total header size announced by the second header byte."""
    n = b1 & 0x7F
    size = 2
    if n == 126:
        size = 4
    elif n == 127:
        size = 10
    if b1 & _MASK_BIT:
        size += 4
    return size


class FrameHeader:
    """The fields of one frame header, parsed in place (reused per frame)."""

    def __init__(self):
        self.fin = True
        self.rsv = 0
        self.opcode = 0
        self.masked = False
        self.length = 0
        self.key = bytearray(4)
        self.size = 0

    def parse(self, buf, start, end):
        """Parse the header at ``buf[start:end]``: its size, 0 if more bytes
        are needed, -1 if the 64-bit length has its top bit set."""
        if end - start < 2:
            return 0
        b0 = buf[start]
        b1 = buf[start + 1]
        size = header_size(b1)
        if end - start < size:
            return 0
        n = b1 & 0x7F
        i = start + 2
        if n == 126:
            n = (buf[i] << 8) | buf[i + 1]
            i += 2
        elif n == 127:
            if buf[i] & 0x80:
                return -1
            n = 0
            for j in range(8):
                n = (n << 8) | buf[i + j]
            i += 8
        self.fin = bool(b0 & _FIN)
        self.rsv = b0 & _RSV_MASK
        self.opcode = b0 & 0x0F
        self.masked = bool(b1 & _MASK_BIT)
        self.length = n
        if self.masked:
            k = self.key
            k[0] = buf[i]
            k[1] = buf[i + 1]
            k[2] = buf[i + 2]
            k[3] = buf[i + 3]
        self.size = size
        return size


def build_header(buf, off, opcode, fin, length, rsv=0, key=None):
    """Write a frame header at ``buf[off:]`` (room for 14 bytes); return its
    size. ``key``: 4 mask bytes (clients), None for a server's frames."""
    buf[off] = (_FIN if fin else 0) | rsv | opcode
    m = _MASK_BIT if key is not None else 0
    i = off + 2
    if length < 126:
        buf[off + 1] = m | length
    elif length < 0x10000:
        buf[off + 1] = m | 126
        buf[i] = length >> 8
        buf[i + 1] = length & 0xFF
        i += 2
    else:
        buf[off + 1] = m | 127
        for j in range(7, -1, -1):
            buf[i + j] = length & 0xFF
            length >>= 8
        i += 8
    if key is not None:
        buf[i] = key[0]
        buf[i + 1] = key[1]
        buf[i + 2] = key[2]
        buf[i + 3] = key[3]
        i += 4
    return i - off


def serialize(opcode, payload=b"", fin=True, rsv=0, key=None):
    """A whole frame as bytes (masked when ``key`` is given)."""
    from microproto_port.fast import copy_into, mask_into

    hdr = bytearray(MAX_HEADER)
    n = build_header(hdr, 0, opcode, fin, len(payload), rsv, key)
    k = len(payload)
    out = bytearray(n + k)  # one copy of the payload, unmasked or masked
    copy_into(out, 0, hdr, 0, n)
    if key is None:
        copy_into(out, n, payload, 0, k)
    else:
        mask_into(out, n, payload, 0, k, key, 0)
    return bytes(out)


def parse_frame(data):
    """``(fin, rsv, opcode, payload, size)`` of the first whole frame in
    ``data`` (payload unmasked), or None if ``data`` is incomplete."""
    from microproto_port.fast import copy_into, mask_into

    h = FrameHeader()
    n = h.parse(data, 0, len(data))
    k = h.length
    if n <= 0 or len(data) < n + k:
        return None
    body = bytearray(k)
    if h.masked:
        mask_into(body, 0, data, n, k, h.key, 0)
    else:
        copy_into(body, 0, data, n, k)
    return (h.fin, h.rsv, h.opcode, bytes(body), n + k)
