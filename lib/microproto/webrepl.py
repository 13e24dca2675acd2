"""The console session core: MicroPython WebREPL's wire format (sans-I/O).

One object per WebSocket connection of the device console. It takes the
WebSocket messages the client sent and produces the messages to send back;
running Python lines is left to the driver (``("exec", line)`` events, then
``output()``), so a long statement never blocks the protocol.

Wire format (as MicroPython's WebREPL and its clients speak it):
- The server opens with the text ``"Password: "``; the client sends the
  password and CR (text or binary). Right: ``"\\r\\nWebREPL connected\\r\\n>>> "``;
  wrong: ``"\\r\\nAccess denied\\r\\n"`` and the session closes (1008).
- Text messages are terminal input (keystrokes or whole lines); terminal
  output goes out as text. A CR LF that ends a piece of output is sent as a
  message of its own, as the MicroPython REPL does, because existing clients
  wait for a ``"\\r\\n"`` message followed by a ``">>> "`` message.
- Binary messages starting with ``"WA"`` are file requests, 82 bytes (which
  may come split over several messages; terminal input in between drops
  the partial record with ``WB 1``):
  ``<2sBBQLH64s`` = sig, type (1 put, 2 get, 3 version), flags, offset,
  size, name length, name. Replies are ``"WB"`` + a little-endian 16-bit
  status (0 ok, 1 error). Put: after ``WB 0`` the client sends ``size``
  bytes in binary messages, then gets ``WB 0``. Get: after ``WB 0`` each
  binary message ``"\\0"`` from the client is answered with a 16-bit length
  and that many bytes (at most ``chunk_size``); length 0 ends, then ``WB 0``.
  Version: three bytes.

Fixes of WebREPL's known faults: the password is compared in constant time
(``microproto.auth``; ``check(given)`` may stand in for the comparison, the
console's gate, which answers None when it throttles: "try again later",
1013) and bounded (``max_password``); files stream through ``chunk_size``
bytes at a time with no 64 KiB cap (``max_file_size`` bounds an upload,
default 16 MiB); an upload goes to ``NAME.part`` and is renamed to NAME
only when complete, so an interrupted one (``end()``, a bad size) leaves
the old file as it was; bad records get ``WB 1`` and the session goes on;
close codes are given (1008 wrong password, 1000 Ctrl-D, 1003 binary data
that is no file record).

File names (at most 64 bytes): the policy is explicit. ``root=None`` (the
default): the access of the REPL itself, which a logged-in user has
anyway: any name, absolute or relative to the working directory. With
``root="/some/dir"``: names are relative to it; absolute names and ``..``
components are refused.

Binary messages once logged in (file records and transfers) are handled
by ``microproto.webrepl_files``, loaded with the first.

Events (``next_event()``): ``("login", True|False)``, ``("exec", str)``,
``("interrupt", None)``, ``("close", code, reason)``, ``("file", kind,
name, ok)`` after each transfer.
"""

from microproto.auth import password_equal
from microproto.linedisc import LineDiscipline
from microproto_port import RUNTIME, const

_S_PASSWORD = const(0)
_S_REPL = const(1)
_S_PUT = const(2)
_S_GET = const(3)
_S_CLOSED = const(4)
_ECHO_REF = const(256)  # an echo up to this long goes from the line discipline's buffer

OK = b"WB\x00\x00"
ERR = b"WB\x01\x00"


