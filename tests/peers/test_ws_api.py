"""The serve() API on both runtimes: subprotocols, path/query/headers/remote
address, auth hook (401/403), the plain-HTTP route and static files on the
same port, fragment streaming, ping(), close(code, reason)."""

import asyncio
import json
import urllib.error
import urllib.request

import pytest
import websockets
from conftest import MICROPYTHON, Process, ROOT, free_port
import sys


@pytest.fixture
def app(runtime, tmp_path):
    (tmp_path / "index.html").write_text("<h1>board page</h1>")
    (tmp_path / "app.js").write_text("console.log(1)")
    # what static_handler must not serve (issue 9)
    (tmp_path / "secrets.py").write_text("WIFI_PASSWORD = 'x'")
    (tmp_path / "main.py").write_text("PASSWORD = 'x'")
    (tmp_path / ".hidden").write_text("x")
    (tmp_path / "out").symlink_to("/etc")
    (tmp_path / "passwd.txt").symlink_to("/etc/passwd")
    port = free_port()
    port2 = free_port()
    script = str(ROOT / "tests" / "peers" / "ws_app.py")
    argv = [sys.executable, script] if runtime == "cpython" else [MICROPYTHON, script]
    with Process(argv + [str(port), str(tmp_path), str(port2)], port=port) as p:
        p.port = port
        p.port2 = port2
        yield p
        assert p.alive()


def _run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


def test_subprotocol_path_headers_remote(app):
    async def go():
        uri = "ws://127.0.0.1:%d/info?a=1" % app.port
        async with websockets.connect(uri, subprotocols=["chat", "chat.v2"], user_agent_header="tester/1") as ws:
            assert ws.subprotocol == "chat.v2"  # the server's preference
            await ws.send("info")
            info = json.loads(await ws.recv())
        async with websockets.connect(uri, subprotocols=["other"]) as ws2:
            sp = ws2.subprotocol
        return info, sp

    info, sp = _run(go())
    assert info["path"] == "/info" and info["query"] == "a=1"
    assert info["subprotocol"] == "chat.v2" and info["agent"] == "tester/1"
    assert info["remote"][0] == "127.0.0.1" and info["remote"][1] > 0
    assert sp is None


def test_auth_hook(app):
    async def status(path):
        try:
            async with websockets.connect("ws://127.0.0.1:%d%s" % (app.port, path)):
                return 101
        except websockets.InvalidStatus as e:
            return e.response.status_code

    assert _run(status("/private")) == 403
    assert _run(status("/login")) == 401
    assert _run(status("/login?token=no")) == 401
    assert _run(status("/login?token=ok")) == 101


def test_http_route_and_static_files_on_the_same_port(app):
    base = "http://127.0.0.1:%d" % app.port
    with urllib.request.urlopen(base + "/hello", timeout=10) as r:
        assert r.status == 200 and r.read() == b"hello from /hello\n"
    with urllib.request.urlopen(base + "/", timeout=10) as r:
        assert r.read() == b"<h1>board page</h1>" and r.headers["Content-Type"].startswith("text/html")
    with urllib.request.urlopen(base + "/app.js", timeout=10) as r:
        assert r.read() == b"console.log(1)" and r.headers["Content-Type"] == "text/javascript"
    for path in ("/missing.txt", "/../conftest.py", "/secrets.py", "/main.py", "/.hidden", "/out/hostname",
                 "/passwd.txt"):
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(base + path, timeout=10)
        assert e.value.code == 404, path


def test_nul_in_the_path_is_answered_not_dropped(app):
    import socket

    with socket.create_connection(("127.0.0.1", app.port), timeout=10) as s:
        s.sendall(b"GET /index.html%00.js HTTP/1.1\r\nHost: x\r\n\r\n")
        head = s.recv(200)
    assert head.startswith(b"HTTP/1.1 4"), head
    with socket.create_connection(("127.0.0.1", app.port), timeout=10) as s:
        s.sendall(b"GET /index\x00.html HTTP/1.1\r\nHost: x\r\n\r\n")
        head = s.recv(200)
    assert head.startswith(b"HTTP/1.1 4"), head


def test_stream_fragments_without_joining(app):
    async def go():
        async with websockets.connect("ws://127.0.0.1:%d/stream" % app.port, compression=None,
                                      max_size=None) as ws:
            big = bytes(range(256)) * 2000  # 512 kB: over max_size, fine when streamed
            await ws.send(big)
            got = await ws.recv()
            await ws.send(["fr\u00e9", "ag", "ments"])
            text = await ws.recv()
            return got == big, text

    same, text = _run(go())
    assert same and text == "fr\u00e9agments"


def test_ping_and_close_with_code(app):
    async def go():
        async with websockets.connect("ws://127.0.0.1:%d/" % app.port) as ws:
            await ws.send("ping-me")
            msg = await ws.recv()
            await ws.send("close-me")
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            return msg, ws.close_code, ws.close_reason

    msg, code, reason = _run(go())
    assert msg.startswith("pong after ") and code == 4321 and reason == "as asked"


def test_binary_type_bytearray_hands_the_handler_its_own_buffer(app):
    # binary messages as bytearrays the handler may change (it inverts the
    # first byte and sends the message back), small, large and fragmented;
    # text stays str; compressed too
    async def go(compression):
        out = []
        async with websockets.connect("ws://127.0.0.1:%d/" % app.port2, compression=compression,
                                      max_size=None) as ws:
            big = bytes(range(256)) * 800  # 200 kB (a 2 MiB heap, deflate after plain: room to spare)
            for m in (b"abc", big, b"", ["fr", "ag"], [b"fr", b"ag"]):
                await ws.send(m)
                out.append(await ws.recv())
                if not isinstance(m, list) or isinstance(m[0], bytes):
                    out.append(await ws.recv())
        return out, big

    for compression in (None, "deflate"):
        out, big = _run(go(compression))
        assert out[0:2] == ["bytearray 3", b"\x9ebc"], compression
        assert out[2] == "bytearray 204800" and out[3] == b"\xff" + big[1:], compression
        assert out[4:6] == ["bytearray 0", b""], compression
        assert out[6] == "str 4" and out[7:] == ["bytearray 4", b"\x99rag"], compression


def test_binary_type_other_than_bytes_or_bytearray_is_refused():
    from microproto import websocket
    from microproto.errors import UsageError

    async def echo(ws):
        pass

    for bad in (str, memoryview, "bytearray"):
        with pytest.raises(UsageError):
            _run(websocket.serve(echo, "127.0.0.1", free_port(), binary_type=bad))
