"""The failure bookkeeping of ``microproto.auth.Gate`` (rules in
``microproto.auth``), loaded with the first wrong password: a server
nobody guesses at never loads it. Functions of the gate ``g``; its
``state`` is ``[tick the window started (None: none), tick of the last
failure, {address: [failures, tick of the last one]}]``."""

from microproto_port import ticks_diff


def blocked(g, peer, now_ms, mode=0):
    """True if ``peer`` must wait (``fail_delay_ms`` after its last failure,
    or ``max_failures`` reached within ``window_ms``). ``mode`` 1 (before a
    password is compared): also True past ``max_failures_total`` in the
    window, one comparison per ``fail_delay_ms`` in all; the window's count
    starts again once it ended. (One function, not two: each name a module
    loads is heap on a board.)"""
    b = g.state
    if mode and b[0] is not None and ticks_diff(now_ms, b[0]) >= g.window_ms:
        b[0] = None
        g.failures = 0
    peers = b[2]
    r = peers.get(peer)
    if r is not None:
        age = ticks_diff(now_ms, r[1])
        if age >= g.window_ms:
            del peers[peer]
        elif age < g.fail_delay_ms or r[0] >= g.max_failures:
            return True
    return mode and g.failures >= g.max_failures_total and ticks_diff(now_ms, b[1]) < g.fail_delay_ms


def fail(g, peer, now_ms):
    """Count a wrong password from ``peer``."""
    b = g.state
    if b is None:
        b = g.state = [None, now_ms, {}]
    if b[0] is None:
        b[0] = now_ms
    b[1] = now_ms
    g.failures += 1
    peers = b[2]
    r = peers.get(peer)
    if r is None:
        if len(peers) >= g.max_peers:
            old = None
            for k in peers:
                if old is None or ticks_diff(peers[k][1], peers[old][1]) < 0:
                    old = k
            del peers[old]
        r = peers[peer] = [0, now_ms]
    r[0] += 1
    r[1] = now_ms
