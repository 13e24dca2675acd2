"""The fast paths (masking, UTF-8 automaton, copy) against plain references.

Every check runs on each implementation the runtime has: the port's active
one (CPython: our C ``_speedups`` when built; MicroPython: viper), the
CPython port's pure-Python fallback, and the byte-loop references
(``py_*``), so that all of them are proven to give the same results."""

import microproto_port.fast as fast

KEY = b"\x37\xfa\x21\x3d"


def _impls():
    """(name, copy_into, mask, mask_into, utf8_check) for each implementation."""
    out = [("active", fast.copy_into, fast.mask, fast.mask_into, fast.utf8_check)]
    fb = getattr(fast, "fallback", None)
    if fb is not None:
        out.append(("fallback",) + tuple(fb))
    out.append(("py", fast.py_copy_into, fast.py_mask, fast.py_mask_into, fast.py_utf8_check))
    return out


def _ref_mask(data, key, phase):
    return bytes(data[i] ^ key[(i + phase) & 3] for i in range(len(data)))


def _check_mask_ranges(data, starts, ends):
    # ``mask`` over data[start:end] at each phase, against the reference
    for impl in _impls():
        _n, copy_into, mask, mask_into, utf8_check = impl
        for phase in range(4):
            for start in starts:
                for end in ends(start):
                    buf = bytearray(data)
                    mask(buf, KEY, phase, start, end)
                    want = data[:start] + _ref_mask(data[start:end], KEY, phase) + data[end:]
                    assert bytes(buf) == want, (phase, start, end)


def test_mask_matches_reference_at_every_phase_and_offset():
    data = bytes((i * 7 + 3) & 0xFF for i in range(37))
    _check_mask_ranges(data, (0, 1, 5), lambda start: (start, start + 1, 20, 37))


def test_mask_twice_is_identity_and_pieces_equal_whole():
    for impl in _impls():
        _n, copy_into, mask, mask_into, utf8_check = impl
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
    _check_mask_ranges(data, (0, 1, 2, 3, 4), lambda start: (start + 31, start + 32, start + 33, 299, 300))


def test_mask_into_copies_and_unmasks_in_one_pass():
    for impl in _impls():
        _n, copy_into, mask, mask_into, utf8_check = impl
        data = bytes((i * 11 + 1) & 0xFF for i in range(260))
        for src in (data, bytearray(data), memoryview(data)):
            for phase in range(4):
                for doff, soff, n in ((0, 0, 260), (4, 8, 200), (1, 3, 40), (2, 0, 31), (0, 4, 0), (3, 5, 7)):
                    dst = bytearray(270)
                    mask_into(dst, doff, src, soff, n, KEY, phase)
                    want = bytes(doff) + _ref_mask(data[soff:soff + n], KEY, phase) + bytes(270 - doff - n)
                    assert bytes(dst) == want, (type(src), phase, doff, soff, n)


def test_copy_into():
    for impl in _impls():
        _n, copy_into, mask, mask_into, utf8_check = impl
        src = bytes(range(50))
        for doff, soff, n in ((0, 0, 50), (1, 3, 20), (4, 8, 33), (3, 0, 0)):
            dst = bytearray(60)
            copy_into(dst, doff, src, soff, n)
            assert bytes(dst[doff : doff + n]) == src[soff : soff + n]
            assert dst[:doff] == bytearray(doff) and dst[doff + n :] == bytearray(60 - doff - n)



def test_mask_into_and_copy_into_at_every_alignment_pair():
    # source and destination at each offset mod 4 against each other (the
    # viper word loop joins two aligned source words per output word when
    # they differ), lengths around its 4- and 16-byte steps, into another
    # buffer and in place; nothing outside the range is touched
    data = bytes((i * 29 + 7) & 0xFF for i in range(90))
    for impl in _impls():
        _n, copy_into, mask, mask_into, utf8_check = impl
        for soff in range(4):
            for doff in range(4):
                for n in (0, 1, 3, 4, 5, 15, 16, 17, 31, 32, 33, 47, 64, 67):
                    phase = (soff + doff + n) & 3
                    dst = bytearray(b"\xaa" * 80)
                    mask_into(dst, doff, data, soff, n, KEY, phase)
                    want = b"\xaa" * doff + _ref_mask(data[soff:soff + n], KEY, phase) + b"\xaa" * (80 - doff - n)
                    assert bytes(dst) == want, (_n, soff, doff, n)
                    dst = bytearray(b"\x55" * 80)
                    copy_into(memoryview(dst), doff, memoryview(data), soff, n)
                    assert bytes(dst) == b"\x55" * doff + data[soff:soff + n] + b"\x55" * (80 - doff - n), (_n, soff, doff, n)
                buf = bytearray(data)
                mask_into(buf, doff + 3, buf, doff + 3, 70, KEY, doff)
                assert bytes(buf) == data[:doff + 3] + _ref_mask(data[doff + 3:doff + 73], KEY, doff) + data[doff + 73:]

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
    for impl in _impls():
        _n, copy_into, mask, mask_into, utf8_check = impl
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
    for impl in _impls():
        _n, copy_into, mask, mask_into, utf8_check = impl
        t = INVALID[0]
        # valid until the byte after ED, which cannot continue a valid text
        assert utf8_check(t, 0, 0, 12) > 0
        assert utf8_check(t, 0, 0, 13) == -1
        assert utf8_check(b"\xf5") == -1
        assert utf8_check(b"\xe0\x80") == -1
        assert utf8_check(b"\xf0\x8f") == -1
        assert utf8_check(b"\xf0\x90") > 0
        assert utf8_check(b"ok", -1) == -1



