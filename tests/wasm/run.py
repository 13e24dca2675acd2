#!/usr/bin/env python3
"""Run the portable unit tests on a 32-bit MicroPython (the WebAssembly
port from npm, under Node): ``tests/wasm/run.py [-k SUBSTRING]``.

A wrapper around ``node tests/wasm/run.mjs`` (see there, and exclude.json
for the tests this port cannot run and why) that fails loudly when Node or
the npm package is missing (``bash .ci/install.d/wasm.sh`` installs them).
Ends with the plain line ``N passed, M failed``; exit status 1 on any
failure.
"""

import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE = os.path.join(HERE, "node_modules", "@micropython", "micropython-webassembly-pyscript", "micropython.mjs")


def main():
    node = shutil.which("node")
    if not node or not os.path.exists(PACKAGE):
        print("wasm: %s missing: run bash .ci/install.d/wasm.sh" % ("node" if not node else PACKAGE))
        print("0 passed, 1 failed")
        return 1
    return subprocess.call([node, os.path.join(HERE, "run.mjs")] + sys.argv[1:], cwd=HERE)


if __name__ == "__main__":
    sys.exit(main())
