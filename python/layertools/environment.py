"""Where this code runs, decided in one place (doc/decisions.md I8): the KLayout application with a main window
(:data:`GUI`), the application without one (:data:`BATCH`: ``klayout -b``, ``-zz``), or plain
Python with the PyPI ``klayout`` module (:data:`STANDALONE`).  The panels' installer, recorded
macros and the batch entry (``pymacros/layertools_replay.py``) all ask here.  Qt-free: it imports
``pya`` only to look."""

from __future__ import annotations

GUI = "gui"                # the KLayout application with a main window
BATCH = "batch"            # the KLayout application without one (-b, -zz, -r scripts in batch mode)
STANDALONE = "standalone"  # plain Python with the PyPI ``klayout`` module (no Qt, no application)


def environment() -> str:
    """Where this code runs: :data:`GUI`, :data:`BATCH` or :data:`STANDALONE`."""
    try:
        import pya
    except ImportError:
        return STANDALONE
    # The PyPI module ships a ``pya`` shim too, but without Application/MainWindow or Qt classes.
    application_class = getattr(pya, "Application", None)
    if application_class is None:
        return STANDALONE
    application = application_class.instance()
    if application is None or application.main_window() is None:
        return BATCH
    return GUI


def main_window():
    """The application's main window, or None (standalone Python, ``klayout -b``)."""
    if environment() != GUI:
        return None
    import pya
    return pya.Application.instance().main_window()
