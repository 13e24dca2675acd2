"""Property tests (hypothesis, CPython) of every Telnet parser: any bytes,
split at any points, give the same result or the same defined error,
never another exception, and memory stays bounded."""

import importlib.util
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT / "lib", ROOT / "ports" / "cpython"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from microproto.errors import LimitError, PeerError  # noqa: E402
from microproto.linedisc import LineDiscipline  # noqa: E402
from microproto.telnet_nvt import TelnetCore  # noqa: E402

# bytes with Telnet structure in them more often than chance would give
_atoms = st.one_of(
    st.binary(max_size=8),
    st.sampled_from(
        [
            b"\xff",
            b"\xff\xff",
            b"\xff\xfa",
            b"\xff\xf0",
            b"\xff\xfa\x1f",
            b"\xff\xfa\x18\x00",
            b"\xff\xfb",
            b"\xff\xfc",
            b"\xff\xfd",
            b"\xff\xfe",
            b"\xff\xf4",
            b"\xff\xf6",
            b"\xff\xf7",
            b"\xff\xf8",
            b"\r",
            b"\n",
            b"\r\n",
            b"\r\x00",
            b"\x03",
            b"\x04",
            b"\x7f",
            b"\x08",
            b"\x1b[",
            b"\x1bO",
            b"\x15",
            b"\xc3\xa9",
        ]
    ),
)
telnet_bytes = st.lists(_atoms, max_size=60).map(b"".join)


def cuts(data):
    return st.lists(st.integers(0, len(data)), max_size=8).map(sorted)


def run_core(data, points, max_sb=16, max_negotiations=40):
    core = TelnetCore(max_sb=max_sb, max_negotiations=max_negotiations)
    core.start()
    core.data_to_send()
    data_out = bytearray()
    others = []
    sent = bytearray()
    err = None
    prev = 0
    for c in list(points) + [len(data)]:
        if c == prev:
            continue  # b"" means end of stream: a read never gives it otherwise
        try:
            core.receive_data(data[prev:c])
        except PeerError as e:  # LimitError included: the defined errors
            err = (type(e), e.reason)
        while True:
            ev = core.next_event()
            if ev is None:
                break
            if ev[0] == "data":
                data_out += ev[1]
            else:
                others.append(ev)
        sent += core.data_to_send()
        # bounded memory: the buffer holds at most the body of an SB in
        # progress (max_sb bytes); pending data is flushed at every call's end
        assert core._buf is None or len(core._buf) <= max_sb
        assert not core._buf or core._st & 7 >= 3
        if err:
            break
        prev = c
    # consecutive interrupts / window sizes merge inside one call only: compare
    # them without repeats; AYT replies merge per call: compare without them
    dedup = []
    for ev in others:
        if not dedup or dedup[-1] != ev or ev[0] not in ("interrupt", "naws"):
            dedup.append(ev)
    return bytes(data_out), dedup, bytes(sent).replace(b"\r\n[yes]\r\n", b""), err


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_nvt_any_bytes_any_split(d):
    data = d.draw(telnet_bytes)
    points = d.draw(cuts(data))
    whole = run_core(data, [])
    split = run_core(data, points)
    assert split[3] == whole[3]
    if whole[3] is None:
        assert split == whole
    else:
        # on an error, what came before it is the same; the message is queued
        assert whole[2].endswith(b"\r\n") and b"telnet: " in whole[2]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000))
def test_nvt_random_bytes_bounded(data):
    core = TelnetCore(max_sb=32, max_negotiations=64)
    core.start()
    try:
        core.receive_data(data)
    except LimitError:
        pass
    except PeerError:
        pass
    n = 0
    while core.next_event() is not None:
        n += 1
    assert n <= len(data) + 1
    # replies are bounded by the input: at most one 3-byte reply per
    # 3-byte request, plus the opening offers, AYT and a TTYPE request
    assert len(core.data_to_send()) <= len(data) * 3 + 64


def run_ld(data, points, max_line=16):
    ld = LineDiscipline(max_line=max_line)
    evs = []
    prev = 0
    for c in list(points) + [len(data)]:
        ld.feed(data[prev:c])
        prev = c
        while True:
            ev = ld.next_event()
            if ev is None:
                break
            evs.append(ev)
        assert len(ld._line) <= max_line and len(ld) <= max_line
    return evs, ld.echo_to_send()


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_line_discipline_any_split(d):
    data = d.draw(telnet_bytes)
    points = d.draw(cuts(data))
    whole = run_ld(data, [])
    assert run_ld(data, points) == whole
    for kind, value in whole[0]:
        assert kind in ("line", "overlong", "interrupt", "eof")
        if kind == "line":
            assert len(value) <= 16
            assert b"\r" not in value and b"\n" not in value


def _load_mp_repl():
    path = ROOT / "ports" / "micropython" / "microproto_port" / "repl.py"
    spec = importlib.util.spec_from_file_location("mp_repl_for_props", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


_mp_repl = _load_mp_repl()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab:()[]{}'\"\\#\n =ifor", max_size=20), min_size=1, max_size=5))
def test_micropython_continuation_rule_never_raises(lines):
    r = _mp_repl.needs_more("\n".join(lines))
    assert r in (True, False)


def test_micropython_continuation_rule_examples():
    nm = _mp_repl.needs_more
    assert nm("for i in x:")
    assert nm("for i in x:\n  i")
    assert not nm("for i in x:\n  i\n")
    assert nm("x = [1,")
    assert not nm("x = [1,\n2]")
    assert nm("s = '''a")
    assert not nm("s = '''a\nb'''")
    assert nm("1 + \\")
    assert not nm("x = '('  # (")
    assert not nm("6*7")
    assert not nm("format = 1")


from microproto import telnet_cli  # noqa: E402
from microproto.cli import parse  # noqa: E402
from microproto.shell import demo_shell  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                ["--host", "--port", "--password-env", "--no-password", "--shell", "--max-sessions",
                 "--idle-timeout", "--certfile", "--keyfile", "repl", "echo", "native", "23", "HOME"]
            ),
            st.text(max_size=6),
        ),
        max_size=8,
    )
)
def test_cli_options_defined_result(argv):
    import contextlib
    import io

    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            opts = parse(argv, telnet_cli.SPEC, telnet_cli.USAGE)
    except SystemExit as e:
        # -h anywhere (even where an option's value was expected) asks for help
        assert (e.code == 2 and "error:" in out.getvalue()) or (e.code == 0 and ("-h" in argv or "--help" in argv)), (e.code, argv)
        return
    r = telnet_cli.check(opts)
    if isinstance(r, tuple):
        assert isinstance(r[0], str) and r[0]
    else:
        assert opts["shell"] in ("repl", "echo", "native")
        assert r is None or isinstance(r, str)
    assert isinstance(opts["port"], int) and isinstance(opts["max_sessions"], int)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_shell_line_any_text(text):
    import asyncio

    class Term:
        cols = rows = 0
        term_type = peer = None

        def write(self, t):
            pass

        def close(self):
            pass

    out = asyncio.run(demo_shell().open(Term()).line(text))
    assert out is None or isinstance(out, str)
