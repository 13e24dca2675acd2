#!/usr/bin/env python3
"""Benchmark the Telnet server: keystroke echo latency and sessions held at
once, ours on CPython and on the MicroPython unix port against telnetlib3's
server in the same run; heap per session on the unix port.

    python3 tools/bench_telnet.py [--rounds 3] [--tiny] [--json FILE]
        [--sessions 300] [--keys 1000] [--heap-sessions 20] [--no-unix]

Each round starts all servers, logs in and holds --sessions idle sessions
on each, then times --keys keystroke echoes per server on one more session,
in blocks of 250 keys server after server (the order rotating), so every
server sees the same load on the machine; medians over rounds. Follows the benchmark contract of
tools/bench.py (for latencies the ratio is telnetlib3 / ours: > 1 is better).
Everything runs on 127.0.0.1 with ports picked at run time; every server
is started here and stopped by its PID.
"""

import argparse
import json
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


def time_keys(kind, c, keys, times):
    """Time `keys` keystroke echoes on session `c`, appending ms to `times`."""
    for i in range(keys):
        ch = b"abcdefghij"[i % 10 : i % 10 + 1]
        t0 = time.perf_counter()
        c.s.sendall(ch)
        got = c.until(ch)
        times.append((time.perf_counter() - t0) * 1000)
        if got != ch:
            raise RuntimeError("%s: echo of %r came as %r" % (kind, ch, got))
        if i % 50 == 49:
            # Ctrl-U keeps the line short; then an untimed key to read up to.
            # Same bytes for every server and no pause: a pause before a
            # timed key (an idle loop waking up) showed as a p99 of its own
            c.s.sendall(b"\x15z")
            c.until(b"z")
            c.buf = b""


def median_p99(times):
    times = sorted(times)
    return statistics.median(times), times[max(0, int(len(times) * 0.99) - 1)]


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


KINDS = ("telnetlib3", "ours-cpython", "ours-micropython")
RUNTIME = {"ours-cpython": "CPython", "ours-micropython": "unix port"}


BLOCK = 250  # keys timed on one server before the next one's turn


