"""Batch reads that keep big files small: viewer-mode reads, only the layers needed, and
result-only output.  Results are compared by XOR with the default (editable, whole-layout) path."""

from __future__ import annotations

import subprocess
import sys

import pytest

import layertools
from conftest import REPO, data_file
from layertools.compat import db
from layertools.engine.layers import layers_read
from layertools.errors import LayerNotFoundError
from layertools.layoutio import read_layout

EXPRESSION = "(68/20 & 69/20) | (68/44 - 68/20)"


def _region(layout, spec="100/0", cell=None):
    layer, datatype = (int(x) for x in spec.split("/"))
    index = layout.find_layer(layer, datatype)
    region = db.Region()
    if index is not None:
        region.insert((cell or layout.top_cells()[0]).begin_shapes_rec(index))
    return region


@pytest.fixture(scope="module")
def fill_oas(tmp_path_factory):
    """A fill pattern of 90,000 boxes, written by KLayout's OASIS writer as repetitions (405 bytes)."""
    layout = db.Layout()
    layout.dbu = 0.001
    top = layout.create_cell("FILL")
    fill, cover = layout.layer(2, 0), layout.layer(1, 0)
    for i in range(300):
        for j in range(300):
            top.shapes(fill).insert(db.Box(i * 1000, j * 1000, i * 1000 + 500, j * 1000 + 500))
    top.shapes(cover).insert(db.Box(0, 0, 150000, 300000))
    options = db.SaveLayoutOptions()
    options.format = "OASIS"
    options.oasis_compression_level = 2
    path = tmp_path_factory.mktemp("fill") / "fill.oas"
    layout.write(str(path), options)
    return path


def test_viewer_mode_read_keeps_oasis_repetitions(fill_oas):
    viewer = read_layout(str(fill_oas))
    editable = read_layout(str(fill_oas), editable=True)
    assert not viewer.is_editable() and editable.is_editable()
    shapes = list(viewer.top_cells()[0].shapes(viewer.find_layer(2, 0)).each())
    assert len(shapes) == 90_000 and all(shape.is_array_member() for shape in shapes)
    assert not any(s.is_array_member() for s in editable.top_cells()[0].shapes(editable.find_layer(2, 0)).each())


def test_statistics_count_every_member_of_a_fill_array(fill_oas):
    # 90,000 boxes in one shape array: above NATIVE_COUNT_FROM, so counted in C++, where a
    # whole-world iterator would have counted the array once.
    from layertools.hierarchy_stats import NATIVE_COUNT_FROM, layout_statistics
    viewer = read_layout(str(fill_oas))
    assert viewer.top_cells()[0].shapes(viewer.find_layer(2, 0)).size() >= NATIVE_COUNT_FROM
    stats = layout_statistics(viewer, layers=[viewer.find_layer(2, 0)])
    assert (stats.shapes_stored.box, stats.shapes_flat.box, stats.points_flat) == (90_000, 90_000, 360_000)


def test_fill_evaluates_the_same_from_a_viewer_mode_layout(fill_oas):
    results = []
    for editable in (False, True):
        layout = read_layout(str(fill_oas), editable=editable)
        layertools.evaluate(layout, layout.top_cells()[0], "2/0 - 1/0", to="100/0", strategy="tiled",
                            partition=50.0, threads=2)
        results.append(_region(layout))
    assert results[0].area() == 45_000 * 500 * 500
    assert (results[0] ^ results[1]).is_empty()


def test_only_the_layers_asked_for_are_loaded_and_a_missing_one_stays_unknown():
    path = str(data_file("tt_um_obriensp_be8.gds.gz"))
    layout = read_layout(path, layers={(68, 20), (69, 20), (99, 0)})
    assert sorted((layout.get_info(i).layer, layout.get_info(i).datatype) for i in layout.layer_indexes()) == [
        (68, 20), (69, 20)]
    with pytest.raises(LayerNotFoundError, match="99/0"):
        layertools.evaluate(layout, layout.top_cells()[0], "68/20 & 99/0", to="100/0")


