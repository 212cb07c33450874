"""The KLayout-application side of layertools: docks, the "Layer Tools" menu and toolbar buttons.

This module is safe to import anywhere (the PyPI module, ``klayout -b``, the GUI): it decides in one
place where we run (:func:`environment`) and imports Qt-dependent code (the docks) only when
installing into a real main window.  ``install()`` never raises; its problems go to
``<KLAYOUT_HOME>/layertools.log`` and KLayout's log, and into the returned ``InstallReport``.  The
autorun macro (``pymacros/layertools_autorun.py``) is just::

    import layertools.gui
    layertools.gui.install()
"""

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


# Imported eagerly (it needs no Qt at import time) so that ``layertools.gui.install`` is the function,
# not the submodule of the same name.  Must stay below environment(): install.py imports it.
from .install import InstallReport, install, show_panel, uninstall  # noqa: E402

__all__ = ["GUI", "BATCH", "STANDALONE", "environment", "install", "uninstall", "show_panel", "InstallReport"]
