// The portable unit tests on a 32-bit MicroPython: the WebAssembly port
// (npm @micropython/micropython-webassembly-pyscript, MicroPython 1.27) under
// Node. On it a small int holds 31 bits, as on a board: arithmetic past
// 2**30 makes heap objects and overflows assumptions that hold on 64 bits.
//
//   node tests/wasm/run.mjs [-k SUBSTRING]     (or tests/wasm/run.py, which checks the install)
//
// Copies lib/microproto, ports/micropython/microproto_port, tests/unit
// (with data/) into the port's in-memory filesystem, puts stub `socket` and
// `ssl` modules on the path (this port has neither: importing works, using
// them raises OSError), and runs every test_* function of tests/unit except
// those listed in exclude.json, each with the reason. A test that fails after
// it tried to open a socket or an ssl context is reported as EXCLUDED (needs
// sockets), not counted: loopback tests are for the other three paths. Prints PASS/FAIL per test
// and ends with the plain line `N passed, M failed`; exits 1 on a failure.
// The heap grows on demand here (split heap): this path checks behaviour on
// 32 bits, not heap limits (tools/footprint.py does those).

import fs from "node:fs";
import path from "node:path";
import url from "node:url";
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript/micropython.mjs";

const here = path.dirname(url.fileURLToPath(import.meta.url));
const root = path.resolve(here, "..", "..");

// Tests that cannot run here, each with why. A module name excludes the
// whole module; "module.test" one test.
export const EXCLUDE = JSON.parse(fs.readFileSync(path.join(here, "exclude.json"), "utf8")).exclude;

const STUBS = {
  "socket.py": `"""Stub: the WebAssembly port has no sockets. Importing works; using raises OSError."""
AF_INET = 2
AF_INET6 = 10
SOCK_STREAM = 1
SOCK_DGRAM = 2
SOL_SOCKET = 1
SO_REUSEADDR = 2
SO_BROADCAST = 6
IPPROTO_TCP = 6
IPPROTO_UDP = 17
USED = [0]  # the runner reads this: a test that failed after using the stub needs sockets
def _no(*a, **k):
    USED[0] += 1
    raise OSError(95, "no sockets on the WebAssembly port")
class socket:
    def __init__(self, *a, **k):
        _no()
getaddrinfo = _no
def sockaddr(a):
    _no()
`,
  "ssl.py": `"""Stub: the WebAssembly port has no ssl. Importing works; using raises OSError."""
PROTOCOL_TLS_CLIENT = 0
PROTOCOL_TLS_SERVER = 1
CERT_NONE = 0
CERT_OPTIONAL = 1
CERT_REQUIRED = 2
import socket
class SSLContext:
    def __init__(self, *a, **k):
        socket.USED[0] += 1
        raise OSError(95, "no ssl on the WebAssembly port")
`,
};

const DRIVER = `
import gc, os, sys
def _print_exc(e):
    sys.print_exception(e)
def _run(exclude, pattern):
    import socket
    passed = failed = 0
    names = sorted(f[:-3] for f in os.listdir("/tests/unit") if f.startswith("test_") and f.endswith(".py"))
    for name in names:
        if name in exclude:
            print("EXCLUDED %s: %s" % (name, exclude[name]))
            continue
        try:
            mod = __import__(name)
        except Exception as e:
            print("FAIL %s (import): %r" % (name, e))
            _print_exc(e)
            failed += 1
            continue
        for t in sorted(n for n in dir(mod) if n.startswith("test_")):
            full = "%s.%s" % (name, t)
            if pattern and pattern not in full:
                continue
            if full in exclude:
                print("EXCLUDED %s: %s" % (full, exclude[full]))
                continue
            socket.USED[0] = 0
            try:
                getattr(mod, t)()
                passed += 1
                print("PASS " + full)
            except Exception as e:
                if socket.USED[0]:
                    # it tried to open a socket (or an ssl context) and failed:
                    # it needs the network, which this port does not have
                    print("EXCLUDED %s: needs sockets (it opened one; this port has none): %r" % (full, e))
                else:
                    failed += 1
                    print("FAIL %s: %r" % (full, e))
                    _print_exc(e)
            gc.collect()
        del sys.modules[name]
        gc.collect()
    return passed, failed
`;

function copyTree(mp, src, dst, keep) {
  mp.FS.mkdirTree(dst);
  for (const name of fs.readdirSync(src).sort()) {
    const full = path.join(src, name);
    const st = fs.statSync(full);
    if (st.isDirectory()) {
      if (name !== "__pycache__") copyTree(mp, full, dst + "/" + name, () => true);
    } else if (keep(name)) {
      mp.FS.writeFile(dst + "/" + name, fs.readFileSync(full));
    }
  }
}

async function main() {
  const args = process.argv.slice(2);
  const k = args.indexOf("-k");
  const pattern = k >= 0 ? args[k + 1] : null;
  let out = "";
  const write = (s) => {
    process.stdout.write(s);
    out += s;
  };
  const mp = await loadMicroPython({ heapsize: 4 * 1024 * 1024, stdout: write, stderr: write, linebuffer: false });
  const py = (n) => n.endsWith(".py");
  copyTree(mp, path.join(root, "lib", "microproto"), "/lib/microproto", () => true);
  copyTree(mp, path.join(root, "ports", "micropython", "microproto_port"), "/lib/microproto_port", py);
  copyTree(mp, path.join(root, "tests", "unit"), "/tests/unit", () => true);
  mp.FS.mkdirTree("/stubs");
  mp.FS.mkdirTree("/tmp");
  for (const [name, text] of Object.entries(STUBS)) mp.FS.writeFile("/stubs/" + name, text);
  let passed = 0;
  let failed = 0;
  try {
    mp.runPython(`
import os, sys
os.chdir("/tests/unit")
sys.path[:0] = ["/tests/unit", "/lib", "/stubs"]
print("32-bit MicroPython %s (WebAssembly), sys.maxsize %d" % (sys.version, sys.maxsize))
if not hasattr(os, "urandom"):
    # boards and the unix port have os.urandom; this port has not: random
    # bytes for microproto_port.random_bytes (keys, nonces in tests)
    import random
    os.urandom = lambda n: bytes(random.getrandbits(8) for _ in range(n))
` + DRIVER);
    mp.globals.set("_exclude_json", JSON.stringify(EXCLUDE));
    mp.globals.set("_pattern", pattern);
    mp.runPython(`
import json
_passed, _failed = _run(json.loads(_exclude_json), _pattern)
`);
    passed = mp.globals.get("_passed");
    failed = mp.globals.get("_failed");
  } catch (e) {
    write("FAIL the run itself: " + (e && e.message ? e.message : e) + "\n");
    failed += 1;
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`);
  process.exit(failed || !passed ? 1 : 0);
}

main();
