"""DHCP client (RFC 2131/2132, RFC 3442, RFC 4361, RFC 4039): the blocking
and asyncio drivers of ``microproto.dhcp_core`` over a UDP socket on port
68 bound to one interface, lease persistence and events.

    from microproto import dhcp
    lease = dhcp.acquire("eth0", timeout_ms=30000)       # blocking: first lease
    c = dhcp.Client("eth0", lease_file="/lease.json", on_event=print)
    c.run()                                              # keep the lease for ever
    lease = await dhcp.Client("eth0").arun(until=("bound",))   # asyncio

``on_event(name, lease)`` is called for every core event (``bound``,
``renewing``, ``renewed``, ``rebinding``, ``rebound``, ``expired``, ``nak``,
``declined``, ``released``, ``informed``, ``offer``, ``gave_up``). With a
``lease_file`` the bound lease is saved (JSON) and the next start asks for
it again (INIT-REBOOT); a NAK, expiry or release deletes it.

Limits: datagrams of at most ``max_size`` bytes (default 1500) are read;
the socket waits at most until the core's next deadline; ``run`` ends with
``OSError(ETIMEDOUT)`` after ``timeout_ms`` without reaching ``until``.
The command line (``python -m microproto.dhcp``) lives in
``microproto.dhcp_cli``.
"""

import errno

from microproto import dhcp_core
from microproto.dhcp_core import Lease
from microproto_port import net, random_bytes, ticks_add, ticks_diff, ticks_ms

_SERVER_PORT = 67
_CLIENT_PORT = 68
_DONE = ("bound", "renewed", "rebound")


def _is_local(ip4):
    """True if the 4-byte address ``ip4`` is configured on this host."""
    import socket

    if ip4 == b"\0\0\0\0":
        return False
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(net.resolve("%d.%d.%d.%d" % (ip4[0], ip4[1], ip4[2], ip4[3]), 0, True))
        return True
    except OSError:
        return False
    finally:
        s.close()


def save_lease(path, lease, mac=None):
    """Write ``lease`` (and the MAC it belongs to) to ``path`` as JSON."""
    import json

    d = lease.to_dict()
    if mac is not None:
        d["mac"] = "".join("%02x" % b for b in mac)
    with open(path, "w") as f:
        f.write(json.dumps(d))


def load_lease(path, mac=None):
    """The lease saved in ``path``, or None if there is none, it is
    unreadable, or it belongs to another MAC."""
    import json

    try:
        with open(path) as f:
            d = json.loads(f.read())
        if mac is not None and d.get("mac", "") != "".join("%02x" % b for b in mac):
            return None
        return Lease.from_dict(d)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def forget_lease(path):
    import os

    try:
        os.remove(path)
    except OSError:
        pass


