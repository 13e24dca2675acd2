#!/usr/bin/env python3
"""Measure what each module costs on MicroPython: heap after import of its
.mpy (unix port, ``gc.mem_alloc()`` delta in a fresh interpreter with a
64 KiB heap, modules loaded from .mpy as deploy.py puts them on a board)
and the size of its .mpy (mpy-cross, what a board stores in flash).

    tools/footprint.py [--write docs/footprint.md]

Importing a module also imports what it needs (the port, errors, ...): the
heap figure is the whole cost of ``import microproto.NAME`` from nothing
but ``microproto`` itself.
"""

import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boardlib  # noqa: E402

ROOT = boardlib.ROOT
MP = os.path.join(ROOT, "tools", "micropython")
CODE = ("import gc, microproto; gc.collect(); a = gc.mem_alloc(); import microproto.%s; "
        "gc.collect(); print(gc.mem_alloc() - a)")


def measure():
    """Compile the library and the MicroPython port as deploy.py does, then
    import each module from the .mpy files, as on a board."""
    board = boardlib.board_config("UNIX")
    built = boardlib.build(boardlib.plan("UNIX", board), False, board["mpy_arch"])
    fsdir = os.path.join(boardlib.BUILD, "footprint")
    sizes = {}
    for bdir, items in built:
        if not bdir.startswith("lib/"):
            continue
        os.makedirs(os.path.join(fsdir, bdir), exist_ok=True)
        for local, name in items:
            with open(local, "rb") as f, open(os.path.join(fsdir, bdir, name), "wb") as g:
                g.write(f.read())
            if bdir == "lib/microproto" and name.endswith(".mpy"):
                sizes[name[:-4]] = os.path.getsize(local)
    env = dict(os.environ, MICROPYPATH=".frozen:" + os.path.join(fsdir, "lib"))
    rows = []
    for name in sorted(sizes):
        if name == "__init__":
            continue
        r = subprocess.run(["micropython", "-X", "heapsize=64K", "-c", CODE % name], capture_output=True,
                           text=True, env=env)
        heap = r.stdout.strip() if r.returncode == 0 else "error: " + (r.stdout + r.stderr).strip().splitlines()[-1]
        rows.append((name, heap, sizes[name]))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", help="write the table (markdown) to this file")
    args = ap.parse_args()
    rows = measure()
    out = ["| module | heap after import (bytes, unix port, 64 KiB heap) | .mpy size (bytes) |", "|---|---|---|"]
    out += ["| `microproto.%s` | %s | %d |" % r for r in rows]
    text = "\n".join(out)
    print(text)
    if args.write:
        with open(args.write, "w") as f:
            f.write("# Footprint\n\nMeasured by `tools/footprint.py` (MicroPython unix port %s).\n\n"
                    % subprocess.run([MP, "-c", "import sys; print(sys.version)"], capture_output=True,
                                     text=True).stdout.strip())
            f.write(text + "\n")


if __name__ == "__main__":
    main()
