"""Summarise a kosoku/Autobahn report directory: counts per behaviour, and
the cases that are not OK.

    python3 tools/autobahn_summary.py REPORTDIR [--strict]

With ``--strict`` the exit status is 1 if any case is FAILED, NON-STRICT or
UNIMPLEMENTED (INFORMATIONAL cases only inform).
"""

import json
import sys


def summarise(path):
    with open(path + "/index.json") as f:
        index = json.load(f)
    counts = {}
    bad = []
    for agent, cases in index.items():
        for case, r in cases.items():
            b = r["behavior"]
            bc = r.get("behaviorClose", "OK")
            counts[b] = counts.get(b, 0) + 1
            if b not in ("OK", "INFORMATIONAL") or bc not in ("OK", "INFORMATIONAL"):
                bad.append((case, b, bc, r.get("remoteCloseCode")))
    return counts, bad


def _key(case):
    return [int(x) if x.isdigit() else x for x in case.split(".")]


def main(argv):
    path = argv[0]
    counts, bad = summarise(path)
    total = sum(counts.values())
    print("%d cases: %s" % (total, ", ".join("%s %d" % (k, counts[k]) for k in sorted(counts))))
    bad.sort(key=lambda x: _key(x[0]))
    for case, b, bc, code in bad[:40]:
        print("  %s: %s (close: %s, remote code %s)" % (case, b, bc, code))
    if len(bad) > 40:
        print("  ... and %d more" % (len(bad) - 40))
    if "--strict" in argv and bad:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
