"""The asyncio driver's write deadline (issue 9 defect 7): microproto.smtp's
AsyncSMTP against a real server socket that stops reading after DATA must
give up within ``timeout_ms`` (plus a margin), on both runtimes."""

import socket
import subprocess
import threading

from conftest import MICROPYTHON, ROOT, cpython_env
from hostile import port
import sys

TIMEOUT_MS = 1000
MARGIN_MS = 4000


def _stalling_server(lsock, done):
    s, _ = lsock.accept()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    f = s.makefile("rb")
    s.sendall(b"220 stall.example ESMTP\r\n")
    while True:
        line = f.readline()
        if not line:
            break
        cmd = line[:4].upper()
        if cmd in (b"EHLO", b"HELO"):
            s.sendall(b"250-stall.example\r\n250 PIPELINING\r\n")
        elif cmd == b"DATA":
            s.sendall(b"354 go on\r\n")
            break  # and read nothing more
        else:
            s.sendall(b"250 ok\r\n")
    done.wait(30)
    s.close()
    lsock.close()


def test_async_smtp_send_gives_up_at_timeout_when_server_stops_reading(runtime, tmp_path):
    msg = tmp_path / "big.eml"
    msg.write_bytes(b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 8192)  # 8 MB
    p = port()
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", p))
    lsock.listen(1)
    done = threading.Event()
    t = threading.Thread(target=_stalling_server, args=(lsock, done), daemon=True)
    t.start()
    script = str(ROOT / "tests" / "peers" / "aio_deadline_client.py")
    argv = [sys.executable, script] if runtime == "cpython" else [MICROPYTHON, script]
    try:
        r = subprocess.run(argv + [str(p), str(TIMEOUT_MS), str(msg)], capture_output=True, text=True, timeout=60,
                           env=cpython_env(), cwd=str(ROOT))
    finally:
        done.set()
    line = [x for x in r.stdout.splitlines() if x.startswith("RESULT")]
    assert line, r.stdout + r.stderr
    _, ms, end = line[0].split()
    print("FIGURE smtp send blocked by a server that stopped reading (ms): %s (limit %d)" % (ms, TIMEOUT_MS))
    assert end != "sent"
    assert int(ms) <= TIMEOUT_MS + MARGIN_MS
