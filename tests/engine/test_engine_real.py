"""Real layouts nobody here drew: every strategy XOR-identical to an independent Region computation.

The reference results are computed here with plain KLayout Region operations, not with
layertools' evaluators, and each strategy (with several partition sizes and thread counts)
must match them exactly (non-Manhattan files: up to 1 dbu of rounding where tiles cut slanted
edges).
"""

from __future__ import annotations

import pytest

import layertools
from conftest import data_file
from layertools.compat import db

# strategy, partition (µm), threads
RUNS = [("flat", None, 0), ("tiled", 100.0, 0), ("tiled", 250.0, 2), ("deep", None, 2), ("auto", 100.0, 0)]


def _layer(layout, spec: str) -> int:
    layer, datatype = (int(x) for x in spec.split("/"))
    index = layout.find_layer(layer, datatype)
    assert index is not None, f"{spec} missing in test data"
    return index


def _read(layout, cell, spec: str) -> "db.Region":
    return db.Region(cell.begin_shapes_rec(_layer(layout, spec)))


# Each case: file, cell (None: the single top), expression, independent reference, slanted data
CASES = [
    ("sky130_fd_sc_hd.gds.gz", "sky130_fd_sc_hd__dfxtp_1", "(68/20 & 67/44) | (67/20 - 68/20)",
     lambda r: (r("68/20") & r("67/44")) | (r("67/20") - r("68/20")), False),
    ("sky130_fd_sc_hd.gds.gz", "sky130_fd_sc_hd__dfxtp_1", "bloat(0.1, 67/20, 0) ^ 66/20",
     lambda r: r("67/20").sized(100) ^ r("66/20"), False),
    ("tt_um_obriensp_be8.gds.gz", None, "(68/20 & 69/20) | (68/44 - 68/20)",
     lambda r: (r("68/20") & r("69/20")) | (r("68/44") - r("68/20")), False),
    ("tt_um_obriensp_be8.gds.gz", None, "bloat(0.3, 68/44, 0) & !67/20",
     lambda r: r("68/44").sized(300) & (r.box() - r("67/20")), False),
    ("tt_um_obriensp_be8.gds.gz", None, "edges(0.05, 69/20, 0) - bloat(-0.1, 69/20, 0)",
     lambda r: (r("69/20").sized(50) - r("69/20").sized(-50)) - r("69/20").sized(-100), False),
    ("caravel_routing.gds.gz", None, "(70/20 ^ 70/44) & 71/20",
     lambda r: (r("70/20") ^ r("70/44")) & r("71/20"), False),
    ("caravel_routing.gds.gz", None, "!bloat(2, 72/20, 0)",
     lambda r: r.box() - r("72/20").sized(2000), False),
    ("vexriscv.oas.gz", None, "(5/0 & 6/0) | bloat(1, 19/0 - 18/0, 0)",
     lambda r: (r("5/0") & r("6/0")) | (r("19/0") - r("18/0")).sized(4), False),   # dbu 0.25 µm
    ("sg13g2_pr.gds.gz", "inductor2", "bloat(0.5, 134/0, 0) - 126/0",
     lambda r: r("134/0").sized(500) - r("126/0"), True),
    ("sg13g2_pr.gds.gz", "sealring_complete", "(8/0 ^ 10/0) | !126/0",
     lambda r: (r("8/0") ^ r("10/0")) | (r.box() - r("126/0")), True),
    ("RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz", None, "(8/0 & 10/0) | (19/0 - 8/0)",
     lambda r: (r("8/0") & r("10/0")) | (r("19/0") - r("8/0")), True),
    # a result polygon with 41,610 points and 3,261 holes: JoinMaxPolyVerts must not lose area
    # (KLayout's Region.break does, on polygons with many holes)
    ("RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz", None, "bloat(0.2, 8/0, 0) - 10/0",
     lambda r: r("8/0").sized(200) - r("10/0"), False),
]

_LAYOUTS: dict[str, "db.Layout"] = {}


def _layout(name: str) -> "db.Layout":
    if name not in _LAYOUTS:
        layout = db.Layout()
        layout.read(str(data_file(name)))
        _LAYOUTS[name] = layout
    return _LAYOUTS[name]


class _Reader:
    def __init__(self, layout, cell):
        self.layout, self.cell = layout, cell

    def __call__(self, spec):
        return _read(self.layout, self.cell, spec)

    def box(self):
        return db.Region(self.cell.bbox())


def _xor_is_empty(a: "db.Region", b: "db.Region", slanted: bool) -> bool:
    difference = a ^ b
    if slanted:  # tiles cut slanted edges on the integer grid: allow 1 dbu of rounding
        difference = difference.sized(-1)
    return difference.is_empty()


