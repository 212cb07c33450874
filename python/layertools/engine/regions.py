"""Evaluating a bound expression with KLayout Regions: flat, or hierarchical on one DeepShapeStore.

Values are floats (scalars) or Regions.  A scalar that meets geometry becomes the whole
reference area when non-zero and nothing when zero (D2).  ``geomCat`` yields ``Pieces`` (the
merged arguments kept apart) so that one-argument ``geomAnd``/``geomXor`` can count coverage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

from ..compat import db
from ..errors import EvaluationError
from ..language.ast import Binary, Call, Instances, LayerRef, Node, Number, Unary, truthy
from ..language.functions import zoid_corners
from .binding import BoundExpression, cuts_corners


@dataclass
class Pieces:
    """geomCat's result: the pieces of several arguments, overlaps kept."""

    regions: list

    def union(self) -> "db.Region":
        return union(self.regions)


Value = Union[float, "db.Region", Pieces]


def union(regions: list) -> "db.Region":
    """The union of regions.  Deep regions are only concatenated: KLayout 0.30.12 gets
    ``A - (B | C)`` wrong in deep mode when ``B | C`` (or a merged concatenation) is deep
    (IHP SRAM 8192x32: 13.6 µm² lost); with merged semantics a concatenation is the same union."""
    out = db.Region()
    seen = set()
    for region in regions:  # a layer named again is the same cached Region: adding it again only
        if id(region) not in seen:  # makes the merge slower (geomOr of 10,000 repeats: 8 s -> 0.1 s)
            seen.add(id(region))
            out += region
    return out if out.is_deep() else out.merged()


def own_region(cell: "db.Cell", layer_index: int) -> "db.Region":
    """The cell's own shapes on a layer, read without ``cell.shapes(layer)``: that call creates an
    empty shape list where there is none, which changes the layout's memory figures."""
    iterator = cell.begin_shapes_rec(layer_index)
    iterator.max_depth = 0
    region = db.Region()
    region.insert(iterator)
    return region


def has_shapes_below(layout: "db.Layout", cell: "db.Cell", layer_index: int) -> bool:
    """True when a cell under ``cell`` holds shapes on the layer (per-layer boxes are hierarchical)."""
    return any(not layout.cell(child).bbox(layer_index).empty() for child in cell.each_child_cell())


class LayerSource:
    """Where layer reads come from: the evaluated cell's hierarchy (flat or deep), or a selection."""

    def __init__(self, layout: "db.Layout", cell: "db.Cell", depth: int | None,
                 store: "db.DeepShapeStore | None" = None):
        self.layout = layout
        self.cell = cell
        self.depth = depth
        self.store = store
        self._cache: dict[tuple[int, int], "db.Region"] = {}

    def layer(self, layer_index: int, cell_index: int | None) -> "db.Region":
        cell = self.cell if cell_index is None else self.layout.cell(cell_index)
        key = (layer_index, cell.cell_index())
        if key not in self._cache:
            self._cache[key] = self._read(cell, layer_index, deep=(cell_index is None))
        return self._cache[key]

    def _read(self, cell: "db.Cell", layer_index: int, deep: bool) -> "db.Region":
        iterator = cell.begin_shapes_rec(layer_index)
        if self.depth is not None:
            iterator.max_depth = self.depth
        if self.store is not None and deep:
            return db.Region(iterator, self.store)
        if self.depth is None:
            return db.Region(iterator)  # reads lazily from the layout, no flat copy
        # With max_depth, Region(iterator).count() is wrong in KLayout: copy instead.
        region = db.Region()
        region.insert(iterator)
        return region

    def instances(self) -> "db.Region":
        """$$: one box per instance placed directly in the cell; an array gives its whole box (D15)."""
        region = db.Region()
        for inst in self.cell.each_inst():
            region.insert(inst.bbox())
        return region


class SelectionSource(LayerSource):
    """Layer reads for ``sqz``: only the selected shapes of each layer."""

    def __init__(self, base: LayerSource, selection: dict[int, "db.Region"] | None):
        super().__init__(base.layout, base.cell, base.depth)
        self.selection = selection or {}

    def layer(self, layer_index: int, cell_index: int | None) -> "db.Region":
        region = self.selection.get(layer_index)
        return region.dup() if region is not None else db.Region()


