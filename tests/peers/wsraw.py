"""A raw WebSocket client for the conformance tests: exact bytes on a
socket, so that tests can send what no library client would."""

import base64
import os
import socket
import struct

from conftest import CERT
from hostile import closed_by_peer

KEY = b"\x11\x22\x33\x44"


def handshake_request(path="/", extra=b"", key=None, version=b"13"):
    key = key or base64.b64encode(os.urandom(16))
    return (
        b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key + b"\r\n"
        b"Sec-WebSocket-Version: " + version + b"\r\n" + extra + b"\r\n"
    )


def frame(opcode, payload=b"", fin=True, rsv=0, key=KEY, length=None):
    if isinstance(payload, str):
        payload = payload.encode()
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | rsv | opcode
    m = 0x80 if key is not None else 0
    if n < 126:
        h = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        h = struct.pack("!BBH", b0, m | 126, n)
    else:
        h = struct.pack("!BBQ", b0, m | 127, n)
    if key is None:
        return h + payload
    body = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    return h + key + body


class Raw:
    """One raw connection; ``status`` is the HTTP status of the handshake."""

    def __init__(self, port, request=None, timeout=10.0, tls=False):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            import ssl

            ctx = ssl.create_default_context(cafile=CERT)
            s = ctx.wrap_socket(s, server_hostname="localhost")
        self.sock = s
        self.buf = b""
        s.sendall(request if request is not None else handshake_request())
        head = self._read_until(b"\r\n\r\n")
        self.head = head
        self.status = int(head.split(b" ", 2)[1])

    def _read_until(self, marker):
        while marker not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("closed before %r: %r" % (marker, self.buf))
            self.buf += d
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def send(self, data):
        self.sock.sendall(data)

    def _read(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError("closed")
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv_frame(self):
        """``(fin, rsv, opcode, payload)`` of the next server frame."""
        b0, b1 = self._read(2)
        assert not b1 & 0x80, "server frames must not be masked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        return bool(b0 & 0x80), b0 & 0x70, b0 & 0x0F, self._read(n)

    def expect_close(self, reply=True):
        """Read frames until a Close; answer it; return (code, frames
        before it, whether the server then closed TCP)."""
        before = []
        while True:
            f = self.recv_frame()
            if f[2] == 8:
                break
            before.append(f)
        p = f[3]
        code = struct.unpack("!H", p[:2])[0] if len(p) >= 2 else 1005
        if reply:
            try:
                self.send(frame(8, p[:2]))
            except OSError:
                pass
        return code, before, self.eof_within(5.0)

    def eof_within(self, seconds):
        try:
            return closed_by_peer(self.sock, seconds)
        finally:
            self.sock.settimeout(10.0)

    def close(self):
        self.sock.close()


def echo_roundtrip(port, text="still alive"):
    """A fresh connection echoes ``text``: the server survived."""
    r = Raw(port)
    assert r.status == 101
    r.send(frame(1, text))
    f = r.recv_frame()
    r.send(frame(8, b"\x03\xe8"))
    code, _, _ = r.expect_close(reply=False)
    r.close()
    return f == (True, 0, 1, text.encode()) and code == 1000
