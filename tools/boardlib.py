"""Shared helpers of tools/deploy.py and tools/hwtest.py: board configs,
finding the serial port, compiling with mpy-cross, driving mpremote."""

import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, ".build")


def board_config(name):
    path = os.path.join(ROOT, "boards", name, "board.json")
    if not os.path.exists(path):
        boards = sorted(os.listdir(os.path.join(ROOT, "boards")))
        raise SystemExit("unknown board %r (boards: %s)" % (name, ", ".join(boards)))
    with open(path) as f:
        return json.load(f)


def resolve_port(port, board, heapsize=None):
    """``(device, started_virtual)`` for ``--port PATH|auto|virtual``
    (``heapsize``: the virtual board's heap, default the UNIX board's)."""
    if port == "virtual":
        sys.path.insert(0, os.path.join(ROOT, "tools"))
        import virtual_board

        return virtual_board.ensure_running(heapsize=heapsize)
    if port == "auto":
        from serial.tools import list_ports

        hints = [h.lower() for h in board.get("usb_ids", [])]
        found = []
        for p in list_ports.comports():
            vidpid = "%04x:%04x" % (p.vid or 0, p.pid or 0)
            if not hints or vidpid in hints:
                found.append(p.device)
        if len(found) != 1:
            raise SystemExit("--port auto found %d candidate serial ports %s: name one with --port PATH" % (len(found), found))
        return found[0], False
    return port, False


def mpremote(device, *cmds, timeout_s=120, capture=False):
    """Run ``mpremote connect DEVICE resume CMD...``; raise on failure."""
    exe = shutil.which("mpremote")
    argv = [exe] if exe else [sys.executable, "-m", "mpremote"]
    argv += ["connect", device, "resume"] + list(cmds)
    r = subprocess.run(argv, timeout=timeout_s, capture_output=capture, text=True)
    if r.returncode != 0:
        msg = (r.stderr or "") if capture else ""
        raise SystemExit("mpremote failed (%d): %s %s" % (r.returncode, " ".join(cmds[:3]), msg))
    return r.stdout if capture else None


def mpy_cross(src, dst, arch=None):
    """Compile ``src`` to ``dst`` with mpy-cross (``-march`` for native code).

    The source name embedded in the bytecode (tracebacks show it, and it is
    a string in the board's heap once loaded) is the file's package path,
    e.g. ``microproto/errors.py``, never the checkout's absolute path: the
    heap figures must not depend on where the tree lies."""
    exe = shutil.which("mpy-cross")
    argv = [exe] if exe else [sys.executable, "-m", "mpy_cross"]
    if arch:
        argv.append("-march=" + arch)
    argv += ["-s", os.path.basename(os.path.dirname(os.path.abspath(src))) + "/" + os.path.basename(src)]
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    r = subprocess.run(argv + ["-o", dst, src], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("mpy-cross failed on %s: %s" % (src, r.stderr.strip()))


def plan(board_name, board, tests=False):
    """The files to put on the board: ``[(group_dir_on_board, [src, ...]), ...]``
    with paths relative to the board's working directory."""

    def py(d, ends=(".py",)):
        full = os.path.join(ROOT, d)
        return sorted(os.path.join(full, f) for f in os.listdir(full) if f.endswith(ends))

    groups = [
        # the library and its assets (the console page is streamed from flash)
        ("lib/microproto", py("lib/microproto", (".py", ".html"))),
        ("lib/microproto_port", py("ports/%s/microproto_port" % board["port"])),
    ]
    bdir = os.path.join(ROOT, "boards", board_name)
    extra = [os.path.join(bdir, f) for f in ("board.py", "secrets.py") if os.path.exists(os.path.join(bdir, f))]
    if extra:
        groups.append(("", extra))
    if tests:
        groups.append(("", [os.path.join(ROOT, "tests", "mprunner.py")]))
        groups.append(("tests/unit", py("tests/unit")))
        data = os.path.join(ROOT, "tests", "unit", "data")
        groups.append(("tests/unit/data", sorted(os.path.join(data, f) for f in os.listdir(data))))
        hw = [os.path.join(ROOT, "tests", "hw", f) for f in board.get("hw_tests", [])]
        groups.append(("tests/hw", hw))
    return groups


COMPILE_EXEMPT = ("board.py", "secrets.py", "mprunner.py")


def build(groups, source, arch):
    """Compile each .py to .mpy under .build/ unless ``source``; returns
    ``[(board_dir, [(local_file, board_name), ...]), ...]``."""
    out = []
    for bdir, files in groups:
        items = []
        for src in files:
            name = os.path.basename(src)
            if source or not name.endswith(".py") or name in COMPILE_EXEMPT:
                items.append((src, name))
                continue
            rel = os.path.relpath(src, ROOT)
            dst = os.path.join(BUILD, "mpy", rel[:-3] + ".mpy")
            if not os.path.exists(dst) or os.path.getmtime(dst) < os.path.getmtime(src):
                mpy_cross(src, dst, arch)
            items.append((dst, name[:-3] + ".mpy"))
        out.append((bdir, items))
    return out


def _board_path(bdir, name):
    return ":" + (bdir + "/" + name if bdir else name)


PREPARE = """
import os
def _rm(p):
    try:
        st = os.stat(p)
    except OSError:
        return
    if st[0] & 0x4000:
        for n in os.listdir(p):
            _rm(p + '/' + n)
        os.rmdir(p)
    else:
        os.remove(p)
for _p in %r:
    _rm(_p)
for _d in %r:
    _a = ''
    for _part in _d.split('/'):
        _a = _a + '/' + _part if _a else _part
        try:
            os.mkdir(_a)
        except OSError:
            pass
print('prepared')
"""


def install(device, built, clean_dirs, progress=print):
    """Remove ``clean_dirs`` on the board, make the folders, copy files."""
    dirs = sorted({b for b, _ in built if b})
    mpremote(device, "exec", PREPARE % (list(clean_dirs), dirs), capture=True)
    total = sum(len(items) for _, items in built)
    done = 0
    for bdir, items in built:
        # one mpremote call per folder, a few files at a time, for progress
        for i in range(0, len(items), 8):
            chunk = items[i : i + 8]
            for local, name in chunk:
                done += 1
                progress("[%3d/%d] %s -> %s" % (done, total, os.path.relpath(local, ROOT), _board_path(bdir, name)))
            cmds = []
            for local, name in chunk:
                if cmds:
                    cmds.append("+")
                cmds += ["fs", "cp", local, _board_path(bdir, name)]
            mpremote(device, *cmds, capture=True)
