"""The console page's status view (issue 12) in headless Chromium, against
a stand-in for the board: the page and ``GET /status`` (HTTP Basic, the
console password; JSON from ``microproto.status``) on one port, and a
WebSocket that greets like the console's login. The route on the console
itself is wired in microproto.console; this checks the page's side: the
password typed at the login is reused, a wrong one is reported."""

import asyncio
import base64
import json
import os
import subprocess
import threading

from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from conftest import ROOT
from test_examples import free_port
from microproto import status

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "status pass"


def page():
    with open(os.path.join(str(ROOT), "lib", "microproto", "console.html"), "rb") as f:
        return f.read()


class StandIn:
    def __init__(self):
        self.port = free_port()
        self.started = status.now_s() - 3725
        self.ready = threading.Event()
        self.loop = None
        self.thread = threading.Thread(target=lambda: asyncio.run(self.main()), daemon=True)

    def response(self, code, body, ctype):
        return Response(code, "OK" if code == 200 else "No", Headers([("Content-Type", ctype),
                                                                      ("Content-Length", str(len(body)))]), body)

    def process_request(self, connection, request):
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        if request.path == "/":
            return self.response(200, page(), "text/html; charset=utf-8")
        if request.path == "/status":
            auth = request.headers.get("Authorization", "")
            if not auth.startswith("Basic "):
                return self.response(401, b"", "text/plain")
            user_pw = base64.b64decode(auth[6:]).decode()
            if user_pw.split(":", 1)[1] != PASSWORD:
                return self.response(403, b"", "text/plain")
            d = status.snapshot(self.started, sessions={"websocket": 1, "telnet": 0}, address="127.0.0.1",
                                last_error=OSError(104, "ECONNRESET"))
            return self.response(200, status.to_json(d).encode(), "application/json")
        return self.response(404, b"", "text/plain")

    async def login(self, ws):
        await ws.send("Password: ")
        typed = ""
        while not typed.endswith("\r"):
            typed += await ws.recv()
        if typed[:-1] == PASSWORD:
            await ws.send("\r\nWebREPL connected\r\n>>> ")
        async for _ in ws:
            pass

    async def main(self):
        self.loop = asyncio.get_running_loop()
        self.stop = asyncio.Event()
        async with serve(self.login, "127.0.0.1", self.port, process_request=self.process_request):
            self.ready.set()
            await self.stop.wait()

    def __enter__(self):
        self.thread.start()
        assert self.ready.wait(20)
        return self

    def __exit__(self, *exc):
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(20)


def browse(port, *args):
    r = subprocess.run(["node", os.path.join(HERE, "console_status.js"), "http://127.0.0.1:%d/" % port] + list(args),
                       capture_output=True, text=True, timeout=120, cwd=HERE)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_the_status_view_uses_the_login_password_and_shows_the_board():
    with StandIn() as board:
        res = browse(board.port, PASSWORD)
    rows = dict(res["rows"])
    assert rows["uptime"].startswith("1h "), rows  # started 3725 s before
    assert rows["free heap"] == "n/a" and rows["largest free block"] == "n/a", rows  # CPython has neither
    assert rows["sessions"] == "websocket 1, telnet 0", rows
    assert rows["address"] == "127.0.0.1", rows
    assert rows["last error"].startswith("ConnectionResetError: "), rows
    assert rows["runtime"] == "cpython", rows
    assert res["note"].startswith("as of "), res


def test_the_status_view_reports_a_wrong_password():
    with StandIn() as board:
        res = browse(board.port, PASSWORD, "not it")
    assert res["rows"] == [] and res["note"] == "status: HTTP 403 (password?)", res
