"""UDP for datagram clients (the DHCP client) on CPython: the same names as
ports/micropython/microproto_port/udp.py."""

import socket

SO_BINDTODEVICE = 25  # Linux <asm-generic/socket.h>


def addr(ip, port):
    """The sockaddr of dotted ``ip`` and ``port`` for ``sendto``/``bind``."""
    return (ip, port)


def bind(iface=None, port=0):
    """A UDP socket that may send broadcasts, bound to ``port`` on all
    addresses and, when ``iface`` is given, to that interface only."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if iface:
            s.setsockopt(socket.SOL_SOCKET, SO_BINDTODEVICE, iface.encode())
        s.bind(("0.0.0.0", port))
    except BaseException:
        s.close()
        raise
    return s


def is_local(ip):
    """True if dotted ``ip`` is an address of this host (a socket binds it)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((ip, 0))
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
    except (socket.timeout, BlockingIOError):
        return None


async def arecv(sock, n, timeout_ms):
    """``recv`` for asyncio on a non-blocking socket."""
    import asyncio

    try:
        return await asyncio.wait_for(asyncio.get_running_loop().sock_recv(sock, n), timeout_ms / 1000)
    except asyncio.TimeoutError:
        return None


def mac(iface):
    """The 6-byte hardware address of interface ``iface`` (Linux)."""
    with open("/sys/class/net/%s/address" % iface) as f:
        return bytes.fromhex(f.read().strip().replace(":", ""))
