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

The file records are handled by ``microproto.webrepl_files``, loaded with
the first record.

Events (``next_event()``): ``("login", True|False)``, ``("exec", str)``,
``("interrupt", None)``, ``("close", code, reason)``, ``("file", kind,
name, ok)`` after each transfer.
"""

from microproto.auth import password_equal
from microproto.linedisc import LineDiscipline
from microproto_port import const

_REC_SIZE = const(82)

_S_PASSWORD = const(0)
_S_REPL = const(1)
_S_PUT = const(2)
_S_GET = const(3)
_S_CLOSED = const(4)

OK = b"WB\x00\x00"
ERR = b"WB\x01\x00"


class WebREPL:
    """One console session. ``opener(name, mode)`` opens files (default
    ``open``); ``password`` is required (str or bytes)."""

    busy = False  # kept for callers that read it; the console does not use it

    def __init__(self, password, opener=open, max_line=512, chunk_size=1024,
                 max_file_size=16 * 1024 * 1024, max_password=64, check=None, root=None, rename=None,
                 remove=None):
        if not password:
            raise ValueError("the console needs a password")
        self._password = password
        self._check = check
        if rename is None:
            import os

            rename = os.rename
            remove = os.remove
        self._fs = (opener, rename, remove)  # for microproto.webrepl_files
        self.root = root
        self.chunk_size = chunk_size
        self.max_file_size = max_file_size
        self.max_password = max_password
        # the password being typed; once logged in, a file record being
        # received (82 bytes at most)
        self._buf = bytearray()
        self._lines = LineDiscipline(max_line, echo=True)
        self._state = _S_PASSWORD
        self._out = [(True, b"Password: ")]  # (is_text, bytes)
        self._spare = []  # the list handed out last time
        self._events = []
        self._xfer = None  # a transfer under way: [file, name, path, bytes left]

    # -- output -----------------------------------------------------------

    def messages_to_send(self):
        """The messages produced so far: a list of ``(is_text, bytes)``,
        valid until the next call (two lists take turns: no list is made
        per call)."""
        out = self._out
        self._out = self._spare
        self._spare = out
        del self._out[:]
        return out

    def next_event(self):
        if self._events:
            return self._events.pop(0)
        return None

    @property
    def closed(self):
        return self._state == _S_CLOSED

    @property
    def logged_in(self):
        return self._state != _S_PASSWORD

    def end(self):
        """The connection is over: an upload under way is dropped."""
        self._close(None, None)

    def _text(self, data):
        # a trailing CR LF goes out on its own (see the module docstring)
        if data.endswith(b"\r\n") and len(data) > 2:
            self._out.append((True, data[:-2]))
            self._out.append((True, b"\r\n"))
        elif data:
            self._out.append((True, data))

    def _close(self, code, reason):
        # code None: the connection is over (no close event)
        if self._xfer is not None:
            from microproto.webrepl_files import end_file

            end_file(self)
        self._state = _S_CLOSED
        if code is not None:
            self._events.append(("close", code, reason))

    # -- input ------------------------------------------------------------

    def receive(self, data, is_text):
        """One complete WebSocket message from the client."""
        st = self._state
        if st == _S_CLOSED:
            return
        if isinstance(data, str):
            data = data.encode()
        buf = self._buf
        if st == _S_PASSWORD:
            for b in data:
                if b == 13 or b == 10:
                    pw = bytes(buf)
                    buf[:] = b""
                    ok = self._check(pw) if self._check else password_equal(pw, self._password)
                    self._events.append(("login", ok))
                    if ok:
                        self._state = _S_REPL
                        self._out.append((True, b"\r\nWebREPL connected\r\n>>> "))
                    elif ok is None:
                        self._out.append((True, b"\r\nAccess denied: too many failed logins, try again later\r\n"))
                        self._close(1013, "try again later")
                    else:
                        self._out.append((True, b"\r\nAccess denied\r\n"))
                        self._close(1008, "wrong password")
                    return
                if len(buf) >= self.max_password:
                    self._out.append((True, b"\r\nAccess denied\r\n"))
                    self._close(1008, "password too long")
                    return
                buf.append(b)
        elif st != _S_REPL and not is_text:
            # file transfers (microproto.webrepl_files) load when used
            from microproto import webrepl_files

            (webrepl_files.put if st == _S_PUT else webrepl_files.get)(self, data)
        elif is_text:
            if buf:  # a record cut short by terminal input
                buf[:] = b""
                self._out.append((False, ERR))
            ld = self._lines
            ld.feed(data)
            echo = ld.echo_to_send()
            while True:
                ev = ld.next_event()
                if ev is None:
                    break
                kind = ev[0]
                if kind == "line":
                    try:
                        self._events.append(("exec", ev[1].decode()))  # already bytes
                    except UnicodeError:
                        self._text(echo)
                        echo = b""
                        self.output("invalid UTF-8 in the line: ignored\n")
                elif kind == "interrupt":
                    self._events.append(("interrupt", None))
                elif kind == "eof":
                    self._text(echo)
                    echo = b""
                    self._text(b"\r\nbye\r\n")
                    self._close(1000, "end of session")
                    return
                elif kind == "overlong":
                    self._text(echo)
                    echo = b""
                    self.output("line longer than %d bytes: ignored\n" % ld.max_line)
            self._text(echo)
        elif buf or data[:2] == b"WA":
            # a record may come split over several messages (the PyPI
            # webrepl client sends its first 10 bytes on their own)
            need = _REC_SIZE - len(buf)
            buf.extend(data[:need])
            if len(buf) == _REC_SIZE:
                rec = bytes(buf)
                buf[:] = b""
                from microproto.webrepl_files import record

                record(self, rec + bytes(data[need:]) if len(data) > need else rec)
        else:
            self._close(1003, "binary data outside a file transfer")

    def output(self, text, more=False):
        """The driver ran a line: send its output and the next prompt."""
        if self._state == _S_CLOSED:
            return
        if text:
            self._text(text.replace("\r\n", "\n").replace("\n", "\r\n").encode())
        self._out.append((True, b"... " if more else b">>> "))

    def interrupted(self):
        """The driver handled Ctrl-C with nothing running: fresh prompt."""
        self._text(b"\r\nKeyboardInterrupt\r\n")
        self._out.append((True, b">>> "))
