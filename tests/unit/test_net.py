"""The port's TCP helpers (microproto_port.net): connect, listen, reads,
whole writes, timeouts. UDP (DHCP) is microproto_port.udp, tested in
test_dhcp_udp.py."""

from fakes import free_port, listen_any
from microproto_port import net, start_thread


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
            net.reader(s)(buf)
        except OSError as e:
            assert net.is_timeout(e), e
        else:
            raise AssertionError("no timeout")
    finally:
        s.close()
        lsock.close()


def _sink(lsock, n, got):
    s, _ = lsock.accept()
    lsock.close()
    net.set_timeout_ms(s, 5000)
    read = net.reader(s)
    buf = bytearray(4096)
    total = 0
    while total < n:
        k = read(buf)
        if not k:
            break
        total += k
    net.send_all(s, b"%d\n" % total)
    s.close()
    got.append(total)


def test_listen_connect_send_all_and_reader():
    lsock, port = listen_any()
    got = []
    start_thread(_sink, (lsock, 300000, got))
    s = net.tcp_connect("127.0.0.1", port, timeout_ms=5000)
    try:
        data = bytes(range(256)) * 100
        for _ in range(11):
            net.send_all(s, data)
        net.send_all(s, memoryview(bytearray(18400)))
        buf = memoryview(bytearray(32))
        n = net.reader(s)(buf)
        while n and buf[n - 1] != 10:
            n += net.reader(s)(buf[n:])
        assert bytes(buf[:n]) == b"300000\n", bytes(buf[:n])
    finally:
        s.close()


class _Partial:
    """A socket whose ``write`` takes at most ``step`` bytes (None: would block)."""

    def __init__(self, step):
        self.step = step
        self.out = bytearray()
        self.calls = 0

    def write(self, data):
        self.calls += 1
        if self.calls % 3 == 0:
            return None
        k = min(self.step, len(data))
        self.out += bytes(data[:k])
        return k

    sendall = None


def test_send_all_finishes_partial_writes():
    import sys

    if sys.implementation.name != "micropython":
        return  # CPython: socket.sendall does this
    for step in (1, 7, 100, 5000):
        s = _Partial(step)
        data = bytes(range(256)) * 4
        net.send_all(s, data)
        assert bytes(s.out) == data, step
        s = _Partial(step)
        net.send_all(s, memoryview(bytearray(data))[3:900])
        assert bytes(s.out) == data[3:900], step


class _Whole:
    def write(self, data):
        return len(data)


def test_send_all_of_a_whole_write_allocates_nothing():
    import gc

    if not hasattr(gc, "mem_alloc"):
        return  # CPython: nothing to count
    s = _Whole()
    buf = bytearray(300)
    mv = memoryview(buf)[:200]
    net.send_all(s, buf)
    net.send_all(s, mv)
    # threads left by earlier tests (echo servers) may free memory while
    # this counts: measure again when the count moved for that reason
    for _ in range(5):
        gc.collect()
        gc.disable()
        try:
            a = gc.mem_alloc()
            for _ in range(100):
                net.send_all(s, buf)
                net.send_all(s, mv)
            used = gc.mem_alloc() - a
        finally:
            gc.enable()
        if used >= 0:
            break
    assert used == 0, "%d bytes allocated over 200 whole writes" % used
