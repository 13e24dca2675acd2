#!/usr/bin/env python3
"""WebSocket echo benchmark (not a test): ours against `websockets`.

One raw-socket client (a selector loop in this process: prebuilt masked
frames, no library in the way) measures echo round trips per second against
three servers started here and kept up for the whole run: the `websockets`
library's echo server (CPython), ours on CPython and ours on the MicroPython
unix port (both with ``--max-connections 64``, no compression). Every case
(message size x concurrent clients) is measured on the three servers in
turn, the order rotating from round to round; the figures are medians over
the rounds. A server that drops or stalls a connection gives a row saying
so, and is restarted for the next case.

Then, on the unix port: heap (``gc.mem_alloc()`` sampled every few ms inside
the server) while one large message is echoed joined and streamed.

    python3 tools/bench_websocket.py [--rounds 3] [--tiny] [--json FILE]
        [--seconds 1.5] [--cases 16:1,16:10,...] [--no-unix] [--no-heap]

Follows the benchmark contract of tools/bench.py: ratio > 1 means we are
better; for the unix-port rows the peer is our own CPython server (the
issue's goal: within 1.5x of it, i.e. ratio >= 0.67).
"""

import argparse
import base64
import errno
import json
import os
import selectors
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KiB = 1024
MiB = 1024 * 1024
# (size, clients); the 1 MiB case stops at 10 clients (50 MiB in flight
# would measure the machine's memory, not the servers)
CASES = [(16, 1), (16, 10), (16, 50), (KiB, 1), (KiB, 10), (KiB, 50),
         (64 * KiB, 1), (64 * KiB, 10), (64 * KiB, 50), (MiB, 1), (MiB, 10)]
TINY_CASES = [(16, 1), (KiB, 10), (64 * KiB, 1)]
# the goals against `websockets` on CPython
GOAL = {16: 1.2, KiB: 1.2, 64 * KiB: 1.0, MiB: 1.0}
UNIX_GOAL = round(1 / 1.5, 2)  # within 1.5x of our CPython figure
STALL_S = 15.0

WS_SERVER = r"""
import asyncio, sys
import websockets
from websockets.asyncio.server import serve
async def echo(ws):
    async for m in ws:
        await ws.send(m)
async def main():
    async with serve(echo, "127.0.0.1", int(sys.argv[1]), compression=None, max_size=None,
                     ping_interval=None, max_queue=16):
        print("listening", flush=True)
        await asyncio.Future()
asyncio.run(main())
"""

# Our server on the unix port with a heap sampler: every SAMPLE_MS the
# sampler stores (ms, gc.mem_alloc()) in a preallocated array; the text
# "__start__" (re)starts recording, "__stop__" answers the samples.
HEAP_SERVER = r"""
import sys, gc, time, array, asyncio
from microproto import websocket
N = 4000
buf = array.array("i", bytes(8 * N))
st = [0, 0, 0]  # recording, index, t0
async def sampler():
    while True:
        if st[0] and st[1] < N:
            i = st[1]
            buf[2 * i] = time.ticks_diff(time.ticks_ms(), st[2])
            buf[2 * i + 1] = gc.mem_alloc()
            st[1] = i + 1
        await asyncio.sleep_ms(%(sample_ms)d)
async def handler(ws):
    while True:
        try:
            data, text, fin = await ws.recv_fragment()
        except Exception:
            return
        if text and fin and len(data) < 16:
            d = data if isinstance(data, str) else data.decode()
            if d == "__start__":
                gc.collect()
                st[0], st[1], st[2] = 1, 0, time.ticks_ms()
                await ws.send("ok")
                continue
            if d == "__stop__":
                st[0] = 0
                await ws.send(";".join("%%d,%%d" %% (buf[2 * i], buf[2 * i + 1]) for i in range(st[1])))
                continue
        await ws.send_fragment(data, text, fin)
async def main():
    gc.threshold(%(threshold)d)  # collect often: samples show live data, not garbage
    asyncio.create_task(sampler())
    srv = await websocket.serve(handler, "127.0.0.1", int(sys.argv[1]), max_size=None, compression=None,
                                ping_interval_ms=None, read_size=%(read_size)d, stream=%(stream)s)
    print("listening")
    await srv.wait_closed()
asyncio.run(main())
"""


