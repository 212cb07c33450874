"""Replaying a recipe on a layout: every step or none (doc/decisions.md I4).

Everything that can be checked before the first write is (cells, To layers, layer references,
against a scratch copy of the layout's layers); after that, a failing or cancelled step puts the
layout back with a :class:`LayoutCheckpoint`.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from ..compat import db
from ..errors import (
    Cancelled,
    CellNotFoundError,
    ExpressionError,
    LayertoolsError,
    OptionError,
    RecipeError,
    ReplayError,
)
from ..limits import clipped
from ..options import EvalResult
from .checkpoint import LayoutCheckpoint
from .model import Recipe, Step

Progress = Callable[[str, "float | None"], None]


def replay(layout: "db.Layout", recipe: Recipe, cell: "db.Cell | str | None" = None,
           progress: Progress | None = None, selection: "dict[int, db.Region] | None" = None,
           layer_aliases: Mapping[str, int] | None = None, distribute: Any = None) -> list[EvalResult]:
    """Run the steps in order with the engine (``evaluate_with_options``); all of them or none.

    ``cell`` (a Cell or a cell name) is used by steps whose ``cell`` is null; None means the single
    top cell.  Before anything is written, every step's cell, To layer and layer references are
    checked (a layer made by an earlier step counts), so a recipe that cannot run fails at once.
    If a step fails later or is cancelled, every earlier step's writes are undone (layers and cells
    the replay created are deleted, overwritten layers get their shapes back) and a ReplayError
    (or Cancelled) naming the step is raised.  ``selection`` and ``layer_aliases`` (the
    application's layer-panel names) are passed to every step, and ``distribute`` (a cluster, see
    layertools.cluster) runs their tiles.
    """
    from ..engine import evaluate_with_options
    cells = _resolve_cells(layout, recipe, cell)
    _preflight(layout, recipe, cells, layer_aliases)
    total = len(recipe.steps)
    checkpoint = LayoutCheckpoint(layout)
    results: list[EvalResult] = []
    number = 0
    try:
        for number, (step, target_cell) in enumerate(zip(recipe.steps, cells), 1):
            if progress is not None:
                progress(f"step {number}/{total}: {step.describe()}", (number - 1) / total)
            for layer_index in _layers_written_by(layout, step.options.to, layer_aliases):
                checkpoint.protect_layer(layer_index)
            result = evaluate_with_options(layout, target_cell, step.expression, step.options,
                                           progress=_step_progress(progress, number, total), selection=selection,
                                           layer_aliases=dict(layer_aliases) if layer_aliases else None,
                                           distribute=distribute)
            checkpoint.note_write(result.layer_index)
            results.append(result)
    except Cancelled as exc:
        checkpoint.restore()
        raise Cancelled(f"replay cancelled at step {number} of {total} "
                        f"({recipe.steps[number - 1].describe()}); {ReplayError.RESTORED}",
                        step=number) from exc
    except LayertoolsError as exc:
        checkpoint.restore()
        raise _replay_error(exc, number, recipe.steps[number - 1]) from exc
    except Exception as exc:  # KLayout's RuntimeError, MemoryError, ...: still put the layout back
        checkpoint.restore()
        raise ReplayError(f"{type(exc).__name__}: {clipped(str(exc))}",
                          step=number, cause=exc, **recipe.steps[max(number, 1) - 1].where(None)) from exc
    except BaseException:   # KeyboardInterrupt: restore, then let it through unchanged
        checkpoint.restore()
        raise
    finally:
        checkpoint.discard()
    return results


def _step_progress(progress: Progress | None, number: int, total: int) -> Progress | None:
    if progress is None:
        return None

    def report(message: str, fraction: float | None) -> None:
        overall = None if fraction is None else (number - 1 + min(max(fraction, 0.0), 1.0)) / total
        progress(f"step {number}/{total}: {message}", overall)
    return report


def _replay_error(exc: LayertoolsError, number: int, step: Step, key: str | None = None) -> ReplayError:
    """``exc`` of step ``number`` as a ReplayError naming the step and, from the error's own fields
    (or ``key``, the key the failing check was about), the key."""
    caret = None
    if isinstance(exc, ExpressionError):
        key = "expression"
        caret = exc.caret() if exc.position is not None else None
    elif isinstance(exc, OptionError) and exc.option is not None:
        key = exc.option
    elif isinstance(exc, RecipeError):
        key = exc.key
    message = exc.message if isinstance(exc, (ExpressionError, RecipeError)) else str(exc)
    if isinstance(exc, ExpressionError) and exc.position is not None:
        message += f" at column {exc.column}"
    return ReplayError(f"{message} ({step.describe()})",
                       step=number, key=key, caret=caret, cause=exc, **step.where(key))


def _resolve_cells(layout: "db.Layout", recipe: Recipe, cell: "db.Cell | str | None") -> list:
    """The cell of each step, found before anything is written."""
    from ..layoutio import find_cell
    default = None
    cells = []
    for number, step in enumerate(recipe.steps, 1):
        name = step.options.cell
        try:
            if name is not None:
                cells.append(find_cell(layout, name))
                continue
            if default is None:
                default = find_cell(layout, cell) if (cell is None or isinstance(cell, str)) else cell
            cells.append(default)
        except CellNotFoundError as exc:
            key = "cell" if name is not None else None
            raise ReplayError(exc.message, outcome=ReplayError.UNCHANGED, step=number, key=key, cause=exc,
                              **step.where(key)) from None
    return cells


def _preflight(layout: "db.Layout", recipe: Recipe, cells: list,
               layer_aliases: Mapping[str, int] | None) -> None:
    """Check every step's To layer and layer references before the first write.

    The steps run against a scratch layout that has the real one's layers (same indexes) and cell
    names but no shapes; each step's To layer is created in it as the engine will create it, so a
    step may read what an earlier step makes.  Uses the engine's own resolution, so the messages
    (candidates, hex hints) are the ones a single evaluation gives.
    """
    from ..engine.binding import bind
    from ..engine.layers import resolve_cell, resolve_target
    from ..language import is_empty, layer_refs, parse
    scratch = db.Layout()
    scratch.dbu = layout.dbu
    for index in layout.layer_indexes():
        scratch.insert_layer_at(index, layout.get_info(index))
    aliases = dict(layer_aliases) if layer_aliases else None
    for number, step in enumerate(recipe.steps, 1):
        try:
            if not is_empty(step.expression):
                tree = parse(step.expression)
                for ref in layer_refs(tree):   # lname.cellname: only the cells named need to exist
                    if ref.cell is not None and not scratch.has_cell(ref.cell):
                        resolve_cell(layout, ref.cell, ref.pos, step.expression)   # the real hints
                        scratch.create_cell(ref.cell)
                bind(tree, step.expression, scratch, aliases)
        except LayertoolsError as exc:
            raise _replay_error(exc, number, step).with_outcome(ReplayError.UNCHANGED) from exc
        try:
            resolve_target(scratch, step.options.to, aliases).ensure(scratch)
        except LayertoolsError as exc:   # the To layer's own check: about the key 'to'
            raise _replay_error(exc, number, step, key="to").with_outcome(ReplayError.UNCHANGED) from exc


def _layers_written_by(layout: "db.Layout", to: str, layer_aliases: Mapping[str, int] | None) -> list[int]:
    """The existing layer a step's To names (to save before the step), by the engine's own lookup.

    The checkpoint also records what each step really wrote and refuses to claim a restore it
    could not do, should the two ever disagree."""
    from ..engine.layers import resolve_target
    try:
        index = resolve_target(layout, to, dict(layer_aliases) if layer_aliases else None).index
    except LayertoolsError:   # the step itself will report it
        return []
    return [] if index is None else [index]


def layers_read_by(recipe: Recipe) -> "set[tuple[int, int]] | None":
    """Every layer the steps read from the file, or None when one is named by name only."""
    from ..engine.layers import layers_to_load
    found: set[tuple[int, int]] = set()
    for step in recipe.steps:
        layers = layers_to_load(step.expression, step.options)
        if layers is None:
            return None
        found |= layers
    return found
