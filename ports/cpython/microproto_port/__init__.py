"""Platform shim for CPython: the same names as ports/micropython.

Clock: ``ticks_ms`` counts milliseconds modulo 2**30 like MicroPython's, so
that wrap-safe arithmetic (``ticks_diff``/``ticks_add``) is exercised on
both runtimes. Never compare ticks with ``<``: use ``ticks_diff``.
"""

import os
import time

RUNTIME = "cpython"

_PERIOD = 1 << 30
_MASK = _PERIOD - 1
_HALF = _PERIOD >> 1


def const(x):
    """Stand-in for ``micropython.const``."""
    return x


def ticks_ms():
    """Monotonic milliseconds, wrapping at 2**30."""
    return (time.monotonic_ns() // 1000000) & _MASK


def ticks_add(t, delta_ms):
    """``t`` moved by ``delta_ms`` (may be negative), wrapped."""
    return (t + delta_ms) & _MASK


def ticks_diff(a, b):
    """Signed ``a - b`` in ms, correct across one wrap of the counter."""
    return ((a - b + _HALF) & _MASK) - _HALF


def sleep_ms(ms):
    time.sleep(ms / 1000)


def random_bytes(n):
    """``n`` bytes from the OS's cryptographic source."""
    return os.urandom(n)


def start_thread(fn, args=()):
    """Run ``fn(*args)`` in a new thread (tests and blocking servers)."""
    import _thread

    _thread.start_new_thread(fn, args)
