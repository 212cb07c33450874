"""Xic's documented examples, on fixtures built in code, for every strategy (doc/decisions.md wins)."""

from __future__ import annotations

import math

import pytest

import layertools
from layertools.compat import db
from layertools.errors import CellNotFoundError, LayerNotFoundError, OptionError
from layouts import L_POLYGON, add_box, area_um2, fixture_f1, fixture_f2, fixture_f3, fixture_f4, layer_index, region_of

STRATEGIES = [("flat", None), ("tiled", 100.0), ("tiled", 30.0), ("tiled", 7.0), ("deep", None)]
IDS = ["flat", "tiled100", "tiled30", "tiled7", "deep"]


def evaluate(fixture, expression, to="NEW", **options):
    layout, top = fixture()
    result = layertools.evaluate(layout, top, expression, to, **options)
    return layout, top, result


def new_area(layout, top, name="NEW"):
    return area_um2(region_of(layout, top, name))


def boxes_um(layout, cell, name="NEW"):
    """The shapes on a layer of one cell as sorted µm tuples (boxes only)."""
    out = []
    for shape in cell.shapes(layer_index(layout, name)).each():
        box = shape.dbbox() if shape.is_box() else shape.dpolygon.bbox()
        out.append((box.left, box.bottom, box.right, box.top))
    return sorted(out)


F1_CASES = [  # (case, expression, area in µm²)
    ("T1", "A & B", 400), ("T2", "A * B", 400), ("T3", "A | B", 2800), ("T4", "A + B", 2800),
    ("T5", "A - B", 1200), ("T5b", "A not B", 1200), ("T5c", "A and not B", 1200), ("T5d", "A &! B", 1200),
    ("T5e", "geomAndNot(A, B)", 1200), ("T6", "A ^ B", 2400), ("T6b", "A xor B", 2400),
    ("T6c", "geomXor(A, B)", 2400), ("T7", "!A", 8400), ("T7b", "~A", 8400), ("T7c", "not A", 8400),
    ("T7d", "geomNot(A)", 8400), ("T7e", "1 - A", 8400), ("T7f", "A ^ 1", 8400),
    ("T8", "A AND B", 400), ("T8b", "A Or B", 2800), ("T9", "A | B - C", 2200),
    ("T9b", "(A | B) - C", 1800), ("T10", "A + B - C", 1800), ("T11", "A & B + C", 600),
    ("T11b", "(A & B) + C", 2200), ("T12", "A * B | C", 2200), ("T13", "A ^ B * C", 800),
    ("T13b", "A ^ (B * C)", 2000), ("T14", "A - B - C", 1000), ("T15", "!A & B", 1200),
    ("T15b", "!A * B", 1200), ("T17", "1", 10000), ("T18a", "A & 1", 1600), ("T18b", "A | 1", 10000),
    ("T18c", "A - 1", 0), ("T18d", "A | 0", 1600), ("T18e", "A & 0", 0), ("T19a", "2 - 2", 0),
    ("T19b", "2 * 3", 10000), ("T19c", "1 - 2", 10000), ("T19d", "!0", 10000), ("T19e", "!2", 0),
    ("T19f", "TRUE", 10000), ("T19g", "A & FALSE", 0), ("T20", "bloat(5, A, 0)", 2500),
    ("T21", "bloat(-5, A, 0)", 900), ("T24a", "bloat(1, bloat(1, A, 0), 0)", 1936),
    ("T24b", "bloat(2, A, 0)", 1936), ("T25", "edges(1, A, 0)", 320), ("T25b", "edges(1, A, 1)", 320),
    ("T25c", "edges(1, A, 2)", 320), ("T25d", "edges(1, A, 3)", 320), ("T25e", "edges(1, A, 6)", 320),
    ("T25f", "edges(1, A, 5)", 320),
    ("E4", "edges(1, A, 4)", 42 * 42 - 1600 - 4 * (1 - 0.707)),  # corners: 2 facets (Xic)
    ("T26", "extent(A | B)", 3600), ("T27a", "extent(0)", 0), ("T27b", "extent(A & C - C)", 0),
    ("T28a", "A & box(20, 20, 40, 60)", 600), ("T28b", "A & box(40, 60, 20, 20)", 600),
    ("T29b", "A & box(10, 10, 1000.0, 1000.0)", 1600), ("T29c", "A & box(10, 10, 1e3, 1e3)", 1600),
    ("T30", "BND & zoid(0, 20, 0, 10, 10, 10)", 100), ("T32", "geomOr(A, B, C)", 3800),
    ("T33", "geomAnd(geomCat(A, B, C))", 1200), ("T34", "geomXor(geomCat(A, B, C))", 2600),
    ("T35", "geomAnd(A)", 0), ("N1", "noop(A | B)", 2800), ("N2", "bloat(0, A, 0)", 1600),
    ("N3", "A & bloat(-2*1, B, 0)", 18 * 18), ("N4", "!(A | B | C)", 10000 - 4400 + 600),
    ("N5", "bloat(5, !A, 0)", 110 * 110 - 30 * 30), ("N6", "bloat(-5, !A, 0)", 10000 - 50 * 50 - (10000 - 90 * 90)),
    ("N7", "A & \"3,0\"", 400), ("F1", "filt(A | box(80, 80, 90, 90), B)", 1600),  # the box misses B
    ("M1", "manhattanize(1, A | B, 0)", 2800), ("M2", "manhattanize(3, A, 1)", 42 * 42),  # A to the 3 µm grid: 9..51
]


