"""The device console for the status tests; both runtimes:
    console_status_app.py PORT TELNET_PORT
``console.run`` with the Telnet REPL, as a board's main.py runs it, the
password in $CONSOLE_PASSWORD. One thing differs: a line ``boom`` typed at
the browser's REPL raises RuntimeError("boom") out of the session (what
``last_error`` must show); every other line goes to the real REPL.
"""

import asyncio
import os
import sys

import microproto_port.repl as repl
from microproto import console

Real = repl.Session


class Session(Real):
    async def apush(self, line):
        if line == "boom":
            raise RuntimeError("boom")
        return await Real.apush(self, line)


repl.Session = Session


def main():
    asyncio.run(console.run(os.getenv("CONSOLE_PASSWORD"), "127.0.0.1", int(sys.argv[1]),
                            telnet_port=int(sys.argv[2])))


main()
