"""UDP for datagram clients (the DHCP client): a broadcast socket bound to
an interface, addresses, waiting for one datagram, the interface's MAC.
Apart from ``net`` so that a UDP-only application loads no TCP or stream
helpers (every function loaded from .mpy is heap on a board)."""

import errno
import socket

from micropython import const

_SO_BINDTODEVICE = const(25)  # Linux; the unix port lacks the constant


def addr(ip, port):
    """The sockaddr of dotted ``ip`` and ``port`` for ``sendto``/``bind``."""
    return socket.getaddrinfo(ip, port, 0, socket.SOCK_DGRAM)[0][-1]


def bind(iface=None, port=0):
    """A UDP socket that may send broadcasts, bound to ``port`` on all
    addresses and, when ``iface`` is given (unix port), to that interface."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if iface:
            s.setsockopt(socket.SOL_SOCKET, _SO_BINDTODEVICE, iface.encode())
        s.bind(addr("0.0.0.0", port))
    except BaseException:
        s.close()
        raise
    return s


def is_local(ip):
    """True if dotted ``ip`` is an address of this host (a socket binds it)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(addr(ip, 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


def recv(sock, n, timeout_ms):
    """One datagram (at most ``n`` bytes), or None after ``timeout_ms``."""
    sock.settimeout(timeout_ms / 1000)
    try:
        return sock.recv(n)
    except OSError as e:
        if e.args and e.args[0] in (errno.ETIMEDOUT, errno.EAGAIN):
            return None
        raise


async def arecv(sock, n, timeout_ms):
    """``recv`` for asyncio on a non-blocking socket (MicroPython's asyncio
    has no datagram API: wait until the socket is readable)."""
    import asyncio

    try:
        return await asyncio.wait_for(asyncio.StreamReader(sock).read(n), timeout_ms / 1000)
    except asyncio.TimeoutError:
        return None


def mac(iface=None):
    """The 6-byte hardware address: of the Wi-Fi station on a board, of
    interface ``iface`` (read from sysfs) on the unix port."""
    try:
        import network
    except ImportError:
        network = None
    if network is not None:
        return network.WLAN(network.STA_IF).config("mac")
    import binascii

    with open("/sys/class/net/%s/address" % iface) as f:
        return binascii.unhexlify(f.read().strip().replace(":", ""))
