#!/usr/bin/env python3
"""Benchmark the Telnet server: keystroke echo latency and sessions held at
once, ours on CPython and on the MicroPython unix port against telnetlib3's
server in the same run; heap per session on the unix port.

    python3 tools/bench_telnet.py [--sessions 200] [--keys 500]

Everything runs on 127.0.0.1 with ports picked at run time; every server
is started here and stopped by its PID. Figures go to stdout (a Markdown
table for docs/telnet.md).
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IAC = 255

TELNETLIB3_SERVER = r"""
import asyncio, sys, telnetlib3

async def shell(reader, writer):
    # character-mode echo, like a shell's line editor
    while True:
        ch = await reader.read(1)
        if not ch:
            break
        writer.write(ch)
        await writer.drain()
    writer.close()

async def main(port):
    server = await telnetlib3.create_server("127.0.0.1", port, shell=shell, connect_maxwait=0.5,
                                           timeout=False)
    print("listening", flush=True)
    await server.wait_closed()

asyncio.run(main(int(sys.argv[1])))
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([ROOT + "/lib", ROOT + "/ports/cpython"])
    e["BENCH_TELNET_PW"] = "bench"
    return e


def wait_port(port, proc, timeout_s=20):
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError("server exited: %s" % proc.stdout.read())
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server not listening")


def start(kind, port, sessions, shell="echo"):
    if kind == "telnetlib3":
        f = tempfile.NamedTemporaryFile("w", suffix=".py", delete=False)
        f.write(TELNETLIB3_SERVER)
        f.close()
        argv = [sys.executable, f.name, str(port)]
    else:
        args = ["-m", "microproto.telnet", "--port", str(port), "--shell", shell,
                "--password-env", "BENCH_TELNET_PW", "--max-sessions", str(sessions + 5)]
        if kind == "ours-cpython":
            argv = [sys.executable] + args
        else:
            argv = [ROOT + "/tools/micropython", "-X", "heapsize=" + os.environ.get("BENCH_MP_HEAP", "8M")] + args
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env(), stdin=subprocess.DEVNULL)
    wait_port(port, proc)
    return proc


def stop(proc):
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Client:
    """A raw Telnet client agreeing to what the server offers."""

    def __init__(self, port, timeout_s=20):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def _answer(self, data):
        out = bytearray()
        i = data.find(b"\xff")
        while 0 <= i < len(data) - 2:
            verb, opt = data[i + 1], data[i + 2]
            if verb == 251:  # WILL -> DO
                out += bytes((IAC, 253, opt))
            elif verb == 253:  # DO -> WILL for NAWS/SGA, WONT otherwise
                out += bytes((IAC, 251 if opt in (3, 31) else 252, opt))
                if opt == 31:
                    out += bytes((IAC, 250, 31, 0, 80, 0, 24, IAC, 240))
            i = data.find(b"\xff", i + 3)
        if out:
            self.s.sendall(bytes(out))

    def until(self, marker):
        while marker not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise RuntimeError("closed; got %r" % self.buf[-200:])
            self._answer(chunk)
            self.buf += chunk
        i = self.buf.index(marker) + len(marker)
        got, self.buf = self.buf[:i], self.buf[i:]
        return got

    def settle(self, wait_s=0.6):
        """Read what the server sends during the negotiation."""
        self.s.settimeout(wait_s)
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    break
                self._answer(chunk)
                self.buf += chunk
        except socket.timeout:
            pass
        self.s.settimeout(20)

    def close(self):
        self.s.close()


def open_session(kind, port):
    c = Client(port)
    if kind == "telnetlib3":
        # its shell starts once negotiation is over: wait for an echo
        c.s.sendall(b"z")
        c.until(b"z")
    else:
        c.until(b"Password: ")
        c.s.sendall(b"bench\r\n")
        c.until(b"> ")
    c.buf = b""
    return c


