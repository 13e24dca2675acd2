"""Ask every DHCP server on a network what it would offer, and take
nothing (one DISCOVER; each OFFER is listed; no REQUEST follows).

    mpremote run examples/probe_dhcp.py     # on a board (after tools/deploy.py)
    python3 examples/probe_dhcp.py          # on CPython (Linux, as root: port 68)

Settings in the git-ignored secrets.py (see examples/README.md):
DHCP_IFACE (the interface to probe, e.g. "eth0"; required), DHCP_PROBE_S
(3 seconds to collect offers). Ctrl-C stops it early.
"""

from microproto import dhcp

try:
    import secrets  # optional, git-ignored: a board's secrets.py or examples/secrets.py
except ImportError:
    secrets = None
IFACE = getattr(secrets, "DHCP_IFACE", None)
PROBE_S = getattr(secrets, "DHCP_PROBE_S", 3)

if not IFACE:
    print("probe dhcp: set DHCP_IFACE (the interface to probe) in secrets.py")
    print("next: see examples/README.md, then run this again")
else:
    servers = []

    def on_event(name, lease):
        if name == "offer":
            print("offer: %s from server %s, lease %s s" % (lease.ip, lease.server, lease.lease_s))
            if lease.server not in servers:
                servers.append(lease.server)

    client = dhcp.Client(IFACE, on_event=on_event)
    print("probe dhcp: DISCOVER on %s, listening %d s" % (IFACE, PROBE_S))
    try:
        client.run(("never",), PROBE_S * 1000, probe=True)
    except OSError:  # the time is up (ETIMEDOUT)
        pass
    except KeyboardInterrupt:
        print("probe dhcp: stopped")
    finally:
        client.close()
    print("probe dhcp: %d server(s): %s" % (len(servers), " ".join(servers) or "none"))
    print("next: python3 -m microproto.dhcp --iface %s --once   (takes a lease)" % IFACE)
