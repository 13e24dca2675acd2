"""asyncio streams on MicroPython: what the shared driver (``microproto.aio``)
needs beyond the stream API both runtimes share. Same names as
ports/cpython/microproto_port/streams.py."""

import asyncio
import socket

from micropython import const

_SO_LINGER = const(13)  # Linux and lwIP; the unix port lacks the constant
_IPPROTO_TCP = const(6)
_TCP_NODELAY = const(1)  # Linux and lwIP

# the driver reads into a preallocated buffer (``reader.readinto``): a read allocates nothing
READINTO = True

# the driver writes a part larger than this a piece at a time, each after a
# drain: the stream copies what the socket does not take at once (its
# ``out_buf``), so a large send then costs a piece, not the part
PIECE = const(2048)


def abort(writer):
    """Cut an asyncio stream now: drop what is buffered, here and in the
    kernel, and reset the connection (a peer that stopped reading must not
    hold the buffers)."""
    writer.out_buf = b""
    s = writer.s
    try:
        # SO_LINGER on, 0 s: the close resets and the kernel drops its queue
        # (a plain close would queue a FIN behind what the peer never read)
        s.setsockopt(socket.SOL_SOCKET, _SO_LINGER, b"\x01\0\0\0\0\0\0\0")
    except (AttributeError, OSError):
        pass  # a board's lwIP may lack SO_LINGER; a TLS socket has no setsockopt
    try:
        s.close()
    except (AttributeError, OSError):
        pass


def accepted(d):
    """Set up an accepted connection for the shared driver (``d``: a
    ``microproto.aio.Driven``): small writes go out at once (TCP_NODELAY:
    no Nagle wait behind unacknowledged data; a frame's header and payload
    go out as two writes), as asyncio does on CPython. Returns None: the
    driver's reader task reads (CPython feeds the core from the transport)."""
    try:
        d.writer.s.setsockopt(_IPPROTO_TCP, _TCP_NODELAY, 1)
    except (AttributeError, OSError, TypeError):
        pass  # a TLS socket, or a stack without the option


def wait_read(s):
    """What a generator awaited as a coroutine yields to wait until the
    socket ``s`` can be read (what ``Stream.readinto`` does before it reads,
    without the coroutine it costs per read): an asyncio internal, kept here
    in the port. CPython's driver is fed by the transport and never asks."""
    return asyncio.core._io_queue.queue_read(s)


def write_eof(writer):
    """No-op: MicroPython streams cannot half-close (the peer's Close or
    the timeout ends the connection)."""


# no-op too: MicroPython's stream copies what the socket does not take at
# once, so a buffer may be refilled after any write (CPython: see there)
reuse_safe = write_eof


def put(writer, buf):
    """Hand ``buf`` straight to the socket when the stream has nothing
    buffered ahead of it: the count the socket took (0: none), nothing
    copied (``Stream.write`` copies what the socket does not take)."""
    if writer.out_buf:
        return 0
    return writer.s.write(buf) or 0


def blocked(writer):
    """True if ``drain()`` on this asyncio stream would wait (``write``
    could not hand everything to the socket)."""
    return bool(writer.out_buf)


def peer(writer):
    """``(ip, port)`` of an asyncio stream's peer (ip a str), or None (the
    unix port gives a raw sockaddr, boards a tuple)."""
    try:
        p = writer.get_extra_info("peername")
        if isinstance(p, tuple):
            return (p[0], p[1])
        fam, ip, port = socket.sockaddr(p)[:3]
        return (ip if isinstance(ip, str) else socket.inet_ntop(fam, ip), port)
    except Exception:
        return None
