"""The asyncio driver: runs any sans-I/O core over asyncio streams.

Uses only the stream API both runtimes share: ``read``, ``write`` +
``await drain()``, ``close()`` + ``await wait_closed()``. Same core contract
as ``microproto.blocking``.

Limits: reads are at most ``read_size`` bytes; ``timeout_ms`` (when given to
a call) bounds the wait (``asyncio.TimeoutError``).
"""

import asyncio

from microproto.errors import PeerError


class StreamConnection:
    """An asyncio (reader, writer) pair driving a sans-I/O ``core``."""

    def __init__(self, reader, writer, core, read_size=1024):
        self.reader = reader
        self.writer = writer
        self.core = core
        self.read_size = read_size
        self.eof = False

    async def flush(self):
        """Write and drain everything the core has produced."""
        out = self.core.data_to_send()
        if out:
            self.writer.write(out)
            await self.writer.drain()

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
            await self.flush()
            ev = self.core.next_event()
            if ev is not None:
                return ev
            await self.receive(timeout_ms)

    async def run(self, conversation, timeout_ms=None):
        """Drive a conversation generator (see ``blocking.Connection.run``)."""
        try:
            out = next(conversation)
            while True:
                if out:
                    self.writer.write(out)
                    await self.writer.drain()
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


def run(coro):
    """``asyncio.run`` on both runtimes."""
    return asyncio.run(coro)
