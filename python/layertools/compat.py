"""One import of KLayout's database API that works inside the application and standalone.

Inside the KLayout application the module is ``pya`` (``klayout.db`` does not exist there); the
PyPI module provides ``klayout.db``.  The core imports ``db`` from here and never anything else.
"""

from __future__ import annotations

try:  # standalone first: the PyPI module also ships a ``pya`` shim, but without Qt
    import klayout.db as db
    IN_APPLICATION = False
except ImportError:  # inside the KLayout application
    import pya as db  # type: ignore[no-redef]
    IN_APPLICATION = True


def klayout_version() -> tuple[int, ...]:
    """KLayout's version as a tuple of ints, e.g. (0, 28, 5)."""
    text = ""
    if hasattr(db, "__version__"):
        text = db.__version__
    elif hasattr(db, "Application"):
        text = db.Application.instance().version().split()[-1]
    parts = []
    for piece in text.split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


__all__ = ["db", "IN_APPLICATION", "klayout_version"]
