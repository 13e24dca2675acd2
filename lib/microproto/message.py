"""An RFC 5322 / MIME message builder that streams (MicroPython has no
``email`` package).

``Message(...)`` describes a mail: addresses, subject, a text/plain body, an
optional text/html alternative, attachments read from files. Iterating it
yields the message as bytes-like chunks (each valid until the next one is
asked for); attachments are read and base64-encoded ``_RAW`` bytes at a
time, so memory does not grow with their size. ``size()`` gives the exact
byte count without reading the files.

Header injection is impossible: CR or LF (or NUL) in any address, name,
subject, file name or extra header is a ``UsageError``. Non-ASCII header
text is written as RFC 2047 encoded words (UTF-8, base64); a non-ASCII
address itself is kept as UTF-8 (RFC 6532, needs SMTPUTF8).

Limits: body lines longer than 998 bytes make that part base64; header
lines are folded to stay under 78 characters where possible.
"""

import binascii

from microproto.errors import UsageError
from microproto_port import const, random_bytes

# 57 raw bytes -> one 76-character base64 line (RFC 2045 6.8)
_LINE_RAW = const(57)
_LINES_PER_READ = const(12)
_RAW = const(684)  # _LINE_RAW * _LINES_PER_READ
_MAX_BODY_LINE = const(998)

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_TYPES = {
    "txt": "text/plain",
    "html": "text/html",
    "htm": "text/html",
    "csv": "text/csv",
    "json": "application/json",
    "pdf": "application/pdf",
    "zip": "application/zip",
    "gz": "application/gzip",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "bin": "application/octet-stream",
}

# RFC 5322 3.2.3 specials: a display name with any of these is quoted
_SPECIALS = '()<>[]:;@\\,."'


def _check(s, what):
    if not isinstance(s, str):
        raise UsageError("%s must be str" % what)
    for c in "\r\n\x00":
        if c in s:
            raise UsageError("CR, LF or NUL in %s" % what)


def _is_ascii(s):
    for c in s:
        if ord(c) > 127:
            return False
    return True


def _b64(data):
    return binascii.b2a_base64(data)[:-1]


def encode_word(text, first_room=60):
    """RFC 2047 encoded words (``=?UTF-8?B?...?=``) for ``text``, as a list
    of str, each at most 75 characters; multi-byte characters are never
    split across words."""
    data = text.encode("utf-8")
    words = []
    i = 0
    n = len(data)
    limit = 45  # 45 bytes -> 60 base64 chars + 12 = 72
    while i < n:
        j = i + limit if i + limit < n else n
        # back off to a character boundary (not inside a UTF-8 sequence)
        while j < n and j > i and (data[j] & 0xC0) == 0x80:
            j -= 1
        words.append("=?UTF-8?B?" + _b64(data[i:j]).decode() + "?=")
        i = j
    return words


def _fold(name, words):
    """``Name: w1 w2 ...`` folded (CRLF SP) before 78 characters."""
    line = name + ":"
    out = []
    for w in words:
        if len(line) + 1 + len(w) > 78 and line != name + ":":
            out.append(line)
            line = " " + w
        else:
            line += " " + w
    out.append(line)
    return "\r\n".join(out) + "\r\n"


def header_value(name, value):
    """One header field as a CRLF-ended str: folded, RFC 2047-encoded when
    ``value`` is not ASCII."""
    _check(name, "header name")
    _check(value, "header %s" % name)
    if not name or ":" in name or " " in name or not _is_ascii(name):
        raise UsageError("bad header name %r" % name)
    if _is_ascii(value):
        words = value.split(" ")
        if len(name) + 2 + len(value) <= 78 or not words:
            return name + ": " + value + "\r\n"
        for w in words:
            if len(w) > 900:
                raise UsageError("header %s has a word too long to fold" % name)
        return _fold(name, words)
    return _fold(name, encode_word(value))


def parse_address(addr):
    """``(display_name, address)`` from ``"Name <a@b>"``, ``"a@b"`` or a
    ``(name, address)`` tuple. CR/LF is a ``UsageError``."""
    if isinstance(addr, tuple):
        if len(addr) != 2:
            raise UsageError("address tuple must be (name, address)")
        name, a = addr
        name = name or ""
        _check(name, "display name")
        _check(a, "address")
    else:
        _check(addr, "address")
        a = addr.strip()
        name = ""
        lt = a.rfind("<")
        if lt >= 0 and a.endswith(">"):
            name = a[:lt].strip()
            a = a[lt + 1 : -1]
            if len(name) >= 2 and name[0] == '"' and name[-1] == '"':
                name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    a = a.strip()
    if not a or "<" in a or ">" in a or " " in a or "," in a:
        raise UsageError("bad address %r" % (addr,))
    return name, a


def format_address(addr):
    """One address for a header: the name quoted or encoded as needed."""
    name, a = parse_address(addr)
    if not name:
        return a
    if not _is_ascii(name):
        return " ".join(encode_word(name)) + " <" + a + ">"
    for c in _SPECIALS:
        if c in name:
            return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '" <' + a + ">"
    return name + " <" + a + ">"


