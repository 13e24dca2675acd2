"""A Telnet server (REPL shell) for the hostile-peer tests; both runtimes:
    telnet_hostile_app.py PORT [option=value ...]   (options of telnet.serve, ints)
The password is in $MP_TELNET_TEST_PW. A logged-in session reads figures with
``import microproto.telnet as T; T.STATS()``: "sessions buffered failures"
(gate slots held, bytes waiting in write buffers, wrong passwords compared).
"""

import asyncio
import os
import sys

from hostile_stats import buffered
from microproto import telnet


def main():
    port = int(sys.argv[1])
    opts = {}
    for a in sys.argv[2:]:
        k, v = a.split("=", 1)
        opts[k] = int(v)

    async def run():
        server = await telnet.serve("repl", "127.0.0.1", port, password=os.getenv("MP_TELNET_TEST_PW"), **opts)

        def stats():
            return "%d %d %d" % (server.sessions, sum([buffered(c) for c in server.connections]),
                                 server.gate.failures)

        telnet.STATS = stats
        await server.wait_closed()

    asyncio.run(run())


main()
