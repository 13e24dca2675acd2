"""tools/bench.py --tiny, once: every benchmark that follows the contract
runs against its peer and gives rows, and the page is written with its
plots. No timing assertions: the figures are the benchmarks' business."""

import json
import os
import subprocess
import sys

from conftest import ROOT

TOOLS = ROOT / "tools"


def _on_contract(topic):
    """A benchmark script exists and speaks the contract (--json)."""
    path = TOOLS / ("bench_%s.py" % topic)
    return path.exists() and "--json" in path.read_text()


def test_bench_tiny(tmp_path):
    doc = tmp_path / "performance.md"
    proc = subprocess.run([sys.executable, str(TOOLS / "bench.py"), "--tiny", "--doc", str(doc)], cwd=str(ROOT),
                          capture_output=True, text=True, timeout=600)
    out = proc.stdout + proc.stderr
    with open(ROOT / "bench-out" / "tiny" / "summary.json") as f:
        summary = json.load(f)
    sys.path.insert(0, str(TOOLS))
    try:
        import bench
    finally:
        sys.path.pop(0)
    topics = [t for t in bench.TOPICS if _on_contract(t)]
    assert "websocket" in topics and "telnet" in topics
    for topic in topics:
        assert summary["errors"].get(topic) is None, (topic, summary["errors"].get(topic), out[-3000:])
        data = summary["results"][topic]
        assert not bench.check_contract(data, topic), (topic, bench.check_contract(data, topic))
        measured = [r for r in data["rows"] if r["ours"] is not None and r["peer"] is not None]
        assert measured, (topic, data["rows"])
    text = doc.read_text()
    assert bench.BEGIN in text and bench.END in text
    for topic in topics:
        assert ("### %s" % topic).lower() in text.lower()
    pics = [p["file"] for p in summary["results"]["websocket"].get("plots", [])]
    assert "websocket_heap_unix.png" in pics, summary["results"]["websocket"]["notes"]
    for name in pics:
        assert (tmp_path / "img" / name).stat().st_size > 1000, name
    assert "not drawn" not in text, text


def test_contract_check():
    sys.path.insert(0, str(TOOLS))
    try:
        import bench
    finally:
        sys.path.pop(0)
    good = {"topic": "smtp", "peer": "smtplib", "notes": [],
            "rows": [{"case": "c", "runtime": "cpython", "unit": "mails/s", "ours": 2.0, "peer": 1.0,
                      "ratio": 2.0, "goal": 1.5}]}
    assert bench.check_contract(good, "smtp") == []
    assert bench.check_contract(dict(good, rows=[]), "smtp")
    assert bench.check_contract(good, "pop3")
    bad = dict(good, rows=[{"case": "c", "ours": 1.0}])
    assert bench.check_contract(bad, "smtp")
    assert bench.verdict(good["rows"][0]) == "met"
    assert bench.verdict(dict(good["rows"][0], ratio=0.75)) == "short by 50%"


def test_a_run_of_some_topics_keeps_the_others(tmp_path):
    # --only websocket must replace the WebSocket section and keep the
    # others as they were, each saying when it was measured
    sys.path.insert(0, str(TOOLS))
    try:
        import bench
    finally:
        sys.path.pop(0)
    doc = str(tmp_path / "performance.md")

    def run(topic, date, code, ours):
        data = {"topic": topic, "peer": "the %s peer" % topic, "notes": ["%s note" % topic],
                "rows": [{"case": "c", "runtime": "CPython", "unit": "x/s", "ours": ours, "peer": 1.0,
                          "ratio": ours, "goal": 1.0}]}
        info = {"machine": bench.machine(), "load_start": "0", "load_end": "0", "errors": {}, "plots": {},
                "times": {topic: 1.0}, "date": date, "micropython": "?", "code": code, "rounds": 3,
                "tiny": False, "seconds": 1.0}
        argv = ["--only", topic]
        bench.write_doc(doc, bench.page({topic: data}, info, argv, doc, str(tmp_path / "img")), {topic}, date)
        with open(doc) as f:
            return f.read()

    run("telnet", "2026-01-01 10:00 UTC", "aaaaaaa", 2.5)
    run("smtp", "2026-01-02 10:00 UTC", "bbbbbbb", 3.5)
    text = run("websocket", "2026-01-03 10:00 UTC", "ccccccc", 4.5)
    block = text[text.index(bench.BEGIN):text.index(bench.END)]
    for title in ("### WebSocket", "### Telnet", "### SMTP"):
        assert block.count(title) == 1, (title, block)
    # in the page's order, each with its own figures and date
    assert block.index("### WebSocket") < block.index("### Telnet") < block.index("### SMTP")
    assert "| 4.50 |" in block and "| 2.50 |" in block and "| 3.50 |" in block
    tel = block[block.index("### Telnet"):block.index("### SMTP")]
    assert "measured 2026-01-01 10:00 UTC" in tel and "aaaaaaa" in tel and "telnet note" in tel
    ws = block[block.index("### WebSocket"):block.index("### Telnet")]
    assert "Kept from" not in ws and "websocket note" in ws
    assert "Taken 2026-01-03 10:00 UTC" in block
    # run again: still one of each, the kept note not repeated
    text = run("websocket", "2026-01-04 10:00 UTC", "ddddddd", 5.5)
    block = text[text.index(bench.BEGIN):text.index(bench.END)]
    assert block.count("### Telnet") == 1 and block.count(bench._KEPT) == 2, block
    assert "\n\n\n" not in block, block  # a note kept twice adds no blank lines
    assert "| 4.50 |" not in block and "| 5.50 |" in block