@pytest.mark.parametrize("strategy, partition, threads", RUNS, ids=[f"{s}-{p}-{t}" for s, p, t in RUNS])
@pytest.mark.parametrize("name, cell_name, expression, reference, slanted", CASES,
                         ids=[f"{c[0].split('.')[0]}:{c[2]}" for c in CASES])
def test_strategies_match_an_independent_computation(name, cell_name, expression, reference, slanted,
                                                     strategy, partition, threads):
    layout = _layout(name)
    cell = layout.cell(cell_name) if cell_name else layout.top_cell()
    expected = reference(_Reader(layout, cell))
    result = layertools.evaluate(layout, cell, expression, "1000/0", strategy=strategy,
                                 partition=partition, threads=threads)
    try:
        got = db.Region(cell.begin_shapes_rec(result.layer_index))
        assert _xor_is_empty(got, expected, slanted), f"{strategy}: XOR not empty ({(got ^ expected).area()} dbu²)"
        assert result.shapes_written > 0 or expected.is_empty()
    finally:
        layout.delete_layer(result.layer_index)


def test_strategies_agree_with_each_other_on_the_sram_arrays():
    layout = _layout("RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz")
    top = layout.top_cell()
    results = {}
    for strategy, partition, threads in [("flat", None, 0), ("deep", None, 2), ("tiled", 50.0, 2), ("tiled", 200.0, 1)]:
        result = layertools.evaluate(layout, top, "bloat(0.2, 8/0, 0) - 10/0 | !19/0 & 8/0", "1001/0",
                                     strategy=strategy, partition=partition, threads=threads)
        results[(strategy, partition)] = region = db.Region()
        region.insert(top.begin_shapes_rec(result.layer_index))  # a copy: the layer is deleted next
        layout.delete_layer(result.layer_index)
    first = next(iter(results.values()))
    for key, region in results.items():
        assert _xor_is_empty(region, first, True), key
    assert not first.is_empty()


def test_depth_limits_on_real_hierarchy():
    layout = _layout("caravel_routing.gds.gz")
    top = layout.top_cell()
    for depth in (0, 1, 2):
        iterator = top.begin_shapes_rec(_layer(layout, "71/20"))
        iterator.max_depth = depth
        expected = db.Region()
        expected.insert(iterator)
        for strategy in ("flat", "tiled"):
            result = layertools.evaluate(layout, top, "71/20 | 0", "1002/0", depth=depth, strategy=strategy,
                                         partition=500.0)
            got = db.Region(top.begin_shapes_rec(result.layer_index))
            matches = (got ^ expected).is_empty()
            layout.delete_layer(result.layer_index)
            assert matches, (depth, strategy)


@pytest.mark.parametrize("name, expression, expected", [
    ("RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz", "(8/0 & 10/0) | (19/0 - 8/0)", "deep"),     # reuse x265
    # inversion; measured (loaded 2-core machine) flat 1.4-1.8 s, tiled 0.87-1.19 s, deep 0.83-1.23 s
    ("RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz", "!(30/0 | 50/0)", ("tiled", "deep")),
    # small, little reuse: measured flat 0.68 / 1.47 s, tiled 0.75 / 0.81 s (bench/cost_calibration.json)
    ("tt_um_obriensp_be8.gds.gz", "(68/20 & 69/20) | (68/44 - 68/20)", ("flat", "tiled")),
    # 900k flat shapes from 32 k stored: measured flat 11-16 s, tiled 8.4-9.5 s, deep 5.4-5.8 s
    ("vexriscv.oas.gz", "(3/0 & 10/0) | (11/0 - 3/0)", "deep"),
])
def test_auto_explains_its_choice(name, expression, expected):
    layout = _layout(name)
    plan = layertools.explain(layout, layout.top_cell(), expression, "1000/0")
    assert plan.strategy in ((expected,) if isinstance(expected, str) else expected), plan.reason
    assert "stored" in plan.reason and "flat" in plan.reason


def test_deep_subtraction_of_a_union_on_the_big_sram():
    """KLayout 0.30.12 deep mode loses 13.6 µm² in A - (B | C) here; the engine must not."""
    layout = _layout("RM_IHPSG13_1P_8192x32_c4.gds.gz")
    top = layout.top_cell()
    result = layertools.evaluate(layout, top, "8/0 - (30/0 | 50/0)", "1000/0", strategy="deep", threads=2)
    try:
        got = db.Region(top.begin_shapes_rec(result.layer_index)).area()
    finally:
        layout.delete_layer(result.layer_index)
    store = db.DeepShapeStore()
    read = lambda spec: db.Region(top.begin_shapes_rec(_layer(layout, spec)), store)  # noqa: E731
    independent = ((read("8/0") - read("30/0")) - read("50/0")).area()   # no union involved
    assert got == independent == 99_879_529_375   # the last figure: flat Region booleans, 42 s
