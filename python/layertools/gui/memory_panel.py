"""The Memory dock (``layertools_memory_dock``): where the current layout's memory goes.

A thin view over :mod:`layertools.memstat`: KLayout's own master categories as a bar chart and a
table, the hierarchy statistics, per-layer figures, the advice, and export to YAML/JSON.  It
follows the current view; work happens only while the dock is visible, and in stages (KLayout's
numbers first, then the hierarchy counts), so the window repaints in between.

Every Qt callback here catches its exceptions: an exception escaping a slot opens a modal error
dialog in KLayout and blocks the application (klayout-platform.md §0).
"""

from __future__ import annotations

import os
import time
import traceback

import pya

from ..hierarchy_stats import layout_statistics
from ..memstat import MemoryReport, human_bytes, mem_statistics, memory_report, suggest_strategy
from ..memstat.advice import Advice

OBJECT_NAME = "layertools_memory_dock"
TITLE = "Memory Report"

#: Bar colours per master category (used = solid, allocated but unused = the light extension).
CATEGORY_COLOURS = {
    "Layout info": (120, 120, 160),
    "Cell info": (60, 160, 150),
    "Instances": (230, 140, 40),
    "Shapes info": (45, 110, 200),
}
OTHER_COLOUR = (150, 150, 150)
CHART_ROW = 24


def _colour(rgb, lighter: bool = False) -> "pya.QColor":
    if lighter:
        return pya.QColor(*(int(c + (255 - c) * 0.65) for c in rgb))
    return pya.QColor(*rgb)


def _align(*flags) -> int:
    """Qt alignment flags as the int QPainter.drawText(QRect, int, str) takes in pya."""
    value = 0
    for flag in flags:
        value |= flag.to_i() if hasattr(flag, "to_i") else int(flag)
    return value


def _log_failure(where: str) -> str:
    text = traceback.format_exc()
    try:
        pya.Logger.error(f"layertools memory panel: {where} failed:\n{text}")
    except Exception:
        pass
    return text


