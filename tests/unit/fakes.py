"""Shared test helpers for the portable tests (CPython, unix port, boards).

Plain functions and classes only: no pytest features, so the same files run
under our own runner on MicroPython.
"""

import os
import socket

from microproto_port import random_bytes
from microproto_port import net

_HERE = __file__.rsplit("/", 1)[0] if "/" in __file__ else "."


def data_path(name):
    """Path of a file in tests/unit/data (next to this module)."""
    return _HERE + "/data/" + name


def read_data(name):
    with open(data_path(name), "rb") as f:
        return f.read()


def listen_any(host="127.0.0.1", backlog=5):
    """A listening socket on a free port: ``(sock, port)``.

    MicroPython sockets have no ``getsockname``, so ports are tried at
    random in 20000-59999 until one binds.
    """
    for _ in range(50):
        r = random_bytes(2)
        port = 20000 + ((r[0] << 8) | r[1]) % 40000
        try:
            return net.tcp_listen(host, port, backlog), port
        except OSError:
            pass
    raise OSError("no free port")


def free_port(host="127.0.0.1"):
    s, port = listen_any(host)
    s.close()
    return port


class FakeSocket:
    """An in-memory socket: reads come from ``incoming`` chunks (one chunk
    per read, b"" is EOF), writes collect in ``sent``."""

    def __init__(self, chunks=()):
        self.incoming = list(chunks)
        self.sent = bytearray()
        self.closed = False
        self.timeout = None

    def _next(self, n):
        if not self.incoming:
            return b""
        c = self.incoming[0]
        if len(c) > n:
            self.incoming[0] = c[n:]
            return c[:n]
        self.incoming.pop(0)
        return c

    def recv_into(self, buf):
        c = self._next(len(buf))
        buf[: len(c)] = c
        return len(c)

    readinto = recv_into

    def recv(self, n):
        return self._next(n)

    def write(self, data):
        self.sent += data
        return len(data)

    def sendall(self, data):
        self.sent += data

    send = write

    def settimeout(self, t):
        self.timeout = t

    def close(self):
        self.closed = True


class LineCore:
    """A tiny sans-I/O core for driver tests: each received line (LF-ended,
    at most 64 bytes) becomes an event ``("line", bytes)`` and is echoed
    back upper-cased (unless ``echo`` is False); EOF becomes ``("eof", None)``."""

    def __init__(self, echo=True):
        self.echo = echo
        from microproto.buffer import Buffer

        self.buf = Buffer(64)
        self.out = bytearray()
        self.events = []
        self.closed = False

    def receive_data(self, data):
        if not data:
            self.events.append(("eof", None))
            return
        self.buf.feed(data)
        while True:
            line = self.buf.readline(64)
            if line is None:
                break
            self.events.append(("line", line))
            if self.echo:
                self.out += line.upper()

    def data_to_send(self):
        out = bytes(self.out)
        self.out = bytearray()
        return out

    def next_event(self):
        if self.events:
            return self.events.pop(0)
        return None

    def send_line(self, line):
        self.out += line
