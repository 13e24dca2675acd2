import json
import sys

from microproto import status

MICROPYTHON = sys.implementation.name == "micropython"


def test_snapshot_has_every_key():
    d = status.snapshot(status.now_s(), sessions={"websocket": 1, "telnet": 0}, address="10.0.0.7")
    assert sorted(d) == sorted(status.KEYS)
    assert d["sessions"] == {"websocket": 1, "telnet": 0}
    assert d["address"] == "10.0.0.7"
    assert d["last_error"] is None
    assert d["runtime"] == sys.implementation.name


def test_uptime_counts_from_started():
    d = status.snapshot(status.now_s() - 5)
    assert d["uptime_s"] >= 5 and isinstance(d["uptime_s"], int)
    assert status.snapshot()["uptime_s"] is None


def test_heap_figures_where_the_runtime_has_them():
    d = status.snapshot()
    if MICROPYTHON:
        assert d["heap_free"] > 0
        assert 0 < d["heap_largest_free"] <= d["heap_free"]
    else:
        assert d["heap_free"] is None and d["heap_largest_free"] is None


def test_without_probe_the_largest_block_is_not_measured():
    assert status.snapshot(probe=False)["heap_largest_free"] is None


class _Gate:
    sessions = 2  # one session and the /status request itself


class _Telnet:
    sessions = 1
    last_error = "ValueError: bad"


class _Server:
    def __init__(self, telnet=None):
        self.gate = _Gate()
        self.board = [status.now_s() - 2, "10.0.0.7", telnet]
        self.last_error = None


def test_console_status_probes_the_largest_block_only_where_the_heap_cannot_grow():
    assert status.PROBE == (sys.platform != "esp32")
    saved = status.PROBE
    try:
        status.PROBE = False
        d = status.console_status(_Server())
        assert d["heap_largest_free"] is None and d["address"] == "10.0.0.7" and d["uptime_s"] >= 2
        assert d["sessions"] == {"websocket": 1} and d["last_error"] is None
        status.PROBE = True
        d = status.console_status(_Server(_Telnet()))
        assert (d["heap_largest_free"] is not None) == MICROPYTHON
        assert d["sessions"] == {"websocket": 1, "telnet": 1} and d["last_error"] == "ValueError: bad"
    finally:
        status.PROBE = saved


def test_largest_free_block_never_exceeds_its_limit():
    assert status.largest_free_block(0) == 0
    n = status.largest_free_block(20000, probe_steps=20, probe_grain=64)
    assert 20000 - 64 <= n <= 20000  # 20 kB is there to take on every runtime and board we test on


def test_largest_free_block_stops_after_its_steps():
    assert status.largest_free_block(20000, probe_steps=0) == 0
    assert status.largest_free_block(20000, probe_steps=1, probe_grain=64) == 10000


def test_last_error_is_short_text():
    assert status.error_text(ValueError("bad thing")) == "ValueError: bad thing"
    assert status.error_text(OSError()) == "OSError"
    assert status.error_text("already text") == "already text"
    long = status.error_text(RuntimeError("x" * 500), max_error=40)
    assert len(long) == 40 and long.endswith("...") and long.startswith("RuntimeError: xxx")
    assert status.snapshot(last_error=KeyError("k"))["last_error"].startswith("KeyError")


def test_to_json_is_the_same_text_on_both_runtimes():
    d = {"runtime": "cpython", "uptime_s": 3, "heap_free": None, "heap_largest_free": None, "sessions": 2,
         "address": None, "last_error": "E: x", "extra": [1]}
    text = status.to_json(d)
    assert text == ('{"uptime_s": 3, "heap_free": null, "heap_largest_free": null, "sessions": 2, '
                    '"address": null, "last_error": "E: x", "runtime": "cpython", "extra": [1]}')
    assert json.loads(text) == d


def test_to_json_of_a_snapshot_parses_back():
    d = status.snapshot(status.now_s(), sessions=0, address="127.0.0.1", last_error=ValueError("v"))
    assert json.loads(status.to_json(d)) == d
