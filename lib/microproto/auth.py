"""Password checks shared by the servers that give a shell (Telnet, console).

``password_equal`` compares in constant time: both sides are hashed with
SHA-256 first, so the time taken depends neither on where they differ nor
on their lengths, and the 32-byte digests are compared without an early
exit.
"""

import hashlib


def _digest(s):
    if isinstance(s, str):
        s = s.encode()
    return hashlib.sha256(s).digest()


def password_equal(given, expected):
    """True if ``given`` equals ``expected`` (str or bytes), in constant time."""
    a = _digest(given)
    b = _digest(expected)
    diff = 0
    for i in range(32):
        diff |= a[i] ^ b[i]
    return diff == 0
