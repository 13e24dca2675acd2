"""The device console: a browser terminal and a Telnet REPL, on any runtime.

    python -m microproto.console --password-env CONSOLE_PASSWORD
    tools/micropython -m microproto.console --password-env CONSOLE_PASSWORD

One WebSocket server (default port 8266, WebREPL's) serves the console page
(``console.html``: a terminal and a file upload/download pane) to a plain
GET and speaks MicroPython WebREPL's wire format to WebSocket clients
(``microproto.webrepl``): the password prompt, the terminal, "WA"/"WB" file
records. Each session gets its own REPL (``microproto_port.repl.Session``).
With ``--telnet-port`` a Telnet server (``microproto.telnet``, REPL shell,
same password) runs beside it in the same event loop.

Security (limits and defaults of every server: docs/limits.md): a password
is required (constant-time compare; a wrong one closes the session with
1008 at once and the address is refused for ``fail_delay_ms`` at its next
connection, and longer after ``max_failures``; see
``microproto.auth.Gate``); ``login_timeout_ms`` from the connection; only
pages whose Origin is this console's own (and clients sending no Origin)
may connect; the servers bind to loopback unless ``--host`` says
otherwise; ``--certfile/--keyfile`` give wss. File records have the REPL's
own access unless ``root`` confines them; uploads replace a file only once
complete. ``legacy_clients=True`` (``--legacy-webrepl``) also accepts what
existing WebREPL tools send and RFC 6455 forbids: unmasked client frames
and a Sec-WebSocket-Key that is not 16 bytes of base64. It is off by
default and applies to this console only.

Limits: ``max_line`` per typed line, ``max_file_size`` per upload (files
stream 1 KiB at a time), ``max_connections`` sessions; the WebSocket
limits of ``microproto.websocket.serve`` apply to each connection.
"""

# the WebSocket server every console runs, loaded with the console; the
# rest (sessions, routes, the Telnet REPL's start) loads when it starts:
# microproto.console_server (serve, run)
from microproto import websocket  # noqa: F401


def __getattr__(name):
    # what is loaded only when asked: ``main`` (the command line,
    # microproto.console_cli), ``PAGE`` (the page's path) and
    # ``page_handler`` (its route): microproto.console_page
    if name == "main":
        from microproto.console_cli import main

        return main
    if name == "PAGE" or name == "page_handler":
        from microproto import console_page

        return getattr(console_page, name)
    raise AttributeError(name)


def serve(*args, **kwargs):
    """``serve(host="127.0.0.1", port=8266, password=None,
    legacy_clients=False, fail_delay_ms=1000, max_line=512,
    max_file_size=16 MiB, login_timeout_ms=30000, root=None, address=None,
    **ws_options)``: start the console's WebSocket server (a coroutine);
    returns it (``close()``, ``wait_closed()``). ``ws_options`` go to
    ``microproto.websocket.serve`` (``origins`` defaults to ``"same"``:
    only this console's own page, and clients that send no Origin, may
    connect; ``fail_delay_ms``, ``max_failures``, ``max_failures_total``
    throttle password guessing). ``root``: the file records' policy (see
    ``microproto.webrepl``). ``GET /status``: the board's status as JSON
    behind the same password (``microproto.status``, loaded when asked);
    ``address``: the board's address it reports (None: ``host`` unless it
    is a wildcard, else the station interface's on a board). The sessions
    and routes are ``microproto.console_server``'s, loaded here."""
    from microproto.console_server import serve

    return serve(*args, **kwargs)


def run(*args, **kwargs):
    """``run(password, host="127.0.0.1", port=8266, telnet_port=None,
    certfile=None, keyfile=None, legacy_clients=False, forever=True,
    address=None)``: start the console (and the Telnet REPL when
    ``telnet_port`` is given) and, with ``forever``, serve until cancelled
    (a coroutine). This is what a board's ``main.py`` calls:
    ``asyncio.run(console.run(PASSWORD, "0.0.0.0", address=ip))`` with
    ``ip`` from ``board.network_up()`` (the address the status view
    reports; None: the station interface's, or ``host`` when that is not a
    wildcard). ``certfile``/``keyfile``: wss (and telnets)."""
    from microproto.console_server import run

    return run(*args, **kwargs)


if __name__ == "__main__":
    import sys

    # one copy of this module, whichever way it was started
    sys.modules["microproto.console"] = sys.modules["__main__"]
    # the command line entry point (``microproto-console``, ``main``) lives
    # in microproto.console_cli: a board importing the console does not load it
    from microproto.console_cli import main

    main()
