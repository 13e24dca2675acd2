"""Command line of the device console: ``python -m microproto.console ...``
(see ``microproto.console``). Kept apart so that importing the console on a
board does not load the option table and the parser."""

import asyncio
import sys

from microproto import cli
from microproto.console import run

SPEC = (
    ("--host", "host", str, "127.0.0.1", "address to bind"),
    ("--port", "port", int, 8266, "WebSocket/HTTP port"),
    ("--password-env", "password_env", str, "CONSOLE_PASSWORD", "environment variable holding the password"),
    ("--telnet-port", "telnet_port", int, None, "also run a Telnet REPL on this port"),
    ("--certfile", "certfile", str, None, "TLS certificate (PEM): wss, and telnets"),
    ("--keyfile", "keyfile", str, None, "TLS private key (PEM)"),
    ("--legacy-webrepl", "legacy", bool, False,
     "accept unmasked frames and non-standard keys from old WebREPL tools (not RFC 6455)"),
)


def main(argv=None):
    o = cli.parse(sys.argv[1:] if argv is None else argv, SPEC, "python -m microproto.console [options]",
                  "The device console: a browser terminal (WebREPL protocol, with file transfer)\n"
                  "and optionally a Telnet REPL, both behind the password in $CONSOLE_PASSWORD.")
    import os

    password = os.getenv(o["password_env"])
    if not password:
        print("console: set the password in $%s" % o["password_env"])
        sys.exit(2)
    try:
        asyncio.run(run(password, o["host"], o["port"], o["telnet_port"], o["certfile"], o["keyfile"],
                        o["legacy"]))
    except KeyboardInterrupt:
        pass

