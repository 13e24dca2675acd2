"""The Telnet NVT core: IAC escaping, RFC 1143 negotiation, SB, commands."""

import budget
from microproto.errors import LimitError, PeerError
from microproto.telnet_nvt import (
    AYT,
    BINARY,
    BRK,
    DO,
    DONT,
    EC,
    ECHO,
    EL,
    GA,
    IAC,
    IP,
    LINEMODE,
    NAWS,
    NOP,
    SB,
    SE,
    SGA,
    TTYPE,
    WILL,
    WONT,
    TelnetCore,
)


def cmd(verb, opt):
    return bytes((IAC, verb, opt))


def events(core):
    out = []
    while True:
        ev = core.next_event()
        if ev is None:
            return out
        out.append(ev)


def started():
    core = TelnetCore()
    core.start()
    core.data_to_send()
    return core


def test_opening_offers():
    core = TelnetCore()
    core.start()
    assert core.data_to_send() == (
        cmd(WILL, ECHO) + cmd(WILL, SGA) + cmd(DO, SGA) + cmd(DO, NAWS) + cmd(DO, TTYPE)
    )
    # asking again while the answer is pending sends nothing (Q-method)
    core.start()
    assert core.data_to_send() == b""


def test_answers_to_our_offers_get_no_reply():
    core = started()
    core.receive_data(cmd(DO, ECHO) + cmd(DO, SGA) + cmd(WILL, SGA) + cmd(WILL, NAWS))
    assert core.data_to_send() == b""
    assert core.local_enabled(ECHO) and core.local_enabled(SGA)
    assert core.remote_enabled(SGA) and core.remote_enabled(NAWS)
    # a repeated "yes" in state YES is ignored: no loop
    core.receive_data(cmd(DO, ECHO) + cmd(WILL, NAWS))
    assert core.data_to_send() == b""


def test_refusal_of_our_offer():
    core = started()
    core.receive_data(cmd(DONT, ECHO) + cmd(WONT, NAWS))
    assert core.data_to_send() == b""
    assert not core.local_enabled(ECHO) and not core.remote_enabled(NAWS)
    # and a later change of mind from the client is accepted
    core.receive_data(cmd(DO, ECHO))
    assert core.data_to_send() == cmd(WILL, ECHO)
    assert core.local_enabled(ECHO)


def test_ttype_enabled_asks_for_the_name():
    core = started()
    core.receive_data(cmd(WILL, TTYPE))
    assert core.data_to_send() == bytes((IAC, SB, TTYPE, 1, IAC, SE))
    core.receive_data(bytes((IAC, SB, TTYPE, 0)) + b"XTERM-256COLOR" + bytes((IAC, SE)))
    assert events(core) == [("ttype", "XTERM-256COLOR")]
    assert core.term_type == "XTERM-256COLOR"


def test_naws_with_escaped_255():
    core = started()
    core.receive_data(cmd(WILL, NAWS))
    # 255 columns: the 0xFF byte is doubled inside SB
    core.receive_data(bytes((IAC, SB, NAWS, 0, 255, 255, 0, 50, IAC, SE)))
    assert events(core) == [("naws", (255, 50))]
    assert (core.cols, core.rows) == (255, 50)
    # a malformed NAWS (3 bytes) is ignored, not fatal
    core.receive_data(bytes((IAC, SB, NAWS, 0, 80, 0, IAC, SE)) + b"x")
    assert events(core) == [("data", b"x")]


def test_unknown_and_linemode_refused():
    core = started()
    core.receive_data(cmd(WILL, LINEMODE) + cmd(DO, LINEMODE) + cmd(WILL, 99) + cmd(DO, 200))
    assert core.data_to_send() == cmd(DONT, LINEMODE) + cmd(WONT, LINEMODE) + cmd(DONT, 99) + cmd(WONT, 200)
    # WONT/DONT for an option that is off: no reply
    core.receive_data(cmd(WONT, 99) + cmd(DONT, 200) + cmd(WONT, LINEMODE))
    assert core.data_to_send() == b""
    assert not core.remote_enabled(LINEMODE)


