"""Client side of test_aio_deadlines.py (both runtimes): send a large mail
with microproto.smtp's AsyncSMTP to a server that stops reading, and print
how long ``send`` took and how it ended:
    aio_deadline_client.py PORT TIMEOUT_MS MESSAGE_FILE"""

import asyncio
import sys

from microproto.smtp import AsyncSMTP
from microproto_port import ticks_diff, ticks_ms


async def main(port, timeout_ms, path):
    body = open(path, "rb")
    c = AsyncSMTP("127.0.0.1", port, tls=None, timeout_ms=timeout_ms)
    await c.connect()
    t0 = ticks_ms()
    try:
        await c.send("a@example.com", ["b@example.com"], body)
        end = "sent"
    except Exception as e:
        end = type(e).__name__
    print("RESULT %d %s" % (ticks_diff(ticks_ms(), t0), end))
    await c.close()


asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
