"""The ``"native"`` shell of the Telnet server (``microproto.telnet.serve``):
the runtime's own REPL through ``os.dupterm`` (boards that have it), loaded
only when used (also reachable as ``microproto.telnet_shells.NativeReplShell``)."""

from microproto.errors import UsageError


class _NativeSession:
    raw = True

    def __init__(self, stream, banner, poll_ms):
        self.stream = stream
        self._banner = banner
        self.poll_ms = poll_ms

    def banner(self):
        return self._banner

    def prompt(self):
        return ""  # the runtime's REPL prints its own

    def feed(self, data):
        self.stream.feed(data)

    def interrupt(self):
        self.stream.feed(b"\x03")  # the REPL's own interrupt character
        return True

    async def pump(self, conn):
        # the runtime's REPL writes when it likes: poll it for the connection
        import asyncio

        poll_s = self.poll_ms / 1000
        try:
            while not conn.closed:
                out = self.stream.take()
                if out:
                    conn.core.send_data(out)
                    await conn.flush()
                await asyncio.sleep(poll_s)
        except Exception:
            conn._end()

    def close(self):
        from microproto_port import dupterm as repl

        repl.detach(self.stream)


class NativeReplShell:
    """The runtime's own REPL through ``os.dupterm`` (boards that have it).

    One session at a time holds the single dupterm slot (shared safely with
    the WebSocket console through ``microproto_port.dupterm.attach``); another
    session is told the REPL is busy. The REPL only answers while it runs,
    i.e. when the server runs in a thread or beside the REPL, not from a
    ``main.py`` that blocks in ``asyncio.run``. Input goes to the REPL as
    typed (its own line editor, Ctrl-C), output is polled every
    ``poll_ms``.
    """

    def __init__(self, banner="board REPL over telnet (os.dupterm)", poll_ms=20):
        self.banner = banner
        self.poll_ms = poll_ms

    def open(self, term):
        from microproto_port import dupterm as repl

        if not repl.HAS_DUPTERM:
            raise UsageError("this runtime has no os.dupterm: use the 'repl' shell")
        stream = repl.DuptermStream()
        repl.attach(stream)  # UsageError if another session holds the slot
        return _NativeSession(stream, self.banner, self.poll_ms)