class WebREPL:
    """One console session. ``opener(name, mode)`` opens files (default
    ``open``); ``password`` is required (str or bytes)."""

    # defaults in the class: a session stores only what differs
    busy = False  # kept for callers that read it; the console does not use it
    closed = False  # True once the session is over (end())
    logged_in = False  # True once the password was accepted
    _fs = None  # (opener, rename, remove) when not the runtime's (microproto.webrepl_files)
    _xfer = None  # a transfer under way: [file, name, path, bytes left]

    def __init__(self, password, opener=open, max_line=512, chunk_size=1024,
                 max_file_size=16 * 1024 * 1024, max_password=64, check=None, root=None, rename=None,
                 remove=None):
        if not password:
            raise ValueError("the console needs a password")
        # check(given) stands in for the comparison; either is dropped at
        # login (the console's check holds its gate and the peer)
        self._pw = check or password
        if opener is not open or rename is not None:
            self._fs = (opener, rename, remove)
        self.root = root
        self.chunk_size = chunk_size
        self.max_file_size = max_file_size
        self.max_password = max_password
        # the password being typed; once logged in, a file record being
        # received (82 bytes at most), or a short text message's bytes
        self._buf = bytearray()
        self._lines = ld = LineDiscipline(max_line, echo=True)
        # the echo as a message: the line discipline's echo buffer (ours),
        # queued as it is while the client types (no copy, no tuple per
        # keystroke)
        ld._echo = e = bytearray()
        self._em = (True, e)
        self._state = _S_PASSWORD
        self._out = [(True, "Password: ".encode())]  # (is_text, bytes)
        self._spare = []  # the list handed out last time
        self._events = []

    # -- output -----------------------------------------------------------

    def messages_to_send(self):
        """The messages produced so far: a list of ``(is_text, data)``
        (``data`` bytes, or a bytearray for typed characters' echo), valid
        until the next call of a method of the session (two lists take
        turns: no list is made per call)."""
        out = self._out
        self._out = self._spare
        self._spare = out
        self._out.clear()
        return out

    def next_event(self):
        if self._events:
            return self._events.pop(0)
        return None

    def end(self, code=None, reason=None):
        """The connection is over: an upload under way is dropped. (With a
        ``code``: the session closes, and says so with a close event.)"""
        if self._xfer is not None:
            from microproto.webrepl_files import end_file

            end_file(self)
        self._state = _S_CLOSED
        self.closed = True
        self._pw = None
        if code is not None:
            self._events.append(("close", code, reason))

    def _text(self, data):
        # a trailing CR LF goes out on its own (see the module docstring)
        if data.endswith(b"\r\n") and len(data) > 2:
            self._out.append((True, data[:-2]))
            self._out.append((True, b"\r\n"))
        elif data:
            self._out.append((True, data))

    # -- input ------------------------------------------------------------
    # (what is said once per session is a str encoded when said: a
    # constant (True, b"...") would stay in the heap as a tuple and a bytes)

    def receive(self, data, is_text):
        """One complete WebSocket message from the client."""
        st = self._state
        if st == _S_CLOSED:
            return
        buf = self._buf
        out = self._out
        if is_text and st != _S_PASSWORD:  # terminal input
            if buf:  # a record cut short by terminal input
                buf[:] = b""
                out.append((False, ERR))
            ld = self._lines
            e = ld._echo
            em = self._em
            if e:
                # echo of earlier input: still the last message queued, the
                # new echo joins it; queued before other messages, it stays
                # there as a copy; not queued, it was handed out: dropped
                k = -1
                for i in range(len(out)):
                    if out[i] is em:
                        k = i
                if k < 0 or k < len(out) - 1:
                    if k >= 0:
                        out[k] = (True, bytes(e))
                    e[:] = b""
            if isinstance(data, str):
                if RUNTIME == "micropython" and len(data) <= 32:
                    buf.extend(data)  # its UTF-8 bytes: no bytes object made
                    data = buf
                else:
                    data = data.encode()
            ld.feed(data)
            buf[:] = b""
            ev = ld.next_event()
            if ev is None:  # typing
                if e and (not out or out[-1] is not em):
                    out.append(em)
                if len(e) > _ECHO_REF:
                    out[-1] = (True, bytes(e))
                    e[:] = b""
                return
            # lines and control keys: the echo goes first, as a copy
            if out and out[-1] is em:
                out.pop()
            echo = bytes(e)
            e[:] = b""
            while ev is not None:
                kind = ev[0]
                note = None
                if kind == "line":
                    try:
                        self._events.append(("exec", ev[1].decode()))  # already bytes
                    except UnicodeError:
                        note = "invalid UTF-8 in the line: ignored\n"
                elif kind == "interrupt":
                    self._events.append(ev)  # ("interrupt", None) as it is
                elif kind == "eof":
                    self._text(echo)
                    self._text("\r\nbye\r\n".encode())
                    self.end(1000, "end of session")
                    return
                else:  # overlong
                    note = "line longer than %d bytes: ignored\n" % ld.max_line
                if note:
                    self._text(echo)
                    echo = b""
                    self.output(note)
                ev = ld.next_event()
            self._text(echo)
            return
        if isinstance(data, str):
            data = data.encode()
        if st == _S_PASSWORD:
            for b in data:
                long = False
                if b != 13 and b != 10:
                    if len(buf) < self.max_password:
                        buf.append(b)
                        continue
                    long = True  # refused as a wrong one, without a login event
                    ok = False
                else:
                    check = self._pw
                    pw = bytes(buf)
                    ok = check(pw) if callable(check) else password_equal(pw, check)
                    self._events.append(("login", ok))
                buf[:] = b""
                if ok:
                    self._state = _S_REPL
                    self.logged_in = True
                    self._pw = None
                    out.append((True, "\r\nWebREPL connected\r\n>>> ".encode()))
                elif ok is None:
                    out.append((True, "\r\nAccess denied: too many failed logins, try again later\r\n".encode()))
                    self.end(1013, "try again later")
                else:
                    out.append((True, "\r\nAccess denied\r\n".encode()))
                    self.end(1008, "password too long" if long else "wrong password")
                return
        else:
            # binary data once logged in: file records and transfers
            # (microproto.webrepl_files, loaded with the first)
            from microproto.webrepl_files import binary

            binary(self, data)

    def output(self, text, more=False):
        """The driver ran a line: send its output and the next prompt."""
        if self._state == _S_CLOSED:
            return
        if text:
            self._text(text.replace("\r\n", "\n").replace("\n", "\r\n").encode())
        self._out.append((True, b"... " if more else b">>> "))

    def interrupted(self):
        """The driver handled Ctrl-C with nothing running: fresh prompt."""
        self.output("\nKeyboardInterrupt\n")
