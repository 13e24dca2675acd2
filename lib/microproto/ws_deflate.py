"""permessage-deflate (RFC 7692), server side: negotiation and codec glue.

``negotiate(values, ...)`` picks the first acceptable offer from the
client's Sec-WebSocket-Extensions header values and returns the
``DeflateParams`` and the response header value, or None. The compression
itself comes from ``microproto_port.inflate`` (zlib on CPython,
``deflate.DeflateIO`` on MicroPython, which inflates only: such a server
never compresses and asks the client not to keep its window). Sent
messages are compressed with at most a 4 KiB window (12 bits, or the
smaller one negotiated), which any client inflates: zlib then works about
twice as fast as with 32 KiB on text and images.

Limits: the inflated size of a message is bounded by the caller
(``max_out`` on every read), so a small compressed message cannot expand
without limit.
"""

# RFC 7692 7.1
NAME = "permessage-deflate"


class DeflateParams:
    """Negotiated parameters (server view): the defaults are the class's,
    an object holds what was negotiated otherwise."""

    server_no_context_takeover = client_no_context_takeover = False
    server_max_window_bits = client_max_window_bits = 15
    compress = True

    def header(self):
        parts = [NAME]
        if self.server_no_context_takeover:
            parts.append("server_no_context_takeover")
        if self.client_no_context_takeover:
            parts.append("client_no_context_takeover")
        if self.server_max_window_bits != 15:
            parts.append("%s=%d" % ("server_max_window_bits", self.server_max_window_bits))
        if self.client_max_window_bits != 15:
            parts.append("%s=%d" % ("client_max_window_bits", self.client_max_window_bits))
        return "; ".join(parts)


def split_offers(values):
    """``[(name, [(param, value_or_None), ...]), ...]`` from header values;
    None for a malformed header."""
    offers = []
    for v in values:
        for item in _split_outside_quotes(v, ","):
            item = item.strip()
            if not item:
                continue
            parts = _split_outside_quotes(item, ";")
            name = parts[0].strip().lower()
            params = []
            for p in parts[1:]:
                p = p.strip()
                if not p:
                    return None
                eq = p.find("=")
                if eq < 0:
                    params.append((p.lower(), None))
                else:
                    val = p[eq + 1 :].strip()
                    if len(val) >= 2 and val.startswith('"') and val.endswith('"'):
                        val = val[1:-1]
                    params.append((p[:eq].strip().lower(), val))
            offers.append((name, params))
    return offers


def _split_outside_quotes(s, sep):
    # ``s.split(sep)`` with the pieces of a quoted string joined back: a
    # separator counts when an even number of quotes comes before it. No
    # character is taken out of ``s`` on its own (on MicroPython each
    # distinct one-character str is interned for good: a peer's header
    # must not leave its characters in the heap).
    out = []
    group = None
    for piece in s.split(sep):
        odd = piece.count('"') % 2
        if group is None:
            if odd:
                group = [piece]
            else:
                out.append(piece)
        else:
            group.append(piece)
            if odd:
                out.append(sep.join(group))
                group = None
    if group is not None:
        out.append(sep.join(group))  # an unclosed quote runs to the end
    return out


