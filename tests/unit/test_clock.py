from microproto_port import random_bytes, sleep_ms, ticks_add, ticks_diff, ticks_ms


def test_ticks_advance():
    t0 = ticks_ms()
    sleep_ms(20)
    d = ticks_diff(ticks_ms(), t0)
    assert 15 <= d < 2000, d


def test_ticks_diff_across_wrap():
    top = ticks_add(0, -1)  # the largest tick value
    later = ticks_add(top, 5)
    assert later < top  # it wrapped
    assert ticks_diff(later, top) == 5
    assert ticks_diff(top, later) == -5
    assert ticks_add(later, -5) == top


def test_deadline_arithmetic():
    now = ticks_add(0, -100)
    deadline = ticks_add(now, 250)
    assert ticks_diff(deadline, now) == 250
    assert ticks_diff(deadline, ticks_add(now, 300)) < 0


def test_random_bytes():
    a = random_bytes(16)
    b = random_bytes(16)
    assert len(a) == 16 and isinstance(a, bytes)
    assert a != b
