"""The command line of the POP3 client: ``python -m microproto.pop3``
(``microproto.pop3.main`` calls ``main`` here; kept apart so that a board
reading mail does not load the option names and messages).

Exit status: 0 done, 1 the server said no (or broke the protocol),
2 bad usage, 3 network or TLS failure.
"""

import sys

from microproto import cli
from microproto.errors import ProtocolError, UsageError
from microproto.pop3 import POP3, POP3Error
from microproto_port import net

_USAGE = ("python -m microproto.pop3 --server HOST [--port P] [--tls stls|implicit|none] [--cafile F]\n"
          "    [--user U --password-env VAR] [options] COMMAND\n"
          "commands: capa | stat | list [N] | uidl [N] | top N LINES | retr N [-o FILE] | dele N | sync DIR")
_DESC = ("Reads a POP3 mailbox. retr without -o writes the message to stdout; sync saves new messages\n"
         "(by UIDL) into DIR as <uid>.eml. dele marks a message, removed when the session ends.\n"
         "Exit status: 0 done, 1 the server said no, 2 bad usage, 3 network or TLS failure.")
_SPEC = (
    ("--server", "server", str, None, "POP3 server host name"),
    ("--port", "port", int, 0, "port (110, or 995 with --tls implicit)"),
    ("--tls", "tls", str, "stls", "stls, implicit or none"),
    ("--cafile", "cafile", str, None, "CA certificates (PEM) to verify the server with"),
    ("--insecure", "insecure", bool, False, "do NOT verify the server's certificate"),
    ("--tls-hostname", "tls_hostname", str, None, "name to verify instead of --server"),
    ("--user", "user", str, None, "user name"),
    ("--password-env", "password_env", str, None, "environment variable holding the password"),
    ("--auth", "auth", str, None, "PLAIN, LOGIN, XOAUTH2, USER or APOP"),
    ("--allow-plaintext-auth", "plain", bool, False, "send credentials without TLS"),
    ("--timeout-ms", "timeout_ms", int, 30000, "timeout per socket operation"),
    ("--output", "output", str, None, "file for retr/top (same as -o)"),
    ("--delete", "delete", bool, False, "sync: delete saved messages on the server"),
)
_ARGS = {"capa": 0, "stat": 0, "list": -1, "uidl": -1, "top": 2, "retr": 1, "dele": 1, "sync": 1}


def _err(msg):
    sys.stderr.write(msg + "\n")


def _out():
    return getattr(sys.stdout, "buffer", sys.stdout)


def _run(box, cmd, args, opts):
    if cmd == "capa":
        for k, v in box.session.caps.items():
            print(" ".join([k] + v))
    elif cmd == "stat":
        print("%d messages, %d octets" % box.stat())
    elif cmd in ("list", "uidl"):
        f = getattr(box, cmd)
        rows = f(int(args[0])) if args else f()
        if args:
            rows = [(int(args[0]), rows[1] if cmd == "list" else rows)]
        for n, x in rows:
            print("%d %s" % (n, x))
    elif cmd in ("retr", "top"):
        into = opts["output"] or _out()
        n = box.retr(args[0], into) if cmd == "retr" else box.top(args[0], args[1], into)
        if opts["output"]:
            print("%d octets written to %s" % (n, opts["output"]))
    elif cmd == "dele":
        box.dele(args[0])
        print("message %d marked; deleted at the end of the session" % args[0])
    elif cmd == "sync":
        from microproto.pop3_sync import sync

        saved = sync(box, args[0], opts["delete"])
        print("%d new message(s) saved in %s" % (len(saved), args[0]))


def main(argv=None):
    """The command line; returns the exit status."""
    import os

    if argv is None:
        argv = sys.argv[1:]
    argv = list(argv)
    if "-o" in argv:  # the short form of --output
        i = argv.index("-o")
        argv[i] = "--output"
    opts = cli.parse(argv, _SPEC, _USAGE, _DESC)
    pos = opts["_args"]
    problems = []
    if not opts["server"]:
        problems.append("--server is required")
    cmd = pos[0] if pos else None
    args = pos[1:]
    want = _ARGS.get(cmd)
    if want is None:
        problems.append("give one command: " + " ".join(_ARGS))
    elif (want >= 0 and len(args) != want) or (want < 0 and len(args) > 1):
        problems.append("%s takes %s argument(s)" % (cmd, want if want >= 0 else "0 or 1"))
    elif cmd != "sync":
        for a in args:
            if not a.isdigit():
                problems.append("%s: %r is not a number" % (cmd, a))
        args = [int(a) for a in args if a.isdigit()]
    password = None
    if opts["user"]:
        if not opts["password_env"]:
            problems.append("--user needs --password-env VAR (the password is read from $VAR)")
        else:
            password = os.getenv(opts["password_env"])
            if password is None:
                problems.append("environment variable %s is not set" % opts["password_env"])
    tls = None if opts["tls"] == "none" else opts["tls"]
    if tls not in (None, "stls", "implicit"):
        problems.append("--tls must be stls, implicit or none")
    if problems:
        _err("error: " + "; ".join(problems) + "\nusage: " + _USAGE)
        return 2
    if opts["insecure"] and tls:
        _err("warning: --insecure: the server's certificate is NOT verified")
    box = None
    try:
        box = POP3(opts["server"], opts["port"], tls=tls, cafile=opts["cafile"], verify=not opts["insecure"],
                   timeout_ms=opts["timeout_ms"], allow_plaintext_auth=opts["plain"],
                   server_hostname=opts["tls_hostname"], connect=False)
        box.connect()
        if opts["user"]:
            box.login(opts["user"], password, opts["auth"])
        _run(box, cmd, args, opts)
        box.quit()
    except UsageError as e:
        _err("error: %s" % e)
        return 2
    except ProtocolError as e:
        _err("error: server said no: %s" % e if isinstance(e, POP3Error) else "error: %s" % e)
        return 1
    except OSError as e:
        if net.is_timeout(e):
            _err("error: timed out (no answer from the server)")
        else:
            _err("error: network or TLS: %s" % " ".join(str(e).split()))
        return 3
    finally:
        if box is not None:
            box.close()
    return 0
