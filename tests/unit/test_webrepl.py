"""The console session core (WebREPL wire format), message by message."""

import struct

import budget

from microproto.auth import password_equal
from microproto.webrepl import ERR, OK, WebREPL


class MemFiles:
    """An in-memory filesystem for the core's ``opener``."""

    def __init__(self):
        self.files = {}

    def __call__(self, name, mode):
        if "r" in mode:
            if name not in self.files:
                raise OSError(2)
            return _Reader(self.files[name])
        return _Writer(self.files, name)

    def rename(self, old, new):
        if old not in self.files:
            raise OSError(2)
        self.files[new] = self.files.pop(old)

    def remove(self, name):
        if name not in self.files:
            raise OSError(2)
        del self.files[name]


class _Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def read(self, n):
        c = self.data[self.pos : self.pos + n]
        self.pos += len(c)
        return c

    def close(self):
        pass


class _Writer:
    def __init__(self, files, name):
        self.files = files
        self.name = name
        self.buf = bytearray()

    def write(self, b):
        self.buf += b
        return len(b)

    def close(self):
        self.files[self.name] = bytes(self.buf)


def _record(kind, name, size=0):
    n = name.encode()
    return struct.pack("<2sBBQLH64s", b"WA", kind, 0, 0, size, len(n), n)


def _core(files=None, **kw):
    files = files or MemFiles()
    return WebREPL("secret", opener=files, rename=files.rename, remove=files.remove, **kw)


def _login(files=None, **kw):
    s = _core(files, **kw)
    assert s.messages_to_send() == [(True, b"Password: ")]
    s.receive(b"secret\r", False)  # the webrepl client sends it as binary
    assert s.next_event() == ("login", True)
    assert s.messages_to_send() == [(True, b"\r\nWebREPL connected\r\n>>> ")]
    return s


def test_password_equal():
    assert password_equal("abc", b"abc")
    assert not password_equal("abc", "abd")
    assert not password_equal("", "abc")


def test_wrong_password_closes_with_1008():
    s = WebREPL("secret")
    s.messages_to_send()
    assert not s.logged_in and not s.closed
    s.receive("guess\r", True)
    assert s.next_event() == ("login", False)
    assert s.next_event() == ("close", 1008, "wrong password")
    assert s.messages_to_send() == [(True, b"\r\nAccess denied\r\n")]
    assert s.closed and not s.logged_in
    s.receive("secret\r", True)  # nothing after close
    assert s.next_event() is None


def test_endless_password_is_cut():
    s = WebREPL("secret", max_password=8)
    s.messages_to_send()
    s.receive("x" * 100, True)
    assert s.next_event() == ("close", 1008, "password too long")


def test_logged_in_from_the_right_password_until_the_end():
    s = _core()
    s.receive("secr", True)
    assert not s.logged_in
    s.receive("et\r", True)
    assert s.logged_in and not s.closed
    s.end()
    assert s.closed and s.logged_in


def test_line_runs_and_prompt_follows_a_lone_crlf():
    s = _login()
    s.receive("6*7\r\n", True)
    assert s.next_event() == ("exec", "6*7")
    # echo first, with its CR LF on its own
    assert s.messages_to_send() == [(True, b"6*7"), (True, b"\r\n")]
    s.output("42\n")
    assert s.messages_to_send() == [(True, b"42"), (True, b"\r\n"), (True, b">>> ")]


def test_keystrokes_one_by_one_with_backspace():
    s = _login()
    for k in ("1", "+", "x", "\x7f", "1", "\r"):
        s.receive(k, True)
    assert s.next_event() == ("exec", "1+1")
    echo = b"".join(m for _, m in s.messages_to_send())
    assert echo == b"1+x\b \b1\r\n", echo



def test_echo_keeps_its_place_among_other_output():
    # typed characters' echo goes out from the session's echo buffer: input
    # before the messages are taken joins it, output queued in between
    # keeps the order, and once taken the next echo starts afresh
    s = _login()
    s.receive("1", True)
    s.receive("2", True)
    s.output("hi\n")  # (what a statement run meanwhile printed)
    s.receive("3", True)
    assert s.messages_to_send() == [(True, b"12"), (True, b"hi"), (True, b"\r\n"), (True, b">>> "), (True, b"3")]
    s.receive("4", True)
    assert s.messages_to_send() == [(True, b"4")]
    s.receive("\x7f", True)
    s.receive("5\r", True)  # a line end: the echo goes as it always did
    assert s.next_event() == ("exec", "1235")
    assert s.messages_to_send() == [(True, b"\x08 \x085"), (True, b"\r\n")]
    s.receive("x" * 300, True)  # a long echo goes as a copy
    assert s.messages_to_send() == [(True, b"x" * 300)]
    s.receive("y", True)
    assert s.messages_to_send() == [(True, b"y")]


