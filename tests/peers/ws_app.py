"""A small application on ``microproto.websocket.serve`` for the API tests;
runs on both runtimes:  ws_app.py PORT STATIC_DIR [PORT2]

- ``/info``: answers "info" with the path, query, subprotocol, remote
  address and a request header as JSON;
- ``/stream``: echoes each received fragment as it comes (``recv_fragment``);
- ``/private``: refused by the auth hook with 403; ``/login``: 401 unless
  the query is ``token=ok``;
- plain GETs: ``/hello`` from a route, other paths from STATIC_DIR;
- on PORT2 (``binary_type=bytearray``, not ``stream``): each message is
  answered with its type and length ("bytearray 3"), then (binary) sent
  back with its first byte inverted (it is the handler's to change).
"""

import asyncio
import json
import sys

from microproto import websocket
from microproto.websocket_cli import stream_echo_handler


async def handler(ws):
    if ws.path == "/stream":
        return await stream_echo_handler(ws)
    async for msg in ws:
        if msg == "info":
            await ws.send(json.dumps({
                "path": ws.path,
                "query": ws.request.query,
                "subprotocol": ws.subprotocol,
                "remote": list(ws.remote_address) if ws.remote_address else None,
                "agent": ws.request_headers.get("User-Agent"),
            }))
        elif msg == "ping-me":
            rtt = await ws.ping(b"x", 5000)
            await ws.send("pong after %d ms" % rtt)
        elif msg == "close-me":
            await ws.close(4321, "as asked")
        else:
            await ws.send(msg)


async def typed(ws):
    async for msg in ws:
        await ws.send("%s %d" % (type(msg).__name__, len(msg)))
        if not isinstance(msg, str):
            if msg:
                msg[0] ^= 0xFF
            await ws.send(msg)


def auth(request):
    if request.path == "/private":
        return 403
    if request.path == "/login":
        return request.query == "token=ok"
    return True


def main():
    port = int(sys.argv[1])
    static = websocket.static_handler(sys.argv[2])

    def http(request):
        if request.path == "/hello":
            return 200, [("Content-Type", "text/plain")], "hello from %s\n" % request.path
        return static(request)

    async def run():
        if len(sys.argv) > 3:
            await websocket.serve(typed, "127.0.0.1", int(sys.argv[3]), binary_type=bytearray, max_size=600000,
                                  ping_interval_ms=None)
        server = await websocket.serve(handler, "127.0.0.1", port, subprotocols=["chat.v2", "chat"], auth=auth,
                                       http_handler=http, stream=True, max_size=100000, ping_interval_ms=None)
        print("listening on ws://127.0.0.1:%d/" % port)
        await server.wait_closed()

    asyncio.run(run())


main()
