"""What the panel needs from KLayout's layout view: the current cell, the layer panel, the
selection, undo transactions and the progress bar.  No evaluation logic lives here.

KLayout facts this module relies on (measured, see klayout-platform.md §2):
- a layer-panel change made outside a transaction clears the whole undo stack, so the result
  layer's entry is inserted inside the evaluation's transaction;
- a layer-panel entry without colours is drawn black;
- in viewer mode (non-editable layout) ``Shapes.insert`` inside a transaction raises, so
  evaluations there run without a transaction;
- an empty transaction leaves no undo step, but a cancelled run is not empty (the engine created and
  removed its layers): committing it left a do-nothing step "Layer Tools: ..." that reappeared as Redo.
  There is no "discard transaction" in the API (Edit > Cancel, ``cm_cancel``, commits it too), so the
  step is committed, undone, and pushed off the redo list by an empty transaction (opening one drops
  the redo list; committing an empty one adds no step);
- Esc is Edit > Cancel: pressed while a run processes events, it closed our transaction under us, the
  result was written outside any transaction (which clears the undo history) and ``commit`` failed
  with "m_opened was not true".  So while a run is open, Esc is taken from KLayout and cancels the run.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import traceback
from dataclasses import dataclass
from typing import Iterator

import pya

from ..errors import Cancelled, NoLayoutError

# Saturated, mutually distinct colours, light and dark ones: those that stand out against the view's
# background are candidates, and a new result layer gets the one least like the layers shown.
RESULT_COLOURS = (0xff8000, 0xe02020, 0xd040d0, 0x2060ff, 0x00a0a0, 0x20a020, 0x8040c0, 0xa06020,
                  0xffe000, 0x00e0ff, 0x80ff00, 0xff80c0, 0x00ff9c, 0x8080ff)
MIN_BACKGROUND_CONTRAST = 0.25  # relative-luminance difference a result needs against the background
RESULT_DITHER = 5  # KLayout's "lightly left-hatched": the layers underneath stay visible


@dataclass
class ViewCell:
    """The cell shown in a layout view, with that view, its cellview and layout: what a panel
    evaluates in and writes to."""

    view: "pya.LayoutView"
    cellview: "pya.CellView"
    layout: "pya.Layout"
    cell: "pya.Cell"

    @property
    def editable(self) -> bool:
        return bool(self.layout.is_editable())

    @property
    def is_single_top(self) -> bool:
        tops = list(self.layout.each_top_cell())
        return len(tops) == 1 and tops[0] == self.cell.cell_index()


def current_target() -> ViewCell:
    """The current view's current cell, or NoLayoutError saying why there is none."""
    view = pya.LayoutView.current()
    if view is None:
        raise NoLayoutError("No layout is open: open a layout (File > Open) first.")
    return view_cell_of(view)


def view_cell_of(view: "pya.LayoutView", cell=None) -> ViewCell:
    """``cell`` (a Cell, a cell name, or None: the active cell) of the view's active layout, or
    NoLayoutError / CellNotFoundError saying why there is none."""
    cellview = view.active_cellview()
    if cellview is None or not cellview.is_valid():
        raise NoLayoutError("No layout is open in the current view: open a layout first.")
    if isinstance(cell, str):
        from ..layoutio import find_cell
        cell = find_cell(cellview.layout(), cell)
    elif cell is None:
        cell = cellview.cell
    if cell is None:
        raise NoLayoutError("No cell is selected: choose a cell in the Cells panel first.")
    return ViewCell(view, cellview, cellview.layout(), cell)


def layer_choices(target: ViewCell) -> list[str]:
    """Texts offered by the To-layer completion: every layer as 'L/D' or 'NAME L/D', and the
    names given to layers in the layer panel."""
    choices: list[str] = []
    for index in target.layout.layer_indexes():
        info = target.layout.get_info(index)
        choices.append(_layer_text(info))
    for name in panel_layer_names(target):
        if name not in choices:
            choices.append(name)
    return sorted(set(choices), key=_natural_key)


def panel_layer_names(target: ViewCell) -> dict[str, int]:
    """Layer-panel names (e.g. from a .lyp file) of this cellview's layers: name -> layer index."""
    names: dict[str, int] = {}
    for node in _layer_nodes(target.view):
        if node.has_children() or node.cellview() != target.cellview.index():
            continue
        index = node.layer_index()
        if node.name and index >= 0:
            names.setdefault(node.name, index)
    return names


