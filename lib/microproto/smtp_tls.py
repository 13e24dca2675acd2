"""The SMTP client's options beyond a plain connection, loaded when one is
given (``microproto.smtp.SMTP`` calls them): the TLS set-up (the ``tls``
check, the port by ``tls``, the context from ``microproto_port.tls``),
``verify`` and ``allow_plaintext_auth``, and the TLS part of
``SMTP.connect`` (implicit TLS, or STARTTLS after the greeting and EHLO,
then EHLO again). A client that sends in plaintext to a local relay never
loads it; one that uses TLS without AUTH does not load ``smtp_ext``.
"""

from microproto.errors import UsageError


def tls(client, port, cafile, cadata, options):
    """The TLS set-up of ``SMTP.__init__`` (when ``tls`` or a TLS option is
    given): checks ``tls``, picks the port, makes the context."""
    verify = options.pop("verify", True)
    client.allow_plaintext_auth = options.pop("allow_plaintext_auth", False)
    options.pop("read_size", None)  # AsyncSMTP's, accepted as before
    if options:
        raise TypeError("unexpected keyword argument %r" % sorted(options)[0])
    t = client.tls
    if t not in (None, "starttls", "implicit"):
        raise UsageError("tls must be 'starttls', 'implicit' or None, not %r" % (t,))
    client.port = port or (587 if t == "starttls" else 465 if t else 25)
    if t:
        from microproto_port import tls as m

        client._tlsmod = m
        client._ctx = m.client_context(cafile, cadata, verify)


def connect(client, sock):
    """The TLS part of ``SMTP.connect``: implicit TLS, or the greeting,
    EHLO and STARTTLS, then EHLO again over TLS."""
    from microproto.blocking import Connection

    s = client.session
    if client.tls == "implicit":
        client.phase = "TLS handshake"
        sock = client._tlsmod.wrap_client(sock, client._ctx, client.server_hostname)
        client.secure = True
    client.conn = Connection(sock, s.parser, client.bufsize, None)
    client._run("greeting", s.simple(None, (220,)))
    client._run("EHLO", s.hello())
    if client.tls == "starttls":
        client._run("STARTTLS", s.simple("STARTTLS", (220,)))
        client.phase = "TLS handshake"
        tsock = client._tlsmod.wrap_client(client.conn.sock, client._ctx, client.server_hostname)
        # plaintext received before the upgrade is dropped (RFC 3207 4.2)
        s.parser.discard()
        client.conn.set_socket(tsock)
        client.secure = True
        client._run("EHLO", s.hello())
