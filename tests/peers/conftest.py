"""Shared fixtures for the integration tests against real peers.

Our servers are started as real processes on either runtime (``runtime``
fixture: "cpython" or "micropython" through tools/micropython), peers are
started by the tests themselves. A peer or runtime that cannot start is a
failure, never a skip.
"""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MICROPYTHON = str(ROOT / "tools" / "micropython")
CERT = str(ROOT / "tests" / "unit" / "data" / "cert.pem")
KEY = str(ROOT / "tests" / "unit" / "data" / "key.pem")
RUNTIMES = ("cpython", "micropython")


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpython_env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "lib"), str(ROOT / "ports" / "cpython"), env.get("PYTHONPATH", "")]
    )
    env["PYTHONUNBUFFERED"] = "1"
    return env


def runtime_command(runtime, module, args=(), heapsize=None):
    """argv that runs ``python -m module args`` on ``runtime``."""
    if runtime == "cpython":
        return [sys.executable, "-m", module] + list(args)
    if runtime == "micropython":
        pre = ["-X", "heapsize=%s" % heapsize] if heapsize else []
        return [MICROPYTHON] + pre + ["-m", module] + list(args)
    raise ValueError(runtime)


def wait_port(port, proc=None, timeout_s=15.0, host="127.0.0.1"):
    """Wait until ``host:port`` accepts a connection; fail with the
    process's output if it exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail("server exited with %s before listening:\n%s" % (proc.returncode, out))
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    pytest.fail("nothing listening on %s:%d after %.0fs" % (host, port, timeout_s))


class Process:
    """A started server process, stopped (and its output kept) on exit."""

    def __init__(self, argv, port=None, env=None, cwd=None, wait=True, timeout_s=15.0):
        self.argv = argv
        self.port = port
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env or cpython_env(),
            cwd=cwd or str(ROOT),
        )
        self.output = ""
        if wait and port is not None:
            try:
                wait_port(port, self.proc, timeout_s)
            except BaseException:
                self.stop()
                raise

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout and not self.proc.stdout.closed:
            self.output = self.proc.stdout.read()
            self.proc.stdout.close()
        return self.output

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_module(runtime, module, args=(), port=None, heapsize=None, **kw):
    """Start ``module`` on ``runtime`` and wait for ``port`` to listen."""
    return Process(runtime_command(runtime, module, args, heapsize), port=port, **kw)


@pytest.fixture(params=RUNTIMES)
def runtime(request):
    """Each test using it runs once per runtime."""
    return request.param
