"""The asyncio form of the POP3 client (``microproto.pop3.AsyncPOP3``), for
programs that also run servers. Same arguments and commands as ``POP3``,
each awaited; ``async with AsyncPOP3(...) as box`` connects and QUITs.
Kept in its own module so a blocking program does not load it.
"""

import asyncio

from microproto.errors import PeerError, UsageError
from microproto.pop3 import POP3, _end
from microproto.pop3_core import POP3Error


class AsyncPOP3(POP3):
    """``AsyncPOP3(host, port=None, tls="stls", ...)`` (see ``POP3``);
    ``await box.connect()`` (done by ``async with``), then ``await
    box.login(...)``, ``await box.stat()``, ``await box.retr(n, into)``,
    ... ``timeout_ms`` bounds each read and the connection set-up."""

    def __init__(self, host, port=None, tls="stls", cafile=None, cadata=None, verify=True, timeout_ms=30000,
                 allow_plaintext_auth=False, server_hostname=None, bufsize=2048, max_line=1000, max_size=65536,
                 max_list=10000):
        super().__init__(host, port, tls, cafile, cadata, verify, timeout_ms, allow_plaintext_auth, server_hostname,
                         bufsize, max_line, max_size, max_list, False)

    async def _run(self, conv, post=None, f=None, path=None):
        try:
            if self.conn is None:
                raise UsageError("not connected")
            t = await self.conn.run(conv, self.timeout_ms)
        except BaseException as e:
            if path:
                _end(f, path, 0)
            if not isinstance(e, (POP3Error, UsageError)):
                await self.close()
            raise
        if path:
            _end(f, path, 1)
        return post(t) if post else t

    async def connect(self):
        from microproto.aio import StreamConnection
        from microproto_port import tls

        t = self.timeout_ms / 1000 if self.timeout_ms else None
        s = self.session
        try:
            ctx = self.tls and tls.client_context(self.cafile, self.cadata, self.verify)
            if self.tls == "implicit":
                r, w = await asyncio.wait_for(tls.open_connection(self.host, self.port, ctx, self.server_hostname), t)
                self.secure = True
            else:
                r, w = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), t)
            self.conn = c = StreamConnection(r, w, s, self.bufsize)
            await self._run(s.command(None))
            await self._run(s.capa(self.max_list))
            if self.tls == "stls":
                if s.caps and "STLS" not in s.caps:
                    raise PeerError("server does not offer STLS (tls='stls' was asked)")
                await self._run(s.command(b"STLS"))
                c.reader, c.writer = await tls.upgrade_streams(c.reader, c.writer, ctx, self.server_hostname,
                                                               self.timeout_ms)
                s.discard()
                self.secure = True
                await self._run(s.capa(self.max_list))
        except BaseException as e:
            await self.close()
            if isinstance(e, ValueError):
                # MicroPython's TLS reports a certificate that fails to
                # verify so (on the first read or write after the upgrade)
                raise OSError("TLS: " + " ".join(str(e).split()))
            raise
        return self

    async def headers(self, n):
        from microproto.pop3_headers import parse

        return parse(await self.top(n))

    def new_messages(self, state_file, delete=False):
        raise UsageError("AsyncPOP3: use await box.sync(directory)")

    async def sync(self, directory, delete=False):
        """See ``POP3.sync``: saves new messages as ``<uid>.eml``."""
        from microproto import pop3_sync as y

        state = directory + "/" + y.STATE
        seen = y.load(state)
        kept = []
        saved = []
        for n, uid in await self.uidl():
            if uid in seen:
                kept.append(uid)
                if delete:
                    await self.dele(n)
                continue
            await self.retr(n, into=directory + "/" + y.file_name(uid))
            kept.append(uid)
            saved.append(uid)
            y.save(state, kept)
            if delete:
                await self.dele(n)
        y.save(state, kept)
        return saved

    async def quit(self):
        if self.conn is None:
            return None
        try:
            return await self._do("quit")
        finally:
            await self.close()

    async def close(self):
        if self.conn is not None:
            w = self.conn.writer
            self.conn = None
            try:
                w.close()
                # a TLS peer that never answers close_notify must not hold us
                await asyncio.wait_for(w.wait_closed(), (self.timeout_ms or 5000) / 1000)
            except Exception:
                pass

    async def __aenter__(self):
        if self.conn is None:
            await self.connect()
        return self

    async def __aexit__(self, exc_type, exc, tb):
        if exc_type is None:
            await self.quit()
        else:
            await self.close()
