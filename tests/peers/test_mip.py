"""The mip packages (issue 12): each ``package/<slice>/package.json``,
served over HTTP on loopback, installed with ``mpremote mip install`` onto
a virtual board whose filesystem holds nothing else; then the slice is
imported and its example runs there against a real client or peer (the
checks of test_examples.py). A slice that misses a module it imports fails
here."""

import functools
import http.server
import json
import os
import subprocess
import sys
import threading

import pytest

import test_examples as ex
from conftest import ROOT

SLICES = {
    # slice: (module to import, example check from test_examples, or None)
    "websocket": ("microproto.websocket", ex.test_websocket_echo),
    "telnet": ("microproto.telnet", ex.test_telnet_repl),
    "smtp": ("microproto.smtp", ex.test_send_mail_with_starttls_and_login),
    "console": ("microproto.console", ex.test_device_console),
    "pop3": ("microproto.pop3", ex.test_fetch_mail_with_stls_and_login),
    "dhcp": ("microproto.dhcp", ex.test_probe_dhcp_says_what_to_set_without_settings),
}


def load(name):
    with open(os.path.join(str(ROOT), "package", name, "package.json")) as f:
        return json.load(f)


def test_the_packages_are_written_from_the_current_imports():
    r = subprocess.run([sys.executable, "package/build.py", "--check"], cwd=str(ROOT), capture_output=True,
                       text=True)
    assert r.returncode == 0, "run python3 package/build.py:\n" + r.stdout + r.stderr
    assert sorted(os.listdir(os.path.join(str(ROOT), "package"))) == sorted(list(SLICES) + ["build.py"])


def test_each_package_names_existing_files_and_the_library_version():
    from microproto import __version__

    for name in SLICES:
        pkg = load(name)
        assert pkg["version"] == __version__ and pkg["deps"] == []
        for dest, src in pkg["urls"]:
            assert os.path.isfile(os.path.join(str(ROOT), "package", name, src)), (name, src)
            assert dest.startswith(("microproto/", "microproto_port/")), dest
        dests = [d for d, _ in pkg["urls"]]
        assert "microproto/__init__.py" in dests and "microproto_port/__init__.py" in dests
        assert not [d for d in dests if d.endswith("_cli.py") or d == "microproto/cli.py"], dests


@pytest.fixture(scope="module")
def http_root():
    """The repository over HTTP on loopback, as a web server shows it."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(ROOT))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", ex.free_port()), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield "http://127.0.0.1:%d" % server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def board_files(fs):
    out = set()
    for d, _, files in os.walk(fs):
        for f in files:
            out.add(os.path.relpath(os.path.join(d, f), fs).replace(os.sep, "/"))
    return out


@pytest.mark.parametrize("name", sorted(SLICES))
def test_mip_install_on_an_empty_board_then_import_and_run_the_example(name, http_root):
    module, example = SLICES[name]
    with ex.PrivateBoard() as board:
        assert board_files(board.fs) == set()
        out = board.mpremote("mip", "install", "--target", "lib", "%s/package/%s/package.json" % (http_root, name))
        want = set("lib/" + d for d, _ in load(name)["urls"])
        assert board_files(board.fs) == want, out
        out = board.mpremote("exec", "import %s, sys; print('imported', sorted(m for m in sys.modules if "
                                     "m.startswith('microproto')))" % module)
        assert "imported" in out, out
        if example is not None:
            example(board)


def test_mip_install_from_a_checkout_without_a_server():
    # mpremote reads a package.json given as a local path, and its urls
    # relative to it: the README's command for a clone
    with ex.PrivateBoard() as board:
        board.mpremote("mip", "install", "--target", "lib", "package/telnet/package.json")
        assert board_files(board.fs) == set("lib/" + d for d, _ in load("telnet")["urls"])
        assert "ok" in board.mpremote("exec", "import microproto.telnet; print('ok')")