def show_result_layer(target: ViewCell, layer_index: int) -> bool:
    """Make ``layer_index`` visible in the layer panel: insert an entry with a real colour, or make
    an existing hidden entry visible.  Returns True when an entry was inserted.  Call it inside
    the evaluation's transaction (see the module notes)."""
    view, cv_index = target.view, target.cellview.index()
    used_colours = set()
    for node in _layer_nodes(view):
        used_colours.add(node.fill_color & 0xffffff)
        if node.has_children() or node.cellview() != cv_index or node.layer_index() != layer_index:
            continue
        if not node.visible:
            props = node.dup()
            props.visible = True
            view.set_layer_properties(_iterator_for(view, node), props)
        return False
    info = target.layout.get_info(layer_index)
    colour = distinct_colour(used_colours, background_colour(view))
    props = pya.LayerPropertiesNode()
    # Field by field: a source string would need quoting rules for names ("A (1/0)" means a
    # transformation there, for instance).
    props.source_cellview = cv_index
    if info.layer >= 0 and info.datatype >= 0:
        props.source_layer = info.layer
        props.source_datatype = info.datatype
    if info.name:
        props.source_name = info.name
    props.fill_color = colour
    props.frame_color = colour
    props.dither_pattern = RESULT_DITHER
    props.width = 2  # a bolder outline tells the result from its inputs where they overlap
    props.visible = True
    view.insert_layer(view.end_layers(), props)
    return True


def show_result_layers(target: ViewCell, results) -> str:
    """Layer-panel entries for the layers ``results`` (EvalResults) wrote; call it inside the run's
    undo step.  The results are already in the layout here, so a failure is returned as a warning
    ("" when all went well), never raised as a failed run."""
    try:
        for result in results:
            if result.layer_index >= 0:
                show_result_layer(target, result.layer_index)
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        return f"the result layer could not be added to the layer panel ({exc}); use Add Other Layers"
    return ""


def make_current_layer(target: ViewCell, layer_index: int) -> None:
    """Make the layer-panel entry of ``layer_index`` the current one, which the Layers list scrolls
    into view (a new result is appended at the bottom of a long list).  Deferred to the event loop:
    set at once, the layer list's own deferred rebuild after the insert dropped it (measured)."""
    view, cv_index = target.view, target.cellview.index()

    def select() -> None:
        try:  # runs from a Qt timer: an exception here would become a modal error dialog
            it = view.begin_layers()
            while not it.at_end():
                node = it.current()
                if not node.has_children() and node.cellview() == cv_index and node.layer_index() == layer_index:
                    view.current_layer = it
                    return
                it.next()
        except Exception:
            pass

    timer = pya.QTimer()
    timer.singleShot = True
    timer.timeout(select)
    timer.start(50)
    _pending_timers[:] = [timer]  # keep it alive until it fired (the next call replaces it)


_pending_timers: list = []


def distinct_colour(used: set[int], background: int = 0xffffff) -> int:
    """The candidate colour that is visible on ``background`` and farthest from every colour already
    in the layer panel (and from the background), so the result does not look like its inputs."""
    def distance(a: int, b: int) -> int:
        return sum((((a >> s) & 0xff) - ((b >> s) & 0xff)) ** 2 for s in (0, 8, 16))
    visible = [c for c in RESULT_COLOURS
               if abs(_luminance(c) - _luminance(background)) >= MIN_BACKGROUND_CONTRAST]
    others = {c for c in used if c != 0} | {background}  # 0: an unset colour
    return max(visible, key=lambda c: min(distance(c, u) for u in others))


def background_colour(view: "pya.LayoutView") -> int:
    """The view's background as 0xRRGGBB: its configured colour, else the palette's (KLayout's "auto")."""
    text = (view.get_config("background-color") or "").strip()
    if text.startswith("#") and len(text) == 7:
        try:
            return int(text[1:], 16)
        except ValueError:
            pass
    try:
        return int(pya.QApplication.palette().color(pya.QPalette.Base).rgb()) & 0xffffff
    except Exception:
        return 0xffffff


def _luminance(colour: int) -> float:
    """Relative luminance (WCAG) of 0xRRGGBB, 0 (black) .. 1 (white)."""
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = ((colour >> 16) & 0xff, (colour >> 8) & 0xff, colour & 0xff)
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def selection_regions(target: ViewCell) -> dict[int, "pya.Region"]:
    """The selected shapes of the current cell per layer, in the cell's coordinates (for sqz)."""
    regions: dict[int, pya.Region] = {}
    cv_index = target.cellview.index()
    cell_index = target.cell.cell_index()
    context_index = target.cellview.ctx_cell_index()
    to_cell_from_context = target.cellview.context_trans().inverted()
    for path in target.view.each_object_selected():
        if path.cv_index != cv_index or path.is_cell_inst():
            continue
        shape = path.shape
        polygon = shape.polygon if shape is not None else None
        if polygon is None:  # texts, edges and points have no area
            continue
        if path.top == cell_index:
            trans = path.trans()
        elif path.top == context_index:
            trans = to_cell_from_context * path.trans()
        else:
            continue
        regions.setdefault(path.layer, pya.Region()).insert(polygon.transformed(trans))
    return regions


