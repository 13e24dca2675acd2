"""The receive paths of ``microproto.ws_protocol`` that a plain message
does not take, loaded with the first compressed message or the first frame
in ``stream`` mode (close reasons by their number in
``ServerProtocol.fail``'s list of reasons):
payloads unmasked through the connection's scratch buffer, inflated
(``max_size`` bounds what comes out, in ``stream`` mode too), or handed out
as pieces (``("fragment", ...)`` events). With zlib (CPython) a joined
message's frames are held and inflated 64 KiB at a time and at its end.
"""

from microproto_port import const
from microproto_port.fast import copy_into, mask_into, utf8_check

_INFLATE_CHUNK = const(8192)  # inflated bytes per read: small pieces, less fragmentation
_HOLD = const(65536)  # a joined message's compressed bytes inflated at once (zlib)


def payload(p, data, i, k):
    """``k`` payload bytes of ``data`` from ``i``, compressed or in stream mode."""
    if p._mz and not p.stream and p.deflate.inflater.CHUNK > _HOLD:
        # zlib (CPython): a joined message's frames are held and inflated
        # 64 KiB at a time and at its end (microproto_port.fast.hold)
        from microproto_port.fast import hold

        if hold(p, data, i, k, _HOLD):
            inflate(p)
        return
    sc = p._scratch
    size = len(sc)
    text = p._mop == 1
    while k > 0 and not p.failed:
        c = size if k > size else k
        if p._masked:
            mask_into(sc, 0, data, i, c, p._hb, p._phase)
        else:
            copy_into(sc, 0, data, i, c)
        p._phase = (p._phase + c) & 3
        if p._mz:
            p.deflate.inflater.feed(memoryview(sc)[:c])
            inflate(p)
        else:
            if text:
                p._utf = utf8_check(sc, p._utf, 0, c)
                if p._utf < 0:
                    p.fail(1007, 13)  # invalid UTF-8
                    return
            _piece(p, bytes(memoryview(sc)[:c]))
        i += c
        k -= c


def end(p):
    """The end of a compressed message: what is left inflated; False if
    that failed the connection."""
    inf = p.deflate.inflater
    if p._piece is not None and not p.stream:
        inf.feed(p._piece)  # what payload held (zlib)
        p._piece = None
    inf.end()
    inflate(p)
    if p.failed:
        return False
    inf.reset_if_needed()
    return True


def _piece(p, piece):
    if p._piece is not None:
        p._events.append(("fragment", p._mop == 1, p._piece, False))
    p._piece = piece


def inflate(p):
    """Take what the inflater can give: into the message, or as pieces."""
    inf = p.deflate.inflater
    text = p._mop == 1
    # pieces of the scratch buffer's size up to 8 KiB; a joined message in
    # the inflater's (CPython: as large as the budget in one read, zlib
    # grows its output as it goes)
    chunk = inf.CHUNK
    if p.stream or not chunk:
        chunk = len(p._scratch)
        if chunk > _INFLATE_CHUNK:
            chunk = _INFLATE_CHUNK
    while not p.failed:
        # the inflated size is bounded by max_size in stream mode too
        budget = chunk if p.max_size is None else p.max_size - p._mn
        ask = budget + 1 if budget < chunk else chunk
        try:
            out = inf.read(ask)
        except ValueError:
            p.fail(1007, 16)  # invalid compressed data
            return
        if not out:
            return
        n = len(out)
        if n > budget:
            p.fail(1009, 12)  # message too big
            return
        if text:
            p._utf = utf8_check(out, p._utf)
            if p._utf < 0:
                p.fail(1007, 13)  # invalid UTF-8
                return
        if p.stream:
            _piece(p, out)
            p._mn += n
        else:
            mn = p._mn
            p._reserve(mn + n)
            copy_into(p._msg, mn, out, 0, n)
            p._mn = mn + n
        if n < ask and not inf.pending():
            return  # all input taken and all it gave out (no read for b"")
