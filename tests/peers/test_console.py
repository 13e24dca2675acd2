"""The device console against real clients: headless Chromium on the page
(terminal + file pane) and the PyPI `webrepl` client, on both runtimes."""

import json
import os
import subprocess

from conftest import ROOT, cpython_env, free_port, start_module

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "s3cret-pw"


def _console(runtime, tmp_path, *extra):
    port = free_port()
    env = cpython_env()
    env["CONSOLE_PASSWORD"] = PASSWORD
    proc = start_module(runtime, "microproto.console", ["--port", str(port)] + list(extra), port=port,
                        env=env, cwd=str(tmp_path))
    return proc, port


def test_chromium_console_login_eval_upload_download(runtime, tmp_path):
    proc, port = _console(runtime, tmp_path)
    with proc:
        shot = str(tmp_path / "console.png")
        r = subprocess.run(["node", os.path.join(HERE, "console_browser.js"), "http://127.0.0.1:%d/" % port,
                            PASSWORD, shot], capture_output=True, text=True, timeout=90, cwd=HERE)
        assert r.returncode == 0, r.stdout + r.stderr + proc.stop()
        res = json.loads(r.stdout.strip().splitlines()[-1])
        assert "6*7\n42\n>>> " in res["terminal"].replace("\r", ""), res["terminal"]
        assert res["uploadStatus"] == "uploaded up.txt", res
        assert res["downloadStatus"] == "downloaded up.txt", res
        assert res["downloaded"] == res["sent"]
        with open(tmp_path / "up.txt") as f:
            assert f.read() == res["sent"]
        assert os.path.getsize(shot) > 1000
        assert proc.alive()


def test_wrong_password_closes_with_1008(runtime, tmp_path):
    import asyncio

    import websockets

    proc, port = _console(runtime, tmp_path)

    async def attempt():
        async with websockets.connect("ws://127.0.0.1:%d/" % port) as ws:
            assert await ws.recv() == "Password: "
            await ws.send("wrong\r")
            assert await ws.recv() == "\r\nAccess denied\r\n"
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as e:
                return e.rcvd.code
            return None

    with proc:
        assert asyncio.run(attempt()) == 1008
        assert proc.alive()


def _webrepl_session(port, tmp_path):
    import webrepl

    repl = webrepl.Webrepl(host="127.0.0.1", port=port, password=PASSWORD)
    try:
        assert repl.connected, "login failed"
        out = repl.sendcmd("6*7")
        assert b"42" in out, out
        local = tmp_path / "local.bin"
        data = bytes(range(256)) * 300  # 76800 bytes: past WebREPL's old 64 KiB cap
        local.write_bytes(data)
        repl.put_file(str(local), "put.bin")
        assert (tmp_path / "put.bin").read_bytes() == data
        assert repl.get_file_content("put.bin") == data
        return repl.get_ver()
    finally:
        repl.disconnect()


def test_webrepl_client_with_legacy_opt_in(runtime, tmp_path):
    proc, port = _console(runtime, tmp_path, "--legacy-webrepl")
    with proc:
        ver = _webrepl_session(port, tmp_path)
        assert len(ver) == 3
        assert proc.alive()


def test_webrepl_client_request_refused_without_opt_in(runtime, tmp_path):
    import socket

    proc, port = _console(runtime, tmp_path)
    # the exact opening request of the PyPI webrepl client: no version, key "foo"
    # (the client itself loops forever on a refused handshake, so it is replayed here)
    request = (b"GET / HTTP/1.1\r\nHost: echo.websocket.org\r\nConnection: Upgrade\r\n"
               b"Upgrade: websocket\r\nSec-WebSocket-Key: foo\r\n\r\n")
    with proc:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(request)
            reply = b""
            while True:
                data = s.recv(4096)
                if not data:
                    break
                reply += data
        assert reply.startswith(b"HTTP/1.1 426 ") or reply.startswith(b"HTTP/1.1 400 "), reply
        assert proc.alive()