def test_binary_when_asked():
    core = started()
    core.receive_data(cmd(DO, BINARY) + cmd(WILL, BINARY))
    assert core.data_to_send() == cmd(WILL, BINARY) + cmd(DO, BINARY)
    assert core.local_enabled(BINARY) and core.remote_enabled(BINARY)
    core.receive_data(cmd(DONT, BINARY))
    assert core.data_to_send() == cmd(WONT, BINARY)
    assert not core.local_enabled(BINARY)
    core.receive_data(cmd(DONT, BINARY))
    assert core.data_to_send() == b""


def test_disable_of_enabled_option_is_acknowledged_once():
    core = started()
    core.receive_data(cmd(WILL, NAWS))
    core.receive_data(cmd(WONT, NAWS))
    assert core.data_to_send() == cmd(DONT, NAWS)
    core.receive_data(cmd(WONT, NAWS))
    assert core.data_to_send() == b""


def test_queue_bit_wantno_opposite():
    core = started()
    core.receive_data(cmd(DO, ECHO))
    core.request_local(ECHO, False)
    assert core.data_to_send() == cmd(WONT, ECHO)
    core.request_local(ECHO, True)  # queued: nothing sent yet
    assert core.data_to_send() == b""
    core.request_local(ECHO, True)  # already queued
    assert core.data_to_send() == b""
    core.receive_data(cmd(DONT, ECHO))  # WANTNO+OPPOSITE -> WANTYES, send WILL
    assert core.data_to_send() == cmd(WILL, ECHO)
    core.receive_data(cmd(DO, ECHO))
    assert core.data_to_send() == b""
    assert core.local_enabled(ECHO)


def test_queue_bit_wantyes_opposite():
    core = started()  # NAWS is WANTYES
    core.request_remote(NAWS, False)  # queue the opposite
    assert core.data_to_send() == b""
    core.receive_data(cmd(WILL, NAWS))  # WANTYES+OPPOSITE -> WANTNO, send DONT
    assert core.data_to_send() == cmd(DONT, NAWS)
    assert not core.remote_enabled(NAWS)
    core.receive_data(cmd(WONT, NAWS))
    assert core.data_to_send() == b""
    assert not core.remote_enabled(NAWS)


def test_wantno_answered_by_yes_is_an_error_state_no():
    core = started()
    core.receive_data(cmd(WILL, NAWS))
    core.request_remote(NAWS, False)
    assert core.data_to_send() == cmd(DONT, NAWS)
    core.receive_data(cmd(WILL, NAWS))  # RFC 1143: error, him = NO, no reply
    assert core.data_to_send() == b""
    assert not core.remote_enabled(NAWS)


def test_two_q_method_peers_do_not_loop():
    # two cores wired together, each offering what the other refuses
    a = TelnetCore(offer_local=(ECHO, SGA, 99), offer_remote=(77,), accept_remote=(SGA,))
    b = TelnetCore(offer_local=(NAWS, SGA), offer_remote=(ECHO,), accept_local=(SGA,))
    a.start()
    b.start()
    rounds = 0
    while True:
        x = a.data_to_send()
        y = b.data_to_send()
        if not x and not y:
            break
        rounds += 1
        assert rounds < 10
        if y:
            a.receive_data(y)
        if x:
            b.receive_data(x)
    assert a.local_enabled(SGA) and b.remote_enabled(SGA)
    assert not a.local_enabled(99) and not b.remote_enabled(99)
    assert not a.remote_enabled(NAWS) and not b.local_enabled(NAWS)
    assert not a.remote_enabled(77) and not b.local_enabled(77)
    assert a.local_enabled(ECHO) and b.remote_enabled(ECHO)


def test_iac_escaping_both_ways():
    core = started()
    core.receive_data(b"a\xff\xffb\xff\xff")
    assert events(core) == [("data", b"a\xffb\xff")]
    core.send_data(b"x\xffy")
    assert core.data_to_send() == b"x\xff\xffy"
    core.send_text("one\ntwo\r\nthree\rfour\xff")
    assert core.data_to_send() == b"one\r\ntwo\r\nthree\r\0four\xc3\xbf"
    core.send_text(b"\xff\n")
    assert core.data_to_send() == b"\xff\xff\r\n"


