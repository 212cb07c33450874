"""layout_statistics: flat counts by multiplicity, checked against independent counting."""

from __future__ import annotations

import time

import pytest

from conftest import data_file
from layertools.compat import db
from layertools.hierarchy_stats import layout_statistics

KINDS = ("box", "polygon", "path", "text", "other")


def _kind(shape) -> str:
    if shape.is_box():
        return "box"
    if shape.is_polygon() or shape.is_simple_polygon():
        return "polygon"
    if shape.is_path():
        return "path"
    if shape.is_text():
        return "text"
    return "other"


def brute_force(layout, cell, depth=None, layers=None):
    """Flat counts per kind and per layer by walking every flat shape (the independent count)."""
    kinds = dict.fromkeys(KINDS, 0)
    per_layer = {}
    for layer_index in (layers if layers is not None else layout.layer_indexes()):
        iterator = cell.begin_shapes_rec(layer_index)
        if depth is not None:
            iterator.max_depth = depth
        count = 0
        while not iterator.at_end():
            kinds[_kind(iterator.shape())] += 1
            count += 1
            iterator.next()
        if count:
            per_layer[layer_index] = count
    return kinds, per_layer


def stored_by_walking(layout):
    kinds = dict.fromkeys(KINDS, 0)
    for cell in layout.each_cell():
        for layer_index in layout.layer_indexes():
            for shape in cell.shapes(layer_index).each():
                kinds[_kind(shape)] += 1
    return kinds


def read(name, editable=True):
    layout = db.Layout(editable)
    layout.read(str(data_file(name)))
    return layout


def counts(shape_counts):
    return {kind: getattr(shape_counts, kind) for kind in KINDS}


# --- a layout built in code, counted by hand ---------------------------------------------------

def hand_layout():
    """TOP: 1 box, 1 text, a 3x2 array of A and 2 single B; A: 1 polygon + single C; B: 1 path + 4x1 array of C;
    C: 2 boxes.  Depth: TOP -> B -> C = 2."""
    layout = db.Layout()
    l1 = layout.layer(1, 0)
    l2 = layout.layer(2, 0)
    top, a, b, c = (layout.create_cell(name) for name in ("TOP", "A", "B", "C"))
    top.shapes(l1).insert(db.Box(0, 0, 100, 100))
    top.shapes(l2).insert(db.Text("T", db.Trans()))
    a.shapes(l1).insert(db.Polygon([db.Point(0, 0), db.Point(10, 0), db.Point(0, 10)]))
    b.shapes(l2).insert(db.Path([db.Point(0, 0), db.Point(50, 0)], 4))
    c.shapes(l1).insert(db.Box(0, 0, 5, 5))
    c.shapes(l2).insert(db.Box(0, 0, 6, 6))
    top.insert(db.CellInstArray(a.cell_index(), db.Trans(), db.Vector(200, 0), db.Vector(0, 200), 3, 2))
    top.insert(db.CellInstArray(b.cell_index(), db.Trans(db.Vector(0, 1000))))
    top.insert(db.CellInstArray(b.cell_index(), db.Trans(db.Vector(0, 2000))))
    a.insert(db.CellInstArray(c.cell_index(), db.Trans()))
    b.insert(db.CellInstArray(c.cell_index(), db.Trans(), db.Vector(10, 0), db.Vector(0, 10), 4, 1))
    return layout, top, l1, l2


def test_hand_counted_layout():
    layout, top, l1, l2 = hand_layout()
    stats = layout_statistics(layout, top)
    assert (stats.cells, stats.top_cells, stats.depth) == (4, 1, 2)
    # stored: TOP 1 array + 2 singles, A 1 single, B 1 array (4 members)
    assert (stats.single_instances, stats.array_instances, stats.array_members) == (3, 2, 10)
    # flat: A placed 6x, B 2x -> singles 2 (TOP) + 6 (A's C) ; arrays 1 + 2 ; members 6 + 2*4
    assert (stats.single_instances_flat, stats.array_instances_flat, stats.array_members_flat) == (8, 3, 14)
    assert counts(stats.shapes_stored) == {"box": 3, "polygon": 1, "path": 1, "text": 1, "other": 0}
    # C is placed 6 (via A) + 8 (via B) = 14 times -> 28 boxes, plus TOP's box
    assert counts(stats.shapes_flat) == {"box": 29, "polygon": 6, "path": 2, "text": 1, "other": 0}
    assert stats.shapes_flat.total == 38 and stats.shapes_stored.total == 6
    # outline points: box 4, triangle 3, 2-point path 4; texts have none
    assert (stats.points_stored, stats.points_flat) == (3 * 4 + 3 + 4, 29 * 4 + 6 * 3 + 2 * 4)
    assert stats.shape_ratio == pytest.approx(38 / 6)
    assert [(entry.label, entry.stored, entry.flat) for entry in stats.layers] == [("1/0", 3, 21), ("2/0", 3, 17)]
    assert stats.bbox is not None and stats.dbu == pytest.approx(0.001)
    kinds, _ = brute_force(layout, top)
    assert counts(stats.shapes_flat) == kinds


