#!/usr/bin/env python3
"""Write the mip packages: one ``package/<slice>/package.json`` per protocol.

    python3 package/build.py          # rewrite them
    python3 package/build.py --check  # exit 1 if any is out of date

A slice holds what importing its facade can load on a board: the modules
it imports (lazily imported parts too: deflate, TLS, the message builder,
the shells), the shared modules those import, and the MicroPython port
they use, found by reading the imports in lib/ and ports/micropython/. The
command-line modules (``microproto.cli``, ``*_cli``) are left out: a board
does not run the CLIs. Every port module a board's ``board.py`` needs
(``microproto_port.wlan``) is added.

Each slice lists every file it needs in ``urls`` (relative to the
package.json) and no ``deps``: mip resolves a dependency only by its
name in an index or by an absolute URL, never relative to the package that
names it, so a dependency on a sibling slice would tie every package to
one host. Installing two slices writes the shared files twice, the same.
"""

import ast
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = {"microproto": "lib/microproto", "microproto_port": "ports/micropython/microproto_port"}
# slice name -> (entry modules, extra files under lib/microproto)
SLICES = {
    "websocket": (["microproto.websocket"], []),
    "telnet": (["microproto.telnet"], []),
    "smtp": (["microproto.smtp"], []),
    "console": (["microproto.console"], ["console.html"]),
    "pop3": (["microproto.pop3"], []),
    "dhcp": (["microproto.dhcp"], []),
}
ALWAYS = ["microproto", "microproto_port", "microproto_port.wlan"]


def version():
    with open(os.path.join(ROOT, "lib", "microproto", "__init__.py")) as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split("=", 1)[1].strip().strip("\"'")
    raise SystemExit("no __version__ in lib/microproto/__init__.py")


def source(module):
    """The file of ``module`` (a package's __init__.py), or None if it is
    not ours."""
    top, _, rest = module.partition(".")
    if top not in SOURCES:
        return None
    base = os.path.join(ROOT, SOURCES[top], *rest.split(".")) if rest else os.path.join(ROOT, SOURCES[top])
    if os.path.isdir(base):
        return os.path.join(base, "__init__.py")
    return base + ".py" if os.path.exists(base + ".py") else None


def is_cli(module):
    return module == "microproto.cli" or module.endswith("_cli")


def imports(module):
    """Our modules that ``module`` imports anywhere in its file."""
    with open(source(module)) as f:
        tree = ast.parse(f.read())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names = [node.module] + ["%s.%s" % (node.module, a.name) for a in node.names]
        else:
            continue
        for name in names:
            if source(name) and not is_cli(name):
                found.add(name)
                if "." in name:
                    found.add(name.split(".")[0])  # its package's __init__
    return found


def closure(entries):
    todo, seen = list(entries) + ALWAYS, set()
    while todo:
        m = todo.pop()
        if m in seen:
            continue
        seen.add(m)
        todo.extend(imports(m))
    return sorted(seen)


def package(name):
    entries, extra = SLICES[name]
    here = os.path.join(ROOT, "package", name)
    urls = []
    for m in closure(entries):
        src = source(m)
        top = m.split(".")[0]
        dest = top + "/" + os.path.relpath(src, os.path.join(ROOT, SOURCES[top])).replace(os.sep, "/")
        urls.append([dest, os.path.relpath(src, here).replace(os.sep, "/")])
    for f in extra:
        urls.append(["microproto/" + f, os.path.relpath(os.path.join(ROOT, "lib", "microproto", f), here)])
    return {"urls": sorted(urls), "deps": [], "version": version()}


def text(name):
    return json.dumps(package(name), indent=2) + "\n"


def main(argv=None):
    check = "--check" in (argv if argv is not None else sys.argv[1:])
    stale = []
    for name in SLICES:
        path = os.path.join(ROOT, "package", name, "package.json")
        want = text(name)
        try:
            with open(path) as f:
                have = f.read()
        except OSError:
            have = None
        if have != want:
            stale.append(path)
            if not check:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(want)
    for p in stale:
        print("%s %s" % ("out of date:" if check else "wrote", os.path.relpath(p, ROOT)))
    if check and stale:
        sys.exit(1)


if __name__ == "__main__":
    main()
