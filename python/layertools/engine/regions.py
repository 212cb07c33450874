"""Evaluating a bound expression with KLayout Regions: flat, or hierarchical on one DeepShapeStore.

Values are floats (scalars) or Regions.  A scalar that meets geometry becomes the whole
reference area when non-zero and nothing when zero (D2).  ``geomCat`` yields ``Pieces`` (the
merged arguments kept apart) so that one-argument ``geomAnd``/``geomXor`` can count coverage.  Each function is
evaluated by its entry in ``engine/functions.py``.
"""

from __future__ import annotations

from typing import Callable, Union

from ..compat import db
from ..errors import EvaluationError
from ..language.ast import Binary, Call, Instances, LayerRef, Node, Number, Unary, truthy
from .binding import BoundExpression
from .functions import function_of
from .geometry import Pieces
from .placements import ExpandedPlacements, has_irregular_placements, has_sparse_shape_arrays

Value = Union[float, "db.Region", Pieces]


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
        # Deep reads come from a copy with OASIS placement repetitions expanded (engine/placements.py)
        self._expanded = (ExpandedPlacements(layout, cell)
                          if store is not None and has_irregular_placements(layout, cell) else None)
        self._tile_layers: dict[int, int | None] = {}  # layer -> the copy's layer tiles read, or None

    def layer(self, layer_index: int, cell_index: int | None) -> "db.Region":
        cell = self.cell if cell_index is None else self.layout.cell(cell_index)
        key = (layer_index, cell.cell_index())
        if key not in self._cache:
            self._cache[key] = self._read(cell, layer_index, deep=(cell_index is None))
        return self._cache[key]

    def _read(self, cell: "db.Cell", layer_index: int, deep: bool) -> "db.Region":
        if self.store is not None and deep and self._expanded is not None:
            iterator = self._expanded.cell.begin_shapes_rec(self._expanded.layer(layer_index))
        else:
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

    def tile_iterator(self, layer_index: int, cell_index: int | None) -> "db.RecursiveShapeIterator":
        """What a tile input reads: the layer below the evaluated cell (or a named cell), from the copy
        with sparse shape arrays expanded when the layer has them (engine/placements.py)."""
        if cell_index is not None:
            return self.layout.cell(cell_index).begin_shapes_rec(layer_index)
        if layer_index not in self._tile_layers:
            sparse = has_sparse_shape_arrays(self.layout, self.cell, layer_index)
            self._tile_layers[layer_index] = self._expanded_copy().layer(layer_index) if sparse else None
        copied = self._tile_layers[layer_index]
        iterator = (self._expanded_copy().cell.begin_shapes_rec(copied) if copied is not None
                    else self.cell.begin_shapes_rec(layer_index))
        if self.depth is not None:
            iterator.max_depth = self.depth
        return iterator

    def _expanded_copy(self) -> ExpandedPlacements:
        if self._expanded is None:
            self._expanded = ExpandedPlacements(self.layout, self.cell)
        return self._expanded

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
        for scalar, other, scalar_left in ((left, right, True), (right, left, False)):
            if isinstance(scalar, float):  # at most one side: number-only subtrees are folded
                shortcut = scalar_identity(op, truthy(scalar), scalar_left)
                if shortcut == "other":
                    return self.geometry(other)
                if shortcut == "empty":
                    return db.Region()
                break
        a, b = self.geometry(left), self.geometry(right)
        if a is b:  # the same layer on both sides: deep mode gets this wrong (KLayout #1643), and it is free
            return db.Region() if op in ("-", "^") else a
        if op in ("&", "*"):
            return a & b
        if op in ("|", "+"):
            return a + b if (a.is_deep() or b.is_deep()) else a | b  # see geometry.union
        if op == "-":
            return a - b
        if op == "^":
            return a ^ b
        raise EvaluationError(f"unknown operator {op}")

    def call(self, node: Call) -> Value:
        return function_of(node).flat(self, node)

    def on_selection(self) -> "RegionEvaluator":
        """The same evaluation reading only the selected shapes of each layer (``sqz``)."""
        return RegionEvaluator(self.bound, SelectionSource(self.source, self.selection), self.reference,
                               self.dbu, self.selection, self.check)


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
