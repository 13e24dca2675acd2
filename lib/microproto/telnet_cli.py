"""Command line of the Telnet server: ``python -m microproto.telnet ...``
(see ``microproto.telnet``). Kept apart so that importing the server on a
board does not load the argument parser. Options are parsed by the shared
``microproto.cli`` (``-h`` lists them; a bad one exits 2)."""

import asyncio
import sys

from microproto import cli
from microproto.telnet import serve

USAGE = "python -m microproto.telnet [options]"
SPEC = (
    ("--host", "host", str, "127.0.0.1", "address to bind (0.0.0.0: every interface)"),
    ("--port", "port", int, 23, "TCP port"),
    ("--password-env", "password_env", str, None, "environment variable holding the password"),
    ("--no-password", "no_password", bool, False, "run without a password, on purpose (a warning is printed)"),
    ("--shell", "shell", str, "repl", "repl (a Python REPL per session), echo (demo shell), native (os.dupterm)"),
    ("--max-sessions", "max_sessions", int, 4, "sessions at once; more are refused politely"),
    ("--idle-timeout", "idle_timeout", int, 600, "seconds without input before a session is closed"),
    ("--login-timeout", "login_timeout", int, 60, "seconds from connecting to a correct password"),
    ("--fail-delay-ms", "fail_delay_ms", int, 1000, "an address that gave a wrong password waits this long"),
    ("--max-failures", "max_failures", int, 5, "wrong passwords per address in 60 s before it is refused"),
    ("--write-timeout-ms", "write_timeout_ms", int, 10000, "a client that takes nothing for this long is cut"),
    ("--certfile", "certfile", str, None, "TLS certificate (PEM): telnets"),
    ("--keyfile", "keyfile", str, None, "TLS private key (PEM)"),
)
_SHELLS = ("repl", "echo", "native")


def check(opts):
    """The password to use (None for ``--no-password``) from parsed options,
    or an error message (str in a 1-tuple) saying what is wrong."""
    import os

    if opts["_args"]:
        return ("unexpected argument %s" % opts["_args"][0],)
    if opts["shell"] not in _SHELLS:
        return ("--shell is one of %s" % ", ".join(_SHELLS),)
    if opts["password_env"]:
        password = os.getenv(opts["password_env"])
        if not password:
            return ("environment variable %s is empty or unset" % opts["password_env"],)
        return password
    if opts["no_password"]:
        return None
    return ("a password is required: --password-env VAR (or --no-password)",)


async def _amain(opts, password):
    server = await serve(
        opts["shell"],
        opts["host"],
        opts["port"],
        password=password,
        max_sessions=opts["max_sessions"],
        idle_timeout_s=opts["idle_timeout"],
        login_timeout_s=opts["login_timeout"],
        fail_delay_ms=opts["fail_delay_ms"],
        max_failures=opts["max_failures"],
        write_timeout_ms=opts["write_timeout_ms"],
        certfile=opts["certfile"],
        keyfile=opts["keyfile"],
    )
    await server.wait_closed()


def main(argv=None):
    """Command line entry point (``microproto-telnet``)."""
    opts = cli.parse(
        sys.argv[1:] if argv is None else argv,
        SPEC,
        USAGE,
        "Telnet server with a network REPL or a command shell.",
    )
    password = check(opts)
    if isinstance(password, tuple):
        print("error: %s\nusage: %s" % (password[0], USAGE))
        sys.exit(2)
    try:
        asyncio.run(_amain(opts, password))
    except KeyboardInterrupt:
        pass