def format_date(t=None):
    """RFC 5322 date-time (UTC) for ``t`` (a ``time.gmtime`` tuple, or now)."""
    if t is None:
        import time

        t = time.gmtime(time.time())
    return "%s, %02d %s %04d %02d:%02d:%02d +0000" % (
        _DAYS[t[6]],
        t[2],
        _MONTHS[t[1] - 1],
        t[0],
        t[3],
        t[4],
        t[5],
    )


def make_msgid(domain="localhost", rand=None):
    """``<hex@domain>`` with 16 random bytes (or ``rand``)."""
    _check(domain, "domain")
    r = rand if rand is not None else random_bytes(16)
    return "<" + binascii.hexlify(r).decode() + "@" + domain + ">"


def _canon_text(text):
    """Text as bytes with CRLF line ends and a final CRLF; and the
    transfer encoding it needs: 7bit, 8bit, or base64 for long lines."""
    b = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    b = b.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if b and not b.endswith(b"\n"):
        b += b"\n"
    long_line = False
    start = 0
    while True:
        j = b.find(b"\n", start)
        if j < 0:
            break
        if j - start > _MAX_BODY_LINE:
            long_line = True
            break
        start = j + 1
    eight = False
    for c in b:
        if c > 127:
            eight = True
            break
    if long_line:
        return b.replace(b"\n", b"\r\n"), "base64"
    return b.replace(b"\n", b"\r\n"), ("8bit" if eight else "7bit")


def _b64_lines(data):
    """Base64 of bytes in memory, 76-character CRLF lines."""
    out = []
    for i in range(0, len(data), _LINE_RAW):
        out.append(_b64(data[i : i + _LINE_RAW]))
    return b"\r\n".join(out) + (b"\r\n" if out else b"")


