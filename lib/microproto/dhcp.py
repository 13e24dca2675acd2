"""DHCP client (RFC 2131/2132, RFC 3442, RFC 4361, RFC 4039): the blocking
and asyncio drivers of ``microproto.dhcp_core`` over a UDP socket on port
68 bound to one interface, with lease persistence and events.

    from microproto import dhcp
    lease = dhcp.acquire("eth0", timeout_ms=30000)       # blocking: first lease
    c = dhcp.Client("eth0", lease_file="/lease.json", on_event=print)
    c.run()                                              # keep the lease for ever
    ev = await dhcp.Client("eth0").arun(until=("bound",))   # asyncio

``on_event(name, lease)`` is called for every core event (``bound``,
``renewing``, ``renewed``, ``rebinding``, ``rebound``, ``expired``, ``nak``,
``declined``, ``released``, ``informed``, ``offer``, ``gave_up``). With a
``lease_file`` the bound lease is saved (JSON) and the next start asks for
it again (INIT-REBOOT); a NAK, expiry, decline or release deletes it.
Nothing is configured on the interface: that is the caller's job (the
CLI's ``--apply``). Unicast (RENEWING, RELEASE) needs the address
configured; until it is, those datagrams are broadcast.

Limits: datagrams of at most ``max_size`` bytes (default 1500) are read;
the socket waits at most until the core's next deadline; ``run``/``arun``
end with ``OSError(ETIMEDOUT)`` after ``timeout_ms`` without an event in
``until``. The command line (``python -m microproto.dhcp``) lives in
``microproto.dhcp_cli``.
"""

from microproto import dhcp_core
from microproto_port import random_bytes, ticks_add, ticks_diff, ticks_ms, udp


class Client:
    """A DHCP client of interface ``iface``. ``mac`` defaults to the
    interface's; ``sock`` to ``microproto_port.udp.bind(iface, 68)``; other
    keywords go to ``dhcp_core.Client`` (``hostname``, ``client_id``,
    ``rapid_commit``, ``choose_offer``, ...)."""

    def __init__(self, iface=None, mac=None, lease_file=None, on_event=None, sock=None, max_size=1500,
                 **core_kw):
        self.core = dhcp_core.Client(mac or udp.mac(iface), random_bytes, **core_kw)
        self.lease_file = lease_file
        self.on_event = on_event
        self.max_size = max_size
        self.sock = sock or udp.bind(iface, 68)

    def saved_lease(self):
        """The lease in ``lease_file`` for this MAC, or None."""
        if not self.lease_file:
            return None
        from microproto import dhcp_lease

        return dhcp_lease.load(self.lease_file, self.core.mac)

    def start(self, inform=None, probe=False, release=False):
        """Begin an exchange: INIT or INIT-REBOOT (the saved lease),
        ``inform`` (an address), ``probe`` or ``release`` (the saved lease)."""
        if release:
            self.core.release(ticks_ms(), self.saved_lease())
        else:
            self.core.start(ticks_ms(), None if probe or inform else self.saved_lease(), probe, inform)

    def _pump(self, until, end):
        # Send what the core made, handle its events; then the ms to wait
        # for a datagram, or an event of ``until`` (a tuple) to return.
        core = self.core
        while True:
            out = core.datagram_to_send()
            if out is None:
                break
            data, dest = out
            if dest is not None:
                # unicast only from a configured address (ciaddr): else
                # there is no source address to send from
                if any(data[12:16]) and udp.is_local(dhcp_core.ip_str(data[12:16])):
                    try:
                        self.sock.sendto(data, udp.addr(dest, 67))
                        continue
                    except OSError:
                        pass
            self.sock.sendto(data, udp.addr("255.255.255.255", 67))
        hit = None
        while True:
            ev = core.next_event()
            if ev is None:
                break
            name, lease = ev
            keep = name in ("bound", "renewed", "rebound")
            if self.lease_file and (keep or name in ("nak", "expired", "released", "declined")):
                from microproto import dhcp_lease

                dhcp_lease.save(self.lease_file, lease if keep else None, core.mac)
            if self.on_event:
                self.on_event(name, lease)
            if hit is None and name in until:
                hit = ev
        if hit:
            return hit
        now = ticks_ms()
        dl = core.next_deadline_ms()
        if dl is None and core.state == 9:  # STOPPED
            return (None, None)  # stopped, nothing more will happen
        wait = 60000 if dl is None else ticks_diff(dl, now)
        if end is not None:
            left = ticks_diff(end, now)
            if left <= 0:
                import errno

                raise OSError(errno.ETIMEDOUT, "DHCP: no %s in time" % "/".join(until))
            wait = min(wait, left)
        return wait if wait > 0 else 0

    def run(self, until=(), timeout_ms=None, start=True, **start_kw):
        """Start (unless ``start`` is False; ``start_kw`` as for ``start``)
        and run the client, blocking, until an event named in ``until``
        (returned as ``(name, lease)``; ``(None, None)`` if the client
        stopped first), for ever if ``until`` is empty."""
        if start:
            self.start(**start_kw)
        end = None if timeout_ms is None else ticks_add(ticks_ms(), timeout_ms)
        while True:
            w = self._pump(until, end)
            if isinstance(w, tuple):
                return w
            data = udp.recv(self.sock, self.max_size, w)
            now = ticks_ms()
            if data:
                self.core.receive_datagram(data, now)
            self.core.tick(now)

    async def arun(self, until=(), timeout_ms=None, start=True, **start_kw):
        """``run`` for asyncio (the socket is made non-blocking)."""
        if start:
            self.start(**start_kw)
        end = None if timeout_ms is None else ticks_add(ticks_ms(), timeout_ms)
        self.sock.setblocking(False)
        while True:
            w = self._pump(until, end)
            if isinstance(w, tuple):
                return w
            data = await udp.arecv(self.sock, self.max_size, w)
            now = ticks_ms()
            if data:
                self.core.receive_datagram(data, now)
            self.core.tick(now)

    def release(self):
        """Give the current lease back (RELEASE) and forget it."""
        self.core.release(ticks_ms())
        self._pump((), None)

    def close(self):
        self.sock.close()


def acquire(iface, timeout_ms=60000, **kw):
    """Obtain a lease on ``iface`` and return it (``OSError(ETIMEDOUT)``
    if none comes within ``timeout_ms``). The socket is closed: nothing
    renews the lease (use ``Client.run`` for that)."""
    c = Client(iface, **kw)
    try:
        return c.run(("bound",), timeout_ms)[1]
    finally:
        c.close()


if __name__ == "__main__":
    import sys

    from microproto.dhcp_cli import main

    sys.exit(main())