def test_every_function_has_an_area_case():
    """Each function the parser knows (language/functions.py) is evaluated in every strategy by a
    case above; sqz reads the selection and has its own test (test_t82_t83)."""
    from layertools.language import FUNCTIONS, parse
    from layertools.language.ast import Call, walk
    called = {node.name for _case, text, _area in F1_CASES for node in walk(parse(text)) if isinstance(node, Call)}
    assert set(FUNCTIONS) - called == {"sqz"}


@pytest.mark.parametrize("strategy, partition", STRATEGIES, ids=IDS)
@pytest.mark.parametrize("case, expression, area", F1_CASES, ids=[c[0] for c in F1_CASES])
def test_f1_areas(case, expression, area, strategy, partition):
    layout, top, result = evaluate(fixture_f1, expression, strategy=strategy, partition=partition, threads=0)
    assert new_area(layout, top) == pytest.approx(area, abs=1e-6)
    assert result.strategy in ("flat", strategy)


def test_t1_writes_one_box():
    layout, top, _ = evaluate(fixture_f1, "A & B")
    assert boxes_um(layout, top) == [(30, 30, 50, 50)]
    assert all(s.is_box() for s in top.shapes(layer_index(layout, "NEW")).each())


def test_t3_union_is_one_polygon_with_eight_vertices():
    layout, top, _ = evaluate(fixture_f1, "A | B", strategy="flat")
    shapes = list(top.shapes(layer_index(layout, "NEW")).each())
    assert len(shapes) == 1
    points = {(p.x, p.y) for p in shapes[0].dpolygon.each_point_hull()}
    assert points == {(10, 10), (50, 10), (50, 30), (70, 30), (70, 70), (30, 70), (30, 50), (10, 50)}


def test_t6_and_t7_leave_the_inside_empty():
    layout, top, _ = evaluate(fixture_f1, "A ^ B")
    assert (region_of(layout, top, "NEW") & db.Region(db.Box(30000, 30000, 50000, 50000))).is_empty()
    layout, top, _ = evaluate(fixture_f1, "!A")
    assert (region_of(layout, top, "NEW") & region_of(layout, top, "A")).is_empty()


def test_t16_zero_empties_the_target():
    def prefilled():
        layout, top = fixture_f1()
        add_box(layout, top, "NEW", 80, 80, 90, 90)
        return layout, top
    layout, top, result = evaluate(prefilled, "0")
    assert region_of(layout, top, "NEW").is_empty()
    assert layout.get_info(layer_index(layout, "NEW")).name == "NEW"


