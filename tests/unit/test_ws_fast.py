"""The fast paths (masking, UTF-8 automaton, copy) against plain references."""

from microproto_port.fast import copy_into, mask, mask_into, utf8_check

KEY = b"\x37\xfa\x21\x3d"


def _ref_mask(data, key, phase):
    return bytes(data[i] ^ key[(i + phase) & 3] for i in range(len(data)))


def test_mask_matches_reference_at_every_phase_and_offset():
    data = bytes((i * 7 + 3) & 0xFF for i in range(37))
    for phase in range(4):
        for start in (0, 1, 5):
            for end in (start, start + 1, 20, 37):
                buf = bytearray(data)
                mask(buf, KEY, phase, start, end)
                want = data[:start] + _ref_mask(data[start:end], KEY, phase) + data[end:]
                assert bytes(buf) == want, (phase, start, end)


def test_mask_twice_is_identity_and_pieces_equal_whole():
    data = bytes(range(256)) * 5
    whole = bytearray(data)
    mask(whole, KEY)
    pieces = bytearray(data)
    pos = 0
    for n in (1, 2, 3, 7, 100, 500, 667):
        mask(pieces, KEY, pos & 3, pos, pos + n)
        pos += n
    assert pos == len(data) and pieces == whole
    mask(whole, KEY)
    assert bytes(whole) == data


def test_mask_long_runs_at_every_phase_and_offset():
    # the word (viper) and strided-table (CPython) paths, with their edges
    data = bytes((i * 13 + 5) & 0xFF for i in range(300))
    for phase in range(4):
        for start in (0, 1, 2, 3, 4):
            for end in (start + 31, start + 32, start + 33, 299, 300):
                buf = bytearray(data)
                mask(buf, KEY, phase, start, end)
                want = data[:start] + _ref_mask(data[start:end], KEY, phase) + data[end:]
                assert bytes(buf) == want, (phase, start, end)


def test_mask_into_copies_and_unmasks_in_one_pass():
    data = bytes((i * 11 + 1) & 0xFF for i in range(260))
    for src in (data, bytearray(data), memoryview(data)):
        for phase in range(4):
            for doff, soff, n in ((0, 0, 260), (4, 8, 200), (1, 3, 40), (2, 0, 31), (0, 4, 0), (3, 5, 7)):
                dst = bytearray(270)
                mask_into(dst, doff, src, soff, n, KEY, phase)
                want = bytes(doff) + _ref_mask(data[soff:soff + n], KEY, phase) + bytes(270 - doff - n)
                assert bytes(dst) == want, (type(src), phase, doff, soff, n)


def test_copy_into():
    src = bytes(range(50))
    for doff, soff, n in ((0, 0, 50), (1, 3, 20), (4, 8, 33), (3, 0, 0)):
        dst = bytearray(60)
        copy_into(dst, doff, src, soff, n)
        assert bytes(dst[doff : doff + n]) == src[soff : soff + n]
        assert dst[:doff] == bytearray(doff) and dst[doff + n :] == bytearray(60 - doff - n)


VALID = [
    b"",
    b"Hello-\xc2\xb5@\xc3\x9f\xc3\xb6\xc3\xa4\xc3\xbc\xc3\xa0\xc3\xa1-UTF-8!!",
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",
    b"\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\xef\xbf\xbf\xed\x9f\xbf\xee\x80\x80",
    b"\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80",
]
INVALID = [
    b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80edited",  # surrogate
    b"\xc0\xaf",  # overlong
    b"\xe0\x80\xaf",
    b"\xf4\x90\x80\x80",  # > U+10FFFF
    b"\xf8\x88\x80\x80\x80",
    b"\x80",
    b"\xfe",
    b"a\xc2b",
]


def test_utf8_valid_and_invalid_whole_and_split():
    for t in VALID:
        assert utf8_check(t) == 0, t
        for cut in range(len(t) + 1):
            s = utf8_check(t, 0, 0, cut)
            assert s >= 0
            assert utf8_check(t, s, cut) == 0, (t, cut)
    for t in INVALID:
        assert utf8_check(t) == -1, t
        for cut in range(len(t) + 1):
            s = utf8_check(t, 0, 0, cut)
            if s >= 0:
                s = utf8_check(t, s, cut)
            assert s == -1, (t, cut)


def test_utf8_fails_at_the_first_bad_byte():
    t = INVALID[0]
    # valid until the byte after ED, which cannot continue a valid text
    assert utf8_check(t, 0, 0, 12) > 0
    assert utf8_check(t, 0, 0, 13) == -1
    assert utf8_check(b"\xf5") == -1
    assert utf8_check(b"\xe0\x80") == -1
    assert utf8_check(b"\xf0\x8f") == -1
    assert utf8_check(b"\xf0\x90") > 0
    assert utf8_check(b"ok", -1) == -1


def test_fallbacks_give_the_same_results():
    # on MicroPython the viper versions are active; the pure-Python
    # fallbacks (used where the native emitter is missing) must agree
    import microproto_port.fast as fast

    if not hasattr(fast, "py_mask"):
        return  # CPython: a single implementation, checked above
    data = bytes((i * 13 + 5) & 0xFF for i in range(101))
    for phase in range(4):
        a = bytearray(data)
        b = bytearray(data)
        fast.mask(a, KEY, phase, 3, 97)
        fast.py_mask(b, KEY, phase, 3, 97)
        assert a == b
    for t in VALID + INVALID + [data]:
        for cut in range(len(t) + 1):
            assert fast.utf8_check(t, 0, 0, cut) == fast.py_utf8_check(t, 0, 0, cut), (t, cut)
    d1 = bytearray(120)
    d2 = bytearray(120)
    fast.copy_into(d1, 5, data, 7, 90)
    fast.py_copy_into(d2, 5, data, 7, 90)
    assert d1 == d2
