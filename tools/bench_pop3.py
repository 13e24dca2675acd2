#!/usr/bin/env python3
"""POP3 benchmark: our client against CPython's poplib, both retrieving
from the same Dovecot (started here, on loopback, plaintext POP3 so the
figures are the clients' and not TLS's): 100 small messages in one session,
and one 10 MB message (ours streams it into a file; poplib holds it as a
list of lines, then writes it). Alternating rounds, medians. Also our
client on the MicroPython unix port (same cases), and the peak live heap
of the unix port retrieving the 10 MB message into a file inside a 64 KiB
heap, from .mpy as on a board.

    tools/bench_pop3.py [--rounds N] [--tiny] [--json FILE]

Ratio > 1: we are better (faster).
"""

import argparse
import json
import os
import poplib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path[:0] = [os.path.join(ROOT, "lib"), os.path.join(ROOT, "ports", "cpython"), os.path.join(ROOT, "tests", "peers")]

import pop3_peer  # noqa: E402
from microproto import pop3  # noqa: E402

USER = "bench"
BIG_USER = "judy"

MP_BENCH = r"""
import sys, time
from microproto import pop3
port, user, pw, what, arg = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
t0 = time.ticks_ms()
b = pop3.POP3("127.0.0.1", port, tls=None, allow_plaintext_auth=True, bufsize=4096)
b.login(user, pw)
n = 0
if what == "small":
    for i in range(1, int(arg) + 1):
        n += len(b.retr(i))
else:
    n = b.retr(1, into=arg)
b.quit()
print("MS", time.ticks_diff(time.ticks_ms(), t0), "BYTES", n)
"""

MP_HEAP = r"""
import gc, sys, time
from microproto import pop3
port, user, pw, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
live = [0, 1 << 30]  # max, min

class Sampling:
    # a file whose writes sample the live heap (after a collection) now and then
    def __init__(self, f):
        self.f = f
        self.n = 0
    def write(self, b):
        self.n += 1
        if self.n % 64 == 1:
            gc.collect()
            m = gc.mem_alloc()
            if m > live[0]:
                live[0] = m
            if m < live[1]:
                live[1] = m
        return self.f.write(b)

gc.collect()
base = gc.mem_alloc()
b = pop3.POP3("127.0.0.1", port, tls=None, allow_plaintext_auth=True, bufsize=1024, max_line=512)
b.login(user, pw)
gc.collect()
connected = gc.mem_alloc()
with open(path, "wb") as f:
    n = b.retr(1, into=Sampling(f))
b.quit()
print("BASE", base, "CONNECTED", connected, "LIVE_MAX", live[0], "LIVE_MIN", live[1], "BYTES", n)
"""

MODULES = {
    "microproto": (os.path.join(ROOT, "lib", "microproto"),
                   ["__init__", "errors", "blocking", "pop3", "pop3_core", "pop3_auth"]),
    "microproto_port": (os.path.join(ROOT, "ports", "micropython", "microproto_port"), ["__init__", "net"]),
}


def build_mpy(dest):
    """Precompile what the POP3 client imports with mpy-cross, as a board
    gets it: compiling the sources needs more heap than running them."""
    for pkg, (src, names) in MODULES.items():
        os.makedirs(os.path.join(dest, pkg), exist_ok=True)
        for name in names:
            subprocess.run(["mpy-cross", "-O3", "-o", os.path.join(dest, pkg, name + ".mpy"),
                            os.path.join(src, name + ".py")], check=True)


