"""Helpers for the hostile-peer tests (test_hostile_*.py): ports in our range
(18000-18999), connections from other loopback addresses (the servers count
failures per address), waiting for a condition with a deadline."""

import random
import socket
import sys
import time

from conftest import MICROPYTHON, ROOT, Process, cpython_env

_used = set()


def port():
    """A free TCP port in 18000-18999."""
    for _ in range(200):
        p = random.randint(18000, 18999)
        if p in _used:
            continue
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", p))
            except OSError:
                continue
        _used.add(p)
        return p
    raise OSError("no free port in 18000-18999")


def script(runtime, name, args, port, env=None, cwd=None):
    """Start tests/peers/NAME (a script) on ``runtime``, listening on ``port``."""
    path = str(ROOT / "tests" / "peers" / name)
    argv = [sys.executable, path] if runtime == "cpython" else [MICROPYTHON, path]
    return Process(argv + [str(port)] + list(args), port=port, env=env or cpython_env(), cwd=cwd)


def connect(port, source="127.0.0.1", timeout=10.0):
    """A TCP connection to 127.0.0.1:port from the loopback address ``source``."""
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def wait_until(cond, seconds, step=0.05):
    """Call ``cond()`` until it is true; the seconds it took (or None)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if cond():
            return time.monotonic() - t0
        time.sleep(step)
    return None


def closed_by_peer(sock, seconds):
    """True if the peer closes (EOF or reset) within ``seconds``; reads and
    drops what comes."""
    end = time.monotonic() + seconds
    sock.settimeout(0.1)
    while time.monotonic() < end:
        try:
            d = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return True
        if not d:
            return True
    return False


def trickle(sock, data, seconds, every=0.3):
    """Send ``data`` every ``every`` seconds until the peer closes; the
    seconds it held the connection (None: still open after ``seconds``)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        try:
            sock.sendall(data)
        except OSError:
            return time.monotonic() - t0
        if closed_by_peer(sock, every):
            return time.monotonic() - t0
    return None


def flood(port, data, n, sessions):
    """Open ``n`` connections that each send ``data`` and no more; returns
    them and the most sessions ``sessions()`` reported meanwhile."""
    socks = []
    peak = 0
    for i in range(n):
        s = connect(port)
        s.sendall(data)
        socks.append(s)
        peak = max(peak, sessions())
    return socks, peak


def stop_reading(sock, command, stats, rounds=2000):
    """Send ``command`` (input making output) over and over and never read:
    the kernel's buffers fill, then the server's. Returns (seconds from the
    first bytes seen waiting in the server to the session's end, or None;
    the most bytes seen waiting). ``stats()``: the server's figures."""
    t0 = time.monotonic()
    blocked = None
    peak = 0
    for i in range(rounds):
        try:
            sock.sendall(command)
        except OSError:
            pass
        time.sleep(0.01)
        if i % 5:
            continue
        st = stats()
        peak = max(peak, st["buffered"])
        if blocked is None and st["buffered"]:
            blocked = time.monotonic()
        if st["sessions"] == 1:
            return time.monotonic() - (blocked or t0), peak
    return None, peak


def figure(name, value, limit):
    """Print a measured figure next to the limit it is checked against."""
    print("FIGURE %s: %s (limit %s)" % (name, value, limit))


def parse_stats(text):
    """The test apps' ``STATS()`` answer, ``"sessions buffered failures"``
    (str or bytes), as a dict."""
    s, b, f = text.split()
    return {"sessions": int(s), "buffered": int(b), "failures": int(f)}


def settle(stats, sessions=1, seconds=8):
    """Wait until the server holds ``sessions`` sessions (the bystander's
    alone by default); ``stats()``: the server's figures."""
    assert wait_until(lambda: stats()["sessions"] == sessions, seconds) is not None, stats()
