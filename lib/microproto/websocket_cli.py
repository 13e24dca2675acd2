"""Command line of the WebSocket server and the handlers it offers (echo,
stream echo, heap figures for benchmarks), kept out of
``microproto.websocket`` so that a board serving its own handler does not
load them.

    python -m microproto.websocket --host H --port P --echo [options]
    python -m microproto.websocket_cli ...   (the same)
"""

import asyncio
import sys

from microproto import websocket
from microproto.errors import UsageError


_MP = sys.implementation.name == "micropython"


def _none(a, b):
    return None


async def echo_handler(ws):
    """Send every message back as it came (text as text; ``--echo`` on
    MicroPython serves binary messages as bytearrays: see ``main``)."""
    async for message in ws:
        await ws.send(message)
        if _MP:
            # nothing keeps it while the next one comes in (N bytes of heap
            # for a message of N, not 2N): neither the name nor the slot of
            # this frame's value stack that held the send's argument (the
            # collector reads the whole frame): a call of two arguments
            # writes over that slot. (Not on CPython: there an early free of
            # a large message gives its memory back to the system, and the
            # next one is faulted in again: 1 MiB echo 0.7 -> 1.3 ms of CPU)
            message = _none(ws, None)


def heap_echo_handler(server_ref):
    """The echo handler, plus heap figures for benchmarks (``--heap-report``):
    the text ``__heap__`` answers ``"<bytes in use after a collection>
    <connections>"``; ``__heapstart__`` collects and stops automatic
    collection, ``__heapend__`` answers the bytes allocated since and
    restarts it."""
    import gc

    state = [0]

    async def handler(ws):
        async for message in ws:
            if message == "__heap__":
                gc.collect()
                n = gc.mem_alloc() if hasattr(gc, "mem_alloc") else -1
                await ws.send("%d %d" % (n, len(server_ref[0].connections)))
            elif message == "__heapstart__":
                gc.collect()
                state[0] = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
                gc.disable()
                await ws.send("ok")
            elif message == "__heapend__":
                n = (gc.mem_alloc() - state[0]) if hasattr(gc, "mem_alloc") else -1
                gc.enable()
                await ws.send("%d" % n)
            else:
                await ws.send(message)

    return handler


async def stream_echo_handler(ws):
    """Send every message back fragment by fragment, never joining it."""
    while True:
        try:
            data, text, fin = await ws.recv_fragment()
        except websocket.ConnectionClosed:
            return
        await ws.send_fragment(data, text, fin)


_USAGE = """usage: python -m microproto.websocket --host H --port P --echo [options]

Run a WebSocket echo server.

  --host H            address to listen on (default 127.0.0.1)
  --port P            TCP port (default 8080)
  --echo              echo every message back (required for now; on
                      MicroPython binary messages reach it as bytearrays:
                      binary_type=bytearray)
  --stream            echo fragment by fragment without joining messages
  --max-size N        largest message/frame in bytes, 0 for none (default 1048576)
  --certfile F        TLS certificate (PEM): serve wss://
  --keyfile F         TLS private key (PEM)
  --origin O          allowed Origin (repeat for more; default: any)
  --password P        require HTTP Basic auth with this password
  --no-compression    do not negotiate permessage-deflate
  --ping-interval-ms N  keepalive pings (0: off; default 20000)
  --ping-timeout-ms N   close (1011) when no pong comes in time (default 20000)
  --handshake-timeout-ms N  (default 10000)
  --close-timeout-ms N      (default 5000)
  --write-timeout-ms N      cut a peer that takes nothing for N ms (default 10000)
  --read-size N       bytes per socket read (default 4096)
  --max-connections N (default 8)
  --heap-report       benchmarks: answer __heap__/__heapstart__/__heapend__ with heap figures
  -h, --help          show this help
"""


def _parse_args(argv):
    opts = {"host": "127.0.0.1", "port": 8080, "echo": False, "origins": None}
    serve_opts = {}
    flags = {"--echo": "echo", "--stream": "stream", "--no-compression": "nocomp", "--heap-report": "heap"}
    ints = {"--port": "port", "--max-size": "max_size", "--ping-interval-ms": "ping_interval_ms",
            "--ping-timeout-ms": "ping_timeout_ms", "--handshake-timeout-ms": "handshake_timeout_ms",
            "--close-timeout-ms": "close_timeout_ms", "--read-size": "read_size",
            "--max-connections": "max_connections", "--write-timeout-ms": "write_timeout_ms"}
    strs = {"--host": "host", "--certfile": "certfile", "--keyfile": "keyfile", "--password": "password"}
    i = 0
    while i < len(argv):
        a = argv[i]
        val = None
        if a.startswith("--") and "=" in a:
            a, val = a.split("=", 1)
        if a in ("-h", "--help"):
            return None
        if a in flags:
            opts[flags[a]] = True
            i += 1
            continue
        if a in ints or a in strs or a == "--origin":
            if val is None:
                if i + 1 >= len(argv):
                    raise UsageError("%s needs a value" % a)
                val = argv[i + 1]
                i += 1
            i += 1
            if a == "--origin":
                opts["origins"] = (opts["origins"] or []) + [val]
            elif a in ints:
                try:
                    opts[ints[a]] = int(val)
                except ValueError:
                    raise UsageError("%s needs a number" % a)
            else:
                opts[strs[a]] = val
            continue
        raise UsageError("unknown argument %r" % a)
    for k in ("max_size", "ping_interval_ms", "ping_timeout_ms", "handshake_timeout_ms", "close_timeout_ms",
              "read_size", "max_connections", "write_timeout_ms", "certfile", "keyfile", "password"):
        if k in opts:
            serve_opts[k] = opts[k]
    if "ping_interval_ms" in serve_opts and serve_opts["ping_interval_ms"] <= 0:
        serve_opts["ping_interval_ms"] = None
    if opts.get("stream"):
        serve_opts["stream"] = True
    if opts.get("nocomp"):
        serve_opts["compression"] = None
    if opts["origins"] is not None:
        serve_opts["origins"] = opts["origins"]
    return opts, serve_opts


def main(argv=None):
    """Command line entry point (``microproto-websocket``)."""
    if argv is None:
        argv = sys.argv[1:]
    try:
        parsed = _parse_args(argv)
    except UsageError as e:
        print("error: %s\n" % e.reason + _USAGE)
        return 2
    if parsed is None:
        print(_USAGE)
        return 0
    opts, serve_opts = parsed
    if not opts["echo"]:
        print("error: choose a mode (--echo)\n" + _USAGE)
        return 2
    handler = stream_echo_handler if opts.get("stream") else echo_handler
    if sys.implementation.name == "micropython":
        # what we advise on a board for a handler that neither keeps nor
        # hashes what it receives: a binary message is the buffer it came in
        # (no copy, no hash of it, N bytes of heap for N bytes). Not on
        # CPython: there bytes are made without a hash, and a bytearray sent
        # is copied (the transport may keep a view of it)
        serve_opts["binary_type"] = bytearray
    server_ref = [None]
    if opts.get("heap"):
        handler = heap_echo_handler(server_ref)

    async def run():
        server = await websocket.serve(handler, opts["host"], opts["port"], **serve_opts)
        server_ref[0] = server
        scheme = "wss" if server.tls else "ws"
        print("listening on %s://%s:%d/" % (scheme, opts["host"], opts["port"]))
        if hasattr(sys.stdout, "flush"):
            sys.stdout.flush()
        await server.wait_closed()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
