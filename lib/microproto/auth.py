"""Admission and password checks shared by the servers (Telnet, the
console, WebSocket's ``password`` option).

``password_equal(password, expected)`` compares in constant time: both
sides are hashed with SHA-256 first, so the time taken depends neither on
where they differ nor on their lengths, and the 32-byte digests are
compared without an early exit.

``Gate`` (sans-I/O: time comes in as ``now_ms``, ticks) counts sessions at
accept, before any byte is read, and throttles password guessing:

- ``admit(peer, now_ms)``: None (one slot taken in ``sessions``: decrement it
  when the session ends), or
  why not: ``"busy"`` (``max_sessions`` held) or ``"wait"`` (the peer
  failed less than ``fail_delay_ms`` ago, or ``max_failures`` times within
  ``window_ms``).
- ``check(peer, password, expected, now_ms)``: True if right, False if wrong,
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



def password_equal(password, expected):
    """True if ``password`` equals ``expected`` (str or bytes), in constant
    time. (Parameter names: names the servers' imports intern anyway.)"""
    a = b = None
    for s in (password, expected):
        if isinstance(s, str):
            s = s.encode()
        a, b = b, hashlib.sha256(s).digest()
    diff = 0
    for i in range(32):
        diff |= a[i] ^ b[i]
    return diff == 0


class Gate:
    """Session slots and login throttling for one server (see the module
    docstring for the rules and limits). The failure bookkeeping
    (``microproto.auth_fail``) is loaded with the first wrong password."""

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
        # the failure bookkeeping, once a password failed: [tick the window
        # started (None: none), tick of the last failure, {address:
        # [failures, tick of the last]}]
        self.state = None

    def admit(self, peer, now_ms):
        if self.sessions >= self.max_sessions:
            return "busy"
        if self.state is not None:
            from microproto.auth_fail import blocked

            if blocked(self, peer, now_ms):
                return "wait"
        self.sessions += 1
        return None

    def check(self, peer, password, expected, now_ms):
        if self.state is not None:
            from microproto.auth_fail import blocked

            if blocked(self, peer, now_ms, 1):  # (1: the overall limit too)
                return None
        if password_equal(password, expected):
            if self.state is not None:
                self.state[2].pop(peer, None)
            return True
        from microproto.auth_fail import fail

        fail(self, peer, now_ms)
        return False
