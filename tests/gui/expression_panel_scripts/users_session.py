# Issue 13: the panel driven as a user does, with real X key and wheel events (xdotool) where that
# is the point.  Runs inside KLayout through tests/gui/harness.py (emit, save_screenshot, ...).
import dataclasses
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(REPO, "tests", "gui", "expression_panel_scripts"))
import panel_common as pc  # noqa: E402

mw = main_window()
mw.resize(1560, 990)
view, cv, layout, top = pc.current_cell(mw)
dock, _installed = pc.get_dock(mw, REPO)
mw.activateWindow()
process_events(0.5)
undo_action = mw.menu().action("edit_menu.undo")
redo_action = mw.menu().action("edit_menu.redo")


def xdotool(*args, delay=0.0):
    """Real X events; with a delay it runs in the background while the application is busy."""
    command = " ".join(["xdotool"] + [str(a) for a in args])
    return subprocess.Popen(["sh", "-c", f"sleep {delay}; {command}"])


def centre(widget):
    point = widget.mapToGlobal(pya.QPoint(widget.width // 2, widget.height // 2))
    return point.x, point.y


def set_run(to, expression, strategy="flat", threads=0, partition=None):
    dock.findChild("to_layer").text = to
    dock.findChild("expression").setPlainText(expression)
    dock.findChild("strategy").setCurrentIndex(dock.findChild("strategy").findText(strategy))
    dock.findChild("threads").value = threads
    if partition is not None:
        dock.findChild("partition_none").checked = False
        dock.findChild("partition").value = partition


# --- a first result, so there is an undo history to keep --------------------------------------------
set_run("100/0", "68/20 & 69/20")
dock.findChild("evaluate").click()
process_events(0.3)
emit("first", {"undo": undo_action.enabled, "undo_title": undo_action.title, "status": dock.status_text()})
before = pc.fingerprint(layout)

# --- Bug 1: Esc (a real key press) during a long run cancels it like Cancel ---------------------------
set_run("101/0", "bloat(0.3, 68/20, 0) ^ 69/20", strategy="tiled", partition=1.0)
key = xdotool("key", "Escape", delay=1.5)
started = time.time()
dock.findChild("evaluate").click()
seconds = time.time() - started
key.wait()
process_events(0.3)
emit("esc", {
    "seconds": seconds,
    "error_type": type(dock.last_error).__name__,
    "status": dock.status_text(),
    "layout_unchanged": pc.fingerprint(layout) == before,
    "layer_101": pc.layer_index(layout, 101, 0) is not None,
    "transacting": view.is_transacting(),
    "undo": undo_action.enabled, "redo": redo_action.enabled, "undo_title": undo_action.title,
})

# --- Bug 4: plain Cancel (KLayout's progress bar) leaves no undo step --------------------------------
seen = {"clicked": False}


def click_cancel():
    try:
        if seen["clicked"]:
            return
        for widget in pc.all_widgets(mw):
            if getattr(widget, "text", None) == "Cancel" and widget.isVisible() and hasattr(widget, "click"):
                seen["clicked"] = True
                widget.click()
                return
    except Exception as exc:
        seen["error"] = repr(exc)


timer = pya.QTimer()
timer.interval = 300
timer.timeout(click_cancel)
timer.start()
dock.findChild("evaluate").click()
timer.stop()
process_events(0.3)
emit("cancel", {
    "clicked": seen["clicked"], "error_type": type(dock.last_error).__name__,
    "layout_unchanged": pc.fingerprint(layout) == before,
    "undo": undo_action.enabled, "redo": redo_action.enabled, "undo_title": undo_action.title,
})
# Undo now takes back the first result (not an empty step) and redo re-applies it.
mw.cm_undo()
process_events(0.2)
after_undo = pc.layer_index(layout, 100, 0)
after_undo_shapes = 0 if after_undo is None else pc.flat_region(top, after_undo).count()
mw.cm_redo()
process_events(0.2)
emit("history", {"undo_removes_first": after_undo_shapes == 0,
                 "redo_restores": pc.flat_region(top, pc.layer_index(layout, 100, 0)).count() > 0})

# --- Bug 6: '&' in the undo title and the Recall menu --------------------------------------------------
dock.findChild("expression").setPlainText("68/20 & 69/20")
dock.save_register(0)
recall = dock.findChild("recall_register_0")
emit("menus", {"recall_text": recall.text, "undo_title": undo_action.title})

# --- Bug 2: result colours stay visible on the background ----------------------------------------------
colours = []
for n in range(6):
    set_run(f"{110 + n}/0", "68/20 & 69/20")
    dock.findChild("evaluate").click()
    colours.extend(colour for _visible, colour in
                   pc.layer_panel_entries(view, cv.index(), pc.layer_index(layout, 110 + n, 0)))
emit("colours", {"colours": colours, "background_config": view.get_config("background-color")})

# --- Bug 5: the mouse wheel over Strategy scrolls the panel, it does not change the setting -----------
strategy = dock.findChild("strategy")
strategy.setCurrentIndex(strategy.findText("auto"))
dock.setFloating(True)   # on screen whatever the dock area holds
dock.setGeometry(200, 60, 420, 900)
dock.qt_raise()
process_events(0.5)
dock.findChild("expression").setFocus()
process_events(0.3)
x, y = centre(strategy)
under = pya.QApplication.widgetAt(x, y)
xdotool("mousemove", x, y, "sleep", 0.3, "click", 5, "sleep", 0.2, "click", 5).wait()
process_events(0.8)
unfocused = strategy.currentText
# The user clicks the combo box (its list opens), closes the list with Esc: now it has the focus.
xdotool("mousemove", x, y, "click", 1, "sleep", 0.5, "key", "Escape").wait()
process_events(0.5)
focused_before = strategy.hasFocus()
xdotool("mousemove", x, y, "sleep", 0.3, "click", 5).wait()
process_events(0.8)
emit("wheel", {"unfocused": unfocused, "focused": strategy.currentText, "has_focus": focused_before,
               "under_pointer": type(under).__name__ if under is not None else None})
strategy.setCurrentIndex(strategy.findText("auto"))

# --- Item 9: auto overriding Threads = 0 is said in the status.  A new layout with a 150 x 150 array
# of one cell: strong reuse, so auto goes deep on all cores. -----------------------------------------------
had_status = dock.status_text()
mw.create_layout(1)
process_events(0.3)
status_on_new_view = dock.status_text()
array_layout = mw.current_view().active_cellview().layout()
unit = array_layout.create_cell("UNIT")
unit.shapes(array_layout.layer(1, 0)).insert(pya.Box(0, 0, 500, 500))
array_top = array_layout.create_cell("TOP")
array_top.insert(pya.CellInstArray(unit.cell_index(), pya.Trans(), pya.Vector(1000, 0), pya.Vector(0, 1000), 150, 150))
mw.current_view().active_cellview().cell = array_top
set_run("2/0", "bloat(0.01, 1/0, 0)", strategy="auto", threads=0)
dock.findChild("evaluate").click()
emit("threads", {"status": dock.status_text(), "used": dock.last_result.threads if dock.last_result else None,
                 "strategy": dock.last_result.strategy if dock.last_result else None})

# --- Item 8: the status line is cleared when the current view changes ----------------------------------
status_before_close = dock.status_text()
mw.close_current_view()
process_events(0.3)
emit("status_after_view_change", {"before": had_status, "on_new_view": status_on_new_view,
                                  "before_close": status_before_close, "after": dock.status_text()})
view = mw.current_view()

set_run("120/0", "bloat(0.3, 68/20, 0) & 69/20")
dock.findChild("evaluate").click()
process_events(0.3)

# --- Item 10: the new result layer is the current entry of the Layers list (scrolled into view) --------
emit("current_layer", {"current": view.current_layer.current().source, "last": list(pc.layer_nodes(view))[-1].source,
                       "null": view.current_layer.is_null(),
                       "is_result": view.current_layer.current().layer_index() == pc.layer_index(layout, 120, 0),
                       "bottom": view.current_layer.current().id() == list(pc.layer_nodes(view))[-1].id()})

# --- Item 12: an unknown layer names the closest few, not 40 ---------------------------------------------
set_run("122/0", "68/21 & 69/20")
dock.findChild("evaluate").click()
emit("unknown_layer", dock.status_text())

# --- the panel passes join_max_poly_verts (set by a macro or recipe) to the engine ---------------------
options = dock.options()
dock.set_options(dataclasses.replace(options, to="121/0", join_max_poly_verts=8, strategy="flat",
                                     format="joined"))
dock.findChild("expression").setPlainText("68/20")
dock.findChild("evaluate").click()
index = pc.layer_index(layout, 121, 0)
vertices = [s.polygon.num_points_hull() for s in top.shapes(index).each() if s.polygon] if index is not None else []
emit("join", {"option": dock.options().join_max_poly_verts, "max_vertices": max(vertices or [0]),
              "shapes": len(vertices)})
save_screenshot("users_session")

# --- Item 12: Ctrl+Shift+E (a real key press) shows the hidden panel --------------------------------------
dock.hide()
mw.activateWindow()
process_events(0.3)
xdotool("key", "ctrl+shift+e").wait()
process_events(0.8)
emit("shortcut_shows", dock.isVisible())
