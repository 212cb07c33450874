"""Deep and tiled evaluation on layouts whose placements or shapes are OASIS repetitions
(engine/placements.py): the result equals flat evaluation, lands in the original cells, and the
user's layout keeps its arrays and gains no cells."""

from __future__ import annotations

import random

import pytest

from conftest import data_file
from layertools.compat import db
from layertools.engine import evaluate
from layertools.engine.placements import ExpandedPlacements, has_irregular_placements, has_sparse_shape_arrays
from layertools.engine.regions import LayerSource
from layertools.layoutio import read_layout


def irregular_oasis(path) -> str:
    """A top cell placing two child cells at 400 scattered points each (no regular pitch), written as
    OASIS with repetitions: a viewer-mode read keeps them as irregular instance arrays."""
    layout = db.Layout()
    layout.dbu = 0.001
    top = layout.create_cell("TOP")
    rng = random.Random(7)
    for name, layer, size in (("A", (1, 0), 800), ("B", (2, 0), 500)):
        child = layout.create_cell(name)
        child.shapes(layout.layer(*layer)).insert(db.Box(0, 0, size, size))
        for _ in range(400):
            where = db.Trans(rng.randrange(0, 200_000), rng.randrange(0, 200_000))
            top.insert(db.CellInstArray(child.cell_index(), where))
    top.shapes(layout.layer(2, 0)).insert(db.Box(10_000, 10_000, 60_000, 20_000))
    options = db.SaveLayoutOptions()
    options.format = "OASIS"
    options.oasis_compression_level = 10
    layout.write(str(path), options)
    return str(path)


@pytest.mark.parametrize("expression", ["1/0 & 2/0", "1/0 - 2/0", "bloat(0.1, 1/0, 0) ^ 2/0"])
def test_deep_on_placement_repetitions_equals_flat_and_keeps_the_layout(tmp_path, expression):
    path = irregular_oasis(tmp_path / "irregular.oas")
    layout = read_layout(path)  # viewer mode, as eval reads
    top = layout.top_cell()
    assert not layout.is_editable() and has_irregular_placements(layout, top)
    instances_before = [(inst.size(), inst.is_regular_array()) for inst in top.each_inst()]
    cells_before = layout.cells()
    evaluate(layout, top, expression, "100/0", strategy="flat")
    evaluate(layout, top, expression, "101/0", strategy="deep")
    flat = db.Region(top.begin_shapes_rec(layout.find_layer(100, 0)))
    deep = db.Region(top.begin_shapes_rec(layout.find_layer(101, 0)))
    assert not flat.is_empty() and (flat ^ deep).is_empty()
    assert layout.cells() == cells_before
    assert [(inst.size(), inst.is_regular_array()) for inst in top.each_inst()] == instances_before


def test_the_copy_expands_irregular_arrays_only(tmp_path):
    layout = read_layout(irregular_oasis(tmp_path / "irregular.oas"))
    top = layout.top_cell()
    irregular = sum(inst.size() for inst in top.each_inst() if inst.size() > 1 and not inst.is_regular_array())
    assert irregular >= 400  # the writer made repetitions of the scattered placements
    regular = layout.create_cell("R")
    top.insert(db.CellInstArray(regular.cell_index(), db.Trans(), db.Vector(1000, 0), db.Vector(0, 1000), 3, 3))
    copy = ExpandedPlacements(layout, top)
    copied = list(copy.cell.each_inst())
    assert sum(inst.size() for inst in copied) == sum(inst.size() for inst in top.each_inst())
    assert [inst.size() for inst in copied if inst.size() > 1] == [9]  # the regular array stays one
    shapes_before = layout.cell(layout.cell_by_name("A")).shapes(layout.find_layer(1, 0)).size()
    layer = copy.layer(layout.find_layer(1, 0))
    assert db.Region(copy.cell.begin_shapes_rec(layer)).area() == db.Region(
        top.begin_shapes_rec(layout.find_layer(1, 0))).area()
    assert layout.cell(layout.cell_by_name("A")).shapes(layout.find_layer(1, 0)).size() == shapes_before


def test_a_layout_without_repetitions_is_read_directly():
    layout = db.Layout()
    top = layout.create_cell("TOP")
    child = layout.create_cell("C")
    child.shapes(layout.layer(1, 0)).insert(db.Box(0, 0, 10, 10))
    top.insert(db.CellInstArray(child.cell_index(), db.Trans(), db.Vector(20, 0), db.Vector(0, 20), 4, 4))
    top.insert(db.CellInstArray(child.cell_index(), db.Trans(500, 500)))
    assert not has_irregular_placements(layout, top)


def test_vexriscv_read_as_eval_reads_it_deep_equals_an_independent_flat_boolean():
    """vexriscv's OASIS places its cells through repetitions (123 arrays, 11,036 placements)."""
    layout = read_layout(str(data_file("vexriscv.oas.gz")))
    top = layout.top_cell()
    assert has_irregular_placements(layout, top)
    result = evaluate(layout, top, "(3/0 & 10/0) | (11/0 - 3/0)", "1000/0", strategy="deep", threads=2)
    read = lambda ld: db.Region(top.begin_shapes_rec(layout.find_layer(*ld)))  # noqa: E731
    independent = (read((3, 0)) & read((10, 0))) | (read((11, 0)) - read((3, 0)))
    got = db.Region(top.begin_shapes_rec(result.layer_index))
    assert not independent.is_empty() and (got ^ independent).is_empty()


