#!/usr/bin/env python3
"""Run the portable tests and the board's hardware tests on a board over serial.

    tools/hwtest.py [--board UNIX|ESP32_GENERIC|RPI_PICO_W] [--port PATH|auto|virtual]
                    [-k SUBSTRING] [--no-deploy] [--source] [--timeout-s 900]

Deploys the library, the MicroPython port, the board files, tests/unit/ and
the board's tests/hw/ files (listed in boards/BOARD/board.json) with
mpremote, then runs them on the board with tests/mprunner.py and reports
each test as PASS/FAIL, ending with the line ``N passed, M failed``. Exits
non-zero on any failure, on no test run, or if the board stops answering.

``--port virtual`` (the default) runs on a fresh virtual board (the unix
port behind a pty, tools/virtual_board.py) and stops it afterwards.
On a real board: ``tools/hwtest.py --board ESP32_GENERIC --port /dev/ttyUSB0``.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boardlib  # noqa: E402
import deploy  # noqa: E402


def run_tests(device, pattern=None, timeout_s=900):
    """Run mprunner on the board, echo its lines; return (passed, failed, ok)."""
    code = "import mprunner\nmprunner.main(['tests/unit', 'tests/hw'], %r)\n" % (pattern,)
    exe = shutil.which("mpremote")
    argv = ([exe] if exe else [sys.executable, "-m", "mpremote"]) + ["connect", device, "resume", "exec", code]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    passed = failed = 0
    summary = None
    deadline = time.monotonic() + timeout_s
    for line in proc.stdout:
        line = line.rstrip("\r\n")
        print(line, flush=True)
        if line.startswith("PASS "):
            passed += 1
        elif line.startswith("FAIL "):
            failed += 1
        elif line.endswith(" failed") and " passed, " in line:
            summary = line
        if time.monotonic() > deadline:
            proc.kill()
            print("hwtest: timed out after %ds" % timeout_s)
            break
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
    args = ap.parse_args(argv)

    started = False
    port = args.port
    if port == "virtual":
        import virtual_board

        port, started = virtual_board.ensure_running(fresh=True)
    try:
        if not args.no_deploy:
            deploy.deploy(args.board, port, args.source, tests=True)
        passed, failed, ok = run_tests(port, args.pattern, args.timeout_s)
    finally:
        if started:
            import virtual_board

            virtual_board.stop_background()
    if not ok and not failed:
        failed += 1  # the run itself failed: count it, never report green
    print("hwtest: %d passed, %d failed" % (passed, failed))
    sys.exit(0 if ok and failed == 0 and passed > 0 else 1)


if __name__ == "__main__":
    main()
