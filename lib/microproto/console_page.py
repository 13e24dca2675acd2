"""The console page's route (``microproto.console.page_handler``), loaded
with the first plain HTTP request other than ``/status``: a console whose
clients never ask for the page does not carry it."""

from microproto import console

# the page's path (``microproto.console.PAGE``: a value set there wins)
PAGE = console.__file__.rsplit("/", 1)[0] + "/console.html" if "/" in console.__file__ else "console.html"


def page_handler(request):
    """Serve the console page at ``/`` (and ``/index.html``); 404 elsewhere.
    The page is streamed from the file (the server reads it into one 1 KiB
    buffer and sends it from there), never read whole."""
    # (comparisons and [name, value] lists, not constant tuples: each str
    # of a constant tuple is an object of its own in the heap)
    p = request.path
    if p != "/" and p != "/index.html":
        return None
    m = request.method
    if m != "GET" and m != "HEAD":
        return 405, [["Allow", "GET, HEAD"]], b""
    import os

    # (console.PAGE read at each request, as before the route moved here)
    headers = [["Content-Type", "text/html; charset=utf-8"], ["Content-Length", str(os.stat(console.PAGE)[6])],
               ["Cache-Control", "no-store"]]
    if m == "HEAD":
        return 200, headers, b""
    return 200, headers, open(console.PAGE, "rb")