def _b64_size(n):
    chars = 4 * ((n + 2) // 3)
    lines = (n + _LINE_RAW - 1) // _LINE_RAW
    return chars + 2 * lines


def _basename(path):
    i = path.rfind("/")
    return path[i + 1 :] if i >= 0 else path


def _file_size(path):
    import os

    return os.stat(path)[6]


class Attachment:
    """A file to attach: ``path``, ``filename`` (shown to the reader,
    default the base name), ``content_type`` (guessed from the extension)."""

    def __init__(self, path, filename=None, content_type=None):
        _check(path, "attachment path")
        self.path = path
        self.filename = filename if filename is not None else _basename(path)
        _check(self.filename, "attachment file name")
        if content_type is None:
            ext = self.filename.rsplit(".", 1)[-1].lower() if "." in self.filename else ""
            content_type = _TYPES.get(ext, "application/octet-stream")
        _check(content_type, "content type")
        self.content_type = content_type


def _param(name, value):
    """``; name="value"`` or RFC 2231 ``; name*=UTF-8''...`` for non-ASCII."""
    if _is_ascii(value):
        return '; %s="%s"' % (name, value.replace("\\", "\\\\").replace('"', '\\"'))
    enc = []
    for c in value.encode("utf-8"):
        if (48 <= c <= 57) or (65 <= c <= 90) or (97 <= c <= 122) or c in b"-._~":
            enc.append(chr(c))
        else:
            enc.append("%%%02X" % c)
    return "; %s*=UTF-8''%s" % (name, "".join(enc))


class Message:
    """A mail to build and stream.

    ``Message(from_addr, to, subject="", text="", html=None, cc=(), bcc=(),
    reply_to=None, attachments=(), headers=(), date=None, message_id=None,
    domain=None)``. Addresses are ``"Name <a@b>"``, ``"a@b"`` or ``(name,
    address)``; ``attachments`` are paths or ``Attachment``; ``headers`` are
    extra ``(name, value)`` pairs; ``date`` a str or a ``gmtime`` tuple.
    Bcc addresses are recipients but never written into the message.

    Iterate it for the bytes (chunks valid until the next one); ``size()``
    is the exact length; ``recipients()`` the envelope addresses;
    ``eight_bit`` tells whether the body holds 8-bit text.
    """

    def __init__(
        self,
        from_addr,
        to,
        subject="",
        text="",
        html=None,
        cc=(),
        bcc=(),
        reply_to=None,
        attachments=(),
        headers=(),
        date=None,
        message_id=None,
        domain=None,
    ):
        if isinstance(to, str):
            to = [to]
        if isinstance(cc, str):
            cc = [cc]
        if isinstance(bcc, str):
            bcc = [bcc]
        self.from_addr = from_addr
        self.to = list(to)
        self.cc = list(cc)
        self.bcc = list(bcc)
        if domain is None:
            a = parse_address(from_addr)[1]
            domain = a[a.rfind("@") + 1 :] if "@" in a else "localhost"
        _check(subject, "subject")
        self._attachments = []
        for a in attachments:
            self._attachments.append(a if isinstance(a, Attachment) else Attachment(a))
        if isinstance(date, str):
            _check(date, "date")
        else:
            date = format_date(date)
        if message_id is None:
            message_id = make_msgid(domain)
        _check(message_id, "message id")
        # every header is built (and checked) now, not while streaming
        h = ["From: " + format_address(from_addr) + "\r\n"]
        for name, addrs in (("To", self.to), ("Cc", self.cc)):
            if addrs:
                h.append(_fold(name, [format_address(a) + "," for a in addrs[:-1]] + [format_address(addrs[-1])]))
        if reply_to is not None:
            h.append("Reply-To: " + format_address(reply_to) + "\r\n")
        if subject:
            h.append(header_value("Subject", subject))
        h.append("Date: " + date + "\r\n")
        h.append("Message-ID: " + message_id + "\r\n")
        for name, value in headers:
            h.append(header_value(name, value))
        h.append("MIME-Version: 1.0\r\n")
        self._head = "".join(h).encode("utf-8")
        self._text, self._text_cte = _canon_text(text)
        self._html = None
        if html is not None:
            self._html, self._html_cte = _canon_text(html)
        self.eight_bit = self._text_cte == "8bit" or (html is not None and self._html_cte == "8bit")
        self.eight_bit = self.eight_bit or not _is_ascii(self._head.decode("utf-8"))
        r = binascii.hexlify(random_bytes(12)).decode()
        self._b_mixed = "=_mixed_" + r
        self._b_alt = "=_alt_" + r

    def seven_bit(self):
        """Make every 8-bit text part base64, for a server that did not
        offer 8BITMIME (RFC 6152 3: the client converts the message). The
        header is 7-bit already (RFC 2047 words) unless an address is not
        ASCII: ``eight_bit`` then stays True."""
        if self._text_cte == "8bit":
            self._text_cte = "base64"
        if self._html is not None and self._html_cte == "8bit":
            self._html_cte = "base64"
        self.eight_bit = not _is_ascii(self._head.decode("utf-8"))

    def recipients(self):
        """The envelope recipients: To, Cc and Bcc addresses."""
        return [parse_address(a)[1] for a in self.to + self.cc + self.bcc]

    def sender(self):
        """The envelope sender: the From address."""
        return parse_address(self.from_addr)[1]

    # the structure, as a list of bytes and Attachment items
    def _text_part(self, body, cte, subtype):
        head = "Content-Type: text/%s; charset=utf-8\r\nContent-Transfer-Encoding: %s\r\n\r\n" % (subtype, cte)
        if cte == "base64":
            return [head.encode(), _b64_lines(body)]
        return [head.encode(), body]

    def _parts(self):
        items = [self._head]
        body = []
        if self._html is not None:
            b = self._b_alt
            body.append(('Content-Type: multipart/alternative; boundary="%s"\r\n\r\n' % b).encode())
            body.append(("--%s\r\n" % b).encode())
            body += self._text_part(self._text, self._text_cte, "plain")
            body.append(("\r\n--%s\r\n" % b).encode())
            body += self._text_part(self._html, self._html_cte, "html")
            body.append(("\r\n--%s--\r\n" % b).encode())
        else:
            body += self._text_part(self._text, self._text_cte, "plain")
        if not self._attachments:
            return items + body
        b = self._b_mixed
        items.append(('Content-Type: multipart/mixed; boundary="%s"\r\n\r\n' % b).encode())
        items.append(("--%s\r\n" % b).encode())
        items += body
        for a in self._attachments:
            items.append(("\r\n--%s\r\n" % b).encode())
            head = "Content-Type: %s%s\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment%s\r\n\r\n" % (
                a.content_type,
                _param("name", a.filename),
                _param("filename", a.filename),
            )
            items.append(head.encode("utf-8"))
            items.append(a)
        items.append(("\r\n--%s--\r\n" % b).encode())
        return items

    def size(self):
        """Exact length in bytes of the message (files are stat'ed)."""
        n = 0
        for it in self._parts():
            if isinstance(it, Attachment):
                n += _b64_size(_file_size(it.path))
            else:
                n += len(it)
        return n

    def __iter__(self):
        for it in self._parts():
            if isinstance(it, Attachment):
                for c in _stream_b64(it.path):
                    yield c
            else:
                yield it


def _stream_b64(path):
    """Base64 lines of a file, ``_RAW`` bytes read at a time into one
    buffer; yields views of one output buffer."""
    raw = bytearray(_RAW)
    rmv = memoryview(raw)
    out = bytearray(_LINES_PER_READ * 78)
    omv = memoryview(out)
    with open(path, "rb") as f:
        while True:
            n = 0
            while n < _RAW:
                k = f.readinto(rmv[n:])
                if not k:
                    break
                n += k
            if not n:
                return
            o = 0
            for i in range(0, n, _LINE_RAW):
                k = n - i if n - i < _LINE_RAW else _LINE_RAW
                enc = binascii.b2a_base64(rmv[i : i + k])
                m = len(enc) - 1
                omv[o : o + m] = memoryview(enc)[:m]
                o += m
                omv[o : o + 2] = b"\r\n"
                o += 2
            yield omv[:o]
