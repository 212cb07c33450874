"""Replaying a recipe in the application: on a view's layout, as one undo step, with the layer
panel's names as layers and a coloured layer-panel entry for each new result, exactly as the
panel's Evaluate does.  The panel's Replay button and recorded macros run in the application
(``layertools.recipe.run_macro``) both use :func:`replay_in_view`."""

from __future__ import annotations

from typing import Callable

from ..klayout_fixes import repair_free_layer_slots
from ..options import EvalResult
from ..recipe.model import Recipe
from ..recipe.playback import replay
from . import view_bridge

Progress = Callable[[str, "float | None"], None]


def replay_in_view(view, recipe: Recipe, cell=None, progress: Progress | None = None, selection=None,
                   title: str | None = None) -> list[EvalResult]:
    """Replay on the view's active layout as one undo step; new layers get layer-panel entries.

    ``cell`` (Cell or name) defaults to the view's active cell.  In viewer mode (a non-editable
    layout) KLayout has no undo for shapes, so no transaction is opened; a recipe with a Fast-mode
    step is not undoable either (D10) and clears the undo history, as the panel's Fast mode does.
    A ``progress`` with a ``close()`` (the panel's progress bar) is closed before the undo step
    ends.  A layer-panel problem after a successful replay becomes a warning of the last result.
    """
    target = view_bridge.view_cell_of(view, cell)
    undoable = target.editable and not any(step.options.fast for step in recipe.steps)
    aliases = view_bridge.panel_layer_names(target)
    repair_free_layer_slots(target.layout)   # outside the transaction: KLayout 0.28's Redo bug
    title = title or f"Layer Tools: replay {len(recipe.steps)} step(s)"
    with view_bridge.undo_step(target, title, undoable):
        try:
            results = replay(target.layout, recipe, cell=target.cell, progress=progress, selection=selection,
                             layer_aliases=aliases or None)
        finally:   # a cancelled progress bar would cancel the undo step's clean-up too
            close = getattr(progress, "close", None)
            if close is not None:
                close()
        # inside the transaction: a layer-panel change outside one clears the undo stack
        panel_problem = view_bridge.show_result_layers(target, results)
    if target.editable and not undoable:
        target.view.clear_transactions()   # older undo steps would no longer match the layout
    if panel_problem and results:
        results[-1].warnings.append(panel_problem)
    return results