def test_commands():
    core = started()
    core.receive_data(bytes((IAC, NOP, IAC, GA)) + b"ab" + bytes((IAC, EC, IAC, EL)))
    assert events(core) == [("data", b"ab\x08\x15")]
    core.receive_data(bytes((IAC, IP, IAC, BRK)) + b"z" + bytes((IAC, IP)))
    assert events(core) == [("interrupt", None), ("data", b"z"), ("interrupt", None)]
    core.receive_data(bytes((IAC, AYT, IAC, AYT, IAC, AYT)))
    assert core.data_to_send() == b"\r\n[yes]\r\n"
    core.receive_data(bytes((IAC, AYT)))
    assert core.data_to_send() == b"\r\n[yes]\r\n"
    assert core.next_event() is None


def test_eof_event():
    core = started()
    core.receive_data(b"")
    assert events(core) == [("eof", None)]
    assert core.close_expected()


def test_overlong_sb_is_a_limit_error_with_message():
    core = TelnetCore(max_sb=16)
    core.start()
    core.data_to_send()
    try:
        core.receive_data(bytes((IAC, SB, TTYPE)) + b"x" * 40)
    except LimitError as e:
        assert "16" in str(e)
    else:
        raise AssertionError("endless SB accepted")
    assert b"subnegotiation longer than 16" in core.data_to_send()
    # the error is sticky
    try:
        core.receive_data(b"hello")
    except LimitError:
        pass
    else:
        raise AssertionError("data accepted after the error")


def test_overlong_sb_made_of_escaped_iacs():
    core = TelnetCore(max_sb=8)
    try:
        core.receive_data(bytes((IAC, SB, NAWS)) + b"\xff\xff" * 9)
    except LimitError:
        pass
    else:
        raise AssertionError("escaped IACs escaped the limit")


def test_malformed_sb():
    core = started()
    try:
        core.receive_data(bytes((IAC, SB, NAWS, 0, 80, IAC, NOP)))
    except PeerError as e:
        assert not isinstance(e, LimitError)
    else:
        raise AssertionError("IAC NOP inside SB accepted")
    assert b"malformed subnegotiation" in core.data_to_send()


def test_option_storm_is_cut():
    core = TelnetCore(max_negotiations=50)
    try:
        core.receive_data((cmd(WILL, 99) + cmd(WONT, 99)) * 100)
    except LimitError:
        pass
    else:
        raise AssertionError("storm accepted")
    # replies sent before the cut are bounded by the limit
    assert len(core.data_to_send()) < 50 * 3 + 100


def _run_split(data, cuts, max_sb=64):
    core = TelnetCore(max_sb=max_sb)
    core.start()
    core.data_to_send()
    evs = []
    out = bytearray()
    err = None
    prev = 0
    for c in list(cuts) + [len(data)]:
        try:
            core.receive_data(data[prev:c])
        except PeerError as e:
            err = type(e).__name__
            break
        finally:
            evs += events(core)
            out += core.data_to_send()
        prev = c
    merged = []
    for ev in evs:
        if ev[0] == "data" and merged and merged[-1][0] == "data":
            merged[-1] = ("data", merged[-1][1] + ev[1])
        else:
            merged.append(ev)
    return merged, bytes(out), err


def test_same_result_split_anywhere():
    data = (
        b"ab\xff\xffc"
        + cmd(WILL, NAWS)
        + bytes((IAC, SB, NAWS, 0, 255, 255, 0, 24, IAC, SE))
        + cmd(DO, 99)
        + bytes((IAC, IP))
        + b"d\r\n"
        + cmd(WILL, TTYPE)
        + bytes((IAC, SB, TTYPE, 0))
        + b"vt100"
        + bytes((IAC, SE, IAC, AYT))
        + b"e"
    )
    whole = _run_split(data, [])
    assert whole[2] is None
    assert ("naws", (255, 24)) in whole[0] and ("ttype", "vt100") in whole[0]
    for i in range(1, len(data)):
        assert _run_split(data, [i]) == whole, i
    assert _run_split(data, range(1, len(data))) == whole


