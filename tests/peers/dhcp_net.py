"""Network namespaces and DHCP servers for the DHCP peer tests (and
tools/bench_dhcp.py): a server namespace and a client namespace joined by a
veth pair, dnsmasq or Kea started in the server namespace, our client (or
busybox udhcpc) run in the client namespace. Names start with ``mpd`` plus
the pid and a counter, so parallel runs do not collide; everything is torn
down by ``close()`` (tests call it from fixture finalizers).

Addresses: 10.99.N.0/24 inside the namespaces only (server .1).
"""

import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MICROPYTHON = str(ROOT / "tools" / "micropython")
_COUNT = itertools.count()


def sh(*argv, check=True):
    r = subprocess.run(argv, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv), r.stderr.strip()))
    return r


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = os.pathsep.join([str(ROOT / "lib"), str(ROOT / "ports" / "cpython")])
    e["PYTHONUNBUFFERED"] = "1"
    return e


class Net:
    """Two namespaces ``srv`` and ``cli`` joined by a veth pair ``sif``
    (server side, 10.99.N.1/24) / ``cif`` (client side, no address)."""

    def __init__(self, subnet=None):
        k = next(_COUNT)
        tag = "mpd%d%c" % (os.getpid() % 100000, 97 + k)
        self.srv = tag + "s"
        self.cli = tag + "c"
        self.sif = tag + "S"
        self.cif = tag + "C"
        self.n = subnet if subnet is not None else 100 + (os.getpid() + k) % 100
        self.prefix = "10.99.%d." % self.n
        self.server_ip = self.prefix + "1"
        self.dir = tempfile.mkdtemp(prefix=tag)
        self.tag = tag
        self.srv2 = None
        self.kea_ns = self.srv
        self.kea_if = self.sif
        self.procs = []
        try:
            sh("ip", "netns", "add", self.srv)
            sh("ip", "netns", "add", self.cli)
            sh("ip", "link", "add", self.sif, "type", "veth", "peer", "name", self.cif)
            sh("ip", "link", "set", self.sif, "netns", self.srv)
            sh("ip", "link", "set", self.cif, "netns", self.cli)
            sh("ip", "-n", self.srv, "addr", "add", self.server_ip + "/24", "dev", self.sif)
            for ns, dev in ((self.srv, self.sif), (self.cli, self.cif)):
                sh("ip", "-n", ns, "link", "set", "lo", "up")
                sh("ip", "-n", ns, "link", "set", dev, "up")
        except BaseException:
            self.close()
            raise

    def path(self, name):
        return os.path.join(self.dir, name)

    def add_second_server(self):
        """A second server namespace on the same segment (for Kea, at
        .2): the server side becomes a bridge joining both. Call before
        starting the servers; returns the second server's address."""
        t = self.tag
        br, a, b = t + "B", t + "U", t + "T"
        self.srv2 = t + "t"
        sh("ip", "netns", "add", self.srv2)
        sh("ip", "-n", self.srv, "link", "add", br, "type", "bridge")
        sh("ip", "-n", self.srv, "addr", "del", self.server_ip + "/24", "dev", self.sif)
        sh("ip", "-n", self.srv, "link", "set", self.sif, "master", br)
        sh("ip", "-n", self.srv, "addr", "add", self.server_ip + "/24", "dev", br)
        sh("ip", "link", "add", a, "type", "veth", "peer", "name", b)
        sh("ip", "link", "set", a, "netns", self.srv)
        sh("ip", "link", "set", b, "netns", self.srv2)
        sh("ip", "-n", self.srv, "link", "set", a, "master", br)
        for ns, dev in ((self.srv, a), (self.srv, br), (self.srv2, b), (self.srv2, "lo")):
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", self.srv2, "addr", "add", self.prefix + "2/24", "dev", b)
        self.sif = br
        self.kea_ns = self.srv2
        self.kea_if = b
        return self.prefix + "2"

    def mac(self):
        return Path("/sys/class/net").exists() and sh(
            "ip", "netns", "exec", self.cli, "cat", "/sys/class/net/%s/address" % self.cif).stdout.strip()

    def start(self, ns, argv, name):
        """Start ``argv`` in namespace ``ns``; its output goes to a file."""
        log = open(self.path(name + ".out"), "w")
        p = subprocess.Popen(["ip", "netns", "exec", ns] + list(argv), stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=env(), cwd=str(ROOT))
        p.logname = log.name
        self.procs.append(p)
        return p

    def dnsmasq(self, extra=(), name="dnsmasq", lease="2m", lo=100, hi=150, listen=None):
        """dnsmasq in the server namespace (T1 10 s, T2 20 s, rapid
        commit, authoritative); returns its pid (read from its pid file)."""
        p = self.prefix
        conf = [
            "port=0", "no-resolv", "no-hosts", "bind-interfaces", "no-ping", "dhcp-authoritative",
            "interface=" + self.sif, "dhcp-range=%s%d,%s%d,255.255.255.0,%s" % (p, lo, p, hi, lease),
            "dhcp-option=option:router," + self.server_ip, "dhcp-option=option:dns-server," + self.server_ip,
            "dhcp-option=option:T1,10", "dhcp-option=option:T2,20", "dhcp-rapid-commit",
            "dhcp-hostsfile=" + self.path(name + ".hosts"), "dhcp-leasefile=" + self.path(name + ".leases"),
            "log-dhcp", "log-facility=" + self.path(name + ".log"), "pid-file=" + self.path(name + ".pid"),
        ]
        if listen:
            conf.append("listen-address=" + listen)
        conf += list(extra)
        open(self.path(name + ".hosts"), "a").close()
        with open(self.path(name + ".conf"), "w") as f:
            f.write("\n".join(conf) + "\n")
        sh("ip", "netns", "exec", self.srv, "dnsmasq", "--conf-file=" + self.path(name + ".conf"))
        pid = int(self._wait_file(self.path(name + ".pid")))
        self.pids = getattr(self, "pids", []) + [pid]
        return pid

    def kea(self, valid=30, renew=10, rebind=20, server_id=None, pool=(100, 150)):
        """Kea DHCPv4 in the server namespace (raw sockets, memfile);
        ``server_id``: the server identifier to send (default the
        interface's first address)."""
        p = self.prefix
        data = [{"name": "routers", "data": self.server_ip},
                {"name": "domain-name-servers", "data": self.server_ip}]
        if server_id:
            data.append({"name": "dhcp-server-identifier", "data": server_id})
        conf = {"Dhcp4": {
            "interfaces-config": {"interfaces": [self.kea_if], "dhcp-socket-type": "raw"},
            "lease-database": {"type": "memfile", "persist": True, "name": self.path("kea.leases"),
                               "lfc-interval": 0},
            "valid-lifetime": valid, "renew-timer": renew, "rebind-timer": rebind, "authoritative": True,
            "subnet4": [{"subnet": p + "0/24", "pools": [{"pool": "%s%d - %s%d" % (p, pool[0], p, pool[1])}],
                         "option-data": data}],
            "loggers": [{"name": "kea-dhcp4", "output_options": [{"output": self.path("kea.log")}],
                         "severity": "INFO"}],
        }}
        with open(self.path("kea.json"), "w") as f:
            json.dump(conf, f)
        e = env()
        e["KEA_PIDFILE_DIR"] = self.dir
        e["KEA_LOCKFILE_DIR"] = self.dir
        log = open(self.path("kea.out"), "w")
        proc = subprocess.Popen(["ip", "netns", "exec", self.kea_ns, "kea-dhcp4", "-c", self.path("kea.json")],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=e)
        proc.logname = log.name
        self.procs.append(proc)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError("kea-dhcp4 exited: " + open(log.name).read())
            klog = read(self.path("kea.log"))
            if "DHCPSRV_NO_SOCKETS_OPEN" in klog:
                raise RuntimeError("kea-dhcp4 opened no socket: " + klog)
            if "DHCP4_STARTED" in klog:
                return proc
            time.sleep(0.1)
        raise RuntimeError("kea-dhcp4 did not start: " + open(log.name).read())

    def _wait_file(self, path, timeout_s=10):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with open(path) as f:
                    s = f.read().strip()
                if s:
                    return s
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("%s never appeared" % path)

    def client_argv(self, runtime, args, heapsize=None):
        if runtime == "cpython":
            base = [sys.executable, "-m", "microproto.dhcp"]
        else:
            base = [MICROPYTHON] + (["-X", "heapsize=" + heapsize] if heapsize else []) + ["-m", "microproto.dhcp"]
        return base + ["--iface", self.cif] + list(args)

    def client(self, runtime, args, name="client", heapsize=None):
        """Start our client (``--json`` is added) in the client namespace."""
        return self.start(self.cli, self.client_argv(runtime, ["--json"] + list(args), heapsize), name)

    def run_client(self, runtime, args, timeout_s=90, heapsize=None):
        """Run our client to its end: ``(returncode, [json events], output)``."""
        r = subprocess.run(["ip", "netns", "exec", self.cli] + self.client_argv(runtime, ["--json"] + list(args),
                                                                                 heapsize),
                           capture_output=True, text=True, env=env(), cwd=str(ROOT), timeout=timeout_s)
        return r.returncode, events_of(r.stdout), r.stdout + r.stderr

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        for pid in getattr(self, "pids", []):
            try:
                os.kill(pid, signal.SIGCONT)
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        sh("ip", "netns", "del", self.cli, check=False)
        sh("ip", "netns", "del", self.srv, check=False)
        if self.srv2:
            sh("ip", "netns", "del", self.srv2, check=False)


def events_of(text):
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def wait_event(proc, name, timeout_s=60, start=0):
    """Wait until the client started by ``Net.client`` has printed event
    ``name``; returns (events so far). Fails with the output otherwise."""
    deadline = time.monotonic() + timeout_s
    while True:
        evs = events_of(open(proc.logname).read())
        if any(e["event"] == name for e in evs[start:]):
            return evs
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError("no %s event; output:\n%s" % (name, open(proc.logname).read()))
        time.sleep(0.1)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""