def test_scope_cell_and_layers_and_depth_on_hand_layout():
    layout, top, l1, l2 = hand_layout()
    b_stats = layout_statistics(layout, "B")
    assert (b_stats.scope, b_stats.cells, b_stats.depth) == ("B", 2, 1)
    assert b_stats.shapes_flat.total == 1 + 4 * 2
    only_l1 = layout_statistics(layout, top, layers=[l1])
    assert only_l1.shapes_flat.total == 21 and [entry.index for entry in only_l1.layers] == [l1]
    assert only_l1.instances == 5
    # instance figures are not restricted by layers
    assert only_l1.per_layer[l1].flat == 21 and l2 not in only_l1.per_layer
    for depth in (0, 1, 2, 3):
        kinds, _ = brute_force(layout, top, depth=depth)
        assert counts(layout_statistics(layout, top, depth=depth).shapes_flat) == kinds, depth
    # depth 0 sees TOP's own shapes and walks no instance
    zero = layout_statistics(layout, top, depth=0)
    assert zero.shapes_flat.total == 2 and zero.single_instances_flat == 0 and zero.array_members_flat == 0
    assert layout_statistics(layout, top, depth=1).array_members_flat == 6


def test_empty_layout_and_bad_arguments():
    layout = db.Layout()
    stats = layout_statistics(layout)
    assert (stats.cells, stats.top_cells, stats.shapes_flat.total, stats.bbox, stats.shape_ratio) \
        == (0, 0, 0, None, 0.0)
    layout.create_cell("EMPTY")
    assert layout_statistics(layout, "EMPTY").bbox is None
    with pytest.raises(ValueError):
        layout_statistics(layout, "NOPE")
    with pytest.raises(ValueError):
        layout_statistics(layout, layers=[42])
    with pytest.raises(ValueError):
        layout_statistics(layout, depth=-1)


# --- real layouts -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [
    "RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz", "amd2901.gds.gz", "tt_um_obriensp_be8.gds.gz",
    "sg13g2_pr.gds.gz", "caravel_routing.gds.gz",
])
def test_flat_counts_equal_recursive_iteration(name):
    layout = read(name)
    stats = layout_statistics(layout)
    totals = dict.fromkeys(KINDS, 0)
    per_layer = {}
    for top in layout.each_top_cell():
        kinds, layers = brute_force(layout, layout.cell(top))
        for kind in KINDS:
            totals[kind] += kinds[kind]
        for index, count in layers.items():
            per_layer[index] = per_layer.get(index, 0) + count
    assert counts(stats.shapes_flat) == totals
    assert {entry.index: entry.flat for entry in stats.layers} == per_layer
    assert counts(stats.shapes_stored) == stored_by_walking(layout)
    assert stats.cells == layout.cells()


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_depth_limit_equals_iterator_max_depth_on_sram(depth):
    layout = read("RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz")
    top = layout.top_cell()
    kinds, per_layer = brute_force(layout, top, depth=depth)
    stats = layout_statistics(layout, top, depth=depth)
    assert counts(stats.shapes_flat) == kinds
    assert {entry.index: entry.flat for entry in stats.layers if entry.flat} == per_layer


