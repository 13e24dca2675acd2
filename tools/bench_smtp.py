#!/usr/bin/env python3
"""SMTP client benchmark (not a test): ours against smtplib, both sending to
the same aiosmtpd in the same run.

    python3 tools/bench_smtp.py [--rounds 3] [--tiny] [--json FILE]
        [--count 600] [--mb 10] [--heapsize 64K] [--no-unix]

aiosmtpd runs in a process of its own for the whole run (its handler only
counts; it announces PIPELINING through aiosmtpd's ``handle_EHLO`` hook:
aiosmtpd 1.4 reads commands in order from one stream and answers them in
order, it only does not say so). Cases, each measured in N alternating
rounds, medians:

- small mails (10 lines) on one connection: mails/s. Our CPython client
  (``send_many``: PIPELINING across mails, one round trip per mail; and
  ``send`` per mail: MAIL, RCPT and DATA in one write, two round trips)
  and smtplib (``sendmail``: four round trips) each keep one connection
  and take turns in blocks of 50 mails (the machine's load hits all
  alike; the order of the turns rotates from block to block); our client
  on the MicroPython unix port (``send_many``) runs its block after them.
- the ceiling aiosmtpd sets, measured in the same turns: two REFERENCE
  rows (``Raw``: no client, a raw socket that sends the same commands and
  bodies and only counts replies and checks their first digit). One
  follows RFC 2920 as ours does (the last body's end and the next MAIL,
  RCPT and DATA in one write, then wait for the 354: one round trip per
  mail), the other sends each body with its envelope without waiting for
  the 354 (not allowed; aiosmtpd takes it): what the server alone allows.
- one large mail (``--mb``, 10 MB) from a file: MB/s from the first byte
  of MAIL to the final reply. Ours streams the file; smtplib is given
  ``f.read()`` (it cannot stream), the read included.
- unix port (``-X heapsize=64K``, modules as .mpy, the small-board settings
  ``bufsize=256, chunk=256, max_line=512``): live heap after the imports,
  after connecting and while sending 1 MB and ``--mb`` MB from a file
  (``gc.mem_alloc()`` after ``gc.collect()`` every 64 chunks), and the
  bytes allocated per body chunk and per mail line in steady state (GC off
  over 32 chunks).

Follows the contract of tools/bench.py: ratio > 1 means we are better; for
heap rows (lower is better) the ratio is peer / ours.
"""

import argparse
import json
import os
import shutil
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "lib"), str(ROOT / "ports" / "cpython")]

from microproto import smtp  # noqa: E402

SMALL = (
    b"From: bench@example.org\r\nTo: sink@example.org\r\nSubject: bench\r\n\r\n"
    + b"A small message body line.\r\n" * 10
)
LINE = b"0123456789abcdefghijklmnopqrstuvwxyz.0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ\r\n"
BLOCK = 50  # small mails per turn


class Sink:
    """An aiosmtpd handler that counts what arrives, keeps nothing, and
    announces PIPELINING (which aiosmtpd handles but does not announce)."""

    def __init__(self):
        self.count = 0
        self.bytes = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        return responses[:-1] + ["250-PIPELINING", responses[-1]]

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        self.bytes += len(envelope.original_content)
        return "250 2.0.0 OK"


