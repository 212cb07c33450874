"""Results compared with the real Xic 4.3.14 (issue 11: Vert Split, bloat modes 2/3, edges modes 4/6,
manhattanize mode 1), in every strategy.

The golden files in tests/data/xic/ are Xic's own output (layer 100/0 only): written by
``XIC_BIN=... python3 tests/make_xic_goldens.py`` with Xic 4.3.14 built from wrcad/xictools a51c6b63 by
shared/tools/xic/build_xic.sh, in batch mode, no partition.  The inputs are built by
tests/xic_parity_inputs.py from shared/data; each has a frame so that no growth reaches the cell box
(Xic clips there, layertools does not: D5).
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import layertools
from conftest import SHARED_DATA, data_file
from layertools.compat import db
from xic_parity_inputs import CASES, INPUT_FILES, build

GOLDEN = Path(__file__).resolve().parent / "data" / "xic"
FORMATS = {"default": "default", "split": "hsplit", "splitv": "vsplit"}
# strategy, partition (µm), threads; a partition of 1000 µm is one tile: the same pieces as Xic's.
STRATEGIES = [("flat", None, 0), ("tiled", 1000.0, 0), ("tiled", 7.0, 2), ("deep", None, 2)]
_INPUTS: dict[str, "db.Layout"] = {}


def _input(name: str) -> "db.Layout":
    if name in INPUT_FILES:
        data_file(INPUT_FILES[name])  # skip (or fail in CI) when shared/data is missing
    if name not in _INPUTS:
        _INPUTS[name] = build(name, SHARED_DATA)
    layout = db.Layout()
    layout.assign(_INPUTS[name])
    return layout


def _result_region(layout: "db.Layout") -> "db.Region":
    region = db.Region()
    region.merged_semantics = False
    index = layout.find_layer(100, 0)
    if index is not None:
        region.insert(layout.top_cells()[0].begin_shapes_rec(index))
    return region


def _golden(name: str) -> "db.Region":
    layout = db.Layout()
    layout.read(str(GOLDEN / f"{name}.oas"))
    return _result_region(layout)


def _pieces(region: "db.Region") -> list[str]:
    return sorted(str(polygon) for polygon in region.each())


@pytest.mark.parametrize("strategy, partition, threads", STRATEGIES,
                         ids=[f"{s}-{p}-{t}" for s, p, t in STRATEGIES])
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_result_as_xic(name, strategy, partition, threads):
    input_name, expression, mode, compare, tolerance = CASES[name]
    layout = _input(input_name)
    top = layout.top_cells()[0]
    layertools.evaluate(layout, top, expression, to="100/0", format=FORMATS[mode], strategy=strategy,
                        partition=partition, threads=threads)
    ours, xic = _result_region(layout), _golden(name)
    dbu2 = layout.dbu ** 2
    assert not xic.is_empty()
    assert (ours ^ xic).area() * dbu2 <= tolerance + 1e-6, f"XOR against Xic on {name}"
    one_piece_per_tile = strategy != "tiled" or partition > 100
    if compare == "pieces" and one_piece_per_tile:
        assert _pieces(ours) == _pieces(xic)


def test_vert_split_is_not_klayouts_vtrapezoids():
    """The issue's S shape: Xic's (0,0;36,14) + (36,0;50,48) + (50,34;80,48), not KLayout's
    TD_vtrapezoids (0,0;50,14) + (36,14;50,48) + (50,34;80,48)."""
    layout = _input("s_shape")
    layertools.evaluate(layout, layout.top_cells()[0], "1/0 | 0", to="100/0", format="vsplit")
    boxes = sorted(tuple(round(v * layout.dbu) for v in (p.bbox().left, p.bbox().bottom, p.bbox().right,
                                                         p.bbox().top)) for p in _result_region(layout).each())
    assert boxes == [(0, 0, 36, 14), (36, 0, 50, 48), (50, 34, 80, 48)]


def test_manhattanize_mode_1_puts_every_vertex_on_the_grid():
    layout = _input("inductor")
    layertools.evaluate(layout, layout.top_cells()[0], "manhattanize(0.5, 134/0, 1)", to="100/0")
    region = _result_region(layout)
    step = int(round(0.5 / layout.dbu))
    assert region.count() > 0
    for polygon in region.each():
        for point in polygon.each_point_hull():
            assert point.x % step == 0 and point.y % step == 0


def test_edges_mode_6_finishes_on_a_whole_routed_design():
    """It did not finish in 20 minutes before (KLayout joining unmerged trapezoid edges); Xic: 0.37 s."""
    layout = db.Layout()
    layout.read(str(data_file("tt_um_obriensp_be8.gds.gz")))
    top = layout.top_cells()[0]
    result = layertools.evaluate(layout, top, "edges(0.1, 68/20, 6)", to="100/0", strategy="flat")
    assert result.shapes_written > 0
    band = _result_region(layout).merged()
    source = db.Region(top.begin_shapes_rec(layout.find_layer(68, 20))).merged()
    d = int(round(0.1 / layout.dbu))
    # every outline edge is inside the band, and the band reaches no further than d
    assert (source.edges().extended(0, 0, d // 2, d // 2, False).merged() - band).is_empty()
    assert (band - source.sized(d, d, 2)).is_empty()


@pytest.mark.parametrize("strategy", ["deep", "flat", "tiled"])
def test_join_max_poly_verts_in_every_strategy(strategy):
    """Issue 11: deep wrote polygons of 7,862 points with --join-max-verts 20; the deep result keeps
    its hierarchy (more than one cell written) and has the flat result's geometry."""
    layout = db.Layout()
    layout.read(str(data_file("tt_um_obriensp_be8.gds.gz")))
    top = layout.top_cells()[0]
    expression = "68/20 | 69/20 - 68/44"
    reference = db.Region(top.begin_shapes_rec(layout.find_layer(68, 20))) | (
        db.Region(top.begin_shapes_rec(layout.find_layer(69, 20))) -
        db.Region(top.begin_shapes_rec(layout.find_layer(68, 44))))
    result = layertools.evaluate(layout, top, expression, to="100/0", strategy=strategy, threads=2,
                                 join_max_poly_verts=20)
    target = layout.find_layer(100, 0)
    most = max((shape.polygon.num_points() for cell in layout.each_cell()
                for shape in cell.shapes(target).each() if shape.is_polygon()), default=0)
    assert 0 < most <= 20
    assert (_result_region(layout) ^ reference).is_empty()
    if strategy == "deep":
        assert result.cells_written > 1


def test_octagon_is_symmetric():
    from layertools.engine.regions import octagon
    polygon = octagon(1000)
    assert polygon.num_points() == 8
    assert all(abs(math.hypot(p.x, p.y) - 1000) < 1 for p in polygon.each_point_hull())
