"""Headless Chromium's WebSocket client against our echo server, on both
runtimes, with the permessage-deflate it offers."""

import json
import os
import subprocess

from conftest import free_port, start_module

HERE = os.path.dirname(os.path.abspath(__file__))


def test_chromium_echo(runtime):
    port = free_port()
    with start_module(runtime, "microproto.websocket", ["--port", str(port), "--echo"], port=port) as proc:
        r = subprocess.run(["node", os.path.join(HERE, "ws_chromium.js"), "ws://127.0.0.1:%d/" % port],
                           capture_output=True, text=True, timeout=90, cwd=HERE)
        assert r.returncode == 0, r.stdout + r.stderr
        res = json.loads(r.stdout.strip().splitlines()[-1])
        assert res["extensions"].startswith("permessage-deflate"), res
        assert res["text"] == "h\u00e9llo \U0001F600"
        assert res["binaryOk"] and res["bigOk"], res
        assert res["close"] == {"code": 1000, "clean": True}, res
        assert proc.alive()
