"""Telnet server (RFC 854/855) with a network REPL or a command shell.

    import asyncio
    from microproto import telnet

    async def main():
        server = await telnet.serve("repl", "127.0.0.1", 2323, password="s3cret")
        await server.wait_closed()

    asyncio.run(main())

``serve(shell, host="127.0.0.1", port=23, password=..., ...)`` (a password,
or None on purpose: leaving it out is an error)
starts listening (asyncio, both runtimes), prints ``telnet server
listening on HOST:PORT`` and returns a ``Server`` (``close()``,
``await wait_closed()``, ``sessions``: how many are open).

``shell`` is ``"repl"`` (a Python REPL per session: our own loop, see
``microproto_port.repl``), ``"native"`` (the runtime's own REPL through
``os.dupterm``, boards only, one session at a time; these two are
``microproto.telnet_shells.ReplShell`` and
``microproto.telnet_native.NativeReplShell``, loaded when used), ``"echo"`` (a demo
shell), a ``microproto.shell.Shell`` (commands by name), any object
with ``open(term)`` returning a session object like
``shell.ShellSession``, or a plain function ``fn(session, line)``.

Security and limits (named parameters, safe defaults; all servers'
limits in docs/limits.md). Sessions run on the shared driver
(``microproto.aio``) behind ``microproto.auth.Gate``; their code
(``microproto.telnet_session``, with the protocol modules below) is loaded
with the first connection:
- ``password``: required; ``password=None`` runs without one, on purpose,
  and prints a warning. Compared in constant time (SHA-256 digests
  compared with XOR). One attempt per connection: a wrong password ends
  the session, and the address is refused at accept for
  ``fail_delay_ms``, and for the rest of ``failure_window_ms`` after
  ``max_failures`` failures; past ``max_failures_total`` failures from all
  addresses in that window no password is compared (spraying).
- ``login_timeout_s``: from the connection, not extended by anything the
  client sends.
- ``host`` defaults to loopback: give ``"0.0.0.0"`` to listen on the network.
- TLS (telnets): ``certfile`` + ``keyfile``, or an ``ssl`` context.
- ``idle_timeout_s``: a session with no input for that long is closed
  (not while a command runs).
- ``write_timeout_ms``: a client that does not take what we send for that
  long is cut (its buffers freed).
- ``max_sessions``: counted at accept, before anything is read; more
  connections get a polite refusal and are closed; so do new ones while
  less than ``min_free_heap`` bytes, or an eighth of the heap, plus 1 KiB
  per open session (for sessions that end together), are free
  (MicroPython; ``gc.mem_free``).
- ``max_line`` bytes per input line, ``max_sb`` bytes per subnegotiation,
  ``max_negotiations`` option commands per session, ``read_size`` bytes
  per read, ``max_queued_lines`` lines typed ahead of a running command.
- After a protocol error, input is read and dropped for 2 s at most in all
  (so that the error message is not lost to a reset), then the session ends.

Protocol: ``microproto.telnet_nvt`` (IAC, RFC 1143 negotiation: ECHO and
SGA for character mode, NAWS, TERMINAL-TYPE, BINARY when asked, the rest
refused; AYT, IP/BRK; GA never sent) and ``microproto.linedisc`` (line
ends, editing, Ctrl-C/Ctrl-D).

CLI: ``python -m microproto.telnet --host H --port P [--password-env VAR
| --no-password] [--shell repl|echo|native] [--max-sessions N]
[--idle-timeout S] [--certfile F --keyfile F]`` (also through
``tools/micropython -m microproto.telnet``).
"""

import asyncio
import gc
import sys

from microproto.aio import Clock
from microproto.aio import serve as listen
from microproto.auth import Gate, password_equal
from microproto.errors import UsageError

# Constant-time equality of two passwords (str or bytes, any lengths): SHA-256
# both, compare without an early exit.
consteq = password_equal


