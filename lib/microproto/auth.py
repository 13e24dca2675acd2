"""Admission and password checks shared by the servers (Telnet, the
console, WebSocket's ``password`` option).

``password_equal`` compares in constant time: both sides are hashed with
SHA-256 first, so the time taken depends neither on where they differ nor
on their lengths, and the 32-byte digests are compared without an early
exit.

``Gate`` (sans-I/O: time comes in as ``now_ms``) counts sessions at accept,
before any byte is read, and throttles password guessing:

- ``admit(peer, now)``: None (one slot taken in ``sessions``: decrement it
  when the session ends), or
  why not: ``"busy"`` (``max_sessions`` held) or ``"wait"`` (the peer
  failed less than ``fail_delay_ms`` ago, or ``max_failures`` times within
  ``window_ms``).
- ``check(peer, given, expected, now)``: True if right, False if wrong,
  None if not compared (throttled: say "try later"). A wrong password ends
  the attempt; the delay is served by the peer's *next* connection,
  refused at accept, so a wait never holds a session slot. Past
  ``max_failures_total`` failures within ``window_ms`` (all peers: password
  spraying from many addresses) at most one password is compared per
  ``fail_delay_ms`` until the window ends: guessing slows to that rate,
  and a user who retries still gets in.
- Failures are remembered for at most ``max_peers`` addresses (the oldest
  is forgotten first; the overall limit still counts it).
"""

import hashlib

from microproto_port import ticks_diff


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


class Gate:
    """Session slots and login throttling for one server (see the module
    docstring for the rules and limits)."""

    def __init__(self, max_sessions=4, fail_delay_ms=1000, max_failures=5, max_failures_total=20,
                 window_ms=60000, max_peers=16):
        self.max_sessions = max_sessions
        self.fail_delay_ms = fail_delay_ms
        self.max_failures = max_failures
        self.max_failures_total = max_failures_total
        self.window_ms = window_ms
        self.max_peers = max_peers
        self.sessions = 0
        self.failures = 0  # all peers, in the current window
        self._t0 = None
        self._last = 0
        self._peers = {}  # address -> [failures, tick of the last one]

    def admit(self, peer, now):
        if self.sessions >= self.max_sessions:
            return "busy"
        if self._blocked(peer, now):
            return "wait"
        self.sessions += 1
        return None

    def _blocked(self, peer, now):
        r = self._peers.get(peer)
        if r is None:
            return False
        age = ticks_diff(now, r[1])
        if age >= self.window_ms:
            del self._peers[peer]
            return False
        return age < self.fail_delay_ms or r[0] >= self.max_failures

    def check(self, peer, given, expected, now):
        if self._t0 is not None and ticks_diff(now, self._t0) >= self.window_ms:
            self._t0 = None
            self.failures = 0
        if self._blocked(peer, now) or (self.failures >= self.max_failures_total
                                        and ticks_diff(now, self._last) < self.fail_delay_ms):
            return None
        if password_equal(given, expected):
            self._peers.pop(peer, None)
            return True
        if self._t0 is None:
            self._t0 = now
        self._last = now
        self.failures += 1
        r = self._peers.get(peer)
        if r is None:
            if len(self._peers) >= self.max_peers:
                old = None
                for k in self._peers:
                    if old is None or ticks_diff(self._peers[k][1], self._peers[old][1]) < 0:
                        old = k
                del self._peers[old]
            r = self._peers[peer] = [0, now]
        r[0] += 1
        r[1] = now
        return False
