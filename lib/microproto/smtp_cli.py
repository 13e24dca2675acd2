"""The command line of the SMTP client: ``python -m microproto.smtp``.

Kept apart from ``microproto.smtp`` so that a board that only sends mail
does not load it: its option names and messages cost about 8 KiB of heap
on the unix port when imported from ``.mpy``. ``microproto.smtp.main``
calls ``main`` here.
"""

from microproto.errors import ProtocolError, UsageError
from microproto.smtp import SMTP, SMTPRecipientsRefused, SMTPReplyError
from microproto_port import net

_USAGE = """usage: python -m microproto.smtp --server HOST [--port P]
    [--tls starttls|implicit|none] [--cafile F] [--insecure] [--tls-hostname NAME]
    [--user U --password-env VAR] [--auth MECH] [--allow-plaintext-auth]
    [--timeout-ms MS] [--helo NAME] [--no-pipelining] [--chunking]
    --from ADDR --to ADDR [--to ADDR ...] [--cc ADDR ...]
    (--subject S --body TEXT [--html HTML] [--attach FILE ...] | MESSAGE_FILE | -)

Sends one mail. Exit status: 0 sent to every recipient, 1 error (nothing
sent), 2 bad usage, 3 sent but some recipients were refused."""

_MULTI = ("--to", "--cc", "--attach")
_VALUE = (
    "--server",
    "--port",
    "--tls",
    "--cafile",
    "--tls-hostname",
    "--user",
    "--password-env",
    "--auth",
    "--timeout-ms",
    "--helo",
    "--from",
    "--subject",
    "--body",
    "--html",
)
_FLAGS = ("--insecure", "--allow-plaintext-auth", "--chunking", "--no-pipelining", "--help", "-h")


def _parse_args(argv):
    opts = {"--to": [], "--cc": [], "--attach": []}
    pos = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in _FLAGS:
            opts[a] = True
        elif a in _VALUE or a in _MULTI:
            if i + 1 >= len(argv):
                raise UsageError("%s needs a value" % a)
            i += 1
            if a in _MULTI:
                opts[a].append(argv[i])
            else:
                opts[a] = argv[i]
        elif a.startswith("--") and "=" in a and (a.split("=", 1)[0] in _VALUE or a.split("=", 1)[0] in _MULTI):
            k, v = a.split("=", 1)
            if k in _MULTI:
                opts[k].append(v)
            else:
                opts[k] = v
        elif a.startswith("-") and a != "-":
            raise UsageError("unknown option %s" % a)
        else:
            pos.append(a)
        i += 1
    return opts, pos


def _err(msg):
    import sys

    sys.stderr.write(msg + "\n")


def _describe(e, s):
    """One line for an exception, with the phase it happened in."""
    where = ""
    if s is not None:
        where = " during %s" % (s.session.stage if s.phase == "mail" else s.phase) if s.phase else ""
    if isinstance(e, SMTPRecipientsRefused):
        lines = ["error: every recipient was refused, nothing sent:"]
        for a, r in e.refused.items():
            lines.append("  %s: %s" % (a, r))
        return "\n".join(lines)
    if isinstance(e, SMTPReplyError):
        return "error: server refused %s: %s" % (e.command or "the command", e.reply)
    if isinstance(e, ProtocolError):
        return "error%s: %s" % (where, e)
    if isinstance(e, OSError):
        if net.is_timeout(e):
            return "error%s: timed out (no answer from the server)" % where
        return "error%s: %s" % (where, " ".join(str(e).split()))
    return "error%s: %s: %s" % (where, type(e).__name__, " ".join(str(e).split()))


def main(argv=None):
    """The command line; returns the exit status (see the usage text)."""
    import os
    import sys

    if argv is None:
        argv = sys.argv[1:]
    try:
        opts, pos = _parse_args(argv)
    except UsageError as e:
        _err("error: %s\n%s" % (e, _USAGE))
        return 2
    if opts.get("--help") or opts.get("-h"):
        print(_USAGE)
        return 0
    built = "--subject" in opts or "--body" in opts or "--html" in opts or opts["--attach"]
    problems = []
    if "--server" not in opts:
        problems.append("--server is required")
    if "--from" not in opts:
        problems.append("--from is required")
    if not opts["--to"]:
        problems.append("at least one --to is required")
    if built and pos:
        problems.append("give either --subject/--body/--attach or a MESSAGE_FILE, not both")
    if not built and len(pos) != 1:
        problems.append("give --subject/--body or one MESSAGE_FILE (or - for stdin)")
    if "--user" in opts and "--password-env" not in opts:
        problems.append("--user needs --password-env VAR (the password is read from $VAR)")
    password = None
    if "--password-env" in opts:
        password = os.getenv(opts["--password-env"])
        if password is None:
            problems.append("environment variable %s is not set" % opts["--password-env"])
    try:
        port = int(opts.get("--port", "0"))
        timeout_ms = int(opts.get("--timeout-ms", "30000"))
        tls = opts.get("--tls", "starttls")
        if tls not in ("starttls", "implicit", "none"):
            raise UsageError("--tls must be starttls, implicit or none, not %r" % tls)
        tls = None if tls == "none" else tls
    except (ValueError, UsageError) as e:
        problems.append(str(e))
        port = timeout_ms = 0
        tls = None
    if problems:
        _err("error: " + "; ".join(problems) + "\n" + _USAGE)
        return 2
    if opts.get("--insecure") and tls:
        _err("warning: --insecure: the server's certificate is NOT verified")
    to = opts["--to"]
    rcpts = to + opts["--cc"]
    source = None
    s = None
    try:
        if built:
            from microproto.message import Message

            message = Message(
                opts["--from"],
                to,
                opts.get("--subject", ""),
                opts.get("--body", ""),
                html=opts.get("--html"),
                cc=opts["--cc"],
                attachments=opts["--attach"],
                domain=opts.get("--helo"),
            )
        elif pos[0] == "-":
            message = sys.stdin.buffer
        else:
            source = open(pos[0], "rb")
            message = source
        s = SMTP(
            opts["--server"],
            port,
            connect=False,
            tls=tls,
            cafile=opts.get("--cafile"),
            verify=not opts.get("--insecure"),
            timeout_ms=timeout_ms,
            local_hostname=opts.get("--helo", "localhost"),
            allow_plaintext_auth=bool(opts.get("--allow-plaintext-auth")),
            server_hostname=opts.get("--tls-hostname"),
            pipelining=not opts.get("--no-pipelining"),
            chunking=bool(opts.get("--chunking")),
        )
        s.connect()
        if "--user" in opts:
            s.login(opts["--user"], password, opts.get("--auth"))
        result = s.send(opts["--from"], rcpts, message)
        s.quit()
    except Exception as e:
        _err(_describe(e, s))
        if s is not None:
            s.close()
        return 2 if isinstance(e, UsageError) else 1
    finally:
        if source is not None:
            source.close()
    print("sent to %s: %s" % (", ".join(result.accepted), result.reply))
    if result.refused:
        _err("refused recipients (the mail was not sent to them):")
        for a, r in result.refused.items():
            _err("  %s: %s" % (a, r))
        return 3
    return 0
