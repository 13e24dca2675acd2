"""A WebSocket server for the hostile-peer tests; runs on both runtimes:
    ws_hostile_app.py PORT [option=value ...]   (options of websocket.serve, ints)

Plain GETs get "page" (a route of ``http_handler``), ``GET /big`` the file
given as ``big=PATH`` (streamed from the file). Paths: ``/flood`` sends 16 KiB binary messages until the connection ends;
``/raise`` raises in the handler on the first message; ``/stream`` counts
the bytes of each message received as fragments; anything else echoes.
The text ``__stats__`` on any connection answers JSON: ``sessions`` (gate
slots held), ``connections`` (open WebSockets), ``buffered`` (bytes waiting
in the write buffers of the open connections now), ``failures`` (wrong
passwords counted by the gate), ``stream_max`` (largest message seen on
/stream, in bytes), ``cut`` (connections ended by the write deadline).
"""

import asyncio
import json
import sys

from hostile_stats import buffered
from microproto import websocket

server = None
stats = {"stream_max": 0}


async def _stats(ws):
    await ws.send(json.dumps({
        "sessions": server.gate.sessions,
        "connections": len(server.connections),
        "buffered": sum([buffered(c) for c in server.connections]),
        "failures": server.gate.failures,
        "stream_max": stats["stream_max"],
    }))


async def handler(ws):
    if ws.path == "/flood":
        await ws.recv()
        block = bytes(16384)
        while True:
            await ws.send(block)
    if ws.path == "/stream":
        size = 0
        while True:
            data, text, fin = await ws.recv_fragment()
            size += len(data)
            if size > stats["stream_max"]:
                stats["stream_max"] = size
            if fin:
                if text and bytes(data) == b"__stats__":
                    await _stats(ws)
                size = 0
    async for msg in ws:
        if msg == "__stats__":
            await _stats(ws)
        elif ws.path == "/raise":
            raise RuntimeError("handler bug")
        else:
            await ws.send(msg)


def page(request):
    if request.path == "/big" and stats.get("big"):
        import os

        path = stats["big"]
        return 200, [("Content-Type", "application/octet-stream"),
                     ("Content-Length", str(os.stat(path)[6]))], open(path, "rb")
    return 200, [("Content-Type", "text/plain")], "page\n"


def main():
    global server
    port = int(sys.argv[1])
    opts = {"ping_interval_ms": None}
    for a in sys.argv[2:]:
        k, v = a.split("=", 1)
        if k == "big":
            stats["big"] = v
            continue
        opts[k] = v if k == "password" else int(v)
    for k in ("stream",):
        if k in opts:
            opts[k] = bool(opts[k])

    async def run():
        global server
        server = await websocket.serve(handler, "127.0.0.1", port, http_handler=page, **opts)
        print("listening on ws://127.0.0.1:%d/" % port)
        await server.wait_closed()

    asyncio.run(run())


main()
