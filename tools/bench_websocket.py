"""WebSocket echo benchmark (not a test).

The same client (the `websockets` library, compression off) measures echo
round trips per second and payload MB/s for 16 B, 1 KiB and 64 KiB binary
messages against, in one run: our server on CPython, a `websockets` server
on CPython, and our server on the MicroPython unix port. Then, on the unix
port: heap per idle connection and heap allocated per echoed message.

    python3 tools/bench_websocket.py [--seconds 3] [--markdown]
"""

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time

import websockets

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZES = (16, 1024, 65536)

WS_SERVER = r"""
import asyncio, sys
from websockets.asyncio.server import serve
async def echo(ws):
    async for m in ws:
        await ws.send(m)
async def main():
    async with serve(echo, "127.0.0.1", int(sys.argv[1]), compression=None, max_size=None, ping_interval=None):
        print("listening", flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(argv, port):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT + "/lib", ROOT + "/ports/cpython"]))
    p = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise SystemExit("server did not start: %r" % argv)


def stop(p):
    p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


async def echo_rate(uri, size, seconds):
    payload = bytes(i & 0xFF for i in range(size))
    async with websockets.connect(uri, compression=None, max_size=None, ping_interval=None) as ws:
        for _ in range(5):  # warm up
            await ws.send(payload)
            await ws.recv()
        n = 0
        t0 = time.perf_counter()
        end = t0 + seconds
        while time.perf_counter() < end:
            await ws.send(payload)
            got = await ws.recv()
            if len(got) != size:
                raise SystemExit("bad echo")
            n += 1
        dt = time.perf_counter() - t0
    return n / dt, n * size / dt / 1e6


async def heap_figures(uri, idle=10):
    async with websockets.connect(uri, compression=None, ping_interval=None) as ctl:
        async def ask(m):
            await ctl.send(m)
            return await ctl.recv()

        base = int((await ask("__heap__")).split()[0])
        conns = [await websockets.connect(uri, compression=None, ping_interval=None) for _ in range(idle)]
        await asyncio.sleep(0.2)
        with_idle = int((await ask("__heap__")).split()[0])
        for c in conns:
            await c.close()
        await asyncio.sleep(0.3)
        per_msg = {}
        for size in (16, 1024):
            payload = b"x" * size
            await ask("__heapstart__")
            n = 50
            for _ in range(n):
                await ctl.send(payload)
                await ctl.recv()
            per_msg[size] = int(await ask("__heapend__")) / n
    return (with_idle - base) / idle, per_msg


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--markdown", action="store_true")
    a = ap.parse_args()
    targets = [
        ("microproto, CPython", [sys.executable, "-m", "microproto.websocket", "--echo", "--no-compression",
                                 "--max-size", "0", "--ping-interval-ms", "0", "--read-size", "65536"]),
        ("websockets 13+, CPython", [sys.executable, "-c", WS_SERVER]),
        ("microproto, unix port", [ROOT + "/tools/micropython", "-m", "microproto.websocket", "--echo",
                                   "--no-compression", "--max-size", "0", "--ping-interval-ms", "0",
                                   "--read-size", "16384", "--heap-report", "--max-connections", "16"]),
    ]
    rows = []
    heap = None
    for name, argv in targets:
        port = free_port()
        if "websockets" in name:
            argv = argv + [str(port)]
        else:
            argv = argv + ["--host", "127.0.0.1", "--port", str(port)]
        p = start(argv, port)
        try:
            uri = "ws://127.0.0.1:%d/" % port
            cells = []
            for size in SIZES:
                rt, mbs = asyncio.run(echo_rate(uri, size, a.seconds))
                cells.append((rt, mbs))
            rows.append((name, cells))
            if "unix port" in name:
                heap = asyncio.run(heap_figures(uri))
        finally:
            stop(p)
    print("| server | " + " | ".join("%s round trips/s (MB/s)" % _size(s) for s in SIZES) + " |")
    print("|---|" + "---|" * len(SIZES))
    for name, cells in rows:
        print("| %s | %s |" % (name, " | ".join("%.0f (%.2f)" % c for c in cells)))
    if heap:
        per_conn, per_msg = heap
        print()
        print("unix port heap: %.0f bytes per idle connection; per echoed message: %s" % (
            per_conn, ", ".join("%s: %.0f bytes" % (_size(k), v) for k, v in sorted(per_msg.items()))))


def _size(n):
    return "%d KiB" % (n // 1024) if n >= 1024 else "%d B" % n


if __name__ == "__main__":
    main()
