"""TLS for CPython with the ``ssl`` module.

Client contexts verify the server certificate and host name: with the
system's CA store when no CA is given, else with ``cafile``/``cadata``
(PEM). ``verify=False`` turns verification off and must be asked for.
"""

import ssl


def client_context(cafile=None, cadata=None, verify=True):
    if not verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if isinstance(cadata, (bytes, bytearray)):
        cadata = bytes(cadata).decode("ascii")
    return ssl.create_default_context(cafile=cafile, cadata=cadata)


def server_context(certfile, keyfile):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(certfile, keyfile)
    return ctx


def wrap_client(sock, ctx, server_hostname):
    """Handshake as a client over the connected blocking ``sock``."""
    return ctx.wrap_socket(sock, server_hostname=server_hostname)


def wrap_server(sock, ctx):
    """Handshake as a server over the accepted blocking ``sock``."""
    return ctx.wrap_socket(sock, server_side=True)


async def open_connection(host, port, ctx=None, server_hostname=None):
    """asyncio streams to ``host:port``, over TLS when ``ctx`` is given."""
    import asyncio

    if ctx is None:
        return await asyncio.open_connection(host, port)
    return await asyncio.open_connection(
        host, port, ssl=ctx, server_hostname=server_hostname or host
    )


async def upgrade_streams(reader, writer, ctx, server_hostname, timeout_ms=None):
    """STARTTLS on live asyncio streams: returns ``(reader, writer)`` over TLS.

    Plaintext the stream had buffered before the upgrade is dropped (never
    trusted); ``timeout_ms`` bounds the handshake. Needs
    ``StreamWriter.start_tls`` (CPython >= 3.11).
    """
    start_tls = getattr(writer, "start_tls", None)
    if start_tls is None:
        from microproto.errors import UsageError

        raise UsageError("STARTTLS on asyncio streams needs CPython >= 3.11 (StreamWriter.start_tls)")
    buffered = getattr(reader, "_buffer", None)  # CPython's StreamReader keeps it there
    if buffered:
        buffered.clear()
    import asyncio

    # the handshake is bounded like every read (asyncio.TimeoutError)
    await asyncio.wait_for(start_tls(ctx, server_hostname=server_hostname),
                           None if timeout_ms is None else timeout_ms / 1000)
    return reader, writer