def _size(n):
    if n >= MiB:
        return "%d MiB" % (n // MiB)
    return "%d KiB" % (n // KiB) if n >= KiB else "%d B" % n


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([ROOT + "/lib", ROOT + "/ports/cpython"]))


class Server:
    """One echo server process, restartable."""

    def __init__(self, name, argv_fn, heap_fn=None):
        self.name = name
        self.argv_fn = argv_fn
        self.heap_fn = heap_fn  # unix port: (size, clients) -> -X heapsize
        self.heap = None
        self.proc = None
        self.port = None
        self.log = None

    def start(self):
        self.port = free_port()
        logname = os.path.join(ROOT, "bench-out", "ws-%s.log" % self.name.replace(" ", "_").replace(",", ""))
        os.makedirs(os.path.dirname(logname), exist_ok=True)
        self.log = open(logname, "ab")
        argv = self.argv_fn(self.port) if self.heap_fn is None else self.argv_fn(self.port, self.heap)
        self.proc = subprocess.Popen(argv, cwd=ROOT, env=_env(), stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(300):
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited at start (see %s)" % (self.name, logname))
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("%s did not start" % self.name)

    def fit(self, size, clients):
        """Restart with the heap this case needs (unix port only)."""
        if self.heap_fn is not None:
            heap = self.heap_fn(size, clients)
            if heap != self.heap:
                self.stop()
                self.heap = heap
        if not self.alive():
            self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()


def masked_frame(payload, key=b"\x37\xfa\x21\x3d"):
    n = len(payload)
    if n < 126:
        head = bytes((0x82, 0x80 | n))
    elif n < 65536:
        head = bytes((0x82, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x82, 0x80 | 127)) + n.to_bytes(8, "big")
    reps = (n + 3) // 4
    k = int.from_bytes(key * reps, "big") >> (8 * (4 * reps - n))
    body = (int.from_bytes(payload, "big") ^ k).to_bytes(n, "big") if n else b""
    return head + key + body


def _masked(b0, payload):
    f = masked_frame(payload)
    return bytes((b0,)) + f[1:]


def handshake(port, timeout_s=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (port, key)).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed during the handshake")
        buf += chunk
    head, rest = buf.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError("handshake refused: %r" % head.split(b"\r\n")[0])
    return s, rest


def recv_message(s, pending=b""):
    """Blocking: read one whole message (frames joined); returns (opcode, payload, rest)."""
    buf = bytearray(pending)
    out = bytearray()
    op0 = None

    def need(n):
        while len(buf) < n:
            chunk = s.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            buf.extend(chunk)

    while True:
        need(2)
        b0, b1 = buf[0], buf[1]
        ln = b1 & 0x7F
        hl = 2 + (2 if ln == 126 else 8 if ln == 127 else 0)
        need(hl)
        if ln == 126:
            ln = int.from_bytes(buf[2:4], "big")
        elif ln == 127:
            ln = int.from_bytes(buf[2:10], "big")
        need(hl + ln)
        op = b0 & 0x0F
        if op == 8:
            raise ConnectionError("server closed: %r" % bytes(buf[hl:hl + ln]))
        if op0 is None and op:
            op0 = op
        out += buf[hl:hl + ln]
        del buf[:hl + ln]
        if b0 & 0x80 and op < 8:
            return op0, bytes(out), bytes(buf)


class Conn:
    __slots__ = ("s", "frame", "view", "pos", "hdr", "skip", "fin", "got", "size", "count", "busy")


def echo_run(port, size, clients, seconds):
    """Closed-loop echo on `clients` connections for `seconds`; returns
    round trips per second (all connections together)."""
    payload = bytes(i & 0xFF for i in range(size))
    frame = masked_frame(payload)
    conns = []
    sel = selectors.DefaultSelector()
    try:
        for _ in range(clients):
            s, rest = handshake(port)
            if rest:
                raise ConnectionError("unexpected data after the handshake")
            # warm up, and check the echo once per connection
            s.sendall(frame)
            op, got, rest = recv_message(s)
            if got != payload or rest:
                raise ConnectionError("bad echo (%d bytes for %d)" % (len(got), size))
            c = Conn()
            c.s, c.frame, c.size, c.count = s, memoryview(frame), size, 0
            c.hdr, c.skip, c.fin, c.got, c.busy = bytearray(), 0, False, 0, False
            conns.append(c)
        for c in conns:
            c.s.setblocking(False)
        scratch = bytearray(1 << 20)
        mv = memoryview(scratch)
        t0 = time.perf_counter()
        deadline = t0 + seconds
        last_progress = t0

        def begin(c):
            c.pos, c.got, c.busy = 0, 0, True
            c.hdr.clear()
            c.skip, c.fin = 0, False
            push(c)

        def push(c):
            n = len(c.frame)
            while c.pos < n:
                try:
                    c.pos += c.s.send(c.frame[c.pos:])
                except BlockingIOError:
                    break
            sel.modify(c.s, selectors.EVENT_READ | (selectors.EVENT_WRITE if c.pos < n else 0), c)

        for c in conns:
            sel.register(c.s, selectors.EVENT_READ, c)
        for c in conns:
            begin(c)
        active = len(conns)
        stopping = False
        while active:
            now = time.perf_counter()
            if not stopping and now >= deadline:
                stopping = True
            if now - last_progress > STALL_S:
                raise TimeoutError("stalled: no echo for %.0f s" % STALL_S)
            for key, ev in sel.select(1.0):
                c = key.data
                if ev & selectors.EVENT_WRITE:
                    push(c)
                if not ev & selectors.EVENT_READ:
                    continue
                try:
                    n = c.s.recv_into(scratch)
                except BlockingIOError:
                    continue
                if n == 0:
                    raise ConnectionError("connection dropped by the server")
                i = 0
                while i < n:
                    if c.skip:
                        t = min(c.skip, n - i)
                        c.skip -= t
                        c.got += t
                        i += t
                    else:
                        h = c.hdr
                        if len(h) < 2:
                            t = min(2 - len(h), n - i)
                            h += mv[i:i + t]
                            i += t
                            if len(h) < 2:
                                break
                        ln = h[1] & 0x7F
                        hl = 2 + (2 if ln == 126 else 8 if ln == 127 else 0)
                        if len(h) < hl:
                            t = min(hl - len(h), n - i)
                            h += mv[i:i + t]
                            i += t
                            if len(h) < hl:
                                break
                        op = h[0] & 0x0F
                        if op == 8:
                            raise ConnectionError("the server closed the connection")
                        if ln == 126:
                            ln = int.from_bytes(h[2:4], "big")
                        elif ln == 127:
                            ln = int.from_bytes(h[2:10], "big")
                        c.fin = bool(h[0] & 0x80) and op < 8
                        c.skip = ln
                        h.clear()
                        if op >= 8:  # ping/pong: skip its payload, not ours
                            c.got -= ln
                    if c.skip == 0 and c.fin and not c.hdr:
                        if c.got != c.size:
                            raise ConnectionError("echo of %d bytes came as %d" % (c.size, c.got))
                        c.count += 1
                        c.fin = False
                        last_progress = time.perf_counter()
                        if stopping:
                            c.busy = False
                            active -= 1
                            sel.modify(c.s, selectors.EVENT_READ, c)
                        else:
                            begin(c)
        dt = time.perf_counter() - t0
        return sum(c.count for c in conns) / dt
    finally:
        sel.close()
        for c in conns:
            try:
                c.s.setblocking(True)
                c.s.settimeout(1)
                c.s.sendall(_masked(0x88, b"\x03\xe8"))
            except OSError:
                pass
            c.s.close()


def heap_timeline(size, stream, read_size, heap, sample_ms=5):
    """Echo one `size` message through our unix-port server and return
    [(ms, bytes allocated)] sampled inside it."""
    script = HEAP_SERVER % {"sample_ms": sample_ms, "read_size": read_size, "threshold": 256 * KiB, "stream": "True" if stream else "False"}
    name = "unix-heap-%s" % ("stream" if stream else "joined")
    srv = Server(name, lambda port: [ROOT + "/tools/micropython", "-X", "heapsize=" + heap, "-c", script,
                                     str(port)])
    srv.start()
    try:
        ctl, _ = handshake(srv.port)
        ctl.settimeout(60)
        ctl.sendall(_masked(0x81, b"__start__"))
        recv_message(ctl)
        time.sleep(0.1)
        payload = bytes(i & 0xFF for i in range(size))
        s, _ = handshake(srv.port)
        s.settimeout(60)
        # send in 64 KiB fragments while reading the echo, as a browser would
        frames = []
        step = 64 * KiB
        for off in range(0, size, step):
            f = bytearray(masked_frame(payload[off:off + step]))
            f[0] = (0x80 if off + step >= size else 0) | (0x2 if off == 0 else 0x0)
            frames.append(bytes(f))
        got = bytearray()
        sel = selectors.DefaultSelector()
        s.setblocking(False)
        data = memoryview(b"".join(frames))
        pos = 0
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
        rx = bytearray()
        t_end = time.time() + 60
        while time.time() < t_end:
            for key, ev in sel.select(1.0):
                if ev & selectors.EVENT_WRITE and pos < len(data):
                    try:
                        pos += s.send(data[pos:pos + (1 << 20)])
                    except BlockingIOError:
                        pass
                    if pos >= len(data):
                        sel.modify(s, selectors.EVENT_READ)
                if ev & selectors.EVENT_READ:
                    try:
                        chunk = s.recv(1 << 20)
                    except BlockingIOError:
                        continue
                    if not chunk:
                        raise ConnectionError("dropped")
                    rx += chunk
            got = _payload_len(rx)
            if got is not None and got >= size:
                break
        sel.close()
        s.setblocking(True)
        time.sleep(0.1)
        ctl.sendall(_masked(0x81, b"__stop__"))
        _, text, _ = recv_message(ctl)
        s.close()
        ctl.close()
        pts = []
        for item in text.decode().split(";"):
            if item:
                a, b = item.split(",")
                pts.append((int(a), int(b)))
        return pts
    finally:
        srv.stop()


def _payload_len(rx):
    """Payload bytes in the complete frames of rx (None when it ends mid-header)."""
    i = total = 0
    while i + 2 <= len(rx):
        ln = rx[i + 1] & 0x7F
        hl = 2 + (2 if ln == 126 else 8 if ln == 127 else 0)
        if i + hl > len(rx):
            break
        if ln == 126:
            ln = int.from_bytes(rx[i + 2:i + 4], "big")
        elif ln == 127:
            ln = int.from_bytes(rx[i + 2:i + 10], "big")
        take = min(ln, len(rx) - i - hl)
        total += take
        i += hl + ln
    return total


def servers(read_size, unix, unix_heap):
    ours = ["-m", "microproto.websocket", "--echo", "--no-compression", "--max-size", "0",
            "--ping-interval-ms", "0", "--read-size", str(read_size), "--max-connections", "64",
            "--host", "127.0.0.1", "--port"]
    out = [Server("websockets", lambda p: [sys.executable, "-c", WS_SERVER, str(p)]),
           Server("ours, CPython", lambda p: [sys.executable] + ours + [str(p)])]
    if unix:
        out.append(Server("ours, unix port",
                          lambda p, heap: [ROOT + "/tools/micropython", "-X", "heapsize=" + heap] + ours + [str(p)],
                          (lambda size, clients: unix_heap) if unix_heap
                          else (lambda size, clients: unix_heap_for(size, clients, read_size))))
    return out


def unix_heap_for(size, clients, read_size):
    """The smallest power-of-two heap of at least 4 MiB holding, per client,
    4 copies of its message and 4 read buffers, plus 2 MiB: a larger heap
    than needed costs time (a large allocation and a collection both scan
    the whole heap). A stream read allocates its whole size on MicroPython."""
    need = clients * 4 * (size + read_size) + 2 * MiB
    heap = 4
    while heap * MiB < need:
        heap *= 2
    return "%dM" % heap


def versions():
    import websockets

    mp = subprocess.run([ROOT + "/tools/micropython", "-c", "import sys; print(sys.version)"],
                        capture_output=True, text=True).stdout.strip()
    return {"websockets": websockets.__version__, "micropython": mp}


def parse_cases(text):
    out = []
    for item in text.split(","):
        size, clients = item.split(":")
        mult = 1
        if size[-1] in "kK":
            mult, size = KiB, size[:-1]
        elif size[-1] in "mM":
            mult, size = MiB, size[:-1]
        out.append((int(size) * mult, int(clients)))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tiny", action="store_true", help="a few cases, short: a smoke run")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--seconds", type=float, default=None, help="per case and server (default 1.5; tiny 0.3)")
    ap.add_argument("--cases", help="SIZE:CLIENTS,... e.g. 16:1,64k:10,1m:1")
    ap.add_argument("--read-size", type=int, default=65536, help="our servers' --read-size")
    ap.add_argument("--unix-heap", help="the unix port's -X heapsize for every echo case (default: per case, "
                    "the smallest power of two >= 4 MiB and 4 x size x clients + 2 MiB)")
    ap.add_argument("--no-unix", action="store_true")
    ap.add_argument("--no-heap", action="store_true", help="skip the heap-over-time run")
    a = ap.parse_args(argv)
    cases = parse_cases(a.cases) if a.cases else (TINY_CASES if a.tiny else CASES)
    seconds = a.seconds if a.seconds is not None else (0.3 if a.tiny else 1.5)
    rounds = max(1, a.rounds if not a.tiny else min(a.rounds, 1))
    srvs = servers(a.read_size, not a.no_unix, a.unix_heap)
    results = {(s.name, c): [] for s in srvs for c in cases}
    failures = {}
    notes = []
    try:
        for r in range(rounds):
            for ci, case in enumerate(cases):
                size, clients = case
                k = (r + ci) % len(srvs)
                for s in srvs[k:] + srvs[:k]:
                    if (s.name, case) in failures:
                        continue
                    try:
                        s.fit(size, clients)
                        rate = echo_run(s.port, size, clients, seconds)
                        results[(s.name, case)].append(rate)
                        msg = "%.0f/s" % rate
                    except (OSError, TimeoutError, RuntimeError) as e:
                        failures[(s.name, case)] = _why(e)
                        msg = "FAILED: %s" % failures[(s.name, case)]
                        s.stop()
                    print("round %d  %-16s %-7s x%-3d %s" % (r + 1, s.name, _size(size), clients, msg),
                          file=sys.stderr, flush=True)
    finally:
        for s in srvs:
            s.stop()

    def med(name, case):
        v = results.get((name, case))
        return statistics.median(v) if v and (name, case) not in failures else None

    rows = []
    for case in cases:
        size, clients = case
        label = "%s, %d client%s" % (_size(size), clients, "" if clients == 1 else "s")
        peer = med("websockets", case)
        ours = med("ours, CPython", case)
        rows.append(_row(label, "CPython", ours, peer, GOAL.get(size), failures.get(("ours, CPython", case)),
                         failures.get(("websockets", case)), "websockets"))
        if not a.no_unix:
            unix = med("ours, unix port", case)
            rows.append(_row(label, "unix port", unix, ours, UNIX_GOAL, failures.get(("ours, unix port", case)),
                             failures.get(("ours, CPython", case)), "ours, CPython"))
            if unix is not None and peer:
                rows[-1]["vs_websockets"] = round(unix / peer, 2)
    # throughput against message size, one line per server (1 and 10 clients)
    plots = []
    for clients in sorted({c for _, c in cases}):
        sizes = sorted({s for s, c in cases if c == clients})
        if len(sizes) < 2:
            continue
        plots.append({
            "file": "websocket_throughput_%dc.png" % clients,
            "title": "WebSocket echo, %d client%s: payload throughput" % (clients, "" if clients == 1 else "s"),
            "xlabel": "message size (bytes)", "ylabel": "echoed payload (MB/s)", "xlog": True, "ylog": True,
            "x": sizes, "xticklabels": [_size(z) for z in sizes],
            "series": {s.name: [(med(s.name, (z, clients)) or 0) * z / 1e6 or None for z in sizes] for s in srvs},
        })
    if not a.no_unix and not a.no_heap:
        size = 1 * MiB if a.tiny else 8 * MiB
        heap = "16M" if a.tiny else "64M"
        series = {}
        for stream in (False, True):
            label = "ours, unix port, %s echo" % ("streaming" if stream else "joined")
            try:
                pts = heap_timeline(size, stream, 16384, heap)
                series[label] = pts
                peak = max(b for _, b in pts) if pts else 0
                base = pts[0][1] if pts else 0
                notes.append("unix port heap while one %s message is echoed (%s, --read-size 16384, "
                             "-X heapsize=%s, gc.threshold 256 KiB): %d samples over %d ms, %d KiB at the start, peak %d KiB"
                             % (_size(size), "streaming" if stream else "joined", heap, len(pts),
                                pts[-1][0] if pts else 0, base // KiB, peak // KiB))
            except (OSError, RuntimeError, ValueError) as e:
                notes.append("unix port heap timeline (%s) failed: %s" % ("streaming" if stream else "joined",
                                                                          _why(e)))
        if series:
            plots.append({
                "file": "websocket_heap_unix.png",
                "title": "unix port: heap while one %s message is echoed" % _size(size),
                "xlabel": "time (ms)", "ylabel": "gc.mem_alloc() (KiB)", "xlog": False, "ylog": False,
                "xy": {k: [(t, b / KiB) for t, b in v] for k, v in series.items()},
            })
    v = versions()
    out = {
        "topic": "websocket",
        "peer": "websockets %s echo server (CPython %s), raw-socket client" % (v["websockets"], sys.version.split()[0]),
        "versions": {"websockets": v["websockets"], "MicroPython": v["micropython"]},
        "unit_note": "round trips/s, all clients together",
        "rows": rows,
        "plots": plots,
        "notes": notes + [
            "servers: `websockets` (compression=None, max_size=None, ping_interval=None); ours with "
            "--no-compression --max-size 0 --ping-interval-ms 0 --read-size %d --max-connections 64; unix port "
            "-X heapsize=%s" % (a.read_size, a.unix_heap or "per case: %s" % ", ".join(
                "%s x%d: %s" % (_size(z), c, unix_heap_for(z, c, a.read_size)) for z, c in cases)),
            "%d round(s) of %.1f s per case and server, order rotating; medians" % (rounds, seconds),
        ],
        "command": "python3 tools/bench_websocket.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    print_table(out)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


def _why(e):
    s = str(e) or type(e).__name__
    if isinstance(e, ConnectionResetError) or getattr(e, "errno", None) == errno.ECONNRESET:
        return "connection reset by the server"
    if isinstance(e, BrokenPipeError):
        return "connection dropped by the server (broken pipe)"
    return s


def _row(case, runtime, ours, peer, goal, ours_fail, peer_fail, peer_name):
    row = {"case": case, "runtime": runtime, "unit": "round trips/s", "ours": _r(ours), "peer": _r(peer),
           "ratio": round(ours / peer, 2) if ours and peer else None, "goal": goal, "peer_name": peer_name}
    if ours_fail:
        row["ours_failed"] = ours_fail
    if peer_fail:
        row["peer_failed"] = peer_fail
    return row


def _r(x):
    return None if x is None else round(x, 1)


def print_table(out):
    print("%s: %s" % (out["topic"], out["peer"]))
    print("%-22s %-10s %12s %12s %7s %6s  %s" % ("case", "runtime", "ours", "peer", "ratio", "goal", "peer is"))
    for r in out["rows"]:
        o = "%.0f" % r["ours"] if r["ours"] is not None else "dropped" if r.get("ours_failed") else "-"
        p = "%.0f" % r["peer"] if r["peer"] is not None else "dropped" if r.get("peer_failed") else "-"
        print("%-22s %-10s %12s %12s %7s %6s  %s" % (
            r["case"], r["runtime"], o, p, "%.2f" % r["ratio"] if r["ratio"] else "-",
            "%.2f" % r["goal"] if r["goal"] else "-", r.get("peer_name", "")))
        for k in ("ours_failed", "peer_failed"):
            if r.get(k):
                print("    %s: %s" % (k.split("_")[0], r[k]))
    for n in out["notes"]:
        print("note: " + n)


if __name__ == "__main__":
    sys.exit(main())
