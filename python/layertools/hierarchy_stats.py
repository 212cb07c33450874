"""Hierarchy statistics of a layout, computed without flattening.

Flat figures ("how many shapes would a flat evaluation see") come from per-cell multiplicities:
each cell's stored counts times the number of times it is placed below the scope cell, where an
array instance counts every member.  One pass over the stored instances and one over the stored
shapes, so a layout that expands to tens of millions of flat shapes is counted in milliseconds and
a layout with millions of stored shapes in well under a second.

Counting rules (they match ``RecursiveShapeIterator`` on the same layout, which the tests check):

- a shape array (viewer-mode layouts keep OASIS repetitions as arrays) counts every member, so
  editor-mode and viewer-mode layouts of the same file give the same figures;
- ``layers=`` restricts every shape figure (totals, per kind, per layer) to those layer indexes;
  instance figures always cover the whole hierarchy below the scope;
- ``depth=`` limits the hierarchy like the evaluation's Depth option: 0 = the scope cell's own
  shapes, 1 = plus its children's, ...; ``None`` = all levels.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterable

from .compat import db

SHAPE_KINDS = ("box", "polygon", "path", "text", "other")


@dataclass
class ShapeCounts:
    """Shapes by kind; ``other`` holds edges, edge pairs, points and user objects."""

    box: int = 0
    polygon: int = 0
    path: int = 0
    text: int = 0
    other: int = 0

    @property
    def total(self) -> int:
        return self.box + self.polygon + self.path + self.text + self.other

    def add_scaled(self, other: "ShapeCounts", factor: int) -> None:
        for kind in SHAPE_KINDS:
            setattr(self, kind, getattr(self, kind) + factor * getattr(other, kind))

    def as_dict(self) -> dict[str, int]:
        return {**asdict(self), "total": self.total}


@dataclass
class LayerStats:
    """Shape counts on one layer (stored = in the cells' shape lists, flat = hierarchy expanded)."""

    index: int
    layer: int
    datatype: int
    name: str
    stored: int
    flat: int

    @property
    def label(self) -> str:
        """``L/D`` with the name after it when there is one, e.g. ``68/20 met1``."""
        text = f"{self.layer}/{self.datatype}"
        return f"{text} {self.name}" if self.name else text

    @property
    def ratio(self) -> float:
        return self.flat / self.stored if self.stored else 0.0

    def as_dict(self) -> dict:
        return {**asdict(self), "label": self.label}


@dataclass
class LayoutStats:
    """What a layout holds, stored and flat, for one scope (a cell, or all top cells)."""

    scope: str                      # the scope cell's name, or "all top cells"
    cells: int                      # cells in the scope (the scope cell and everything below it)
    top_cells: int                  # top cells of the layout
    top_cell_names: list[str]
    depth: int                      # longest instance path below the scope (flat layout: 0)
    single_instances: int           # stored instance objects that are not arrays
    array_instances: int            # stored array instance objects
    array_members: int              # members of those arrays
    single_instances_flat: int      # the same, counted once per placement of their parent cell
    array_instances_flat: int
    array_members_flat: int
    shapes_stored: ShapeCounts
    shapes_flat: ShapeCounts
    points_stored: int              # outline points of the boxes, polygons and paths (memory scales with them)
    points_flat: int
    bbox: tuple[float, float, float, float] | None   # µm (left, bottom, right, top); None if empty
    dbu: float
    editable: bool
    layers: list[LayerStats] = field(default_factory=list)
    depth_limit: int | None = None  # the depth= the flat figures were counted with (None = all)
    elapsed_s: float = 0.0

    @property
    def instances(self) -> int:
        """Stored instance objects (an array counts once)."""
        return self.single_instances + self.array_instances

    @property
    def placements(self) -> int:
        """Stored cell placements (an array counts every member)."""
        return self.single_instances + self.array_members

    @property
    def shape_ratio(self) -> float:
        """Flat shapes per stored shape: 1 for a flat layout, thousands for an SRAM macro."""
        return self.shapes_flat.total / self.shapes_stored.total if self.shapes_stored.total else 0.0

    @property
    def area_um2(self) -> float:
        if self.bbox is None:
            return 0.0
        left, bottom, right, top = self.bbox
        return (right - left) * (top - bottom)

    @property
    def per_layer(self) -> dict[int, LayerStats]:
        """Layer index -> LayerStats (only layers with shapes)."""
        return {entry.index: entry for entry in self.layers}

    def layer(self, index: int) -> LayerStats | None:
        for entry in self.layers:
            if entry.index == index:
                return entry
        return None

    def as_dict(self) -> dict:
        data = asdict(self)
        data["shapes_stored"] = self.shapes_stored.as_dict()
        data["shapes_flat"] = self.shapes_flat.as_dict()
        data["layers"] = [entry.as_dict() for entry in self.layers]
        data["bbox"] = list(self.bbox) if self.bbox is not None else None
        data.update(instances=self.instances, placements=self.placements,
                    shape_ratio=self.shape_ratio, area_um2=self.area_um2)
        return data


def layout_statistics(layout: "db.Layout", cell: "db.Cell | int | str | None" = None,
                      layers: Iterable[int] | None = None, depth: int | None = None,
                      progress: Callable[[float], None] | None = None) -> LayoutStats:
    """Count cells, instances and shapes (stored and flat) below ``cell`` without flattening.

    ``cell``: a Cell, a cell index or name, or None for every top cell (each placed once).
    ``layers``: layer indexes to count shapes on (default: all layers).
    ``depth``: hierarchy levels to include in the flat figures (None: all).
    ``progress``: called with the fraction done (0..1) about every 0.1 s, e.g. to keep a GUI
    repainting; it may raise to abandon the count.
    """
    started = time.perf_counter()
    ticker = _Ticker(progress, 2 * layout.cells())
    roots = _scope_roots(layout, cell)
    layer_indexes = _layer_indexes(layout, layers)
    if depth is not None and (isinstance(depth, bool) or not isinstance(depth, int) or depth < 0):
        raise ValueError(f"depth must be None or an int >= 0, not {depth!r}")

    # One pass over the stored instances of every cell in the scope (top-down order, so a cell's
    # parents are done before it is reached).
    in_scope = set(roots)
    children: dict[int, dict[int, int]] = {}
    singles: dict[int, int] = {}
    arrays: dict[int, int] = {}
    members: dict[int, int] = {}
    for index in layout.each_cell_top_down():
        ticker.step()
        if index not in in_scope:
            continue
        placed: dict[int, int] = defaultdict(int)
        n_single = n_array = n_members = 0
        for inst in layout.cell(index).each_inst():
            size = inst.size()
            placed[inst.cell_index] += size
            if inst.is_regular_array() or size > 1:  # OASIS irregular arrays are not "regular"
                n_array += 1
                n_members += size
            else:
                n_single += 1
        children[index] = placed
        singles[index], arrays[index], members[index] = n_single, n_array, n_members
        in_scope.update(placed)

    multiplicity, instance_multiplicity = _multiplicities(layout, roots, children, depth)
    cell_depth = _depths(layout, children)

    shapes_stored, shapes_flat = ShapeCounts(), ShapeCounts()
    stored_per_layer: dict[int, int] = defaultdict(int)
    flat_per_layer: dict[int, int] = defaultdict(int)
    points_stored = points_flat = 0
    editable = layout.is_editable()
    for index in in_scope:
        ticker.step()
        counted_cell = layout.cell(index)
        factor = multiplicity.get(index, 0)
        for layer_index in own_shape_layers(counted_cell, layer_indexes, bool(children.get(index))):
            counts, points = _count_kinds(counted_cell, layer_index, editable)
            total = counts.total
            shapes_stored.add_scaled(counts, 1)
            points_stored += points
            points_flat += factor * points
            stored_per_layer[layer_index] += total
            if factor:
                shapes_flat.add_scaled(counts, factor)
                flat_per_layer[layer_index] += factor * total

    layer_stats = []
    for layer_index in layer_indexes:
        if not stored_per_layer.get(layer_index):
            continue
        info = layout.get_info(layer_index)
        layer_stats.append(LayerStats(layer_index, info.layer, info.datatype, info.name or "",
                                      stored_per_layer[layer_index], flat_per_layer.get(layer_index, 0)))
    layer_stats.sort(key=lambda entry: (entry.layer, entry.datatype, entry.name))

    tops = [layout.cell(index) for index in layout.each_top_cell()]
    return LayoutStats(
        scope=layout.cell(roots[0]).name if cell is not None else "all top cells",
        cells=len(in_scope),
        top_cells=len(tops),
        top_cell_names=[top.name for top in tops],
        depth=max((cell_depth[index] for index in roots), default=0),
        single_instances=sum(singles.values()),
        array_instances=sum(arrays.values()),
        array_members=sum(members.values()),
        single_instances_flat=_weighted(singles, instance_multiplicity),
        array_instances_flat=_weighted(arrays, instance_multiplicity),
        array_members_flat=_weighted(members, instance_multiplicity),
        shapes_stored=shapes_stored,
        shapes_flat=shapes_flat,
        points_stored=points_stored,
        points_flat=points_flat,
        bbox=_bbox_um(layout, roots),
        dbu=layout.dbu,
        editable=editable,
        layers=layer_stats,
        depth_limit=depth,
        elapsed_s=time.perf_counter() - started,
    )


class _Ticker:
    """Calls ``progress(fraction)`` at most every 0.1 s (cheap enough to call per cell)."""

    def __init__(self, progress: Callable[[float], None] | None, total: int):
        self.progress, self.total, self.done = progress, max(total, 1), 0
        self.next_call = time.perf_counter() + 0.1

    def step(self) -> None:
        self.done += 1
        if self.progress is not None and time.perf_counter() >= self.next_call:
            self.progress(min(1.0, self.done / self.total))
            self.next_call = time.perf_counter() + 0.1


def _multiplicities(layout: "db.Layout", roots: list[int], children: dict[int, dict[int, int]],
                    depth: int | None) -> tuple[dict[int, int], dict[int, int]]:
    """How often each cell is placed below the roots (the roots once each).

    Returns (shape multiplicity, instance multiplicity): with a depth limit, a cell at the last
    level contributes its shapes but not its instances, which lead below the limit.
    """
    multiplicity: dict[int, int] = defaultdict(int)
    if depth is None:
        for root in roots:
            multiplicity[root] += 1
        for index in layout.each_cell_top_down():
            factor = multiplicity.get(index)
            if not factor:
                continue
            for child, count in children.get(index, {}).items():
                multiplicity[child] += factor * count
        return multiplicity, multiplicity

    # Level by level: a cell can sit at several depths, and only the levels <= depth count.
    instance_multiplicity: dict[int, int] = defaultdict(int)
    frontier: dict[int, int] = defaultdict(int)
    for root in roots:
        frontier[root] += 1
    for level in range(depth + 1):
        below: dict[int, int] = defaultdict(int)
        for index, factor in frontier.items():
            multiplicity[index] += factor
            if level == depth:
                continue
            instance_multiplicity[index] += factor
            for child, count in children.get(index, {}).items():
                below[child] += factor * count
        frontier = below
        if not frontier:
            break
    return multiplicity, instance_multiplicity


def own_shape_layers(cell: "db.Cell", layer_indexes: Iterable[int], has_children: bool | None = None) -> list[int]:
    """The layers on which ``cell`` itself holds shapes, found without touching the others.

    ``cell.shapes(layer)`` on a layer the cell has no shapes on CREATES an empty shape list (about
    80 bytes; 3.5 MB over a 745-cell, 59-layer layout), which would change the very memory figures
    this package reports.  The per-layer bounding box (hierarchical, cached) rules most layers out;
    for cells with children a depth-0 shape iterator (read-only access) tells own shapes apart.
    """
    if cell.bbox().empty():
        return []
    if has_children is None:
        has_children = cell.child_cells() > 0
    found = []
    for layer_index in layer_indexes:
        if cell.bbox(layer_index).empty():
            continue
        if has_children:
            iterator = cell.begin_shapes_rec(layer_index)
            iterator.max_depth = 0
            if iterator.at_end():
                continue
        found.append(layer_index)
    return found


def _weighted(per_cell: dict[int, int], multiplicity: dict[int, int]) -> int:
    return sum(multiplicity.get(index, 0) * count for index, count in per_cell.items())


def _depths(layout: "db.Layout", children: dict[int, dict[int, int]]) -> dict[int, int]:
    depth: dict[int, int] = {}
    for index in layout.each_cell_bottom_up():
        below = children.get(index)
        depth[index] = 1 + max(depth[child] for child in below) if below else 0
    return depth


_OTHER_FLAGS = None


def _other_flags() -> int:
    global _OTHER_FLAGS
    if _OTHER_FLAGS is None:
        flags = 0
        for name in ("SEdges", "SEdgePairs", "SPoints", "SUserObjects"):
            flags |= getattr(db.Shapes, name, 0)
        _OTHER_FLAGS = flags
    return _OTHER_FLAGS


def _count(shapes: "db.Shapes", flags: int) -> int:
    count = 0
    for _ in shapes.each(flags):
        count += 1
    return count


#: Shape lists longer than this are counted in KLayout's C++ (``count_own_shapes``): ~20 ns a shape
#: against ~180 ns for a Python loop, but ~0.1 ms of set-up a call (tt06: 1.5 s instead of 0.6 s
#: if every list went that way; a 10^7-box fill: 0.2 s instead of 1.8 s).
NATIVE_COUNT_FROM = 5000


def count_own_shapes(cell: "db.Cell", layer_index: int, flags: int, collection: type = db.Region) -> int:
    """The shapes of one kind in ``cell``'s own list, array members each counted, in C++.

    A ``Region``/``Texts`` over a recursive shape iterator counts in C++; with the whole-world
    search region it shortcuts to the lists' sizes, which count a viewer-mode shape array once.
    A search region (the cell's box on that layer, enlarged) makes it step through every member.
    """
    iterator = cell.begin_shapes_rec(layer_index)
    iterator.max_depth = 0
    iterator.shape_flags = flags
    iterator.region = cell.bbox(layer_index).enlarged(1, 1)
    return collection(iterator).count()


def _count_kinds(cell: "db.Cell", layer_index: int, editable: bool) -> tuple[ShapeCounts, int]:
    """Shapes by kind and the points of their outlines (box 4, path about 2 per spine point)."""
    shapes = cell.shapes(layer_index)
    polygons = polygon_points = 0
    for shape in shapes.each(db.Shapes.SPolygons):
        polygons += 1
        polygon_points += shape.polygon.num_points()
    paths = path_points = 0
    for shape in shapes.each(db.Shapes.SPaths):
        paths += 1
        path_points += 2 * shape.path.num_points()
    native = shapes.size() >= NATIVE_COUNT_FROM
    counts = ShapeCounts(
        polygon=polygons,
        path=paths,
        text=(count_own_shapes(cell, layer_index, db.Shapes.STexts, db.Texts) if native
              else _count(shapes, db.Shapes.STexts)),
        other=_count(shapes, _other_flags()),
    )
    if editable:
        # Editor-mode shape lists hold no arrays, so size() is exact and the (usually dominant)
        # boxes need not be iterated.
        counts.box = shapes.size() - counts.polygon - counts.path - counts.text - counts.other
    elif native:
        counts.box = count_own_shapes(cell, layer_index, db.Shapes.SBoxes, db.Region)
    else:
        # Viewer mode keeps shape arrays, which size() does not count member by member.
        counts.box = _count(shapes, db.Shapes.SBoxes)
    return counts, 4 * counts.box + polygon_points + path_points


def _scope_roots(layout: "db.Layout", cell: "db.Cell | str | int | None") -> list[int]:
    if cell is None:
        return list(layout.each_top_cell())
    if isinstance(cell, str):
        if not layout.has_cell(cell):
            raise ValueError(f"no cell named {cell!r}")
        return [layout.cell(cell).cell_index()]
    if isinstance(cell, int):
        if not layout.is_valid_cell_index(cell):
            raise ValueError(f"no cell with index {cell}")
        return [cell]
    return [cell.cell_index()]


def _layer_indexes(layout: "db.Layout", layers: Iterable[int] | None) -> list[int]:
    valid = list(layout.layer_indexes())
    if layers is None:
        return valid
    wanted = []
    valid_set = set(valid)
    for index in layers:
        if index not in valid_set:
            raise ValueError(f"no layer with index {index}")
        if index not in wanted:
            wanted.append(index)
    return wanted


def _bbox_um(layout: "db.Layout", roots: list[int]) -> tuple[float, float, float, float] | None:
    box = db.DBox()
    for index in roots:
        box += layout.cell(index).dbbox()
    if box.empty():
        return None
    return (box.left, box.bottom, box.right, box.top)


__all__ = ["ShapeCounts", "LayerStats", "LayoutStats", "layout_statistics", "own_shape_layers", "count_own_shapes",
           "SHAPE_KINDS"]
