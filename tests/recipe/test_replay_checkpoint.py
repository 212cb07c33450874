"""LayoutCheckpoint: every kind of write a replay step can make is undone, byte for byte.

The engine today writes only shapes and new layers; deep evaluation may also add cells (variants)
with instances in existing cells.  These tests make such writes directly with KLayout's API."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import data_file
from layertools.compat import db
from layertools.errors import EvaluationError
from layertools.layoutio import read_layout
from layertools.recipe.checkpoint import LayoutCheckpoint
from layouts import fixture_f2


def layout_bytes(layout: "db.Layout", path: Path) -> bytes:
    options = db.SaveLayoutOptions()
    options.set_format_from_filename(str(path))
    options.gds2_write_timestamps = False
    layout.write(str(path), options)
    return path.read_bytes()


def _content(layout) -> dict:
    """Every cell's shapes per layer, as sorted text (the same content whatever the storage order)."""
    return {(cell.name, str(layout.get_info(index))): sorted(str(s) for s in cell.shapes(index).each())
            for cell in layout.each_cell() for index in layout.layer_indexes()}


@pytest.mark.parametrize("editable", [True, False], ids=["editor-mode", "viewer-mode"])
@pytest.mark.parametrize("suffix", [".gds", ".oas"])
def test_every_kind_of_write_is_undone(tmp_path, suffix, editable):
    layout = read_layout(str(data_file("RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz")), editable=editable)
    top = layout.top_cell()
    layout.set_info(layout.find_layer(8, 0), db.LayerInfo(8, 0, "METAL1"))   # a named layer (OASIS keeps it)
    # a hole in the cell indexes, as after deleting a cell in the application: new cells reuse it
    leaf = next(c for c in layout.each_cell() if c.is_leaf() and c.parent_cells() == 1)
    layout.delete_cell(leaf.cell_index())
    before = layout_bytes(layout, tmp_path / f"before{suffix}")
    content = _content(layout)

    checkpoint = LayoutCheckpoint(layout)
    metal1 = layout.find_layer(8, 0)
    via = layout.find_layer(19, 0)
    cells_with_metal1 = [c for c in layout.each_cell() if not c.shapes(metal1).is_empty()]
    assert len(cells_with_metal1) > 5                    # the layer lives all over the hierarchy
    checkpoint.protect_layer(metal1)
    checkpoint.protect_layer(via)

    # what steps may do: overwrite existing layers in many cells, rename one, add layers and cells
    for cell in cells_with_metal1:
        cell.shapes(metal1).clear()
        cell.shapes(metal1).insert(db.Box(0, 0, 1000, 1000))
    top.shapes(via).insert(db.Box(-5000, -5000, 5000, 5000))
    layout.set_info(via, db.LayerInfo(19, 0, "RENAMED"))
    new_layer = layout.insert_layer(db.LayerInfo(300, 0, "NEW"))
    top.shapes(new_layer).insert(db.Box(0, 0, 10, 10))
    variant = layout.create_cell("VARIANT$1")
    variant.shapes(new_layer).insert(db.Box(0, 0, 20, 20))
    top.insert(db.CellInstArray(variant.cell_index(), db.Trans(db.Vector(100, 100))))
    child = layout.cell(next(top.each_child_cell()))
    child.insert(db.CellInstArray(variant.cell_index(), db.Trans()))
    checkpoint.note_write(metal1)
    checkpoint.note_write(new_layer)
    assert layout_bytes(layout, tmp_path / f"changed{suffix}") != before

    checkpoint.restore()
    assert _content(layout) == content
    if editable:  # a viewer-mode layout stores shapes in another order after re-insertion
        assert layout_bytes(layout, tmp_path / f"after{suffix}") == before
    assert checkpoint.protected_layers() == sorted([metal1, via])


def test_nothing_protected_nothing_needed_for_new_layers(tmp_path):
    layout, top = fixture_f2()
    before = layout_bytes(layout, tmp_path / "before.gds")
    checkpoint = LayoutCheckpoint(layout)
    index = layout.insert_layer(db.LayerInfo(100, 0))
    checkpoint.protect_layer(index)                      # created after the checkpoint: nothing to save
    top.shapes(index).insert(db.Box(0, 0, 5, 5))
    checkpoint.note_write(index)
    assert checkpoint.protected_layers() == []
    checkpoint.restore()
    assert layout_bytes(layout, tmp_path / "after.gds") == before


def test_an_unprotected_write_is_reported_not_hidden():
    layout, top = fixture_f2()
    checkpoint = LayoutCheckpoint(layout)
    a = next(i for i in layout.layer_indexes() if layout.get_info(i).name == "A")
    top.shapes(a).insert(db.Box(0, 0, 5, 5))
    checkpoint.note_write(a)
    with pytest.raises(EvaluationError, match="could not restore layer"):
        checkpoint.restore()


def test_a_changed_hierarchy_that_cannot_be_undone_is_reported():
    layout, top = fixture_f2()
    checkpoint = LayoutCheckpoint(layout)
    sub = layout.cell("SUB")
    top.insert(db.CellInstArray(sub.cell_index(), db.Trans(db.Vector(0, 50000))))   # an extra instance
    with pytest.raises(EvaluationError, match="instances of TOP changed"):
        checkpoint.restore()
