"""The streaming message builder (portable: CPython and MicroPython)."""

import binascii
import os

from microproto.errors import UsageError
from microproto.message import (
    Attachment,
    Message,
    encode_word,
    format_address,
    format_date,
    header_value,
    make_msgid,
    parse_address,
)

DATE = (2026, 11, 28, 0, 15, 9, 5, 332, 0)


def _bytes(msg):
    out = bytearray()
    for c in msg:
        out += c
    return bytes(out)


def _raises(exc, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc:
        return
    raise AssertionError("%s not raised" % exc.__name__)


def _decode_words(value):
    """Decode our own =?UTF-8?B?...?= words (test helper)."""
    out = b""
    for w in value.replace("\r\n", "").split():
        assert w.startswith("=?UTF-8?B?") and w.endswith("?="), w
        out += binascii.a2b_base64(w[10:-2])
    return out.decode()


def _tmpfile(name, data):
    path = "/tmp/mp_msg_test_" + name
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_date_and_msgid():
    assert format_date(DATE) == "Sat, 28 Nov 2026 00:15:09 +0000"
    assert make_msgid("x.org", b"\x01\xab") == "<01ab@x.org>"
    now = format_date()
    assert now.endswith(" +0000") and len(now) == 31, now


def test_addresses():
    assert parse_address("Joe <joe@x.org>") == ("Joe", "joe@x.org")
    assert parse_address('"Doe, J." <j@x.org>') == ("Doe, J.", "j@x.org")
    assert parse_address(("Ann", "ann@x.org")) == ("Ann", "ann@x.org")
    assert format_address("Doe, J. <j@x.org>") == '"Doe, J." <j@x.org>'
    assert format_address("plain@x.org") == "plain@x.org"
    enc = format_address("Jürgen <j@x.de>")
    assert enc.endswith(" <j@x.de>") and _decode_words(enc[: enc.index(" <")]) == "Jürgen", enc
    for bad in ("a@b\r\nBcc: evil@x", "Name\n <a@b>", ("N\r", "a@b"), "two words@x", ""):
        _raises(UsageError, parse_address, bad)


def test_encoded_words_never_split_characters():
    text = "é" * 60 + "✓" * 30
    words = encode_word(text)
    assert len(words) > 2
    for w in words:
        assert len(w) <= 75, w
        binascii.a2b_base64(w[10:-2]).decode()  # each word is valid UTF-8 alone
    assert _decode_words(" ".join(words)) == text


def test_header_folding_and_injection():
    h = header_value("Subject", "short")
    assert h == "Subject: short\r\n"
    long = " ".join(["word%d" % i for i in range(40)])
    h = header_value("Subject", long)
    lines = h[:-2].split("\r\n")
    assert len(lines) > 1 and all(len(x) <= 78 for x in lines), lines
    assert " ".join(x.strip() for x in lines) == "Subject: " + long
    u = header_value("Subject", "Grüße aus Köln " * 5)
    assert _decode_words(u[len("Subject: ") :]) == "Grüße aus Köln " * 5
    for bad in ("a\r\nBcc: x@y", "a\rb", "a\nb"):
        _raises(UsageError, header_value, "Subject", bad)
    _raises(UsageError, header_value, "Bad Name", "x")
    _raises(UsageError, header_value, "X:y", "x")


def test_simple_text_message():
    m = Message("Me <me@x.org>", ["you@y.org", "Other <o@y.org>"], "Hello", "line 1\n.line 2\nend", date=DATE, message_id="<1@x>")
    b = _bytes(m)
    assert b.startswith(b"From: Me <me@x.org>\r\nTo: you@y.org, Other <o@y.org>\r\nSubject: Hello\r\n")
    assert b"Date: Sat, 28 Nov 2026 00:15:09 +0000\r\nMessage-ID: <1@x>\r\nMIME-Version: 1.0\r\n" in b
    assert b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" in b
    assert b.endswith(b"\r\n\r\nline 1\r\n.line 2\r\nend\r\n"), b
    assert m.size() == len(b)
    assert not m.eight_bit
    assert m.recipients() == ["you@y.org", "o@y.org"] and m.sender() == "me@x.org"


def test_utf8_text_is_8bit_and_bcc_hidden():
    m = Message("me@x.org", "you@y.org", "Grüße", "Schöne Grüße\r\n", bcc=["hidden@z.org"], cc="c@y.org", date=DATE)
    b = _bytes(m)
    assert m.eight_bit
    assert b"Content-Transfer-Encoding: 8bit\r\n" in b
    assert "Schöne Grüße\r\n".encode() in b
    assert b"hidden" not in b and b"Cc: c@y.org\r\n" in b
    assert m.recipients() == ["you@y.org", "c@y.org", "hidden@z.org"]
    assert m.size() == len(b)


def test_long_lines_become_base64():
    text = "x" * 2000 + "\n"
    m = Message("me@x.org", "you@y.org", "s", text, date=DATE)
    b = _bytes(m)
    assert b"Content-Transfer-Encoding: base64\r\n" in b
    body = b[b.index(b"\r\n\r\n", b.index(b"base64")) + 4 :]
    assert max(len(x) for x in body.split(b"\r\n")) <= 76
    assert binascii.a2b_base64(body.replace(b"\r\n", b"")) == text.replace("\n", "\r\n").encode()
    assert m.size() == len(b)


def test_html_alternative_and_attachments():
    data = bytes(range(256)) * 13 + b"tail"  # not a multiple of 57 or 684
    path = _tmpfile("att.bin", data)
    empty = _tmpfile("empty.txt", b"")
    try:
        m = Message(
            "me@x.org",
            "you@y.org",
            "files",
            "plain body",
            html="<p>html body</p>",
            attachments=[path, Attachment(empty, "naïve.txt")],
            date=DATE,
        )
        b = _bytes(m)
        assert m.size() == len(b), (m.size(), len(b))
        mixed = m._b_mixed.encode()
        alt = m._b_alt.encode()
        assert b"Content-Type: multipart/mixed; boundary=\"" + mixed + b"\"\r\n" in b
        assert b"Content-Type: multipart/alternative" in b and b"--" + alt + b"--\r\n" in b
        assert b.endswith(b"\r\n--" + mixed + b"--\r\n")
        parts = b.split(b"\r\n--" + mixed)
        assert len(parts) == 5, len(parts)  # preamble+text, att, empty att, end
        att = parts[2]
        assert b'Content-Type: application/octet-stream; name="mp_msg_test_att.bin"' in att
        assert b'Content-Disposition: attachment; filename="mp_msg_test_att.bin"' in att
        payload = att[att.index(b"\r\n\r\n") + 4 :]
        lines = payload.split(b"\r\n")
        assert all(len(x) <= 76 for x in lines)
        assert binascii.a2b_base64(payload.replace(b"\r\n", b"")) == data
        e = parts[3]
        assert b"name*=UTF-8''na%C3%AFve.txt" in e and b"Content-Type: text/plain" in e
        assert e.endswith(b"\r\n\r\n"), e
    finally:
        os.remove(path)
        os.remove(empty)


def test_attachment_chunks_are_bounded():
    path = _tmpfile("big.bin", b"\x00\xff" * 20000)
    try:
        m = Message("me@x.org", "you@y.org", "s", "t", attachments=[path], date=DATE)
        biggest = 0
        total = 0
        for c in m:
            biggest = max(biggest, len(c))
            total += len(c)
        assert total == m.size()
        assert biggest <= 1024, biggest
    finally:
        os.remove(path)


def test_injection_in_any_field_is_refused():
    _raises(UsageError, Message, "me@x.org\r\nBcc: e@x", "you@y.org")
    _raises(UsageError, Message, "me@x.org", ["you@y.org\nBcc: e@x"])
    _raises(UsageError, Message, "me@x.org", "you@y.org", "subject\r\nBcc: e@x")
    _raises(UsageError, Message, "me@x.org", "you@y.org", headers=[("X-A", "1\r\nBcc: e@x")])
    _raises(UsageError, Message, "me@x.org", "you@y.org", message_id="<a\r\n@b>")
    _raises(UsageError, Attachment, "/tmp/x", "a\r\nb")
    _raises(UsageError, Attachment, "/tmp/x", None, "text/plain\r\nX: y")


def test_extra_headers_and_reply_to():
    m = Message("me@x.org", "you@y.org", "s", "t", reply_to="R <r@x.org>", headers=[("X-Mailer", "microproto")], date=DATE)
    b = _bytes(m)
    assert b"Reply-To: R <r@x.org>\r\n" in b and b"X-Mailer: microproto\r\n" in b
