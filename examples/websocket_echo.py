"""WebSocket echo server: every message comes back as it was sent.

    mpremote run examples/websocket_echo.py     # on a board (after tools/deploy.py)
    python3 examples/websocket_echo.py          # on CPython (after pip install -e .)

Settings: WS_PORT (8765) and EXAMPLE_HOST in the git-ignored secrets.py
(see examples/README.md). Ctrl-C stops it.
"""

import asyncio

from microproto import websocket

try:
    import secrets  # optional, git-ignored: a board's secrets.py or examples/secrets.py
except ImportError:
    secrets = None
try:
    import board  # deployed with the library: brings a board's network up
except ImportError:
    board = None
ADDRESS = board.network_up() if board else "127.0.0.1"
HOST = getattr(secrets, "EXAMPLE_HOST", "127.0.0.1" if ADDRESS == "127.0.0.1" else "0.0.0.0")
PORT = getattr(secrets, "WS_PORT", 8765)
server = None


async def echo(ws):
    async for message in ws:  # str for text, bytes for binary
        await ws.send(message)


async def main():
    global server
    server = await websocket.serve(echo, HOST, PORT)
    url = "ws://%s:%d/" % (ADDRESS, PORT)
    print("websocket echo: listening on", url)
    print("next: python3 -m websockets %s   (type a line, it comes back; Ctrl-C here to stop)" % url)
    try:
        await server.wait_closed()
    finally:  # CPython: Ctrl-C cancels main()
        server.close()
        server = None


try:
    asyncio.run(main())
except KeyboardInterrupt:
    if server is not None:  # MicroPython: Ctrl-C left the loop as it was
        s = server
        s.close()
        asyncio.run(s.wait_closed())  # the server closes its socket
        asyncio.new_event_loop()  # and nothing of this run is left queued
print("websocket echo: stopped")
