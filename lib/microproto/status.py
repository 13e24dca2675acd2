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

try:
    from time import monotonic as _clock
except ImportError:  # MicroPython
    from time import time as _clock


def now_s():
    """Seconds on the clock ``snapshot`` measures uptime with."""
    return _clock()


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

    keys = [k for k in KEYS if k in d] + sorted(k for k in d if k not in KEYS)
    return "{" + ", ".join(json.dumps(k) + ": " + json.dumps(d[k]) for k in keys) + "}"
