# Run inside KLayout by tests/gui/test_memory_panel.py through harness.run_klayout (which provides
# pya, emit, save_screenshot, wait_until, process_events, main_window, ARTIFACTS, LAYOUT, PARAMS).
import os

import layertools.gui
from layertools.gui.memory_panel import MemoryDock
from layertools.memstat import mem_statistics

mw = main_window()
emit("at_script_start", mem_statistics(mw.current_view().active_cellview().layout()).master_dict())
dock = mw.findChild("layertools_memory_dock")
emit("installed_by_autorun", dock is not None)
if dock is None:  # the package's install() did not run: build the dock ourselves
    dock = MemoryDock(mw)
    mw.addDockWidget(pya.Qt.RightDockWidgetArea, dock)
emit("is_memory_dock", isinstance(dock, MemoryDock))
emit("hidden_before_show", not dock.isVisible())
emit("report_before_show", dock.report is not None)  # nothing is computed while the dock is hidden

# Show it the way the menu does; the visibility change schedules the first report.
layertools.gui.show_panel("memory")
mw.resize(1500, 950)
emit("refreshed_on_show", bool(wait_until(lambda: dock.report is not None, timeout=20)))
report = dock.report
layout = mw.current_view().active_cellview().layout()
emit("panel_categories", report.statistics.master_dict())
emit("same_process_categories", mem_statistics(layout).master_dict())
emit("panel_mode_editable", report.editable)
emit("flat_shapes", report.hierarchy.shapes_flat.total)
emit("stored_shapes", report.hierarchy.shapes_stored.total)
emit("refresh_seconds", dock.last_refresh_s)
emit("summary_text", dock.summary.text)
emit("chart_pixmap_width", dock.chart.pixmap.width() if dock.chart.pixmap is not None else 0)
emit("hierarchy_rows", [dock.hierarchy.topLevelItem(i).text(0) for i in range(dock.hierarchy.topLevelItemCount)])
emit("hierarchy_shapes_row", [dock.hierarchy.topLevelItem(i).text(c) for i in range(dock.hierarchy.topLevelItemCount)
                              for c in range(3) if dock.hierarchy.topLevelItem(i).text(0) == "shapes"])
emit("category_rows", [[dock.categories.topLevelItem(i).text(c) for c in range(3)]
                       for i in range(dock.categories.topLevelItemCount)])
emit("advice_text", dock.advice.toPlainText())
mw.current_view().zoom_fit()
save_screenshot("memory_panel_main")
# Floating and larger for the close-ups (docked, it shares the column with the layer list).
dock.setFloating(True)
dock.resize(640, 900)
process_events(0.3)
save_screenshot("memory_panel_dock", dock)

# Detailed: per-layer memory and KLayout's per-type table.
dock.detailed.checked = True   # toggling re-runs the report in detailed mode
process_events(0.3)
emit("detailed_layers", [[dock.layers.topLevelItem(i).text(c) for c in range(5)]
                         for i in range(min(3, dock.layers.topLevelItemCount))])
emit("detailed_type_rows", dock.categories.topLevelItemCount)
dock.tabs.currentIndex = 3
save_screenshot("memory_panel_layers", dock)
dock.tabs.currentIndex = 1
process_events(0.2)
save_screenshot("memory_panel_advice", dock)
dock.tabs.currentIndex = 0
dock.detailed.checked = False
dock.setFloating(False)

# Select a layer in the layer list: the advice adds estimates for just that (what an expression reads).
view = mw.current_view()
iterator = view.begin_layers()
while not iterator.at_end() and iterator.current().source.split("@")[0].strip() != "8/0":
    iterator.next()
view.current_layer = iterator
process_events(0.2)
emit("selected_in_view", sorted(n.current().source.split("@")[0].strip() for n in view.selected_layers()))
dock.refresh()
selection = dock.selection_suggestion
emit("selection_labels", selection[0] if selection else None)
emit("selection_strategy", selection[1].strategy if selection else None)
emit("selection_flat_low_bytes", selection[1].estimates["flat"].low_bytes if selection else None)
dock.tabs.currentIndex = 1
dock.setFloating(True)
dock.resize(640, 900)
process_events(0.3)
save_screenshot("memory_panel_selection", dock)
dock.setFloating(False)
dock.tabs.currentIndex = 0

# Export without the (modal) file dialog.
json_path = dock.export_report(os.path.join(ARTIFACTS, "memory_report.json"))
yaml_path = dock.export_report(os.path.join(ARTIFACTS, "memory_report.yaml"))
emit("exports", [json_path, yaml_path])

# A second layout in a new view: the panel follows the current view by itself.
second = PARAMS["second"]
mw.load_layout(second, 1)
emit("followed_new_view", bool(wait_until(lambda: dock.report is not None and dock.report.source == second,
                                          timeout=20)))
emit("second_categories", dock.report.statistics.master_dict())
emit("second_same_process", mem_statistics(mw.current_view().active_cellview().layout()).master_dict())
emit("second_flat_shapes", dock.report.hierarchy.shapes_flat.total)
mw.select_view(0)
emit("followed_back", bool(wait_until(lambda: dock.report.source == LAYOUT, timeout=20)))

# Repeated refreshes give the same numbers (looking must not change what is looked at).
again = [dock.refresh().statistics.master_dict() for _ in range(3)]
emit("repeat_stable", all(a == again[0] for a in again) and again[0] == report.statistics.master_dict())

# No layout open.
mw.close_all()
emit("no_layout_report_none", bool(wait_until(lambda: dock.report is None, timeout=20)))
emit("no_layout_summary", dock.summary.text)
emit("no_layout_export_enabled", dock.export_button.enabled)
dock.refresh()  # by hand too: no exception
try:
    dock.export_report(os.path.join(ARTIFACTS, "nothing.json"))
    emit("no_layout_export_error", None)
except RuntimeError as exc:
    emit("no_layout_export_error", str(exc))
save_screenshot("memory_panel_empty", dock)

# After uninstall (the dock is deleted), views keep changing: the handlers unhook themselves, and no
# error dialog appears (the harness's watchdog would end the run with rc 70).
layertools.gui.uninstall()
process_events(0.3)
mw.load_layout(LAYOUT, 1)
mw.load_layout(PARAMS["second"], 1)
process_events(0.5)
mw.select_view(0)
process_events(0.5)
emit("views_after_uninstall", mw.views())