def one_round(kinds, sessions, keys, r, failed):
    """All servers up at once, each holding `sessions` idle sessions; the
    keys are timed in blocks of BLOCK, server after server, so that every
    server sees the same load on the machine. Returns {kind: figures}."""
    up = {}
    res = {}
    try:
        for kind in kinds:
            try:
                port = free_port()
                proc = start(kind, port, sessions)
                up[kind] = (port, proc)
                held, alive, elapsed, per, clients = hold_sessions(kind, port, sessions, proc)
                up[kind] = (port, proc, clients, open_session(kind, port))
                res[kind] = {"held": held, "alive": alive, "setup_s": elapsed, "rss_kb": per, "times": []}
            except Exception as e:  # a server that fails is a row that says so
                failed[kind] = "%s: %s" % (type(e).__name__, e)
        live = [k for k in kinds if k in res]
        for b in range(0, keys, BLOCK):
            k0 = (r + b // BLOCK) % max(1, len(live))
            for kind in live[k0:] + live[:k0]:
                if kind in failed:
                    continue
                try:
                    time_keys(kind, up[kind][3], min(BLOCK, keys - b), res[kind]["times"])
                except Exception as e:
                    failed[kind] = "%s: %s" % (type(e).__name__, e)
    finally:
        for kind, v in up.items():
            if len(v) == 4:
                for c in v[2] + [v[3]]:
                    c.close()
            stop(v[1])
    for kind, x in res.items():
        if kind not in failed and x["times"]:
            x["median"], x["p99"] = median_p99(x["times"])
    return res


def hold_sessions(kind, port, n, proc):
    before = rss_kb(proc.pid)
    clients = []
    t0 = time.monotonic()
    try:
        for _ in range(n):
            clients.append(open_session(kind, port))
    except Exception as e:
        print("  %s: stopped at %d sessions: %r" % (kind, len(clients), e), file=sys.stderr)
    elapsed = time.monotonic() - t0
    alive = 0
    for c in clients:
        try:
            c.s.sendall(b"z")
            c.until(b"z")
            c.buf = b""
            alive += 1
        except Exception:
            pass
    per = (rss_kb(proc.pid) - before) / max(1, len(clients))
    return len(clients), alive, elapsed, per, clients


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tiny", action="store_true", help="20 sessions, 50 keys, one round: a smoke run")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--sessions", type=int, default=None, help="sessions held (default 300)")
    ap.add_argument("--keys", type=int, default=None, help="echoes timed per round (default 5000)")
    ap.add_argument("--heap-sessions", type=int, default=None, help="unix port heap run (default 20; 0: skip)")
    ap.add_argument("--no-unix", action="store_true")
    a = ap.parse_args(argv)
    sessions = a.sessions if a.sessions is not None else (20 if a.tiny else 300)
    keys = a.keys if a.keys is not None else (50 if a.tiny else 5000)
    rounds = 1 if a.tiny else max(1, a.rounds)
    heap_sessions = a.heap_sessions if a.heap_sessions is not None else (3 if a.tiny else 20)
    kinds = [k for k in KINDS if not (a.no_unix and k == "ours-micropython")]
    got = {k: [] for k in kinds}
    failed = {}
    for r in range(rounds):
        out = one_round([k for k in kinds if k not in failed], sessions, keys, r, failed)
        for kind in kinds:
            if kind in failed:
                print("round %d %-17s FAILED %s" % (r + 1, kind, failed[kind]), file=sys.stderr, flush=True)
                continue
            res = out.get(kind)
            if not res or "median" not in res:
                continue
            got[kind].append(res)
            print("round %d %-17s median %.3f ms p99 %.3f ms; %d sessions held (%d answering) in %.1f s"
                  % (r + 1, kind, res["median"], res["p99"], res["held"], res["alive"], res["setup_s"]),
                  file=sys.stderr, flush=True)

    def med(kind, key):
        v = [x[key] for x in got.get(kind, [])]
        return statistics.median(v) if v and kind not in failed else None

    rows = []
    peer = "telnetlib3"
    for kind in kinds[1:]:
        for key, label in (("median", "echo median"), ("p99", "echo p99")):
            o, p = med(kind, key), med(peer, key)
            row = {"case": "%s, %d sessions held" % (label, sessions), "runtime": RUNTIME[kind], "unit": "ms",
                   "ours": _r(o), "peer": _r(p), "ratio": round(p / o, 2) if o and p else None,
                   "goal": 1.0 if kind == "ours-cpython" else None, "peer_name": "telnetlib3"}
            if kind in failed:
                row["ours_failed"] = failed[kind]
            if peer in failed:
                row["peer_failed"] = failed[peer]
            rows.append(row)
    notes = []
    for kind in kinds:
        if got[kind]:
            x = got[kind][-1]
            notes.append("%s: %d of %d sessions held, %d answering a keystroke; opened in %.1f s; RSS +%.1f KB "
                         "per session" % (kind, x["held"], sessions, x["alive"], x["setup_s"], x["rss_kb"]))
        if kind in failed:
            notes.append("%s failed: %s" % (kind, failed[kind]))
    if heap_sessions and not a.no_unix:
        try:
            h0, h1, h2, h3 = heap_per_session_unix(heap_sessions)
            notes.append("unix port heap per logged-in REPL session: %.0f B (gc.mem_alloc, %d sessions: %d B idle, "
                         "%d B with them, %d B after they left, %d B after %d more came and went)"
                         % ((h1 - h0) / heap_sessions, heap_sessions, h0, h1, h2, h3, 2 * heap_sessions))
        except Exception as e:
            notes.append("unix port heap per session failed: %s: %s" % (type(e).__name__, e))
    import telnetlib3

    v3 = getattr(telnetlib3, "__version__", None) or _dist_version("telnetlib3")
    out = {
        "topic": "telnet",
        "peer": "telnetlib3 %s server (CPython %s), character-mode echo shell" % (v3, sys.version.split()[0]),
        "versions": {"telnetlib3": v3},
        "rows": rows,
        "notes": notes + ["latency: one raw-socket client sends a key and waits for its echo (TCP_NODELAY), "
                          "%d keys per server and round while every server holds %d idle sessions (all up at "
                          "once; keys timed in blocks of %d, server after server, the order rotating); %d "
                          "round(s); medians over rounds; ratio = telnetlib3 / ours" % (keys, sessions, BLOCK,
                                                                                         rounds)],
        "command": "python3 tools/bench_telnet.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    print("%s: %s" % (out["topic"], out["peer"]))
    print("%-36s %-10s %9s %9s %6s %5s" % ("case", "runtime", "ours", "peer", "ratio", "goal"))
    for r in rows:
        print("%-36s %-10s %9s %9s %6s %5s" % (
            r["case"], r["runtime"], "%.3f" % r["ours"] if r["ours"] is not None else "failed",
            "%.3f" % r["peer"] if r["peer"] is not None else "failed",
            "%.2f" % r["ratio"] if r["ratio"] else "-", "%.2f" % r["goal"] if r["goal"] else "-"))
    for n in out["notes"]:
        print("note: " + n)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    return 0


def _r(x):
    return None if x is None else round(x, 4)


def _dist_version(name):
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