def test_same_error_split_anywhere():
    data = b"ok" + bytes((IAC, SB, TTYPE, 0)) + b"x" * 20 + bytes((IAC, SE))
    whole = _run_split(data, [], max_sb=8)
    assert whole[2] == "LimitError"
    for i in range(1, len(data)):
        assert _run_split(data, [i], max_sb=8) == whole, i


def _alloc_per_chunk(chunk, rounds=50):
    from microproto.linedisc import LineDiscipline

    core = TelnetCore()
    ld = LineDiscipline(max_line=512)

    def run(n):
        for _ in range(n):
            core.receive_data(chunk)
            while True:
                ev = core.next_event()
                if ev is None:
                    break
                ld.feed(ev[1])
                while ld.next_event() is not None:
                    pass
                e = ld._echo  # as telnet_session hands it on
                if e:
                    core.send_data(e)
                    e[:] = b""
                ld.clear()
            core.data_to_send()

    return budget.allocated(run, rounds) // rounds  # (after a warm-up: buffers at their working size)


def test_steady_state_allocation_is_per_chunk_not_per_byte():
    import gc

    if not hasattr(gc, "mem_alloc"):
        return  # MicroPython measures heap use; CPython has no equivalent here
    small = _alloc_per_chunk(b"abcdefgh" * 8)
    big = _alloc_per_chunk(b"abcdefgh" * 64)
    # plain typed text: a few small objects per read, whatever its size
    # (the bytes handed to the socket, one copy per read, are counted too)
    assert big - small < 600, (small, big)
    # IAC IAC and commands on the slow path: still a bounded cost per read
    # (the echo of 0xFF bytes is escaped: one copy and one replace)
    iacs = _alloc_per_chunk(b"\xff\xffa\xff\xf1" * 100)
    assert iacs < 2048, iacs
    # one keystroke: a few small objects
    assert _alloc_per_chunk(b"a") < 256


def test_clock_login_deadline_is_not_moved_by_input():
    # issue 9 defect 5, on the core alone: time is passed in
    c = TelnetCore(login_timeout_ms=1000, idle_timeout_ms=5000)
    c.start(0)
    c.data_to_send()
    for t in range(0, 1000, 300):
        c.tick(t)
        c.receive_data(b"\xff\xf1")  # IAC NOP
        assert not c.close_expected(), t
    assert c.next_deadline_ms() == 1000
    c.tick(1000)
    assert c.close_expected() and c.timed_out == "login"
    assert b"login timeout" in c.data_to_send()
    evs = []
    while True:
        ev = c.next_event()
        if ev is None:
            break
        evs.append(ev)
    assert ("timeout", "login") in evs


def test_clock_idle_counts_from_input_and_not_while_busy():
    c = TelnetCore(login_timeout_ms=1000, idle_timeout_ms=5000)
    c.start(0)
    c.logged_in = True
    c.tick(900)
    c.receive_data(b"x")
    assert c.next_deadline_ms() == 5900
    c.busy = True
    assert c.next_deadline_ms() is None
    c.tick(20000)  # a long command
    c.busy = False
    assert c.next_deadline_ms() == 25000 and not c.close_expected()
    c.tick(25000)
    assert c.timed_out == "idle"


def test_keystrokes_through_on_data_allocate_nothing():
    # the server's path for typed text: core -> on_data -> line discipline
    # -> echo -> output; MicroPython measures it (steady state: nothing)
    import gc

    if not hasattr(gc, "mem_alloc"):
        return
    from microproto.linedisc import LineDiscipline

    core = started()
    core.receive_data(cmd(DO, ECHO))
    ld = LineDiscipline()

    def on_data(data):
        ld.feed(data)
        e = ld._echo
        if e:
            core.send_data(e)
            e[:] = b""

    core.on_data = on_data
    core.receive_data(b"a")
    assert core.data_to_send() == b"a"
    core.receive_data(b"\x7f")
    assert core.data_to_send() == b"\x08 \x08"
    assert core.next_event() is None  # no event: handed on at once

    def run(n):
        for _ in range(n):
            core.receive_data(b"a")
            core.data_to_send()
            core.receive_data(b"\x7f")
            core.data_to_send()

    used = budget.allocated(run, 100)
    assert used // 200 == 0, used
    assert core.next_event() is None and len(ld) == 0
