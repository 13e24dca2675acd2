#!/usr/bin/env python3
"""permessage-deflate per message: ours against `websockets` (not a test).

Both servers' sans-I/O protocol objects (``microproto.ws_protocol`` with
``ws_deflate``, ``websockets.server.ServerProtocol`` with its default
``permessage-deflate``) are fed the same client messages, compressed and
masked as a client would send them for what each server negotiated, in
reads of ``--read-size`` bytes; each message is echoed (``--rx``: only
received, text decoded on both sides). No sockets, no event loop: the
figures are the codec and frame handling of the Autobahn 12.x/13.x cases
(payloads from the Autobahn test data that kosoku ships, the same sizes,
fragmentation and offers). Medians of alternating rounds, microseconds per
message; ratio = theirs / ours (> 1: we are faster).

    python3 tools/bench_ws_deflate.py [--rounds 5] [--count 100] [--rx]
        [--cases json:131072,lena:131072:0:0:256,json:1024:1:9]

A case is ``data:size[:no_context_takeover(0/1):server_max_window_bits:fragment]``
with data one of json, lena, faust, html, pdf.
"""

import argparse
import os
import re
import statistics
import sys
import time
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(ROOT, "lib"), os.path.join(ROOT, "ports", "cpython")]

from microproto import ws_deflate  # noqa: E402
from microproto.ws_protocol import ServerProtocol  # noqa: E402

FILES = {"json": ("data1.json", True), "lena": ("lena512.bmp", False), "faust": ("pg2229.txt", False),
         "html": ("data1.html", True), "pdf": ("10.1.1.105.5439.pdf", False)}
DEFAULT = ("json:64,json:1024,json:16384,json:131072,lena:1024,lena:131072,faust:131072,"
           "json:131072:0:0:256,json:131072:0:0:4096,json:131072:1:0,json:131072:0:9,json:1024:1:9")
KEY = b"\x37\xfa\x21\x3d"


def testdata(name):
    fn, text = FILES[name]
    try:
        import kosoku

        path = os.path.join(os.path.dirname(kosoku.__file__), "shim", "autobahntestsuite", "testdata", fn)
        with open(path, "rb") as f:
            return f.read(), text
    except (ImportError, OSError):
        # without kosoku: repetitive text, so that deflate has work to do
        words = [b"alpha", b"beta", b"gamma", b"delta", b"epsilon", b"zeta", b"eta", b"theta"]
        x, out = 7, []
        for _ in range(60000):
            x = (x * 1103515245 + 12345) & 0x7FFFFFFF
            out.append(words[x >> 16 & 7])
        return b" ".join(out), True


def messages(name, size, count):
    # as Autobahn's 12.x cases: consecutive slices of the file, wrapping
    data, text = testdata(name)
    out, p = [], 0
    for _ in range(count):
        q = (p + size) % len(data)
        out.append(data[p:q] if q > p else data[p:] + data[:q])
        p = q
    return out, text


