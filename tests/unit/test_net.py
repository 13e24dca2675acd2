"""The port's socket helpers: UDP broadcast sockets, MAC address, TCP."""

import socket

from fakes import free_port, listen_any
from microproto_port import net, random_bytes


def test_udp_broadcast_socket_receives_and_reports_sender():
    port = free_port()
    rx = net.udp_broadcast_socket(None, port)
    tx = net.udp_broadcast_socket(None, 0)
    try:
        net.set_timeout_ms(rx, 3000)
        payload = b"dhcp?" + random_bytes(4)
        tx.sendto(payload, net.resolve("127.0.0.1", port, True))
        data, addr = net.recvfrom_addr(rx, 64)
        assert data == payload
        assert isinstance(addr, tuple) and addr[0] == "127.0.0.1" and isinstance(addr[1], int), addr
    finally:
        rx.close()
        tx.close()


def test_udp_broadcast_socket_can_bind_to_an_interface():
    # SO_BINDTODEVICE on Linux (root/CAP_NET_RAW); a board ignores ifname
    s = net.udp_broadcast_socket("lo", 0)
    s.close()


def test_mac_address_is_six_bytes():
    mac = net.mac_address("lo")
    assert isinstance(mac, bytes) and len(mac) == 6, mac


def test_tcp_connect_refused_is_oserror():
    port = free_port()
    try:
        s = net.tcp_connect("127.0.0.1", port, timeout_ms=2000)
    except OSError:
        return
    s.close()
    raise AssertionError("connected to a closed port")


def test_timeout_is_recognised():
    lsock, port = listen_any()
    s = net.tcp_connect("127.0.0.1", port, timeout_ms=2000)
    try:
        net.set_timeout_ms(s, 50)
        buf = memoryview(bytearray(8))
        try:
            net.recv_into(s, buf)
        except OSError as e:
            assert net.is_timeout(e), e
        else:
            raise AssertionError("no timeout")
    finally:
        s.close()
        lsock.close()
