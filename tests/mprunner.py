"""The portable test runner: runs tests/unit (and tests/hw) on MicroPython.

Each ``test_*.py`` module is imported and each ``test_*`` function in it is
called with no arguments. A line ``PASS mod.test`` or ``FAIL mod.test: err``
is printed per test, then the closing line ``N passed, M failed``.

    micropython tests/mprunner.py DIR [DIR ...] [-k SUBSTRING]
    (on a board) import mprunner; mprunner.main(["/tests/unit"])
"""

import gc
import os
import sys


def _print_exc(e):
    if hasattr(sys, "print_exception"):
        sys.print_exception(e)
    else:
        import traceback

        traceback.print_exception(type(e), e, e.__traceback__)


def _modules(d):
    names = []
    for fn in os.listdir(d):
        if fn.startswith("test_"):
            if fn.endswith(".py"):
                names.append(fn[:-3])
            elif fn.endswith(".mpy"):
                names.append(fn[:-4])
    names.sort()
    return names


def _release(before):
    for k in list(sys.modules):
        if k not in before:
            del sys.modules[k]
            # a package imported earlier (deploy checks ``import microproto``)
            # keeps its submodules as attributes: drop them too, or the next
            # ``from microproto import x`` gets the old module and its classes
            pkg, _, sub = k.rpartition(".")
            if pkg in sys.modules:
                try:
                    delattr(sys.modules[pkg], sub)
                except (AttributeError, TypeError):
                    pass
    gc.collect()


def main(dirs, pattern=None, only=None):
    """Run the tests of ``dirs`` (``only``: these module names, for one
    module per boot on a small board); return ``(passed, failed)``."""
    passed = 0
    failed = 0
    for d in dirs:
        if d not in sys.path:
            sys.path.insert(0, d)
        for name in _modules(d):
            if only is not None and name not in only:
                continue
            # what a test module imports is released after it (a board's
            # heap holds one protocol at a time, not the whole library)
            before = set(sys.modules)
            try:
                mod = __import__(name)
            except Exception as e:
                print("FAIL %s (import): %r" % (name, e))
                _print_exc(e)
                failed += 1
                _release(before)
                continue
            tests = [n for n in dir(mod) if n.startswith("test_")]
            tests.sort()
            for t in tests:
                full = "%s.%s" % (name, t)
                if pattern and pattern not in full:
                    continue
                f = getattr(mod, t)
                try:
                    f()
                    passed += 1
                    print("PASS " + full)
                except Exception as e:
                    failed += 1
                    print("FAIL %s: %r" % (full, e))
                    _print_exc(e)
                gc.collect()
            mod = f = None
            _release(before)
    print("%d passed, %d failed" % (passed, failed))
    return passed, failed


if __name__ == "__main__":
    args = sys.argv[1:]
    pat = None
    if "-k" in args:
        i = args.index("-k")
        pat = args[i + 1]
        args = args[:i] + args[i + 2 :]
    ok, bad = main(args or ["tests/unit"], pat)
    sys.exit(1 if bad or not ok else 0)
