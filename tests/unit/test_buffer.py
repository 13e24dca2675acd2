from microproto.buffer import Buffer
from microproto.errors import LimitError, PeerError, ProtocolError


def test_feed_take_and_len():
    b = Buffer(8)
    b.feed(b"abc")
    b.feed(b"de")
    assert len(b) == 5
    assert b.take(2) == b"ab"
    assert bytes(b.view()) == b"cde"
    assert b.take(3) == b"cde"
    assert len(b) == 0


def test_capacity_is_a_hard_limit():
    b = Buffer(4)
    b.feed(b"1234")
    try:
        b.feed(b"5")
    except LimitError as e:
        assert "full" in e.reason
    else:
        raise AssertionError("overflow accepted")
    assert b.take(4) == b"1234"


def test_limit_error_is_a_peer_error():
    assert issubclass(LimitError, PeerError)
    assert issubclass(PeerError, ProtocolError)
    e = ProtocolError("bad frame", 1002)
    assert e.code == 1002 and str(e) == "bad frame (1002)"


def test_compaction_reuses_space():
    b = Buffer(6)
    for i in range(100):
        b.feed(b"xyz")
        b.feed(b"12")
        assert b.take(4) == b"xyz1"
        assert b.take(1) == b"2"
    assert len(b) == 0


def test_readline_across_feeds():
    b = Buffer(32)
    b.feed(b"hel")
    assert b.readline(16) is None
    b.feed(b"lo\r\nwor")
    assert b.readline(16) == b"hello\r\n"
    assert b.readline(16) is None
    b.feed(b"ld\n")
    assert b.readline(16) == b"world\n"


def test_readline_limit():
    b = Buffer(32)
    b.feed(b"0123456789")
    try:
        b.readline(10)
    except LimitError:
        pass
    else:
        raise AssertionError("long line accepted")
    b2 = Buffer(32)
    b2.feed(b"012345678\n")
    assert b2.readline(10) == b"012345678\n"


def test_readline_other_terminator():
    b = Buffer(16)
    b.feed(b"a\r\nb\r\n")
    assert b.readline(8, b"\r\n") == b"a\r\n"
    assert b.find(b"\r\n") == 1


def test_free_view_commit_in_place():
    b = Buffer(8)
    b.feed(b"abcdef")
    b.consume(4)
    v = b.free_view()
    assert len(v) == 2
    v[0:2] = b"gh"
    b.commit(2)
    v = b.free_view()
    assert len(v) == 4  # compacted: "efgh" at the front
    v[0:1] = b"i"
    b.commit(1)
    assert b.take(5) == b"efghi"


def test_steady_state_allocates_nothing():
    import gc

    if not hasattr(gc, "mem_alloc"):
        return  # CPython: measured on MicroPython only
    b = Buffer(64)
    chunk = b"0123456789abcdef"
    for _ in range(4):
        b.feed(chunk)
        b.consume(16)
    gc.collect()
    before = gc.mem_alloc()
    for _ in range(200):
        b.feed(chunk)
        b.consume(16)
    grown = gc.mem_alloc() - before
    # feed/consume copy into the one bytearray: nothing per call (a view()
    # costs one small memoryview object, so callers keep theirs)
    assert grown < 200, grown