def shape_repetitions_oasis(path) -> str:
    """One cell with 3,000 boxes at scattered points on 1/0, a dense 100 x 100 grid of boxes on 2/0
    and, on 3/0, 40 boxes repeated 4 x 4 at a 100 µm pitch (a small design flattened as an array
    is), written as OASIS with repetitions: a viewer-mode read keeps all three as shape arrays."""
    layout = db.Layout()
    layout.dbu = 0.001
    top = layout.create_cell("TOP")
    rng = random.Random(11)
    sparse, grid = layout.layer(1, 0), layout.layer(2, 0)
    for _ in range(3000):
        x, y = rng.randrange(0, 400_000), rng.randrange(0, 400_000)
        top.shapes(sparse).insert(db.Box(x, y, x + 700, y + 700))
    for i in range(100):
        for j in range(100):
            top.shapes(grid).insert(db.Box(i * 4000, j * 4000, i * 4000 + 1500, j * 4000 + 1500))
    flattened = layout.layer(3, 0)
    design = [(rng.randrange(0, 50_000), rng.randrange(0, 50_000)) for _ in range(40)]
    for i in range(4):
        for j in range(4):
            for x, y in design:
                top.shapes(flattened).insert(db.Box(x, y, x + 400, y + 400).moved(i * 100_000, j * 100_000))
    options = db.SaveLayoutOptions()
    options.format = "OASIS"
    options.oasis_compression_level = 10
    layout.write(str(path), options)
    return str(path)


def test_sparse_shape_arrays_are_told_from_a_dense_grid(tmp_path):
    layout = read_layout(shape_repetitions_oasis(tmp_path / "shapes.oas"))
    top = layout.top_cell()
    sparse, grid = layout.find_layer(1, 0), layout.find_layer(2, 0)
    assert sum(shape.is_array_member() for shape in top.shapes(sparse).each()) > 1000
    assert all(shape.is_array_member() for shape in top.shapes(grid).each())
    assert has_sparse_shape_arrays(layout, top, sparse)
    assert not has_sparse_shape_arrays(layout, top, grid)
    flattened = layout.find_layer(3, 0)
    assert all(shape.is_array_member() for shape in top.shapes(flattened).each())
    assert has_sparse_shape_arrays(layout, top, flattened)
    editable = read_layout(shape_repetitions_oasis(tmp_path / "shapes.oas"), editable=True)
    assert not has_sparse_shape_arrays(editable, editable.top_cell(), editable.find_layer(1, 0))


def test_a_sparse_layer_above_the_copy_limit_is_read_as_it_is(tmp_path, monkeypatch):
    """The limit counts what the copy would hold, every array member: 3,000 boxes on 1/0 that the
    viewer-mode list keeps as far fewer arrays."""
    from layertools.engine import placements
    layout = read_layout(shape_repetitions_oasis(tmp_path / "shapes.oas"))
    top = layout.top_cell()
    sparse = layout.find_layer(1, 0)
    monkeypatch.setattr(placements, "COPY_SHAPE_LIMIT", 3000)
    assert has_sparse_shape_arrays(layout, top, sparse)
    monkeypatch.setattr(placements, "COPY_SHAPE_LIMIT", 2999)
    assert not has_sparse_shape_arrays(layout, top, sparse)


@pytest.mark.parametrize("expression", ["1/0 - 2/0", "1/0 & 2/0", "bloat(0.2, 1/0, 0) ^ 2/0", "3/0 | 2/0"])
def test_tiled_reads_sparse_shape_arrays_from_the_copy_and_equals_flat(tmp_path, expression):
    layout = read_layout(shape_repetitions_oasis(tmp_path / "shapes.oas"))
    top = layout.top_cell()
    sparse, grid = layout.find_layer(1, 0), layout.find_layer(2, 0)
    source = LayerSource(layout, top, None)
    assert source.tile_iterator(sparse, None).layout() is not layout   # the expanded copy
    assert source.tile_iterator(grid, None).layout() is layout            # the grid as it is
    members_before = sum(shape.is_array_member() for shape in top.shapes(sparse).each())
    evaluate(layout, top, expression, "100/0", strategy="flat")
    evaluate(layout, top, expression, "101/0", strategy="tiled", partition=50, threads=2)
    flat = db.Region(top.begin_shapes_rec(layout.find_layer(100, 0)))
    tiled = db.Region(top.begin_shapes_rec(layout.find_layer(101, 0)))
    assert not flat.is_empty() and (flat ^ tiled).is_empty()
    assert layout.cells() == 1
    assert sum(shape.is_array_member() for shape in top.shapes(sparse).each()) == members_before