SERVER = r"""
import sys, time
sys.path.insert(0, sys.argv[2])
from aiosmtpd.controller import Controller
from bench_smtp import Sink
ctl = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
ctl.start()
print("READY", flush=True)
sys.stdin.read()
ctl.stop()
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """aiosmtpd in its own process, up until ``stop()``."""

    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(self.port), str(ROOT / "tools")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        if self.proc.stdout.readline().strip() != "READY":
            raise SystemExit("aiosmtpd did not start")

    def stop(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- small mails --------------------------------------------------------------


def small_round(port, count):
    """Our client (``send_many`` in batches of BLOCK mails, and ``send`` per
    mail), smtplib (``sendmail`` per mail) and the two ``Raw`` references
    take turns in blocks of BLOCK mails (the first of a turn rotates), each
    on its own connection; returns mails/s of each."""
    spent = [0.0] * 5
    mail = ("bench@example.org", ["sink@example.org"], SMALL)
    refs = [Raw(port, True), Raw(port, False)]
    with smtp.SMTP("127.0.0.1", port, tls=None) as ours, smtp.SMTP("127.0.0.1", port, tls=None) as one, \
            smtplib.SMTP("127.0.0.1", port) as peer:

        def many(n):
            for r in ours.send_many([mail] * n):
                if r.reply.code != 250:
                    raise SystemExit("ours: refused: %r" % (r,))

        def each(n):
            for _ in range(n):
                one.send(*mail)

        def smtplib_(n):
            for _ in range(n):
                peer.sendmail(*mail)

        turns = [many, each, smtplib_, refs[0].block, refs[1].block]
        done = 0
        k = 0
        while done < count:
            n = min(BLOCK, count - done)
            # the order turns from block to block: none is always first
            for i in range(len(turns)):
                j = (i + k) % len(turns)
                t0 = time.perf_counter()
                turns[j](n)
                spent[j] += time.perf_counter() - t0
            k += 1
            done += n
    for r in refs:
        r.close()
    return [count / t for t in spent]


class Raw:
    """The reference, not a client: the least a client can do per mail on
    one socket, to measure the ceiling the server sets. The same mails and
    commands as ours (MAIL with SIZE and BODY=8BITMIME, RCPT, DATA), no
    parsing beyond counting replies and checking their first digit.

    ``strict``: RFC 2920 as ours does it: one write per mail carries the
    previous body's end and this mail's MAIL, RCPT and DATA, then wait for
    the 354 (one round trip per mail). Not strict: MAIL, RCPT, DATA and the
    body in one write without waiting for the 354 (RFC 2920 3.1 forbids
    it; aiosmtpd takes it), replies read once per block: the server alone."""

    def __init__(self, port, strict):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = bytearray(4096)
        self.rest = b""
        self.strict = strict
        self.replies(1)
        self.sock.sendall(b"EHLO localhost\r\n")
        self.replies(1)
        self.cmds = b"MAIL FROM:<bench@example.org> SIZE=%d BODY=8BITMIME\r\nRCPT TO:<sink@example.org>\r\nDATA\r\n" % len(SMALL)
        self.body = SMALL + b".\r\n"  # SMALL ends with CRLF and has no line starting with a dot

    def replies(self, n, last=b"2"):
        # read until n more replies are complete; each must be 2xx, the last
        # one ``last``xx
        got = 0
        data = self.rest
        s = 0
        while True:
            e = data.find(b"\n", s)
            if e < 0:
                k = self.sock.recv_into(self.buf)
                if not k:
                    raise SystemExit("reference: connection closed")
                data = data[s:] + self.buf[:k]
                s = 0
                continue
            if data[s + 3 : s + 4] != b"-":
                got += 1
                if data[s : s + 1] != (last if got == n else b"2"):
                    raise SystemExit("reference: refused: %r" % data[s:e])
            s = e + 1
            if got == n:
                self.rest = data[s:]
                return

    def block(self, n):
        if self.strict:
            tail = b""
            for _ in range(n):
                self.sock.sendall(tail + self.cmds)
                self.replies(4 if tail else 3, b"3")
                tail = self.body
            self.sock.sendall(tail)
            self.replies(1)
        else:
            one = self.cmds + self.body
            for _ in range(n):
                self.sock.sendall(one)
            for _ in range(n):
                self.replies(3, b"3")
                self.replies(1)

    def close(self):
        self.sock.sendall(b"QUIT\r\n")
        self.replies(1)
        self.sock.close()


MP_RATE = r"""
import sys, time
from microproto import smtp
n = int(sys.argv[2])
body = (b"From: bench@example.org\r\nTo: sink@example.org\r\nSubject: bench\r\n\r\n"
        + b"A small message body line.\r\n" * 10)
mail = ("bench@example.org", ["sink@example.org"], body)
with smtp.SMTP("127.0.0.1", int(sys.argv[1]), tls=None) as s:
    t0 = time.ticks_ms()
    done = 0
    while done < n:
        k = min(50, n - done)
        for r in s.send_many([mail] * k):
            if r.reply.code != 250:
                raise SystemExit("refused")
        done += k
    dt = time.ticks_diff(time.ticks_ms(), t0)