class Server(Clock, Gate):
    """A running Telnet server (returned by ``serve``): ``sessions`` open,
    ``gate`` (``microproto.auth.Gate``: the server is its own gate, so
    ``sessions`` is the gate's count), ``last_error`` (the last exception
    a session's command raised, or None). It is its sessions' clock
    (``microproto.aio.Clock``: one task ends idle sessions and logins that
    take too long)."""

    last_error = None
    _server = None
    rbuf = None  # the buffer the sessions read into (MicroPython; made with the first)
    # (made by serve: Gate's constructor, then serve sets the rest)

    def close(self):
        """Stop listening and end every session."""
        if self._server is not None:
            self._server.close()
        for c in self.connections:
            c._end()

    async def wait_closed(self):
        """Wait until ``close()`` has taken effect (forever if never called):
        the listener is closed and the sessions have ended (5 s at most)."""
        await self._server.wait_closed()
        for _ in range(500):
            if not self.connections:
                break
            await asyncio.sleep(0.01)


async def serve(
    shell="repl",
    host="127.0.0.1",
    port=23,
    password=...,
    max_sessions=4,
    idle_timeout_s=600,
    ssl=None,
    certfile=None,
    keyfile=None,
    max_line=512,
    max_sb=64,
    max_negotiations=256,
    login_timeout_s=60,
    fail_delay_ms=1000,
    max_failures=5,
    max_failures_total=20,
    failure_window_ms=60000,
    write_timeout_ms=10000,
    max_queued_lines=16,
    read_size=512,
    min_free_heap=24576,
    verbose=True,
):
    """Start a Telnet server; returns a ``Server`` (see the module docstring)."""
    if password is not None and password is not ...:
        if isinstance(password, str):
            password = password.encode()
        if not password:
            password = ...  # empty: as if left out
    if password is ...:
        raise UsageError("a password is required (pass password=None on purpose to run without one)")
    sh = shell
    if sh == "repl" or sh == "native":
        from microproto.telnet_shells import shell_for

        sh = shell_for(sh)
    elif not hasattr(sh, "open"):
        from microproto.shell import shell_for  # "echo", a function

        sh = shell_for(sh)
    # the server is its own gate (sessions counted at accept) and its
    # sessions' clock; what the sessions read of it is set here
    server = Server(max_sessions, fail_delay_ms, max_failures, max_failures_total, failure_window_ms)
    server.gate = server
    server.connections = []
    server.shell = sh
    server.host = host
    server.port = port
    server.password = password
    server.idle_timeout_s = idle_timeout_s
    server.login_timeout_s = login_timeout_s
    server.write_timeout_ms = write_timeout_ms
    server.read_size = read_size
    server.max_line = max_line
    server.max_sb = max_sb
    server.max_negotiations = max_negotiations
    server.max_queued_lines = max_queued_lines
    server.min_free_heap = min_free_heap
    if ssl is None and certfile is not None:
        from microproto_port import tls

        ssl = tls.server_context(certfile, keyfile or certfile)
    def on_session(reader, writer, peer):
        # what a session needs is loaded with the first one (a plain
        # function: the session's coroutine is the only frame it holds).
        # MicroPython: a collection first, so that the session (and the
        # first time its modules) fills the holes garbage left instead of
        # fresh space above them: the console's smallest heap with the
        # guard off fell from 126 to 108 KiB with this and the REPL's
        # collection (telnet_shells, console_server); what fails in a
        # fragmented heap is the 1 KiB block compiling a line needs
        if hasattr(gc, "mem_free"):
            gc.collect()
        from microproto.telnet_session import run

        return run(server, reader, writer, peer)

    def refuse(reason):
        # the refusal's text is the sessions' module's: a server refuses
        # only once it has had sessions (busy, or an address that failed)
        from microproto.telnet_session import refuse

        return refuse(server, reason)

    server._server = await listen(on_session, host, port, server, ssl, 5, refuse)
    if password is None:
        print("WARNING: telnet server without a password: anyone who can reach %s:%d gets a shell" % (host, port))
    if verbose:
        print("telnet%s server listening on %s:%d" % ("s" if ssl else "", host, port))
    try:
        sys.stdout.flush()
    except (AttributeError, OSError):
        pass
    return server


def main(argv=None):
    """Command line entry point (``microproto-telnet``; the parser lives in
    ``microproto.telnet_cli`` so that a board importing the server does not
    load it)."""
    from microproto.telnet_cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    # one copy of this module, whichever way it was started
    sys.modules["microproto.telnet"] = sys.modules["__main__"]
    main()
