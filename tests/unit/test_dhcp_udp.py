"""The port's UDP module the DHCP client runs on (microproto_port.udp):
a broadcast socket bound to an interface, addresses, a datagram or None
after a timeout (blocking and asyncio), local addresses, the MAC. On
CPython and on the unix port (loopback only)."""

from fakes import free_port
from microproto_port import random_bytes, ticks_diff, ticks_ms, udp


def test_bind_send_recv_and_timeout():
    port = free_port()
    rx = udp.bind(None, port)
    tx = udp.bind(None, 0)
    try:
        payload = b"dhcp?" + random_bytes(4)
        tx.sendto(payload, udp.addr("127.0.0.1", port))
        assert udp.recv(rx, 64, 3000) == payload
        t0 = ticks_ms()
        assert udp.recv(rx, 64, 50) is None  # nothing came: None, not an error
        assert ticks_diff(ticks_ms(), t0) >= 40
        assert udp.recv(rx, 64, 0) is None  # no wait at all
    finally:
        rx.close()
        tx.close()


def test_arecv_gives_the_datagram_or_none():
    import asyncio

    port = free_port()
    rx = udp.bind(None, port)
    tx = udp.bind(None, 0)
    rx.setblocking(False)
    try:
        assert asyncio.run(udp.arecv(rx, 64, 50)) is None
        tx.sendto(b"offer", udp.addr("127.0.0.1", port))
        assert asyncio.run(udp.arecv(rx, 64, 3000)) == b"offer"
    finally:
        rx.close()
        tx.close()


def test_bind_to_an_interface():
    # SO_BINDTODEVICE on Linux (root/CAP_NET_RAW); a board ignores iface
    udp.bind("lo", 0).close()


def test_is_local():
    assert udp.is_local("127.0.0.1")
    assert not udp.is_local("192.0.2.77")  # TEST-NET-1: configured nowhere


def test_mac_is_six_bytes():
    mac = udp.mac("lo")
    assert isinstance(mac, bytes) and len(mac) == 6, mac
