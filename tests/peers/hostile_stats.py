"""For the servers of the hostile-peer tests (both runtimes): bytes waiting
in the write buffer of one of our connections (a ``microproto.aio.Driven``)."""


def buffered(conn):
    t = getattr(conn.writer, "transport", None)
    if t is not None:
        return t.get_write_buffer_size()  # CPython
    return len(getattr(conn.writer, "out_buf", b""))  # MicroPython
