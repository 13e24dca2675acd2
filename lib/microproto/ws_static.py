"""Static files for ``microproto.websocket``'s ``http_handler`` (loaded only
by servers that serve files).

What is refused (404), and why: ``..`` and ``\\`` (out of the root), NUL
(not a file name; it used to drop the connection), names starting with
``.``, ``.py``/``.mpy`` files (a board's ``main.py`` and ``secrets.py``
hold the console and Wi-Fi passwords when the root is the board's ``/``),
and any path through a symbolic link (it could lead out of the root; on a
board's FAT/littlefs there are none).
"""


def _is_link(os, parent, name):
    lstat = getattr(os, "lstat", None)
    try:
        if lstat is not None:
            return lstat(parent + "/" + name)[0] & 0xF000 == 0xA000
        for e in os.ilistdir(parent or "/"):
            if e[0] == name:
                return e[1] & 0xF000 == 0xA000
    except OSError:
        pass
    return False


# file types: ".ext type" a line (one string, searched: no dict, no string
# object per type)
_TYPES = ("\n.html text/html; charset=utf-8\n.js text/javascript\n.css text/css\n.json application/json"
          "\n.png image/png\n.svg image/svg+xml\n.txt text/plain; charset=utf-8\n.ico image/x-icon\n")


def static_handler(root, index="index.html"):
    """An ``http_handler`` serving the files under directory ``root``
    (GET/HEAD only; 404 for anything else). Refused (404): ``..``, ``\\``,
    NUL, names starting with ``.``, ``.py``/``.mpy`` files (a board's
    ``main.py`` and ``secrets.py`` hold passwords), and a path through a
    symbolic link (it could lead out of ``root``)."""
    import os

    root = root.rstrip("/")

    def handler(request):
        # (comparisons and [name, value] lists, not constant tuples: each
        # str of a constant tuple is an object of its own in the heap)
        m = request.method
        if m != "GET" and m != "HEAD":
            return 405, [["Allow", "GET, HEAD"]], b""
        path = request.path
        if "\\" in path or "\0" in path or not path.startswith("/"):
            return 404, [], b"not found\n"
        if path.endswith("/"):
            path += index
        parent = root
        for part in path[1:].split("/"):
            # (startswith, not part[0]: on MicroPython a str's one
            # character taken out is interned for good)
            if (not part or part.startswith(".") or part.endswith(".py") or part.endswith(".mpy")
                    or _is_link(os, parent, part)):
                return 404, [], b"not found\n"
            parent += "/" + part
        try:
            size = os.stat(parent)[6]
            f = open(parent, "rb")
        except (OSError, ValueError):
            return None
        # the type by the extension (after the last dot of the last part)
        e = path[path.rfind(".") :] if "." in path else "/"
        t = "application/octet-stream"
        if "/" not in e and " " not in e and "\n" not in e:
            i = _TYPES.find("\n" + e + " ")
            if i >= 0:
                i += len(e) + 2
                t = _TYPES[i : _TYPES.find("\n", i)]
        hdrs = [["Content-Type", t], ["Content-Length", str(size)]]
        if m == "HEAD":
            f.close()
            return 200, hdrs, b""
        return 200, hdrs, f

    return handler