print("RATE", n * 1000 / dt)
"""

# -- one large mail -------------------------------------------------------------


def large_ours(port, path):
    with smtp.SMTP("127.0.0.1", port, tls=None) as s:
        t0 = time.perf_counter()
        with open(path, "rb") as f:
            r = s.send("bench@example.org", ["sink@example.org"], f)
        dt = time.perf_counter() - t0
    if r.reply.code != 250:
        raise SystemExit("ours: large mail refused: %s" % r.reply)
    return dt


def large_peer(port, path):
    with smtplib.SMTP("127.0.0.1", port) as s:
        t0 = time.perf_counter()
        with open(path, "rb") as f:
            s.sendmail("bench@example.org", ["sink@example.org"], f.read())
        return time.perf_counter() - t0


MP_LARGE = r"""
import sys, time
from microproto import smtp
with smtp.SMTP("127.0.0.1", int(sys.argv[1]), tls=None) as s:
    t0 = time.ticks_ms()
    with open(sys.argv[2], "rb") as f:
        r = s.send("bench@example.org", ["sink@example.org"], f)
    dt = time.ticks_diff(time.ticks_ms(), t0)
print("MS", dt, "REPLY", r.reply.code)
"""

# -- heap on the unix port ------------------------------------------------------

MP_HEAP = r"""
import gc, sys, time
from microproto import smtp

port, path = int(sys.argv[1]), sys.argv[2]
live = [0, 1 << 30]  # max, min
alloc = [0, 0]  # bytes allocated over the window, chunks in it
W0 = 70  # the window: GC off from chunk W0 to W0 + 32 (between two samples)
W1 = W0 + 32

class Sampling:
    # a file whose reads sample the live heap (after a collection) now and
    # then, and measure what is allocated between two reads with GC off
    def __init__(self, f):
        self.f = f
        self.n = 0
    def readinto(self, b):
        self.n += 1
        n = self.n
        if n == W1:
            alloc[0] = gc.mem_alloc() - alloc[0]
            alloc[1] = W1 - W0
            gc.enable()
        # from the second read on: at the first, the envelope's replies
        # (garbage once sent) may still be held by a stale stack slot
        if n % 64 == 1 and n > 1:
            gc.collect()
            m = gc.mem_alloc()
            if m > live[0]:
                live[0] = m
            if m < live[1]:
                live[1] = m
        if n == W0:
            gc.collect()
            gc.disable()
            alloc[0] = gc.mem_alloc()
        return self.f.readinto(b)

gc.collect()
base = gc.mem_alloc()
# the small-board settings: 256-byte receive buffer and body chunks
s = smtp.SMTP("127.0.0.1", port, tls=None, bufsize=256, chunk=256, max_line=512)
gc.collect()
connected = gc.mem_alloc()
t0 = time.ticks_ms()
with open(path, "rb") as f:
    r = s.send("bench@example.org", ["sink@example.org"], Sampling(f))
dt = time.ticks_diff(time.ticks_ms(), t0)
s.quit()
print("BASE", base, "CONNECTED", connected, "LIVE_MAX", live[0], "LIVE_MIN", live[1],
      "MS", dt, "REPLY", r.reply.code, "ALLOC", alloc[0], "CHUNKS", alloc[1])
"""

MODULES = {
    "microproto": (ROOT / "lib" / "microproto", None),
    "microproto_port": (ROOT / "ports" / "micropython" / "microproto_port", None),
}


def build_mpy(dest):
    """Precompile the library and the MicroPython port with mpy-cross, as a
    board gets them: compiling the sources needs more heap than running them."""
    for pkg, (src, _) in MODULES.items():
        os.makedirs(os.path.join(dest, pkg), exist_ok=True)
        for name in sorted(os.listdir(src)):
            if name.endswith(".py"):
                out = os.path.join(dest, pkg, name[:-3] + ".mpy")
                subprocess.run(["mpy-cross", "-march=x64", "-o", out, str(src / name)], check=True)


def run_mp(script, args, heapsize=None, mpy_dir=None):
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(script)
        path = f.name
    env = dict(os.environ)
    try:
        argv = [str(ROOT / "tools" / "micropython")]
        if mpy_dir:
            # the bare binary, with only the precompiled modules on the path
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


def values(out):
    words = out.split()
    return dict((words[i], words[i + 1]) for i in range(0, len(words) - 1, 2))


CP_HEAP = r"""
import smtplib, sys, tracemalloc
sys.path[:0] = [sys.argv[4] + "/lib", sys.argv[4] + "/ports/cpython"]
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


