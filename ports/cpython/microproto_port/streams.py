"""asyncio streams on CPython: what the shared driver (``microproto.aio``)
needs beyond the stream API both runtimes share. Same names as
ports/micropython/microproto_port/streams.py."""

import socket
import struct

_LINGER_0 = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close resets

# the driver reads into a preallocated buffer (``reader.readinto``): asyncio's StreamReader has no readinto
READINTO = False


def abort(writer):
    """Cut an asyncio stream now: drop what is buffered, here and in the
    kernel, and reset the connection (a peer that stopped reading must not
    hold the buffers; a plain close would queue a FIN behind them)."""
    try:
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_0)
    except (AttributeError, OSError):
        pass
    t = getattr(writer, "transport", None)
    if t is not None:
        t.abort()


def nodelay(writer):
    """No-op: asyncio sets TCP_NODELAY on every TCP transport."""


def write_eof(writer):
    """Tell the peer we are done writing (half-close), where the transport can."""
    if writer.can_write_eof():
        writer.write_eof()


def blocked(writer):
    """True if ``drain()`` on this asyncio stream would wait (more is
    buffered than the transport's high-water mark)."""
    t = writer.transport
    try:
        return t.get_write_buffer_size() > t.get_write_buffer_limits()[1]
    except (AttributeError, NotImplementedError):
        return True  # cannot tell: wait under the timer


def peer(writer):
    """``(ip, port)`` of an asyncio stream's peer (ip a str), or None."""
    try:
        p = writer.get_extra_info("peername")
        return (p[0], p[1])
    except (TypeError, IndexError, AttributeError):
        return None
