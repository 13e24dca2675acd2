#!/usr/bin/env python3
"""Run the portable tests and the board's hardware tests on a board over serial.

    tools/hwtest.py [--board UNIX|ESP32_GENERIC|RPI_PICO_W] [--port PATH|auto|virtual]
                    [-k SUBSTRING] [--no-deploy] [--source] [--timeout-s 900]
                    [--state-dir DIR] [--heapsize 154K]

Deploys the library, the MicroPython port, the board files, tests/unit/ and
the board's tests/hw/ files (listed in boards/BOARD/board.json) with
mpremote, then runs them on the board with tests/mprunner.py and reports
each test as PASS/FAIL, ending with the line ``N passed, M failed``. Exits
non-zero on any failure, on no test run, or if the board stops answering.

``--port virtual`` (the default) runs on a fresh virtual board (the unix
port behind a pty, tools/virtual_board.py) and stops it afterwards. With
``--board ESP32_GENERIC`` (or RPI_PICO_W) the virtual board gets that
board's heap (its ``heap_usable`` x 1.4: 154K, 252K; the UNIX board keeps
its 2M) and the UNIX board's files (the host's network, x64 code).
``--state-dir DIR`` runs a virtual board of your own in DIR instead of the
shared background one. On boards other than UNIX each test module runs in
its own boot (a soft reset between modules): the names a module interns
stay in the heap until a reset, and the whole suite's do not fit a board;
with ``-k`` only the modules with a matching test name boot (found in the
sources here: ``-k test_smtp_client`` takes a minute, not the whole suite's
seven).

Before the tests run, ``budget.set_heap()`` (tests/unit/budget.py) gets the
heap the tests may plan for: the virtual board's heap, or the real board's
``heap_usable``; tests that build large messages size themselves from it.
On a real board: ``tools/hwtest.py --board ESP32_GENERIC --port /dev/ttyUSB0``.
"""

import argparse
import os
import queue
import re
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boardlib  # noqa: E402
import deploy  # noqa: E402


RUN = """import sys
sys.path.insert(0, 'tests/unit')
if %(heap)r:
    import budget
    budget.set_heap(%(heap)r)
import mprunner
mprunner.main(['tests/unit', 'tests/hw'], %(pattern)r, %(only)r)
"""


def _mpremote():
    exe = shutil.which("mpremote")
    return [exe] if exe else [sys.executable, "-m", "mpremote"]


def soft_reset(device):
    """Reboot the board (the virtual board's relay starts a new unix port)
    so the next module starts with an empty heap and qstr pool."""
    subprocess.run(_mpremote() + ["connect", device, "soft-reset"], capture_output=True, timeout=30)
    time.sleep(0.3)


def test_modules(board_name, board, pattern=None):
    """Names of the test modules deployed with ``--tests``, in run order
    (``pattern``: only those with a test whose 'module.test' name contains
    it, read from the sources here: a module booted for nothing costs a
    soft reset and an import on the board)."""
    names = []
    for bdir, files in boardlib.plan(board_name, board, tests=True):
        if bdir in ("tests/unit", "tests/hw"):
            names += sorted(os.path.basename(f)[:-3] for f in files
                            if os.path.basename(f).startswith("test_") and f.endswith(".py")
                            and (not pattern or _may_match(f, pattern)))
    return names


def _may_match(path, pattern):
    # the runner calls the module's test_* attributes: every test_ name on a
    # top-level line of its source (def, assignment, import) is a candidate
    name = os.path.basename(path)[:-3]
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return True
    return any(pattern in "%s.%s" % (name, t) for ln in lines if ln[:1] not in (" ", "\t", "#")
               for t in re.findall(r"\btest_\w+", ln))


def run_tests(device, pattern=None, timeout_s=900, heap=None, only=None):
    """Run mprunner on the board, echo its lines; return (passed, failed, ok).
    ``heap``: bytes the tests may plan for (tests/unit/budget.py);
    ``only``: these test modules."""
    code = RUN % {"heap": heap, "pattern": pattern, "only": only}
    argv = _mpremote() + ["connect", device, "resume", "exec", code]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = queue.Queue()

    def pump():
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    passed = failed = 0
    summary = None
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            # a board that stops answering (or restarts) sends nothing: the
            # deadline still holds
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            line = ""
        if line is None:
            break
        if time.monotonic() > deadline:
            proc.kill()
            print("hwtest: timed out after %ds" % timeout_s)
            break
        line = line.rstrip("\r\n")
        if not line:
            continue
        print(line, flush=True)
        if line.startswith("PASS "):
            passed += 1
        elif line.startswith("FAIL "):
            failed += 1
        elif line.endswith(" failed") and " passed, " in line:
            summary = line
    rc = proc.wait()
    ok = rc == 0 and summary == "%d passed, %d failed" % (passed, failed)
    if not ok:
        print("hwtest: the board's run did not finish cleanly (mpremote exit %s, summary %r)" % (rc, summary))
    return passed, failed, ok


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--board", default="UNIX")
    ap.add_argument("--port", default="virtual", help="serial device path, 'auto' or 'virtual' (default)")
    ap.add_argument("-k", dest="pattern", help="run only tests whose 'module.test' name contains this")
    ap.add_argument("--no-deploy", action="store_true", help="run what is already on the board")
    ap.add_argument("--source", action="store_true", help="deploy .py instead of .mpy")
    ap.add_argument("--timeout-s", type=float, default=900)
    ap.add_argument("--state-dir", help="--port virtual: run a virtual board of your own in this folder")
    ap.add_argument("--heapsize", help="--port virtual: this heap instead of the board's (e.g. 154K)")
    ap.add_argument("--per-module", action="store_true",
                    help="one test module per boot (soft reset between; the default on boards other than UNIX)")
    args = ap.parse_args(argv)
    import virtual_board

    cfg = boardlib.board_config(args.board)
    started = False
    port = args.port
    files_board = args.board
    heap = cfg.get("heap_usable")
    if port == "virtual":
        heapsize = args.heapsize or virtual_board.board_heapsize(args.board)
        heap = virtual_board.heap_bytes(heapsize)
        files_board = "UNIX"  # the unix port: the host's network, x64 native code
        port, started = virtual_board.ensure_running(fresh=True, heapsize=heapsize, state_dir=args.state_dir)
        print("hwtest: virtual board as %s: -X heapsize=%s" % (args.board, heapsize), flush=True)
    try:
        if not args.no_deploy:
            deploy.deploy(files_board, port, args.source, tests=True)
        if args.board == "UNIX" and not args.per_module:
            passed, failed, ok = run_tests(port, args.pattern, args.timeout_s, heap)
        else:
            # a board's heap cannot hold every module's names at once (the
            # qstr pool is never freed): one test module per boot
            passed = failed = 0
            ok = True
            deadline = time.monotonic() + args.timeout_s
            for name in test_modules(files_board, boardlib.board_config(files_board), args.pattern):
                left = deadline - time.monotonic()
                if left <= 0:
                    print("hwtest: timed out after %ds" % args.timeout_s)
                    ok = False
                    break
                p, f, good = run_tests(port, args.pattern, left, heap, [name])
                passed += p
                failed += f
                ok = ok and good
                soft_reset(port)
            print("%d passed, %d failed" % (passed, failed))
    finally:
        if started:
            virtual_board.stop_background(args.state_dir)
    if not ok and not failed:
        failed += 1  # the run itself failed: count it, never report green
    print("hwtest: %d passed, %d failed" % (passed, failed))
    sys.exit(0 if ok and failed == 0 and passed > 0 else 1)


if __name__ == "__main__":
    main()