def negotiate(values, can_compress=True, can_takeover=True, max_window_bits=15, window_bits=12):
    """``(DeflateParams, response_value)`` for the first acceptable
    permessage-deflate offer in ``values`` (header values), else None.

    ``max_window_bits``: the largest client window this server inflates
    (smaller saves RAM on a board; offers that cannot be limited are
    declined). A client that offers ``client_max_window_bits`` is asked
    for at most ``window_bits`` (12: a 4 KiB window; the MicroPython
    backend's ``WINDOW_BITS``, 10, at the server)."""
    for name, params in split_offers(values) or ():
        if name != NAME:
            continue
        p = DeflateParams()
        seen = []
        bits = 0  # client_max_window_bits: 0 if not offered
        for k, v in params:
            if k in seen:
                break  # RFC 7692 7: a repeated parameter voids the offer
            seen.append(k)
            if k == "server_no_context_takeover" or k == "client_no_context_takeover":
                if v is not None:
                    break
                setattr(p, k, True)  # (k is one of these two names: nothing new interned)
            elif k == "server_max_window_bits" or k == "client_max_window_bits":
                # a window of 8 to 15 bits: 1 or 2 ASCII digits (str.isdigit
                # takes a superscript two, which int() refuses: CPython
                # raised ValueError here)
                b = 0
                if v is not None and len(v) < 3 and v.encode().isdigit():
                    b = int(v)
                if k == "client_max_window_bits":
                    # the client lets the server choose (no value), or
                    # limits it: window_bits at most (12: a 4 KiB window to
                    # inflate instead of 32 KiB, and the client compresses
                    # faster)
                    if v is None:
                        b = window_bits
                    elif not 8 <= b <= 15:
                        break
                    bits = b if b < window_bits else window_bits
                elif 8 <= b <= 15:  # (server_max_window_bits needs a value)
                    p.server_max_window_bits = b
                else:
                    break
            else:
                break  # an unknown parameter voids the offer
        else:
            if not can_takeover:
                # RFC 7692 7.1.1.2: the server may ask for this even if not offered.
                p.client_no_context_takeover = True
            if bits:
                if max_window_bits < bits:
                    bits = max_window_bits
                p.client_max_window_bits = bits
            elif max_window_bits < 15:
                continue  # we cannot limit a client that did not offer the parameter
            # zlib cannot make an 8-bit window: such a server sends uncompressed.
            p.compress = can_compress and p.server_max_window_bits >= 9
            return p, p.header()
    return None


class PerMessageDeflate:
    """The codec for one connection, built from negotiated ``params``."""

    def __init__(self, params, backend=None, level=6, mem_level=8):
        if backend is None:
            from microproto_port import inflate as backend
        self.params = params
        self.inflater = backend.Inflater(params.client_max_window_bits, not params.client_no_context_takeover)
        self.deflater = None
        if params.compress and backend.CAN_COMPRESS:
            # at most a 4 KiB window (any client inflates a smaller one than
            # negotiated): zlib compresses about twice as fast as with 32 KiB
            # on text and images, with output a few per cent larger; its
            # window and hash chains take 16 KiB instead of 128 KiB
            bits = params.server_max_window_bits
            if bits > 12:
                bits = 12
            # zlib walks its whole hash table (2 ** (mem_level + 7) entries)
            # each time the window slides by its size: one memLevel less per
            # window bit under 12 keeps that cost per byte (a client asking
            # for 9 bits: memLevel 7 compressed JSON three times slower than 4)
            mem_level += bits - 12
            self.deflater = backend.Deflater(bits, level, mem_level if mem_level > 0 else 1)

    def compress(self, data, fin=True):
        """Compressed payload of a whole message (or of one fragment of it;
        ``fin`` on the last)."""
        out = self.deflater.compress(data)
        if fin:
            # a backend's output ends with 00 00 ff ff (sync-flushed): RFC
            # 7692 7.2.1 strips it (a view: no copy of a large message)
            out = memoryview(out)[:-4]
            if self.params.server_no_context_takeover:
                self.deflater.reset()
        return out


def accept(offers, o):
    """The WebSocket server's side: ``(PerMessageDeflate, response value)``
    for the client's Sec-WebSocket-Extensions ``offers`` under the server
    options ``o`` (``max_window_bits``, ``deflate_level``,
    ``deflate_mem_level``; the backend's ``WINDOW_BITS``, if it has one,
    for a client that lets the server choose), or ``(None, None)``."""
    from microproto_port import inflate

    if not getattr(inflate, "AVAILABLE", True):
        return None, None
    r = negotiate(offers, inflate.CAN_COMPRESS, inflate.CAN_TAKEOVER, o.max_window_bits,
                  getattr(inflate, "WINDOW_BITS", 12))
    if r is None:
        return None, None
    return PerMessageDeflate(r[0], inflate, o.deflate_level, o.deflate_mem_level), r[1]
