"""Sockets for MicroPython: TCP connect/listen, whole writes, UDP broadcast, MAC."""

import errno
import socket

from micropython import const

_SO_BINDTODEVICE = const(25)  # Linux; the unix port lacks the constant
_ETIMEDOUT = errno.ETIMEDOUT
_EAGAIN = errno.EAGAIN


def resolve(host, port, udp=False):
    """First address of ``host:port`` suitable for bind/connect/sendto."""
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    return socket.getaddrinfo(host, port, 0, kind)[0][-1]


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
    """Set a socket's timeout. MicroPython's SSLSocket has no settimeout: it
    keeps the timeout of the TCP socket it wraps, so set it before wrapping."""
    f = getattr(sock, "settimeout", None)
    if f is not None:
        f(None if timeout_ms is None else timeout_ms / 1000)


def _recv_copy(sock, buf):
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
    return lambda buf: _recv_copy(sock, buf)


def recv_into(sock, buf):
    """Read what is there (at most ``len(buf)``) into ``buf``; 0: closed."""
    return _recv_copy(sock, buf)


def send_all(sock, data):
    """Write all of ``data`` (``write`` may be partial on some sockets)."""
    mv = memoryview(data)
    while mv:
        n = sock.write(mv)
        if n is None:
            n = 0
        mv = mv[n:]


def is_timeout(exc):
    """True if ``exc`` (an OSError) is a socket timeout."""
    return exc.args and exc.args[0] in (_ETIMEDOUT, _EAGAIN)


def udp_broadcast_socket(ifname=None, port=0):
    """A UDP socket that may send broadcasts, bound to ``port`` on all
    addresses and, when ``ifname`` is given (unix port), to that interface."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if ifname:
            s.setsockopt(socket.SOL_SOCKET, _SO_BINDTODEVICE, ifname.encode())
        s.bind(resolve("0.0.0.0", port, True))
    except BaseException:
        s.close()
        raise
    return s


def recvfrom_addr(sock, n):
    """``(data, (ip, port))`` from a UDP socket (the unix port returns a raw
    sockaddr, boards a tuple)."""
    data, addr = sock.recvfrom(n)
    if not isinstance(addr, tuple):
        fam, ip, port = socket.sockaddr(addr)[:3]
        if not isinstance(ip, str):
            ip = socket.inet_ntop(fam, ip)
        addr = (ip, port)
    return data, addr


def mac_address(ifname=None):
    """The 6-byte hardware address: of the Wi-Fi station on a board, of
    interface ``ifname`` (read from sysfs) on the unix port."""
    try:
        import network
    except ImportError:
        network = None
    if network is not None:
        return network.WLAN(network.STA_IF).config("mac")
    import binascii

    with open("/sys/class/net/%s/address" % ifname) as f:
        return binascii.unhexlify(f.read().strip().replace(":", ""))


async def udp_recv(sock, n):
    """Await one datagram (at most ``n`` bytes) on a non-blocking UDP socket
    (MicroPython's asyncio has no datagram API: wait until it is readable)."""
    import asyncio

    return await asyncio.StreamReader(sock).read(n)
