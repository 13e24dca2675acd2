"""The network REPL's continuation rule against characters never seen
before: on MicroPython a one-character str taken out of a str is interned
for good, so reading the typed source by character would keep every
distinct character a client typed."""

from microproto_port import repl


def _odd(i):
    # U+A400 + i (Yi syllables, i < 1024), as a str made from UTF-8 bytes
    # (chr() would itself intern it on MicroPython)
    return str(bytes((0xEA, 0x90 | (i >> 6), 0x80 | (i & 63))), "utf-8")


def test_distinct_characters_typed_are_not_kept():
    import gc
    import sys

    s = repl.Session()
    more = [0, 0]

    def run(first, n):
        for i in range(first, first + n):
            # an open bracket: the statement needs more, nothing is compiled
            for line in ("x = ['" + _odd(i) + "', # " + _odd(i + 256), "'" + _odd(i + 512) + "', ("):
                more[s.push(line)[1] is True] += 1
                s.reset()

    run(900, 4)
    n = 200
    heap = hasattr(gc, "mem_alloc") and sys.platform != "webassembly"  # (its collect frees nothing here)
    if heap:
        gc.collect()
        a = gc.mem_alloc()
    run(0, n)
    assert more == [0, 2 * (n + 4)], more
    if heap:
        gc.collect()
        grown = gc.mem_alloc() - a
        # by character: 3 * n characters kept, 4 B or more each
        assert grown < n, grown


def test_continuation_with_characters_outside_ascii():
    nm = getattr(repl, "needs_more", None)
    if nm is None:
        return  # CPython's port: code.InteractiveConsole decides (test above)
    e = str(b"\xc3\xa9", "utf-8")
    assert nm("x = '" + e + "(' + [")
    assert not nm("x = '" + e + "(' + []")
    assert nm("s = '''" + e + "\\'''")
    assert not nm("s = '''" + e + "\\''' '''")
    assert not nm("x = 1  # " + e + " [")
    assert nm("def f" + e + "():")
    assert not nm("\"" + e + "\\\"" + e + "\"")


def test_compound_statements_by_their_first_word():
    # as MicroPython's REPL reads them: a line ending with ":", a decorator,
    # or a compound keyword as a word (followed by anything but a letter,
    # digit or "_") keeps the statement open until an empty line
    nm = getattr(repl, "needs_more", None)
    if nm is None:
        return  # CPython's port: code.InteractiveConsole decides
    for src in ("if x:", "if x: pass", "if(x): pass", "  while 1: pass", "for i in range(3): print(i)",
                "@dec", "class A: pass", "async def f(): pass", "with\topen('f') as f: f", "try:", "for"):
        assert nm(src), src
    for src in ("define = 1", "if_x = 1", "tryit()", "x = 1", "", "classes", "\nif x: pass", "if x: pass\n",
                "if x:\n  y\n"):
        assert not nm(src), src
