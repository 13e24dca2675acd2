"""The Autobahn TestSuite cases (PyPI kosoku) against our echo server: the
CI subset (groups 1-7 and 10, about 250 cases) on both runtimes must give
no FAILED, NON-STRICT or UNIMPLEMENTED case. The whole suite is
``tools/autobahn.sh cpython full`` (see docs/websocket.md)."""

import os
import subprocess

from conftest import ROOT


def _run(runtime, tmp_path, *sel):
    env = dict(os.environ, OUT=str(tmp_path))
    r = subprocess.run([str(ROOT / "tools" / "autobahn.sh"), runtime] + list(sel), capture_output=True,
                       text=True, timeout=900, cwd=str(ROOT), env=env)
    return r.returncode, r.stdout + r.stderr


def test_autobahn_ci_subset(runtime, tmp_path):
    rc, out = _run(runtime, tmp_path, "ci")
    assert rc == 0, out
    assert "247 cases:" in out and "OK 244" in out and "INFORMATIONAL 3" in out, out


def test_autobahn_compression_sample(runtime, tmp_path):
    # a slice of groups 12 and 13: compressed echo of small messages with
    # each negotiation offer (13.1-13.7); the whole groups take minutes
    cases = ["12.1.1", "12.1.5", "12.2.3", "12.4.1", "12.5.2"] + ["13.%d.%d" % (g, c) for g in range(1, 8) for c in (1, 4)]
    rc, out = _run(runtime, tmp_path, *cases)
    assert rc == 0, out
    assert "FAILED" not in out and "NON-STRICT" not in out, out
