# Drives the Layer Expression dock by object name on a real layout: options, Evaluate, XOR against an
# independent Region computation, undo/redo, an expression error, Fast mode and a screenshot.
# Runs inside KLayout through tests/gui/harness.py (emit, save_screenshot, process_events, ...).
import os
import sys

sys.path.insert(0, os.path.join(REPO, "tests", "gui", "expression_panel_scripts"))
import panel_common as pc  # noqa: E402

mw = main_window()
mw.resize(1560, 990)
view = mw.current_view()
cv = view.active_cellview()
layout = cv.layout()
top = cv.cell
dock, installed = pc.get_dock(mw, REPO)
emit("installed_by_package", installed)
emit("controls", {name: type(dock.findChild(name)).__name__ if dock.findChild(name) is not None else None
                  for name in pc.CONTROL_NAMES})

# --- Partition None greys the spin box and restores the previous value (Xic §3.1) ---------------
partition = dock.findChild("partition")
partition_none = dock.findChild("partition_none")
partition.value = 37.5
partition_none.checked = True
greyed = (partition.enabled, dock.options().partition)
partition_none.checked = False
emit("partition_none", {"while_none": list(greyed), "after": [partition.enabled, dock.options().partition]})
partition.value = 100.0

# --- Evaluate 68/20 & 69/20 (met1 & met2) into 100/0 ---------------------------------------------
m1, m2 = pc.layer_index(layout, 68, 20), pc.layer_index(layout, 69, 20)
expected = pc.flat_region(top, m1) & pc.flat_region(top, m2)
emit("expected_area_um2", expected.area() * layout.dbu ** 2)
before = pc.fingerprint(layout)

dock.findChild("to_layer").text = "100/0"
dock.findChild("depth").setCurrentIndex(dock.findChild("depth").findText("all"))
dock.findChild("format_joined").checked = True
dock.findChild("expression").setPlainText("68/20 & 69/20")
dock.findChild("evaluate").click()
process_events(0.3)
emit("status_after_evaluate", dock.status_text())
result_index = pc.layer_index(layout, 100, 0)
emit("result_layer_exists", result_index is not None)
got = pc.flat_region(top, result_index)
emit("result_area_um2", got.area() * layout.dbu ** 2)
emit("xor_polygons", (got ^ expected).count())
emit("layer_panel_after_evaluate", pc.layer_panel_entries(view, cv.index(), result_index))
emit("undo_enabled_after_evaluate", pc.undo_enabled(mw))

# --- one undo removes the result and the layer-panel entry; redo brings both back -----------------
mw.call_menu("cm_undo")
process_events(0.2)
index_after_undo = pc.layer_index(layout, 100, 0)
emit("after_undo", {
    "layer_exists": index_after_undo is not None,
    "area": pc.flat_region(top, index_after_undo).area() if index_after_undo is not None else 0,
    "panel_entries": len(pc.layer_panel_entries(view, cv.index(), result_index)),
    "fingerprint_equal_before": pc.fingerprint(layout) == before,
})
mw.call_menu("cm_redo")
process_events(0.2)
redo_index = pc.layer_index(layout, 100, 0)
emit("after_redo", {
    "xor_polygons": (pc.flat_region(top, redo_index) ^ expected).count() if redo_index is not None else -1,
    "panel_entries": len(pc.layer_panel_entries(view, cv.index(), redo_index)),
})

# --- an expression error: layout unchanged, position shown and selected, text kept ---------------
after_good = pc.fingerprint(layout)
bad = "68/20 & | 69/20"
dock.findChild("to_layer").text = "101/0"
dock.findChild("expression").setPlainText(bad)
dock.findChild("evaluate").click()
process_events(0.2)
editor = dock.findChild("expression")
cursor = editor.textCursor
error = dock.last_error
emit("error_case", {
    "status": dock.status_text(),
    "error_type": type(error).__name__,
    "position": getattr(error, "position", None),
    "selection": [cursor.selectionStart(), cursor.selectionEnd()],
    "selected_text": cursor.selectedText(),
    "text_kept": editor.toPlainText() == bad,
    "layout_unchanged": pc.fingerprint(layout) == after_good,
    "layer_101_exists": pc.layer_index(layout, 101, 0) is not None,
})
save_screenshot("expression-panel-error")
# The failed evaluation left no undo step: one undo still takes back the successful one.
mw.call_menu("cm_undo")
process_events(0.2)
emit("undo_after_error_removes_result", pc.flat_region(top, pc.layer_index(layout, 100, 0)).is_empty())
mw.call_menu("cm_redo")
process_events(0.2)

# --- Fast mode: no undo step, the status says so ---------------------------------------------------
dock.findChild("to_layer").text = "102/0"
dock.findChild("expression").setPlainText("68/20 - 69/20")
dock.findChild("fast").checked = True
dock.findChild("evaluate").click()
process_events(0.3)
fast_index = pc.layer_index(layout, 102, 0)
fast_expected = pc.flat_region(top, m1) - pc.flat_region(top, m2)
index_100 = pc.layer_index(layout, 100, 0)
emit("fast", {
    # KLayout 0.28 re-used 100/0's slot for 102/0 after Undo + Redo; the panel must prevent that.
    "result_100_intact": index_100 is not None and (pc.flat_region(top, index_100) ^ expected).is_empty()
                         and index_100 != fast_index,
    "status": dock.status_text(),
    "xor_polygons": (pc.flat_region(top, fast_index) ^ fast_expected).count() if fast_index is not None else -1,
    "undo_enabled": pc.undo_enabled(mw),
    "merge_enabled": dock.findChild("merge").enabled,
})
dock.findChild("fast").checked = False

