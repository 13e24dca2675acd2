"""The footprint guard: heap figures of the 64-bit MicroPython unix port
(modules as .mpy) must not grow past tests/footprint_budget.json by more
than each entry's tolerance (2% unless the entry says why). Measured with
tools/footprint.py: the import of every module and the fast scenarios
(WebSocket without deflate, Telnet, the console, an SMTP send of 1 MB to
aiosmtpd). The smallest-heap bisection and the noisier scenarios are
checked by ``tools/footprint.py --check``, not here. ``FOOTPRINT_REV=HEAD``
measures a git revision instead of the work tree.

No timing is asserted, and only deterministic figures are compared: the
budget entries with a wider tolerance (the servers' per-frame and
per-keystroke figures, which depend on how the client's frames land on the
server's reads, and the smallest heaps) are left to
``tools/footprint.py --check``."""

import os
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))

import footprint  # noqa: E402

BUDGET = footprint.load_budget()


@pytest.fixture(scope="module")
def fsdir(tmp_path_factory):
    # FOOTPRINT_REV=HEAD measures the last commit instead of the work tree
    return footprint.build_fs(str(tmp_path_factory.mktemp("footprint")), os.environ.get("FOOTPRINT_REV"))


def _check(figures):
    over, checked = footprint.check_budget(figures, BUDGET, deterministic_only=True)
    assert checked, "no figure of this run has a budget: %s" % sorted(figures)
    assert not over, "\n".join(over)


def test_budget_file_is_well_formed():
    assert 0 < BUDGET["tolerance"] <= 0.02
    for key, entry in BUDGET["budgets"].items():
        assert "." in key and entry["bytes"] >= 0, key
        # a wider tolerance, or a budget raised, says why
        if entry.get("tolerance", BUDGET["tolerance"]) > BUDGET["tolerance"]:
            assert entry.get("why"), key


def test_import_heap_of_every_module_within_budget(fsdir):
    rows = footprint.measure_imports(fsdir)
    failed = [(name, what) for name, heap, what, _ in rows if heap is None and what != "not present"]
    assert not failed, "imports failed: %s" % failed
    figures = {"import." + name: heap for name, heap, _, _ in rows if heap is not None}
    # the facades the issue names are measured when present
    assert "import.websocket" in figures and "import.telnet" in figures, sorted(figures)
    _check(figures)


@pytest.mark.parametrize("scenario", ["ws", "telnet", "console", "smtp"])
def test_scenario_heap_within_budget(fsdir, scenario):
    res = footprint.SCENARIOS[scenario][1](fsdir, footprint.MEASURE_HEAP, True)
    figures = {"%s.%s" % (scenario, k): v for k, v in res.items()}
    _check(figures)


def _run_manifest(path, seen):
    """Execute a MicroPython freeze manifest with its commands checked:
    every path it names exists and is what the command needs; returns the
    .py files it would freeze."""
    here = os.path.dirname(os.path.abspath(path))
    frozen = []

    def rel(p, base="."):
        return os.path.normpath(os.path.join(here, base, p))

    def include(p, **kw):
        if p.startswith("$(PORT_DIR)") or p.startswith("$(MPY_DIR)"):
            seen.append(p)  # the port's own manifest: in the MicroPython tree
            return
        frozen.extend(_run_manifest(rel(p), seen))

    def package(name, files=None, base_path=".", opt=None):
        d = rel(name, base_path)
        assert os.path.isfile(os.path.join(d, "__init__.py")), "%s: package %r has no __init__.py at %s" % (path, name, d)
        for root, _, names in os.walk(d):
            frozen.extend(os.path.join(root, n) for n in names if n.endswith(".py") and (files is None or n in files))

    def module(name, base_path=".", opt=None):
        f = rel(name, base_path)
        assert os.path.isfile(f) and f.endswith(".py"), "%s: module %r not found at %s" % (path, name, f)
        frozen.append(f)

    def metadata(**kw):
        pass

    def require(name, **kw):
        seen.append("require:" + name)

    def freeze(p, script=None, opt=None):
        raise AssertionError("%s: use package()/module(), not the legacy freeze()" % path)

    def options(**kw):
        pass

    with open(path) as f:
        code = compile(f.read(), path, "exec")
    exec(code, {"include": include, "package": package, "module": module, "metadata": metadata,
                "require": require, "freeze": freeze, "options": options, "add_library": lambda *a, **k: None})
    return frozen


@pytest.mark.parametrize("board", sorted(os.listdir(str(ROOT / "boards"))))
def test_board_manifest_is_a_valid_freeze_manifest(board, tmp_path):
    path = ROOT / "boards" / board / "manifest.py"
    seen = []
    files = _run_manifest(str(path), seen)
    assert any(s.startswith("$(PORT_DIR)") for s in seen), "keep the port's own frozen modules (asyncio, ...)"
    names = {os.path.relpath(f, str(ROOT)) for f in files}
    assert "lib/microproto/__init__.py" in names and "ports/micropython/microproto_port/__init__.py" in names, names
    # what a firmware build would freeze compiles for the board's architecture
    # (mpy-cross is what the build runs; viper code needs the arch)
    arch = footprint.boardlib.board_config(board)["mpy_arch"]
    for i, f in enumerate(sorted(files)):
        footprint.boardlib.mpy_cross(f, str(tmp_path / ("%d.mpy" % i)), arch)
