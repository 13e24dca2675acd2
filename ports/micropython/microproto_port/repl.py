"""A network REPL session (MicroPython): the same API as ports/cpython.

    s = Session()
    out, more = s.push("6*7")          # ("42\\n", False)

API (both runtimes):
- ``Session(name="<telnet>", namespace=None)``: per-session globals.
- ``prompt`` (property): ``">>> "`` or ``"... "``.
- ``push(line) -> (output_text, needs_more)``: add one line; a complete
  statement is compiled in ``"single"`` mode and run with the session's
  globals; what it printed, its value (``__repl_print__``) and any
  traceback come back as text. Needs more input while a bracket, a
  triple-quoted string or a trailing backslash is open, and after a
  compound statement (``if``, ``def``, ...: ending with ``:``) until an
  empty line, like MicroPython's own REPL.
- ``async apush(line)``: the same; here it runs inline (the unix port has
  no safe way to run user code beside the event loop), so a statement
  that never ends stalls the server: there is no way to interrupt it.
- ``reset()``, ``close()``, ``running``.
- ``interrupt() -> bool``: False here: MicroPython has no way to raise in
  running code from Python. On a board, the REPL attached with ``attach``
  handles Ctrl-C itself (dupterm input checks the interrupt character).
- The runtime's own REPL over a connection (``os.dupterm``: ``HAS_DUPTERM``,
  ``attach``, ``detach``, ``DuptermStream``) is in ``microproto_port.dupterm``,
  loaded only by the native shell.

Output capture: the session's globals get their own ``print`` and
``__repl_print__`` (MicroPython's ``"single"`` code calls it for a bare
expression); a ``print`` inside a function defined in another module
still goes to the console. Limits: ``max_output`` characters kept per
statement, ``max_source`` characters per statement.
"""

import gc
import io
import os
import sys

# the words that open a compound statement (one bytes object: a tuple of
# str would make an object of each)
_KEYWORDS = b" if while for try def class with async "


def needs_more(source):
    """True if ``source`` (lines joined with ``\\n``) is not yet a complete
    statement by the rules of MicroPython's REPL."""
    # read as bytes (ints): a one-character str taken out of a str is
    # interned for good on MicroPython (each distinct character typed would
    # stay in the heap); the specials are ASCII, never inside a UTF-8 sequence
    b = source.encode()
    depth = 0
    quote = None  # None, b"'", b'"', b"'''", b'"""'
    i = 0
    n = len(b)
    while i < n:
        c = b[i]
        if quote is not None:
            if c == 0x5C:  # backslash
                i += 2
                continue
            if b.startswith(quote, i):
                i += len(quote)
                quote = None
                continue
            if c == 0x0A and len(quote) == 1:
                quote = None  # an unterminated short string: a syntax error
            i += 1
            continue
        if c == 0x23:  # "#"
            j = b.find(b"\n", i)
            i = n if j < 0 else j
            continue
        if c == 0x27 or c == 0x22:
            q3 = b"'''" if c == 0x27 else b'"""'
            quote = q3 if b.startswith(q3, i) else q3[:1]
            i += len(quote)
            continue
        if c == 0x28 or c == 0x5B or c == 0x7B:  # ( [ {
            depth += 1
        elif c == 0x29 or c == 0x5D or c == 0x7D:  # ) ] }
            depth -= 1
        i += 1
    if quote is not None and len(quote) == 3:
        return True
    if depth > 0:
        return True
    lines = source.split("\n")
    last = lines[-1]
    if last.endswith("\\"):
        return True
    # a compound statement (its first line ends with ":", starts with a
    # decorator or with one of _KEYWORDS as a word, as MicroPython's REPL
    # reads it) goes on until an empty line
    i = 0
    while i < n and (b[i] == 0x20 or b[i] == 0x09 or 0x0B <= b[i] <= 0x0D):  # (not past the first line)
        i += 1
    j = i
    while j < n and (b[j] > 0x7F or b[j] == 0x5F or 0x30 <= b[j] <= 0x39 or 0x61 <= b[j] | 0x20 <= 0x7A):
        j += 1
    if lines[0].endswith(":") or b.startswith(b"@", i) or b" " + b[i:j] + b" " in _KEYWORDS:
        return last.strip() != ""
    return False


def _no_input(prompt=""):
    raise EOFError("input() does not read from a network REPL session")


class Session:
    """One REPL with its own globals (see the module docstring)."""

    # defaults in the class: a session stores only what differs
    name = "<telnet>"
    max_output = 16384
    max_source = 16384

    def __init__(self, name="<telnet>", namespace=None, max_output=16384, max_source=16384):
        if name != "<telnet>":
            self.name = name
        if max_output != 16384:
            self.max_output = max_output
        if max_source != 16384:
            self.max_source = max_source
        self.namespace = ns = namespace if namespace is not None else {"__name__": "__main__"}
        self._lines = []
        self._cap = None  # while a statement runs: its output (io.StringIO)
        self._n = 0  # characters it printed (past max_output: cut)
        ns.setdefault("input", _no_input)  # the console's stdin is not the client's
        ns["print"] = self._print
        ns["__repl_print__"] = self._repl_print

    def _print(self, *args, sep=" ", end="\n", file=None):
        # the running statement's output: at most max_output characters kept
        cap = self._cap
        if file is not None or cap is None:
            print(*args, sep=sep, end=end, file=file or sys.stdout)
            return
        s = sep.join([str(a) for a in args]) + end
        room = self.max_output - self._n
        self._n += len(s)
        if room > 0:
            cap.write(s if len(s) <= room else s[:room])

    def _repl_print(self, value):
        if value is not None:
            self.namespace["_"] = value
            self._print(repr(value))

    @property
    def prompt(self):
        return "... " if self._lines else ">>> "

    @property
    def running(self):
        return self._cap is not None

    def reset(self):
        self._lines.clear()

    def push(self, line):
        lines = self._lines
        lines.append(line)
        source = "\n".join(lines)
        if len(source) >= self.max_source:  # (with its line end: more than max_source)
            self.reset()
            return "statement longer than %d characters: discarded\n" % self.max_source, False
        forced = len(lines) > 2 and not lines[-1].strip() and not lines[-2].strip()
        if not forced and needs_more(source):
            return "", True
        self.reset()
        if not source.strip():
            return "", False
        cap = self._cap = io.StringIO()
        self._n = 0
        p = self._print
        # a collection first: compiling needs contiguous blocks (1 KiB for
        # the parser's rule stack on 64 bits, 2 KiB for a 254-element
        # list), and what the compiler allocates small then fills the
        # holes garbage left instead of splitting the free space above them
        gc.collect()
        try:
            exec(compile(source + "\n", self.name, "single"), self.namespace)
        except SystemExit:
            p("SystemExit ignored (use Ctrl-D to end the session)")
        except BaseException as e:
            tb = io.StringIO()
            sys.print_exception(e, tb)
            own = '  File "%s"' % __file__
            for t in tb.getvalue().split("\n")[:-1]:
                if not t.startswith(own):
                    p(t)
        finally:
            self._cap = None
        t = cap.getvalue()
        if self._n > self.max_output:
            t += "\n[output cut at %d characters]\n" % self.max_output
        return t, False

    async def apush(self, line):
        return self.push(line)

    def interrupt(self):
        return False

    def close(self):
        self.namespace = {}
        self.reset()
