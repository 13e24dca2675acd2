"""Build hook: everything else is in setup.cfg.

The CPython port's C fast paths (``microproto_port._speedups``: WebSocket
masking and the UTF-8 check) are OPTIONAL: when there is no compiler, or
the build fails for any reason, the install goes on without them and
``microproto_port.fast`` uses its pure-Python code (same results, slower).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "microproto_port._speedups",
            ["ports/cpython/microproto_port/_speedups.c"],
            optional=True,
        )
    ]
)
