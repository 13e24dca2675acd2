"""WebREPL file transfers (the "WA" records, put and get) of a
``microproto.webrepl.WebREPL`` session: loaded with the first binary message
after the login, so a console that only types costs none of it. Functions
of the session ``c``."""

import struct

from microproto import __version__
from microproto.webrepl import ERR, OK
from microproto_port import const

_PUT = const(1)
_GET = const(2)
_VER = const(3)
_REC_SIZE = const(82)
_REC_FMT = "<2sBBQLH64s"

_S_REPL = const(1)
_S_PUT = const(2)
_S_GET = const(3)


def binary(c, data):
    """A binary message from the client, once logged in (bytes)."""
    st = c._state
    if st == _S_PUT:
        put(c, data)
        return
    if st == _S_GET:
        get(c, data)
        return
    buf = c._buf
    if buf or data[:2] == b"WA":
        # a record may come split over several messages (the PyPI
        # webrepl client sends its first 10 bytes on their own)
        need = _REC_SIZE - len(buf)
        buf.extend(data[:need])
        if len(buf) == _REC_SIZE:
            rec = bytes(buf)
            buf[:] = b""
            record(c, rec + bytes(data[need:]) if len(data) > need else rec)
    else:
        c.end(1003, "binary data outside a file transfer")


def _name(name, root):
    if root is None:
        return name
    if name.startswith("/"):
        return ""
    for part in name.split("/"):
        if part == "..":
            return ""
    return root.rstrip("/") + "/" + name


def record(c, data):
    sig, kind, flags, offset, size, nlen, raw = struct.unpack(_REC_FMT, bytes(data[:_REC_SIZE]))
    if nlen > 64:
        c._out.append((False, ERR))
        return
    if kind == _VER:
        v = [int(x) for x in __version__.split(".")[:3]]
        c._out.append((False, bytes(v)))
        return
    try:
        name = raw[:nlen].decode()
    except UnicodeError:
        name = ""
    path = _name(name, c.root)
    if not path or kind not in (_PUT, _GET):
        c._out.append((False, ERR))
        return
    if kind == _PUT and size > c.max_file_size:
        c._out.append((False, ERR))
        c._events.append(("file", "put", name, False))
        return
    try:
        f = (c._fs[0] if c._fs else open)(path + ".part" if kind == _PUT else path, "wb" if kind == _PUT else "rb")
    except OSError:
        c._out.append((False, ERR))
        c._events.append(("file", "put" if kind == _PUT else "get", name, False))
        return
    c._xfer = [f, name, path, size]  # file, name, path, bytes left to put
    c._out.append((False, OK))
    if kind == _PUT:
        c._state = _S_PUT
        if size == 0:
            _finish_put(c, True)
        # data that came in the same message as the record
        elif len(data) > _REC_SIZE:
            put(c, memoryview(data)[_REC_SIZE:])
    else:
        c._state = _S_GET


def put(c, data):
    x = c._xfer
    n = len(data)
    if n > x[3]:
        _finish_put(c, False)
        return
    try:
        x[0].write(data)
    except OSError:
        _finish_put(c, False)
        return
    x[3] -= n
    if x[3] == 0:
        _finish_put(c, True)


def _finish_put(c, ok):
    name = c._xfer[1]
    ok = end_file(c, ok)
    c._state = _S_REPL
    c._out.append((False, OK if ok else ERR))
    c._events.append(("file", "put", name, ok))


def get(c, data):
    name = c._xfer[1]
    try:
        chunk = c._xfer[0].read(c.chunk_size)
    except OSError:
        chunk = None
    if chunk:
        c._out.append((False, struct.pack("<H", len(chunk)) + chunk))
        return
    end_file(c)
    c._state = _S_REPL
    c._out.append((False, b"\x00\x00"))
    c._out.append((False, OK if chunk is not None else ERR))
    c._events.append(("file", "get", name, chunk is not None))


def end_file(c, keep=False):
    """Close the file; an upload is renamed into place if ``keep``, else
    its temporary file is removed. True if kept."""
    x = c._xfer
    if x is None:
        return False
    c._xfer = None
    try:
        x[0].close()
    except OSError:
        keep = False
    if c._state != _S_PUT:
        return False
    path = x[2]
    tmp = path + ".part"
    _, rename, remove = c._fs or (None, None, None)
    if rename is None:  # the runtime's
        import os

        rename = os.rename
        remove = os.remove
    if keep:
        try:
            try:
                rename(tmp, path)
            except OSError:  # FAT will not rename over a file
                remove(path)
                rename(tmp, path)
            return True
        except OSError:
            pass
    try:
        remove(tmp)
    except OSError:
        pass
    return False

