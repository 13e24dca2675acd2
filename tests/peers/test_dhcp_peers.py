"""The DHCP client against real servers (dnsmasq, Kea) in network
namespaces made by the tests (tests/peers/dhcp_net.py), on CPython and on
the MicroPython unix port: lease, INIT-REBOOT, RELEASE seen by the server,
NAK and INFORM (dnsmasq and Kea), rapid commit (dnsmasq), probe with two
servers, a rogue responder, and the timers (renew at T1, rebind with the
server stopped past T2) with short leases on both servers. Needs root (CI
runs as root)."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dhcp_net  # noqa: E402
from dhcp_net import Net, events_of, read, wait_event  # noqa: E402


@pytest.fixture
def net():
    n = Net()
    yield n
    n.close()


def names(evs):
    return [e["event"] for e in evs]


def poll(cond, timeout_s=20):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def test_dnsmasq_lease_reboot_release(net, runtime):
    net.dnsmasq()
    lf = net.path("lease.json")
    mac = net.mac()
    rc, evs, out = net.run_client(runtime, ["--once", "--lease-file", lf, "--hostname", "mpdev"])
    assert rc == 0 and names(evs) == ["bound"], out
    lease = evs[0]["lease"]
    assert lease["ip"].startswith(net.prefix) and lease["server"] == net.server_ip
    assert lease["routers"] == [net.server_ip] and lease["dns"] == [net.server_ip]
    assert lease["mask"] == "255.255.255.0" and (lease["t1_s"], lease["t2_s"], lease["lease_s"]) == (10, 20, 120)
    assert evs[0]["sent"] == 2  # DISCOVER, REQUEST
    leases = read(net.path("dnsmasq.leases"))
    assert mac in leases and lease["ip"] in leases and "mpdev" in leases, leases
    assert os.path.exists(lf)
    # next start: INIT-REBOOT, one REQUEST for the same address
    rc, evs, out = net.run_client(runtime, ["--once", "--lease-file", lf])
    assert rc == 0 and names(evs) == ["bound"] and evs[0]["sent"] == 1, out
    assert evs[0]["lease"]["ip"] == lease["ip"]
    log = read(net.path("dnsmasq.log"))
    assert "DHCPREQUEST(%s) %s %s" % (net.sif, lease["ip"], mac) in log
    # RELEASE: the server drops the lease
    rc, evs, out = net.run_client(runtime, ["--release", "--lease-file", lf])
    assert rc == 0 and names(evs) == ["released"], out
    assert poll(lambda: mac not in read(net.path("dnsmasq.leases"))), read(net.path("dnsmasq.leases"))
    assert "DHCPRELEASE(%s) %s %s" % (net.sif, lease["ip"], mac) in read(net.path("dnsmasq.log"))
    assert not os.path.exists(lf)


def test_dnsmasq_async_rapid_commit(net, runtime):
    net.dnsmasq()
    rc, evs, out = net.run_client(runtime, ["--once", "--rapid-commit", "--async"])
    assert rc == 0 and names(evs) == ["bound"], out
    assert evs[0]["sent"] == 1  # DISCOVER with option 80, ACK straight back
    assert "80" in evs[0]["lease"]["options"]
    assert "DHCPACK(%s) %s" % (net.sif, evs[0]["lease"]["ip"]) in read(net.path("dnsmasq.log"))


@pytest.mark.parametrize("server", ["dnsmasq", "kea"])
def test_nak_foreign_address(net, runtime, server):
    getattr(net, server)()
    lf = net.path("lease.json")
    foreign = "10.98.0.7"
    import json

    with open(lf, "w") as f:  # a lease remembered from another network
        json.dump({"ip": foreign, "server": "10.98.0.1", "options": {"51": "00000078"},
                   "mac": net.mac().replace(":", "")}, f)
    rc, evs, out = net.run_client(runtime, ["--once", "--lease-file", lf])
    assert rc == 0 and names(evs) == ["nak", "bound"], out
    assert evs[0]["lease"]["ip"] == foreign and evs[1]["lease"]["ip"].startswith(net.prefix)
    if server == "dnsmasq":
        assert "DHCPNAK(%s) %s" % (net.sif, foreign) in read(net.path("dnsmasq.log"))


@pytest.mark.parametrize("server", ["dnsmasq", "kea"])
def test_inform(net, runtime, server):
    getattr(net, server)()
    ip = net.prefix + "50"
    dhcp_net.sh("ip", "-n", net.cli, "addr", "add", ip + "/24", "dev", net.cif)
    rc, evs, out = net.run_client(runtime, ["--inform", ip, "--timeout", "20"])
    assert rc == 0 and names(evs) == ["informed"], out
    lease = evs[0]["lease"]
    assert lease["ip"] == ip and lease["dns"] == [net.server_ip] and lease["routers"] == [net.server_ip]
    assert "51" not in lease["options"]
    if server == "dnsmasq":
        assert "DHCPINFORM(%s) %s" % (net.sif, ip) in read(net.path("dnsmasq.log"))
        assert net.mac() not in read(net.path("dnsmasq.leases"))
    else:
        assert net.mac() not in read(net.path("kea.leases"))


def test_probe_two_servers(net, runtime):
    second = net.add_second_server()
    net.kea(pool=(160, 199))
    net.dnsmasq()
    rc, evs, out = net.run_client(runtime, ["--probe", "--probe-time", "4"])
    assert rc == 0, out
    offers = [e for e in evs if e["event"] == "offer"]
    done = evs[-1]
    assert done["event"] == "probe_done" and sorted(done["servers"]) == sorted([net.server_ip, second]), out
    assert len(offers) == 2
    for e in offers:
        ip = int(e["lease"]["ip"].rsplit(".", 1)[1])
        assert (100 <= ip <= 150) if e["lease"]["server"] == net.server_ip else (160 <= ip <= 199)
    # probing takes nothing: no lease on either server
    assert net.mac() not in read(net.path("dnsmasq.leases"))


def test_rogue_responder(net, runtime):
    net.dnsmasq(extra=["dhcp-reply-delay=1"])  # the rogue answers first
    count = net.path("rogue.count")
    net.start(net.srv, [sys.executable, os.path.join(dhcp_net.ROOT, "tests", "peers", "dhcp_rogue.py"), net.sif,
                        net.server_ip, count], "rogue")
    time.sleep(0.5)  # the rogue's socket is bound before the client sends
    rc, evs, out = net.run_client(runtime, ["--once", "--timeout", "30"])
    assert rc == 0 and names(evs) == ["bound"], out
    lease = evs[0]["lease"]
    assert lease["server"] == net.server_ip and 100 <= int(lease["ip"].rsplit(".", 1)[1]) <= 150
    rogue = int(read(count) or 0)
    assert rogue >= 18, rogue  # 9 bad replies to the DISCOVER and 9 to the REQUEST
    assert evs[0]["ignored"] >= rogue - 9, (evs[0]["ignored"], rogue)


def _timers_dnsmasq(runtime, errors):
    n = Net()
    try:
        pid = n.dnsmasq()
        p = n.client(runtime, ["--apply", "--async"] if runtime == "cpython" else ["--apply"])
        evs = wait_event(p, "bound", 30)
        ip = evs[-1]["lease"]["ip"]
        addr = dhcp_net.sh("ip", "-n", n.cli, "addr", "show", "dev", n.cif).stdout
        assert ip + "/24" in addr, addr
        evs = wait_event(p, "renewed", 40)  # at T1 = 10 s, unicast to the server
        start = len(evs)
        os.kill(pid, signal.SIGSTOP)  # the server is gone past T2
        try:
            evs = wait_event(p, "rebinding", 40, start)
        finally:
            os.kill(pid, signal.SIGCONT)
        evs = wait_event(p, "rebound", 60, start)
        seq = names(evs)
        assert seq[:4] == ["bound", "renewing", "renewed", "renewing"], seq
        assert seq[-2:] == ["rebinding", "rebound"], seq
        assert evs[-1]["lease"]["ip"] == ip
    except BaseException as e:
        errors.append((runtime, "dnsmasq", e, read(getattr(n.procs[-1], "logname", "")) if n.procs else ""))
    finally:
        n.close()


def _timers_kea(runtime, errors):
    n = Net()
    try:
        kea = n.kea()
        p = n.client(runtime, ["--apply"])
        evs = wait_event(p, "bound", 30)
        lease = evs[-1]["lease"]
        assert (lease["lease_s"], lease["t1_s"], lease["t2_s"]) == (30, 10, 20), lease
        evs = wait_event(p, "renewed", 40)
        assert evs[-1]["lease"]["ip"] == lease["ip"]
        assert poll(lambda: lease["ip"] in read(n.path("kea.leases")))
        start = len(evs)
        os.kill(kea.pid, signal.SIGSTOP)  # ip netns exec became kea-dhcp4 (exec)
        try:
            evs = wait_event(p, "rebinding", 40, start)
        finally:
            os.kill(kea.pid, signal.SIGCONT)
        evs = wait_event(p, "rebound", 40, start)
        assert names(evs)[-2:] == ["rebinding", "rebound"] and evs[-1]["lease"]["ip"] == lease["ip"]
    except BaseException as e:
        errors.append((runtime, "kea", e, read(getattr(n.procs[-1], "logname", "")) if n.procs else ""))
    finally:
        n.close()


def test_timers_renew_rebind_all():
    """Renew at T1 and rebind with the server stopped (SIGSTOP) past T2:
    dnsmasq (T1 10 s, T2 20 s) and Kea (30 s leases), on both runtimes at
    once (threads)."""
    errors = []
    threads = [threading.Thread(target=f, args=(rt, errors)) for f in (_timers_dnsmasq, _timers_kea)
               for rt in ("cpython", "micropython")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, "\n\n".join("%s/%s: %r\n%s" % e for e in errors)


def test_kea_lease_and_release(net, runtime):
    net.kea()
    lf = net.path("lease.json")
    rc, evs, out = net.run_client(runtime, ["--once", "--lease-file", lf])
    assert rc == 0 and names(evs) == ["bound"], out
    ip = evs[0]["lease"]["ip"]
    assert poll(lambda: ip in read(net.path("kea.leases")))
    rc, evs, out = net.run_client(runtime, ["--release", "--lease-file", lf])
    assert rc == 0 and names(evs) == ["released"], out
    assert poll(lambda: "DHCP4_RELEASE" in read(net.path("kea.log"))), read(net.path("kea.log"))


def test_cli_usage_errors(runtime):
    base = [sys.executable] if runtime == "cpython" else [dhcp_net.MICROPYTHON]
    base += ["-m", "microproto.dhcp"]
    for args in ([], ["--iface", "eth0;rm"], ["--bogus"]):
        r = subprocess.run(base + args, capture_output=True, text=True, env=dhcp_net.env(), cwd=str(dhcp_net.ROOT))
        assert r.returncode == 2 and "usage:" in r.stdout, (args, r.stdout, r.stderr)
    r = subprocess.run(base + ["--help"], capture_output=True, text=True, env=dhcp_net.env(), cwd=str(dhcp_net.ROOT))
    assert r.returncode == 0 and "--probe" in r.stdout and "--apply" in r.stdout
