"""The runtime's own REPL over a connection: ``os.dupterm`` on boards
(ports/micropython). CPython has none: ``HAS_DUPTERM`` is False,
``attach`` returns False and the caller uses ``repl.Session``."""

HAS_DUPTERM = False


def attach(stream):
    """Hand the runtime's REPL to ``stream``: CPython cannot, so False."""
    return False


def detach(stream):
    """Undo ``attach`` (nothing to do on CPython)."""
    return None
