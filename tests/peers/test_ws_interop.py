"""Interop with real clients (the `websockets` library, Node `ws`) against
our echo server on both runtimes: messages of every size, compression,
wss, Origin allow-list, password, limits, keepalive."""

import asyncio
import json
import ssl
import subprocess
import time
from pathlib import Path

import pytest
import websockets
from conftest import CERT, KEY, ROOT, free_port, start_module
from wsraw import Raw, echo_roundtrip, frame, handshake_request

NODE_CLIENT = str(Path(__file__).parent / "ws_node_client.js")
SIZES = (0, 16, 125, 126, 1024, 65535, 65536, 500000)
# the unix port's default 2 MiB heap holds a 100 kB message in its copies
# (compressed, joined, str, reply); a 500 kB one gets 1009 "out of memory"
MP_SIZES = SIZES[:-1] + (100000,)


def _args(port, *extra):
    return ["--host", "127.0.0.1", "--port", str(port), "--echo", "--ping-interval-ms", "0"] + list(extra)


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


async def _echo_all(uri, compression, sizes=SIZES, **kw):
    async with websockets.connect(uri, compression=compression, max_size=None, **kw) as ws:
        ext = ws.response.headers.get("Sec-WebSocket-Extensions")
        for n in sizes:
            for msg in ("\u00e9" * (n // 2) + "x" * (n % 2), bytes(i % 256 for i in range(n))):
                await ws.send(msg)
                got = await ws.recv()
                assert got == msg, (n, type(msg))
        latency = await ws.ping(b"abc")
        await asyncio.wait_for(latency, 10)
        await ws.close(4000, "bye")
        return ext, ws.close_code


@pytest.mark.parametrize("compression", ["deflate", None])
def test_websockets_client_echo(runtime, compression):
    port = free_port()
    with start_module(runtime, "microproto.websocket", _args(port), port) as p:
        sizes = MP_SIZES if runtime == "micropython" else SIZES
        ext, code = _run(_echo_all("ws://127.0.0.1:%d/echo" % port, compression, sizes))
        if compression:
            assert ext.startswith("permessage-deflate")
            if runtime == "micropython":
                assert "client_no_context_takeover" in ext
        else:
            assert ext is None
        assert code == 4000
        assert p.alive()


@pytest.mark.parametrize("compress", ["1", "0"])
def test_node_ws_client_echo(runtime, compress):
    port = free_port()
    with start_module(runtime, "microproto.websocket", _args(port), port) as p:
        r = subprocess.run(["node", NODE_CLIENT, "ws://127.0.0.1:%d/" % port, compress],
                           capture_output=True, text=True, timeout=90, cwd=str(ROOT))
        assert r.returncode == 0, r.stdout + r.stderr
        res = json.loads(r.stdout.strip().splitlines()[-1])
        assert res["ok"] == 16 and res["bad"] == [], res
        assert res["pong"] is True and res["code"] == 4001 and res["reason"] == ""  # code echoed, no reason
        assert ("permessage-deflate" in res["extensions"]) == (compress == "1"), res
        assert p.alive()


def test_wss_with_both_clients(runtime):
    port = free_port()
    with start_module(runtime, "microproto.websocket", _args(port, "--certfile", CERT, "--keyfile", KEY), port) as p:
        ctx = ssl.create_default_context(cafile=CERT)
        ext, code = _run(_echo_all("wss://localhost:%d/" % port, "deflate", MP_SIZES, ssl=ctx))
        assert code == 4000
        r = subprocess.run(["node", NODE_CLIENT, "wss://localhost:%d/" % port, "0", CERT],
                           capture_output=True, text=True, timeout=90, cwd=str(ROOT))
        res = json.loads(r.stdout.strip().splitlines()[-1])
        assert res.get("ok") == 16 and res["code"] == 4001, res
        assert p.alive()


def test_origin_allow_list(runtime):
    port = free_port()
    args = _args(port, "--origin", "http://good.example", "--origin", "https://also.example")
    with start_module(runtime, "microproto.websocket", args, port):
        assert Raw(port, handshake_request(extra=b"Origin: http://evil.example\r\n")).status == 403
        assert Raw(port, handshake_request()).status == 403  # no Origin at all
        r = Raw(port, handshake_request(extra=b"Origin: https://also.example\r\n"))
        assert r.status == 101
        r.send(frame(1, "hi"))
        assert r.recv_frame() == (True, 0, 1, b"hi")

        async def go():
            async with websockets.connect("ws://127.0.0.1:%d/" % port, origin="http://good.example") as ws:
                await ws.send("ok")
                return await ws.recv()

        assert _run(go()) == "ok"


def test_password_401_403_101(runtime):
    import base64

    port = free_port()
    with start_module(runtime, "microproto.websocket", _args(port, "--password", "s3cret"), port):
        r = Raw(port, handshake_request())
        assert r.status == 401 and b"WWW-Authenticate: Basic" in r.head
        bad = b"Authorization: Basic " + base64.b64encode(b"u:wrong") + b"\r\n"
        assert Raw(port, handshake_request(extra=bad)).status == 403
        good = b"Authorization: Basic " + base64.b64encode(b"anyone:s3cret") + b"\r\n"
        # the gate: the address that just failed waits fail_delay_ms (1 s)
        assert Raw(port, handshake_request(extra=good)).status == 429
        time.sleep(1.2)
        r = Raw(port, handshake_request(extra=good))
        assert r.status == 101

        async def go():
            async with websockets.connect("ws://anyone:s3cret@127.0.0.1:%d/" % port) as ws:
                await ws.send("in")
                return await ws.recv()

        assert _run(go()) == "in"


def test_max_size_1009_keeps_other_connections(runtime):
    port = free_port()
    with start_module(runtime, "microproto.websocket", _args(port, "--max-size", "1000"), port) as p:
        async def go():
            async with websockets.connect("ws://127.0.0.1:%d/" % port, compression=None) as other:
                async with websockets.connect("ws://127.0.0.1:%d/" % port, compression=None) as ws:
                    await ws.send(b"x" * 1000)
                    assert await ws.recv() == b"x" * 1000
                    await ws.send(b"x" * 1001)
                    with pytest.raises(websockets.ConnectionClosedError):
                        await ws.recv()
                    code = ws.close_code
                await other.send("fine")
                return code, await other.recv()

        assert _run(go()) == (1009, "fine")
        assert p.alive()


def test_max_connections_503(runtime):
    port = free_port()
    with start_module(runtime, "microproto.websocket", _args(port, "--max-connections", "2"), port):
        # every connection counts from accept: let the start-up probe's end
        time.sleep(0.3)
        a, b = Raw(port), Raw(port)
        assert a.status == 101 and b.status == 101
        c = Raw(port)
        assert c.status == 503
        a.send(frame(8, b"\x03\xe8"))
        a.expect_close(reply=False)
        time.sleep(0.3)
        assert echo_roundtrip(port)


def test_keepalive_closes_a_dead_peer_1011(runtime):
    port = free_port()
    args = ["--host", "127.0.0.1", "--port", str(port), "--echo", "--ping-interval-ms", "300",
            "--ping-timeout-ms", "300"]
    with start_module(runtime, "microproto.websocket", args, port):
        r = Raw(port)
        f = r.recv_frame()  # a keepalive ping; we play dead and never answer
        assert f[2] == 9
        code, before, eof = r.expect_close(reply=False)
        assert code == 1011 and eof
        r2 = Raw(port)  # a live peer answering pings stays connected
        for _ in range(3):
            f = r2.recv_frame()
            assert f[2] == 9
            r2.send(frame(10, f[3]))
        r2.send(frame(1, "alive"))
        while True:
            f = r2.recv_frame()
            if f[2] != 9:
                break
            r2.send(frame(10, f[3]))
        assert f == (True, 0, 1, b"alive")


def test_handshake_timeout(runtime):
    import socket
    import time

    port = free_port()
    args = _args(port, "--handshake-timeout-ms", "500")
    with start_module(runtime, "microproto.websocket", args, port):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\n")
        t = time.monotonic()
        assert s.recv(100) == b""
        assert 0.3 < time.monotonic() - t < 3
        s.close()


def test_help_and_bad_arguments(runtime):
    from conftest import runtime_command

    r = subprocess.run(runtime_command(runtime, "microproto.websocket", ["--help"]), capture_output=True,
                       text=True, timeout=30, cwd=str(ROOT), env=__import__("conftest").cpython_env())
    assert r.returncode == 0
    for opt in ("--max-size", "--certfile", "--keyfile", "--origin", "--password", "--echo"):
        assert opt in r.stdout
    r = subprocess.run(runtime_command(runtime, "microproto.websocket", ["--bogus"]), capture_output=True,
                       text=True, timeout=30, cwd=str(ROOT), env=__import__("conftest").cpython_env())
    assert r.returncode == 2 and "unknown argument" in r.stdout


def test_cli_echo_of_1_mib_needs_about_1_mib_of_heap():
    # issue 8: `--echo --max-size 2097152` echoes 1 MiB binary messages one
    # after another on the unix port in a heap of 1400K (the message and a
    # small constant: the CLI serves binary_type=bytearray and its handler
    # keeps nothing of a message while the next comes in); it needed 4M
    port = free_port()
    args = _args(port, "--max-size", "2097152", "--no-compression")
    with start_module("micropython", "microproto.websocket", args, port, heapsize="1400K") as p:
        async def go():
            async with websockets.connect("ws://127.0.0.1:%d/" % port, compression=None, max_size=None) as ws:
                big = bytes(range(256)) * 4096
                for i in range(3):
                    await ws.send(big)
                    assert await ws.recv() == big, i
            return True

        assert _run(go())
        assert p.alive()
