"""The README's demo command, as a user runs it (minus the wait): deploy to
a virtual board of the demo's own over its pty, start the console on the
board, log in over WebSocket and Telnet and evaluate 6*7. (In a fresh venv,
with nothing but the README's install line: test_newcomer.py.)"""

import subprocess
import sys

from conftest import ROOT
from test_examples import free_port


def test_demo_runs_the_console_on_the_virtual_board():
    r = subprocess.run([sys.executable, "tools/demo", "--timeout-s", "1", "--http-port", str(free_port()),
                        "--telnet-port", str(free_port())], cwd=str(ROOT), capture_output=True, text=True,
                       timeout=180)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    # by default the virtual board has an ESP32's heap (issue 8), not the unix port's 2M
    assert "(heap of ESP32_GENERIC: 154K)" in out, out
    heap = int(out.split("board> board heap: ", 1)[1].split()[0])
    assert 140 * 1024 < heap <= 154 * 1024, out
    assert "board> console: open http://127.0.0.1:" in out, out
    assert "check over WebSocket: 6*7 -> 6*7 | 42 | >>>" in out, out
    assert "check over Telnet:    6*7 -> " in out and "42 | >>>" in out, out
    assert "virtual board stopped" in out
