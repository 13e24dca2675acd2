"""The blocking driver: runs any sans-I/O core over a blocking socket.

A core offers ``receive_data(data)`` (``b""`` is end of stream),
``data_to_send()`` and ``next_event()`` (None when it needs more bytes).
This loop is the only place where a blocking protocol touches a socket:
send what the core produced, hand it the next event, or read once into a
preallocated buffer and feed the core.

Limits: reads are at most ``bufsize`` bytes; ``timeout_ms`` applies to each
socket operation (``OSError`` with ETIMEDOUT, or ``socket.timeout``).
"""

from microproto.errors import PeerError
from microproto_port import net


class Connection:
    """A blocking socket driving a sans-I/O ``core``."""

    def __init__(self, sock, core, bufsize=1024, timeout_ms=None):
        self.core = core
        self.buf = memoryview(bytearray(bufsize))
        self.eof = False
        self.timeout_ms = timeout_ms
        self.set_socket(sock)

    def set_socket(self, sock):
        """Use ``sock`` from now on (after a STARTTLS upgrade, say)."""
        self.sock = sock
        self.read = net.reader(sock)
        if self.timeout_ms is not None:
            net.set_timeout_ms(sock, self.timeout_ms)

    def flush(self):
        """Send everything the core has produced."""
        out = self.core.data_to_send()
        if out:
            net.send_all(self.sock, out)

    def next_event(self):
        """The core's next event, reading as needed: send what the core
        produced, take its event, or read once into the buffer and feed it.
        Raises ``PeerError`` if the stream ends without one."""
        core = self.core
        while True:
            self.flush()
            ev = core.next_event()
            if ev is not None:
                return ev
            if self.eof:
                raise PeerError("connection closed by peer")
            n = self.read(self.buf)
            if n:
                core.receive_data(self.buf[:n])
            else:
                self.eof = True
                core.receive_data(b"")

    def run(self, conv):
        """Drive a conversation generator and return its result.

        The generator yields bytes to send (or None) and receives the next
        event in return; what it returns is returned here.
        """
        try:
            out = next(conv)
            while True:
                if out:
                    net.send_all(self.sock, out)
                out = conv.send(self.next_event())
        except StopIteration as e:
            return e.value

    def close(self):
        """Close the socket now; nothing more is sent (``OSError`` ignored:
        the peer may be gone already)."""
        try:
            self.sock.close()
        except OSError:
            pass