def run_mp(script, args, heapsize=None, mpy_dir=None):
    """Run ``script`` on the unix port; its stdout. With ``mpy_dir``: the
    bare binary with only the precompiled modules on its path."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(script)
        path = f.name
    env = dict(os.environ)
    argv = [os.path.join(ROOT, "tools", "micropython")]
    if mpy_dir:
        argv = [shutil.which("micropython")]
        env["MICROPYPATH"] = mpy_dir + ":.frozen"
    if heapsize:
        argv += ["-X", "heapsize=" + heapsize]
    try:
        p = subprocess.run(argv + [path] + [str(a) for a in args], capture_output=True, text=True, timeout=600,
                           env=env)
    finally:
        os.remove(path)
    if p.returncode != 0:
        raise RuntimeError("micropython failed: %s %s" % (p.stdout[-2000:], p.stderr[-2000:]))
    return p.stdout


def heap_10mb(port, path, mpy_dir, user=BIG_USER):
    """Live heap figures of the unix port retrieving message 1 of ``user``
    into ``path`` in a 64 KiB heap: dict of BASE, CONNECTED, LIVE_MAX, ..."""
    out = run_mp(MP_HEAP, [port, user, pop3_peer.PASSWORD, path], "64K", mpy_dir)
    w = out.split()
    return dict((w[i], int(w[i + 1])) for i in range(0, 10, 2))


def ours_small(port, n):
    t = time.perf_counter()
    b = pop3.POP3("127.0.0.1", port, tls=None, allow_plaintext_auth=True, bufsize=4096)
    b.login(USER, pop3_peer.PASSWORD)
    for i in range(1, n + 1):
        b.retr(i)
    b.quit()
    return time.perf_counter() - t


def peer_small(port, n):
    t = time.perf_counter()
    p = poplib.POP3("127.0.0.1", port)
    p.user(USER)
    p.pass_(pop3_peer.PASSWORD)
    for i in range(1, n + 1):
        b"\r\n".join(p.retr(i)[1])
    p.quit()
    return time.perf_counter() - t


def ours_big(port, path):
    t = time.perf_counter()
    b = pop3.POP3("127.0.0.1", port, tls=None, allow_plaintext_auth=True, bufsize=16384)
    b.login(BIG_USER, pop3_peer.PASSWORD)
    b.retr(1, into=path)
    b.quit()
    return time.perf_counter() - t


def peer_big(port, path):
    t = time.perf_counter()
    p = poplib.POP3("127.0.0.1", port)
    p.user(BIG_USER)
    p.pass_(pop3_peer.PASSWORD)
    lines = p.retr(1)[1]
    with open(path, "wb") as f:
        for line in lines:
            f.write(line + b"\r\n")
    p.quit()
    return time.perf_counter() - t


def mp_case(port, what, arg):
    out = run_mp(MP_BENCH, [port, USER if what == "small" else BIG_USER, pop3_peer.PASSWORD, what, arg])
    return int(out.split()[1]) / 1000


def free_ports():
    import socket

    for p in range(19400, 19498, 2):
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", p))
                b.bind(("127.0.0.1", p + 1))
            return p, p + 1
        except OSError:
            pass
    raise SystemExit("no free ports in 19400-19499")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--tiny", action="store_true", help="a few seconds: 10 messages, 1 MB, one round")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()
    rounds = 1 if args.tiny else args.rounds
    n_small = 10 if args.tiny else 100
    big_size = (1 if args.tiny else 10) * 1024 * 1024
    port, sport = free_ports()
    tmp = tempfile.mkdtemp(prefix="mp-bench-pop3-")
    os.chmod(tmp, 0o755)  # Dovecot's unprivileged processes read below it
    dv = pop3_peer.Dovecot(port, sport, os.path.join(tmp, "dovecot"))
    rows = []
    notes = ["plaintext POP3 on loopback for both clients (TLS would measure mbedTLS/OpenSSL, not the clients)",
             "poplib retr returns the message as a list of lines; the 10 MB case then writes them to a file",
             "unix-port rows: our client on the MicroPython unix port, peer: poplib on CPython"]
    try:
        dv.start()
        smalls = [pop3_peer.message(i, body=b"Small message %d.\n%s\n" % (i, b"x" * 1500)) for i in range(n_small)]
        dv.fill(USER, smalls)
        big = pop3_peer.big(big_size)
        dv.fill(BIG_USER, [big])
        path = os.path.join(tmp, "big.eml")
        res = {"small": ([], []), "big": ([], []), "mp_small": [], "mp_big": []}
        # warm-up, not timed: Dovecot's first login starts its processes,
        # and each client's first run loads its modules
        for f in (ours_small, peer_small):
            f(port, 1)
        for f in (ours_big, peer_big):
            f(port, path)
        for r in range(rounds):
            order = (0, 1) if r % 2 == 0 else (1, 0)
            for who in order:
                f = (ours_small, peer_small)[who]
                res["small"][who].append(f(port, n_small))
            for who in order:
                f = (ours_big, peer_big)[who]
                res["big"][who].append(f(port, path))
                if who == 0:
                    with open(path, "rb") as fh:
                        if fh.read() != big:
                            raise SystemExit("our 10 MB retrieval differs from the message")
            res["mp_small"].append(mp_case(port, "small", n_small))
            res["mp_big"].append(mp_case(port, "big", path))
        med = statistics.median
        mb = big_size / 1e6
        o, p = med(res["small"][0]), med(res["small"][1])
        rows.append({"case": "%d small messages" % n_small, "runtime": "cpython", "unit": "msg/s",
                     "ours": round(n_small / o, 1), "peer": round(n_small / p, 1), "ratio": round(p / o, 2),
                     "goal": 1.0})
        o, p2 = med(res["big"][0]), med(res["big"][1])
        rows.append({"case": "one %d MB message" % (big_size // 2**20), "runtime": "cpython", "unit": "MB/s",
                     "ours": round(mb / o, 1), "peer": round(mb / p2, 1), "ratio": round(p2 / o, 2), "goal": 1.0})
        o = med(res["mp_small"])
        rows.append({"case": "%d small messages" % n_small, "runtime": "unix port", "unit": "msg/s",
                     "ours": round(n_small / o, 1), "peer": round(n_small / p, 1), "ratio": round(p / o, 2),
                     "goal": None})
        o = med(res["mp_big"])
        rows.append({"case": "one %d MB message" % (big_size // 2**20), "runtime": "unix port", "unit": "MB/s",
                     "ours": round(mb / o, 1), "peer": round(mb / p2, 1), "ratio": round(p2 / o, 2), "goal": None})
        mpy = os.path.join(tmp, "mpy")
        build_mpy(mpy)
        h = heap_10mb(port, path, mpy)
        notes.append("unix port, -X heapsize=64K, modules from .mpy, %d MB RETR into a file: live heap %d B at "
                     "start, %d B connected, %d-%d B while retrieving (peak %d B over the connected session)"
                     % (big_size // 2**20, h["BASE"], h["CONNECTED"], h["LIVE_MIN"], h["LIVE_MAX"],
                        h["LIVE_MAX"] - h["CONNECTED"]))
    finally:
        dv.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%-22s %-10s %-6s %10s %10s %6s" % ("case", "runtime", "unit", "ours", "poplib", "ratio"))
    for r in rows:
        print("%-22s %-10s %-6s %10s %10s %6s" % (r["case"], r["runtime"], r["unit"], r["ours"], r["peer"], r["ratio"]))
    for n in notes:
        print("note: " + n)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"topic": "pop3", "peer": "poplib (CPython %d.%d) -> Dovecot 2.3" % sys.version_info[:2],
                       "rows": rows, "notes": notes}, f, indent=1)


if __name__ == "__main__":
    main()
