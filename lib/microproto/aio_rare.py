"""The parts of the shared driver (``microproto.aio.Driven``) that a
connection runs only when a write has to wait, loaded then: a server whose
peers take what it sends never loads it. A drain (under a lock, within
``write_timeout_ms``, else the peer is cut), what comes behind it, a part
larger than ``streams.PIECE`` handed over a piece at a time, and the end
of ``finish`` when something is left to send or to linger for. Functions
of the connection ``d``; its ``_w`` is ``[drains under way, their Lock,
[parts, index, offset] of a large part not all handed over]`` while one
waits, else None."""

import asyncio

from microproto.aio import write
from microproto_port import streams, ticks_add, ticks_diff, ticks_ms


def drain(d, put):
    """What ``_out`` returns to await: a drain, behind the ones under way;
    ``put``: hand what the core queued first (it came behind them)."""
    w = d._w
    if w is None:
        w = d._w = [0, None, None]
    if w[1] is None:
        w[1] = asyncio.Lock()
    w[0] += 1  # (at once: an _out before this drain runs queues behind it)
    return _drain(d, w, put)


async def _drain(d, w, put):
    try:
        async with w[1]:
            if not d.closed and (not put or d._put()):
                await pump(d)
    except (OSError, RuntimeError, asyncio.TimeoutError):
        d.cut()
    finally:
        w[0] -= 1
        if not w[0] and w[2] is None and d._w is w:
            d._w = None  # nothing waits any more


async def pump(d):
    """Drain, handing over the rest of a large part piece by piece
    (``_put``), all within ``write_timeout_ms`` (a cut stream raises)."""
    s = d.writer
    end = ticks_add(ticks_ms(), d.write_timeout_ms)
    while True:
        if streams.blocked(s):
            left = ticks_diff(end, ticks_ms())
            if left <= 0:
                raise asyncio.TimeoutError()
            await write(s, b"", left)
        w = d._w
        if w is None or w[2] is None:
            return
        _put(d, None)


def _put(d, data):
    """``Driven._put`` for ``data`` (a part, or a list of parts) with a part
    larger than ``streams.PIECE``, or (None) for what is left of one: a
    piece at a time until the transport is full; True."""
    s = d.writer
    w = d._w
    if data is not None:
        if w is None:
            w = d._w = [0, None, None]
        w[2] = [data if type(data) is list else [data], 0, 0]
    r = w[2]
    parts, i, off = r
    n = len(parts)
    p = streams.PIECE
    while i < n:
        b = parts[i]
        if len(b) - off > p:
            # first what the socket takes at once (nothing copied), when
            # nothing is buffered ahead of it; the rest a piece at a time
            off += streams.put(s, memoryview(b)[off:] if off else b)
            if off >= len(b):
                i += 1
                off = 0
                continue
        if len(b) - off <= p:
            s.write(memoryview(b)[off:] if off else b)
            i += 1
            off = 0
        else:
            s.write(memoryview(b)[off:off + p])
            off += p
        if streams.blocked(s):
            break
    if i < n:
        r[1] = i
        r[2] = off
    else:
        w[2] = None
        if not w[0] and d._w is w:
            d._w = None
    return True


async def finish(d, linger_ms, max_linger):
    """The end of ``Driven.finish``: send what is left (within
    ``write_timeout_ms``), then read and drop the peer's input for at most
    ``linger_ms`` in all (``max_linger`` bytes at most)."""
    await pump(d)
    end = ticks_add(ticks_ms(), linger_ms)
    while max_linger > 0 and linger_ms:  # one deadline in all
        left = ticks_diff(end, ticks_ms())
        data = await asyncio.wait_for(d.reader.read(512), left / 1000) if left > 0 else b""
        if not data:
            break
        max_linger -= len(data)
