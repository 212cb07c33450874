"""The Layer Expression dock: Xic's "Evaluate Layer Expression" panel inside KLayout.

The dock only gathers options, calls :func:`layertools.evaluate` (or the recipe replay) and shows
what happened; every piece of evaluation logic is in the core.  Every control has the object
name of doc/decisions.md I5, and every action is also a plain method (``evaluate()``,
``save_register(n)``, ``save_recording(path)``, ``replay_file(path)``, ...) so tests and users'
macros can drive the panel without clicking or answering file dialogs.

Qt slots never let an exception escape: in KLayout that opens a modal dialog and blocks the
application (klayout-platform.md §0), so ``_guarded`` turns anything unexpected into a status
message and a traceback on stderr.
"""

from __future__ import annotations

import dataclasses
import html
import os
import sys
import time
import traceback
from typing import Any

import pya

from .. import engine
from ..errors import Cancelled, ExpressionError, LayertoolsError, NoLayoutError
from ..klayout_fixes import repair_free_layer_slots
from ..language import calls
from ..options import DEFAULT_PARTITION, FORMATS, MAX_DEPTH, STRATEGIES, EvalOptions, EvalResult, option_specs
from . import view_bridge
from .registers import REGISTER_COUNT, RegisterStore, load_panel_state, save_panel_state
from .view_bridge import KLayoutProgress, ViewCell

DOCK_NAME = "layertools_expression_dock"
FORMAT_LABELS = {"default": "Default", "joined": "Joined", "hsplit": "Horiz Split", "vsplit": "Vert Split"}
DEPTH_CHOICES = [str(d) for d in range(MAX_DEPTH + 1)] + ["all"]
STRATEGY_TIPS = {
    "auto": ("auto: the strategy (and for tiled, the tile size) the cost model predicts fastest within the\n"
             "  memory budget, as the Memory panel suggests. The status line says which it chose and why."),
    "flat": "flat: the whole cell at once as flat regions. Fastest for small cells; memory grows with the layout.",
    "tiled": ("tiled: tile by tile (Partition size) with Threads workers. Bounded memory on big flat layouts;\n"
              "  Threads is used exactly as set."),
    "deep": ("deep: hierarchical; results go into the cells where they belong. For strongly repeated\n"
             "  layouts (memories, standard-cell arrays); Partition size is not used."),
}
VIEWER_MODE_NOTE = ("viewer mode: not undoable, and KLayout will not ask to save the result at exit: "
                    "use File > Save As to keep it (or open the layout with klayout -e for undo)")
EXPRESSION_HELP = (
    "Xic layer expression, e.g.  68/20 & 69/20   or   M1 - bloat(0.5, M2, 0)\n"
    "Layers: L/D, a layer name, \"L,D\", 4/8-hex GDS names, layer.cell, $$ (instance boxes);\n"
    "        quote names that contain a dot: \"met1.drawing\"\n"
    "Operators, tightest first:  ! ~ not   then  ^ xor   then  *   then  + -   then  & and   then  | or\n"
    "Functions: bloat(d,g,m) edges(d,g,m) extent(g) box(l,b,r,t) zoid(...) geomOr/And/AndNot/Not/Xor/Cat\n"
    "           manhattanize(d,g,m) filt(g,l) sqz(g) (the selected shapes)\n"
    "Ctrl+Return evaluates.  Save/Recall keep 8 expressions across sessions."
)
OK_COLOUR, WARN_COLOUR, ERROR_COLOUR, BUSY_COLOUR = "#1a7f37", "#9a6700", "#cf222e", "#57606a"


