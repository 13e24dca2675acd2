"""SMTP client safety (issue 9, defects 8, 9 and 12), portable:

- the asyncio client's implicit TLS must not stop the event loop, and its
  ``timeout_ms`` must bound the handshake;
- a failed implicit-TLS connect must close its TCP socket;
- an 8-bit body is never sent to a server that did not offer 8BITMIME
  (RFC 6152), and a message larger than the server's SIZE (RFC 1870) is
  refused before anything is sent.
"""

import os

from fakes import FakeSocket, listen_any, read_data
from microproto import smtp
from microproto.blocking import Connection
from microproto.errors import UsageError
from microproto.smtp_core import Session, SMTPReplyError
from microproto_port import net, sleep_ms, start_thread, ticks_diff, ticks_ms


class _Server:
    """Accepts ``n`` connections in a thread and runs ``handler(sock)`` on
    each; closes every socket it made, then sets ``done``."""

    def __init__(self, handler, n=1):
        self.lsock, self.port = listen_any(backlog=8)
        self.handler = handler
        self.n = n
        self.done = False
        start_thread(self._run, ())

    def _run(self):
        try:
            for _ in range(self.n):
                s, _ = self.lsock.accept()
                try:
                    net.set_timeout_ms(s, 5000)
                    self.handler(s)
                except Exception:
                    pass
                finally:
                    s.close()
        finally:
            self.lsock.close()
            self.done = True

    def wait(self):
        t0 = ticks_ms()
        while not self.done and ticks_diff(ticks_ms(), t0) < 20000:
            sleep_ms(10)
        assert self.done


