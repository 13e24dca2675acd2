"""Command line of the Telnet server: ``python -m microproto.telnet ...``
(see ``microproto.telnet``). Kept apart so that importing the server on a
board does not load the argument parser."""

import asyncio
import sys

from microproto.errors import UsageError
from microproto.telnet import _say, serve

_USAGE = """usage: python -m microproto.telnet [--host H] [--port P]
       [--password-env VAR | --no-password] [--shell repl|echo|native]
       [--max-sessions N] [--idle-timeout S] [--certfile F --keyfile F]"""


def _parse_args(argv):
    opts = {
        "host": "127.0.0.1",
        "port": 23,
        "password_env": None,
        "no_password": False,
        "shell": "repl",
        "max_sessions": 4,
        "idle_timeout": 600,
        "certfile": None,
        "keyfile": None,
    }
    flags = {"--no-password": "no_password"}
    ints = ("port", "max_sessions", "idle_timeout")
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            raise UsageError(_USAGE)
        if a in flags:
            opts[flags[a]] = True
            i += 1
            continue
        key = a[2:].replace("-", "_") if a.startswith("--") else None
        if key not in opts or i + 1 >= len(argv):
            raise UsageError("bad argument %s\n%s" % (a, _USAGE))
        v = argv[i + 1]
        if key in ints:
            try:
                v = int(v)
            except ValueError:
                raise UsageError("%s needs a number" % a)
        if key == "shell" and v not in ("repl", "echo", "native"):
            raise UsageError("--shell is repl, echo or native")
        opts[key] = v
        i += 2
    return opts


async def _amain(opts, password):
    server = await serve(
        opts["shell"],
        opts["host"],
        opts["port"],
        password=password,
        max_sessions=opts["max_sessions"],
        idle_timeout_s=opts["idle_timeout"],
        certfile=opts["certfile"],
        keyfile=opts["keyfile"],
    )
    await server.wait_closed()


def main(argv=None):
    """Command line entry point (``microproto-telnet``)."""
    import os

    if argv is None:
        argv = sys.argv[1:]
    try:
        opts = _parse_args(argv)
        if opts["password_env"]:
            password = os.getenv(opts["password_env"])
            if not password:
                raise UsageError("environment variable %s is empty or unset" % opts["password_env"])
        elif opts["no_password"]:
            password = None
        else:
            raise UsageError("a password is required: --password-env VAR (or --no-password)")
    except UsageError as e:
        _say(str(e))
        sys.exit(2)
    try:
        asyncio.run(_amain(opts, password))
    except KeyboardInterrupt:
        pass

