"""How much heap a portable test may plan for, so that tests building large
messages size themselves to the board they run on.

    import budget
    if budget.fits(130 * 1024, copies=3):   # room for three 130 KiB buffers?
        ...the 64-bit length test...
    n = budget.size(80 * 1024, copies=4)    # 80 KiB, or less to fit this heap

Where the figure comes from, first found wins:

1. ``budget.set_heap(n)``: tools/hwtest.py calls it before the tests run,
   with the board's usable heap (boards/BOARD/board.json ``heap_usable``,
   on a real board) or the heap it gave the virtual board
   (``--board ESP32_GENERIC``: 154K on the 64-bit unix port).
2. The environment variable ``MICROPROTO_HEAP`` (bytes, or with K/M), so
   that ``MICROPROTO_HEAP=154K python3 -m pytest tests/unit`` or the unix
   port runner tries the board-sized variants.
3. MicroPython: the heap it has (``gc.mem_free() + gc.mem_alloc()``).
4. CPython: no limit worth planning for (``heap()`` is None; ``fits`` is
   always True, ``size`` returns what was asked).

A heap's free bytes are not one block: a test that has run a while (or the
module before it) leaves the heap fragmented, and a 154K heap with 46 KB
free failed to allocate 8 KB (hwtest ESP32_GENERIC). So ``fits`` and ``size``
also try the allocations they promise wherever there is a figure (on
CPython only with ``MICROPROTO_HEAP``): ``copies`` blocks at once, after a
collection, with ``RESERVE`` still free beside them; ``size`` takes the
largest size that allocates. The probe is bounded by the figure, so it never
grows a heap that grows on demand (an ESP32's, the WebAssembly port's) past
it.
"""

import gc

_heap = [None]
RESERVE = 16 * 1024  # left for the test's own objects, the runner and the library


def _bytes(text):
    text = text.strip().upper()
    mult = 1
    if text.endswith("K"):
        mult, text = 1024, text[:-1]
    elif text.endswith("M"):
        mult, text = 1024 * 1024, text[:-1]
    return int(text) * mult


def set_heap(n):
    """Plan for ``n`` bytes of heap (tools/hwtest.py calls this)."""
    _heap[0] = n


def _explicit():
    if _heap[0] is not None:
        return _heap[0]
    try:
        import os

        env = os.getenv("MICROPROTO_HEAP")
    except (ImportError, AttributeError):
        env = None
    return _bytes(env) if env else None


def heap():
    """The heap tests may plan for, in bytes, or None (no limit)."""
    n = _explicit()
    if n is None and hasattr(gc, "mem_free"):
        n = gc.mem_free() + gc.mem_alloc()
    return n


def room():
    """Bytes a test can still allocate now (after a collection), or None."""
    gc.collect()
    used = gc.mem_alloc() if hasattr(gc, "mem_alloc") else 0
    n = _explicit()
    if n is not None:
        # a board's heap may grow on demand (ESP32): plan by its figure
        return n - used
    if hasattr(gc, "mem_free"):
        return gc.mem_free()
    return None


def _allocates(nbytes, copies):
    # try it: ``copies`` blocks of ``nbytes`` at once, RESERVE free beside
    # them (in any blocks: what is left for the test's small objects)
    gc.collect()
    held = []
    try:
        for _ in range(copies):
            held.append(bytearray(nbytes))
        ok = not hasattr(gc, "mem_free") or gc.mem_free() >= RESERVE
    except MemoryError:
        ok = False
    held = None
    gc.collect()
    return ok


def fits(nbytes, copies=1):
    """True if ``copies`` buffers of ``nbytes`` fit in the heap, each in one
    block, with ``RESERVE`` to spare."""
    r = room()
    return r is None or (copies * nbytes + RESERVE <= r and _allocates(nbytes, copies))


def size(wanted, copies=1, minimum=1024):
    """``wanted`` bytes, or the largest size (not below ``minimum``) of which
    ``copies`` fit in the heap, each in one block, with ``RESERVE`` to
    spare."""
    r = room()
    if r is None:
        return wanted
    hi = min(wanted, (r - RESERVE) // copies)
    if hi <= minimum:
        return minimum
    if _allocates(hi, copies):
        return hi
    # the largest that allocates, to 1/32 of the figure's size (a dozen tries)
    lo, step = minimum, max(64, hi // 32)
    while hi - lo > step:
        mid = (lo + hi) // 2
        if _allocates(mid, copies):
            lo = mid
        else:
            hi = mid
    return lo


def allocated(run, n):
    """Bytes the heap grew by while ``run(n)`` ran with the collector off,
    after ``run(5)`` warmed up the buffers (MicroPython; None on CPython,
    which cannot count them)."""
    if not hasattr(gc, "mem_alloc"):
        run(n)
        return None
    run(5)
    gc.collect()
    gc.disable()
    try:
        a0 = gc.mem_alloc()
        run(n)
        a1 = gc.mem_alloc()
    finally:
        gc.enable()
    return a1 - a0
