"""A network REPL session (CPython): the same API as ports/micropython.

    s = Session()
    out, more = s.push("6*7")          # ("42\\n", False)
    out, more = s.push("for i in range(2):")   # ("", True)  -> prompt "... "
    out, more = await s.apush("    i")  # runs in a thread; interrupt() works
    s.interrupt()                       # Ctrl-C: stop the running statement
    s.close()

API (both runtimes):
- ``Session(name="<telnet>", namespace=None)``: per-session globals
  (``namespace`` or a fresh dict with ``__name__ = "__main__"``).
- ``prompt`` (property): ``">>> "`` or ``"... "`` when more input is needed.
- ``push(line) -> (output_text, needs_more)``: add one line (no line end);
  when the statement is complete it is compiled (``"single"`` mode, so a
  bare expression shows its repr) and run, and everything it printed,
  its value and any traceback come back as ``output_text`` (``\\n``
  line ends). ``needs_more`` is True while a block or bracket is open.
  Runs in the calling thread.
- ``async apush(line)``: the same, without blocking the event loop where
  the runtime allows it (CPython: a worker thread).
- ``reset()``: drop a half-typed multi-line statement (Ctrl-C at a prompt).
- ``interrupt() -> bool``: raise ``KeyboardInterrupt`` in the running
  statement (CPython: between bytecodes; a call blocked in C, like
  ``time.sleep``, is interrupted when it returns). False if nothing runs.
- ``close()``: interrupt what runs and drop the namespace.
- ``running`` (property): a statement is executing.
- The runtime's own REPL over a connection (``HAS_DUPTERM``, ``attach``,
  ``detach``) is in ``microproto_port.dupterm`` (CPython has no dupterm:
  ``attach`` returns False and the caller uses ``Session``).

Output capture: ``sys.stdout``/``sys.stderr`` are replaced once by a router
that sends what a session's thread writes to that session and everything
else to the original streams, so ``print`` inside functions, ``help()``
and tracebacks all reach the right client.

Limits: ``max_output`` characters of output are kept per statement (the
rest is replaced by a note); ``max_source`` characters per statement.
"""

import codeop
import sys
import threading
import traceback

_lock = threading.Lock()
_routes = {}  # thread ident -> _Capture


class _Capture:
    def __init__(self, limit):
        self.parts = []
        self.size = 0
        self.limit = limit
        self.cut = False

    def write(self, s):
        if self.size < self.limit:
            s = s[: self.limit - self.size]
            self.parts.append(s)
            self.size += len(s)
        else:
            self.cut = True
        return len(s)

    def text(self):
        t = "".join(self.parts)
        if self.cut:
            t += "\n[output cut at %d characters]\n" % self.limit
        return t


class _Router:
    def __init__(self, orig):
        self._orig = orig

    def write(self, s):
        c = _routes.get(threading.get_ident())
        if c is None:
            return self._orig.write(s)
        return c.write(s)

    def flush(self):
        if threading.get_ident() not in _routes:
            self._orig.flush()

    def __getattr__(self, name):
        return getattr(self._orig, name)


def _install():
    # checked before every statement: whoever swapped sys.stdout since
    # (a test runner, the application) gets wrapped in turn
    with _lock:
        if not isinstance(sys.stdout, _Router):
            sys.stdout = _Router(sys.stdout)
        if not isinstance(sys.stderr, _Router):
            sys.stderr = _Router(sys.stderr)


def _no_input(prompt=""):
    raise EOFError("input() does not read from a network REPL session")


class Session:
    """One REPL with its own globals (see the module docstring)."""

    def __init__(self, name="<telnet>", namespace=None, max_output=65536, max_source=65536):
        self.name = name
        self.namespace = namespace if namespace is not None else {"__name__": "__main__"}
        # the server's stdin is not the client's keyboard
        self.namespace.setdefault("input", _no_input)
        self.max_output = max_output
        self.max_source = max_source
        self._lines = []
        self._size = 0
        self._compile = codeop.CommandCompiler()
        self._tid = None
        self._signalled = False
        self._tlock = threading.Lock()
        _install()

    @property
    def prompt(self):
        return "... " if self._lines else ">>> "

    @property
    def running(self):
        return self._tid is not None

    def reset(self):
        self._lines = []
        self._size = 0

    def push(self, line):
        self._lines.append(line)
        self._size += len(line) + 1
        if self._size > self.max_source:
            self.reset()
            return "statement longer than %d characters: discarded\n" % self.max_source, False
        source = "\n".join(self._lines)
        cap = _Capture(self.max_output)
        try:
            code = self._compile(source, self.name, "single")
        except (OverflowError, SyntaxError, ValueError):
            self.reset()
            _routes[threading.get_ident()] = cap
            try:
                self._show_syntax_error(cap)
            finally:
                del _routes[threading.get_ident()]
            return cap.text(), False
        if code is None:
            return "", True
        self.reset()
        return self._run(code, cap), False

    def _show_syntax_error(self, cap):
        t, v, _ = sys.exc_info()
        cap.write("".join(traceback.format_exception_only(t, v)))

    def _run(self, code, cap):
        _install()
        tid = threading.get_ident()
        _routes[tid] = cap
        try:
            try:
                with self._tlock:
                    self._tid = tid
                    self._signalled = False
                exec(code, self.namespace)
            finally:
                with self._tlock:
                    self._tid = None
        except SystemExit:
            cap.write("SystemExit ignored (use Ctrl-D to end the session)\n")
        except BaseException:
            t, v, tb = sys.exc_info()
            # drop our own frame from the traceback
            cap.write("".join(traceback.format_exception(t, v, tb.tb_next if tb else None)))
        finally:
            self._tid = None
            del _routes[tid]
            try:
                sys.stdout.flush()
            except Exception:
                pass
        return cap.text()

    async def apush(self, line):
        # A thread of its own per statement, not the loop's default executor:
        # a few sessions running endless loops must not starve the others.
        import asyncio

        loop = asyncio.get_running_loop()
        fut = loop.create_future()

        def done(result, exc):
            if not fut.done():
                if exc is None:
                    fut.set_result(result)
                else:
                    fut.set_exception(exc)

        def work():
            try:
                r, e = self.push(line), None
            except BaseException as exc:  # reported to the awaiting task
                r, e = None, exc
            try:
                loop.call_soon_threadsafe(done, r, e)
            except RuntimeError:
                pass  # the loop is gone: nobody waits for this any more

        threading.Thread(target=work, daemon=True).start()
        return await fut

    def interrupt(self):
        with self._tlock:
            tid = self._tid
            if tid is None:
                return False
            if self._signalled:
                return True
            self._signalled = True
            import ctypes

            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(tid), ctypes.py_object(KeyboardInterrupt)
            )
        return True

    def close(self):
        self.interrupt()
        self.namespace = {}
        self.reset()
