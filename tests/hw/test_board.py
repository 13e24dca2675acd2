"""Hardware tests: run on a board (or the virtual board) by tools/hwtest.py."""

import gc
import sys


def test_runs_on_micropython_with_the_micropython_port():
    import microproto_port

    assert sys.implementation.name == "micropython"
    assert microproto_port.RUNTIME == "micropython"


def test_library_was_deployed_not_borrowed():
    import microproto

    # on a board the library comes from its own filesystem (lib/), compiled
    # unless deployed with --source
    f = microproto.__file__
    assert "lib/microproto/__init__." in f, f


def test_network_up_and_heap_budget():
    import board

    ip = board.network_up()
    assert ip.count(".") == 3, ip
    gc.collect()
    assert gc.mem_free() > board.HEAP_BUDGET // 2, gc.mem_free()