class RegionEvaluator:
    """Evaluates a bound tree to a Region over the reference area ``reference``."""

    def __init__(self, bound: BoundExpression, source: LayerSource, reference: "db.Region",
                 dbu: float, selection: dict[int, "db.Region"] | None = None,
                 check: Callable[[], None] | None = None):
        self.bound = bound
        self.source = source
        self.reference = reference
        self.dbu = dbu
        self.selection = selection
        self.check = check or (lambda: None)
        self.warnings: list[str] = []

    def result(self) -> "db.Region":
        return self.geometry(self.value(self.bound.tree))

    # -- conversions ---------------------------------------------------------------------------
    def geometry(self, value: Value) -> "db.Region":
        if isinstance(value, Pieces):
            return value.union()
        if isinstance(value, float):
            return self.reference.dup() if truthy(value) else db.Region()
        return value

    def dbu_of(self, microns: float) -> int:
        return int(round(microns / self.dbu))

    # -- nodes -------------------------------------------------------------------------------------
    def value(self, node: Node) -> Value:
        self.check()
        if isinstance(node, Number):
            return float(node.value)
        if isinstance(node, LayerRef):
            return self.source.layer(self.bound.layer_of[id(node)], self.bound.cell_of.get(id(node)))
        if isinstance(node, Instances):
            return self.source.instances()
        if isinstance(node, Unary):
            return self.reference.dup() - self.geometry(self.value(node.operand))  # scalars are folded
        if isinstance(node, Binary):
            return self.binary(node.op, self.value(node.left), self.value(node.right))
        if isinstance(node, Call):
            return self.call(node)
        raise EvaluationError(f"cannot evaluate {node!r}")

    def binary(self, op: str, left: Value, right: Value) -> Value:
        # Cheap identities first: they avoid whole-layer booleans against the reference box.
        if isinstance(left, float) or isinstance(right, float):
            scalar, other, scalar_left = (left, right, True) if isinstance(left, float) else (right, left, False)
            shortcut = scalar_identity(op, truthy(scalar), scalar_left)
            if shortcut == "other":
                return self.geometry(other)
            if shortcut == "empty":
                return db.Region()
        a, b = self.geometry(left), self.geometry(right)
        if a is b:  # the same layer on both sides: deep mode gets this wrong (KLayout #1643), and it is free
            return db.Region() if op in ("-", "^") else a
        if op in ("&", "*"):
            return a & b
        if op in ("|", "+"):
            return a + b if (a.is_deep() or b.is_deep()) else a | b  # see union()
        if op == "-":
            return a - b
        if op == "^":
            return a ^ b
        raise EvaluationError(f"unknown operator {op}")

    def call(self, node: Call) -> Value:
        name, args = node.name, node.args
        if name == "bloat":
            return self.bloat(node)
        if name == "edges":
            return self.edges(node)
        if name == "extent":
            region = self.geometry(self.value(args[0]))
            return db.Region() if region.is_empty() else db.Region(region.bbox())
        if name == "box":
            l, b, r, t = node.constants
            return db.Region(db.DBox(min(l, r), min(b, t), max(l, r), max(b, t)).to_itype(self.dbu))
        if name == "zoid":
            return db.Region(_zoid_polygon(node.constants, self.dbu))
        if name == "geomOr":
            return union([self.geometry(self.value(arg)) for arg in args])
        if name in ("geomAnd", "geomXor") and len(args) == 1:
            return self.coverage(name, self.value(args[0]))
        if name == "geomAnd":
            return self.binary("&", self.value(args[0]), self.value(args[1]))
        if name == "geomXor":
            return self.binary("^", self.value(args[0]), self.value(args[1]))
        if name == "geomAndNot":
            return self.binary("-", self.value(args[0]), self.value(args[1]))
        if name == "geomNot":
            return self.reference.dup() - self.geometry(self.value(args[0]))
        if name == "geomCat":
            return Pieces([self.geometry(self.value(arg)).merged() for arg in args])
        if name == "filt":
            groups = self.geometry(self.value(args[0])).merged()
            mask = self.geometry(self.value(args[1]))
            # whole groups whose overlap with the mask has area (touching alone is not enough)
            return db.Region() if mask.is_empty() else groups.overlapping(mask)
        if name == "sqz":
            inner = RegionEvaluator(self.bound, SelectionSource(self.source, self.selection),
                                    self.reference, self.dbu, self.selection, self.check)
            return inner.geometry(inner.value(args[0]))
        if name == "noop":
            return self.value(args[0])
        if name == "manhattanize":
            return self.manhattanize(node)
        raise EvaluationError(f"function {name} is not implemented")

    def coverage(self, name: str, value: Value) -> "db.Region":
        """One-argument geomAnd (covered twice or more) / geomXor (covered exactly once)."""
        if not isinstance(value, Pieces):
            region = self.geometry(value)
            return db.Region() if name == "geomAnd" else region.merged()
        pieces = value.regions
        twice = db.Region()
        for i, first in enumerate(pieces):  # pairwise overlaps: few pieces, exact in every version
            for second in pieces[i + 1:]:
                twice += first & second
        twice = twice.merged()
        if name == "geomAnd":
            return twice
        return value.union() - twice

    def bloat(self, node: Call) -> "db.Region":
        d, mode = node.constants[0], int(node.constants[1])
        region = self.geometry(self.value(node.args[1]))
        if mode & 0x8:
            return self._edge_band(region, d)
        known = 0x3 | 0x8
        if mode & ~known:
            self.warnings.append(f"bloat mode bits {mode & ~known:#x} are ignored (D13)")
        if d == 0:
            return region
        dist = self.dbu_of(d)
        if cuts_corners(node):
            return cut_corner_sized(region, dist)
        return region.sized(dist, dist, 2)       # square corners on Manhattan data (modes 0-2, as Xic)

    def edges(self, node: Call) -> "db.Region":
        d, mode = node.constants[0], int(node.constants[1])
        region = self.geometry(self.value(node.args[1]))
        dist = abs(self.dbu_of(d))
        if dist == 0:
            return db.Region()
        if mode <= 3:
            return self._edge_band(region, d)
        if mode == 4:
            return halo(region, dist)
        if mode == 5:
            return _edge_polygons(region.merged().edges(), dist)
        return zoid_edge_bands(region, dist)

    def _edge_band(self, region: "db.Region", d: float) -> "db.Region":
        dist = abs(self.dbu_of(d))
        return region.sized(dist, dist, 2) - region.sized(-dist, -dist, 2)

    def manhattanize(self, node: Call) -> "db.Region":
        d, mode = node.constants[0], int(node.constants[1])
        region = self.geometry(self.value(node.args[1]))
        step = max(self.dbu_of(abs(d)), self.dbu_of(MANHATTANIZE_MIN_STEP_UM))
        if mode == 0:
            return manhattanize(region, step, inner=True)
        return manhattanize_on_grid(region, step)


