"""The console's server side, loaded by ``microproto.console.serve`` when
the console starts (with the session core every connection needs,
``microproto.webrepl``), so that an import of ``microproto.console`` (its
command line, ``PAGE``) does not carry it: the browser sessions (each one
the WebSocket core's sink: see ``_Session``) and the HTTP routes (the page,
``GET /status``). The REPL (``microproto_port.repl``, 4 KiB) loads with
the first line a session runs, as the Telnet REPL's does: a console that
nobody logged in to, or that runs nothing yet, does not hold it."""

import asyncio
import gc

from microproto import websocket
from microproto.webrepl import WebREPL
from microproto_port import ticks_ms


class _Session:
    """One browser session: ``websocket``, ``core`` (its
    ``microproto.webrepl.WebREPL``), ``repl`` (its REPL, made with the
    first line it runs: a connection not logged in, or that has run
    nothing yet, holds none), ``pending`` (the lines queued to run).
    ``append`` is the WebSocket core's sink: each whole message from the
    client is handled as it arrives, in the read path (no task waits for
    messages, no coroutine is made per message), and what it queues goes
    out with that read's flush. The lines run in a task (``run``) that
    exists only while they run, so an idle session holds none; Ctrl-C is
    read meanwhile."""

    task = None  # the task running the lines (before the login: the login deadline's)
    repl = None
    pending = ()  # a list while lines are queued or running

    def append(self, message):
        core = self.core
        try:
            core.receive(message, isinstance(message, str))
            while True:
                ev = core.next_event()
                if ev is None:
                    break
                kind = ev[0]
                if kind == "login":
                    t = self.task
                    if ev[1] and t is not None:
                        # the login deadline's wait ends (see wait)
                        t.cancel()
                        self.task = None
                elif kind == "exec":
                    if self.task is None:
                        self.pending = [ev[1]]
                        self.task = asyncio.create_task(self.run())
                    else:
                        self.pending.append(ev[1])
                elif kind == "interrupt":
                    repl = self.repl
                    if repl is None or not repl.interrupt():
                        if self.pending:
                            self.pending.clear()
                        if repl is not None:
                            repl.reset()
                        core.interrupted()
                elif kind == "close":
                    # a wrong password closes at once: the gate makes the
                    # address wait at its next connection, not this one
                    self.send()
                    if self.websocket.open:
                        self.websocket.core.send_close(ev[1], ev[2])
            self.send()
        except Exception as e:
            # the status view's last_error (one slot: the Telnet server's
            # when it runs, so that it is the last of either); the driver
            # closes the connection (1011)
            s = self.websocket.server
            (s.board[2] or s).last_error = e
            raise

    def send(self):
        # the session's messages, queued as frames in order in one go (the
        # caller's flush sends them under the driver's write deadline)
        ws = self.websocket
        if ws.open:
            for is_text, data in self.core.messages_to_send():
                if is_text:
                    ws.core.send_text(data)
                else:
                    ws.core.send_binary(data)

    async def run(self):
        core = self.core
        ws = self.websocket
        try:
            while self.pending and not core.closed:
                repl = self.repl
                if repl is None:
                    # a collection first: the REPL (and the first time its
                    # module) then fills the holes that garbage left below,
                    # instead of fresh space above them (see telnet.serve)
                    gc.collect()
                    from microproto_port.repl import Session

                    repl = self.repl = Session("<console>")
                out, more = await repl.apush(self.pending.pop(0))
                core.output(out, more)
                self.send()
                c = ws._out()
                if c is not None:
                    await c
        except Exception as e:
            # a failing REPL must not leave the session waiting forever
            s = ws.server
            (s.board[2] or s).last_error = e
            await ws.close(1011, "internal error")
        finally:
            self.task = None
            self.pending = ()

    async def wait(self, timeout):
        # the session until the connection ends (what the handler returns)
        ws = self.websocket
        core = self.core
        try:
            self.send()
            # what came behind the handshake went to the connection's queue
            q = ws._queue
            while q:
                m = q.pop(0)
                if m is None:  # the peer's fault, after the messages before it
                    ws.core.send_fail_close()
                else:
                    self.append(m)
            ws.rearm()  # (a Close queued: its deadline)
            c = ws._out()
            if c is not None:
                await c
            # the login deadline (``timeout`` ms) counts from the
            # connection: keystrokes do not move it. Until the login, a task
            # waits for the connection's end under that deadline; the login
            # cancels it (append), so a session logged in holds neither it
            # nor its timer
            if not core.logged_in:
                t = self.task = asyncio.create_task(ws.done.wait())
                try:
                    await asyncio.wait_for(t, timeout / 1000)
                except asyncio.TimeoutError:
                    await ws.close(1008, "login timeout")
                except asyncio.CancelledError:
                    if not core.logged_in:
                        raise  # not the login's: this task's own cancellation
                if self.task is t:
                    self.task = None
                t = None
            await ws.done.wait()
        finally:
            core.end()  # an upload under way is dropped, the old file kept
            if self.task is not None:
                self.task.cancel()
            if self.repl is not None:
                self.repl.close()


