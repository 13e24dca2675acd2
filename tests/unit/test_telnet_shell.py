"""The line-based command shell API."""

import asyncio

from microproto.shell import Shell, demo_shell


class Term:
    def __init__(self):
        self.cols = 80
        self.rows = 24
        self.term_type = "xterm"
        self.peer = None
        self.written = []
        self.closed = False

    def write(self, text):
        self.written.append(text)

    def close(self):
        self.closed = True


def run(coro):
    return asyncio.run(coro)


def test_handlers_help_and_state():
    sh = Shell(prompt="$ ")

    @sh.command("add", "add A B: sum")
    def add(session, args):
        a, b = args.split()
        return str(int(a) + int(b))

    async def slow(session, args):
        await asyncio.sleep(0)
        session.write("working\n")
        return "done " + args

    sh.add("slow", slow, "slow X: async")
    t = Term()
    s = sh.open(t)
    assert s.prompt() == "$ "
    assert run(s.line("add 2 3")) == "5"
    assert run(s.line("  slow  x ")) == "done x"
    assert t.written == ["working\n"]
    h = run(s.line("help"))
    assert "add A B: sum" in h and "slow X: async" in h and "quit" in h
    assert "unknown command: nope" in run(s.line("nope 1"))
    assert "error: ValueError" in run(s.line("add 1"))
    assert run(s.line("")) is None
    assert run(s.line("quit")) == "bye"
    assert t.closed and s.closed


def test_per_session_state_and_window_size():
    sh = demo_shell()
    t1 = Term()
    t2 = Term()
    a = sh.open(t1)
    b = sh.open(t2)
    assert run(a.line("count")) == "1"
    assert run(a.line("count")) == "2"
    assert run(b.line("count")) == "1"
    t2.cols, t2.rows = 132, 50
    assert run(b.line("size")) == "132x50"
    assert run(a.line("size")) == "80x24"
    assert run(a.line("term")) == "xterm"
    assert run(a.line("hello there")) == "hello there"
