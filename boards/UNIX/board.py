"""Board support for the virtual board (the unix port): the network is the
host's, so bring-up has nothing to do."""

NAME = "UNIX"
HEAP_BUDGET = 65536  # what the library plans to fit in, as on a small board


def network_up(timeout_ms=10000):
    """Bring the network up; return the board's IPv4 address."""
    return "127.0.0.1"
