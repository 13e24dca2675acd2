"""List the mail waiting in a POP3 mailbox (STLS and a login), deleting
nothing.

    mpremote run examples/fetch_mail.py     # on a board (after tools/deploy.py)
    python3 examples/fetch_mail.py          # on CPython (after pip install -e .)

Settings in the git-ignored secrets.py (see examples/README.md):
POP3_HOST, POP3_PORT (110), POP3_USER, POP3_PASSWORD, POP3_CAFILE (the CA
that signed the server's certificate: boards have no store of their own;
on CPython None uses the system's), POP3_MAX (10 messages shown). The
certificate is always verified; the password goes only over TLS.
"""

from microproto import pop3

try:
    import secrets  # optional, git-ignored: a board's secrets.py or examples/secrets.py
except ImportError:
    secrets = None
try:
    import board  # deployed with the library: brings a board's network up
except ImportError:
    board = None
if board:
    board.network_up()
HOST = getattr(secrets, "POP3_HOST", None)
USER = getattr(secrets, "POP3_USER", None)

if not (HOST and USER):
    print("fetch mail: set POP3_HOST, POP3_USER, POP3_PASSWORD (and POP3_CAFILE) in secrets.py")
    print("next: see examples/README.md, then run this again")
else:
    try:
        with pop3.POP3(HOST, getattr(secrets, "POP3_PORT", 110), tls="stls",
                       cafile=getattr(secrets, "POP3_CAFILE", None)) as box:
            box.login(USER, getattr(secrets, "POP3_PASSWORD", None))
            count, size = box.stat()
            print("fetch mail: %d messages, %d bytes" % (count, size))
            for n in range(1, min(count, getattr(secrets, "POP3_MAX", 10)) + 1):
                h = box.headers(n)
                print("%3d  %s  %s" % (n, h.get("From", "?"), h.get("Subject", "")))
        print("next: read one with pop3.POP3(...).retr(N, into='/msg.eml') (see docs)")
    except KeyboardInterrupt:
        print("fetch mail: stopped")