def scalar_identity(op: str, true: bool, scalar_left: bool) -> str | None:
    """What ``scalar op region`` reduces to without a boolean: 'other', 'empty' or None (compute)."""
    if op in ("&", "*"):
        return "other" if true else "empty"
    if op in ("|", "+"):
        return None if true else "other"
    if op == "-":
        if scalar_left:
            return None if true else "empty"
        return "empty" if true else "other"
    if op == "^":
        return None if true else "other"
    return None


def octagon(dist: int) -> "db.Polygon":
    """The regular octagon with its vertices on the circle of radius ``dist`` at every 45°."""
    diagonal = int(math.floor(dist / math.sqrt(2) + 0.5))
    points = [(dist, 0), (diagonal, diagonal), (0, dist), (-diagonal, diagonal),
              (-dist, 0), (-diagonal, -diagonal), (0, -dist), (diagonal, -diagonal)]
    return db.Polygon([db.Point(x, y) for x, y in points])


def cut_corner_sized(region: "db.Region", dist: int) -> "db.Region":
    """Xic's bloat mode 3 (its DRC sizing): every edge moves out by ``dist``; a convex corner is cut
    by two facets through the points at ``dist`` from the vertex on the edge normals and on the
    bisector.  On Manhattan (and 45°) data those points are the vertices of :func:`octagon`, so the
    corners are its Minkowski sum; the edge strips keep slanted edges exactly ``dist`` away.
    A negative ``dist`` shrinks: the complement grows (its convex corners are our concave ones)."""
    if dist == 0:
        return region
    if dist < 0:
        merged = region.merged()
        frame = db.Region(merged.bbox().enlarged(-dist + 1, -dist + 1))
        return merged - cut_corner_sized(frame - merged, -dist)
    merged = region.merged()
    strips = merged.edges().extended(0, 0, dist, 0, False)  # outside only: thin shapes stay thin inside
    grown = merged.minkowski_sum(octagon(dist))
    return union([merged, strips, grown])  # deep: a concatenation (see union)


def halo(region: "db.Region", dist: int) -> "db.Region":
    """``edges`` mode 4 (Xic's halo): the band of width ``dist`` outside the merged shapes, convex
    corners cut as in bloat mode 3."""
    return cut_corner_sized(region, dist) - region


def zoid_edge_bands(region: "db.Region", dist: int) -> "db.Region":
    """``edges`` mode 6: around every edge of every trapezoid of the merged shapes (Xic's Horiz Split
    pieces, so the cuts between pieces count as edges), a box ±dist wide reaching dist beyond both
    ends; their union.  Each band is built on its own (joining the band ends of unmerged trapezoid
    edges did not finish on a 5x5 µm window); exact for Manhattan data."""
    pieces = region.decompose_trapezoids_to_region(db.Polygon.TD_simple)
    pieces.merged_semantics = False
    edges = pieces.edges()
    edges.merged_semantics = False  # merging would cancel the cuts shared by two trapezoids
    return edges.extended(dist, dist, dist, dist, False).merged()