def test_t17_one_is_the_cell_box():
    layout, top, _ = evaluate(fixture_f1, "1")
    assert boxes_um(layout, top) == [(0, 0, 100, 100)]


def test_t20_t21_bloat_gives_boxes():
    layout, top, _ = evaluate(fixture_f1, "bloat(5, A, 0)", strategy="flat")
    assert boxes_um(layout, top) == [(5, 5, 55, 55)]
    layout, top, _ = evaluate(fixture_f1, "bloat(-5, A, 0)", strategy="flat")
    assert boxes_um(layout, top) == [(15, 15, 45, 45)]


def test_t22_bloat_mode_2_squares_and_mode_3_cuts_the_corners():  # as Xic
    layout, top, _ = evaluate(fixture_f1, "bloat(5, A, 2)")
    assert boxes_um(layout, top) == [(5, 5, 55, 55)]
    layout, top, _ = evaluate(fixture_f1, "bloat(5, A, 3)")
    corner = 5 * 5 - 5 * round(5000 / math.sqrt(2)) / 1000  # square minus two facets through the bisector
    assert new_area(layout, top) == pytest.approx(2500 - 4 * corner)
    assert region_of(layout, top, "NEW").bbox() == db.Box(5000, 5000, 55000, 55000)


@pytest.mark.parametrize("strategy, partition", STRATEGIES, ids=IDS)
def test_t23_growth_beyond_the_cell_box_is_not_clipped(strategy, partition):  # D5 [INTENT]
    def with_d():
        layout, top = fixture_f1()
        add_box(layout, top, "D", 0, 0, 10, 10)
        return layout, top
    layout, top, _ = evaluate(with_d, "bloat(5, D, 0)", strategy=strategy, partition=partition)
    assert region_of(layout, top, "NEW").merged().bbox() == db.Box(-5000, -5000, 15000, 15000)
    assert new_area(layout, top) == pytest.approx(400)


def test_t29_four_hex_digits_are_a_layer_and_the_error_says_how_to_write_the_number():
    layout, top = fixture_f1()
    with pytest.raises(LayerNotFoundError) as info:
        layertools.evaluate(layout, top, "A & box(10, 10, 20, 20) & 1000", "NEW")
    assert "1000.0" in str(info.value) and info.value.column == 27
    assert layout.find_layer(db.LayerInfo(100, 0, "NEW")) is None


def test_t36_manhattanize_stays_inside_the_triangle():
    layout, top, _ = evaluate(fixture_f1, "manhattanize(1, zoid(0, 10, 0, 0, 0, 10), 0)")
    region = region_of(layout, top, "NEW")
    triangle = db.Region(db.DPolygon([db.DPoint(0, 0), db.DPoint(10, 0), db.DPoint(0, 10)]).to_itype(0.001))
    assert 0 < area_um2(region) <= 50
    assert (region - triangle).is_empty()
    for polygon in region.decompose_trapezoids_to_region(db.Polygon.TD_htrapezoids).each():
        assert polygon.is_box()


def test_t38_filt_keeps_whole_groups_touching_the_filter():
    def f():
        layout, top = fixture_f1()
        add_box(layout, top, "M", 10, 80, 20, 90)
        add_box(layout, top, "M", 80, 80, 90, 90)
        add_box(layout, top, "V", 82, 82, 84, 84)
        return layout, top
    for strategy, partition in STRATEGIES:
        layout, top, _ = evaluate(f, "filt(M, V)", strategy=strategy, partition=partition)
        assert region_of(layout, top, "NEW").merged().each().__next__().bbox() == db.Box(80000, 80000, 90000, 90000)
        assert new_area(layout, top) == pytest.approx(100)


def test_t39_instances_pseudo_layer():  # D15
    layout, top, _ = evaluate(fixture_f2, "$$")
    assert boxes_um(layout, top) == [(20, 20, 35, 30)]
    layout, top, _ = evaluate(fixture_f2, "!$$")
    assert new_area(layout, top) == pytest.approx(9850)


