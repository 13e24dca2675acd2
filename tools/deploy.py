#!/usr/bin/env python3
"""Deploy microproto to a board over serial with mpremote.

    tools/deploy.py [--board UNIX|ESP32_GENERIC|RPI_PICO_W] [--port PATH|auto|virtual]
                    [--source] [--tests] [--dry-run]

Copies the library (lib/microproto -> :lib/microproto), the MicroPython port
(ports/micropython/microproto_port -> :lib/microproto_port) and the board's
files (boards/BOARD/board.py, and secrets.py if you wrote one) to the board,
compiled to .mpy with mpy-cross (``-march`` from the board's board.json) unless
``--source``. Old copies of those folders are removed first, so a stale .py
never shadows a new .mpy. ``--tests`` also copies the portable tests and the
board's hardware tests (tools/hwtest.py does this itself).

``--port virtual`` starts (or reuses) the virtual board in the background
and prints its device path (with ``--board ESP32_GENERIC`` or RPI_PICO_W it
gets that board's heap, and the UNIX board's files: the unix port runs
x64 code on the host's network); ``--port auto`` picks the one serial port that
matches the board's USB ids. ``--dry-run`` lists what would go where.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boardlib  # noqa: E402


def deploy(board_name="UNIX", port="virtual", source=False, tests=False, dry_run=False, progress=print):
    heapsize = None
    if port == "virtual" and board_name != "UNIX":
        import virtual_board

        heapsize = virtual_board.board_heapsize(board_name)
        progress("virtual board as %s: -X heapsize=%s, the UNIX board's files" % (board_name, heapsize))
        board_name = "UNIX"
    board = boardlib.board_config(board_name)
    groups = boardlib.plan(board_name, board, tests)
    if dry_run:
        for bdir, files in groups:
            for src in files:
                name = os.path.basename(src)
                if not source and name.endswith(".py") and name not in boardlib.COMPILE_EXEMPT:
                    name = name[:-3] + ".mpy"
                progress("%s -> :%s" % (os.path.relpath(src, boardlib.ROOT), bdir + "/" + name if bdir else name))
        return None
    built = boardlib.build(groups, source, board.get("mpy_arch"))
    device, _ = boardlib.resolve_port(port, board, heapsize)
    progress("deploying to %s (board %s, %s)" % (device, board_name, "source" if source else ".mpy"))
    clean = ["lib/microproto", "lib/microproto_port"] + (["tests", "mprunner.py", "mprunner.mpy"] if tests else [])
    boardlib.install(device, built, clean, progress)
    out = boardlib.mpremote(device, "exec", "import microproto; print('microproto', microproto.__version__)", capture=True)
    progress(out.strip())
    return device


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 2)[2],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--board", default="UNIX", help="board folder under boards/ (default UNIX)")
    ap.add_argument("--port", default="virtual", help="serial device path, 'auto' or 'virtual' (default)")
    ap.add_argument("--source", action="store_true", help="copy .py sources instead of compiled .mpy")
    ap.add_argument("--tests", action="store_true", help="also copy the portable and hardware tests")
    ap.add_argument("--dry-run", action="store_true", help="list what would be copied where, copy nothing")
    args = ap.parse_args(argv)
    device = deploy(args.board, args.port, args.source, args.tests, args.dry_run)
    if device:
        print("DEVICE %s" % device)


if __name__ == "__main__":
    main()
