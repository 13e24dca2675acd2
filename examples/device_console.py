"""The device console: a browser terminal with a file pane (WebREPL's
protocol) and a Telnet REPL, both behind one password.

    mpremote run examples/device_console.py     # on a board (after tools/deploy.py)
    python3 examples/device_console.py          # on CPython (after pip install -e .)

Settings: CONSOLE_PORT (8266), TELNET_PORT (2323), CONSOLE_PASSWORD (a
fresh random one, printed, when not set) and EXAMPLE_HOST in the
git-ignored secrets.py (see examples/README.md). Ctrl-C stops it.
"""

import asyncio
import binascii

from microproto import console
from microproto_port import random_bytes

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
PORT = getattr(secrets, "CONSOLE_PORT", 8266)
TELNET_PORT = getattr(secrets, "TELNET_PORT", 2323)
PASSWORD = getattr(secrets, "CONSOLE_PASSWORD", None) or binascii.hexlify(random_bytes(6)).decode()
servers = []


async def main():
    servers.extend(await console.run(PASSWORD, HOST, PORT, telnet_port=TELNET_PORT, forever=False))
    print("device console: password", PASSWORD if not hasattr(secrets, "CONSOLE_PASSWORD") else "from secrets.py")
    print("next: open http://%s:%d/ or telnet %s %d   (Ctrl-C here stops)" % (ADDRESS, PORT, ADDRESS, TELNET_PORT))
    try:
        await servers[0].wait_closed()
    finally:  # CPython: Ctrl-C cancels main()
        for s in servers:
            s.close()
        del servers[:]


try:
    asyncio.run(main())
except KeyboardInterrupt:
    if servers:  # MicroPython: Ctrl-C left the loop as it was
        left = list(servers)
        for s in left:
            s.close()
        for s in left:
            asyncio.run(s.wait_closed())  # each server closes its socket
        asyncio.new_event_loop()  # and nothing of this run is left queued
print("device console: stopped")
