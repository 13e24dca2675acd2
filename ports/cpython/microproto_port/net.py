"""Sockets for CPython: TCP connect/listen, whole writes, UDP broadcast, MAC."""

import errno
import socket

SO_BINDTODEVICE = 25  # Linux <asm-generic/socket.h>


def resolve(host, port, udp=False):
    """First address of ``host:port`` suitable for bind/connect/sendto."""
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    return socket.getaddrinfo(host, port, socket.AF_INET, kind)[0][-1]


def tcp_connect(host, port, timeout_ms=None):
    """A connected blocking TCP socket (``OSError`` on failure or timeout)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if timeout_ms is not None:
            s.settimeout(timeout_ms / 1000)
        s.connect(resolve(host, port))
    except BaseException:
        s.close()
        raise
    return s


def tcp_listen(host, port, backlog=5):
    """A listening TCP socket bound to ``host:port`` with SO_REUSEADDR."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(resolve(host, port))
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


def udp_broadcast_socket(ifname=None, port=0):
    """A UDP socket that may send broadcasts, bound to ``port`` on all
    addresses and, when ``ifname`` is given, to that interface only."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if ifname:
            s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, ifname.encode())
        s.bind(("0.0.0.0", port))
    except BaseException:
        s.close()
        raise
    return s


def recvfrom_addr(sock, n):
    """``(data, (ip, port))`` from a UDP socket."""
    return sock.recvfrom(n)


def mac_address(ifname):
    """The 6-byte hardware address of interface ``ifname`` (Linux)."""
    with open("/sys/class/net/%s/address" % ifname) as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))


async def udp_recv(sock, n):
    """Await one datagram (at most ``n`` bytes) on a non-blocking UDP socket."""
    import asyncio

    return await asyncio.get_running_loop().sock_recv(sock, n)
