"""Reading OASIS repetitions from a copy that expands them, where KLayout is slow on them.

A viewer-mode read (the batch default, and the application's viewer mode) keeps an OASIS file's
repetitions as arrays; an editable read expands them.  Two kinds cost KLayout several times the work:

- *Irregular instance arrays* (placement repetitions), in the DeepShapeStore: vexriscv's
  ``10/0 & 11/0`` took 3.34 s of CPU on 123 irregular arrays and 1.08 s on the same 11,036
  placements as single instances (doc/performance.md, "Scale ladder").  Deep reads its layers from
  the copy whenever a cell below the evaluated one places a child through such an array.
- *Scattered shape arrays* (shape repetitions that are not one regular grid, as an OASIS writer
  makes of a flattened design), in the TilingProcessor: each tile's region query walks them.  The
  flattened_4 ladder case's mix took 7.7 s of CPU on 100 µm tiles from the viewer-mode layout and
  3.8 s from the copy, which took 0.08 s to make.  A regular grid (a fill written as one
  repetition) costs nothing extra, and expanding 10^8 fill boxes would cost gigabytes, so tiled
  reads a layer from the copy only when its arrays are scattered (``has_scattered_shape_arrays``).

The copy holds the hierarchy below the evaluated cell with irregular instance arrays expanded and
everything else kept (regular instance arrays, cell names), and only the layers asked for, each
cell's own shapes once; inserting shapes through a shape iterator expands shape arrays into single
shapes.  ``Region.insert_into`` maps a deep result back onto the original layout's cells; tiled
results go straight to the original layout.
"""

from __future__ import annotations

from ..compat import db


def has_irregular_placements(layout: "db.Layout", cell: "db.Cell") -> bool:
    """True when a cell at or below ``cell`` places a child through an irregular instance array."""
    for index in _cells_at_and_below(cell):
        for inst in layout.cell(index).each_inst():
            if inst.size() > 1 and not inst.is_regular_array():
                return True
    return False


#: Shapes looked at per shape list: enough to see a grid's two steps and to tell them from scatter.
ARRAY_SAMPLE = 64
#: A sample whose array members are spaced by more distinct steps than this is scattered: members
#: of one n x m grid are spaced by the column step and the row wrap, plus one step per array boundary.
GRID_STEPS = 3
#: Above this many shapes on a layer (array members counted) tiled reads the viewer-mode layout
#: as it is: the copy would need ~30 bytes a shape, and being slower beats running out of memory.
COPY_SHAPE_LIMIT = 20_000_000


def has_scattered_shape_arrays(layout: "db.Layout", cell: "db.Cell", layer_index: int) -> bool:
    """True when ``layer_index`` holds shape arrays that are not regular grids at or below ``cell``,
    and the layer is small enough to copy (COPY_SHAPE_LIMIT).  Looks at the first ARRAY_SAMPLE
    shapes of each list: the members' displacements step by more than GRID_STEPS distinct vectors."""
    if layout.is_editable():
        return False  # an editable layout holds no shape arrays
    scattered, shapes = False, 0
    for index in _cells_at_and_below(cell):
        own = layout.cell(index)
        if own.bbox(layer_index).empty():
            continue
        iterator = own.begin_shapes_rec(layer_index)  # not own.shapes(): see regions.own_region
        iterator.max_depth = 0
        steps: set[tuple[int, int]] = set()
        previous = None
        looked = 0
        while not iterator.at_end():
            shape = iterator.shape()
            looked += 1
            if looked <= ARRAY_SAMPLE and shape.is_array_member():
                displacement = shape.array_trans().disp
                if previous is not None:
                    steps.add((displacement.x - previous.x, displacement.y - previous.y))
                previous = displacement
            elif looked > ARRAY_SAMPLE:
                break
            iterator.next()
        scattered = scattered or len(steps) > GRID_STEPS
        shapes += looked if looked <= ARRAY_SAMPLE else own.shapes(layer_index).size()
        if shapes > COPY_SHAPE_LIMIT:
            return False
    return scattered


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
