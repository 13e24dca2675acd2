"""POP3 security: the login conversations, sans-I/O: USER/PASS, APOP (RFC
1939 7) and SASL AUTH (RFC 5034) with PLAIN, LOGIN and XOAUTH2; and the TLS
set-up of a blocking ``POP3`` (``start_tls``). Loaded by ``POP3.login``, and
with TLS by ``POP3.connect``, so a program that only imports the client
does not pay for it (and a plaintext one never loads the TLS set-up).

Rules: the mechanism is the one asked for, or the first of PLAIN, LOGIN,
USER, APOP the server offers (CAPA ``SASL``, ``USER``; APOP only when the
greeting carries a ``<...@...>`` timestamp). A SASL initial response goes
on the AUTH line when it fits in 255 octets (RFC 2449 4), else after the
server's "+". A challenge after the last response cancels the exchange
("*", RFC 5034 4; an empty line for XOAUTH2, whose error comes that way).
Credentials are refused over plaintext unless the caller allowed it.
"""

import binascii

from microproto.errors import PeerError, UsageError
from microproto.pop3_core import POP3Error, arg, text
from microproto_port import const

_OK = const(1)  # event kinds of microproto.pop3_core
_CONT = const(3)


def start_tls(box):
    """The TLS set-up of a connected blocking ``box`` (``POP3.connect``
    with ``tls``): implicit TLS (995) before the greeting, or STLS (RFC
    2595) after the greeting and CAPA, refused when CAPA does not offer it
    (no silent downgrade); what was read before the upgrade is dropped,
    never parsed. Then CAPA (again). A certificate that fails to verify is
    an ``OSError`` (MicroPython raises ``ValueError``)."""
    from microproto_port import tls

    s = box.session
    c = box.conn
    t = box.tls == "stls"
    if t:
        box._run(s.command(None))
        box._run(s.capa(box.max_list))
        if s.caps and "STLS" not in s.caps:
            raise PeerError("server does not offer STLS (tls='stls' was asked)")
        box._run(s.command(b"STLS"))
        s.discard()
    try:
        c.set_socket(tls.wrap_client(c.sock, tls.client_context(box.cafile, box.cadata, box.verify),
                                     box.server_hostname))
    except ValueError as e:
        raise OSError("TLS: " + " ".join(str(e).split()))
    box.secure = True
    if not t:
        box._run(s.command(None))
    box._run(s.capa(box.max_list))


def timestamp(greeting):
    """The APOP timestamp ``<...@...>`` of a greeting (bytes), or None."""
    i = greeting.find(b"<")
    j = greeting.find(b">", i + 1)
    if i < 0 or j < 0 or b"@" not in greeting[i:j]:
        return None
    return bytes(greeting[i : j + 1])


def apop_digest(stamp, secret):
    """RFC 1939 7: hex MD5 of timestamp + secret (bytes)."""
    import hashlib

    if not hasattr(hashlib, "md5"):
        raise UsageError("APOP needs hashlib.md5, which this firmware lacks")
    return binascii.hexlify(hashlib.md5(stamp + secret).digest())


def b64(data):
    return binascii.b2a_base64(data)[:-1]


def sasl(session, mech, user, secret, initial=True):
    """The AUTH conversation for ``mech`` (PLAIN, LOGIN, XOAUTH2: then
    ``secret`` is the access token); ``initial=False``: two steps."""
    mech = mech.upper()
    u = arg(user, "user")
    if mech == "PLAIN":
        steps = [b64(b"\x00" + u + b"\x00" + secret)]
    elif mech == "LOGIN":
        steps = [b64(u), b64(secret)]
        initial = False
    elif mech == "XOAUTH2":
        steps = [b64(b"user=" + u + b"\x01auth=Bearer " + secret + b"\x01\x01")]
    else:
        raise UsageError("unsupported AUTH mechanism %s" % mech)
    line = b"AUTH " + mech.encode()
    if initial and len(line) + len(steps[0]) + 3 <= 255:
        line += b" " + steps.pop(0)
    session.want.append(0)
    ev = yield line + b"\r\n"
    while ev[0] == _CONT:
        if steps:
            ev = yield steps.pop(0) + b"\r\n"
        else:
            ev = yield b"\r\n" if mech == "XOAUTH2" else b"*\r\n"
    if ev[0] != _OK:
        raise POP3Error(text(ev[1]), "AUTH " + mech)
    return ev[1]


def _chain(session, lines):
    for line in lines:
        t = yield from session.command(line)
    return t


def login(client, user, password, mechanism=None, initial=True):
    """The conversation that logs ``client`` (a POP3/AsyncPOP3) in."""
    if not client.secure and not client.allow_plaintext_auth:
        raise UsageError("refusing to send credentials without TLS (allow_plaintext_auth=False)")
    s = client.session
    caps = s.caps
    offered = [m.upper() for m in caps.get("SASL", ())]
    stamp = timestamp(s.greeting)
    m = mechanism.upper() if mechanism else None
    if m is None:
        for x in ("PLAIN", "LOGIN", "USER", "APOP"):
            if x in offered or (x == "USER" and ("USER" in caps or not caps)) or (x == "APOP" and stamp):
                m = x
                break
        else:
            raise PeerError("no login method offered (CAPA: %s)" % " ".join(caps))
    p = arg(password, "password")
    if m == "USER":
        return _chain(s, (b"USER " + arg(user, "user"), b"PASS " + p))
    if m == "APOP":
        if stamp is None:
            raise PeerError("APOP: the greeting carries no timestamp")
        return _chain(s, (b"APOP " + arg(user, "user") + b" " + apop_digest(stamp, p),))
    if m not in ("PLAIN", "LOGIN", "XOAUTH2"):
        raise UsageError("unsupported login mechanism %s" % m)
    if caps and m not in offered:
        raise PeerError("server does not offer SASL %s (offers %s)" % (m, " ".join(offered)))
    return sasl(s, m, user, p, initial)