def test_layers_read_knows_numbered_layers_only():
    assert layers_read("68/20 & 4414 | \"1,0\"") == {(68, 20), (1, 0)}
    assert layers_read("bloat(1, 3/0.SUB, 0)", "NEW 7/1") == {(3, 0), (7, 1)}
    assert layers_read("M1 & 2/0") is None       # a name: the file's layer table decides
    assert layers_read("1/0", "M1") is None


@pytest.mark.parametrize("strategy, options", [
    ("flat", {}), ("tiled", {"partition": 40.0, "threads": 2}), ("deep", {"threads": 2}),
    ("flat", {"merge": True, "clear": False}), ("flat", {"recursive": True, "depth": 1}),
    ("copy", {"format": "hsplit"}),
])
def test_engine_on_non_editable_layouts(strategy, options):
    path = str(data_file("tt_um_obriensp_be8.gds.gz"))
    expression = "68/20" if strategy == "copy" else EXPRESSION
    strategy = "auto" if strategy == "copy" else strategy
    regions = []
    for editable in (False, True):
        layout = read_layout(path, editable=editable)
        top = layout.top_cells()[0]
        # twice: the second run meets an existing To layer (clear, merge)
        for _ in range(2):
            layertools.evaluate(layout, top, expression, to="100/0", strategy=strategy, **options)
        regions.append(_region(layout))
    assert regions[0].count() > 0
    assert (regions[0] ^ regions[1]).is_empty()


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "layertools", *args], capture_output=True, text=True,
                          env={"PYTHONPATH": str(REPO / "python"), "PATH": "/usr/bin:/bin"}, timeout=300)


def test_result_only_output_holds_the_result_layer_in_the_cells_that_hold_it(tmp_path):
    source = str(data_file("tt_um_obriensp_be8.gds.gz"))
    full, only = tmp_path / "full.oas", tmp_path / "only.oas"
    for output, extra in ((full, []), (only, ["--result-only"])):
        run = _cli("eval", source, EXPRESSION, "--to", "100/0", "-o", str(output), "--strategy", "deep", *extra)
        assert run.returncode == 0, run.stderr
    whole, result = db.Layout(), db.Layout()
    whole.read(str(full))
    result.read(str(only))
    assert [(result.get_info(i).layer, result.get_info(i).datatype) for i in result.layer_indexes()] == [(100, 0)]
    index = whole.find_layer(100, 0)
    holding = {c.name for c in whole.each_cell() if not c.bbox(index).empty()}
    assert {result.cell(i).name for i in range(result.cells())} == holding
    assert 1 < len(holding) < whole.cells()
    assert (_region(whole) ^ _region(result)).is_empty() and not _region(result).is_empty()


def test_replay_result_only(tmp_path):
    from layertools.options import EvalOptions
    from layertools.recipe import Recipe, Step, save_recipe
    recipe = tmp_path / "r.yaml"
    save_recipe(Recipe(steps=[Step("68/20 & 69/20", EvalOptions(to="100/0")),
                              Step("100/0 | 68/44", EvalOptions(to="101/0", strategy="flat"))]), recipe)
    output = tmp_path / "out.gds"
    run = _cli("replay", str(recipe), str(data_file("tt_um_obriensp_be8.gds.gz")), "-o", str(output),
               "--result-only")
    assert run.returncode == 0, run.stderr
    layout = db.Layout()
    layout.read(str(output))
    layers = sorted((layout.get_info(i).layer, layout.get_info(i).datatype) for i in layout.layer_indexes())
    assert layers == [(100, 0), (101, 0)]
    source = db.Layout()
    source.read(str(data_file("tt_um_obriensp_be8.gds.gz")))
    a, b, c = (_region(source, s) for s in ("68/20", "69/20", "68/44"))
    assert (_region(layout, "101/0") ^ ((a & b) | c)).is_empty()


def test_result_only_with_an_unknown_layer_is_still_a_usage_error(tmp_path):
    run = _cli("eval", str(data_file("tt_um_obriensp_be8.gds.gz")), "68/20 & 99/0", "--to", "100/0",
               "-o", str(tmp_path / "x.gds"), "--result-only")
    assert run.returncode == 2 and "99/0" in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "x.gds").exists()