def test_t39_an_array_gives_one_box():  # D15
    layout, top = fixture_f2()
    sub = layout.cell("SUB")
    top.insert(db.CellInstArray(sub.cell_index(), db.Trans(db.Vector(0, 70000)),
                                db.Vector(20000, 0), db.Vector(0, 0), 3, 1))
    layertools.evaluate(layout, top, "$$", "NEW")
    assert boxes_um(layout, top) == [(0, 70, 55, 80), (20, 20, 35, 30)]


@pytest.mark.parametrize("expression", ["A / B", "A == B", "bloat(5, A)", "foo(A)", "A & Q", "A & -B",
                                        "A B", "A.NOSUCH", "A & 1000"])
def test_t40_t41_t42_t81_errors_change_nothing(expression):
    layout, top = fixture_f1()
    before = layout.layers()
    with pytest.raises(layertools.LayertoolsError):
        layertools.evaluate(layout, top, expression, "NEW")
    assert layout.layers() == before  # the To layer is not even created (D10)


def test_t43_to_layer_inside_its_own_expression():
    layout, top, _ = evaluate(fixture_f1, "A | B", to="A")
    assert new_area(layout, top, "A") == pytest.approx(2800)
    assert len(list(top.shapes(layer_index(layout, "A")).each())) == 1
    assert new_area(layout, top, "B") == pytest.approx(1600)


def test_t44_dont_clear_keeps_the_original_object():
    layout, top, _ = evaluate(fixture_f1, "A | B", to="A", clear=False)
    assert len(list(top.shapes(layer_index(layout, "A")).each())) == 2
    assert new_area(layout, top, "A") == pytest.approx(2800)


@pytest.mark.parametrize("clear, expected", [(False, [(30, 30, 50, 50), (80, 80, 90, 90)]),
                                             (True, [(30, 30, 50, 50)])])
def test_t45_dont_clear(clear, expected):
    def prefilled():
        layout, top = fixture_f1()
        add_box(layout, top, "NEW", 80, 80, 90, 90)
        return layout, top
    layout, top, _ = evaluate(prefilled, "A & B", clear=clear)
    assert boxes_um(layout, top) == expected


def test_t46_empty_expression_creates_the_layer_only():
    layout, top = fixture_f1()
    result = layertools.evaluate(layout, top, "", "NEW2")
    assert layout.find_layer(db.LayerInfo("NEW2")) is not None or any(
        layout.get_info(i).name == "NEW2" for i in layout.layer_indexes())
    assert result.shapes_written == 0


def test_t47_empty_expression_on_an_existing_layer_changes_nothing():
    layout, top, result = evaluate(fixture_f1, "", to="A")
    assert boxes_um(layout, top, "A") == [(10, 10, 50, 50)]


def test_t48_empty_expression_with_horizontal_split_rebuilds_in_place():
    def lsh():
        layout, top = fixture_f1()
        index = layer_index(layout, "LSH")
        top.shapes(index).insert(db.DPolygon([db.DPoint(x, y) for x, y in L_POLYGON]).to_itype(0.001))
        return layout, top
    layout, top, _ = evaluate(lsh, "", to="LSH", format="hsplit")
    assert boxes_um(layout, top, "LSH") == [(0, 0, 20, 10), (0, 10, 10, 20)]


@pytest.mark.parametrize("fmt", ["default", "joined", "hsplit", "vsplit"])
def test_t49_d9_to_layer_equal_to_the_lone_expression_layer(fmt):
    layout, top, _ = evaluate(fixture_f4, "L", to="L", format=fmt)
    expected = {"default": None, "joined": None, "hsplit": [(0, 0, 20, 10), (0, 10, 10, 20)],
                "vsplit": [(0, 0, 10, 20), (10, 0, 20, 10)]}[fmt]
    shapes = list(top.shapes(layer_index(layout, "L")).each())
    if expected is None:
        assert len(shapes) == 1 and shapes[0].polygon.num_points() == 6
    else:
        assert boxes_um(layout, top, "L") == expected
    assert new_area(layout, top, "L") == pytest.approx(300)


