"""TLS for MicroPython (``ssl.SSLContext``, MicroPython >= 1.23, mbedTLS).

mbedTLS here takes certificates, keys and CA data as DER: PEM input is
converted. MicroPython verifies nothing unless told: a client context gets
CERT_REQUIRED and the CA given; with no CA at all it refuses (there is no
system store on a board) unless ``verify=False`` is passed on purpose.
"""

import binascii
import socket
import ssl

from microproto.errors import UsageError


def pem_to_der(data):
    """DER bytes of the first PEM block in ``data`` (DER is returned as is)."""
    data = bytes(data)
    i = data.find(b"-----BEGIN")
    if i < 0:
        return data
    i = data.find(b"\n", i) + 1
    j = data.find(b"-----END", i)
    if i <= 0 or j < 0:
        raise ValueError("malformed PEM")
    return binascii.a2b_base64(data[i:j].replace(b"\r", b"").replace(b"\n", b""))


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def client_context(cafile=None, cadata=None, verify=True):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if not verify:
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    if cadata is None and cafile is not None:
        cadata = _read(cafile)
    if cadata is None:
        raise UsageError("no CA to verify the server with: pass cafile/cadata, or verify=False")
    ctx.load_verify_locations(cadata=pem_to_der(cadata))
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def server_context(certfile, keyfile):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pem_to_der(_read(certfile)), pem_to_der(_read(keyfile)))
    return ctx


def wrap_client(sock, ctx, server_hostname):
    """Handshake as a client over the connected blocking ``sock``."""
    return ctx.wrap_socket(sock, server_hostname=server_hostname)


def wrap_server(sock, ctx):
    """Handshake as a server over the accepted blocking ``sock``."""
    return ctx.wrap_socket(sock, server_side=True)


async def open_connection(host, port, ctx=None, server_hostname=None):
    """asyncio streams to ``host:port``, over TLS when ``ctx`` is given.

    Nothing blocks the event loop: the TCP connect is asyncio's, and the
    handshake runs in non-blocking mode inside the first reads (bound them
    with a timeout). MicroPython's own ``open_connection(ssl=...)`` waits
    to read before sending the client hello, so against a server that
    waits for the hello (every TLS server) it never completes: the hello is
    started here. The socket is closed when anything fails.
    """
    import asyncio

    r, w = await asyncio.open_connection(host, port)
    if ctx is None:
        return r, w
    return _start(w.s, ctx, server_hostname or host)


def _start(sock, ctx, server_hostname):
    # a non-blocking client handshake over the connected ``sock``: one
    # read sends the hello (no application data can precede it); the
    # stream's reads drive the rest, waiting on the socket as mbedTLS asks
    import asyncio

    try:
        sock.setblocking(False)
        t = ctx.wrap_socket(sock, server_hostname=server_hostname, do_handshake_on_connect=False)
        t.setblocking(False)
        t.readinto(bytearray(1))
    except BaseException:
        sock.close()
        raise
    stream = asyncio.StreamReader(t)
    # closing a TLS socket whose handshake failed leaves the TCP socket
    # open: whoever closes the stream closes ``raw`` too
    stream.raw = sock
    return stream, stream


async def upgrade_streams(reader, writer, ctx, server_hostname, timeout_ms=None):
    """STARTTLS on live asyncio streams: returns ``(reader, writer)`` over TLS.

    MicroPython's asyncio has no start_tls: the raw socket under the stream
    is wrapped in non-blocking mode (the handshake runs in the next reads
    and writes, see ``open_connection``), and a new stream is made over the
    TLS socket; the old stream and whatever it buffered are dropped.
    """
    sock = getattr(writer, "s", None)
    if sock is None or not hasattr(sock, "setblocking"):
        raise UsageError("STARTTLS needs a socket stream")
    return _start(sock, ctx, server_hostname)
