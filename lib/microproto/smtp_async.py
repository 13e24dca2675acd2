"""The asyncio SMTP client, ``microproto.smtp.AsyncSMTP`` (loaded when first
asked for): the blocking client's options and conversations over the shared
asyncio driver. Nothing here blocks the event loop: on MicroPython the TLS
handshake runs in non-blocking mode inside reads bounded by ``timeout_ms``
(see ``microproto_port.tls``).
"""

import asyncio

from microproto.aio import StreamConnection
from microproto.errors import PeerError
from microproto.smtp import SMTP, _prepare


class AsyncSMTP(SMTP):
    """The asyncio form of ``SMTP`` (same arguments, no ``connect``);
    ``async with``.

    ``await connect()`` (done by ``async with``), ``await login(...)``,
    ``await send(...)``, ``await send_many(...)``, ``await noop()``,
    ``await rset()``, ``await quit()``. ``timeout_ms`` bounds each read,
    the TCP connect and the TLS handshake.
    """

    # blocking-only parts of SMTP: ``async with`` and ``await send`` instead
    __enter__ = __exit__ = sendmail = None

    def __init__(self, host, port=None, tls="starttls", read_size=1024, **options):
        SMTP.__init__(self, host, port, tls, connect=False, **options)
        self.read_size = read_size
        # chunks are copied: a stream may keep what it was given to write
        self.session._stuffer.copy = True

    async def _run(self, phase, conv):
        self.phase = phase
        return await self.conn.run(conv, self.timeout_ms)

    async def connect(self):
        t = self.timeout_ms / 1000 if self.timeout_ms else None
        self.phase = "connect"
        if self.tls == "implicit":
            self.phase = "TLS handshake"
            r, w = await asyncio.wait_for(
                self._tlsmod.open_connection(self.host, self.port, self._ctx, self.server_hostname), t
            )
            self.secure = True
        else:
            r, w = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), t)
        self.conn = StreamConnection(r, w, self.session.parser, self.read_size)
        s = self.session
        try:
            await self._run("greeting", s.simple(None, (220,)))
            await self._run("EHLO", s.hello())
            if self.tls == "starttls":
                await self._run("STARTTLS", s.simple("STARTTLS", (220,)))
                self.phase = "TLS handshake"
                c = self.conn
                c.reader, c.writer = await self._tlsmod.upgrade_streams(
                    c.reader, c.writer, self._ctx, self.server_hostname, self.timeout_ms
                )
                s.parser.discard()
                self.secure = True
                await self._run("EHLO", s.hello())
        except BaseException:
            await self.close()
            raise
        self.phase = None  # connected, nothing in progress
        return self

    async def login(self, user, password, mechanism=None):
        from microproto.smtp_ext import login

        return await self._run("AUTH", login(self, user, password, mechanism))

    async def _guarded(self, conv):
        try:
            return await self._run("mail", conv)
        except BaseException as e:
            # as SMTP._guarded: a refusal leaves the session usable
            if self.session.broken or not hasattr(e, "reply"):
                await self.close()
            raise

    async def send(self, from_addr, to_addrs, message, size=None, eight_bit=None, smtputf8=None, notify=None,
                   ret=None, envid=None):
        from_addr, to_addrs, body, size, eight_bit = _prepare(message, from_addr, to_addrs, size, eight_bit)
        return await self._guarded(self.session.mail(from_addr, to_addrs, body, size, eight_bit, smtputf8,
                                                     self.pipelining, self.chunking, notify, ret, envid))

    async def send_many(self, mails):
        from microproto.smtp_ext import mail_many

        return await self._guarded(mail_many(self.session, mails, _prepare, self.pipelining))

    async def noop(self):
        return await self._run("NOOP", self.session.simple("NOOP"))

    async def rset(self):
        return await self._run("RSET", self.session.simple("RSET"))

    async def quit(self):
        if self.conn is None:
            return None
        try:
            return await self._run("QUIT", self.session.simple("QUIT", (221,)))
        except (PeerError, OSError):
            return None
        finally:
            await self.close()

    async def close(self):
        if self.conn is not None:
            c = self.conn
            self.conn = None
            try:
                c.writer.close()
                # a TLS peer that never answers close_notify must not hold us
                await asyncio.wait_for(c.writer.wait_closed(), self.timeout_ms / 1000 if self.timeout_ms else 5)
            except Exception:
                pass
            # MicroPython: the TCP socket under a TLS one that failed stays open
            raw = getattr(c.writer, "raw", None)
            if raw is not None:
                raw.close()

    async def __aenter__(self):
        if self.conn is None:
            await self.connect()
        return self

    async def __aexit__(self, exc_type, exc, tb):
        if exc_type is None:
            await self.quit()
        else:
            await self.close()
