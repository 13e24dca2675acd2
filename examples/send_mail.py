"""Send one mail over SMTP with STARTTLS and a login.

    mpremote run examples/send_mail.py     # on a board (after tools/deploy.py)
    python3 examples/send_mail.py          # on CPython (after pip install -e .)

Settings in the git-ignored secrets.py (see examples/README.md):
SMTP_HOST, SMTP_PORT (587), SMTP_USER, SMTP_PASSWORD, SMTP_FROM, SMTP_TO,
SMTP_CAFILE (the CA that signed the server's certificate: boards have no
store of their own; on CPython None uses the system's). The certificate is
always verified. The credentials never leave secrets.py except over TLS.
"""

from microproto import smtp

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
HOST = getattr(secrets, "SMTP_HOST", None)
USER = getattr(secrets, "SMTP_USER", None)
FROM = getattr(secrets, "SMTP_FROM", USER)
TO = getattr(secrets, "SMTP_TO", FROM)

if not (HOST and USER and FROM and TO):
    print("send mail: set SMTP_HOST, SMTP_USER, SMTP_PASSWORD (and SMTP_TO, SMTP_CAFILE) in secrets.py")
    print("next: see examples/README.md, then run this again")
else:
    try:
        result = smtp.send_mail(
            HOST,
            FROM,
            TO,
            subject="Hello from microproto",
            text="Sent by examples/send_mail.py.\r\n",
            port=getattr(secrets, "SMTP_PORT", 587),
            tls="starttls",
            user=USER,
            password=getattr(secrets, "SMTP_PASSWORD", None),
            cafile=getattr(secrets, "SMTP_CAFILE", None),
        )
        print("send mail: accepted for", ", ".join(result.accepted))
        print("next: look in the mailbox of", TO)
    except KeyboardInterrupt:
        print("send mail: stopped")