# --- Cancel with KLayout's own progress bar: its Cancel button stops the run, and the layout (and
# the layer panel) are unchanged.  A small partition makes the tiled run long enough (~4 s) for the
# progress bar to appear; a timer clicks Cancel as soon as it is visible. ---------------------------
before_cancel = pc.fingerprint(layout)
seen = {"labels": [], "clicked": False}


def click_cancel():
    try:
        if seen["clicked"]:
            return
        for widget in pc.all_widgets(mw):
            text = getattr(widget, "text", None)
            if not isinstance(text, str) or not widget.isVisible():
                continue
            if text.startswith("tiles"):
                seen["labels"].append(text)
            if text == "Cancel" and hasattr(widget, "click"):
                seen["clicked"] = True
                widget.click()
                return
    except Exception as exc:                 # never raise inside a timer slot (modal dialog)
        seen["error"] = repr(exc)


timer = pya.QTimer()
timer.interval = 200
timer.timeout(click_cancel)
timer.start()
dock.findChild("to_layer").text = "103/0"
dock.findChild("expression").setPlainText("bloat(0.3, 68/20, 0) ^ 69/20")
dock.findChild("strategy").setCurrentIndex(dock.findChild("strategy").findText("tiled"))
partition.value = 1.0  # 18,000 tiles, about 4 s uncancelled: Cancel lands during the tiles
dock.findChild("threads").value = 0
started = __import__("time").time()
dock.findChild("evaluate").click()
timer.stop()
emit("cancel", {
    "clicked": seen["clicked"],
    "progress_labels": seen["labels"][:3],
    "timer_error": seen.get("error"),
    "seconds": __import__("time").time() - started,
    "status": dock.status_text(),
    "error_type": type(dock.last_error).__name__,
    "layout_unchanged": pc.fingerprint(layout) == before_cancel,
    "changes": {k: [before_cancel.get(k), pc.fingerprint(layout).get(k)]
                for k in set(before_cancel) | set(pc.fingerprint(layout))
                if before_cancel.get(k) != pc.fingerprint(layout).get(k)},
    "layer_103_exists": pc.layer_index(layout, 103, 0) is not None,
    "panel_103": len(pc.layer_panel_entries(view, cv.index(), pc.layer_index(layout, 103, 0))),
})

# --- deep strategy: results land in the cells they belong to; still one undo step -----------------
m1_li = pc.layer_index(layout, 68, 20)
li1 = pc.layer_index(layout, 67, 20)
deep_expected = pc.flat_region(top, li1) & pc.flat_region(top, m1_li)
before_deep = pc.fingerprint(layout)
dock.findChild("strategy").setCurrentIndex(dock.findChild("strategy").findText("deep"))
dock.findChild("to_layer").text = "104/0"
dock.findChild("expression").setPlainText("67/20 & 68/20")
dock.findChild("evaluate").click()
deep_index = pc.layer_index(layout, 104, 0)
deep = {"status": dock.status_text(),
        "xor": (pc.flat_region(top, deep_index) ^ deep_expected).count() if deep_index is not None else -1,
        "cells": sum(1 for c in range(layout.cells())
                     if deep_index is not None and layout.cell(c).shapes(deep_index).size())}
mw.call_menu("cm_undo")
deep["undo_restores"] = pc.fingerprint(layout) == before_deep
mw.call_menu("cm_redo")
redo_index = pc.layer_index(layout, 104, 0)
deep["redo_xor"] = (pc.flat_region(top, redo_index) ^ deep_expected).count() if redo_index is not None else -1
emit("deep", deep)

# --- the README screenshot: result over met1/met2 only, the dock next to the Layers panel ----------
toolbox = mw.findChild("lt_dock_widget")   # KLayout's Layer Toolbox; share its place with the dock
if toolbox is not None:
    dock.setFloating(False)
    mw.tabifyDockWidget(toolbox, dock)
    dock.show()
    dock.qt_raise()
dock.findChild("strategy").setCurrentIndex(dock.findChild("strategy").findText("auto"))
partition.value = 100.0
dock.findChild("to_layer").text = "100/0"
dock.findChild("expression").setPlainText("68/20 & 69/20")
dock.findChild("evaluate").click()
shown = {"68/20", "69/20", "100/0"}
it = view.begin_layers()
while not it.at_end():
    node = it.current()
    info = layout.get_info(node.layer_index()) if node.layer_index() >= 0 else None
    node.visible = info is not None and f"{info.layer}/{info.datatype}" in shown
    it.next()
box = top.dbbox()
view.zoom_box(pya.DBox(box.left + 0.40 * box.width(), box.bottom + 0.42 * box.height(),
                       box.left + 0.50 * box.width(), box.bottom + 0.52 * box.height()))
layers_dock = mw.findChild("lp_dock_widget")
if layers_dock is not None:   # room for the whole panel in the picture (a user drags the splitter)
    layers_dock.setMaximumHeight(250)
process_events(0.5)   # the panel makes the result the current Layers entry, which scrolls it into view
emit("final_status", dock.status_text())
save_screenshot("expression-panel")
