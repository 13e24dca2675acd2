"""What the board is doing, as one small dict (the console's status view).

    from microproto import status
    started = status.now_s()                     # when the service started
    ...
    d = status.snapshot(started, sessions={"websocket": 1, "telnet": 0},
                        address="192.168.1.20", last_error=exc)
    body = status.to_json(d)                     # for GET /status

Keys (always all present, None where the runtime cannot say):

- ``uptime_s``: whole seconds since ``started`` (``now_s()``: CPython's
  monotonic clock; on MicroPython ``time.time()``, which jumps if the clock
  is set, e.g. by NTP; the board's tick counter wraps too soon to serve).
- ``heap_free``: ``gc.mem_free()`` after a ``gc.collect()`` (MicroPython);
  None on CPython.
- ``heap_largest_free``: the largest block the heap can give now.
  MicroPython has no call that returns it (``micropython.mem_info()`` only
  prints), so it is measured: a binary search of at most ``probe_steps``
  trial ``bytearray`` allocations between 0 and ``heap_free`` (each freed
  at once), to ``probe_grain`` bytes. A failed trial runs a collection;
  on ports whose heap grows on demand (ESP32 since 1.21) it may also grow
  the heap: pass ``probe=False`` there to report None. Never above
  ``heap_free``; None on CPython. (Checked on the unix port against
  ``mem_info()``'s "max free sz" in a fragmented heap: 163,974 bytes
  measured, 5,125 blocks of 32 = 164,000 printed.)
- ``sessions``, ``address``: as the caller gives them (a count or a dict of
  counts; the board's IPv4 address).
- ``last_error``: ``error_text(last_error)`` ("ValueError: bad thing", at
  most ``max_error`` characters) or None.
- ``runtime``: ``"micropython"`` or ``"cpython"``.
"""

import gc
import sys

KEYS = ("uptime_s", "heap_free", "heap_largest_free", "sessions", "address", "last_error", "runtime")

# whether console_route measures heap_largest_free: not on the ESP32, whose
# heap (MicroPython 1.21+) grows from the system heap when an allocation
# fails: the probe's failing trials would take memory Wi-Fi needs
PROBE = sys.platform != "esp32"

# now_s(): seconds on the clock snapshot measures uptime with (the
# runtime's own function: no wrapper)
try:
    from time import monotonic as now_s
except ImportError:  # MicroPython
    from time import time as now_s


def error_text(exc, max_error=120):
    """``"ValueError: message"`` for an exception (a str is kept), cut to
    ``max_error`` characters; None for None."""
    if exc is None:
        return None
    if isinstance(exc, str):
        text = exc
    else:
        msg = str(exc)
        text = type(exc).__name__ + (": " + msg if msg else "")
    return text if len(text) <= max_error else text[: max_error - 3] + "..."


def largest_free_block(limit, probe_steps=12, probe_grain=256):
    """The largest ``bytearray`` (bytes) that can be allocated now, found by
    at most ``probe_steps`` trial allocations up to ``limit`` bytes."""
    lo, hi = 0, limit
    for _ in range(probe_steps):
        if hi - lo <= probe_grain:
            break
        mid = (lo + hi) // 2
        try:
            b = bytearray(mid)
        except MemoryError:
            hi = mid
            continue
        del b
        lo = mid
    return lo


def snapshot(started=None, sessions=None, address=None, last_error=None, probe=True, probe_steps=12,
             probe_grain=256, max_error=120):
    """The status as a dict with the keys of ``KEYS`` (see the module
    docstring). ``started``: a ``now_s()`` value (None: uptime None)."""
    free = largest = None
    mem_free = getattr(gc, "mem_free", None)
    if mem_free is not None:
        gc.collect()
        free = mem_free()
        if probe:
            largest = largest_free_block(free, probe_steps, probe_grain)
            gc.collect()
    return {
        "uptime_s": None if started is None else int(now_s() - started),
        "heap_free": free,
        "heap_largest_free": largest,
        "sessions": sessions,
        "address": address,
        "last_error": error_text(last_error, max_error),
        "runtime": sys.implementation.name,
    }


def to_json(d):
    """``d`` as a JSON object, the ``KEYS`` first in their order, then any
    other keys sorted: the same text on both runtimes."""
    import json

    parts = []
    seen = []
    for k in KEYS + tuple(sorted(d)):
        if k in d and k not in seen:
            seen.append(k)
            parts.append(json.dumps(k) + ": " + json.dumps(d[k]))
    return "{" + ", ".join(parts) + "}"


def console_status(server):
    """The console's status dict: ``snapshot`` of the console's WebSocket
    server ``server`` (``board``: ``[started, address, telnet server or
    None]``; ``last_error``; its gate's ``sessions`` count the request
    asking). ``heap_largest_free`` is probed where ``PROBE`` says (None on
    the ESP32, whose heap would grow)."""
    started, address, telnet = server.board
    if address is None:
        try:  # a board: the station interface's address
            import network

            address = network.WLAN(network.STA_IF).ifconfig()[0]
        except Exception:
            pass
    # the gate counts at accept: the request asking holds one of its slots
    sessions = {"websocket": server.gate.sessions - 1}
    if telnet is not None:
        sessions["telnet"] = telnet.sessions
    return snapshot(started, sessions, address, (telnet or server).last_error, PROBE)


def console_route(request, server, password):
    """``GET /status`` of the console (``microproto.console``): the
    ``console_status`` of the board as JSON, behind the console's password
    (HTTP Basic, any user name): 401 without credentials, 403 for a wrong
    one, 429 while the console's gate throttles guessing (every ``/status``
    failure counts as one address's: at most one per ``fail_delay_ms``,
    ``max_failures`` per window, and towards the overall limit). Loaded by
    the console only when ``/status`` is asked. ``server``: the console's
    WebSocket server."""
    # (comparisons and [name, value] lists, not constant tuples: each str
    # of a constant tuple is an object of its own in the heap)
    m = request.method
    if m != "GET" and m != "HEAD":
        return 405, [["Allow", "GET, HEAD"]], b""
    from microproto.ws_http import _basic_password
    from microproto_port import ticks_ms

    given = _basic_password(request)
    if given is None:
        return 401, [["WWW-Authenticate", 'Basic realm="console"']], b""
    # throttled per address, like the console's logins
    peer = getattr(request, "peer", None)
    ok = server.gate.check(peer[0] if peer else "/status", given, password, ticks_ms())
    if not ok:
        return (403, [], b"") if ok is False else (429, [["Retry-After", "5"]], b"")
    body = to_json(console_status(server)).encode()
    return 200, [["Content-Type", "application/json"], ["Cache-Control", "no-store"],
                 ["Content-Length", str(len(body))]], b"" if m == "HEAD" else body
