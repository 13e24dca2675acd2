"""A small command-line parser that works the same on CPython and MicroPython
(MicroPython's argparse lacks most options), for the modules' ``main()``.

    SPEC = (
        ("--port", "port", int, 8266, "WebSocket/HTTP port"),
        ("--legacy", "legacy", bool, False, "accept old clients"),
        ("--to", "to", list, None, "recipient (repeat for more)"),
    )
    opts = cli.parse(argv, SPEC, "python -m microproto.x [options]", "What it does.")

Types: ``int``, ``str``, ``bool`` (a flag, no value) and ``list`` (a string
option that may repeat). ``--name=value`` works too. ``-h``/``--help``
prints the usage and the options and exits 0; a bad argument prints why
and exits 2.
"""

import sys


def usage_text(spec, usage, description=""):
    lines = ["usage: " + usage]
    if description:
        lines += ["", description]
    lines += ["", "options:", "  -h, --help            show this help and exit"]
    for flag, _, kind, default, help_ in spec:
        left = flag if kind is bool else flag + " " + flag[2:].upper().replace("-", "_")
        extra = "" if default in (None, False) or kind is list else " (default %s)" % (default,)
        lines.append("  %-21s %s%s" % (left, help_, extra))
    return "\n".join(lines)


def _fail(msg, usage):
    print("error: %s\nusage: %s" % (msg, usage))
    sys.exit(2)


def parse(argv, spec, usage, description=""):
    """Parse ``argv`` (without the program name) by ``spec``; a dict by name."""
    opts = {}
    by_flag = {}
    for flag, name, kind, default, _ in spec:
        opts[name] = [] if kind is list else default
        by_flag[flag] = (name, kind)
    positional = []
    i = 0
    while i < len(argv):
        a = argv[i]
        i += 1
        if a in ("-h", "--help"):
            print(usage_text(spec, usage, description))
            sys.exit(0)
        if not a.startswith("--") or a == "--":
            positional.append(a)
            continue
        val = None
        if "=" in a:
            a, val = a.split("=", 1)
        if a not in by_flag:
            _fail("unknown option %s" % a, usage)
        name, kind = by_flag[a]
        if kind is bool:
            opts[name] = True
            continue
        if val is None:
            if i >= len(argv):
                _fail("%s needs a value" % a, usage)
            val = argv[i]
            i += 1
        if kind is int:
            try:
                val = int(val)
            except ValueError:
                _fail("%s needs a whole number" % a, usage)
        if kind is list:
            opts[name].append(val)
        else:
            opts[name] = val
    opts["_args"] = positional
    return opts
