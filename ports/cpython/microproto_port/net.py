"""TCP sockets for CPython: connect, listen, reads that return what is
there, whole writes. UDP (the DHCP client) is in ``microproto_port.udp``."""

import errno
import socket


def tcp_connect(host, port, timeout_ms=None):
    """A connected blocking TCP socket (``OSError`` on failure or timeout)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if timeout_ms is not None:
            s.settimeout(timeout_ms / 1000)
        s.connect(socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][-1])
    except BaseException:
        s.close()
        raise
    return s


def tcp_listen(host, port, backlog=5):
    """A listening TCP socket bound to ``host:port`` with SO_REUSEADDR."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)[0][-1])
        s.listen(backlog)
    except BaseException:
        s.close()
        raise
    return s


def set_timeout_ms(sock, timeout_ms):
    sock.settimeout(None if timeout_ms is None else timeout_ms / 1000)


def reader(sock):
    """A function ``read(buf) -> n`` for ``sock`` (0: the peer closed),
    returning as soon as some bytes are there. Chosen once per socket."""
    return sock.recv_into


def recv_into(sock, buf):
    """Read what is there (at most ``len(buf)``) into ``buf``; 0: closed."""
    return sock.recv_into(buf)


def send_all(sock, data):
    """Write all of ``data``."""
    sock.sendall(data)


def is_timeout(exc):
    """True if ``exc`` (an OSError) is a socket timeout."""
    return isinstance(exc, socket.timeout) or getattr(exc, "errno", None) in (
        errno.ETIMEDOUT,
        errno.EAGAIN,
    )