class ExpressionDock(pya.QDockWidget):
    """The Layer Expression panel; ``ExpressionDock(main_window)``."""

    _expression: Any   # the editor, made in _build after the To layer's Return already refers to it

    def __init__(self, main_window, registers: RegisterStore | None = None):
        super().__init__("Layer Expression", main_window)
        self.objectName = DOCK_NAME
        self._main_window = main_window
        self._registers = registers or RegisterStore(main_window)
        self._progress: KLayoutProgress | None = None
        self._recording: list | None = None     # recipe Steps while recording, else None
        self._recorded: list = []               # the last recording, kept after Stop for saving
        self._saved = False                     # the current/last recording was saved somewhere
        self._busy = False
        self._register_actions: dict[str, list] = {}
        self.last_result: EvalResult | None = None
        self.last_error: Exception | None = None
        self._hidden_options = EvalOptions()  # options() starts from it: fields without a control
        self._build()
        # The main window outlives a dock removed by uninstall(): a deleted dock ignores the event.
        main_window.on_current_view_changed += (
            lambda: None if self._destroyed() else self._guarded(self._current_view_changed))
        self._restore_state()
        self._current_view_changed()
        self._update_enabled()
        self._update_registers()
        self._update_recording()

    # ----------------------------------------------------------------------------------------
    # construction

    def _build(self) -> None:
        body = pya.QWidget(self)
        body.objectName = "layertools_expression_body"
        outer = pya.QVBoxLayout(body)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.setSpacing(6)

        form = pya.QGridLayout()
        form.setHorizontalSpacing(6)
        form.setVerticalSpacing(4)
        outer.addLayout(form)
        row = 0

        self._to_layer = pya.QLineEdit(body)
        self._to_layer.objectName = "to_layer"
        self._to_layer.placeholderText = "e.g. 100/0 or RESULT 100/0"
        self._to_layer.toolTip = ("Layer that receives the result: L/D, a name, or 'NAME L/D'.\n"
                                  "A layer that does not exist is created.")
        self._completion = pya.QStringListModel(body)
        completer = pya.QCompleter(body)
        completer.setModel(self._completion)
        completer.caseSensitivity = pya.Qt.CaseInsensitive
        completer.filterMode = pya.Qt.MatchContains
        completer.maxVisibleItems = 16
        self._to_layer.setCompleter(completer)
        self._completer = completer
        self._to_layer.textEdited(lambda _text: self._guarded(self._refresh_completion))
        self._to_layer.returnPressed(lambda: self._guarded(self._expression.setFocus))
        pick = pya.QToolButton(body)
        pick.objectName = "to_layer_choose"
        pick.text = "\u25be"
        pick.toolTip = "Choose one of the layout's layers"
        pick.autoRaise = True
        pick.clicked(lambda: self._guarded(self._show_all_layers))
        form.addWidget(_label("To layer", body, self._to_layer), row, 0)
        to_row = pya.QHBoxLayout()
        to_row.setSpacing(0)
        to_row.addWidget(self._to_layer, 1)
        to_row.addWidget(pick)
        form.addLayout(to_row, row, 1, 1, 3)
        row += 1

        self._depth = _WheelSafeComboBox(body)
        self._depth.objectName = "depth"
        for text in DEPTH_CHOICES:
            self._depth.addItem(text)
        self._depth.setCurrentIndex(DEPTH_CHOICES.index("all"))  # D19: the top cell holds only instances
        self._depth.toolTip = ("Hierarchy depth from which geometry is read: 0 = only the current cell's\n"
                               "own shapes, all = the whole hierarchy (flattened into the current cell)")
        self._depth.currentIndexChanged(lambda _i: self._guarded(self._update_enabled))
        self._recursive = pya.QCheckBox("Recursively create in subcells", body)
        self._recursive.objectName = "recursive"
        self._recursive.toolTip = ("Evaluate separately in every cell down to Depth, each with its own shapes,\n"
                                   "writing into that cell (needs Depth > 0)")
        form.addWidget(_label("Depth", body, self._depth), row, 0)
        form.addWidget(self._depth, row, 1)
        form.addWidget(self._recursive, row, 2, 1, 2)
        row += 1

        self._partition = _WheelSafeDoubleSpinBox(body)
        self._partition.objectName = "partition"
        self._partition.decimals = 2
        self._partition.setRange(1.0, 10000.0)
        self._partition.value = DEFAULT_PARTITION
        self._partition.suffix = " \u00b5m"
        self._partition.toolTip = "Tile edge length for partitioned evaluation (Xic PartitionSize)"
        self._partition_none = pya.QCheckBox("None", body)
        self._partition_none.objectName = "partition_none"
        self._partition_none.toolTip = "No partitioning: evaluate the whole area at once"
        self._partition_none.toggled(lambda _on: self._guarded(self._update_enabled))
        form.addWidget(_label("Partition", body, self._partition), row, 0)
        form.addWidget(self._partition, row, 1)
        form.addWidget(self._partition_none, row, 2, 1, 2)
        row += 1

        self._threads = _WheelSafeSpinBox(body)
        self._threads.objectName = "threads"
        self._threads.setRange(0, 31)
        self._threads.toolTip = ("Helper threads (0 = single-threaded) for flat, tiled and deep; results never depend\n"
                                 "on it. auto may use every core for a tiled run: choose tiled to hold this number.")
        self._strategy = _WheelSafeComboBox(body)
        self._strategy.objectName = "strategy"
        for index, name in enumerate(STRATEGIES):
            self._strategy.addItem(name)
            self._strategy.setItemData(index, STRATEGY_TIPS[name], pya.Qt.ToolTipRole.to_i())
        self._strategy.toolTip = "Evaluation strategy:\n" + "\n".join(STRATEGY_TIPS[name] for name in STRATEGIES)
        self._strategy.currentIndexChanged(lambda _i: self._guarded(self._update_enabled))
        form.addWidget(_label("Threads", body, self._threads), row, 0)
        form.addWidget(self._threads, row, 1)
        form.addWidget(_label("Strategy", body, self._strategy), row, 2)
        form.addWidget(self._strategy, row, 3)
        row += 1
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)

        self._no_clear = pya.QCheckBox("Don't clear layer before evaluation", body)
        self._no_clear.objectName = "no_clear"
        self._no_clear.toolTip = "Add the result next to what is already on the To layer"
        outer.addWidget(self._no_clear)

        formats = pya.QGroupBox("New object format", body)
        formats.objectName = "format_group"
        grid = pya.QGridLayout(formats)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.setVerticalSpacing(2)
        self._format_buttons: dict[str, pya.QRadioButton] = {}
        self._format_group = pya.QButtonGroup(formats)
        tips = {"default": "A lone layer name copies objects unchanged; anything else as Joined",
                "joined": "Merged polygons (rectangles become boxes)",
                "hsplit": "Trapezoids in horizontal strips",
                "vsplit": "Trapezoids in vertical strips"}
        for index, name in enumerate(FORMATS):
            button = pya.QRadioButton(FORMAT_LABELS[name], formats)
            button.objectName = f"format_{name}"
            button.toolTip = tips[name]
            self._format_group.addButton(button, index)
            self._format_buttons[name] = button
            grid.addWidget(button, index // 2, index % 2)
        self._format_buttons["default"].checked = True
        outer.addWidget(formats)

        expr_head = pya.QHBoxLayout()
        expr_head.setSpacing(4)
        expr_label = pya.QLabel("Expression", body)
        expr_head.addWidget(expr_label, 1)
        self._save_register = self._register_button(body, "save_register", "Save",
                                                    "Save the expression in a register (kept across sessions)")
        self._recall_register = self._register_button(body, "recall_register", "Recall",
                                                      "Recall an expression from a register")
        expr_head.addWidget(self._save_register)
        expr_head.addWidget(self._recall_register)
        outer.addLayout(expr_head)

        self._expression: pya.QPlainTextEdit = pya.QPlainTextEdit(body)
        self._expression.objectName = "expression"
        self._expression.toolTip = EXPRESSION_HELP
        self._expression.tabChangesFocus = True
        self._expression.placeholderText = "e.g. 68/20 & 69/20"
        mono = pya.QFontDatabase.systemFont(pya.QFontDatabase.FixedFont)
        self._expression.font = mono
        metrics = pya.QFontMetrics(mono)
        self._expression.setFixedHeight(metrics.lineSpacing() * 4 + 12)
        expr_label.setBuddy(self._expression)
        outer.addWidget(self._expression)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = pya.QShortcut(pya.QKeySequence(keys), self._expression)
            shortcut.context = pya.Qt.WidgetShortcut
            shortcut.activated(lambda: self._guarded(self.evaluate))

        self._merge = pya.QCheckBox("Use object merging while processing", body)
        self._merge.objectName = "merge"
        self._merge.toolTip = "Merge new objects with touching or overlapping objects already on the To layer"
        outer.addWidget(self._merge)
        self._fast = pya.QCheckBox("Fast mode, NOT UNDOABLE", body)
        self._fast.objectName = "fast"
        self._fast.toolTip = "No undo step and no object merging; the undo history is cleared"
        self._fast.toggled(lambda _on: self._guarded(self._update_enabled))
        outer.addWidget(self._fast)

        self._evaluate = pya.QPushButton("Evaluate", body)
        self._evaluate.objectName = "evaluate"
        self._evaluate.toolTip = "Evaluate the expression on the current cell (Ctrl+Return)"
        self._evaluate.setDefault(True)
        self._evaluate.clicked(lambda: self._guarded(self.evaluate))
        outer.addWidget(self._evaluate)

        self._status = pya.QLabel("", body)
        self._status.objectName = "status"
        self._status.wordWrap = True
        self._status.textFormat = pya.Qt.RichText
        self._status.setTextInteractionFlags(pya.Qt.TextSelectableByMouse)
        self._status.setMinimumHeight(metrics.lineSpacing() * 2)
        self._status.setSizePolicy(pya.QSizePolicy.Preferred, pya.QSizePolicy.Minimum)
        outer.addWidget(self._status)

        outer.addWidget(self._build_recording(body))
        outer.addStretch(1)
        # In a scroll area the dock can be made short without squeezing the Layers panel to nothing
        # when both share the right-hand side; the controls scroll instead.
        scroll = _FittingScrollArea(self)
        scroll.objectName = "layertools_expression_scroll"
        scroll.widgetResizable = True
        scroll.frameShape = pya.QFrame.NoFrame
        scroll.horizontalScrollBarPolicy = pya.Qt.ScrollBarAlwaysOff
        scroll.setWidget(body)
        scroll.setMinimumWidth(body.minimumSizeHint().width + 20)  # + room for the vertical scroll bar
        self._scroll = scroll
        self.setWidget(scroll)

    def _register_button(self, parent, name: str, text: str, tip: str) -> "pya.QToolButton":
        button = pya.QToolButton(parent)
        button.objectName = name
        button.text = text
        button.toolTip = tip
        button.popupMode = pya.QToolButton.InstantPopup
        menu = pya.QMenu(button)
        menu.objectName = f"{name}_menu"
        save = name == "save_register"
        actions = self._register_actions.setdefault(name, [])
        for index in range(REGISTER_COUNT):
            action = menu.addAction(f"Reg {index}")
            actions.append(action)
            action.objectName = f"{name}_{index}"
            handler = self.save_register if save else self.recall_register
            action.triggered(lambda _checked=False, i=index, h=handler: self._guarded(h, i))
        button.setMenu(menu)
        return button

    def _build_recording(self, parent) -> "pya.QGroupBox":
        box = pya.QGroupBox("Recording", parent)
        box.objectName = "recording_group"
        layout = pya.QGridLayout(box)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setVerticalSpacing(4)
        self._record = pya.QPushButton("Record", box)
        self._record.objectName = "record"
        self._record.checkable = True
        self._record.toolTip = "Record every successful Evaluate as a recipe step"
        self._record.toggled(lambda on: self._guarded(self._record_toggled, on))
        self._record_status = pya.QLabel("", box)
        self._record_status.objectName = "record_status"
        self._save_recipe = pya.QPushButton("Save Recipe\u2026", box)
        self._save_recipe.objectName = "save_recipe"
        self._save_recipe.toolTip = "Save the recorded steps as a recipe (YAML) for 'layertools replay'"
        self._save_recipe.clicked(lambda: self._guarded(self._ask_save_recipe))
        self._save_macro = pya.QPushButton("Save Macro\u2026", box)
        self._save_macro.objectName = "save_macro"
        self._save_macro.toolTip = "Save the recorded steps as a KLayout Python macro (.lym)"
        self._save_macro.clicked(lambda: self._guarded(self._ask_save_macro))
        self._replay = pya.QPushButton("Replay\u2026", box)
        self._replay.objectName = "replay"
        self._replay.toolTip = "Replay a recipe on the current cell as one undo step"
        self._replay.clicked(lambda: self._guarded(self._ask_replay))
        layout.addWidget(self._record, 0, 0)
        layout.addWidget(self._record_status, 0, 1, 1, 2)
        layout.addWidget(self._save_recipe, 1, 0)
        layout.addWidget(self._save_macro, 1, 1)
        layout.addWidget(self._replay, 1, 2)
        return box

    # ----------------------------------------------------------------------------------------
    # options <-> controls

    def options(self) -> EvalOptions:
        """The panel's settings as EvalOptions (``to`` is the To layer text as typed)."""
        depth_text = self._depth.currentText
        fmt = next((name for name, b in self._format_buttons.items() if b.checked), "default")
        return dataclasses.replace(
            self._hidden_options,
            to=self._to_layer.text.strip(),
            depth="all" if depth_text == "all" else int(depth_text),
            recursive=bool(self._recursive.checked),
            strategy=self._strategy.currentText,
            partition=None if self._partition_none.checked else round(float(self._partition.value), 2),
            threads=int(self._threads.value),
            clear=not self._no_clear.checked,
            format=fmt,
            merge=bool(self._merge.checked),
            fast=bool(self._fast.checked),
        )

    def set_options(self, options: EvalOptions) -> None:
        """Show ``options`` in the controls (the To layer too when ``options.to`` is set)."""
        options = options.validated()
        # Fields without a control of their own (join_max_poly_verts) are kept as given.
        self._hidden_options = dataclasses.replace(options, to="")
        if options.to:
            self._to_layer.text = options.to
        depth_text = str(options.depth)
        if self._depth.findText(depth_text) < 0:  # deeper than the menu's 0-5 (recipes, macros)
            self._depth.insertItem(self._depth.findText("all"), depth_text)
        self._depth.setCurrentIndex(self._depth.findText(depth_text))
        self._recursive.checked = options.recursive
        self._strategy.setCurrentIndex(STRATEGIES.index(options.strategy))
        if options.partition is None:
            self._partition_none.checked = True
        else:
            self._partition_none.checked = False
            self._partition.value = min(max(options.partition, 1.0), 10000.0)
        self._threads.value = min(options.threads, 31)
        self._no_clear.checked = not options.clear
        self._format_buttons[options.format].checked = True
        self._merge.checked = options.merge
        self._fast.checked = options.fast
        self._update_enabled()

    def expression_text(self) -> str:
        return self._expression.toPlainText()

    def set_expression(self, text: str) -> None:
        self._expression.setPlainText(text)

    def status_text(self) -> str:
        """The status line as plain text."""
        doc = pya.QTextDocument()
        doc.setHtml(self._status.text)
        return doc.toPlainText()

    def _update_enabled(self) -> None:
        strategy = self._strategy.currentText
        partition_used = strategy in ("auto", "tiled")
        self._partition_none.enabled = partition_used
        # None greys the spin box but keeps its value, so releasing None restores it (Xic).
        self._partition.enabled = partition_used and not self._partition_none.checked
        self._recursive.enabled = self._depth.currentText != "0"
        editable = self._current_is_editable()
        self._fast.enabled = editable  # viewer mode has no undo to skip
        self._merge.enabled = not (editable and self._fast.checked)

    @staticmethod
    def _current_is_editable() -> bool:
        try:
            return view_bridge.current_target().editable
        except NoLayoutError:
            return True

    def _current_view_changed(self) -> None:
        """Another layout or tab: the last run's status belongs to the previous one; a layout in viewer
        mode is announced before anything is evaluated in it."""
        if not self._busy:
            self._status.text = ""
            if not self._current_is_editable():
                self._set_status(html.escape(VIEWER_MODE_NOTE[0].upper() + VIEWER_MODE_NOTE[1:] + "."),
                                 WARN_COLOUR)
        self._update_enabled()

    # ----------------------------------------------------------------------------------------
    # evaluation

    def evaluate(self) -> EvalResult | None:
        """Evaluate the expression on the current view's current cell, as the Evaluate button does.

        Returns the EvalResult, or None when nothing was done (the status line says why)."""
        if self._busy:
            return None
        self.last_result, self.last_error = None, None
        options = self.options()
        expression = self.expression_text().strip()
        try:
            target = view_bridge.current_target()
        except NoLayoutError as exc:
            self._fail(exc, str(exc))
            return None
        if not options.to:
            self._to_layer.setFocus()
            self._fail(None, "No target layer given: type a layer into To layer (e.g. 100/0).")
            return None
        aliases = view_bridge.panel_layer_names(target)
        self._save_state()
        undoable = target.editable and not options.fast
        selection = view_bridge.selection_regions(target) if calls(expression, "sqz") else None
        repair_free_layer_slots(target.layout)
        self._set_status(html.escape(f"Evaluating {options.to} = {expression} \u2026"), BUSY_COLOUR)
        self._busy = True
        self._evaluate.enabled = False
        self._progress = KLayoutProgress("Layer expression")
        try:
            with view_bridge.escape_cancels(self.request_cancel), \
                    view_bridge.undo_step(target, _undo_title(options.to, expression), undoable):
                # One EvalOptions from options(): every field the user can set reaches the engine.
                try:
                    result = engine.evaluate_with_options(target.layout, target.cell, expression, options,
                                                          progress=self._progress, selection=selection,
                                                          layer_aliases=aliases)
                finally:  # before undo_step discards a cancelled run: a cancelled bar would cancel that too
                    self._progress.close()
                panel_problem = view_bridge.show_result_layers(target, [result])
        except ExpressionError as exc:
            self._show_expression_error(exc, expression)
            return None
        except Cancelled as exc:
            self._fail(exc, str(exc) or "Cancelled: the layout is unchanged.", colour=WARN_COLOUR)
            return None
        except LayertoolsError as exc:
            self._fail(exc, f"{exc}  (the layout is unchanged)")
            return None
        except Exception as exc:  # an engine bug must not hang KLayout with a modal dialog
            traceback.print_exc(file=sys.stderr)
            undo_hint = " Edit > Undo takes back anything it wrote." if undoable else ""
            self._fail(exc, f"Internal error ({type(exc).__name__}: {exc}); please report it with "
                            f"the expression.{undo_hint}")
            return None
        finally:
            self._progress.close()
            self._progress = None
            self._busy = False
            self._evaluate.enabled = True
        if not undoable and target.editable:
            target.view.clear_transactions()  # earlier undo steps would no longer match the layout
        if panel_problem:
            result.warnings.append(panel_problem)
        self.last_result = result
        if result.layer_index >= 0:
            view_bridge.make_current_layer(target, result.layer_index)
        self._record_step(expression, options, target)
        self._show_result(result, target, options)
        return result

    def request_cancel(self) -> None:
        """Cancel the running evaluation at its next progress report (layout left unchanged); tiles
        run in one piece under KLayout's own progress bar, whose Cancel button stops them at once."""
        if self._progress is not None:
            self._progress.cancel()

    def _show_result(self, result: EvalResult, target: ViewCell, options: EvalOptions) -> None:
        notes = []
        if options.fast and target.editable:
            notes.append("Fast mode: not undoable, undo history cleared")
        elif not target.editable:
            notes.append(VIEWER_MODE_NOTE)
        if result.reason:
            notes.append(f"auto chose {result.reason}")
        if result.threads != options.threads:
            notes.append(f"auto used {result.threads} threads instead of Threads = {options.threads} "
                         f"(choose flat, tiled or deep to hold it)")
        notes.extend(result.warnings)
        text = html.escape(result.summary())
        if notes:
            text += "<br>" + "<br>".join(html.escape(n) for n in notes)
        colour = WARN_COLOUR if result.warnings else OK_COLOUR
        self._set_status(text, colour)

    def _show_expression_error(self, exc: ExpressionError, expression: str) -> None:
        """Message plus a caret under the position; the offending text is selected in the editor."""
        self.last_error = exc
        message = html.escape(getattr(exc, "message", str(exc)))
        text = exc.text if exc.text is not None else expression
        position = exc.position
        if position is not None:
            message += f" (column {position + 1})"
        body = f"<b>{message}</b>"
        if position is not None and text and "\n" not in text:
            caret = html.escape(text) + "\n" + " " * position + "^"
            body += f"<pre style='margin:2px 0'>{caret}</pre>"
        self._set_status(body, ERROR_COLOUR)
        if position is not None:
            self._select_in_expression(exc, position)
        self._expression.setFocus()

    def _select_in_expression(self, exc: ExpressionError, position: int) -> None:
        """Select the character at ``position`` of the evaluated text inside the editor."""
        raw = self.expression_text()
        offset = len(raw) - len(raw.lstrip())  # evaluate() strips leading blanks
        start = min(offset + position, len(raw))
        end = min(start + 1, len(raw))
        cursor = self._expression.textCursor
        cursor.setPosition(start)
        cursor.setPosition(end, pya.QTextCursor.KeepAnchor)
        self._expression.setTextCursor(cursor)

    def _fail(self, exc: Exception | None, message: str, colour: str = ERROR_COLOUR) -> None:
        self.last_error = exc
        self._set_status(html.escape(message), colour)
        return None

    def _set_status(self, rich_text: str, colour: str) -> None:
        self._status.text = f"<span style='color:{colour}'>{rich_text}</span>"
        self._scroll.ensureWidgetVisible(self._status)  # a short dock scrolls to the news

    # ----------------------------------------------------------------------------------------
    # registers

    def save_register(self, index: int) -> bool:
        """Save the expression in register ``index`` (0-7); an empty expression is ignored (Xic)."""
        saved = self._registers.set(index, self.expression_text())
        self._update_registers()
        if saved:
            self._set_status(f"Expression saved in Reg {index}.", OK_COLOUR)
        else:
            self._set_status("Nothing saved: the expression is empty.", WARN_COLOUR)
        return saved

    def recall_register(self, index: int) -> str:
        """Put register ``index`` into the expression (empty if the register is unset)."""
        text = self._registers.get(index)
        self.set_expression(text)
        self._set_status(f"Reg {index} recalled." if text else f"Reg {index} is empty.",
                         OK_COLOUR if text else WARN_COLOUR)
        return text

    def registers(self) -> list[str]:
        return self._registers.all()

    def _update_registers(self) -> None:
        texts = self._registers.all()
        for actions in self._register_actions.values():
            for index, action in enumerate(actions):
                preview = texts[index].replace("\n", " ")
                if len(preview) > 40:
                    preview = preview[:39] + "\u2026"
                action.text = f"Reg {index}: {menu_text(preview)}" if preview else f"Reg {index}"

    # ----------------------------------------------------------------------------------------
    # recording and replay

    @property
    def is_recording(self) -> bool:
        return self._recording is not None

    def start_recording(self) -> None:
        """Start a new recording (an earlier one is discarded; the status line says so)."""
        discarded = len(self.recorded_steps())
        self._recording = []
        self._recorded = []
        self._sync_record_button()
        self._update_recording()
        note = f" (the previous {discarded} unsaved step(s) were discarded)" if discarded and not self._saved else ""
        self._saved = False
        self._set_status(html.escape(f"Recording: every successful Evaluate becomes a step{note}."), OK_COLOUR)

    def stop_recording(self) -> None:
        if self._recording is not None:
            self._recorded = self._recording
        self._recording = None
        self._sync_record_button()
        self._update_recording()

    def recorded_steps(self) -> list:
        """The steps of the running recording, or of the last one after Stop."""
        return list(self._recording if self._recording is not None else self._recorded)

    def recipe(self):
        from ..recipe import Recipe
        return Recipe(steps=self.recorded_steps())

    def save_recording(self, path: str) -> int:
        """Write the recording as a recipe (YAML); returns the number of steps."""
        from ..recipe import save_recipe
        return self._save(save_recipe, "Recipe", path)

    def save_recording_macro(self, path: str) -> int:
        """Write the recording as a KLayout Python macro (.lym); returns the number of steps."""
        from ..recipe import save_macro
        return self._save(save_macro, "Macro", path)

    def _save(self, save, kind: str, path: str) -> int:
        recipe = self._nonempty_recipe()
        save(recipe, path)
        self._saved = True
        self._set_status(html.escape(f"{kind} with {len(recipe.steps)} step(s) saved to {path}"), OK_COLOUR)
        return len(recipe.steps)

    def replay_file(self, path: str) -> list[EvalResult] | None:
        """Replay the recipe in ``path`` on the current cell as ONE undo step.

        On failure the layout is as before (the replay restores it) and the status names the step."""
        from ..recipe import load_recipe
        self.last_result, self.last_error = None, None
        try:
            target = view_bridge.current_target()
        except NoLayoutError as exc:
            self._fail(exc, str(exc))
            return None
        try:
            recipe = load_recipe(path)
        except (LayertoolsError, OSError) as exc:
            self._fail(exc, f"Cannot replay {path}: {exc}")
            return None
        return self.replay(recipe, target=target, source=os.path.basename(path))

    def replay(self, recipe, target: ViewCell | None = None, source: str = "recipe") -> list[EvalResult] | None:
        """Replay ``recipe`` on the current cell as ONE undo step (gui.recipe_replay.replay_in_view,
        as recorded macros do in the application), with the panel's progress bar and Esc to cancel."""
        from .recipe_replay import replay_in_view
        if self._busy:
            return None
        if target is None:
            try:
                target = view_bridge.current_target()
            except NoLayoutError as exc:
                self._fail(exc, str(exc))
                return None
        undoable = target.editable and not any(step.options.fast for step in recipe.steps)
        uses_sqz = any(calls(step.expression, "sqz") for step in recipe.steps)
        selection = view_bridge.selection_regions(target) if uses_sqz else None
        self._busy = True
        self._progress = KLayoutProgress(f"Replaying {source}")
        started = time.monotonic()
        try:
            with view_bridge.escape_cancels(self.request_cancel):
                results = replay_in_view(target.view, recipe, cell=target.cell, progress=self._progress,
                                         selection=selection, title=menu_text(f"Layer Tools: replay {source}"))
        except Cancelled as exc:
            self._fail(exc, str(exc) or "Cancelled: the layout is unchanged.", colour=WARN_COLOUR)
            return None
        except LayertoolsError as exc:
            self._fail(exc, f"Replay of {source} failed: {exc}  (the layout is as before the replay)")
            return None
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            self._fail(exc, f"Internal error during replay ({type(exc).__name__}: {exc}).")
            return None
        finally:
            self._progress.close()
            self._progress = None
            self._busy = False
        written = sum(r.shapes_written for r in results)
        note = "" if undoable else " (not undoable)"
        warnings = [w for r in results for w in r.warnings]
        if warnings:
            note += "; " + "; ".join(warnings)
        self._set_status(html.escape(
            f"Replayed {len(results)} step(s) of {source}: {written:,} shapes written "
            f"({time.monotonic() - started:.2f} s){note}"), OK_COLOUR)
        self.last_result = results[-1] if results else None
        return results

    def _record_step(self, expression: str, options: EvalOptions, target: ViewCell) -> None:
        if self._recording is None:
            return
        from ..recipe import step_from_evaluation
        # null cell = "the current cell" / "the single top cell" on replay; a sub-cell is named.
        cell = None if target.is_single_top else target.cell.name
        self._recording.append(step_from_evaluation(expression, dataclasses.replace(options, cell=cell)))
        self._saved = False
        self._update_recording()

    def _nonempty_recipe(self):
        recipe = self.recipe()
        if not recipe.steps:
            raise LayertoolsError("Nothing recorded yet: press Record, then Evaluate.")
        return recipe

    def _record_toggled(self, on: bool) -> None:
        if on and self._recording is None:
            self.start_recording()
        elif not on and self._recording is not None:
            self.stop_recording()

    def _sync_record_button(self) -> None:
        self._record.blockSignals(True)
        self._record.checked = self._recording is not None
        self._record.blockSignals(False)

    def _update_recording(self) -> None:
        steps = len(self.recorded_steps())
        if self._recording is not None:
            self._record.text = "Stop"
            self._record_status.text = f"\u25cf recording: {steps} step(s)"
            self._record_status.styleSheet = "color: #cf222e"
        else:
            self._record.text = "Record"
            self._record_status.text = f"{steps} step(s) recorded" if steps else "not recording"
            self._record_status.styleSheet = ""
        self._save_recipe.enabled = steps > 0
        self._save_macro.enabled = steps > 0

    def _ask_save_recipe(self) -> None:
        path = pya.QFileDialog.getSaveFileName(self, "Save Recipe", "recipe.yaml",
                                               "Recipes (*.yaml *.yml);;All files (*)")
        if path:
            self._guarded_action(self.save_recording, path)

    def _ask_save_macro(self) -> None:
        path = pya.QFileDialog.getSaveFileName(self, "Save Macro", "recipe.lym",
                                               "KLayout macros (*.lym);;All files (*)")
        if path:
            self._guarded_action(self.save_recording_macro, path)

    def _ask_replay(self) -> None:
        path = pya.QFileDialog.getOpenFileName(self, "Replay Recipe", "",
                                               "Recipes (*.yaml *.yml);;All files (*)")
        if path:
            self.replay_file(path)

    def _guarded_action(self, action, *args):
        try:
            return action(*args)
        except (LayertoolsError, OSError) as exc:
            self._fail(exc, str(exc))
            return None

    # ----------------------------------------------------------------------------------------
    # To-layer completion

    def _refresh_completion(self) -> None:
        try:
            target = view_bridge.current_target()
        except NoLayoutError:
            choices = []
        else:
            choices = view_bridge.layer_choices(target)
        if list(self._completion.stringList) != choices:
            self._completion.setStringList(choices)

    def _show_all_layers(self) -> None:
        self._refresh_completion()
        self._to_layer.setFocus()
        self._completer.setCompletionPrefix("")
        self._completer.complete()

    # ----------------------------------------------------------------------------------------
    # remembered settings (KLayout configuration, like KLayout's own tool dialogs)

    def _save_state(self) -> None:
        """The options as EvalOptions' own mapping (what recipes store), plus what only the panel has."""
        state = self.options().to_mapping()
        del state["cell"]   # the panel works on the current cell
        del state["fast"]   # Fast mode is deliberately not remembered: a conscious choice each session
        state["expression"] = self.expression_text()
        state["partition_size"] = float(self._partition.value)   # kept while 'none' is ticked
        save_panel_state(self._main_window, state)

    def _restore_state(self) -> None:
        state = dict(load_panel_state(self._main_window))
        if not state:
            return
        try:
            if "partition_none" in state:   # the first version's form: the size, and a tick for none
                state["partition_size"] = state["partition"]
                state["partition"] = None if state["partition_none"] else state["partition"]
            size = state.get("partition_size")
            specs = option_specs()
            self.set_options(EvalOptions.from_mapping({k: v for k, v in state.items() if k in specs}))
            if size is not None:
                self._partition.value = min(max(float(size), 1.0), 10000.0)
            self.set_expression(str(state.get("expression", "")))
        except (LayertoolsError, TypeError, ValueError):
            pass  # damaged settings: keep the defaults

    # ----------------------------------------------------------------------------------------

    def _guarded(self, function, *args):
        """Run a slot; never let an exception reach Qt (it would block KLayout with a dialog)."""
        try:
            return function(*args)
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            try:
                self._fail(exc, f"Internal error ({type(exc).__name__}: {exc})")
            except Exception:
                pass
            return None


def _wheel_when_focused(widget, base, event) -> None:
    """Scrolling the panel over a setting must not change it: the wheel goes to the scroll area
    unless the user clicked or tabbed into the control first."""
    try:  # called by Qt: an exception here would become a modal error dialog
        if widget.hasFocus():
            base.wheelEvent(widget, event)
        else:
            event.ignore()
    except Exception:
        traceback.print_exc(file=sys.stderr)


def _wheel_safe(base: Any) -> Any:
    """``base`` (a combo or spin box class) taking the wheel only when focused, and focused only by
    a click or Tab (StrongFocus, not WheelFocus: the wheel alone never focuses it)."""
    class WheelSafe(base):  # the base class is a parameter (Any: mypy lets it be subclassed)
        def __init__(self, parent):
            super().__init__(parent)
            self.focusPolicy = pya.Qt.StrongFocus

        def wheelEvent(self, event):
            _wheel_when_focused(self, base, event)

    WheelSafe.__name__ = WheelSafe.__qualname__ = f"_WheelSafe{base.__name__[1:]}"
    return WheelSafe


_WheelSafeComboBox = _wheel_safe(pya.QComboBox)
_WheelSafeSpinBox = _wheel_safe(pya.QSpinBox)
_WheelSafeDoubleSpinBox = _wheel_safe(pya.QDoubleSpinBox)


class _FittingScrollArea(pya.QScrollArea):
    """A scroll area that asks for its content's full size (so the dock opens showing every
    control) but can still be made smaller than that."""

    def sizeHint(self):
        try:  # called by Qt: an exception here would become a modal error dialog
            hint = self.widget.sizeHint()
            frame = 2 * self.frameWidth()
            return pya.QSize(hint.width + frame + 16, hint.height + frame)
        except Exception:
            return pya.QSize(340, 620)


def _label(text: str, parent, buddy) -> "pya.QLabel":
    label = pya.QLabel(text, parent)
    label.setBuddy(buddy)
    return label


def _undo_title(to: str, expression: str) -> str:
    text = f"Layer Tools: {to} = {expression}".replace("\n", " ")
    return menu_text(text if len(text) <= 60 else text[:59] + "\u2026")


def menu_text(text: str) -> str:
    """``text`` for a menu entry: Qt takes a lone '&' as a mnemonic marker ("68/20 & 69/20" would read
    "68/20 _69/20"), '&&' shows one '&'."""
    return text.replace("&", "&&")
