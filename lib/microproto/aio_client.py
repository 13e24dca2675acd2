"""The client half of the asyncio driver: ``StreamConnection`` runs a
sans-I/O core (a conversation generator, for request/response clients such
as SMTP and POP3) over asyncio streams. Import it from ``microproto.aio``
(loaded from here on first use). ``timeout_ms`` bounds every read and
every write: a peer that stops reading is cut at the deadline
(``asyncio.TimeoutError``).
"""

import asyncio

from microproto.aio import write
from microproto.errors import PeerError
from microproto_port import streams


async def _send(writer, data, timeout_ms):
    try:
        await write(writer, data, timeout_ms)
    except asyncio.TimeoutError:
        streams.abort(writer)  # a peer that stopped reading is cut
        raise


class StreamConnection:
    """An asyncio (reader, writer) pair driving a sans-I/O ``core``."""

    def __init__(self, reader, writer, core, read_size=1024):
        self.reader = reader
        self.writer = writer
        self.core = core
        self.read_size = read_size
        self.eof = False

    async def flush(self, timeout_ms=None):
        """Write and drain everything the core has produced."""
        out = self.core.data_to_send()
        if out:
            await _send(self.writer, out, timeout_ms)

    async def receive(self, timeout_ms=None):
        """One read into the core; False at end of stream."""
        if self.eof:
            raise PeerError("connection closed by peer")
        if timeout_ms is None:
            data = await self.reader.read(self.read_size)
        else:
            data = await asyncio.wait_for(self.reader.read(self.read_size), timeout_ms / 1000)
        if data:
            self.core.receive_data(data)
            return True
        self.eof = True
        self.core.receive_data(b"")
        return False

    async def next_event(self, timeout_ms=None):
        """The core's next event, reading as needed."""
        while True:
            await self.flush(timeout_ms)
            ev = self.core.next_event()
            if ev is not None:
                return ev
            await self.receive(timeout_ms)

    async def run(self, conversation, timeout_ms=None):
        """Drive a conversation generator (see ``blocking.Connection.run``);
        ``timeout_ms`` bounds each read and each write."""
        try:
            out = next(conversation)
            while True:
                if out:
                    await _send(self.writer, out, timeout_ms)
                out = conversation.send(await self.next_event(timeout_ms))
        except StopIteration as e:
            return e.value

    async def close(self):
        try:
            await self.flush()
        except OSError:
            pass
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass
