#!/usr/bin/env python3
"""SMTP client benchmark: messages/s for small mails against aiosmtpd (our
client on CPython and on the unix port vs smtplib, in the same run), and
peak heap on the unix port while sending 1 MB and 10 MB from a file.

    python3 tools/bench_smtp.py [--count 500] [--rounds 3] [--heapsize 64K] [--sizes 1,10]

Everything runs on loopback against an aiosmtpd started here; the figures
are printed as a Markdown table (docs/smtp.md keeps the last ones).
"""

import argparse
import os
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "lib"), str(ROOT / "ports" / "cpython")]

from aiosmtpd.controller import Controller  # noqa: E402

from microproto import smtp  # noqa: E402

SMALL = (
    b"From: bench@example.org\r\nTo: sink@example.org\r\nSubject: bench\r\n\r\n"
    + b"A small message body line.\r\n" * 10
)


class Sink:
    """Counts what arrives; keeps nothing."""

    def __init__(self):
        self.count = 0
        self.bytes = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        self.bytes += len(envelope.original_content)
        return "250 2.0.0 OK"


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_smtplib(port, n):
    t0 = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as s:
        for _ in range(n):
            s.sendmail("bench@example.org", ["sink@example.org"], SMALL)
    return n / (time.perf_counter() - t0)


def bench_ours(port, n):
    t0 = time.perf_counter()
    with smtp.SMTP("127.0.0.1", port, tls=None) as s:
        for _ in range(n):
            s.send("bench@example.org", ["sink@example.org"], SMALL)
    return n / (time.perf_counter() - t0)


MP_RATE = r"""
import sys, time
from microproto import smtp
n = int(sys.argv[2])
body = (b"From: bench@example.org\r\nTo: sink@example.org\r\nSubject: bench\r\n\r\n"
        + b"A small message body line.\r\n" * 10)
t0 = time.ticks_ms()
with smtp.SMTP("127.0.0.1", int(sys.argv[1]), tls=None) as s:
    for _ in range(n):
        s.send("bench@example.org", ["sink@example.org"], body)
dt = time.ticks_diff(time.ticks_ms(), t0)
print("RATE", n * 1000 / dt)
"""

MP_HEAP = r"""
import gc, sys, time, micropython
from microproto import smtp

port, path = int(sys.argv[1]), sys.argv[2]
live = [0, 1 << 30]  # max, min

class Sampling:
    # a file whose reads sample the live heap (after a collection) now and then
    def __init__(self, f):
        self.f = f
        self.n = 0
    def readinto(self, b):
        self.n += 1
        if self.n % 64 == 1:
            gc.collect()
            m = gc.mem_alloc()
            if m > live[0]:
                live[0] = m
            if m < live[1]:
                live[1] = m
        return self.f.readinto(b)

gc.collect()
base = gc.mem_alloc()
# the small-board settings: 512-byte receive buffer, body chunks, reply lines
s = smtp.SMTP("127.0.0.1", port, tls=None, bufsize=256, chunk=256, max_line=512)
gc.collect()
connected = gc.mem_alloc()
t0 = time.ticks_ms()
with open(path, "rb") as f:
    r = s.send("bench@example.org", ["sink@example.org"], Sampling(f))
dt = time.ticks_diff(time.ticks_ms(), t0)
s.quit()
print("BASE", base, "CONNECTED", connected, "LIVE_MAX", live[0], "LIVE_MIN", live[1],
      "MS", dt, "REPLY", r.reply.code)
micropython.mem_info()
"""


MODULES = {
    "microproto": (ROOT / "lib" / "microproto", ("__init__", "errors", "buffer", "blocking", "smtp", "smtp_core")),
    "microproto_port": (ROOT / "ports" / "micropython" / "microproto_port", ("__init__", "net", "tls")),
}


def build_mpy(dest):
    """Precompile what the SMTP client imports with mpy-cross, as a board
    gets it: compiling the sources needs more heap than running them."""
    for pkg, (src, names) in MODULES.items():
        os.makedirs(os.path.join(dest, pkg), exist_ok=True)
        for name in names:
            out = os.path.join(dest, pkg, name + ".mpy")
            subprocess.run(["mpy-cross", "-O3", "-o", out, str(src / (name + ".py"))], check=True)


def run_mp(script, args, heapsize=None, mpy_dir=None):
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(script)
        path = f.name
    env = dict(os.environ)
    try:
        argv = [str(ROOT / "tools" / "micropython")]
        if mpy_dir:
            # the bare binary, with only the precompiled modules on the path
            import shutil

            argv = [shutil.which("micropython")]
            env["MICROPYPATH"] = mpy_dir + ":.frozen"
        if heapsize:
            argv += ["-X", "heapsize=" + heapsize]
        p = subprocess.run(argv + [path] + [str(a) for a in args], capture_output=True, text=True, timeout=600, env=env)
    finally:
        os.remove(path)
    if p.returncode != 0:
        raise SystemExit("micropython failed:\n" + p.stdout + p.stderr)
    return p.stdout


CP_HEAP = r"""
import smtplib, sys, tracemalloc
from microproto import smtp
port, path, which = int(sys.argv[1]), sys.argv[2], sys.argv[3]
tracemalloc.start()
if which == "ours":
    with smtp.SMTP("127.0.0.1", port, tls=None) as s:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        with open(path, "rb") as f:
            s.send("bench@example.org", ["sink@example.org"], f)
        peak = tracemalloc.get_traced_memory()[1] - base
else:
    with smtplib.SMTP("127.0.0.1", port) as s:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        with open(path, "rb") as f:
            s.sendmail("bench@example.org", ["sink@example.org"], f.read())
        peak = tracemalloc.get_traced_memory()[1] - base
print("PEAK", peak)
"""


def cpython_heap(port, path):
    """How far the traced heap of a client process grows while sending
    ``path`` (tracemalloc peak minus the heap before): ours
    (streamed from the file) and smtplib (the message in memory)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "lib"), str(ROOT / "ports" / "cpython")])
    peaks = []
    for which in ("ours", "smtplib"):
        p = subprocess.run(
            [sys.executable, "-c", CP_HEAP, str(port), path, which], capture_output=True, text=True, timeout=600, env=env
        )
        if p.returncode != 0:
            raise SystemExit("CPython client failed:\n" + p.stdout + p.stderr)
        peaks.append(int(p.stdout.split("PEAK")[1].split()[0]))
    return peaks


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=500, help="small mails per client")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the small-mail runs")
    ap.add_argument("--heapsize", default="64K", help="unix port heap for the large sends")
    ap.add_argument("--sizes", default="1,10", help="large message sizes in MB")
    args = ap.parse_args()

    sink = Sink()
    port = free_port()
    ctl = Controller(sink, hostname="127.0.0.1", port=port, data_size_limit=0)
    ctl.start()
    try:
        # warm up, then alternate rounds so all see the same server and load
        bench_ours(port, 20)
        bench_smtplib(port, 20)
        rates = {"ours": [], "smtplib": [], "mp": []}
        for _ in range(args.rounds):
            rates["ours"].append(bench_ours(port, args.count))
            rates["smtplib"].append(bench_smtplib(port, args.count))
            out = run_mp(MP_RATE, [port, args.count])
            rates["mp"].append(float(out.split("RATE")[1].split()[0]))

        def cell(xs):
            xs = sorted(xs)
            return "%.0f (%.0f-%.0f)" % (xs[len(xs) // 2], xs[0], xs[-1])

        print("## Small mails, one connection, %d per round, %d rounds (aiosmtpd on loopback)\n" % (args.count, args.rounds))
        print("Median (min-max). The server (aiosmtpd, Python) is the bottleneck: it answers each")
        print("pipelined command in its own segment.\n")
        print("| client | messages/s |")
        print("|---|---|")
        print("| microproto.smtp on CPython %s | %s |" % (sys.version.split()[0], cell(rates["ours"])))
        print("| smtplib (CPython) | %s |" % cell(rates["smtplib"]))
        print("| microproto.smtp on the unix port | %s |" % cell(rates["mp"]))
        print()

        print("## Large mails from a file (unix port, -X heapsize=%s, modules as .mpy)\n" % args.heapsize)
        print("Heap figures are gc.mem_alloc() after gc.collect(): after the imports, after")
        print("connecting, and sampled every 64 body chunks while sending (max and min).\n")
        print("| size | after imports | after connect | while sending: max / min | sending over connected (max - connect) | time on unix port | CPython, growth of the traced heap while sending: ours / smtplib |")
        print("|---|---|---|---|---|---|---|")
        tmpdir = tempfile.mkdtemp(prefix="bench-smtp-")
        mpy_dir = os.path.join(tmpdir, "mpy")
        build_mpy(mpy_dir)
        for mb in [int(x) for x in args.sizes.split(",")]:
            path = os.path.join(tmpdir, "m%d.eml" % mb)
            line = b"0123456789abcdefghijklmnopqrstuvwxyz.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
            with open(path, "wb") as f:
                f.write(b"Subject: large\r\n\r\n")
                n = mb * 1024 * 1024 // len(line)
                for i in range(n):
                    f.write(b"." + line if i % 50 == 0 else line)
            size = os.path.getsize(path)
            before = sink.count
            out = run_mp(MP_HEAP, [port, path], args.heapsize, mpy_dir)
            words = out.split()
            vals = dict((words[i], words[i + 1]) for i in range(0, 16, 2))
            if sink.count != before + 1 or vals["REPLY"] != "250":
                raise SystemExit("the large mail did not arrive:\n" + out)
            ours, theirs = cpython_heap(port, path)
            ms = int(vals["MS"])
            print(
                "| %.1f MB | %d B | %d B | %d B / %d B | %d B | %.2f s (%.1f MB/s) | %.1f KiB / %d KiB |"
                % (
                    size / 1048576,
                    int(vals["BASE"]),
                    int(vals["CONNECTED"]),
                    int(vals["LIVE_MAX"]),
                    int(vals["LIVE_MIN"]),
                    int(vals["LIVE_MAX"]) - int(vals["CONNECTED"]),
                    ms / 1000,
                    size / 1048576 / (ms / 1000),
                    ours / 1024,
                    theirs // 1024,
                )
            )
            os.remove(path)
        import shutil

        shutil.rmtree(tmpdir)
    finally:
        ctl.stop()


if __name__ == "__main__":
    main()