class Client:
    """A DHCP client of interface ``iface``. ``mac`` defaults to the
    interface's; ``sock`` to ``net.udp_broadcast_socket(iface, 68)``; other
    keywords go to ``dhcp_core.Client`` (``hostname``, ``client_id``,
    ``rapid_commit``, ``choose_offer``, ...)."""

    def __init__(self, iface=None, mac=None, lease_file=None, on_event=None, sock=None, max_size=1500,
                 **core_kw):
        self.iface = iface
        if mac is None:
            mac = net.mac_address(iface)
        self.core = dhcp_core.Client(mac, random_bytes, **core_kw)
        self.lease_file = lease_file
        self.on_event = on_event
        self.max_size = max_size
        self.sock = sock if sock is not None else net.udp_broadcast_socket(iface, _CLIENT_PORT)
        self._bcast = net.resolve("255.255.255.255", _SERVER_PORT, True)

    @property
    def lease(self):
        return self.core.lease

    def start(self, inform=None, probe=False, release=False):
        """Begin an exchange (see ``run``)."""
        core = self.core
        now = ticks_ms()
        if probe:
            core.probe(now)
        elif inform:
            core.inform(now, inform)
        else:
            saved = load_lease(self.lease_file, core.mac) if self.lease_file else None
            if release:
                core.release(now, saved)
            else:
                core.start(now, saved)

    def _flush(self):
        while True:
            out = self.core.datagram_to_send()
            if out is None:
                return
            data, dest = out
            # Unicast (RENEWING, RELEASE, INFORM to a known server) only
            # works when ciaddr is configured here; otherwise the datagram
            # would leave with no source address: broadcast it instead.
            if dest is not None and _is_local(data[12:16]):
                try:
                    self.sock.sendto(data, net.resolve(dest, _SERVER_PORT, True))
                    continue
                except OSError:
                    pass
            self.sock.sendto(data, self._bcast)

    def _events(self, until):
        """Handle queued events; the one in ``until`` (if any) is returned."""
        hit = None
        while True:
            ev = self.core.next_event()
            if ev is None:
                return hit
            name, lease = ev
            if self.lease_file:
                if name in _DONE:
                    save_lease(self.lease_file, lease, self.core.mac)
                elif name in ("nak", "expired", "released", "declined"):
                    forget_lease(self.lease_file)
            if self.on_event is not None:
                self.on_event(name, lease)
            if hit is None and name in until:
                hit = ev

    def _wait_ms(self, end):
        now = ticks_ms()
        dl = self.core.next_deadline_ms()
        wait = 60000 if dl is None else ticks_diff(dl, now)
        if end is not None:
            left = ticks_diff(end, now)
            if left <= 0:
                raise OSError(errno.ETIMEDOUT, "DHCP: no %s in time" % "/".join(self._until))
            if left < wait:
                wait = left
        return wait if wait > 0 else 0

    def run(self, until=(), timeout_ms=None, start=True, **start_kw):
        """Start (unless ``start`` is False) and run the client, blocking,
        until an event named in ``until`` happens (returned as ``(name,
        lease)``), for ever if ``until`` is empty. ``start_kw``: ``inform``
        (an address), ``probe`` or ``release`` (True)."""
        if start:
            self.start(**start_kw)
        self._until = until
        end = None if timeout_ms is None else ticks_add(ticks_ms(), timeout_ms)
        core = self.core
        while True:
            self._flush()
            hit = self._events(until)
            if hit is not None:
                return hit
            if core.state == dhcp_core.STOPPED and core.next_deadline_ms() is None:
                return None
            net.set_timeout_ms(self.sock, self._wait_ms(end))
            try:
                data = self.sock.recv(self.max_size)
            except OSError as e:
                if not net.is_timeout(e):
                    raise
                data = None
            now = ticks_ms()
            if data:
                core.receive_datagram(data, now)
            core.tick(now)

    async def arun(self, until=(), timeout_ms=None, start=True, **start_kw):
        """``run`` for asyncio (the socket is made non-blocking)."""
        import asyncio

        if start:
            self.start(**start_kw)
        self._until = until
        end = None if timeout_ms is None else ticks_add(ticks_ms(), timeout_ms)
        core = self.core
        self.sock.setblocking(False)
        while True:
            self._flush()
            hit = self._events(until)
            if hit is not None:
                return hit
            if core.state == dhcp_core.STOPPED and core.next_deadline_ms() is None:
                return None
            wait = self._wait_ms(end)
            try:
                data = await asyncio.wait_for(net.udp_recv(self.sock, self.max_size), wait / 1000)
            except asyncio.TimeoutError:
                data = None
            now = ticks_ms()
            if data:
                core.receive_datagram(data, now)
            core.tick(now)

    def release(self):
        """Give the current lease back (RELEASE) and forget it."""
        self.core.release(ticks_ms())
        self._flush()
        self._events(())

    def close(self):
        self.sock.close()


def acquire(iface, timeout_ms=60000, **kw):
    """Obtain a lease on ``iface`` and return it (``OSError(ETIMEDOUT)``
    if none comes within ``timeout_ms``). The socket is closed; nothing
    renews the lease: use ``Client.run`` for that."""
    c = Client(iface, **kw)
    try:
        return c.run(_DONE, timeout_ms)[1]
    finally:
        c.close()


def main(argv=None):
    """The command line (``python -m microproto.dhcp``, see ``--help``)."""
    from microproto.dhcp_cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    import sys

    sys.exit(main())
