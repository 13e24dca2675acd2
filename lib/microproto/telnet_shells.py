"""The Python REPL shell of the Telnet server (``shell="repl"`` of
``microproto.telnet.serve``), loaded when used: a server with a command
shell of its own does not carry it. The REPL itself
(``microproto_port.repl``) is loaded with the first line a session types:
a listening server and its logged-in sessions do not hold it.
``NativeReplShell`` (``shell="native"``) lives in
``microproto.telnet_native`` and is loaded from here on first use."""

import gc
import sys

from microproto_port import RUNTIME


def __getattr__(name):
    if name == "NativeReplShell":
        from microproto.telnet_native import NativeReplShell

        return NativeReplShell
    raise AttributeError(name)


def shell_for(name):
    """The shell ``telnet.serve`` runs for ``"repl"`` or ``"native"``."""
    if name == "repl":
        return ReplShell()
    from microproto.telnet_native import NativeReplShell

    return NativeReplShell()


class _ReplSession:
    """A REPL (``microproto_port.repl.Session``) as a shell session. The
    REPL (its globals, and on first use its module) is made with the first
    line typed: a session that is only logged in holds none of it.
    ``namespace``: the REPL's globals (None until then)."""

    namespace = None  # until the first line
    _r = None  # the REPL, from the first line
    # shell: the ReplShell that opened it (set by ReplShell.open)

    def banner(self):
        return self.shell.banner

    def prompt(self):
        r = self._r
        return ">>> " if r is None else r.prompt

    async def line(self, text):
        r = self._r
        if r is None:
            # a collection first: what the REPL makes fills the holes
            # garbage left (see microproto.telnet.serve)
            gc.collect()
            from microproto_port.repl import Session

            r = self._r = Session()
            self.namespace = r.namespace
        return (await r.apush(text))[0]

    def interrupt(self):
        r = self._r
        if r is not None:
            if r.running:
                return r.interrupt()
            r.reset()
        return False

    def close(self):
        r = self._r
        if r is not None:
            self._r = self.namespace = None
            r.close()


class ReplShell:
    """The Python REPL as a shell: one ``microproto_port.repl.Session``
    (own globals) per connection, made with its first line."""

    def __init__(self, banner=None):
        if banner is None:
            v = sys.version.split()[0] if RUNTIME == "cpython" else sys.version
            banner = "%s %s REPL over telnet (Ctrl-D ends the session)" % (RUNTIME, v)
        self.banner = banner

    def open(self, term):
        s = _ReplSession()
        s.shell = self
        return s
