"""microproto.auth without a server: the constant-time compare and the
gate's bookkeeping (time passed in, ms; portable, no sockets)."""

from microproto.auth import Gate, password_equal
from microproto_port import ticks_add


def test_password_equal_str_and_bytes():
    assert password_equal("s3cret", "s3cret") and password_equal(b"s3cret", "s3cret")
    assert password_equal("p\u00e4ss", b"p\xc3\xa4ss") and password_equal("", b"")
    for a, b in (("s3cret", "s3creT"), ("s3cret", "s3cret "), ("", "x"), (b"\x00", b""), ("a" * 100, "a" * 99)):
        assert not password_equal(a, b), (a, b)
        assert not password_equal(b, a), (b, a)


def test_forgets_the_oldest_peer_past_max_peers():
    g = Gate(max_sessions=10, fail_delay_ms=100, max_failures=1, max_failures_total=1000, window_ms=100000,
             max_peers=3)
    for i, peer in enumerate(("a", "b", "c")):
        assert g.check(peer, "x", "pw", i * 10) is False
    assert [g.admit(p, 1000) for p in "abc"] == ["wait"] * 3  # max_failures (1) reached
    assert g.check("d", "x", "pw", 1000) is False  # a 4th address: "a", the oldest, is forgotten
    assert g.admit("a", 1100) is None
    assert [g.admit(p, 1100) for p in "bcd"] == ["wait"] * 3
    assert len(g.state[2]) == 3 and g.failures == 4  # the overall count still holds "a"


def test_a_window_across_the_tick_wrap():
    # ticks wrap (MicroPython's ticks_ms): ages come from ticks_diff
    t0 = ticks_add(0, -500)  # 500 ms before the counter wraps
    g = Gate(max_sessions=1, fail_delay_ms=1000, max_failures=2, max_failures_total=10, window_ms=5000)
    assert g.check("a", b"x", b"pw", t0) is False
    assert g.admit("a", ticks_add(t0, 999)) == "wait"  # after the wrap, still within fail_delay_ms
    assert g.admit("a", ticks_add(t0, 1000)) is None
    g.sessions -= 1
    assert g.check("a", b"y", b"pw", ticks_add(t0, 1500)) is False
    assert g.admit("a", ticks_add(t0, 4000)) == "wait"  # max_failures within window_ms
    assert g.admit("a", ticks_add(t0, 6500)) is None  # window_ms after the last failure
    assert g.check("a", b"pw", b"pw", ticks_add(t0, 6500)) is True
    assert "a" not in g.state[2]  # a right password clears the record