def test_keystrokes_allocate_nothing():
    # the console's path for typing: a key in, its echo out (MicroPython
    # measures it; steady state: nothing, neither bytes nor tuples)
    import gc

    if not hasattr(gc, "mem_alloc"):
        return
    s = _login()
    s.receive("1", True)
    assert s.messages_to_send() == [(True, b"1")]
    s.receive("\x7f", True)
    assert s.messages_to_send() == [(True, b"\x08 \x08")]

    def run(n):
        for _ in range(n):
            s.receive("1", True)
            s.messages_to_send()
            s.receive("\x7f", True)
            s.messages_to_send()

    used = budget.allocated(run, 100)
    assert used // 200 == 0, used
    assert s.next_event() is None and len(s._lines) == 0


def test_console_session_typing_allocates_nothing():
    # the console's session (microproto.console_server: the WebSocket
    # core's sink) on the same path: a key in, its echo queued as a frame;
    # steady state: nothing (MicroPython measures it)
    from microproto import console_server

    class Core:  # what the session uses of the WebSocket core
        n = 0

        def send_text(self, data):
            self.n += len(data)

        send_binary = send_text

    class WebSocket:
        open = True
        core = Core()

    s = console_server._Session()
    s.websocket = WebSocket()
    s.core = _login()
    s.append("1")
    s.append("\x7f")
    assert WebSocket.core.n == 4  # "1", then "\b \b"
    assert s.task is None and not s.pending and s.repl is None

    def run(n):
        for _ in range(n):
            s.append("1")
            s.append("\x7f")

    used = budget.allocated(run, 100)  # (None on CPython, which cannot count)
    assert used is None or used // 200 == 0, used
    # every pair's echo went out as frames: "1" and "\b \b", 4 bytes
    # (MicroPython: 5 more pairs, the warm-up)
    assert WebSocket.core.n == 4 * (101 if used is None else 106), WebSocket.core.n
    assert s.task is None and not s.pending


def test_continuation_prompt_and_no_output():
    s = _login()
    s.receive("x = 1\r", True)
    assert s.next_event() == ("exec", "x = 1")
    s.messages_to_send()
    s.output("", more=True)
    assert s.messages_to_send() == [(True, b"... ")]


def test_ctrl_c_and_ctrl_d():
    s = _login()
    s.receive("\x03", True)
    assert s.next_event() == ("interrupt", None)
    s.receive("\x04", True)
    assert s.next_event() == ("close", 1000, "end of session")


def test_overlong_line_is_refused_not_run():
    s = WebREPL("pw", max_line=16)
    s.receive("pw\r", True)
    s.next_event()
    s.receive("y" * 40 + "\r", True)
    assert s.next_event() is None
    out = b"".join(m for _, m in s.messages_to_send())
    assert b"line longer than 16 bytes" in out and out.endswith(b">>> ")


def test_put_then_get_a_file_in_chunks():
    files = MemFiles()
    s = _login(files)
    body = bytes(range(256)) * 10  # 2560 bytes: three chunks of 1024 at most
    s.receive(_record(1, "data.bin", len(body)), False)
    assert s.messages_to_send() == [(False, OK)]
    for i in range(0, len(body), 1000):
        s.receive(body[i : i + 1000], False)
    assert s.messages_to_send() == [(False, OK)]
    assert s.next_event() == ("file", "put", "data.bin", True)
    assert files.files["data.bin"] == body

    s.receive(_record(2, "data.bin"), False)
    assert s.messages_to_send() == [(False, OK)]
    got = b""
    while True:
        s.receive(b"\x00", False)
        msgs = s.messages_to_send()
        (n,) = struct.unpack("<H", msgs[0][1][:2])
        if n == 0:
            assert msgs == [(False, b"\x00\x00"), (False, OK)]
            break
        assert n <= 1024 and len(msgs[0][1]) == n + 2
        got += msgs[0][1][2:]
    assert got == body
    assert s.next_event() == ("file", "get", "data.bin", True)


