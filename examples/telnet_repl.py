"""Telnet REPL: a Python prompt over the network, behind a password.

    mpremote run examples/telnet_repl.py     # on a board (after tools/deploy.py)
    python3 examples/telnet_repl.py          # on CPython (after pip install -e .)

Settings: TELNET_PORT (2323), TELNET_PASSWORD (a fresh random one, printed,
when not set) and EXAMPLE_HOST in the git-ignored secrets.py (see
examples/README.md). Ctrl-C stops it.
"""

import asyncio
import binascii

from microproto import telnet
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
PORT = getattr(secrets, "TELNET_PORT", 2323)
PASSWORD = getattr(secrets, "TELNET_PASSWORD", None) or binascii.hexlify(random_bytes(6)).decode()
server = None


async def main():
    global server
    server = await telnet.serve("repl", HOST, PORT, password=PASSWORD)
    print("telnet repl: password", PASSWORD if not hasattr(secrets, "TELNET_PASSWORD") else "from secrets.py")
    print("next: telnet %s %d   (log in, then try 6*7; Ctrl-D ends the session, Ctrl-C here stops)" % (ADDRESS, PORT))
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
print("telnet repl: stopped")
