"""Reading OASIS repetitions from a copy that expands them, where KLayout is slow on them.

A viewer-mode read (the batch default, and the application's viewer mode) keeps an OASIS file's
repetitions as arrays; an editable read expands them.  Two kinds cost KLayout several times the work:

- *Irregular instance arrays* (placement repetitions), in the DeepShapeStore: vexriscv's
  ``10/0 & 11/0`` took 3.34 s of CPU on 123 irregular arrays and 1.08 s on the same 11,036
  placements as single instances (doc/performance.md, "Scale ladder").  Deep reads its layers from
  the copy whenever a cell below the evaluated one places a child through such an array.
- *Sparse shape arrays* in the TilingProcessor: an array is one entry in the shape list's box
  tree, with the box of all its members, and every tile whose region meets that box visits it.
  An OASIS writer makes of a design flattened k x k one array per shape at the die's pitch: each
  array's box is the whole die while its members cover ~10^-5 of it, so tiled work grows with
  tiles x arrays.  The flattened_4 ladder case's mix took 7.7 s of CPU on 100 µm tiles from the
  viewer-mode layout and 3.8 s from the copy, which took 0.08 s to make.  A dense grid (a fill,
  whose arrays cover ~0.25 of their box) costs nothing extra, and expanding 10^8 fill boxes would
  cost gigabytes, so tiled reads a layer from the copy only when its arrays are sparse
  (``has_sparse_shape_arrays``).

The copy holds the hierarchy below the evaluated cell with irregular instance arrays expanded and
everything else kept (regular instance arrays, cell names), and only the layers asked for, each
cell's own shapes once; inserting shapes through a shape iterator expands shape arrays into single
shapes.  ``Region.insert_into`` maps a deep result back onto the original layout's cells; tiled
results go straight to the original layout.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..compat import db


def has_irregular_placements(layout: "db.Layout", cell: "db.Cell") -> bool:
    """True when a cell at or below ``cell`` places a child through an irregular instance array."""
    for index in _cells_at_and_below(cell):
        for inst in layout.cell(index).each_inst():
            if inst.size() > 1 and not inst.is_regular_array():
                return True
    return False


#: Array members looked at per list, and shapes looked at in all (plain shapes may
#: come first): enough to cross several arrays, cheap (~0.2 ms a list).
ARRAY_SAMPLE = 1024
LOOK_LIMIT = 2048
#: An array is sparse when its members cover less than this share of its bounding box.  Every tile
#: whose region meets an array's box visits the array, so sparse arrays over a large area (a design
#: flattened k x k: each shape an array at the die's pitch, member boxes ~10^-5 of the array's box)
#: make tiled work grow with tiles x arrays.  A fill's arrays cover ~0.25 of their box.
SPARSE_COVER = 0.01
#: Only cells whose box on the layer covers at least this share of the evaluated cell's box are
#: sampled: a tile visits an array of a small cell only where an instance of it meets the tile, as
#: it visits plain shapes.  (It also keeps the sampling of a GDS file with 10^4 cells, which holds
#: no shape arrays, at milliseconds.)
LARGE_CELL_SHARE = 0.01
#: Above this many stored shapes on a layer (array members counted) tiled reads the viewer-mode
#: layout as it is: the copy would need ~30 bytes a shape, and being slower beats running out of memory.
COPY_SHAPE_LIMIT = 20_000_000


def has_sparse_shape_arrays(layout: "db.Layout", cell: "db.Cell", layer_index: int) -> bool:
    """True when most sampled array members on ``layer_index`` in the large cells (LARGE_CELL_SHARE)
    at or below ``cell`` sit in sparse arrays (SPARSE_COVER), and the copy would hold at most
    COPY_SHAPE_LIMIT shapes.  Samples each large cell's list (``_sparse_members``); only a sparse
    layer is counted whole, in C++ (``hierarchy_stats.count_own_shapes``)."""
    if layout.is_editable():
        return False  # an editable layout holds no shape arrays
    sparse = members = 0
    least_area = LARGE_CELL_SHARE * float(cell.bbox().area())
    for index in _cells_at_and_below(cell):
        own = layout.cell(index)
        box = own.bbox(layer_index)
        if box.empty() or float(box.area()) < least_area:
            continue
        in_sparse, in_arrays = _sparse_members(own, layer_index)
        sparse, members = sparse + in_sparse, members + in_arrays
    if not (members > 0 and 2 * sparse > members):
        return False
    from ..hierarchy_stats import count_own_shapes
    flags = db.Shapes.SPolygons | db.Shapes.SBoxes | db.Shapes.SPaths
    stored = 0
    for index in _cells_at_and_below(cell):
        own = layout.cell(index)
        if not own.bbox(layer_index).empty():   # what the copy would hold: geometry and texts
            stored += (count_own_shapes(own, layer_index, flags)
                       + count_own_shapes(own, layer_index, db.Shapes.STexts, db.Texts))
            if stored > COPY_SHAPE_LIMIT:
                return False
    return True


@dataclass
class _ArrayRun:
    """Consecutive members of one shape array: their untranslated box, count and displacements' box."""

    base: "db.Box"
    count: int
    left: int
    bottom: int
    right: int
    top: int

    def add(self, x: int, y: int) -> None:
        self.count += 1
        self.left, self.bottom = min(self.left, x), min(self.bottom, y)
        self.right, self.top = max(self.right, x), max(self.top, y)

    def sparse_members(self) -> int:
        """Its members when they cover less than SPARSE_COVER of the array's box, else 0."""
        if self.count < 2:
            return 0
        extent = float(self.right - self.left + self.base.width()) * float(self.top - self.bottom + self.base.height())
        return self.count if extent > 0 and self.count * float(self.base.area()) < SPARSE_COVER * extent else 0