def test_t51_copy_keeps_the_object():
    layout, top, result = evaluate(fixture_f4, "L")
    shapes = list(top.shapes(layer_index(layout, "NEW")).each())
    assert result.copied and len(shapes) == 1
    assert {(p.x, p.y) for p in shapes[0].dpolygon.each_point_hull()} == set(L_POLYGON)


@pytest.mark.parametrize("fmt, expected", [
    ("joined", None), ("hsplit", [(0, 0, 20, 10), (0, 10, 10, 20)]),       # T52, T53
    ("vsplit", [(0, 0, 10, 20), (10, 0, 20, 10)]),                          # T54 [INTENT], D7
])
def test_t52_t54_copy_formats(fmt, expected):
    layout, top, _ = evaluate(fixture_f4, "L", format=fmt)
    if expected is None:
        shapes = list(top.shapes(layer_index(layout, "NEW")).each())
        assert len(shapes) == 1 and shapes[0].polygon.num_points() == 6
    else:
        assert boxes_um(layout, top) == expected


@pytest.mark.parametrize("fmt, expected", [
    ("hsplit", [(10, 10, 50, 30), (10, 30, 70, 50), (30, 50, 70, 70)]),   # T55
    ("vsplit", [(10, 10, 30, 50), (30, 10, 50, 70), (50, 30, 70, 70)]),   # T56 [INTENT]
])
def test_t55_t56_split_formats(fmt, expected):
    layout, top, _ = evaluate(fixture_f1, "A | B", format=fmt, strategy="flat")
    assert boxes_um(layout, top) == expected


def test_t57_or_zero_writes_one_box():
    layout, top, _ = evaluate(fixture_f1, "A | 0")
    assert boxes_um(layout, top) == [(10, 10, 50, 50)]
    assert all(s.is_box() for s in top.shapes(layer_index(layout, "NEW")).each())


def test_t58_join_max_poly_verts():  # D8
    def comb():
        layout, top = fixture_f1()
        add_box(layout, top, "M", 0, 0, 100, 5)
        for i in range(12):
            add_box(layout, top, "M", i * 8, 0, i * 8 + 4, 40)
        return layout, top
    layout, top, _ = evaluate(comb, "M | 0", format="joined", join_max_poly_verts=20)
    shapes = list(top.shapes(layer_index(layout, "NEW")).each())
    assert len(shapes) > 1
    assert all(s.polygon.num_points() <= 20 for s in shapes)
    assert new_area(layout, top) == pytest.approx(area_um2(region_of(layout, top, "M").merged()))
    layout, top, _ = evaluate(comb, "M | 0", format="joined", join_max_poly_verts=0)
    assert len(list(top.shapes(layer_index(layout, "NEW")).each())) == 1


@pytest.mark.parametrize("expression", ["M | 0", "M - H", "bloat(0, M, 0)"])
def test_t58_join_max_poly_verts_in_tiles(expression):
    """Tiles break their own result in place when it has no holes, and send holed polygons to
    the hole-free path: both must keep the area and honour the limit."""
    def comb_with_hole():
        layout, top = fixture_f1()
        add_box(layout, top, "M", 0, 0, 100, 5)
        for i in range(12):
            add_box(layout, top, "M", i * 8, 0, i * 8 + 4, 40)
        add_box(layout, top, "M", 200, 0, 300, 100)  # a ring: a polygon with a hole ...
        add_box(layout, top, "H", 240, 40, 260, 60)  # ... once H is cut out
        return layout, top
    layout, top, result = evaluate(comb_with_hole, expression, format="joined", join_max_poly_verts=20,
                                   strategy="tiled", partition=1000)
    assert result.strategy == "tiled"
    shapes = list(top.shapes(layer_index(layout, "NEW")).each())
    assert all(s.polygon.num_points() <= 20 for s in shapes)
    assert len(shapes) > 2
    expected = region_of(layout, top, "M").merged()
    if "H" in expression:
        expected -= region_of(layout, top, "H")
    assert new_area(layout, top) == pytest.approx(area_um2(expected))


