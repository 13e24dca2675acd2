"""Platform shim for MicroPython (unix port and boards): the same names as
ports/cpython. Wrap-safe tick arithmetic comes from the ``time`` module."""

import os
import time

from micropython import const

RUNTIME = "micropython"

ticks_ms = time.ticks_ms
ticks_add = time.ticks_add
ticks_diff = time.ticks_diff
sleep_ms = time.sleep_ms
# random_bytes(n): n bytes from the board's hardware/OS random source (None
# on a port without os.urandom: importing still works, only its users fail)
random_bytes = getattr(os, "urandom", None)


def start_thread(fn, args=()):
    """Run ``fn(*args)`` in a new thread (tests and blocking servers)."""
    import _thread

    _thread.start_new_thread(fn, args)
