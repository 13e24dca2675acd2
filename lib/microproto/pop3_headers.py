"""Header summary of a message for ``POP3.headers``: From, To, Subject,
Date and Message-ID, unfolded (RFC 5322 2.2.3) and with RFC 2047 encoded
words decoded (B and Q; UTF-8, US-ASCII and ISO-8859-1 everywhere, other
charsets where the runtime knows them, else undecodable bytes become '?').
Loaded only when ``headers`` is called.
"""

import binascii

from microproto.pop3_core import text

NAMES = ("From", "To", "Subject", "Date", "Message-ID")


def _charset(raw, cs):
    cs = cs.lower()
    if cs in ("iso-8859-1", "latin1", "latin-1", "us-ascii", "ascii"):
        return "".join(chr(c) for c in raw)
    if cs not in ("utf-8", "utf8"):
        try:
            return raw.decode(cs)
        except (LookupError, UnicodeError, ValueError, TypeError):
            pass
    return text(raw)


def _word(w):
    """Decoded text of one ``=?cs?e?data?=``, or None if it is not one."""
    p = w[2:-2].split("?")
    if len(p) != 3:
        return None
    cs, enc, data = p
    cs = cs.split("*")[0]  # RFC 2231 language suffix
    try:
        enc = enc.upper()
        if enc == "B":
            raw = binascii.a2b_base64(data.encode())
        elif enc == "Q":
            b = data.replace("_", " ").encode()
            raw = bytearray()
            i = 0
            while i < len(b):
                if b[i] == 61 and i + 2 < len(b):
                    raw.append(int(b[i + 1 : i + 3], 16))
                    i += 3
                else:
                    raw.append(b[i])
                    i += 1
            raw = bytes(raw)
        else:
            return None
    except ValueError:  # binascii.Error is one on CPython
        return None
    return _charset(raw, cs)


def decode(value):
    """RFC 2047: decode the encoded words in ``value`` (str); white space
    between two encoded words is dropped (6.2)."""
    out = []
    prev = False
    i = 0
    while True:
        j = value.find("=?", i)
        # an encoded word has exactly 4 '?': =?cs?e?data?=
        k = value.find("?", j + 2) if j >= 0 else -1
        k = value.find("?", k + 1) if k >= 0 else -1
        end = value.find("?=", k + 1) if k >= 0 else -1
        if end < 0:
            out.append(value[i:])
            return "".join(out)
        between = value[i:j]
        w = _word(value[j : end + 2])
        if w is None:
            out.append(value[i : end + 2])
        elif not (prev and not between.strip()):
            out.append(between)
        if w is not None:
            out.append(w)
        prev = w is not None
        i = end + 2


def parse(head):
    """``{name: value}`` for the names in ``NAMES`` found in ``head``
    (bytes: the header block, as TOP n 0 returns it)."""
    found = {}
    low = dict((x.lower(), x) for x in NAMES)
    cur = None
    for line in text(head).split("\n"):
        line = line.rstrip("\r")
        if not line:
            break
        if line[0] in " \t":
            if cur is not None:
                found[cur] += " " + line.strip()
            continue
        cur = None
        i = line.find(":")
        if i > 0:
            name = low.get(line[:i].strip().lower())
            if name is not None and name not in found:
                cur = name
                found[name] = line[i + 1 :].strip()
    for k in found:
        found[k] = decode(found[k])
    return found