# -- partitioning (F3) ---------------------------------------------------------------------------

def test_t59_t60_objects_are_cut_at_grid_lines():
    layout, top, result = evaluate(fixture_f3, "A | 0", strategy="tiled", partition=100, format="joined")
    assert boxes_um(layout, top) == [(50, 40, 100, 60), (100, 40, 150, 60)]
    assert result.tiles == 2
    layout, top, _ = evaluate(fixture_f3, "A | 0", strategy="tiled", partition=None)
    assert boxes_um(layout, top) == [(50, 40, 150, 60)]


def test_t61_lone_name_is_copied_without_partitioning():
    layout, top, result = evaluate(fixture_f3, "A", strategy="tiled", partition=100)
    assert boxes_um(layout, top) == [(50, 40, 150, 60)] and result.copied


def test_t62_t63_inversion_per_tile():
    layout, top, _ = evaluate(fixture_f3, "!A", strategy="tiled", partition=100)
    shapes = list(top.shapes(layer_index(layout, "NEW")).each())
    assert len(shapes) == 2
    assert sorted(round(s.darea()) for s in shapes) == [9000, 9000]
    layout, top, _ = evaluate(fixture_f3, "!A", partition=None, strategy="flat")
    assert new_area(layout, top) == pytest.approx(18000)


def test_t64_t65_bloat_across_the_grid_line_has_no_seam():
    layout, top, _ = evaluate(fixture_f3, "bloat(5, A, 0)", strategy="tiled", partition=100)
    assert boxes_um(layout, top) == [(45, 35, 100, 65), (100, 35, 155, 65)]
    layout, top, _ = evaluate(fixture_f3, "bloat(-5, A, 0)", strategy="tiled", partition=100)
    assert boxes_um(layout, top) == [(55, 45, 100, 55), (100, 45, 145, 55)]


def test_t66_extent_sees_the_whole_picture_under_partitioning():  # D6, not [XIC-LITERAL]
    two = lambda: fixture_f3(a_boxes=((10, 10, 20, 20), (150, 50, 160, 60)))  # noqa: E731
    for partition in (100, None):
        layout, top, _ = evaluate(two, "extent(A)", strategy="tiled", partition=partition)
        assert region_of(layout, top, "NEW").merged().bbox() == db.Box(10000, 10000, 160000, 60000)
        assert new_area(layout, top) == pytest.approx(150 * 50)


def test_t67_box_is_written_once():
    layout, top, _ = evaluate(fixture_f3, "box(10, 10, 20, 20)", strategy="tiled", partition=100)
    assert boxes_um(layout, top) == [(10, 10, 20, 20)]


def test_t68_t69_one_gives_one_box_per_tile():
    layout, top, result = evaluate(fixture_f3, "BND & 1", strategy="tiled", partition=100)
    assert boxes_um(layout, top) == [(0, 0, 100, 100), (100, 0, 200, 100)]
    def big():
        layout, top = fixture_f3()
        add_box(layout, top, "BND", 0, 0, 250, 130)
        return layout, top
    layout, top, result = evaluate(big, "BND & 1", strategy="tiled", partition=100)
    assert result.tiles == 6
    assert len(boxes_um(layout, top)) == 6 and new_area(layout, top) == pytest.approx(32500)


@pytest.mark.parametrize("expression", ["A | 0", "!A", "bloat(5, A, 0)", "bloat(-3, !bloat(4, A, 0), 0)"])
@pytest.mark.parametrize("threads", [0, 1, 4])
def test_t70_threads_do_not_change_the_geometry(expression, threads):
    reference_layout, reference_top, _ = evaluate(fixture_f3, expression, strategy="flat")
    layout, top, _ = evaluate(fixture_f3, expression, strategy="tiled", partition=37, threads=threads)
    assert (region_of(layout, top, "NEW") ^ region_of(reference_layout, reference_top, "NEW")).is_empty()