def cpython_heap(port, path, which):
    """Growth of the traced heap of a client process while it sends ``path``
    (tracemalloc peak minus the heap before)."""
    p = subprocess.run([sys.executable, "-c", CP_HEAP, str(port), path, which, str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise SystemExit("CPython client failed:\n" + p.stdout + p.stderr)
    return int(p.stdout.split("PEAK")[1].split()[0])


def make_message(path, mb):
    """``mb`` MB of 76-byte CRLF lines, every 50th starting with a dot."""
    n = mb * 1000 * 1000 // len(LINE)
    with open(path, "wb") as f:
        f.write(b"Subject: large\r\n\r\n")
        for i in range(n):
            f.write(b"." + LINE if i % 50 == 0 else LINE)
    return os.path.getsize(path), n


def med(xs):
    return statistics.median(xs) if xs else None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (medians)")
    ap.add_argument("--tiny", action="store_true", help="a smoke run of a few seconds")
    ap.add_argument("--json", help="write the figures here (tools/bench.py contract)")
    ap.add_argument("--count", type=int, default=600, help="small mails per client and round")
    ap.add_argument("--mb", type=int, default=10, help="size of the large mail in MB")
    ap.add_argument("--heapsize", default="64K", help="unix port heap for the heap figures")
    ap.add_argument("--no-unix", action="store_true", help="skip the MicroPython unix port")
    args = ap.parse_args()
    if args.tiny:
        args.rounds, args.count, args.mb = 1, 50, 1
    unix = not args.no_unix and shutil.which("micropython") is not None

    import aiosmtpd

    tmp = tempfile.mkdtemp(prefix="bench-smtp-")
    srv = Server()
    port = srv.port
    rates = {"ours": [], "one": [], "peer": [], "mp": [], "ref": [], "ref0": []}
    large = {"ours": [], "peer": [], "mp": []}
    notes = []
    try:
        big, _ = make_message(os.path.join(tmp, "big.eml"), args.mb)
        bigpath = os.path.join(tmp, "big.eml")
        # warm up both clients and the server
        small_round(port, BLOCK)
        for _ in range(args.rounds):
            o, one, p, ref, ref0 = small_round(port, args.count)
            rates["ref"].append(ref)
            rates["ref0"].append(ref0)
            rates["ours"].append(o)
            rates["one"].append(one)
            rates["peer"].append(p)
            if unix:
                rates["mp"].append(float(values(run_mp(MP_RATE, [port, args.count]))["RATE"]))
            # the large mail: the order turns from round to round
            order = ["ours", "peer"] if len(large["ours"]) % 2 == 0 else ["peer", "ours"]
            for who in order:
                large[who].append(big / 1e6 / (large_ours if who == "ours" else large_peer)(port, bigpath))
            if unix:
                v = values(run_mp(MP_LARGE, [port, bigpath]))
                if v["REPLY"] != "250":
                    raise SystemExit("unix port: large mail refused")
                large["mp"].append(big / 1e6 / (int(v["MS"]) / 1000))

        rows = []

        def row(case, runtime, unit, ours, peer, goal, lower_better=False):
            ratio = None
            if ours and peer:
                ratio = round(peer / ours if lower_better else ours / peer, 2)
            rows.append({"case": case, "runtime": runtime, "unit": unit,
                         "ours": None if ours is None else round(ours, 1),
                         "peer": None if peer is None else round(peer, 1), "ratio": ratio, "goal": goal})

        row("small mails, 1 connection", "cpython", "mails/s", med(rates["ours"]), med(rates["peer"]), 1.5)
        row("small mails, 1 connection, send() per mail", "cpython", "mails/s", med(rates["one"]), med(rates["peer"]),
            None)
        if unix:
            row("small mails, 1 connection", "micropython", "mails/s", med(rates["mp"]), med(rates["peer"]), None)
        # the ceiling the server sets (Raw): a reference, not a client
        row("small mails, 1 connection: REFERENCE, not a client: raw socket, RFC 2920 (one round trip per mail)",
            "cpython", "mails/s", med(rates["ref"]), med(rates["peer"]), None)
        row("small mails, 1 connection: REFERENCE, not a client: raw socket, body not waiting for 354 (not RFC)",
            "cpython", "mails/s", med(rates["ref0"]), med(rates["peer"]), None)
        case = "%d MB mail from a file" % args.mb
        row(case, "cpython", "MB/s", med(large["ours"]), med(large["peer"]), 1.0)
        if unix:
            row(case, "micropython", "MB/s", med(large["mp"]), med(large["peer"]), None)

        heap = []
        ours_peak = cpython_heap(port, bigpath, "ours")
        peer_peak = cpython_heap(port, bigpath, "smtplib")
        row(case + ": heap growth while sending", "cpython", "KiB (lower is better)", ours_peak / 1024,
            peer_peak / 1024, None, lower_better=True)
        if unix:
            mpy = os.path.join(tmp, "mpy")
            build_mpy(mpy)
            sizes = [1] if args.mb == 1 else [1, args.mb]
            for mb in sizes:
                path = bigpath if mb == args.mb else os.path.join(tmp, "m%d.eml" % mb)
                if mb != args.mb:
                    make_message(path, mb)
                size = os.path.getsize(path)
                v = values(run_mp(MP_HEAP, [port, path], args.heapsize, mpy))
                if v["REPLY"] != "250":
                    raise SystemExit("unix port: heap run refused")
                lines_per_chunk = 256 / len(LINE)
                heap.append((mb, size, v))
                notes.append(
                    "unix port, -X heapsize=%s, .mpy, bufsize=256 chunk=256: %d MB from a file: live heap %s B "
                    "after the imports, %s B connected, %s-%s B while sending (%+d B over connected); "
                    "%s B allocated over %s body chunks in steady state (%.1f B per chunk, %.2f B per line)"
                    % (args.heapsize, mb, v["BASE"], v["CONNECTED"], v["LIVE_MIN"], v["LIVE_MAX"],
                       int(v["LIVE_MAX"]) - int(v["CONNECTED"]), v["ALLOC"], v["CHUNKS"],
                       int(v["ALLOC"]) / int(v["CHUNKS"]), int(v["ALLOC"]) / int(v["CHUNKS"]) / lines_per_chunk))
        if rates["ref"]:
            per = lambda a, b: med([x / y for x, y in zip(rates[a], rates[b])])
            notes.insert(0, "the ceiling aiosmtpd sets (the REFERENCE rows: a raw socket, no client; RFC 2920 lets no "
                         "body leave before its 354): %.2fx smtplib; ours reaches %.2f of it on CPython%s "
                         "(medians of the per-round ratios)"
                         % (per("ref", "peer"), per("ours", "ref"),
                            ", %.2f on the unix port" % per("mp", "ref") if rates["mp"] else ""))
        notes.insert(0, "aiosmtpd %s in its own process, announcing PIPELINING through its handle_EHLO hook; "
                     "%d small mails per client and round in turns of %d; large mail %.1f MB, 76-byte lines, "
                     "every 50th dot-stuffed; smtplib gets f.read() (read included); %d rounds, medians"
                     % (aiosmtpd.__version__, args.count, BLOCK, big / 1e6, args.rounds))
    finally:
        srv.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    if args.json:
        data = {
            "topic": "smtp",
            "peer": "smtplib (CPython %s) -> aiosmtpd %s" % (sys.version.split()[0], aiosmtpd.__version__),
            "rows": rows,
            "notes": notes,
            "command": "python3 tools/bench_smtp.py" + (" --tiny" if args.tiny else " --rounds %d" % args.rounds),
        }
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1)
    print("| case | runtime | unit | ours | smtplib | ratio | goal |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %s | %s | %s | %s | %s | %s | %s |" % (r["case"], r["runtime"], r["unit"], r["ours"], r["peer"],
                                                     r["ratio"], r["goal"] if r["goal"] is not None else "-"))
    print()
    print("rounds: ours %s; ours, send() per mail %s; smtplib %s; unix port %s; reference RFC 2920 %s; "
          "reference not RFC %s (mails/s)" % tuple([round(x) for x in rates[k]]
                                                  for k in ("ours", "one", "peer", "mp", "ref", "ref0")))
    print("large: ours %s; smtplib %s; unix port %s (MB/s)" % (
        [round(x, 1) for x in large["ours"]], [round(x, 1) for x in large["peer"]], [round(x, 1) for x in large["mp"]]))
    for n in notes:
        print("- " + n)


if __name__ == "__main__":
    main()
