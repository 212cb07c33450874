"""The KLayout-application side of layertools: docks, the "Layer Tools" menu and toolbar buttons.

This module is safe to import anywhere (the PyPI module, ``klayout -b``, the GUI): it decides in one
place where we run (:func:`layertools.environment.environment`) and imports Qt-dependent code (the docks) only when
installing into a real main window.  ``install()`` never raises; its problems go to
``<KLAYOUT_HOME>/layertools.log`` and KLayout's log, and into the returned ``InstallReport``.  The
autorun macro (``pymacros/layertools_autorun.py``) is just::

    import layertools.gui
    layertools.gui.install()
"""

from __future__ import annotations

# Where we run is decided in layertools.environment (Qt-free, shared with recipes and the batch entry).
from ..environment import BATCH, GUI, STANDALONE, environment  # noqa: E402,F401

# Imported eagerly (it needs no Qt at import time) so that ``layertools.gui.install`` is the function,
# not the submodule of the same name.
from .install import InstallReport, install, show_panel, uninstall  # noqa: E402

__all__ = ["GUI", "BATCH", "STANDALONE", "environment", "install", "uninstall", "show_panel", "InstallReport"]
