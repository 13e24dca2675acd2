"""The console's status view (issue 12) on the real console, on both
runtimes: ``GET /status`` (JSON from ``microproto.status``, behind the
console password, HTTP Basic: 401 without credentials, 403 wrong), read by
headless Chromium through the page's status view (the password typed at
the login is reused, a wrong one is reported) and by a plain HTTP client;
``last_error`` shows what a session raised; the status module is loaded
only when ``/status`` is asked."""

import asyncio
import base64
import http.client
import json
import os
import subprocess

from conftest import ROOT, cpython_env, free_port, runtime_command, start_module

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "status pass"


def _console(runtime, tmp_path):
    port, tport = free_port(), free_port()
    env = cpython_env()
    env["CONSOLE_PASSWORD"] = PASSWORD
    argv = runtime_command(runtime, "console_status_app", [str(port), str(tport)])
    env["PYTHONPATH"] = HERE + os.pathsep + env["PYTHONPATH"]
    env["MICROPYPATH"] = HERE + ":" + env.get("MICROPYPATH", "")
    from conftest import Process

    return Process(argv, port=port, env=env, cwd=str(tmp_path)), port, tport


def browse(port, *args):
    r = subprocess.run(["node", os.path.join(HERE, "console_status.js"), "http://127.0.0.1:%d/" % port] + list(args),
                       capture_output=True, text=True, timeout=120, cwd=HERE)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def get_status(port, password=None, method="GET"):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    headers = {}
    if password is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(("me:" + password).encode()).decode()
    c.request(method, "/status", headers=headers)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, dict(r.getheaders()), body


def test_the_status_view_uses_the_login_password_and_shows_the_board(runtime, tmp_path):
    proc, port, _ = _console(runtime, tmp_path)
    with proc:
        res = browse(port, PASSWORD)
        assert proc.alive(), proc.stop()
    rows = dict(res["rows"])
    assert rows["uptime"].startswith("0h 0m "), rows
    if runtime == "cpython":
        assert rows["free heap"] == "n/a" and rows["largest free block"] == "n/a", rows
    else:
        assert rows["free heap"].endswith("KiB") and rows["largest free block"].endswith("KiB"), rows
    assert rows["sessions"] == "websocket 1, telnet 0", rows  # the page's own session
    assert rows["address"] == "127.0.0.1", rows
    assert rows["last error"] == "none", rows
    assert rows["runtime"] == runtime, rows
    assert res["note"].startswith("as of "), res


def test_the_status_view_reports_a_wrong_password(runtime, tmp_path):
    proc, port, _ = _console(runtime, tmp_path)
    with proc:
        res = browse(port, PASSWORD, "not it")
    assert res["rows"] == [] and res["note"] == "status: HTTP 403 (password?)", res


def test_status_json_behind_basic_auth_and_last_error(runtime, tmp_path):
    import websockets

    proc, port, tport = _console(runtime, tmp_path)

    async def boom():
        async with websockets.connect("ws://127.0.0.1:%d/" % port) as ws:
            assert await ws.recv() == "Password: "
            await ws.send(PASSWORD + "\r")
            while ">>> " not in await ws.recv():
                pass
            await ws.send("boom\r")
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 20)
            except websockets.ConnectionClosed:
                pass

    with proc:
        code, headers, body = get_status(port)
        assert code == 401 and headers["WWW-Authenticate"].startswith("Basic "), (code, headers)
        code, headers, body = get_status(port, PASSWORD)
        assert code == 200 and headers["Content-Type"] == "application/json", (code, headers)
        d = json.loads(body)
        assert list(d) == ["uptime_s", "heap_free", "heap_largest_free", "sessions", "address", "last_error",
                           "runtime"], d
        assert d["sessions"] == {"websocket": 0, "telnet": 0} and d["address"] == "127.0.0.1", d
        assert d["last_error"] is None and d["runtime"] == runtime, d
        assert (d["heap_free"] is None) == (runtime == "cpython"), d
        if d["heap_free"] is not None:
            assert 0 < d["heap_largest_free"] <= d["heap_free"], d
        code, headers, body = get_status(port, PASSWORD, "HEAD")
        assert code == 200 and body == b"", (code, body)
        asyncio.run(boom())
        code, headers, body = get_status(port, PASSWORD)
        assert code == 200 and json.loads(body)["last_error"] == "RuntimeError: boom", body
        # the console still serves
        code, headers, body = get_status(port, PASSWORD + "x")
        assert code == 403, code
        assert proc.alive(), proc.stop()


def test_status_is_loaded_only_when_asked(runtime):
    code = "import sys, microproto.console; print('microproto.status' in sys.modules)"
    if runtime == "cpython":
        argv = [runtime_command(runtime, "x")[0], "-c", code]
    else:
        argv = [str(ROOT / "tools" / "micropython"), "-c", code]
    r = subprocess.run(argv, capture_output=True, text=True, env=cpython_env(), timeout=60)
    assert r.stdout.strip() == "False", r.stdout + r.stderr