def mask(payload):
    n = len(payload)
    k = (KEY * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def frame(op, payload, fin, rsv1):
    n = len(payload)
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | op
    if n < 126:
        h = bytes((b0, 0x80 | n))
    elif n < 65536:
        h = bytes((b0, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        h = bytes((b0, 0x80 | 127)) + n.to_bytes(8, "big")
    return h + KEY + mask(payload)


def client_wire(msgs, text, no_ctx, bits, frag):
    """The client's masked, compressed messages (window ``bits``)."""
    c = zlib.compressobj(6, zlib.DEFLATED, -bits, 8)
    wire = []
    for m in msgs:
        if no_ctx:
            c = zlib.compressobj(6, zlib.DEFLATED, -bits, 8)
        z = (c.compress(m) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
        op = 1 if text else 2
        if frag and len(z) > frag:
            parts = [z[i:i + frag] for i in range(0, len(z), frag)]
            wire.append(b"".join(frame(op if i == 0 else 0, part, i == len(parts) - 1, i == 0)
                                 for i, part in enumerate(parts)))
        else:
            wire.append(frame(op, z, True, True))
    return wire


def offer(no_ctx, sbits):
    # the offers of Autobahn's 12.x (default) and 13.x cases
    s = "permessage-deflate; client_max_window_bits"
    if no_ctx:
        s += "; client_no_context_takeover"
    if sbits:
        s += "; server_max_window_bits=%d" % sbits
    return s


class _Opts:
    max_window_bits = 15
    deflate_level = 6
    deflate_mem_level = 5  # microproto.websocket's defaults


def run_ours(wire, value, read_size, rx):
    d, resp = ws_deflate.accept([value], _Opts)
    p = ServerProtocol(max_size=None, deflate=d, scratch_size=read_size, parts=True)
    t = time.perf_counter()
    for w in wire:
        for i in range(0, len(w), read_size):
            p.receive_data(w[i:i + read_size])
        for ev in p.events_received():
            if ev[0] not in ("text", "binary"):
                raise SystemExit("ours: %r" % (ev,))
            if not rx:
                if ev[0] == "text":
                    p.send_text(ev[1])
                else:
                    p.send_binary(ev[1])
        p.data_to_send()
    return time.perf_counter() - t, resp


def run_theirs(wire, value, read_size, rx):
    from websockets.extensions.permessage_deflate import enable_server_permessage_deflate
    from websockets.frames import Opcode
    from websockets.headers import parse_extension
    from websockets.protocol import State
    from websockets.server import ServerProtocol as WSServer

    factory = enable_server_permessage_deflate(None)[0]
    resp, ext = factory.process_request_params(parse_extension(value)[0][1], [])
    p = WSServer(max_size=None, state=State.OPEN)
    p.extensions = [ext]
    t = time.perf_counter()
    for w in wire:
        for i in range(0, len(w), read_size):
            p.receive_data(w[i:i + read_size])
        for ev in p.events_received():
            if ev.opcode == Opcode.CLOSE:
                raise SystemExit("websockets closed: %r" % (p.close_exc,))
            text = ev.opcode == Opcode.TEXT
            if rx:
                if text:
                    ev.data.decode()
            elif text:
                p.send_text(ev.data)
            else:
                p.send_binary(ev.data)
        p.data_to_send()
    return time.perf_counter() - t, resp


def client_bits(resp):
    m = re.search(r"client_max_window_bits\D*(\d+)", str(resp))
    return int(m.group(1)) if m else 15


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--count", type=int, default=100, help="messages per case and round")
    ap.add_argument("--read-size", type=int, default=65536)
    ap.add_argument("--rx", action="store_true", help="receive only (no echo)")
    ap.add_argument("--cases", default=DEFAULT)
    a = ap.parse_args(argv)
    print("%-24s %10s %10s %6s" % ("case", "ours us", "ws us", "ratio"))
    tot = [0.0, 0.0]
    for case in a.cases.split(","):
        f = case.split(":") + ["0", "0", "0"]
        name, size, no_ctx, sbits, frag = f[0], int(f[1]), f[2] == "1", int(f[3]), int(f[4])
        msgs, text = messages(name, size, a.count)
        value = offer(no_ctx, sbits)
        runs = (run_ours, run_theirs)
        wires = [client_wire(msgs, text, no_ctx, client_bits(fn([], value, a.read_size, a.rx)[1]), frag) for fn in runs]
        for k in (0, 1):
            runs[k](wires[k][:2], value, a.read_size, a.rx)  # warm-up: lazy imports
        times = ([], [])
        for r in range(a.rounds):
            for k in ((0, 1) if r % 2 == 0 else (1, 0)):
                times[k].append(runs[k](wires[k], value, a.read_size, a.rx)[0])
        ours, theirs = statistics.median(times[0]), statistics.median(times[1])
        tot[0] += ours
        tot[1] += theirs
        print("%-24s %10.1f %10.1f %6.2f" % (case, ours / a.count * 1e6, theirs / a.count * 1e6, theirs / ours),
              flush=True)
    print("%-24s %10.3f %10.3f %6.2f  (seconds, all cases)" % ("total", tot[0], tot[1], tot[1] / tot[0]))


if __name__ == "__main__":
    main()