def echo_latency(kind, port, keys):
    c = open_session(kind, port)
    times = []
    for i in range(keys):
        ch = b"abcdefghij"[i % 10 : i % 10 + 1]
        t0 = time.perf_counter()
        c.s.sendall(ch)
        got = c.until(ch)
        times.append((time.perf_counter() - t0) * 1000)
        if got != ch:
            raise RuntimeError("%s: echo of %r came as %r" % (kind, ch, got))
        if i % 50 == 49 and kind != "telnetlib3":
            c.s.sendall(b"\x15")  # Ctrl-U: keep the line short
            time.sleep(0.01)
            c.settle(0.05)
            c.buf = b""
    c.close()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


def sessions_held(kind, port, n, proc):
    before = rss_kb(proc.pid)
    clients = []
    t0 = time.monotonic()
    try:
        for _ in range(n):
            clients.append(open_session(kind, port))
    except Exception as e:
        print("  %s: stopped at %d sessions: %r" % (kind, len(clients), e))
    elapsed = time.monotonic() - t0
    # every one still answers a keystroke
    alive = 0
    for c in clients:
        try:
            c.s.sendall(b"z")
            c.until(b"z")
            alive += 1
        except Exception:
            pass
    after = rss_kb(proc.pid)
    for c in clients:
        c.close()
    per = (after - before) / max(1, len(clients))
    return len(clients), alive, elapsed, per


def heap_per_session_unix(sessions):
    port = free_port()
    proc = start("ours-micropython", port, sessions, shell="repl")
    try:
        probe = open_session("ours", port)

        def heap():
            probe.buf = b""
            probe.s.sendall(b"import gc; gc.collect(); gc.mem_alloc()\r\n")
            return int(probe.until(b">>> ").split(b"\r\n")[-2])

        heap()
        h0 = heap()
        extra = [open_session("ours", port) for _ in range(sessions)]
        h1 = heap()
        for c in extra:
            c.close()
        time.sleep(1)
        h2 = heap()
        # a second round: a leak per session would show as growth here
        for _ in range(2):
            extra = [open_session("ours", port) for _ in range(sessions)]
            for c in extra:
                c.close()
        time.sleep(1)
        h3 = heap()
        probe.close()
        return h0, h1, h2, h3
    finally:
        stop(proc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--keys", type=int, default=500)
    ap.add_argument("--heap-sessions", type=int, default=20)
    ap.add_argument("--heap-only", action="store_true")
    a = ap.parse_args()
    rows = []
    kinds = ("telnetlib3", "ours-cpython", "ours-micropython")
    if a.heap_only:
        kinds = ()
    for kind in kinds:
        port = free_port()
        proc = start(kind, port, a.sessions)
        try:
            med, p99 = echo_latency(kind, port, a.keys)
            held, alive, elapsed, per = sessions_held(kind, port, a.sessions, proc)
        finally:
            stop(proc)
        rows.append((kind, med, p99, held, alive, elapsed, per))
        print("%s: echo median %.3f ms p99 %.3f ms; %d sessions held (%d answering) in %.1f s; "
              "RSS +%.1f KB/session" % (kind, med, p99, held, alive, elapsed, per), flush=True)
    h0, h1, h2, h3 = heap_per_session_unix(a.heap_sessions)
    per = (h1 - h0) / a.heap_sessions
    print("unix port heap: %d B idle, %d B with %d more REPL sessions (%.0f B/session), "
          "%d B after they left, %d B after %d more came and went"
          % (h0, h1, a.heap_sessions, per, h2, h3, 2 * a.heap_sessions))
    print()
    print("| server | echo median (ms) | echo p99 (ms) | sessions held / answering | setup time (s) | RSS per session (KB) |")
    print("|---|---|---|---|---|---|")
    for kind, med, p99, held, alive, elapsed, per_rss in rows:
        print("| %s | %.3f | %.3f | %d / %d | %.1f | %.1f |" % (kind, med, p99, held, alive, elapsed, per_rss))
    print()
    print("MicroPython unix port heap per logged-in REPL session: %.0f bytes "
          "(gc.mem_alloc, %d sessions; %d B back to %d B after they closed)" % (per, a.heap_sessions, h1, h2))


if __name__ == "__main__":
    main()