def test_put_larger_than_announced_fails_cleanly():
    files = MemFiles()
    s = _login(files)
    s.receive(_record(1, "f.txt", 4), False)
    s.messages_to_send()
    s.receive(b"too long", False)
    assert s.messages_to_send() == [(False, ERR)]
    assert s.next_event() == ("file", "put", "f.txt", False)
    s.receive("1\r", True)  # the session goes on
    assert s.next_event() == ("exec", "1")


def test_bad_records():
    s = _login()
    s.receive(b"WA\x01", False)  # a record cut short by terminal input
    assert s.messages_to_send() == []
    s.receive("1", True)
    assert s.messages_to_send()[0] == (False, ERR)
    s.receive("\x15", True)  # Ctrl-U: drop the typed "1"
    s.messages_to_send()
    s.receive(_record(2, "missing.txt"), False)
    assert s.messages_to_send() == [(False, ERR)]
    assert s.next_event() == ("file", "get", "missing.txt", False)
    s.receive(_record(9, "x"), False)
    assert s.messages_to_send() == [(False, ERR)]
    s.receive(_record(3, ""), False)
    ver = s.messages_to_send()
    assert len(ver) == 1 and len(ver[0][1]) == 3
    s.receive(b"\x01\x02", False)
    assert s.next_event() == ("close", 1003, "binary data outside a file transfer")


def test_record_split_over_messages():
    files = MemFiles()
    s = _login(files)
    rec = _record(1, "split.txt", 3)
    s.receive(rec[:10], False)
    assert s.messages_to_send() == []
    s.receive(rec[10:] + b"abc", False)  # the rest, with the data
    assert s.messages_to_send() == [(False, OK), (False, OK)]
    assert files.files["split.txt"] == b"abc"


def test_interrupted_upload_leaves_the_old_file_as_it_was():
    # issue 9 defect 10: written to NAME.part, renamed when complete
    files = MemFiles()
    files.files["main.py"] = b"old contents"
    s = _login(files)
    s.receive(_record(1, "main.py", 1000), False)
    s.receive(b"x" * 400, False)
    assert files.files["main.py"] == b"old contents"
    s.end()  # the connection dropped
    assert files.files == {"main.py": b"old contents"}
    s = _login(files)
    s.receive(_record(1, "main.py", 10), False)
    s.receive(b"x" * 11, False)  # more than announced
    assert files.files == {"main.py": b"old contents"}
    s.receive(_record(1, "main.py", 3), False)
    s.receive(b"new", False)
    assert files.files == {"main.py": b"new"}


def test_file_name_policy_is_explicit():
    # root=None: the REPL's own access (absolute names, ..); a root confines
    files = MemFiles()
    s = _login(files)
    s.receive(_record(1, "../up.txt", 1) + b"a", False)
    s.receive(_record(1, "/abs.txt", 1) + b"b", False)
    assert files.files == {"../up.txt": b"a", "/abs.txt": b"b"}
    files = MemFiles()
    s = _login(files, root="/www")
    for bad in ("../up.txt", "/abs.txt", "a/../../b"):
        s.messages_to_send()
        s.receive(_record(1, bad, 1), False)
        assert s.messages_to_send() == [(False, ERR)], bad
    s.receive(_record(1, "a/ok.txt", 1) + b"c", False)
    assert files.files == {"/www/a/ok.txt": b"c"}


def test_throttled_login_is_told_to_try_later():
    s = WebREPL("secret", check=lambda given: None)
    s.messages_to_send()
    s.receive("secret\r", True)
    assert s.next_event() == ("login", None)
    assert b"try again later" in s.messages_to_send()[0][1]
    assert s.next_event() == ("close", 1013, "try again later")


def test_upload_over_the_limit_is_refused():
    s = WebREPL("pw", opener=MemFiles(), max_file_size=100)
    s.receive("pw\r", True)
    s.next_event()
    s.messages_to_send()
    s.receive(_record(1, "big", 101), False)
    assert s.messages_to_send() == [(False, ERR)]


def test_file_transfers_load_with_the_first_binary_message():
    # a console that only types costs none of microproto.webrepl_files
    import sys

    sys.modules.pop("microproto.webrepl_files", None)
    s = _login()
    s.receive("6*7\r", True)
    s.output("42\n")
    s.receive("\x03", True)
    s.interrupted()
    assert "microproto.webrepl_files" not in sys.modules
    s.receive(_record(3, ""), False)  # the version record
    assert "microproto.webrepl_files" in sys.modules
    assert len(s.messages_to_send()[-1][1]) == 3
