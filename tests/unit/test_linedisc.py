"""The Telnet line discipline: line ends of every client, editing, limits."""

from microproto.linedisc import LineDiscipline


def events(ld):
    out = []
    while True:
        ev = ld.next_event()
        if ev is None:
            return out
        out.append(ev)


def lines_of(chunks, **kw):
    ld = LineDiscipline(**kw)
    for c in chunks:
        ld.feed(c)
    return events(ld)


def test_each_client_style_is_one_line_end():
    # inetutils char mode, inetutils line mode, telnetlib3, netcat
    for end in (b"\r\0", b"\r\n", b"\r", b"\n"):
        assert lines_of([b"ab" + end + b"cd" + end]) == [("line", b"ab"), ("line", b"cd")], end


def test_line_end_split_across_feeds():
    for end in (b"\r\0", b"\r\n"):
        assert lines_of([b"ab\r", end[1:] + b"cd\r", end[1:]]) == [("line", b"ab"), ("line", b"cd")]
    # bare CR then a new line starting right after
    assert lines_of([b"ab\r", b"x\r"]) == [("line", b"ab"), ("line", b"x")]


def test_empty_lines():
    assert lines_of([b"\r\n\r\0\r\n"]) == [("line", b"")] * 3
    assert lines_of([b"\n\n"]) == [("line", b"")] * 2
    assert lines_of([b"\r\r"]) == [("line", b"")] * 2


def test_backspace_delete_and_utf8():
    assert lines_of([b"abc\x08\x7fd\r\n"]) == [("line", b"ad")]
    assert lines_of([b"x\xc3\xa9\x7f\r\n"]) == [("line", b"x")]
    assert lines_of([b"\x08\x08a\r\n"]) == [("line", b"a")]
    assert lines_of([b"abc\x15de\r\n"]) == [("line", b"de")]


def test_echo():
    ld = LineDiscipline()
    ld.feed(b"ab\x7fc\r\0")
    assert ld.echo_to_send() == b"ab\x08 \x08c\r\n"
    ld.echo = False
    ld.feed(b"secret\r\n")
    assert ld.echo_to_send() == b""
    assert events(ld) == [("line", b"ac"), ("line", b"secret")]


def test_ctrl_c_and_ctrl_d():
    ld = LineDiscipline()
    ld.feed(b"abc\x03")
    assert events(ld) == [("interrupt", None)]
    assert ld.echo_to_send() == b"abc^C\r\n"
    ld.feed(b"x\x04\x7f\x04")
    assert events(ld) == [("eof", None)]


def test_escape_sequences_dropped():
    assert lines_of([b"a\x1b[A\x1b[1;5Cb\x1bOPc\r\n"]) == [("line", b"abc")]
    assert lines_of([b"a\x1b", b"[", b"12", b"~b\r\n"]) == [("line", b"ab")]
    assert lines_of([b"a\tb\x01\x02c\r\n"]) == [("line", b"a\tbc")]


def test_overlong_line_is_bounded():
    ld = LineDiscipline(max_line=8)
    ld.feed(b"0123456789")
    # memory: never more than max_line bytes kept
    assert len(ld._line) == 8 and len(ld) == 8
    ld.feed(b"abcdef\r\n")
    ld.feed(b"ok\r\n")
    assert events(ld) == [("overlong", 16), ("line", b"ok")]
    assert ld.echo_to_send() == b"01234567\x07\r\nok\r\n"
    assert len(ld) == 0


def test_overlong_in_one_run_then_erase():
    ld = LineDiscipline(max_line=4)
    ld.feed(b"abcdefg\x7f\x7f\x7f\r")
    assert events(ld) == [("line", b"abcd")]


def test_split_anywhere_same_lines():
    data = b"ab\r\0cd\r\nef\rgh\nx\x08y\x1b[Az\x03q\r\n"
    whole = lines_of([data])
    for i in range(1, len(data)):
        assert lines_of([data[:i], data[i:]]) == whole, i
    assert lines_of([data[i : i + 1] for i in range(len(data))]) == whole
