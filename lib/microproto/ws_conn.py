"""The parts of ``microproto.websocket.WebSocket`` that most connections
never run, loaded with the first use: ``ping()``, ``recv()`` joining the
pieces of a message in ``stream`` mode, and the flush after the connection
failed (which then half-closes the stream where the runtime can).
"""

import asyncio

from microproto.aio import Driven
from microproto.websocket import ConnectionClosed
from microproto.ws_protocol import OPEN
from microproto_port import streams, ticks_diff, ticks_ms


async def recv_joined(ws):
    """``recv`` in ``stream`` mode: the pieces joined, up to ``max_size``."""
    parts = []
    size = 0
    limit = ws.core.max_size
    while True:
        data, text, fin = await ws._next(ConnectionClosed)
        size += len(data)
        if limit is not None and size > limit:
            await ws.close(1009, "message too big")
            raise ConnectionClosed(1009, "message too big")
        parts.append(data)
        if fin:
            b = b"".join(parts)
            return str(b, "utf-8") if text else b


async def anext_joined(ws):
    """``async for`` in ``stream`` mode: ``recv_joined``, the end as StopAsyncIteration."""
    try:
        return await recv_joined(ws)
    except ConnectionClosed:
        raise StopAsyncIteration


async def ping(ws, data, timeout_ms):
    """``WebSocket.ping``: send a ping, wait for its pong; the round trip in ms."""
    ws._check()
    if isinstance(data, str):
        data = data.encode()
    data = bytes(data)
    ws._pong_want = data
    if ws._pong_ev is None:
        ws._pong_ev = asyncio.Event()
    ws._pong_ev.clear()
    t0 = ticks_ms()
    ws.core.send_ping(data)
    await ws._flush()
    if timeout_ms is None:
        await ws._pong_ev.wait()
    else:
        await asyncio.wait_for(ws._pong_ev.wait(), timeout_ms / 1000)
    if ws._pong_want is not None:
        raise ConnectionClosed(ws.core.close_code or 1006, ws.core.close_reason)
    return ticks_diff(ticks_ms(), t0)


async def flush_failed(ws):
    """``WebSocket.flush`` once the connection failed."""
    await Driven.flush(ws)
    core = ws.core
    if core.failed and core.state != OPEN and not ws._eof_sent and not ws.closed and not core.pending():
        ws._eof_sent = True
        _eof(ws)


async def eof_after_close(ws):
    """After a failure the Close was queued (and ``_eof_sent`` set): once
    it is handed to the transport, half-close."""
    await Driven.flush(ws)
    if not ws.closed and not ws.core.pending():
        _eof(ws)


def _eof(ws):
    # After failing, tell the peer we are done writing so that it closes.
    try:
        streams.write_eof(ws.writer)
    except OSError:
        pass