@contextlib.contextmanager
def undo_step(target: ViewCell, description: str, undoable: bool) -> Iterator[None]:
    """One undo step around the body (nothing when ``undoable`` is False); when the body raises
    (a cancelled or failed run) the transaction is dropped, leaving the undo history as it was."""
    if not undoable:
        yield
        return
    view = target.view
    view.transaction(description)
    try:
        yield
    except BaseException:
        if view.is_transacting():
            _discard_open_step(view, target.layout)
        raise
    if view.is_transacting():
        view.commit()
    else:  # closed by someone else despite the Esc guard: the history no longer matches
        view.clear_transactions()


def _discard_open_step(view: "pya.LayoutView", layout: "pya.Layout") -> None:
    """Close the open transaction of a run that failed or was cancelled without leaving a step (the
    run has already restored the layout, so undoing its recorded changes is a no-op overall)."""
    # A marker change makes the step non-empty for sure: an empty one would leave no step, and the
    # undo below would then take back the user's previous step (seen after a syntax error).
    layout.delete_layer(layout.insert_layer(pya.LayerInfo()))
    view.commit()
    pya.MainWindow.instance().cm_undo()
    view.transaction("")
    view.commit()


@contextlib.contextmanager
def escape_cancels(cancel) -> Iterator[None]:
    """While the body runs (a run with its progress bar), Esc calls ``cancel`` instead of reaching
    KLayout's Edit > Cancel (see the module notes)."""
    application = pya.QApplication.instance()
    event_filter = _escape_filter_class()(cancel)
    application.installEventFilter(event_filter)
    try:
        yield
    finally:
        application.removeEventFilter(event_filter)


@functools.lru_cache(maxsize=None)
def _escape_filter_class():
    # Defined on first use: the PyPI module's pya (tests, command line) has no Qt classes.
    class EscapeFilter(pya.QObject):
        def __init__(self, cancel):
            super().__init__()
            self._cancel = cancel

        def eventFilter(self, watched, event) -> bool:
            try:  # called by Qt: an exception here would become a modal error dialog
                kind = event.type()
                if kind not in (pya.QEvent.ShortcutOverride, pya.QEvent.KeyPress):
                    return False
                if not hasattr(event, "key") or event.key() != pya.Qt.Key_Escape.to_i():
                    return False
                event.accept()  # an accepted ShortcutOverride: no shortcut (Edit > Cancel) sees the key
                if kind == pya.QEvent.KeyPress:
                    self._cancel()
                return True
            except Exception:
                return False

    return EscapeFilter


class KLayoutProgress:
    """The engine's ``progress(message, fraction)`` callback shown as KLayout's progress bar.

    KLayout's bar has a Cancel button; pressing it makes the next update raise, which becomes
    :class:`layertools.Cancelled` so the engine stops with the layout unchanged.  ``cancel()``
    does the same programmatically (the next update raises)."""

    STEPS = 1000
    #: The tiling processor's own progress bar shows each tile and has a Cancel button in the
    #: application, so the engine runs the tiles in one piece instead of bands (which cost threads).
    klayout_shows_tile_progress = True

    def __init__(self, title: str):
        self._title = title
        self._bar: pya.RelativeProgress | None = None
        self._last = 0
        self._cancelled = False
        self.updates = 0

    def cancel(self) -> None:
        self._cancelled = True

    def __call__(self, message: str, fraction: float | None = None) -> None:
        self.updates += 1
        if self._cancelled:
            raise Cancelled("Cancelled: the layout is unchanged.")
        if self._bar is None:
            self._bar = pya.RelativeProgress(self._title, self.STEPS)
        if fraction is not None:
            self._last = max(0, min(self.STEPS, int(round(fraction * self.STEPS))))
        try:
            if message:
                self._bar.desc = message
            self._bar.set(self._last, True)  # True: let KLayout redraw and see the Cancel button
        except Exception:  # KLayout raises from set() once its Cancel button was pressed
            self._cancelled = True
            raise Cancelled("Cancelled: the layout is unchanged.") from None
        if self._cancelled:  # cancel() called from an event processed during set()
            raise Cancelled("Cancelled: the layout is unchanged.")

    def close(self) -> None:
        if self._bar is not None:
            self._bar._destroy()
            self._bar = None


def _layer_text(info: "pya.LayerInfo") -> str:
    if info.layer >= 0 and info.datatype >= 0:
        numbers = f"{info.layer}/{info.datatype}"
        return f"{info.name} {numbers}" if info.name else numbers
    return info.name


def _natural_key(text: str):
    import re
    return [int(part) if part.isdecimal() else part.lower() for part in re.split(r"(\d+)", text)]


def _layer_nodes(view: "pya.LayoutView"):
    """Every node of the current layer list (groups and their members)."""
    it = view.begin_layers()
    while not it.at_end():
        yield it.current()
        it.next()


def _iterator_for(view: "pya.LayoutView", wanted: "pya.LayerPropertiesNode"):
    it = view.begin_layers()
    while not it.at_end():
        if it.current().id() == wanted.id():
            return it
        it.next()
    raise LookupError("layer-panel entry vanished")
