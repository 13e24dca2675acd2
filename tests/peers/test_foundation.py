"""The foundation on real runtimes: imports, the tools, the virtual board."""

import os
import subprocess
import sys

from conftest import MICROPYTHON, ROOT, cpython_env


def _run(argv, timeout=60, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=str(ROOT), **kw)


def test_import_is_lazy_on_cpython():
    r = _run([sys.executable, "-c", "import sys, microproto; print(sorted(m for m in sys.modules if m.startswith('microproto')))"],
             env=cpython_env())
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['microproto']", r.stdout


def test_import_in_a_64k_heap_on_the_unix_port():
    code = "import gc, sys; gc.collect(); a = gc.mem_alloc(); import microproto; gc.collect(); " \
           "print(sorted(m for m in sys.modules if m.startswith('microproto')), gc.mem_alloc() - a)"
    r = _run([MICROPYTHON, "-X", "heapsize=64K", "-c", code])
    assert r.returncode == 0, r.stdout + r.stderr
    mods, cost = r.stdout.rsplit(" ", 1)
    assert mods == "['microproto']", r.stdout
    assert int(cost) < 2048, "import microproto cost %s bytes of heap" % cost


def test_tools_micropython_passes_arguments_through():
    r = _run([MICROPYTHON, "-c", "import sys; print(sys.argv)", "a", "b c"])
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "['-c', 'a', 'b c']" or r.stdout.strip().endswith("'a', 'b c']"), r.stdout


def test_deploy_dry_run_lists_library_port_and_board():
    # a real board's port (a dry run opens nothing); with the default
    # --port virtual, deploy.py gives the virtual board that board's heap
    # and keeps the UNIX board's own files
    r = _run([sys.executable, "tools/deploy.py", "--board", "ESP32_GENERIC", "--port", "/dev/ttyUSB0", "--dry-run"])
    assert r.returncode == 0, r.stderr
    assert "lib/microproto/buffer.py -> :lib/microproto/buffer.mpy" in r.stdout
    assert "ports/micropython/microproto_port/net.py -> :lib/microproto_port/net.mpy" in r.stdout
    assert "boards/ESP32_GENERIC/board.py -> :board.py" in r.stdout
    assert "ports/cpython" not in r.stdout


def test_virtual_board_answers_mpremote_after_deploy(tmp_path):
    link = str(tmp_path / "tty")
    vb = subprocess.Popen([sys.executable, "tools/virtual_board.py", "--dir", str(tmp_path / "fs"), "--link", link,
                           "--timeout-s", "120"], cwd=str(ROOT), stdout=subprocess.PIPE, text=True)
    try:
        assert vb.stdout.readline().startswith("DEVICE ")
        sys.path.insert(0, str(ROOT / "tools"))
        import boardlib

        board = boardlib.board_config("UNIX")
        built = boardlib.build(boardlib.plan("UNIX", board), False, board["mpy_arch"])
        boardlib.install(link, built, ["lib/microproto", "lib/microproto_port"], progress=lambda s: None)
        assert os.path.exists(tmp_path / "fs" / "lib" / "microproto" / "buffer.mpy")
        r = _run(["mpremote", "connect", link, "resume", "exec",
                  "import microproto, microproto.buffer as b; print(microproto.__version__, b.__file__)"])
        assert r.returncode == 0, r.stderr
        assert r.stdout.split() == ["0.1.0", "lib/microproto/buffer.mpy"], r.stdout
    finally:
        vb.terminate()
        vb.wait(10)