def _edge_polygons(edges: "db.Edges", dist: int) -> "db.Region":
    """A band ±dist around each edge, ends extended by dist (a wire along the outline)."""
    return edges.extended(dist, dist, dist, dist, True).merged()


#: Xic's smallest manhattanize step (10 of its internal units of 1 nm).
MANHATTANIZE_MIN_STEP_UM = 0.01


def _zoid_polygon(constants: list[float], dbu: float) -> "db.Polygon":
    xll, xlr, yl, xul, xur, yu = zoid_corners(constants)
    points = [db.DPoint(xll, yl), db.DPoint(xlr, yl), db.DPoint(xur, yu), db.DPoint(xul, yu)]
    return db.DPolygon(points).to_itype(dbu)


def manhattanize(region: "db.Region", step: int, inner: bool = True) -> "db.Region":
    """Xic's manhattanize mode 0: rectangles fully inside ``region``, strips ``step`` high, each at
    least step x step."""
    out = db.Region()
    for trap in region.merged().decompose_trapezoids(db.Polygon.TD_simple):
        box = trap.bbox()
        if trap.is_box():
            out.insert(box)
            continue
        points = list(trap.each_point_hull())
        y = box.bottom
        while y < box.top:
            top = min(y + step, box.top)
            left_a, right_a = _span_at(points, y)
            left_b, right_b = _span_at(points, top)
            left, right = max(left_a, left_b), min(right_a, right_b)
            if right - left >= step and top - y >= step:
                out.insert(db.Box(int(math.ceil(left)), y, int(math.floor(right)), top))
            y = top
    return out.merged()


def manhattanize_on_grid(region: "db.Region", step: int) -> "db.Region":
    """Xic's manhattanize mode 1: each trapezoid of the merged shapes gets its corners rounded to
    the ``step`` grid (halves away from zero), then its slanted sides are walked row by row of the
    grid, Bresenham-like; every vertex of the result is on the grid, x and y.

    Xic drops the topmost strip of some trapezoids (it compares with a freed list element); that
    fault is not copied, so the result here can be one grid row taller."""
    out = db.Region()
    for trap in region.merged().decompose_trapezoids(db.Polygon.TD_simple):
        box = trap.bbox()
        bottom = [p.x for p in trap.each_point_hull() if p.y == box.bottom]
        top = [p.x for p in trap.each_point_hull() if p.y == box.top]
        y0, y1 = _to_grid(box.bottom, step), _to_grid(box.top, step)
        left0, right0 = _to_grid(min(bottom), step), _to_grid(max(bottom), step)
        left1, right1 = _to_grid(min(top), step), _to_grid(max(top), step)
        if y1 <= y0 or right0 < left0 or right1 < left1:
            continue  # collapsed on the grid
        for row0, row1, left, right in _grid_rows(left0, right0, left1, right1, y0, y1):
            if right > left and row1 > row0:
                out.insert(db.Box(left * step, row0 * step, right * step, row1 * step))
    return out.merged()


def _to_grid(value: int, step: int) -> int:
    """``value`` in grid units, halves rounded away from zero (Xic's rounding)."""
    half = step // 2
    return (value + half) // step if value > 0 else -((half - value) // step)


def _grid_rows(left0: int, right0: int, left1: int, right1: int, y0: int, y1: int):
    """Rectangles (y from, y to, left, right; grid units) stepping a trapezoid's sides from the
    bottom corners to the top ones: on each row a side moves by whole grid steps while its error
    term (slope run accumulated over the rows) stays positive; a rectangle ends where a side moved."""
    rows = y1 - y0
    sides = []
    for start, end in ((left0, left1), (right0, right1)):
        run = abs(end - start)
        sides.append([start, end, run, 1 if end > start else -1, run // 2])
    strip_bottom, strip = y0, (left0, right0)
    for y in range(y0, y1 + 1):
        current = (sides[0][0], sides[1][0])
        if current != strip:
            yield strip_bottom, y, strip[0], strip[1]
            strip_bottom, strip = y, current
        for side in sides:
            side[4] += side[2]
            while side[4] > 0 and side[0] != side[1]:
                side[4] -= rows
                side[0] += side[3]
    yield strip_bottom, y1, left1, right1


def _span_at(points: list, y: float) -> tuple[float, float]:
    """The x extent of a convex trapezoid (given by its hull points) on the horizontal line at y."""
    xs = []
    count = len(points)
    for i in range(count):
        a, b = points[i], points[(i + 1) % count]
        if (a.y - y) * (b.y - y) <= 0 and a.y != b.y:
            xs.append(a.x + (b.x - a.x) * (y - a.y) / (b.y - a.y))
        elif a.y == y:
            xs.append(a.x)
    return (min(xs), max(xs)) if xs else (0.0, 0.0)
