"""TCP sockets for MicroPython: connect, listen, reads that return what is
there, whole writes. UDP (the DHCP client) is in ``microproto_port.udp``:
a TCP client loads no datagram helpers (every function loaded from .mpy is
heap on a board)."""

import errno
import socket


def tcp_connect(host, port, timeout_ms=None):
    """A connected blocking TCP socket (``OSError`` on failure or timeout)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if timeout_ms is not None:
            s.settimeout(timeout_ms / 1000)
        s.connect(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0][-1])
    except BaseException:
        s.close()
        raise
    return s


def tcp_listen(host, port, backlog=5):
    """A listening TCP socket bound to ``host:port`` with SO_REUSEADDR."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0][-1])
        s.listen(backlog)
    except BaseException:
        s.close()
        raise
    return s


def set_timeout_ms(sock, timeout_ms):
    """Set a socket's timeout. MicroPython's SSLSocket has no settimeout: it
    keeps the timeout of the TCP socket it wraps, so set it before wrapping."""
    f = getattr(sock, "settimeout", None)
    if f is not None:
        f(None if timeout_ms is None else timeout_ms / 1000)


def recv_into(sock, buf):
    """Read what is there (at most ``len(buf)``) into ``buf``; 0: closed."""
    # On MicroPython a blocking readinto() waits until the buffer is full,
    # and so does SSLSocket.recv_into(); plain sockets have no recv_into at
    # all. recv() returns what is there, at the cost of one allocation.
    data = sock.recv(len(buf))
    n = len(data)
    buf[:n] = data
    return n


def reader(sock):
    """A function ``read(buf) -> n`` for ``sock`` (0: the peer closed),
    returning as soon as some bytes are there. Chosen once per socket."""
    return lambda buf: recv_into(sock, buf)


def send_all(sock, data):
    """Write all of ``data`` (``write`` may be partial on some sockets). A
    whole write allocates nothing; a view is made only after a partial one."""
    n = sock.write(data) or 0
    if n < len(data):
        mv = memoryview(data)[n:]
        while mv:
            mv = mv[sock.write(mv) or 0 :]


def is_timeout(exc):
    """True if ``exc`` (an OSError) is a socket timeout."""
    return exc.args and exc.args[0] in (errno.ETIMEDOUT, errno.EAGAIN)
