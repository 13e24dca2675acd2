"""A line-based command shell API, for Telnet (and any line transport).

    sh = Shell(banner="board admin", prompt="admin> ")

    @sh.command("led", "led on|off: switch the LED")
    def led(session, args):
        session.state["led"] = args == "on"
        return "LED " + args

    await telnet.serve(sh, "0.0.0.0", 2323, password=secret)

A handler is ``fn(session, args) -> text or None`` (``args`` is the rest of
the line after the command name, stripped); it may also be ``async``.
``session`` is a ``ShellSession``: ``state`` (a dict private to that
session), ``cols``/``rows`` (window size from NAWS, 0 if unknown),
``term_type``, ``peer``, ``write(text)`` for output during a long command,
``close()`` to end the session. Built-in commands: ``help`` (lists the
commands and their help lines), ``quit``/``exit``. A line that names no
command goes to ``default`` (``fn(session, line)``) if given, else gets an
error message. An exception in a handler is reported to that session only.

The transport calls ``shell.open(term)`` once per connection (``term``
gives ``cols``, ``rows``, ``term_type``, ``peer``, ``write(text)`` and
``close()``), then ``await session.line(text)`` for each line and
``session.interrupt()`` on Ctrl-C. ``session.prompt()`` is the prompt to
show, ``session.banner()`` the text shown once after login.
"""


class ShellSession:
    """One connection's view of a ``Shell``."""

    closed = False

    def __init__(self, shell, term):
        self.shell = shell
        self.term = term
        self.state = {}

    def __getattr__(self, name):
        # cols, rows, term_type, peer: the connection's, as they are now
        if name in ("cols", "rows", "term_type", "peer"):
            return getattr(self.term, name)
        raise AttributeError(name)

    def write(self, text):
        """Send ``text`` now (``\\n`` is a line end)."""
        self.term.write(text)

    def close(self):
        """End the session after the current command."""
        self.closed = True
        self.term.close()

    def banner(self):
        return self.shell.banner

    def prompt(self):
        return self.shell.prompt

    def interrupt(self):
        """Ctrl-C: a shell command has no way to be stopped midway; the
        line being typed is discarded by the line discipline."""
        return False

    async def line(self, text):
        """Run one line; returns the text to show (or None)."""
        text = text.strip()
        if not text:
            return None
        name, _, args = text.partition(" ")
        args = args.strip()
        sh = self.shell
        fn = sh.handlers.get(name)
        if fn is None:
            if sh.default is None:
                return "unknown command: %s (try help)" % name
            fn = sh.default
            args = text
        try:
            r = fn(self, args)
            if hasattr(r, "send"):
                r = await r
        except Exception as e:  # a handler's error belongs to its session
            return "error: %s: %s" % (type(e).__name__, e)
        return r


class Shell:
    """Named command handlers with help, shared by all sessions."""

    def __init__(self, banner="", prompt="> ", default=None):
        self.banner = banner
        self.prompt = prompt
        self.default = default
        self.handlers = {}
        self.help_lines = {}
        self.add("help", _help, "help: list the commands")
        self.add("quit", _quit, "quit: end the session (also exit, Ctrl-D)")
        self.handlers["exit"] = _quit

    def add(self, name, fn, help=""):
        """Register ``fn(session, args)`` under ``name``."""
        self.handlers[name] = fn
        self.help_lines[name] = help or name

    def command(self, name, help=""):
        """Decorator form of ``add``."""

        def deco(fn):
            self.add(name, fn, help)
            return fn

        return deco

    def open(self, term):
        """A new ``ShellSession`` for a connection."""
        return ShellSession(self, term)


def _help(session, args):
    sh = session.shell
    names = sorted(sh.help_lines)
    return "\n".join(sh.help_lines[n] for n in names)


def _quit(session, args):
    session.close()
    return "bye"


def demo_shell():
    """The ``--shell echo`` shell: echoes lines, shows the session's facts."""
    sh = Shell(banner="microproto echo shell (help for commands)", prompt="> ")
    sh.default = lambda session, line: line
    sh.add("echo", lambda s, a: a, "echo TEXT: say TEXT back")
    sh.add("size", lambda s, a: "%dx%d" % (s.cols, s.rows), "size: window size (cols x rows)")
    sh.add("term", lambda s, a: str(s.term_type), "term: terminal type")

    def count(session, args):
        n = session.state.get("n", 0) + 1
        session.state["n"] = n
        return str(n)

    sh.add("count", count, "count: a counter private to this session")
    return sh


def shell_for(shell):
    """The shell ``telnet.serve`` runs for ``"echo"`` (``demo_shell()``) or
    a plain function ``fn(session, line)`` (``Shell(default=fn)``)."""
    if shell == "echo":
        return demo_shell()
    if not callable(shell):
        from microproto.errors import UsageError

        raise UsageError("shell must be 'repl', 'echo', a Shell or a function")
    return Shell(default=shell)
