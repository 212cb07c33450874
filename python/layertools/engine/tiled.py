"""Partitioned evaluation on KLayout's TilingProcessor (D6).

The expression is compiled into one tile script (KLayout's expression language, run in C++ by
the worker threads: no Python per tile).  Subtrees that need the whole picture are evaluated
once beforehand and fed in as inputs.  The grid is anchored at the reference area's lower-left
corner; the tile border is the expression's total halo, so results do not depend on the
partition size or the thread count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable

from ..compat import db
from ..errors import OptionError
from ..language.ast import Binary, Call, LayerRef, Node, Number, Unary, truthy
from ..limits import MAX_TILES, MIN_TILE_DBU
from .binding import BoundExpression
from .functions import function_of
from .geometry import octagon
from .output import TRANSPOSE_EXPRESSION, break_polygons
from .regions import LayerSource, RegionEvaluator, scalar_identity


@dataclass
class TileScript:
    """The compiled script and the inputs it names."""

    statements: list[str] = field(default_factory=list)
    result: str = "none"
    layer_inputs: dict[tuple[int, int | None], str] = field(default_factory=dict)
    region_inputs: dict[str, "db.Region"] = field(default_factory=dict)
    counter: int = 0

    def temp(self, expression: str) -> str:
        self.counter += 1
        name = f"t{self.counter}"
        self.statements.append(f"var {name} = {expression}")
        return name


@dataclass
class TilingPlan:
    tile_um: float
    origin: tuple[float, float]
    frame: "db.DBox"
    nx: int
    ny: int
    border_um: float
    dbu: float

    @property
    def tiles(self) -> int:
        return self.nx * self.ny


def plan_tiles(reference: "db.Box", dbu: float, tile_um: float, halo_um: float) -> TilingPlan:
    inner = reference.to_dtype(dbu)
    outer = inner.enlarged(halo_um, halo_um) if halo_um > 0 else inner.dup()
    # A tile far larger than the area is one tile either way; capping it keeps KLayout's integer tile
    # coordinates representable (partition 1e300).
    tile_um = min(tile_um, 4 * (max(outer.width(), outer.height()) + 2 * halo_um) + 1)
    if tile_um < MIN_TILE_DBU * dbu:
        raise OptionError(f"partition {tile_um:g} µm is smaller than {MIN_TILE_DBU} database units "
                          f"({MIN_TILE_DBU * dbu:g} µm, the limit)")
    if _tile_bound(outer, tile_um) > MAX_TILES:
        _too_many_tiles(tile_um, outer)
    steps_out = math.ceil(halo_um / tile_um) if halo_um > 0 else 0
    origin = (inner.left - steps_out * tile_um, inner.bottom - steps_out * tile_um)
    nx = max(1, math.ceil((outer.right - origin[0]) / tile_um - 1e-9))
    ny = max(1, math.ceil((outer.top - origin[1]) / tile_um - 1e-9))
    if nx * ny > MAX_TILES:
        _too_many_tiles(tile_um, outer)
    return TilingPlan(tile_um, origin, outer, nx, ny, halo_um, dbu)


def _tile_bound(outer: "db.DBox", tile_um: float) -> float:
    """At least the number of tiles of ``tile_um`` that cover ``outer`` (floats: no huge ints)."""
    return (outer.width() / tile_um + 1) * (outer.height() / tile_um + 1)


def fits_tile_limit(reference: "db.Box", dbu: float, tile_um: float, halo_um: float) -> bool:
    """Whether plan_tiles can cut ``reference`` (grown by the halo) into tiles of ``tile_um``."""
    outer = reference.to_dtype(dbu).enlarged(halo_um, halo_um)
    return _tile_bound(outer, tile_um) <= MAX_TILES


def _too_many_tiles(tile_um: float, area: "db.DBox") -> None:
    least = math.sqrt(max(area.width(), 1e-3) * max(area.height(), 1e-3) / MAX_TILES)
    raise OptionError(f"partition {tile_um:g} µm would cut the {area.width():.6g} x {area.height():.6g} µm area "
                      f"into more than {MAX_TILES:,} tiles (the limit): use a partition of at least "
                      f"{least:.2g} µm, or none")


class TileCompiler:
    """Turns a bound tree into tile-script statements; global subtrees become precomputed inputs."""

    def __init__(self, bound: BoundExpression, flat: RegionEvaluator):
        self.bound = bound
        self.flat = flat
        self.script = TileScript()

    def compile(self) -> TileScript:
        # The reference area is the whole AOI, not the tile: the Region receiver clips each tile's
        # result, and KLayout's ``_tile`` is not defined when the array has a single tile.
        self.script.statements.append("var ref = aoi")
        self.script.statements.append("var none = Region.new")
        result = self.node(self.bound.tree)
        if result.startswith(("in", "pre")):  # raw layer data: merge like any boolean result
            result = self.script.temp(f"{result}.merged")
        self.script.result = result
        return self.script

    def node(self, node: Node) -> str:
        if isinstance(node, Number):
            return "ref" if truthy(node.value) else "none"
        if isinstance(node, LayerRef):
            key = (self.bound.layer_of[id(node)], self.bound.cell_of.get(id(node)))
            if key not in self.script.layer_inputs:
                self.script.layer_inputs[key] = f"in{len(self.script.layer_inputs)}"
            return self.script.layer_inputs[key]
        if isinstance(node, Unary):
            return self.script.temp(f"ref - {self.node(node.operand)}")
        if isinstance(node, Binary):
            return self.binary(node.op, node.left, node.right)
        if isinstance(node, Call) and function_of(node).per_tile(node):
            return function_of(node).tile(self, node)
        return self.precomputed(node)  # needs the whole picture, or has no tile form

    def binary(self, op: str, left: Node, right: Node) -> str:
        for scalar, other, scalar_left in ((left, right, True), (right, left, False)):
            if isinstance(scalar, Number):
                shortcut = scalar_identity(op, truthy(scalar.value), scalar_left)
                if shortcut == "other":
                    return self.node(other)
                if shortcut == "empty":
                    return "none"
        symbol = {"&": "&", "*": "&", "|": "|", "+": "|", "-": "-", "^": "^"}[op]
        return self.script.temp(f"{self.node(left)} {symbol} {self.node(right)}")

    def cut_corner_sized(self, inner: str, dist: int) -> str:
        """geometry.cut_corner_sized for a growing ``dist``, in the tile script."""
        points = ", ".join(f"Point.new({p.x}, {p.y})" for p in octagon(dist).each_point_hull())
        return self.script.temp(f"({inner} | {inner}.edges.extended(0, 0, {dist}, 0, false)"
                                f" | {inner}.minkowski_sum(Polygon.new([{points}]))).merged")

    def precomputed(self, node: Node) -> str:
        name = f"pre{len(self.script.region_inputs)}"
        self.script.region_inputs[name] = self.flat.geometry(self.flat.value(node))
        return name


def evaluate_tiled(bound: BoundExpression, source: LayerSource, reference_box: "db.Box",
                   flat: RegionEvaluator, tile_um: float, threads: int, output_format: str,
                   sink: tuple, max_vertices: int = 0,
                   progress: Callable[[str, float | None], None] | None = None, distribute: Any = None) -> int:
    """Evaluate on tiles, writing each tile's clipped result straight into ``sink`` =
    (layout, cell index, layer index); returns the number of tiles.  ``distribute`` (optional)
    runs the tiles elsewhere: an object with ``run_tiles(TileRun, sink, holed, progress)``."""
    plan = plan_tiles(reference_box, source.layout.dbu, tile_um, bound.halo_um)
    script = TileCompiler(bound, flat).compile()
    statements = list(script.statements)
    result = script.result
    if output_format == "hsplit":  # as output.split: TD_simple (0), of the transposed data for vsplit
        result = f"{result}.decompose_trapezoids_to_region(0)"
    elif output_format == "vsplit":
        statements.append(f"var transpose = {TRANSPOSE_EXPRESSION}")
        result = f"{result}.transformed(transpose).decompose_trapezoids_to_region(0).transformed(transpose)"
    elif max_vertices > 0:
        # JoinMaxPolyVerts (D8): Region.break is only right for hole-free polygons, so polygons
        # with holes go to Python (few) to be made hole-free first.  A tile without holes (nearly
        # all) breaks its own temporary result in place: one pass, no filtered copy (that copy cost
        # about 0.15 s of 8 s on tt06's boolean mix).
        in_place = result.startswith("t")  # a temporary of this script, never an input
        statements += [f"var holes = {result}.with_holes(1, nil, false)",
                       f"var plain = holes.is_empty ? {result if in_place else f'{result}.dup'} "
                       f": {result}.with_holes(0, false)",
                       f"plain.break({max_vertices}, 0.0)", "_output(holed, holes)"]
        result = "plain"
    text = "; ".join(statements + [f"_output(o, {result})"])
    holed = db.Region()
    aoi = db.Region(reference_box)
    if distribute is not None:  # another process set runs the same bands (layertools.cluster)
        distribute.run_tiles(TileRun(text, plan, threads, source, dict(script.layer_inputs),
                                     dict(script.region_inputs), reference_box), sink, holed, progress)
    else:
        _run_here(text, plan, threads, source, script, aoi, sink, holed, progress)
    if not holed.is_empty():
        layout_, cell_index, layer_index = sink
        layout_.cell(cell_index).shapes(layer_index).insert(break_polygons(holed, max_vertices))
    if progress is not None:
        progress("tiles done", 1.0)
    return plan.tiles


def _run_here(text: str, plan: TilingPlan, threads: int, source: LayerSource, script: TileScript, aoi: "db.Region",
              sink: tuple, holed: "db.Region", progress: Callable[[str, float | None], None] | None) -> None:
    # Bands of tile rows: each band is one TilingProcessor run, so that progress can be shown and a
    # cancel honoured between bands without Python in the tiles.  Each band ends with workers idle,
    # so where KLayout's own progress bar follows the tiles (in the application; its Cancel stops
    # the run) the tiles run in one piece.
    banded = progress is not None and not getattr(progress, "klayout_shows_tile_progress", False)
    bands = _bands(plan, threads) if banded else [(0, plan.ny)]
    for number, (row0, row1) in enumerate(bands):
        label = (f"tiles: rows {row0 + 1}-{row1} of {plan.ny}" if banded
                 else f"tiles: {plan.nx} x {plan.ny} of {plan.tile_um:g} µm")
        if progress is not None:
            progress(label, number / len(bands))
        inputs: dict[str, Any] = {}  # RecursiveShapeIterators and Regions
        for (layer_index, cell_index), name in script.layer_inputs.items():
            inputs[name] = source.tile_iterator(layer_index, cell_index)
        inputs.update(script.region_inputs)
        inputs["aoi"] = aoi
        run_band(text, plan, Band(0, plan.nx, row0, row1), threads, inputs, {"o": sink, "holed": holed}, label)


@dataclass(frozen=True)
class Band:
    """A rectangle of the tile plan: columns [col0, col1) and rows [row0, row1)."""

    col0: int
    col1: int
    row0: int
    row1: int

    @property
    def tiles(self) -> int:
        return (self.col1 - self.col0) * (self.row1 - self.row0)


@dataclass
class TileRun:
    """Everything one tiled evaluation hands to another executor (layertools.cluster): the tile
    script, the plan, the layers it reads (layout index, cell index or None for the source cell)
    and the precomputed inputs.  Each band is run with ``run_band``, as here."""

    text: str
    plan: TilingPlan
    threads: int
    source: LayerSource
    layer_inputs: dict[tuple[int, int | None], str]
    region_inputs: dict[str, "db.Region"]
    reference_box: "db.Box"


def run_band(text: str, plan: TilingPlan, band: Band, threads: int, inputs: dict, outputs: dict,
             label: str = "tiles") -> None:
    """One TilingProcessor run over ``band`` of ``plan``: the one place a tile array is set up, so
    every executor (this process, a cluster worker) cuts exactly the same tiles.  ``inputs`` maps
    script names to RecursiveShapeIterators or Regions, ``outputs`` to Regions or
    (layout, cell index, layer index) receivers."""
    processor = db.TilingProcessor()
    processor.dbu = plan.dbu
    processor.tile_size(plan.tile_um, plan.tile_um)
    processor.tile_origin(plan.origin[0] + band.col0 * plan.tile_um, plan.origin[1] + band.row0 * plan.tile_um)
    # The tile array is given exactly (size, count, origin): no frame, so no rounding decides it.
    processor.tiles(band.col1 - band.col0, band.row1 - band.row0)
    if plan.border_um > 0:
        processor.tile_border(plan.border_um, plan.border_um)
    processor.threads = threads
    for name, value in inputs.items():
        processor.input(name, value)
    for name, receiver in outputs.items():
        if isinstance(receiver, tuple):
            processor.output(name, *receiver)
        else:
            processor.output(name, receiver)
    processor.queue(text)
    processor.execute(label)


def _bands(plan: TilingPlan, threads: int) -> list[tuple[int, int]]:
    """Row ranges for progress reports: about 8 bands, each wide enough to keep every worker busy
    (each band ends with workers idle, so bands cost thread scaling: one band without progress)."""
    per_band = max(1, math.ceil(plan.ny / 8))
    min_tiles = 4 * max(1, threads)
    while per_band < plan.ny and per_band * plan.nx < min_tiles:
        per_band += 1
    bands = [(row, min(row + per_band, plan.ny)) for row in range(0, plan.ny, per_band)]
    if len(bands) > 1 and (bands[-1][1] - bands[-1][0]) * plan.nx < 2:
        # KLayout runs a one-tile array untiled (the whole input, no clip): never leave one alone
        bands[-2:] = [(bands[-2][0], plan.ny)]
    return bands
