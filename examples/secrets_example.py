# Copy to boards/<BOARD>/secrets.py (deployed by tools/deploy.py) or, on
# CPython, to examples/secrets.py. Both are git-ignored. Delete what you keep
# at its default.
WIFI_SSID = "my network"
WIFI_PASSWORD = "my wifi password"

WS_PORT = 8765
TELNET_PORT = 2323
TELNET_PASSWORD = "choose a long one"

SMTP_HOST = "mail.example.org"
SMTP_PORT = 587
SMTP_USER = "me@example.org"
SMTP_PASSWORD = "my mail password"
SMTP_TO = "me@example.org"
SMTP_CAFILE = "ca.pem"

POP3_HOST = "mail.example.org"
POP3_USER = "me@example.org"
POP3_PASSWORD = "my mail password"
POP3_CAFILE = "ca.pem"

DHCP_IFACE = "eth0"
