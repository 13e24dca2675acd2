"""The Python REPL shell of the Telnet server (``shell="repl"`` of
``microproto.telnet.serve``), loaded when used: a server with a command
shell of its own does not carry it. ``NativeReplShell`` (``shell="native"``)
lives in ``microproto.telnet_native`` and is loaded from here on first use."""

import sys

from microproto_port import RUNTIME
from microproto_port.repl import Session


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


class _ReplSession(Session):
    """A REPL (``microproto_port.repl.Session``) as a shell session. Its
    globals (and the rest of the REPL's state) are made with the first line
    typed: a session that is only logged in holds none of it."""

    namespace = None  # until the first line
    _lines = ()

    def __init__(self, shell):
        self.shell = shell

    def banner(self):
        return self.shell.banner

    def prompt(self):
        return "... " if self._lines else ">>> "

    async def line(self, text):
        if self.namespace is None:
            Session.__init__(self, "<telnet>")
        return (await self.apush(text))[0]

    def interrupt(self):
        if self.namespace is not None:
            if self.running:
                return Session.interrupt(self)
            self.reset()
        return False

    def close(self):
        if self.namespace is not None:
            Session.close(self)


class ReplShell:
    """The Python REPL as a shell: one ``microproto_port.repl.Session``
    (own globals) per connection."""

    def __init__(self, banner=None):
        if banner is None:
            v = sys.version.split()[0] if RUNTIME == "cpython" else sys.version
            banner = "%s %s REPL over telnet (Ctrl-D ends the session)" % (RUNTIME, v)
        self.banner = banner

    def open(self, term):
        return _ReplSession(self)
