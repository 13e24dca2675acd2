"""The POP3 client driven through its API on either runtime (CPython or
the MicroPython unix port) against the test's Dovecot; prints one JSON
object for the test to check.

    pop3_client_script.py SCENARIO HOST PORT CAFILE USER PASSWORD OUTDIR
"""

import json
import sys

from microproto import pop3
from microproto.errors import UsageError

scenario, host, port, cafile, user, password, outdir = sys.argv[1:8]
port = int(port)


def session(tls="stls", mech=None, **kw):
    b = pop3.POP3(host, port, tls=tls, cafile=cafile, **kw)
    b.login(user, password, mech)
    return b


out = {}
if scenario == "fetch":
    with session() as b:
        out["secure"] = b.secure
        out["stat"] = list(b.stat())
        out["uidl"] = [list(x) for x in b.uidl()]
        out["list"] = [list(x) for x in b.list()]
        for n, uid in b.uidl():
            b.retr(n, into="%s/%d.eml" % (outdir, n))
        out["uidl1"] = list(b.uidl(1))
        out["headers"] = b.headers(2)
        out["small"] = b.retr(1).decode()
    with session() as b:
        out["uidl_again"] = [list(x) for x in b.uidl()]
elif scenario == "delete":
    with session() as b:
        n0 = b.stat()[0]
        b.dele(1)
        b.rset()
    with session() as b:
        out["after_rset"] = b.stat()[0]
        b.dele(1)
        b.close()  # no QUIT: nothing is deleted
    with session() as b:
        out["after_close"] = b.stat()[0]
        first = b.uidl(1)[1]
        b.dele(1)
        out["quit"] = b.quit()
    with session() as b:
        out["after_quit"] = b.stat()[0]
        out["gone"] = first not in [u for n, u in b.uidl()]
    out["before"] = n0
elif scenario == "sync":
    from microproto.pop3_sync import sync

    state = outdir + "/state"
    with session() as b:
        out["first"] = len(list(b.new_messages(state)))
    with session() as b:
        out["second"] = len(list(b.new_messages(state)))
    with session() as b:
        out["saved1"] = len(sync(b, outdir))
    with session() as b:
        out["saved2"] = len(sync(b, outdir))
    with session() as b:
        out["saved_del"] = len(sync(b, outdir, True))
    with session() as b:
        out["left"] = b.stat()[0]
        out["saved_after"] = len(sync(b, outdir))  # prunes the state file
elif scenario == "logins":
    for mech in ("PLAIN", "LOGIN", "USER", "APOP"):
        with session(mech=mech) as b:
            out[mech] = b.stat()[0]
    b = pop3.POP3(host, port, tls="stls", cafile=cafile)
    b.login(user, password, "PLAIN", initial=False)
    out["PLAIN2"] = b.stat()[0]
    b.quit()
    b = pop3.POP3(host, port, tls="stls", cafile=cafile)
    try:
        b.login(user, "wrong")
    except pop3.POP3Error as e:
        out["wrong"] = [e.code, e.command]
    b.close()
elif scenario == "implicit":
    with session(tls="implicit") as b:
        out["secure"] = b.secure
        out["stat"] = list(b.stat())
        out["small"] = b.retr(1).decode()
elif scenario == "refuse":
    b = pop3.POP3(host, port, tls=None)
    try:
        b.login(user, password)
    except UsageError as e:
        out["refused"] = str(e)
    b.close()
    b = pop3.POP3(host, port, tls=None, allow_plaintext_auth=True)
    b.login(user, password)
    out["allowed"] = b.stat()[0]
    b.quit()
elif scenario == "badca":
    try:
        pop3.POP3(host, port, tls="stls", cafile=outdir + "/other_ca.pem")
        out["error"] = None
    except OSError as e:
        out["error"] = "OSError"
    except Exception as e:  # a TLS error that is not an OSError would fail the test
        out["error"] = type(e).__name__
elif scenario == "badca_async":
    import asyncio

    async def bad(tls, port):
        try:
            await pop3.AsyncPOP3(host, port, tls=tls, cafile=outdir + "/other_ca.pem").connect()
            return None
        except OSError:
            return "OSError"
        except Exception as e:
            return type(e).__name__

    out["stls"] = asyncio.run(bad("stls", port))
    out["implicit"] = asyncio.run(bad("implicit", port + 1))
elif scenario == "async":
    import asyncio

    async def go():
        async with pop3.AsyncPOP3(host, port, tls="stls", cafile=cafile) as b:
            await b.login(user, password)
            out["secure"] = b.secure
            out["stat"] = list(await b.stat())
            out["uidl"] = [list(x) for x in await b.uidl()]
            for n, uid in out["uidl"]:
                await b.retr(n, into="%s/%d.eml" % (outdir, n))
            out["headers"] = await b.headers(2)
            out["saved"] = len(await b.sync(outdir))
        async with pop3.AsyncPOP3(host, port + 1, tls="implicit", cafile=cafile) as b:
            await b.login(user, password)
            out["saved_again"] = len(await b.sync(outdir))

    asyncio.run(go())
print("RESULT " + json.dumps(out))