# -- hierarchy (F2) ------------------------------------------------------------------------------

@pytest.mark.parametrize("strategy", ["flat", "tiled", "deep"])
def test_t71_depth_zero_reads_only_the_cell(strategy):
    layout, top, _ = evaluate(fixture_f2, "A | B", depth=0, strategy=strategy)
    assert boxes_um(layout, top) == [(60, 60, 70, 70)]
    assert layout.cell("SUB").shapes(layer_index(layout, "NEW")).is_empty()


@pytest.mark.parametrize("strategy", ["flat", "tiled"])
def test_t72_depth_all_writes_flattened_into_the_cell(strategy):
    layout, top, _ = evaluate(fixture_f2, "A | B", depth="all", strategy=strategy)
    assert new_area(layout, top) == pytest.approx(250)
    assert layout.cell("SUB").shapes(layer_index(layout, "NEW")).is_empty()


def test_t72_deep_keeps_the_hierarchy():  # D20
    layout, top, result = evaluate(fixture_f2, "A | B", depth="all", strategy="deep")
    assert new_area(layout, top) == pytest.approx(250)
    assert boxes_um(layout, layout.cell("SUB")) == [(0, 0, 15, 10)]


def test_t73_recursive_writes_into_each_cell():
    layout, top, result = evaluate(fixture_f2, "A | B", depth="all", recursive=True)
    assert boxes_um(layout, layout.cell("SUB")) == [(0, 0, 15, 10)]
    assert boxes_um(layout, top) == [(60, 60, 70, 70)]
    assert new_area(layout, top) == pytest.approx(250)
    assert result.cells_written == 2


def test_t74_recursion_is_ignored_at_depth_zero():
    layout, top, _ = evaluate(fixture_f2, "A | B", depth=0, recursive=True)
    assert boxes_um(layout, top) == [(60, 60, 70, 70)]
    assert layout.cell("SUB").shapes(layer_index(layout, "NEW")).is_empty()


def test_t75_copy_flattens():
    layout, top, _ = evaluate(fixture_f2, "A", depth="all")
    assert boxes_um(layout, top) == [(20, 20, 30, 30), (60, 60, 70, 70)]


@pytest.mark.parametrize("strategy", ["flat", "tiled", "deep"])
@pytest.mark.parametrize("depth, area", [(0, 9900), ("all", 9800)])
def test_t76_inversion_and_depth(strategy, depth, area):
    layout, top, _ = evaluate(fixture_f2, "!A", depth=depth, strategy=strategy)
    assert new_area(layout, top) == pytest.approx(area)


def test_t77_depth_one():
    layout, top, _ = evaluate(fixture_f2, "A & B", depth=1)
    assert boxes_um(layout, top) == [(25, 20, 30, 30)]


# -- other cells (F1 + OTHER) ----------------------------------------------------------------------

def fixture_other():
    layout, top = fixture_f1()
    other = layout.create_cell("OTHER")
    add_box(layout, other, "A", 150, 150, 160, 160)
    return layout, top


@pytest.mark.parametrize("strategy, partition", STRATEGIES, ids=IDS)
def test_t78_t79_other_cell_widens_the_area(strategy, partition):
    layout, top, _ = evaluate(fixture_other, "A ^ A.OTHER", strategy=strategy, partition=partition)
    assert new_area(layout, top) == pytest.approx(1700)
    layout, top, _ = evaluate(fixture_other, "!A.OTHER", strategy=strategy, partition=partition)
    assert new_area(layout, top) == pytest.approx(25500)


def test_t80_copy_from_another_cell():
    layout, top, _ = evaluate(fixture_other, "A.OTHER")
    assert boxes_um(layout, top) == [(150, 150, 160, 160)]