def _raises(exc, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        return e
    raise AssertionError("%s not raised" % exc.__name__)


def _open_fds():
    """Open descriptors of this process, or None where /proc is missing."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return None


# -- defect 8: asyncio implicit TLS must not block the loop -------------------


def _silent(sock):
    # accepts TCP, never answers the TLS hello
    sleep_ms(2000)


def test_async_implicit_tls_handshake_does_not_stop_the_loop():
    import asyncio

    srv = _Server(_silent)
    ticks = []
    seen = []

    async def ticker():
        while True:
            ticks.append(1)
            await asyncio.sleep(0.02)

    async def go():
        t = asyncio.create_task(ticker())
        await asyncio.sleep(0)
        s = smtp.AsyncSMTP("127.0.0.1", srv.port, tls="implicit", cadata=read_data("cert.pem"),
                           server_hostname="localhost", timeout_ms=300)
        n0 = len(ticks)
        try:
            await s.connect()
        except Exception as e:
            seen.append(e)
        # while the handshake waited, other tasks ran
        seen.append(len(ticks) - n0)
        t.cancel()
        await s.close()

    asyncio.run(go())
    srv.wait()
    e, ran = seen
    # the handshake is bounded by timeout_ms (the server would only give up
    # after 2 s), and the loop kept running meanwhile
    assert isinstance(e, asyncio.TimeoutError), repr(e)
    assert ran >= 2, ran


def _starttls_then_silent(sock):
    # offers STARTTLS, says 220, then never answers the TLS hello
    net.send_all(sock, b"220 mx\r\n")
    buf = bytearray(256)
    got = b""
    while b"STARTTLS" not in got:
        n = net.reader(sock)(buf)
        if not n:
            return
        got += bytes(buf[:n])
        if got.endswith(b"\r\n") and got.startswith(b"EHLO") and b"STARTTLS" not in got:
            net.send_all(sock, b"250-mx\r\n250 STARTTLS\r\n")
    net.send_all(sock, b"220 go ahead\r\n")
    sleep_ms(2000)


def test_async_starttls_handshake_does_not_stop_the_loop():
    import asyncio

    srv = _Server(_starttls_then_silent)
    ticks = []
    seen = []

    async def ticker():
        while True:
            ticks.append(1)
            await asyncio.sleep(0.02)

    async def go():
        t = asyncio.create_task(ticker())
        s = smtp.AsyncSMTP("127.0.0.1", srv.port, tls="starttls", cadata=read_data("cert.pem"),
                           server_hostname="localhost", timeout_ms=300)
        try:
            await s.connect()
        except Exception as e:
            seen.append(e)
            seen.append(s.phase)
        n0 = len(ticks)
        seen.append(n0)
        t.cancel()
        await s.close()

    asyncio.run(go())
    srv.wait()
    e, phase, ran = seen
    assert isinstance(e, asyncio.TimeoutError), repr(e)
    assert ran >= 2, ran


# -- defect 9: a failed implicit-TLS connect closes its socket ----------------


def _not_tls(sock):
    # a plaintext server on the implicit-TLS port: the handshake fails
    net.send_all(sock, b"220 plaintext here\r\n")
    sleep_ms(100)


def _failed_connects(n, use_async):
    srv = _Server(_not_tls, n)
    errors = []  # kept alive on purpose: a kept error must not keep a socket
    ca = read_data("cert.pem")
    for _ in range(n):
        if use_async:
            import asyncio

            async def go():
                s = smtp.AsyncSMTP("127.0.0.1", srv.port, tls="implicit", cadata=ca, server_hostname="localhost",
                                   timeout_ms=3000)
                try:
                    await s.connect()
                except Exception as e:
                    errors.append(e)

            asyncio.run(go())
        else:
            try:
                smtp.SMTP("127.0.0.1", srv.port, tls="implicit", cadata=ca, server_hostname="localhost",
                          timeout_ms=3000)
            except Exception as e:
                errors.append(e)
    srv.wait()
    assert len(errors) == n, errors
    for e in errors:
        assert not net.is_timeout(e), repr(e)
    return errors


def test_failed_implicit_tls_connect_closes_the_socket():
    before = _open_fds()
    if before is None:
        return  # no /proc (a board): nothing to count
    kept = _failed_connects(5, False)
    after = _open_fds()
    # (<=: a thread of an earlier test may close a socket meanwhile)
    assert after <= before, "blocking: %d descriptors left open after 5 failed connects" % (after - before)
    kept += _failed_connects(5, True)
    after = _open_fds()
    assert after <= before, "asyncio: %d descriptors left open after 5 failed connects" % (after - before)


# -- defect 12: 8BITMIME and SIZE ---------------------------------------------

EHLO_7BIT = b"250-mx\r\n250-SIZE 1000\r\n250 PIPELINING\r\n"
EHLO_8BIT = b"250-mx\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250 PIPELINING\r\n"


def _session(chunks):
    s = Session("client.example")
    sock = FakeSocket([b"220 hi\r\n"] + list(chunks))
    c = Connection(sock, s.parser)
    c.run(s.simple(None, (220,)))
    c.run(s.hello())
    sock.sent = bytearray()
    return s, c, sock


def test_8bit_body_refused_before_sending_without_8bitmime():
    body = "Subject: caf\xe9\n\nna\xefve\n".encode("utf-8")
    # known 8-bit (the caller says so, or the bytes show it): nothing is sent
    for eight_bit in (True, None):
        s, c, sock = _session([EHLO_7BIT])
        e = _raises(UsageError, c.run, s.mail("a@x", "b@y", body, size=len(body), eight_bit=eight_bit))
        assert "8BITMIME" in str(e), e
        assert bytes(sock.sent) == b"", bytes(sock.sent)
    # a 7-bit body goes as before, without BODY=
    s, c, sock = _session([EHLO_7BIT, b"250 ok\r\n250 ok\r\n354 go\r\n", b"250 queued\r\n"])
    r = c.run(s.mail("a@x", "b@y", b"plain\n", size=6))
    assert r.reply.code == 250
    assert bytes(sock.sent).startswith(b"MAIL FROM:<a@x> SIZE=6\r\n"), bytes(sock.sent)
    # with 8BITMIME the same 8-bit body goes, declared
    s, c, sock = _session([EHLO_8BIT, b"250 ok\r\n250 ok\r\n354 go\r\n", b"250 queued\r\n"])
    c.run(s.mail("a@x", "b@y", body, size=len(body)))
    assert b" BODY=8BITMIME\r\n" in bytes(sock.sent)


def test_8bit_message_goes_as_base64_without_8bitmime():
    from microproto.message import Message

    m = Message("a@x", "b@y", "Gr\xfc\xdfe", "caf\xe9\n", date="Thu, 1 Jan 2026 00:00:00 +0000")
    assert m.eight_bit
    s, c, sock = _session([EHLO_7BIT, b"250 ok\r\n250 ok\r\n354 go\r\n", b"250 queued\r\n"])
    size, = [x for x in [smtp._prepare(m, None, None, None, None)[3]]]
    r = c.run(s.mail("a@x", "b@y", m, size=size, eight_bit=True))
    assert r.reply.code == 250
    sent = bytes(sock.sent)
    assert b"BODY=8BITMIME" not in sent and b"Content-Transfer-Encoding: base64\r\n" in sent, sent
    assert max(sent) < 128
    assert (b"SIZE=%d\r\n" % m.size()) in sent and not m.eight_bit


def test_8bit_byte_in_a_streamed_body_stops_the_mail():
    # a file-like body of unknown content: the first 8-bit byte ends the
    # transfer before the end-of-data mark, so no mail is ever delivered
    s, c, sock = _session([EHLO_7BIT, b"250 ok\r\n250 ok\r\n354 go\r\n"])
    chunks = iter([b"line one\n" * 300, b"caf\xc3\xa9\n", b"more\n"])
    e = _raises(UsageError, c.run, s.mail("a@x", "b@y", chunks))
    assert "8BITMIME" in str(e), e
    assert s.broken
    assert not bytes(sock.sent).endswith(b"\r\n.\r\n")
    assert b"\xc3" not in bytes(sock.sent)


def test_8bit_streamed_over_tcp_closes_the_session():
    got = []

    def server(sock):
        net.send_all(sock, b"220 hi\r\n")
        buf = bytearray(4096)
        data = b""
        while True:
            n = net.reader(sock)(buf)
            if not n:
                break
            data += bytes(buf[:n])
            if data.endswith(b"EHLO localhost\r\n"):
                net.send_all(sock, b"250-mx\r\n250 PIPELINING\r\n")
            elif data.endswith(b"DATA\r\n"):
                net.send_all(sock, b"250 ok\r\n250 ok\r\n354 go\r\n")
        got.append(data)

    srv = _Server(server)
    s = smtp.SMTP("127.0.0.1", srv.port, tls=None, timeout_ms=5000)
    _raises(UsageError, s.send, "a@x", "b@y", iter([b"ok\n", b"\xff\n"]))
    assert s.conn is None
    srv.wait()
    assert not got[0].endswith(b"\r\n.\r\n"), got


def test_size_limit_checked_before_sending():
    s, c, sock = _session([EHLO_8BIT])
    e = _raises(SMTPReplyError, c.run, s.mail("a@x", "b@y", b"x" * 1001, size=1001))
    assert e.code == 552 and e.command == "SIZE", e
    assert "1000" in str(e), e
    assert bytes(sock.sent) == b""
    # at the limit: sent
    s, c, sock = _session([EHLO_8BIT, b"250 ok\r\n250 ok\r\n354 go\r\n", b"250 queued\r\n"])
    c.run(s.mail("a@x", "b@y", b"x" * 1000, size=1000))
    assert bytes(sock.sent).startswith(b"MAIL FROM:<a@x> SIZE=1000 BODY=8BITMIME\r\n")


def test_size_limit_checked_for_a_file():
    import io

    s, c, sock = _session([EHLO_7BIT])
    f = io.BytesIO(b"y" * 5000)
    # the facade measures a seekable file; the core refuses it
    e = _raises(SMTPReplyError, c.run, s.mail("a@x", "b@y", f, size=smtp._prepare(f, "a@x", "b@y", None, None)[3]))
    assert e.code == 552 and bytes(sock.sent) == b""


# -- issue 8: steady state of a body ------------------------------------------


class _SameChunk:
    # a file whose every read gives the same full chunk of CRLF text
    def __init__(self, n):
        self.n = n

    def readinto(self, b):
        self.n -= 1
        return len(b) if self.n > 0 else 0


def test_body_steady_state_allocates_nothing():
    import gc

    if not hasattr(gc, "mem_alloc"):
        return  # CPython: nothing to count
    from microproto.smtp_core import SENT

    line = b"0123456789abcdefghijklmnopqrstuvwxyz-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
    # CRLF text; with dot-stuffed lines; bare LF and bare CR line ends
    for text, sent in (
        (line * 4, line * 4),
        (line + b"." + line * 3, line + b".." + line * 3),
        (b".a\nb\n.c\rd\n" * 16, b"..a\r\nb\r\n..c\r\nd\r\n" * 16),
    ):
        text = text[:256]
        s = Session(chunk=256)
        s.buf[:] = text
        conv = s._send_body(_SameChunk(1000), False)
        out = next(conv)
        for _ in range(20):
            out = conv.send(SENT)
        assert bytes(out[:64]) == sent[:64], (bytes(out[:64]), sent[:64])
        if sent[:256] == text:
            assert bytes(out) == text  # nothing to stuff: the whole chunk goes as it came
        gc.collect()
        gc.disable()
        try:
            a = gc.mem_alloc()
            for _ in range(200):
                conv.send(SENT)
            used = gc.mem_alloc() - a
        finally:
            gc.enable()
        # 200 chunks of 256 bytes: about 670 mail lines
        assert used == 0, "%d bytes allocated over 200 body chunks of %r" % (used, text[:20])
