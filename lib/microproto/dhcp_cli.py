"""Command line of the DHCP client: ``python -m microproto.dhcp --iface IF``
(see ``microproto.dhcp``). Kept apart so that importing the client on a
board does not load the parser. Prints one line per event (JSON lines
with ``--json``); changes nothing on the interface unless ``--apply`` is
given (then it sets the address and routes with ``ip``, Linux only).

Exit status: 0 done (or still running), 1 no answer in time or NAK with
``--once``, 2 bad arguments.
"""

import sys

from microproto import cli, dhcp

STATES = ("INIT", "SELECTING", "REQUESTING", "BOUND", "RENEWING", "REBINDING", "REBOOTING", "INFORMING",
          "PROBING", "STOPPED")
USAGE = "python -m microproto.dhcp --iface IFACE [options]"
SPEC = (
    ("--iface", "iface", str, None, "network interface (required)"),
    ("--hostname", "hostname", str, None, "host name to send (option 12)"),
    ("--client-id", "client_id", str, None, "client identifier: hex bytes aa:bb:.. or text (option 61)"),
    ("--lease-file", "lease_file", str, None, "keep the lease here; next start asks for it again"),
    ("--once", "once", bool, False, "exit when bound (the lease is not renewed)"),
    ("--release", "release", bool, False, "release the lease (from --lease-file, or obtain one first)"),
    ("--inform", "inform", str, None, "ask parameters for this already configured address"),
    ("--rapid-commit", "rapid_commit", bool, False, "ask for a two-message exchange (RFC 4039)"),
    ("--probe", "probe", bool, False, "send one DISCOVER, list every offer, take nothing"),
    ("--probe-time", "probe_time", int, 3, "seconds to collect offers with --probe"),
    ("--timeout", "timeout", int, 60, "seconds to wait for a lease with --once/--release/--inform"),
    ("--apply", "apply", bool, False, "set the address and routes on the interface with ip"),
    ("--json", "json", bool, False, "print events as JSON lines"),
    ("--async", "use_async", bool, False, "use the asyncio driver"),
)


def _client_id(text):
    if ":" in text:
        try:
            import binascii

            return binascii.unhexlify(text.replace(":", ""))
        except ValueError:
            pass
    return b"\x00" + text.encode()


def _describe(name, lease):
    if lease is None:
        return name
    s = "%s %s from %s" % (name, lease.ip, lease.server)
    if lease.lease_s is not None:
        s += " lease %ss" % ("infinite" if lease.lease_s < 0 else lease.lease_s)
    if lease.mask:
        s += " mask %s" % lease.mask
    if lease.routers:
        s += " router %s" % ",".join(lease.routers)
    if lease.dns:
        s += " dns %s" % ",".join(lease.dns)
    if lease.domain:
        s += " domain %s" % lease.domain
    return s


def _valid_iface(name):
    for c in name:
        if not (c.isalpha() or c.isdigit() or c in "._-@"):
            return False
    return 0 < len(name) < 16


def _sh(cmd):
    import os

    os.system(cmd + " 2>/dev/null")


def apply_lease(iface, name, lease):
    """Configure ``iface`` with ``ip`` for an event (Linux). Every address
    in the commands went through ``ip_bytes``/``ip_str``, so it is an
    IPv4 address and nothing else."""
    from microproto.dhcp_core import ip_bytes, ip_str

    if lease is None:
        return
    ip = ip_str(ip_bytes(lease.ip))
    pfx = lease.prefix_len()
    if name in ("bound", "renewed", "rebound"):
        _sh("ip addr replace %s/%d dev %s" % (ip, pfx, iface))
        if lease.routes:
            for dest, n, gw in lease.routes:
                _sh("ip route replace %s/%d via %s dev %s" % (ip_str(ip_bytes(dest)), n, ip_str(ip_bytes(gw)),
                                                             iface))
        elif lease.routers:
            _sh("ip route replace default via %s dev %s" % (ip_str(ip_bytes(lease.routers[0])), iface))
    elif name in ("expired", "nak", "released", "declined"):
        _sh("ip addr del %s/%d dev %s" % (ip, pfx, iface))


def _printer(opts, client):
    from microproto_port import ticks_diff, ticks_ms

    as_json = opts["json"]
    t0 = ticks_ms()

    def on_event(name, lease):
        if as_json:
            import json

            d = {"event": name, "state": STATES[client.core.state], "ignored": client.core.ignored,
                 "sent": client.core.sent, "ms": ticks_diff(ticks_ms(), t0)}
            if lease is not None:
                d["lease"] = lease.to_dict()
            print(json.dumps(d))
        else:
            print(_describe(name, lease))
        if opts["apply"]:
            apply_lease(opts["iface"], name, lease)

    return on_event


def main(argv=None):
    """Command line entry point (``microproto-dhcp``)."""
    opts = cli.parse(sys.argv[1:] if argv is None else argv, SPEC, USAGE,
                     "DHCP client: obtain, keep, release a lease; inform; probe for servers.")
    iface = opts["iface"]
    if not iface or not _valid_iface(iface):
        print("error: --iface IFACE is required (a valid interface name)\nusage: " + USAGE)
        return 2
    kw = {"hostname": opts["hostname"], "rapid_commit": opts["rapid_commit"]}
    if opts["client_id"]:
        kw["client_id"] = _client_id(opts["client_id"])
    c = dhcp.Client(iface, lease_file=opts["lease_file"], **kw)
    c.on_event = _printer(opts, c)
    run = c.run
    if opts["use_async"]:
        import asyncio

        def run(until=(), timeout_ms=None, **kw):
            return asyncio.run(c.arun(until, timeout_ms, **kw))

    t_ms = opts["timeout"] * 1000
    try:
        if opts["probe"]:
            return _probe(c, opts, run)
        if opts["inform"]:
            ev = run(("informed", "gave_up"), t_ms, inform=opts["inform"])
            return 0 if ev[0] == "informed" else 1
        if opts["release"]:
            if c.saved_lease() is None:
                run(("bound",), t_ms)
                c.release()
            else:
                run(("released",), t_ms, release=True)
            return 0
        if opts["once"]:
            ev = run(("bound",), t_ms)
            return 0 if ev and ev[0] == "bound" else 1
        run()
        return 0
    except OSError as e:
        print("error: %s" % (e,))
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        c.close()


def _probe(c, opts, run):
    servers = []

    def on_offer(name, lease, printer=c.on_event):
        printer(name, lease)
        if name == "offer" and lease.server not in servers:
            servers.append(lease.server)

    c.on_event = on_offer
    try:
        run(("never",), opts["probe_time"] * 1000, probe=True)
    except OSError:
        pass
    if opts["json"]:
        import json

        print(json.dumps({"event": "probe_done", "servers": servers, "ignored": c.core.ignored}))
    else:
        print("%d server(s): %s" % (len(servers), " ".join(servers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
