"""Deep evaluation on layouts whose cell placements are OASIS repetitions.

A viewer-mode read (the batch default, and the application's viewer mode) keeps an OASIS file's
placement repetitions as *irregular* instance arrays; an editable read expands them into single
instances.  KLayout's DeepShapeStore works about 3x longer on the arrays: vexriscv's
``10/0 & 11/0`` took 3.34 s of CPU on 123 irregular arrays and 1.08 s on the same 11,036
placements as single instances (doc/performance.md, "Scale ladder").  So deep reads its layers
from a copy of the hierarchy below the evaluated cell in which irregular arrays are expanded and
everything else is kept as it is (regular arrays, shape arrays, cell names).  The copy holds only
the layers deep reads, each cell's own shapes once; ``Region.insert_into`` maps the result back
onto the original layout's cells.
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


def _cells_at_and_below(cell: "db.Cell") -> list[int]:
    return [cell.cell_index(), *cell.called_cells()]


class ExpandedPlacements:
    """A copy of the hierarchy below ``cell`` with irregular instance arrays expanded, holding the
    layers it has been asked for (copied on first use)."""

    def __init__(self, layout: "db.Layout", cell: "db.Cell"):
        self.layout = layout
        self.copy = db.Layout(False)  # viewer mode: shape arrays stay arrays
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