class CategoryChart(pya.QLabel):
    """Horizontal bars of the master categories, drawn into a pixmap (pya's QPainter cannot paint on
    a QWidget directly, only on a QImage)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.objectName = "chart"
        self._rows: list[tuple[str, int, int]] = []
        self._total: tuple[int, int] = (0, 0)
        self._message = "No layout open"
        self.setFixedHeight(CHART_ROW * 5 + 16)
        self.setMinimumWidth(260)
        self.setSizePolicy(pya.QSizePolicy.Expanding, pya.QSizePolicy.Fixed)
        self.toolTip = "KLayout's master categories: solid = bytes in use, light = allocated but unused"

    def set_rows(self, rows: list[tuple[str, int, int]], total: tuple[int, int]) -> None:
        self._rows, self._total, self._message = rows, total, ""
        self.render()

    def set_message(self, message: str) -> None:
        self._rows, self._message = [], message
        self.render()

    def resizeEvent(self, event):  # noqa: N802 (Qt name)
        try:
            self.render()
        except Exception:
            _log_failure("drawing the chart")

    def render(self) -> None:
        width = max(self.width, 320)
        rows = len(self._rows) + (1 if self._rows else 0)
        height = CHART_ROW * max(rows, 5) + 16
        image = pya.QImage(width, height, pya.QImage.Format_ARGB32)
        image.fill(pya.QColor(255, 255, 255))
        painter = pya.QPainter(image)
        try:
            painter.setRenderHint(pya.QPainter.Antialiasing, True)
            if not self._rows:
                painter.setPen(pya.QColor(110, 110, 110))
                painter.drawText(pya.QRect(0, 0, width, height), _align(pya.Qt.AlignCenter), self._message)
            else:
                self._draw_bars(painter, width)
        finally:
            painter.end()
        self.setPixmap(pya.QPixmap.fromImage(image))
        if self.height != height:
            self.setFixedHeight(height)

    def _draw_bars(self, painter, width: int) -> None:
        label_w, value_w, pad = 92, 150, 8
        bar_x = label_w + pad
        bar_w = max(40, width - bar_x - value_w - pad)
        used_total = self._total[0] or 1
        scale = max((reqd for _, _, reqd in self._rows), default=1) or 1
        y = 8
        for name, used, reqd in self._rows:
            rgb = CATEGORY_COLOURS.get(name, OTHER_COLOUR)
            painter.setPen(pya.QColor(40, 40, 40))
            painter.drawText(pya.QRect(0, y, label_w, CHART_ROW - 6),
                             _align(pya.Qt.AlignRight, pya.Qt.AlignVCenter), name)
            reqd_w = int(bar_w * reqd / scale)
            used_w = int(bar_w * used / scale)
            painter.fillRect(pya.QRect(bar_x, y + 2, max(reqd_w, 1), CHART_ROW - 10), _colour(rgb, lighter=True))
            painter.fillRect(pya.QRect(bar_x, y + 2, max(used_w, 1), CHART_ROW - 10), _colour(rgb))
            share = used / used_total
            painter.setPen(pya.QColor(40, 40, 40))
            painter.drawText(pya.QRect(bar_x + bar_w + pad, y, value_w, CHART_ROW - 6),
                             _align(pya.Qt.AlignLeft, pya.Qt.AlignVCenter), f"{human_bytes(used)}  ({share:.0%})")
            y += CHART_ROW
        painter.setPen(pya.QColor(0, 0, 0))
        font = painter.font
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(pya.QRect(0, y, label_w, CHART_ROW - 6),
                         _align(pya.Qt.AlignRight, pya.Qt.AlignVCenter), "Total")
        painter.drawText(pya.QRect(bar_x, y, bar_w + value_w, CHART_ROW - 6),
                         _align(pya.Qt.AlignLeft, pya.Qt.AlignVCenter),
                         f"{human_bytes(self._total[0])} used, {human_bytes(self._total[1])} allocated")


class MemoryDock(pya.QDockWidget):
    """The Memory Report dock.  ``refresh()``, ``export_report(path)`` and ``report`` are public
    (for users' macros and tests: the export button's file dialog is modal)."""

    def __init__(self, main_window=None):
        super().__init__(TITLE, main_window)
        self.objectName = OBJECT_NAME
        self.report: MemoryReport | None = None
        #: (layer labels, StrategySuggestion) for the layers selected in the layer list, or None
        self.selection_suggestion = None
        self.last_error: str | None = None
        self.last_refresh_s: float = 0.0
        self._main_window = main_window
        self._view = None
        self._watched: list = []
        self._dirty = True
        self._busy = False
        self._build()
        self._timer = pya.QTimer(self)
        self._timer.singleShot = True
        self._timer.interval = 150  # coalesce bursts (view switch + cellview change + file load)
        self._timer.timeout(self._timer_fired)
        self.visibilityChanged(self._visibility_changed)
        self._connect_main_window()

    # --- construction ---------------------------------------------------------------------------
    def _build(self) -> None:
        body = pya.QWidget(self)
        box = pya.QVBoxLayout(body)
        box.setContentsMargins(6, 6, 6, 6)

        header = pya.QHBoxLayout()
        self.summary = pya.QLabel("No layout open", body)
        self.summary.objectName = "summary"
        self.summary.wordWrap = True
        self.summary.setSizePolicy(pya.QSizePolicy.Expanding, pya.QSizePolicy.Preferred)
        header.addWidget(self.summary, 1)
        self.detailed = pya.QCheckBox("Detailed", body)
        self.detailed.objectName = "detailed"
        self.detailed.toolTip = "Also KLayout's per-type table and the memory of every layer (slower)"
        self.detailed.toggled(self._detailed_toggled)
        header.addWidget(self.detailed)
        self.refresh_button = pya.QPushButton("Refresh", body)
        self.refresh_button.objectName = "refresh"
        self.refresh_button.toolTip = "Recompute the report for the current layout"
        self.refresh_button.clicked(self._refresh_clicked)
        header.addWidget(self.refresh_button)
        self.export_button = pya.QPushButton("Export...", body)
        self.export_button.objectName = "export"
        self.export_button.toolTip = "Save the report as YAML or JSON"
        self.export_button.enabled = False
        self.export_button.clicked(self._export_clicked)
        header.addWidget(self.export_button)
        box.addLayout(header)

        self.chart = CategoryChart(body)
        box.addWidget(self.chart)

        self.tabs = pya.QTabWidget(body)
        self.tabs.objectName = "tabs"
        self.hierarchy = self._tree(["", "stored", "flat", "flat/stored"], "hierarchy")
        self.tabs.addTab(self.hierarchy, "Hierarchy")
        self.advice = pya.QTextBrowser(body)
        self.advice.objectName = "advice"
        self.tabs.addTab(self.advice, "Advice")
        self.categories = self._tree(["category", "used", "allocated"], "categories")
        self.tabs.addTab(self.categories, "Categories")
        self.layers = self._tree(["layer", "stored", "flat", "used", "allocated"], "layers")
        self.tabs.addTab(self.layers, "Layers")
        self.process = self._tree(["", "value"], "process")
        self.tabs.addTab(self.process, "Process")
        box.addWidget(self.tabs, 1)

        self.status = pya.QLabel("", body)
        self.status.objectName = "status"
        self.status.wordWrap = True
        box.addWidget(self.status)
        self.setWidget(body)

    def _tree(self, headers: list[str], name: str):
        tree = pya.QTreeWidget(self)
        tree.objectName = name
        tree.setColumnCount(len(headers))
        tree.setHeaderLabels(headers)
        tree.rootIsDecorated = False
        tree.alternatingRowColors = True
        tree.uniformRowHeights = True
        return tree

    def _connect_main_window(self) -> None:
        mw = self._main_window
        if mw is None:
            return
        try:
            mw.on_current_view_changed += self._view_changed
        except Exception:
            _log_failure("connecting to the main window")
        self._watch_view(self._current_view())

    def _watch_view(self, view) -> None:
        # Each view is hooked once (switching back and forth would otherwise stack handlers).
        self._watched = [seen for seen in self._watched if not _is_destroyed(seen)]
        if view is None or any(view is seen for seen in self._watched):
            return
        self._view = view
        self._watched.append(view)
        for name in ("on_active_cellview_changed", "on_cellview_changed", "on_file_open"):
            if not hasattr(view, name):
                continue
            try:
                event = getattr(view, name)
                event += self._cellview_changed
                setattr(view, name, event)
            except Exception:
                _log_failure(f"connecting to {name}")

    # --- what is current -------------------------------------------------------------------------
    def _current_view(self):
        try:
            if self._main_window is not None:
                return self._main_window.current_view()
            return pya.LayoutView.current()
        except Exception:
            return None

    def current_cellview(self):
        """The active cellview of the current view, or None when no layout is open."""
        view = self._current_view()
        if view is None:
            return None
        cellview = view.active_cellview()
        if cellview is None or not cellview.is_valid():
            return None
        return cellview

    def detach(self) -> None:
        """Stop following the main window and views (call before deleting the dock)."""
        try:
            if self._main_window is not None:
                self._main_window.on_current_view_changed -= self._view_changed
        except Exception:
            pass
        watched, self._watched, self._view = self._watched, [], None
        for view in watched:
            for name in ("on_active_cellview_changed", "on_cellview_changed", "on_file_open"):
                try:
                    if hasattr(view, name):
                        event = getattr(view, name)
                        event -= self._cellview_changed
                        setattr(view, name, event)
                except Exception:
                    pass  # the view may be gone already

    def _gone(self) -> bool:
        """True once Qt deleted the dock (e.g. after uninstall); the handlers then unhook themselves."""
        try:
            if self._destroyed():
                self.detach()
                return True
        except Exception:
            return True
        return False

    # --- slots (each guarded) ---------------------------------------------------------------------
    def _view_changed(self, *args) -> None:
        try:
            if self._gone():
                return
            self._watch_view(self._current_view())
            self._schedule()
        except Exception:
            _log_failure("following the current view")

    def _cellview_changed(self, *args) -> None:
        try:
            if self._gone():
                return
            self._schedule()
        except Exception:
            _log_failure("following the current layout")

    def _visibility_changed(self, visible) -> None:
        try:
            if visible and self._dirty:
                self._schedule()
        except Exception:
            _log_failure("showing the panel")

    def _timer_fired(self) -> None:
        try:
            if self.isVisible():
                self.refresh()
        except Exception:
            _log_failure("refreshing")

    def _refresh_clicked(self, *args) -> None:
        try:
            self.refresh()
        except Exception:
            _log_failure("refreshing")

    def _detailed_toggled(self, checked) -> None:
        try:
            if self.report is not None and checked and not self.report.detailed:
                self.refresh()
        except Exception:
            _log_failure("switching to the detailed report")

    def _export_clicked(self, *args) -> None:
        try:
            if self.report is None:
                return
            base = os.path.splitext(os.path.basename(self.report.source or "layout"))[0]
            if base.endswith(".gds") or base.endswith(".oas"):
                base = os.path.splitext(base)[0]
            path = pya.QFileDialog.getSaveFileName(self, "Export the memory report", f"{base}_memory.yaml",
                                                   "YAML (*.yaml *.yml);;JSON (*.json)")
            if path:
                self.export_report(path)
        except Exception as exc:
            _log_failure("exporting")
            self._set_status(f"Export failed: {exc}", error=True)

    def _schedule(self) -> None:
        self._dirty = True
        self._timer.start()

    # --- the work ---------------------------------------------------------------------------------
    def refresh(self) -> MemoryReport | None:
        """Recompute the report for the current layout and show it.  Returns it (None: no layout).

        Two stages: KLayout's own figures (milliseconds) are drawn first, then the hierarchy
        counts, per-layer figures and advice, with a repaint in between.
        """
        if self._busy:  # processEvents below may deliver another request: it is served by this run
            self._dirty = True
            return self.report
        self._busy = True
        try:
            return self._refresh()
        finally:
            self._busy = False

    def _refresh(self) -> MemoryReport | None:
        self._dirty = False
        cellview = self.current_cellview()
        if cellview is None:
            self.report = None
            self._show_nothing()
            return None
        layout = cellview.layout()
        source = cellview.filename() or None
        detailed = bool(self.detailed.checked)
        started = time.perf_counter()
        pya.QApplication.setOverrideCursor(pya.QCursor(pya.Qt.WaitCursor))
        try:
            statistics = mem_statistics(layout, detailed)
            total = statistics.total
            self.chart.set_rows([(line.name, line.used, line.reqd) for line in statistics.master
                                 if line.name != "Total"], (total.used, total.reqd))
            self._set_status("Counting the hierarchy ...")
            pya.QCoreApplication.processEvents(pya.QEventLoop.ExcludeUserInputEvents)
            report = memory_report(layout, cell=None, detailed=detailed, source=source, statistics=statistics,
                                   progress=self._counting)
            self.report = report
            self.last_error = None
            self._show(report, cellview)
        except Exception as exc:
            self.last_error = _log_failure("computing the report")
            self._set_status(f"The report failed: {exc}", error=True)
            return None
        finally:
            pya.QApplication.restoreOverrideCursor()
        self.last_refresh_s = time.perf_counter() - started
        self._set_status(f"Updated {time.strftime('%H:%M:%S')} in {self.last_refresh_s:.2f} s"
                         f"{' (detailed)' if report.detailed else ''}")
        if self._dirty:  # the view changed while we were counting
            self._timer.start()
        return report

    def _counting(self, fraction: float) -> None:
        # Keep the window painting during a long count (user input waits: no re-entry).
        self._set_status(f"Counting the hierarchy ... {fraction:.0%}")
        pya.QCoreApplication.processEvents(pya.QEventLoop.ExcludeUserInputEvents)

    def export_report(self, path: str) -> str:
        """Write the current report to ``path`` (.yaml/.yml: YAML, otherwise JSON); returns the path."""
        if self.report is None:
            self.refresh()
        if self.report is None:
            raise RuntimeError("no layout is open: there is no memory report to export")
        self.report.export(path)
        self._set_status(f"Exported to {path}")
        return path

    # --- showing ----------------------------------------------------------------------------------
    def _show_nothing(self) -> None:
        self.summary.text = "No layout open"
        self.chart.set_message("No layout open: load a layout to see where its memory goes")
        for tree in (self.hierarchy, self.categories, self.layers, self.process):
            tree.clear()
        self.advice.setHtml("<p>Open a layout to see advice.</p>")
        self.export_button.enabled = False
        self._set_status("No layout open")

    def _show(self, report: MemoryReport, cellview) -> None:
        stats = report.statistics
        total = stats.total
        mode = "editor" if report.editable else "viewer"
        name = os.path.basename(report.source) if report.source else "(unsaved layout)"
        self.summary.text = (f"<b>{_html(name)}</b><br/>{mode} mode &middot; {human_bytes(total.used)} used, "
                             f"{human_bytes(total.reqd)} allocated &middot; process "
                             f"{human_bytes(report.process.rss_bytes)}")
        rows = [(line.name, line.used, line.reqd) for line in stats.master if line.name != "Total"]
        self.chart.set_rows(rows, (total.used, total.reqd))

        self.categories.clear()
        for line in stats.master:
            self._add_row(self.categories, [line.name, f"{line.used:,}", f"{line.reqd:,}"], bold=line.name == "Total")
        if report.detailed:
            for line in stats.types:
                self._add_row(self.categories, [f"  {line.name}", f"{line.used:,}", f"{line.reqd:,}"])
        self._fit(self.categories)

        self.hierarchy.clear()
        hierarchy = report.hierarchy
        if hierarchy is not None:
            left, bottom, right, top = hierarchy.bbox or (0, 0, 0, 0)
            self._add_row(self.hierarchy, ["cells", f"{hierarchy.cells:,}", "", ""])
            self._add_row(self.hierarchy, ["top cells", f"{hierarchy.top_cells:,}", "", ""])
            self._add_row(self.hierarchy, ["depth", f"{hierarchy.depth}", "", ""])
            for label, stored, flat in (
                    ("single instances", hierarchy.single_instances, hierarchy.single_instances_flat),
                    ("array instances", hierarchy.array_instances, hierarchy.array_instances_flat),
                    ("array members", hierarchy.array_members, hierarchy.array_members_flat),
                    ("boxes", hierarchy.shapes_stored.box, hierarchy.shapes_flat.box),
                    ("polygons", hierarchy.shapes_stored.polygon, hierarchy.shapes_flat.polygon),
                    ("paths", hierarchy.shapes_stored.path, hierarchy.shapes_flat.path),
                    ("texts", hierarchy.shapes_stored.text, hierarchy.shapes_flat.text),
                    ("other shapes", hierarchy.shapes_stored.other, hierarchy.shapes_flat.other),
                    ("shapes", hierarchy.shapes_stored.total, hierarchy.shapes_flat.total),
                    ("outline points", hierarchy.points_stored, hierarchy.points_flat)):
                ratio = f"{flat / stored:,.1f}" if stored else "-"
                self._add_row(self.hierarchy, [label, f"{stored:,}", f"{flat:,}", ratio], bold=label == "shapes")
            self._add_row(self.hierarchy, ["size (µm)", f"{right - left:,.1f} x {top - bottom:,.1f}", "", ""])
            self._add_row(self.hierarchy, ["dbu (µm)", f"{hierarchy.dbu:g}", "", ""])
        self._fit(self.hierarchy)

        self.layers.clear()
        for entry in report.layers:
            self._add_row(self.layers, [entry.label, f"{entry.stored:,}", f"{entry.flat:,}",
                                        human_bytes(entry.used_bytes) if entry.used_bytes is not None else "-",
                                        human_bytes(entry.reqd_bytes) if entry.reqd_bytes is not None else "-"])
        self._fit(self.layers)

        self.process.clear()
        process = report.process
        for label, value in (("resident (RSS)", process.rss_bytes), ("peak resident", process.peak_rss_bytes),
                             ("virtual size", process.vsize_bytes), ("heap in use", process.heap_in_use_bytes),
                             ("heap free (fragmentation)", process.heap_free_bytes),
                             ("this layout (allocated)", total.reqd)):
            self._add_row(self.process, [label, human_bytes(value)])
        self._fit(self.process)

        self.selection_suggestion = self._selected_layers_suggestion(report, cellview)
        self.advice.setHtml(_advice_html(report.advice, report, self.selection_suggestion))
        self.export_button.enabled = True

    def _selected_layers_suggestion(self, report: MemoryReport, cellview):
        """Estimates for the layers selected in the layer list (what an expression would read)."""
        view = self._current_view()
        if view is None or report.hierarchy is None:
            return None
        indexes = []
        try:
            for node in view.selected_layers():
                current = node.current()
                if current.cellview() == cellview.index() and current.layer_index() >= 0:
                    indexes.append(current.layer_index())
        except Exception:
            _log_failure("reading the selected layers")
            return None
        indexes = sorted(set(indexes))
        if not indexes:
            return None
        layout = cellview.layout()
        stats = layout_statistics(layout, None, layers=indexes)
        labels = [entry.label for entry in stats.layers] or [str(layout.get_info(i)) for i in indexes]
        return labels, suggest_strategy(stats)

    def _add_row(self, tree, values: list[str], bold: bool = False):
        item = pya.QTreeWidgetItem(tree)
        for column, value in enumerate(values):
            item.setText(column, value)
            if column > 0:
                item.setTextAlignment(column, _align(pya.Qt.AlignRight, pya.Qt.AlignVCenter))
            if bold:
                font = item.font(column)
                font.setBold(True)
                item.setFont(column, font)
        return item

    def _fit(self, tree) -> None:
        for column in range(tree.columnCount):
            tree.resizeColumnToContents(column)

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.text = text
        self.status.styleSheet = "color: #b00020;" if error else "color: #555555;"


def _is_destroyed(obj) -> bool:
    try:
        return bool(obj._destroyed())
    except Exception:
        return True


def _html(text: str) -> str:
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _advice_html(items: list[Advice], report: MemoryReport, selection=None) -> str:
    parts = []
    if selection is not None:
        labels, chosen = selection
        shown = ", ".join(labels[:6]) + (f" and {len(labels) - 6} more" if len(labels) > 6 else "")
        partition = f", partition {chosen.partition_um:g} µm" if chosen.partition_um else ""
        estimates = " &middot; ".join(f"{name} ~{human_bytes(est.typical_bytes)}"
                                      for name, est in chosen.estimates.items())
        parts.append(f"<p><b>Selected layers ({_html(shown)}): {chosen.strategy}{partition}</b><br/>"
                     f"<span style='color:#2d6ec8'>{estimates}</span><br/>"
                     f"<span style='color:#555'>{_html(chosen.reason)}</span></p>")
    suggestion = report.suggestion
    if suggestion is not None:
        partition = f", partition {suggestion.partition_um:g} µm" if suggestion.partition_um else ""
        parts.append(f"<p><b>Suggested strategy (all layers): {suggestion.strategy}{partition}</b><br/>"
                     f"<span style='color:#555'>{_html(suggestion.reason)}</span></p>")
    parts.append("<ul>")
    for item in items:
        if item.topic == "strategy":
            continue
        parts.append(f"<li>{_html(item.message)}<br/><span style='color:#2d6ec8'>{_html(item.figure)}</span></li>")
    parts.append("</ul>")
    return "".join(parts)


__all__ = ["MemoryDock", "CategoryChart", "OBJECT_NAME"]
