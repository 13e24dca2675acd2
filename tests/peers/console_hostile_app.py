"""The device console for the hostile-peer tests; both runtimes:
    console_hostile_app.py PORT [option=value ...]   (options of console.serve, ints)
The password is in $CONSOLE_PASSWORD; the working directory is the file
root. A logged-in session reads figures with ``import microproto.console as
C; C.STATS()``: "sessions buffered failures" (gate slots held, bytes
waiting in write buffers, wrong passwords compared).
"""

import asyncio
import os
import sys

from hostile_stats import buffered
from microproto import console


def main():
    port = int(sys.argv[1])
    opts = {"ping_interval_ms": None}
    for a in sys.argv[2:]:
        k, v = a.split("=", 1)
        opts[k] = int(v)

    async def run():
        server = await console.serve("127.0.0.1", port, os.getenv("CONSOLE_PASSWORD"), **opts)

        def stats():
            return "%d %d %d" % (server.gate.sessions, sum([buffered(c) for c in server.connections]),
                                 server.gate.failures)

        console.STATS = stats
        print("console listening on %d" % port)
        await server.wait_closed()

    asyncio.run(run())


main()
