"""The README's two commands, guarded (issue 12).

tools/commands.txt holds them; the README must show each verbatim, .ci/run
runs the test command from there, and the demo command is run here as
someone new runs it: a fresh virtual environment (nothing of this machine's
site-packages), the README's own line with its ``python3`` being the venv's,
then ``tools/demo`` logging in over both consoles and evaluating 6*7.
tools/test runs this file as its own stage ("newcomer"). pip in the fresh
venv downloads from the package registry (reachable in CI).
"""

import os
import shutil
import subprocess
import sys
import tempfile

from conftest import ROOT
from test_examples import free_port


def commands():
    out = {}
    with open(os.path.join(str(ROOT), "tools", "commands.txt")) as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                name, cmd = line.split(": ", 1)
                out[name] = cmd
    return out


def test_the_readme_shows_both_commands_as_tested():
    cmds = commands()
    assert sorted(cmds) == ["demo", "test"], cmds
    with open(os.path.join(str(ROOT), "README.md")) as f:
        readme = f.read()
    for name, cmd in cmds.items():
        assert "```sh\n%s\n```" % cmd in readme, "README.md does not show the %s command %r" % (name, cmd)


def test_ci_runs_the_test_command_from_the_same_place():
    with open(os.path.join(str(ROOT), ".ci", "run")) as f:
        ci = f.read()
    assert "tools/commands.txt" in ci and "'s/^test: //p'" in ci
    out = subprocess.run(["sed", "-n", "s/^test: //p", "tools/commands.txt"], cwd=str(ROOT), capture_output=True,
                         text=True).stdout.strip()
    assert out == commands()["test"]


def test_a_newcomer_runs_the_demo_command_in_a_fresh_venv():
    venv = tempfile.mkdtemp(prefix="microproto-newcomer-")
    try:
        r = subprocess.run([sys.executable, "-m", "venv", venv], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, "python3 -m venv failed:\n" + r.stdout + r.stderr
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        # what `source VENV/bin/activate` does
        env["VIRTUAL_ENV"] = venv
        env["PATH"] = os.path.join(venv, "bin") + os.pathsep + env.get("PATH", "")
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        env["PIP_ROOT_USER_ACTION"] = "ignore"
        line = commands()["demo"] + " --timeout-s 1 --http-port %d --telnet-port %d" % (free_port(), free_port())
        r = subprocess.run(["bash", "-c", line], cwd=str(ROOT), env=env, capture_output=True, text=True,
                           timeout=900)
        out = r.stdout + r.stderr
        assert r.returncode == 0, "%s\nexit %d:\n%s" % (line, r.returncode, out)
        assert "board> console: open http://127.0.0.1:" in out, out
        assert "check over WebSocket: 6*7 -> 6*7 | 42 | >>>" in out, out
        assert "check over Telnet:    6*7 -> " in out and "42 | >>>" in out, out
        assert "virtual board stopped" in out, out
        # the demo ran on the venv's packages, not this machine's
        py = os.path.join(venv, "bin", "python3")
        r = subprocess.run([py, "-c", "import websockets, mpremote, microproto; print(websockets.__file__)"],
                           env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0 and r.stdout.startswith(venv), r.stdout + r.stderr
    finally:
        shutil.rmtree(venv, ignore_errors=True)