def _sparse_members(cell: "db.Cell", layer_index: int) -> tuple[int, int]:
    """Among the first array members in ``cell``'s own list (polygons, boxes, paths): how many are
    in sparse arrays and how many in arrays.  An array's members come one after another and share
    their untranslated box, which tells where one array ends."""
    iterator = cell.begin_shapes_rec(layer_index)
    iterator.max_depth = 0
    iterator.shape_flags = db.Shapes.SPolygons | db.Shapes.SBoxes | db.Shapes.SPaths
    sparse = members = looked = 0
    run: _ArrayRun | None = None
    while not iterator.at_end() and looked < LOOK_LIMIT and members < ARRAY_SAMPLE:
        shape = iterator.shape()
        looked += 1
        if shape.is_array_member():
            members += 1
            disp = shape.array_trans().disp
            base = shape.bbox().moved(-disp)
            if run is not None and run.base == base:
                run.add(disp.x, disp.y)
            else:
                sparse += run.sparse_members() if run is not None else 0
                run = _ArrayRun(base, 1, disp.x, disp.y, disp.x, disp.y)
        iterator.next()
    sparse += run.sparse_members() if run is not None else 0
    return sparse, members


def _cells_at_and_below(cell: "db.Cell") -> list[int]:
    return [cell.cell_index(), *cell.called_cells()]


class ExpandedPlacements:
    """A copy of the hierarchy below ``cell`` with irregular instance arrays expanded, holding the
    layers it has been asked for (copied on first use)."""

    def __init__(self, layout: "db.Layout", cell: "db.Cell"):
        self.layout = layout
        self.copy = db.Layout(False)  # viewer mode, like the batch read; shapes arrive expanded (layer())
        self.copy.dbu = layout.dbu
        self._cells = {index: self.copy.add_cell(layout.cell(index).name) for index in _cells_at_and_below(cell)}
        self._layers: dict[int, int] = {}
        for index, copied in self._cells.items():
            target = self.copy.cell(copied)
            for inst in layout.cell(index).each_inst():
                array = inst.cell_inst
                child = self._cells[array.cell_index]
                if inst.size() > 1 and not array.is_regular_array():
                    placements = array.each_cplx_trans() if array.is_complex() else array.each_trans()
                    for trans in placements:
                        target.insert(db.CellInstArray(child, trans))
                else:
                    kept = array.dup()
                    kept.cell_index = child
                    target.insert(kept)
        self.cell = self.copy.cell(self._cells[cell.cell_index()])

    def layer(self, layer_index: int) -> int:
        """The copy's layer holding the original's ``layer_index`` (each cell's own shapes)."""
        if layer_index not in self._layers:
            copied = self.copy.insert_layer(self.layout.get_info(layer_index))
            for index, cell_copy in self._cells.items():
                # Through a shape iterator, not layout.cell(index).shapes(layer_index): that call
                # would create empty shape lists in the user's layout.
                own = self.layout.cell(index).begin_shapes_rec(layer_index)
                own.max_depth = 0
                if not own.at_end():
                    self.copy.cell(cell_copy).shapes(copied).insert(own)
            self._layers[layer_index] = copied
        return self._layers[layer_index]