def _session(websocket):
    # the console's handler: sets the session up (nothing to wait for) and
    # returns its coroutine. websocket.server.console: (password,
    # login_timeout_ms, max_line, max_file_size, root)
    server = websocket.server
    o = server.console
    peer = websocket.remote_address[0] if websocket.remote_address else None
    # the session reads nothing of the request (the server checked its
    # Origin): its parser and headers are not kept for the session's life
    websocket.request = websocket.request_headers = None
    password = o[0]
    s = _Session()
    s.websocket = websocket
    # (what the check needs as its defaults, not as a closure: no cell stays
    # after the login drops the check)
    s.core = WebREPL(password, max_line=o[2], max_file_size=o[3], root=o[4],
                    check=lambda data, gate=server.gate, peer=peer, password=password:
                    gate.check(peer, data, password, ticks_ms()))
    # messages go to the session from now on (those queued before: in wait)
    websocket.core.sink = s
    return s.wait(o[1])


async def serve(host="127.0.0.1", port=8266, password=None, legacy_clients=False, fail_delay_ms=1000,
                max_line=512, max_file_size=16 * 1024 * 1024, login_timeout_ms=30000, root=None, address=None,
                **ws_options):
    # microproto.console.serve (see there)
    if not password:
        raise ValueError("the console needs a password")

    def http_handler(request):
        if request.path == "/status":
            from microproto.status import console_route

            return console_route(request, s, password)
        # the page (microproto.console_page, loaded with the first request)
        from microproto.console_page import page_handler

        return page_handler(request)

    if legacy_clients:
        ws_options["legacy_webrepl"] = True
    # a console moves keystrokes and 1 KiB file chunks: small buffers (each
    # session holds one read_size buffer: 512 B, which also fits where a
    # board's fragmented heap has no 1 KiB left), and no compression (its
    # 32 KiB inflate window per connection would cost more heap than the
    # console itself)
    ws_options.setdefault("max_connections", 4)
    ws_options.setdefault("max_size", 8192)
    ws_options.setdefault("read_size", 512)
    ws_options.setdefault("compression", None)
    # a web page the operator visits must not try passwords on the board
    ws_options.setdefault("origins", "same")
    ws_options["fail_delay_ms"] = fail_delay_ms
    import time

    started = getattr(time, "monotonic", time.time)()  # status.now_s()'s clock
    s = await websocket.serve(_session, host, port, http_handler=http_handler, **ws_options)
    s.console = (password, login_timeout_ms, max_line, max_file_size, root)
    if address is None and host and host != "0.0.0.0" and host != "::":
        address = host
    s.board = [started, address, None]  # the status view's: the Telnet server is the third
    s.last_error = None
    return s


async def run(password, host="127.0.0.1", port=8266, telnet_port=None, certfile=None, keyfile=None,
              legacy_clients=False, forever=True, address=None):
    # microproto.console.run (see there)
    tls = {"certfile": certfile, "keyfile": keyfile} if certfile else {}
    if telnet_port:
        # loaded before the servers start, like the sessions' modules
        from microproto import telnet
    servers = [await serve(host, port, password, legacy_clients=legacy_clients, address=address, **tls)]
    print("console: open http%s://%s:%d/ in a browser" % ("s" if tls else "", host, port))
    if telnet_port:
        servers.append(await telnet.serve("repl", host, telnet_port, password=password, **tls))
        servers[0].board[2] = servers[1]
        print("console: telnet %s %d" % (host, telnet_port))
    while forever:
        await asyncio.sleep(3600)
    return servers