def test_t81_unknown_cell_is_named():
    layout, top = fixture_other()
    with pytest.raises(CellNotFoundError) as info:
        layertools.evaluate(layout, top, "A.OTHR", "NEW")
    assert "OTHR" in str(info.value) and "OTHER" in str(info.value) and info.value.column == 1


# -- selection (sqz, D16) --------------------------------------------------------------------------

def test_t82_t83_sqz_reads_the_selection():
    layout, top = fixture_f1()
    a = layer_index(layout, "A")
    selection = {a: db.Region(db.Box(10000, 10000, 50000, 50000))}
    layertools.evaluate(layout, top, "sqz(A) & B", "NEW", selection=selection)
    assert new_area(layout, top) == pytest.approx(400)
    layout, top = fixture_f1()
    layertools.evaluate(layout, top, "sqz(B)", "NEW", selection=selection)
    assert new_area(layout, top) == 0


# -- options and merge -----------------------------------------------------------------------------

def test_merge_joins_with_existing_objects():
    def prefilled():
        layout, top = fixture_f1()
        add_box(layout, top, "NEW", 50, 30, 60, 50)    # touches A & B's result at x=50
        return layout, top
    layout, top, _ = evaluate(prefilled, "A & B", clear=False, merge=True)
    assert boxes_um(layout, top) == [(30, 30, 60, 50)]


@pytest.mark.parametrize("options, words", [
    (dict(depth=-1), "depth"), (dict(depth="deep"), "depth"), (dict(strategy="fast"), "strategy"),
    (dict(format="split"), "format"), (dict(partition=-5), "partition"), (dict(threads=-1), "threads"),
    (dict(clear="yes"), "clear"), (dict(colour=3), "unknown option"),
])
def test_bad_options_are_named(options, words):
    layout, top = fixture_f1()
    with pytest.raises(OptionError) as info:
        layertools.evaluate(layout, top, "A & B", "NEW", **options)
    assert words in str(info.value)


@pytest.mark.parametrize("to, expected", [("100/0", (100, 0, "")), ("NEW", (100, 0, "NEW")),
                                          ("XX 7/3", (7, 3, "XX")), ("XX (7/3)", (7, 3, "XX"))])
def test_to_layer_forms(to, expected):
    layout, top = fixture_f1()
    result = layertools.evaluate(layout, top, "A & B", to)
    info = layout.get_info(result.layer_index)
    assert (info.layer, info.datatype) == expected[:2] or info.name == expected[2]
    assert area_um2(region_of(layout, top, result.layer_index)) == pytest.approx(400)


def test_auto_reports_its_choice():
    layout, top, result = evaluate(fixture_f1, "A & B", strategy="auto")
    assert result.strategy in ("flat", "tiled", "deep") and result.reason


def test_dotted_layer_names_get_a_quoting_hint():
    layout, top = fixture_f1()
    index = layout.insert_layer(db.LayerInfo(50, 0, "met1.drawing"))
    top.shapes(index).insert(db.Box(0, 0, 5000, 5000))
    with pytest.raises(CellNotFoundError) as info:
        layertools.evaluate(layout, top, "met1.drawing & A", "NEW")
    assert '"met1.drawing"' in str(info.value) and "double quotes" in str(info.value)
    layertools.evaluate(layout, top, '"met1.drawing" | A', "NEW")
    assert new_area(layout, top) == pytest.approx(1600 + 25)


def test_deep_counts_every_cell_it_writes():
    layout, top, result = evaluate(fixture_f2, "A | B", strategy="deep")
    assert result.cells_written == 2


@pytest.mark.parametrize("options", [dict(strategy="deep", recursive=True), dict(strategy="tiled", partition=50),
                                     dict(strategy="auto"), dict(strategy="tiled")])
def test_explain_plans_what_evaluate_does(options):
    layout, top = fixture_f2()
    plan = layertools.explain(layout, top, "A | B", "NEW", **options)
    result = layertools.evaluate(layout, top, "A | B", "NEW", **options)
    assert (plan.strategy, plan.partition, plan.threads) == (result.strategy, result.partition, result.threads)
