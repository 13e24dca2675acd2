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


def static_handler(root, index="index.html"):
    """An ``http_handler`` serving the files under directory ``root``
    (GET/HEAD only; 404 for anything else). Refused (404): ``..``, ``\\``,
    NUL, names starting with ``.``, ``.py``/``.mpy`` files (a board's
    ``main.py`` and ``secrets.py`` hold passwords), and a path through a
    symbolic link (it could lead out of ``root``)."""
    import os

    types = {"html": "text/html; charset=utf-8", "js": "text/javascript", "css": "text/css",
             "json": "application/json", "png": "image/png", "svg": "image/svg+xml",
             "txt": "text/plain; charset=utf-8", "ico": "image/x-icon"}
    root = root.rstrip("/")

    def handler(request):
        if request.method not in ("GET", "HEAD"):
            return 405, [("Allow", "GET, HEAD")], b""
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
        ext = path.rsplit(".", 1)[-1] if "." in path else ""
        hdrs = [("Content-Type", types.get(ext, "application/octet-stream")), ("Content-Length", str(size))]
        if request.method == "HEAD":
            f.close()
            return 200, hdrs, b""
        return 200, hdrs, f

    return handler
