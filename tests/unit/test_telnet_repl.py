"""The REPL session shared by the Telnet and WebSocket consoles."""

import asyncio

from microproto_port import repl


def test_six_times_seven():
    s = repl.Session()
    assert s.prompt == ">>> "
    assert s.push("6*7") == ("42\n", False)


def test_print_and_statements():
    s = repl.Session()
    assert s.push("x = 5") == ("", False)
    assert s.push("print('x is', x)") == ("x is 5\n", False)
    assert s.push("None") == ("", False)


def test_multi_line_block():
    s = repl.Session()
    assert s.push("for i in range(3):") == ("", True)
    assert s.prompt == "... "
    assert s.push("    print(i * 2)") == ("", True)
    assert s.push("") == ("0\n2\n4\n", False)
    assert s.prompt == ">>> "
    assert s.push("y = [1,") == ("", True)
    assert s.push(" 2]") == ("", False)
    assert s.push("y") == ("[1, 2]\n", False)


def test_errors_are_output_not_exceptions():
    s = repl.Session()
    out, more = s.push("1/0")
    assert not more
    assert "ZeroDivisionError" in out and "Traceback" in out
    out, more = s.push("raise SystemExit")
    assert "SystemExit" in out and not more
    assert s.push("6*7") == ("42\n", False)


def test_sessions_have_their_own_globals():
    a = repl.Session()
    b = repl.Session()
    a.push("v = 'a'")
    b.push("v = 'b'")
    assert a.push("v") == ("'a'\n", False)
    assert b.push("v") == ("'b'\n", False)


def test_reset_drops_half_statement():
    s = repl.Session()
    assert s.push("if True:")[1]
    s.reset()
    assert s.prompt == ">>> "
    assert s.push("1+1") == ("2\n", False)


def test_output_is_bounded():
    s = repl.Session(max_output=100)
    out, _ = s.push("for i in range(200): print('line', i)\n")
    if not out:
        out, _ = s.push("")
    assert len(out) < 200 and "cut" in out


def test_apush_and_interrupt_when_idle():
    s = repl.Session()
    assert not s.running
    assert s.interrupt() is False

    async def main():
        return await s.apush("6*7")

    assert asyncio.run(main()) == ("42\n", False)


def test_attach_without_dupterm():
    from microproto_port import dupterm  # the native REPL's half, apart from Session

    if not dupterm.HAS_DUPTERM:
        assert dupterm.attach(object()) is False
        dupterm.detach(object())


def test_input_does_not_read_the_server_console():
    s = repl.Session()
    out, more = s.push("input('x? ')")
    assert not more and "EOFError" in out, out


def test_telnet_repl_session_holds_no_repl_state_until_a_line_comes():
    # issue 8: a session that is only logged in holds no globals; Ctrl-C
    # and the end of the session work before the first line too
    from microproto.telnet_shells import ReplShell

    s = ReplShell(banner="hello").open(None)
    assert s.namespace is None
    assert s.banner() == "hello" and s.prompt() == ">>> "
    assert s.interrupt() is False
    s.close()
    assert s.namespace is None


def _line(s, text):
    # one line through the shell session: CPython runs the statement in a
    # thread under an event loop; MicroPython runs it inline, so the
    # coroutine is done at its first step (no event loop needed: the
    # WebAssembly port has no asyncio.run)
    import sys

    if sys.implementation.name == "cpython":
        return asyncio.run(s.line(text))
    c = s.line(text)
    try:
        c.send(None)
    except StopIteration as e:
        return e.value
    raise AssertionError("the line did not run inline")


def test_telnet_repl_session_makes_its_globals_with_the_first_line():
    from microproto.telnet_shells import ReplShell

    shell = ReplShell()
    s = shell.open(None)
    t = shell.open(None)
    assert [_line(s, "x = 6"), _line(s, "x * 7"), _line(s, "if x:"), s.prompt()] == ["", "42\n", "", "... "]
    assert s.namespace["x"] == 6
    assert s.interrupt() is False and s.prompt() == ">>> "  # the half statement goes
    assert t.namespace is None  # each session its own, made on use


def test_a_statement_past_max_source_is_discarded_at_the_same_size_on_both_ports():
    # max_source counts the statement's characters with one line end per
    # line: 3 lines of 4 characters are 15 with their line ends
    s = repl.Session(max_source=15)
    assert s.push("x = [") == ("", True)
    assert s.push("1, 2") == ("", True)
    assert s.push(" ]") == ("", False)  # 5 + 1 + 4 + 1 + 2 + 1 = 14
    assert s.namespace["x"] == [1, 2]
    assert s.push("y = [") == ("", True)
    assert s.push("1, 2,") == ("", True)
    out, more = s.push(" 3]")  # 6 + 6 + 4 = 16: one too many
    assert not more and out == "statement longer than 15 characters: discarded\n", out
    assert s.prompt == ">>> " and "y" not in s.namespace
    assert s.push("7") == ("7\n", False)  # the session goes on
