"""TLS wrap (client and server) through the port, against a local server."""

from fakes import data_path, listen_any, read_data
from microproto_port import net, start_thread, tls


def _tls_echo_server(lsock, done):
    try:
        s, _ = lsock.accept()
        try:
            t = tls.wrap_server(s, tls.server_context(data_path("cert.pem"), data_path("key.pem")))
            buf = memoryview(bytearray(64))
            n = net.reader(t)(buf)
            net.send_all(t, b"echo:" + bytes(buf[:n]))
            t.close()
        except Exception as e:  # the client side reports the failure
            done.append(e)
            s.close()
    finally:
        lsock.close()
        done.append("closed")


def _wait(done):
    from microproto_port import sleep_ms

    for _ in range(300):
        if "closed" in done:
            return
        sleep_ms(10)


def test_tls_client_verifies_and_talks():
    lsock, port = listen_any()
    done = []
    start_thread(_tls_echo_server, (lsock, done))
    ctx = tls.client_context(cadata=read_data("cert.pem"))
    s = net.tcp_connect("127.0.0.1", port, timeout_ms=5000)
    t = tls.wrap_client(s, ctx, "localhost")
    net.send_all(t, b"hi")
    buf = memoryview(bytearray(64))
    got = b""
    while len(got) < 7:
        n = net.reader(t)(buf)
        if not n:
            break
        got += bytes(buf[:n])
    t.close()
    _wait(done)
    assert got == b"echo:hi", got


def test_tls_client_rejects_unknown_ca():
    lsock, port = listen_any()
    done = []
    start_thread(_tls_echo_server, (lsock, done))
    # a CA that did not sign the server's certificate: our own test cert is
    # self-signed, so any other self-signed cert is the wrong CA
    ctx = tls.client_context(cadata=read_data("other_ca.pem"))
    s = net.tcp_connect("127.0.0.1", port, timeout_ms=5000)
    try:
        t = tls.wrap_client(s, ctx, "localhost")
    except (OSError, ValueError) as e:
        s.close()
    else:
        t.close()
        raise AssertionError("certificate from an unknown CA accepted")
    _wait(done)