def test_utf8_ascii_runs_then_other_bytes_at_every_offset():
    # long ASCII runs (checked a word at a time by viper) ending in a
    # character, a bad byte or a cut, at every start offset
    for impl in _impls():
        _n, copy_into, mask, mask_into, utf8_check = impl
        for start in range(5):
            for run in (0, 1, 3, 4, 5, 8, 13, 16, 21):
                pre = b"#" * start
                ok = pre + b"a" * run + b"\xe2\x82\xac" + b"z" * run
                assert utf8_check(ok, 0, start) == 0, (_n, start, run)
                assert utf8_check(ok, 0, start, start + run + 2) == 1, (_n, start, run)
                assert utf8_check(ok, 1, start + run + 2) == 0, (_n, start, run)
                assert utf8_check(pre + b"a" * run + b"\x80" + b"a" * 9, 0, start) == -1, (_n, start, run)
                assert utf8_check(pre + b"a" * run + b"\xff", 0, start, start + run) == 0, (_n, start, run)
                # a state inside a character is continued, not taken for ASCII
                assert utf8_check(pre + b"a" * 8, 2, start) == -1, (_n, start, run)

def test_implementations_agree_on_random_ranges():
    # the active fast path (C or viper), the CPython fallback and the byte
    # loops give the same bytes and states over many ranges, phases and
    # lengths around the word and table thresholds
    impls = _impls()
    seed = 12345
    data = bytearray(700)
    for i in range(len(data)):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        data[i] = (seed >> 16) & 0xFF
    text = b"ab\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80" * 60 + bytes(data[:60])  # longer than any range
    for trial in range(60):
        seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
        start = seed % 40
        n = (seed >> 8) % 600
        phase = (seed >> 4) & 3
        outs = []
        for impl in impls:
            _n, copy_into, mask, mask_into, utf8_check = impl
            a = bytearray(data)
            mask(a, KEY, phase, start, start + n)
            b = bytearray(650)
            mask_into(b, 3, data, start, n, KEY, phase)
            c = bytearray(650)
            copy_into(c, 7, data, start, n)
            u = utf8_check(text, 0, start, start + n)
            u2 = utf8_check(text, u if u > 0 else 0, start + n)
            outs.append((bytes(a), bytes(b), bytes(c), u, u2))
        for o in outs[1:]:
            assert o == outs[0], (trial, start, n, phase)


def test_c_speedups_refuse_ranges_outside_the_buffer():
    # CPython with the C extension built: a bad range raises, nothing is written
    try:
        from microproto_port import _speedups
    except ImportError:
        return  # MicroPython, or CPython without a compiler: nothing to check
    buf = bytearray(8)
    for call in (lambda: _speedups.mask(buf, KEY, 0, 4, 9), lambda: _speedups.mask(buf, KEY, 0, -1, 4),
                 lambda: _speedups.mask_into(buf, 6, b"abcd", 0, 3, KEY, 0),
                 lambda: _speedups.mask_into(buf, 0, b"abcd", 2, 3, KEY, 0),
                 lambda: _speedups.copy_into(buf, 0, b"abcd", 1, 4),
                 lambda: _speedups.mask(buf, b"abc"), lambda: _speedups.utf8_check(b"abc", 0, 1, 5)):
        try:
            call()
        except ValueError:
            pass
        else:
            assert False, "accepted a range outside the buffer"
    assert buf == bytearray(8)
    assert fast.SPEEDUPS == (fast.mask is _speedups.mask)