@pytest.mark.parametrize("native_from", [0, 10**12], ids=["every-list-in-cpp", "every-list-in-python"])
def test_viewer_mode_counts_shape_arrays_member_by_member(monkeypatch, native_from):
    # Long lists are counted in C++ (NATIVE_COUNT_FROM), short ones in Python: both paths must
    # count every member of a shape array.
    # vexriscv.oas keeps OASIS repetitions as shape arrays in viewer mode: Shapes.size() counts
    # an array once (255,400 objects), the user sees 431,295 shapes.
    from layertools import hierarchy_stats
    monkeypatch.setattr(hierarchy_stats, "NATIVE_COUNT_FROM", native_from)
    editor = layout_statistics(read("vexriscv.oas.gz", editable=True))
    viewer = layout_statistics(read("vexriscv.oas.gz", editable=False))
    assert counts(editor.shapes_stored) == counts(viewer.shapes_stored)
    assert counts(editor.shapes_flat) == counts(viewer.shapes_flat)
    assert (editor.shapes_stored.total, editor.shapes_flat.total) == (431_295, 2_526_348)
    assert [(e.label, e.stored, e.flat) for e in editor.layers] == [(e.label, e.stored, e.flat) for e in viewer.layers]
    # instance repetitions: editor mode expands them, viewer mode keeps arrays; placements agree
    assert editor.placements == viewer.placements == 11_036
    assert viewer.array_instances > 0 and editor.array_instances == 0


def test_sources_md_figures_sky130_library():
    stats = layout_statistics(read("sky130_fd_sc_hd.gds.gz"))
    assert (stats.cells, stats.top_cells) == (437, 433)
    assert (stats.shapes_stored.total, stats.shapes_flat.total) == (55_897, 56_287)
    assert counts(stats.shapes_stored) == {"box": 41_762, "polygon": 7_140, "path": 858, "text": 6_137, "other": 0}
    assert stats.instances == 7 and len(stats.layers) == 38


def test_sources_md_figures_sram_39m_flat_shapes_in_milliseconds():
    layout = read("RM_IHPSG13_1P_8192x32_c4.gds.gz")
    started = time.perf_counter()
    stats = layout_statistics(layout)
    elapsed = time.perf_counter() - started
    assert (stats.shapes_stored.total, stats.shapes_flat.total) == (6_640, 39_163_608)
    assert (stats.cells, stats.depth, stats.instances, stats.array_instances, stats.array_members) \
        == (135, 7, 2_281, 154, 3_167)
    assert stats.shape_ratio == pytest.approx(39_163_608 / 6_640)
    left, bottom, right, top = stats.bbox
    assert (right - left, top - bottom) == (pytest.approx(1520.2, abs=0.05), pytest.approx(618.5, abs=0.05))
    assert elapsed < 0.5, elapsed  # measured ~0.01 s; flattening would take minutes


@pytest.mark.slow
def test_sources_md_figures_tt06_assembly():
    layout = read("tt06_tiles_assembly.gds.gz")
    stats = layout_statistics(layout)
    assert (stats.shapes_stored.total, stats.shapes_flat.total) == (3_055_783, 21_572_023)
    assert (stats.cells, stats.top_cells, stats.depth, stats.instances, stats.array_instances) \
        == (745, 1, 7, 345_909, 0)
    assert counts(stats.shapes_stored) == {"box": 2_957_246, "polygon": 3_855, "path": 580, "text": 94_102, "other": 0}
    assert len(stats.layers) == 59
    assert stats.elapsed_s < 3.0, stats.elapsed_s  # measured 0.4 s for 3 M stored shapes


def test_as_dict_is_json_ready():
    import json
    layout, top, _, _ = hand_layout()
    data = layout_statistics(layout, top).as_dict()
    text = json.dumps(data)
    assert json.loads(text)["shapes_flat"]["total"] == 38
    assert data["layers"][0]["label"] == "1/0"


def test_progress_is_reported_and_can_abandon_the_count(monkeypatch):
    import layertools.hierarchy_stats as stats_module
    throttled = stats_module._Ticker.step

    def every_step(self):  # report on every step instead of every 0.1 s
        self.next_call = 0
        throttled(self)

    monkeypatch.setattr(stats_module._Ticker, "step", every_step)
    layout = read("tt_um_obriensp_be8.gds.gz", editable=False)
    fractions = []
    stats = layout_statistics(layout, progress=fractions.append)
    assert len(fractions) == 2 * layout.cells()  # the instance pass and the shape pass, per cell
    assert fractions == sorted(fractions) and 0 < fractions[0] and fractions[-1] <= 1.0
    assert stats.shapes_flat.total == 202_544

    class Stop(Exception):
        pass

    def stop(fraction):
        raise Stop()

    with pytest.raises(Stop):
        layout_statistics(layout, progress=stop)


def test_the_documented_import_path_gives_the_hierarchy_statistics():
    # doc/memory.md's Python API imports layout_statistics from layertools.stats
    from layertools import hierarchy_stats, stats
    assert stats.layout_statistics is hierarchy_stats.layout_statistics
    assert stats.LayoutStats is hierarchy_stats.LayoutStats
