"""One evaluation: options, expression, layers and cells checked; the result computed by the chosen
strategy (copy, flat, deep or tiled); then written in one step (doc/decisions.md I1, D20).

``evaluate`` checks everything (options, expression, layers, cells) and computes the complete
result before it writes a single shape, so an error or a cancel leaves the layout unchanged (D10).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Callable, Dict, Optional

from ..compat import db
from ..errors import Cancelled, EvaluationError, LayertoolsError, OptionError
from ..language import is_empty, parse
from ..language.ast import LayerRef
from ..layoutio import find_cell
from ..limits import clipped
from ..options import DEFAULT_PARTITION, EvalOptions, EvalResult
from .auto import choose
from .binding import BoundExpression, bind, reference_box
from .cost import available_cores, best_partition, count
from .layers import ToLayer, resolve_target
from .output import CellWrite, ScratchLayer, commit, shape_region
from .regions import LayerSource, RegionEvaluator, has_shapes_below, own_region
from .tiled import evaluate_tiled, fits_tile_limit

Progress = Callable[[str, "float | None"], None]
#: The selected shapes of each layer (``sqz``): layer index -> Region.
Selection = Optional[Dict[int, "db.Region"]]


def evaluate(layout: "db.Layout", cell: Any, expression: str, to: str, *, progress: Progress | None = None,
             selection: Selection = None, layer_aliases: dict[str, int] | None = None,
             distribute: Any = None, **options: Any) -> EvalResult:
    """Evaluate ``expression`` in ``cell`` and write it to layer ``to``; see the module docstring."""
    unknown = set(options) - {f.name for f in dataclasses.fields(EvalOptions)}
    if unknown:
        raise OptionError(f"unknown option(s): {', '.join(sorted(unknown))}")
    opts = EvalOptions(to=to, **options).validated()
    return evaluate_with_options(layout, cell, expression, opts, progress=progress, selection=selection,
                                 layer_aliases=layer_aliases, distribute=distribute)


def evaluate_with_options(layout: "db.Layout", cell: Any, expression: str, opts: EvalOptions, *,
                          progress: Progress | None = None, selection: Selection = None,
                          layer_aliases: dict[str, int] | None = None, distribute: Any = None) -> EvalResult:
    """``evaluate`` with the options already in one EvalOptions (the To layer included).
    ``distribute`` (optional, e.g. layertools.cluster's) runs the tiles of the tiled strategy in
    other processes; the result and its commit are the same."""
    start = time.perf_counter()
    scratch = None
    try:
        opts = opts.validated()
        cell = cell_to_evaluate(layout, cell if cell is not None else opts.cell)
        target = resolve_target(layout, opts.to, layer_aliases)
        result = EvalResult(expression=expression, target=target.label, threads=opts.threads,
                            partition=opts.partition)
        report = progress or _no_progress
        scratch = ScratchLayer(layout)
        if is_empty(expression):
            writes = _empty_expression(layout, cell, target, opts, result)
        else:
            bound = bind(parse(expression), expression, layout, layer_aliases)
            writes = _plan(layout, cell, bound, target, opts, result, report, selection, scratch, distribute)
        report("writing", None)
        if writes is not None:
            result.shapes_written = commit(layout, target, writes, scratch)
            result.layer_index = target.ensure(layout)  # commit made it
            result.cells_written = _cells_written(layout, writes, result.layer_index)
            if distribute is not None:  # its copies of the input no longer hold this layer's shapes
                distribute.layer_written(result.layer_index)
        else:
            result.layer_index = -1 if target.index is None else target.index
    except BaseException as exc:
        if scratch is not None:
            scratch.discard()
        if isinstance(exc, (LayertoolsError, KeyboardInterrupt, SystemExit)):
            raise
        raise _as_layertools_error(exc) from None
    result.seconds = time.perf_counter() - start
    return result


def _as_layertools_error(exc: BaseException) -> LayertoolsError:
    """The one boundary where any other exception becomes a message (no traceback reaches a user);
    every known cause is checked earlier, so reaching here is a bug worth reporting."""
    if isinstance(exc, RuntimeError) and not isinstance(exc, RecursionError):  # KLayout's own errors
        text = str(exc)
        if "cancel" in text.lower() or "break" in text.lower():  # its progress bar's cancel
            return Cancelled("evaluation cancelled; the layout is unchanged")
        return EvaluationError(f"evaluation failed: {clipped(text)}; the layout is unchanged")
    if isinstance(exc, MemoryError):
        return EvaluationError("evaluation ran out of memory; the layout is unchanged "
                               "(try --strategy tiled with a smaller partition)")
    if isinstance(exc, RecursionError):
        return EvaluationError("the expression is nested too deeply to evaluate; the layout is unchanged")
    return EvaluationError(f"evaluation failed: internal error {type(exc).__name__}: {clipped(str(exc))} "
                           "(please report it); the layout is unchanged")


def _no_progress(message: str, fraction: "float | None") -> None:
    """The default progress callback: nothing to show, and tiles run in one piece."""


def cell_to_evaluate(layout: "db.Layout", cell: Any) -> "db.Cell":
    """The Cell meant by ``cell``: a Cell, a cell index, a name, or None for the top cell."""
    if cell is None or isinstance(cell, str):
        return find_cell(layout, cell)
    if isinstance(cell, int):
        return layout.cell(cell)
    return cell


# -- the three kinds of evaluation ---------------------------------------------------------------

def _empty_expression(layout: "db.Layout", cell: "db.Cell", target: ToLayer, opts: EvalOptions,
                      result: EvalResult) -> list[CellWrite] | None:
    """Xic step 3: only create the layer, or rebuild an existing one in the chosen format."""
    result.strategy = "none"
    if target.index is None:
        return []  # creates the layer, writes nothing
    if opts.format == "default":
        result.warnings.append("empty expression: nothing to do")
        return None
    region = own_region(cell, target.index)
    shaped = shape_region(region, opts.format, opts.join_max_poly_verts)
    result.copied = True
    return [CellWrite(cell.cell_index(), region=shaped, clear_cells=[cell.cell_index()])]


def _plan(layout: "db.Layout", cell: "db.Cell", bound: BoundExpression, target: ToLayer, opts: EvalOptions,
          result: EvalResult, report: Progress, selection: Selection, scratch: ScratchLayer,
          distribute: Any = None) -> list[CellWrite] | None:
    depth = opts.depth_limit()
    recursive = opts.recursive and depth != 0
    cells = _cells_for(layout, cell, depth) if recursive else [cell]
    if bound.is_copy:
        result.copied = True
        result.strategy = "copy"
        return _copy(layout, cells, bound, target, opts, 0 if recursive else depth)
    strategy, partition, threads = choose_strategy(layout, cell, bound, target, opts, result, recursive,
                                                   distributed=distribute is not None)
    writes = []
    for number, each in enumerate(cells):
        if recursive:
            report(f"cell {each.name} ({number + 1} of {len(cells)})", number / len(cells))
        region, tiles, keep_alive = _evaluate_cell(layout, each, bound, 0 if recursive else depth, strategy,
                                              partition, threads, opts, result, report, selection, scratch,
                                              distribute)
        result.tiles += tiles
        clear = [each.cell_index()] if opts.clear or opts.merge else []
        merge = opts.merge and target.index is not None and not opts.fast
        if region is None and not merge:  # tiled: shaped and written by the tiles already
            writes.append(CellWrite(each.cell_index(), clear_cells=clear, from_scratch=True))
            continue
        if region is None:
            scratch_shapes = each.shapes(scratch.index)
            region = db.Region(scratch_shapes)
            region.merged_semantics = False
            region = region.dup()
            scratch_shapes.clear()
        if merge and target.index is not None:
            existing = db.Region() if opts.clear else own_region(each, target.index)
            region = (existing + _flat(region)).merged()
        shaped = shape_region(region, opts.format, opts.join_max_poly_verts,
                              merged=region.is_deep() and not merge and bound.result_is_merged())
        if shaped.is_deep() and opts.clear:
            clear += list(each.called_cells())
        writes.append(CellWrite(each.cell_index(), region=shaped, clear_cells=clear, keep_alive=keep_alive))
    return writes


def choose_strategy(layout: "db.Layout", cell: "db.Cell", bound: BoundExpression, target: ToLayer,
                    opts: EvalOptions, result: EvalResult, recursive: bool,
                    distributed: bool = False) -> tuple[str, float | None, int]:
    """The strategy, partition and threads a run uses (auto resolved), recorded in ``result``.
    Distributed runs are tiled: the tile plan is what is cut into work for other processes."""
    strategy, partition, threads = opts.strategy, opts.partition, opts.threads
    if distributed and strategy in ("flat", "deep"):
        result.warnings.append(f"the {strategy} strategy runs in this process: a cluster runs tiled evaluations")
    if distributed and strategy == "auto":
        strategy = "tiled"
        result.reason = "a cluster runs the tiled strategy"
    if strategy == "auto":
        target_below = target.index is not None and has_shapes_below(layout, cell, target.index)
        choice = choose(layout, cell, bound, partition, threads, target_below, opts.depth_limit())
        strategy, partition, threads = choice.strategy, choice.partition, choice.threads
        result.reason = choice.reason
    if recursive and strategy == "deep":
        strategy = "flat"
        result.warnings.append("recursive mode reads each cell's own shapes: deep is not needed, flat was used")
    if strategy == "tiled" and not bound.reads_layers:
        strategy = "flat"
        result.warnings.append("the expression reads no layers: evaluated once, flat")
    if strategy == "tiled" and partition == DEFAULT_PARTITION:
        partition = _default_partition_within_limit(layout, cell, bound, opts, threads, result)
    result.strategy, result.partition, result.threads = strategy, partition, threads
    return strategy, partition, threads


def _default_partition_within_limit(layout: "db.Layout", cell: "db.Cell", bound: BoundExpression,
                                    opts: EvalOptions, threads: int, result: EvalResult) -> float:
    """The default partition is no request (auto treats it so too): on a die it would cut into more
    tiles than the engine's limit, the cost model sizes the tiles, as it does for auto, and the run
    says so, instead of refusing a partition the user never gave."""
    box = reference_box(layout, cell, bound)
    if box.empty() or fits_tile_limit(box, layout.dbu, DEFAULT_PARTITION, bound.halo_um):
        return DEFAULT_PARTITION
    size = best_partition(count(layout, cell, bound, opts.depth_limit()), threads or available_cores())
    result.warnings.append(f"the default {DEFAULT_PARTITION:g} µm partition would cut this "
                           f"{box.width() * layout.dbu:,.0f} x {box.height() * layout.dbu:,.0f} µm area into "
                           f"too many tiles: {size:g} µm tiles were used, as auto would (--partition sets another)")
    return size


def _evaluate_cell(layout: "db.Layout", cell: "db.Cell", bound: BoundExpression, depth: int | None, strategy: str,
                   partition: float | None, threads: int, opts: EvalOptions, result: EvalResult, report: Progress,
                   selection: Selection, scratch: ScratchLayer,
                   distribute: Any = None) -> "tuple[db.Region | None, int, object]":
    """The result region of one cell, or None when the tiles wrote it into the scratch layer."""
    box = reference_box(layout, cell, bound)
    reference = db.Region(box)
    store = None
    if strategy == "deep":
        store = db.DeepShapeStore()
        store.threads = threads
    source = LayerSource(layout, cell, depth, store)
    evaluator = RegionEvaluator(bound, source, reference, layout.dbu, selection,
                                check=lambda: report("evaluating", None))
    if strategy == "tiled" and not box.empty():
        tile = partition if partition else max(box.width(), box.height()) * layout.dbu + 2 * bound.halo_um + 1
        max_vertices = opts.join_max_poly_verts if opts.format in ("default", "joined") else 0
        sink = (layout, cell.cell_index(), scratch.ensure())
        region = None  # in the scratch layer
        tiles = evaluate_tiled(bound, source, box, evaluator, tile, threads, opts.format, sink,
                               max_vertices, None if report is _no_progress else report, distribute)
    else:
        report(f"evaluating ({strategy})", None)
        region, tiles = evaluator.result(), 1
    result.warnings.extend(w for w in evaluator.warnings if w not in result.warnings)
    # A deep region needs its store, and the layout the store read from (the source's copy with
    # placement repetitions expanded, engine/placements.py), alive until it is committed.
    return region, tiles, (store, source) if store is not None else None


def _copy(layout: "db.Layout", cells: list, bound: BoundExpression, target: ToLayer, opts: EvalOptions,
          depth: int | None) -> list[CellWrite] | None:
    """D17: a lone layer name copies objects unchanged (flattened to the depth), no clipping."""
    ref = bound.tree
    assert isinstance(ref, LayerRef)  # bound.is_copy
    source_index = bound.layer_of[id(ref)]
    source_cell_index = bound.cell_of.get(id(ref))
    writes = []
    for cell in cells:
        source_cell = cell if source_cell_index is None else layout.cell(source_cell_index)
        same_layer = target.index == source_index and source_cell.cell_index() == cell.cell_index()
        if same_layer and opts.format == "default":
            continue  # D9: To layer = the expression's lone layer: nothing to do
        iterator = source_cell.begin_shapes_rec(source_index)
        iterator.shape_flags = db.Shapes.SBoxes | db.Shapes.SPolygons | db.Shapes.SPaths
        if depth is not None:
            iterator.max_depth = 0 if same_layer else depth
        clear = [cell.cell_index()] if (opts.clear or same_layer) else []
        if opts.format == "default" and not opts.merge:
            shapes = db.Shapes()
            shapes.insert(iterator)
            writes.append(CellWrite(cell.cell_index(), shapes=shapes, clear_cells=clear))
            continue
        region = db.Region()
        region.insert(iterator)
        if opts.merge and not same_layer and target.index is not None and not opts.clear:
            region = own_region(cell, target.index) + region
            clear = [cell.cell_index()]
        if opts.format in ("hsplit", "vsplit"):
            region.merged_semantics = opts.merge  # each object on its own unless merging (Xic)
        shaped = shape_region(region, opts.format if opts.format != "default" else "joined",
                              opts.join_max_poly_verts)
        writes.append(CellWrite(cell.cell_index(), region=shaped, clear_cells=clear))
    return writes or None


def _cells_for(layout: "db.Layout", cell: "db.Cell", depth: int | None) -> list:
    """Recursive mode: the cell and every distinct cell within ``depth`` levels, children first."""
    levels = {cell.cell_index(): 0}
    frontier = [cell.cell_index()]
    while frontier:
        nxt = []
        for index in frontier:
            if depth is not None and levels[index] >= depth:
                continue
            for child in layout.cell(index).each_child_cell():
                if child not in levels:
                    levels[child] = levels[index] + 1
                    nxt.append(child)
        frontier = nxt
    ordered = [i for i in layout.each_cell_bottom_up() if i in levels and i != cell.cell_index()]
    return [layout.cell(i) for i in ordered] + [cell]


def _cells_written(layout: "db.Layout", writes: list[CellWrite], layer_index: int) -> int:
    """Cells that received shapes: deep results land in the cells below as well."""
    cells = set()
    for write in writes:
        if write.region is not None and write.region.is_deep():
            for index in [write.cell_index, *layout.cell(write.cell_index).called_cells()]:
                shapes = layout.cell(index).begin_shapes_rec(layer_index)
                shapes.max_depth = 0
                if not shapes.at_end():
                    cells.add(index)
        else:
            cells.add(write.cell_index)
    return len(cells)


def _flat(region: "db.Region") -> "db.Region":
    if region.is_deep():
        flat = db.Region()
        flat.insert(region)
        return flat
    return region


__all__ = ["evaluate", "evaluate_with_options", "choose_strategy", "cell_to_evaluate"]
