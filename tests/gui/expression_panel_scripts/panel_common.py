"""Helpers shared by the expression-panel GUI scripts (run inside KLayout by tests/gui/harness.py).

Everything here computes expectations independently of layertools: plain KLayout Regions built
from the layout, never the engine.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import pya

DOCK_NAME = "layertools_expression_dock"
CONTROL_NAMES = ("to_layer", "depth", "recursive", "partition", "partition_none", "threads", "no_clear",
                 "format_default", "format_joined", "format_hsplit", "format_vsplit", "expression",
                 "save_register", "recall_register", "merge", "fast", "strategy", "evaluate", "status")


def ensure_import_path(repo: str) -> None:
    """The checkout's python/ (the Salt install adds it too; this covers a missing grain.xml)."""
    path = os.path.join(repo, "python")
    if path not in sys.path:
        sys.path.insert(0, path)


def get_dock(main_window, repo: str):
    """The dock installed by the package's autorun macro, or one made here if none is installed.

    Returns (dock, installed_by_package)."""
    dock = main_window.findChild(DOCK_NAME)
    if dock is not None:
        dock.show()
        return dock, True
    ensure_import_path(repo)
    from layertools.gui.expression_panel import ExpressionDock
    dock = ExpressionDock(main_window)
    main_window.addDockWidget(pya.Qt.RightDockWidgetArea, dock)
    dock.show()
    return dock, False


def run_session(session) -> None:
    """Run ``session(main_window, dock, data)`` as one whole application session started with
    ``-r`` (tests/gui/test_expression_panel.py, ``_session``): ``data`` goes to the JSON file
    LT_PANEL_RESULT names, an exception's traceback into it, and the application exits with 1 then,
    0 otherwise.  exit() because a modified layout would make a normal close ask "save changes?"."""
    data: dict = {}
    rc = 0
    try:
        main_window = pya.Application.instance().main_window()
        dock, installed = get_dock(main_window, os.environ["LT_PANEL_REPO"])
        data["installed_by_package"] = installed
        session(main_window, dock, data)
    except Exception:
        data["exception"] = traceback.format_exc()
        rc = 1
    with open(os.environ["LT_PANEL_RESULT"], "w") as stream:
        json.dump(data, stream, default=repr)
    pya.Application.instance().exit(rc)


def layer_index(layout, layer: int, datatype: int):
    for index in layout.layer_indexes():
        info = layout.get_info(index)
        if info.layer == layer and info.datatype == datatype:
            return index
    return None


def flat_region(cell, index) -> "pya.Region":
    """All shapes of layer ``index`` under ``cell``, flattened, merged semantics."""
    region = pya.Region()
    if index is not None:
        region.insert(cell.begin_shapes_rec(index))
    return region


def fingerprint(layout) -> dict:
    """Layers and per-layer shape counts over all cells: changes when anything is written."""
    result = {}
    for index in layout.layer_indexes():
        info = layout.get_info(index)
        count = 0
        for cell_index in range(layout.cells()):
            count += layout.cell(cell_index).shapes(index).size()
        result[info.to_s()] = count
    return result


def layer_panel_entries(view, cv_index: int, index) -> list:
    """(visible, fill colour) of each layer-panel entry showing layer ``index``."""
    found = []
    it = view.begin_layers()
    while not it.at_end():
        node = it.current()
        if not node.has_children() and node.cellview() == cv_index and node.layer_index() == index \
                and index is not None:
            found.append((bool(node.visible), int(node.eff_fill_color(True)) & 0xffffff))
        it.next()
    return found


def undo_enabled(main_window) -> bool:
    return bool(main_window.menu().action("edit_menu.undo").enabled)


def all_widgets(widget, depth=0):
    """Every widget below ``widget`` (to find KLayout's own, e.g. the progress bar's Cancel button)."""
    for child in widget.children():
        if hasattr(child, "isVisible"):      # native KLayout widgets are not pya.QWidget instances
            yield child
            if depth < 12:
                yield from all_widgets(child, depth + 1)


def layer_nodes(view):
    """Every node of the view's layer list, top to bottom."""
    it = view.begin_layers()
    while not it.at_end():
        yield it.current()
        it.next()


def current_cell(main_window):
    """(view, cellview, layout, cell) of the current view's current cell."""
    view = main_window.current_view()
    cellview = view.active_cellview()
    return view, cellview, cellview.layout(), cellview.cell
