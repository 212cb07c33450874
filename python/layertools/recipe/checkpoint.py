"""Put a layout back exactly as it was before a sequence of evaluations failed half-way.

Each ``layertools.evaluate`` call is atomic on its own (D10), but a replay is several calls:
when step 3 fails, steps 1 and 2 have already written.  A :class:`LayoutCheckpoint` remembers just
enough to undo them on a layout of any size without copying it:

* the layers and cells that existed (anything newer is deleted on restore: deep evaluation may add
  cells, and new To layers are created by the steps);
* each existing layer's ``LayerInfo`` (a step may name a layer);
* the shapes of the *existing* layers a step is about to write, cell by cell, saved lazily by
  :meth:`protect_layer` right before that step runs, so only the layers really overwritten cost memory;
* the instance count of every existing cell, to prove after a restore that the hierarchy is intact.

Shapes are kept in free-standing ``db.Shapes`` containers; property ids are copied verbatim, which
is exact because the shapes go back into the same layout (measured: the GDS written after a restore
is byte-identical, in KLayout 0.28.5 and 0.30.12).
"""

from __future__ import annotations

from ..compat import db
from ..errors import EvaluationError


class LayoutCheckpoint:
    """The restorable state of one layout; create it before the first write."""

    def __init__(self, layout: "db.Layout"):
        self.layout = layout
        # Cell and layer indexes can have holes (deleted earlier) that new objects reuse: keep sets.
        self._instance_counts = {cell.cell_index(): cell.child_instances() for cell in layout.each_cell()}
        self._layer_infos = {index: layout.get_info(index) for index in layout.layer_indexes()}
        self._saved: dict[int, dict[int, "db.Shapes"]] = {}   # layer index -> cell index -> shapes
        self._unsaved_writes: set[int] = set()

    def protect_layer(self, layer_index: int) -> None:
        """Save the shapes of an original layer (all cells) unless already saved.

        Layers created after the checkpoint need no saving: restore deletes them.
        """
        if layer_index not in self._layer_infos or layer_index in self._saved:
            return
        saved: dict[int, "db.Shapes"] = {}
        for cell_index in self._instance_counts:
            shapes = self.layout.cell(cell_index).shapes(layer_index)
            if not shapes.is_empty():
                copy = db.Shapes()
                copy.insert(shapes)
                saved[cell_index] = copy
        self._saved[layer_index] = saved

    def note_write(self, layer_index: int) -> None:
        """Record that a step wrote ``layer_index``; an original layer written unprotected cannot be restored."""
        if layer_index in self._layer_infos and layer_index not in self._saved:
            self._unsaved_writes.add(layer_index)

    def protected_layers(self) -> list[int]:
        return sorted(self._saved)

    def restore(self) -> None:
        """Bring the layout back to the checkpoint; raise EvaluationError if that proves impossible."""
        layout = self.layout
        # New cells first: deleting them also removes the instances that point at them.
        new_cells = [cell.cell_index() for cell in layout.each_cell()
                     if cell.cell_index() not in self._instance_counts]
        if new_cells:
            layout.delete_cells(new_cells)
        for layer_index in list(layout.layer_indexes()):
            if layer_index not in self._layer_infos:
                layout.delete_layer(layer_index)
        for layer_index, info in self._layer_infos.items():
            current = layout.get_info(layer_index)
            if (current.layer, current.datatype, current.name) != (info.layer, info.datatype, info.name):
                layout.set_info(layer_index, info)
        for layer_index, saved in self._saved.items():
            for cell_index in self._instance_counts:
                shapes = layout.cell(cell_index).shapes(layer_index)
                shapes.clear()
                copy = saved.get(cell_index)
                if copy is not None:
                    shapes.insert(copy)
        self._check_hierarchy()
        if self._unsaved_writes:
            names = ", ".join(str(self._layer_infos[index]) for index in sorted(self._unsaved_writes))
            raise EvaluationError(f"could not restore layer(s) {names}: they were written without a "
                                  "saved copy; do not save the layout")

    def _check_hierarchy(self) -> None:
        layout = self.layout
        cells = {cell.cell_index(): cell.child_instances() for cell in layout.each_cell()}
        if set(cells) != set(self._instance_counts):
            raise EvaluationError(f"could not restore the layout: it has {len(cells)} cells, "
                                  f"expected {len(self._instance_counts)}; do not save it")
        changed = [layout.cell(index).name for index, count in self._instance_counts.items()
                   if cells[index] != count]
        if changed:
            raise EvaluationError("could not restore the layout: the instances of "
                                  f"{', '.join(changed[:10])} changed; do not save it")

    def discard(self) -> None:
        """Forget the saved shapes (after success)."""
        self._saved.clear()
        self._unsaved_writes.clear()
