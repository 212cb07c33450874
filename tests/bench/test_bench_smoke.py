"""The benchmark must keep working: its measuring, its XOR checker and one small end-to-end run.

The timed benchmark itself is ``python3 bench/run.py`` (doc/performance.md); these tests only make
sure that it cannot rot, and that its checks can fail.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import klayout.db as db
import pytest

import drc  # bench/ modules: pyproject.toml's pytest pythonpath puts bench/ on the path
import expressions
import runner
import xorcheck
from conftest import REPO, data_file

BENCH = REPO / "bench"

KLAYOUT = shutil.which("klayout")


def _write_layout(path: Path, build) -> Path:
    layout = db.Layout()
    layout.dbu = 0.001
    top = layout.create_cell("TOP")
    build(layout, top, layout.layer(1000, 0))
    layout.write(str(path))
    return path


def test_expressions_render_the_issue_text_for_every_engine():
    mix = expressions.WORKLOADS["sky130"]["mix"]
    assert mix.xic == "(68/20 & 69/20) | (68/44 - 68/20)"
    assert expressions.WORKLOADS["sg13g2"]["mix"].xic == "(8/0 & 10/0) | (19/0 - 8/0)"
    bloat = expressions.WORKLOADS["sky130"]["bloat"].expr
    assert bloat.drc() == "(l68_44.sized(0.1.um) - l68_20)"
    assert bloat.tiling(0.001) == "(l68_44.sized(100) - l68_20)"
    assert bloat.halo() == pytest.approx(0.1)
    invert = expressions.WORKLOADS["sky130"]["invert"]
    assert invert.xic == "!(70/20 | 71/20)" and invert.expr.inverts()
    script = drc.drc_script(invert.expr, "tiled", partition=100.0, threads=2)
    assert "tiles(100.um)" in script and "threads(2)" in script
    assert "result = (extent - (l70_20 | l71_20))" in script
    assert script.rstrip().endswith("source.layout.write($output)")


def test_region_rendering_matches_hand_computed_areas():
    # 10x10 box A, 10x10 box B shifted by 5: A&B = 50, A|B = 150, A-B = 50 (µm² at dbu 0.001 → dbu²)
    regions = {(1, 0): db.Region(db.Box(0, 0, 10000, 10000)), (2, 0): db.Region(db.Box(5000, 0, 15000, 10000))}
    a, b = expressions.L("1/0"), expressions.L("2/0")
    ref = lambda: db.Region(db.Box(-10000, -10000, 30000, 20000))  # noqa: E731
    area = lambda e: e.region(regions.__getitem__, ref, 0.001).area() * 1e-6  # noqa: E731
    assert area(expressions.Binary("&", a, b)) == pytest.approx(50)
    assert area(expressions.Binary("|", a, b)) == pytest.approx(150)
    assert area(expressions.Binary("-", a, b)) == pytest.approx(50)
    assert area(expressions.Bloat(1.0, a)) == pytest.approx(12 * 12)  # square corners
    assert area(expressions.Invert(a)) == pytest.approx(40 * 30 - 100)


def test_runner_reports_the_child_peak_rss_and_kills_runaways():
    grow = "import time; b = bytearray(300 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.3)"
    measured = runner.measure([sys.executable, "-c", grow], timeout_s=60)
    assert measured.ok, measured.failure()
    assert 300e6 < measured.peak_rss_bytes < 500e6
    assert measured.wall_s >= 0.3
    hog = "import time; b = bytearray(600 * 1024 * 1024); b[::4096] = b'x' * len(b[::4096]); time.sleep(30)"
    killed = runner.measure([sys.executable, "-c", hog], timeout_s=60, max_rss_bytes=int(200e6))
    assert not killed.ok and "limit" in killed.killed and killed.wall_s < 20
    slow = runner.measure([sys.executable, "-c", "import time; time.sleep(30)"], timeout_s=1)
    assert not slow.ok and "time limit" in slow.killed and slow.wall_s < 10


def test_xor_check_sees_hierarchy_and_tiles_as_equal_and_finds_a_one_dbu_difference(tmp_path):
    def flat(layout, top, layer):
        for i in range(4):
            top.shapes(layer).insert(db.Box(i * 300_000, 0, i * 300_000 + 200_000, 200_000))

    def hierarchical_and_cut(layout, top, layer):
        child = layout.create_cell("CHILD")
        child.shapes(layer).insert(db.Box(0, 0, 200_000, 100_000))      # two halves of each box,
        child.shapes(layer).insert(db.Box(0, 100_000, 200_000, 200_000))  # cut as a tiler would
        top.insert(db.CellInstArray(child.cell_index(), db.Trans(), db.Vector(300_000, 0),
                                    db.Vector(0, 0), 4, 1))

    def off_by_one(layout, top, layer):
        flat(layout, top, layer)
        top.shapes(layer).insert(db.Box(900_000, 200_000, 1_100_000, 200_001))  # 1 dbu taller

    a = _write_layout(tmp_path / "a.gds", flat)
    b = _write_layout(tmp_path / "b.gds", hierarchical_and_cut)
    c = _write_layout(tmp_path / "c.oas", off_by_one)
    same, different = xorcheck.check_files(str(a), [str(b), str(c)], (1000, 0), tile_um=150.0)
    assert same["equal"] and same["xor_area_um2"] == 0
    assert same["area_um2"] == pytest.approx(4 * 200 * 200) == same["reference_area_um2"]
    assert same["reference_flat_shapes"] == 4 and same["flat_shapes"] == 8
    assert not different["equal"]
    assert different["xor_area_um2"] == pytest.approx(200 * 0.001)


@pytest.mark.skipif(KLAYOUT is None, reason="the KLayout application (DRC engine) is not installed")
def test_bench_runs_end_to_end_on_a_small_tile(tmp_path):
    data = data_file("tt_um_obriensp_be8.gds.gz").parent
    results = tmp_path / "results"
    argv = [sys.executable, str(BENCH / "run.py"), "--files", "tt_be8", "--workloads", "mix",
            "--groups", "main", "--only", "drc-deep|layertools-tiled|layertools-auto|api-deep",
            "--data", str(data), "--results", str(results), "--timeout", "120", "--no-floors"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    run = json.loads((results / "results.json").read_text())
    ids = [case["id"] for case in run["cases"]]
    assert ids == ["tt_be8/mix/drc-deep", "tt_be8/mix/layertools-tiled-p100-t2",
                   "tt_be8/mix/layertools-auto", "tt_be8/mix/api-deep"]
    for case in run["cases"]:
        assert case["ok"], case["failure"]
        assert case["wall_s"] > 0 and case["peak_rss_bytes"] > 20e6
        assert case["xor"].get("reference") or case["xor"]["equal"], case["xor"]
    # the reference result is the real thing, not an empty layer: met1&met2 | via-met1 of this tile
    layout = db.Layout()
    layout.read(str(data / "tt_um_obriensp_be8.gds.gz"))
    top = layout.top_cell()
    met1, met2, via = (db.Region(top.begin_shapes_rec(layout.find_layer(l, d)))
                       for l, d in ((68, 20), (69, 20), (68, 44)))
    expected = ((met1 & met2) | (via - met1)).area() * layout.dbu ** 2
    assert expected > 1000
    assert run["cases"][0]["xor"]["area_um2"] == pytest.approx(expected, rel=1e-12)
    assert run["cases"][2].get("chosen", "").startswith("auto:")
    report = (results / "report.md").read_text()
    assert "| KLayout DRC 0.28.5 | deep |" in report and "reference" in report
    assert "every layertools result XOR-identical to its reference | pass" in report
    assert not list((results / "out").glob("*.gds")), "outputs are removed after the XOR check"


def test_deep_xor_maps_cells_by_placement_not_by_name(tmp_path):
    """Two results with the same flat geometry in differently named/structured cells are equal,
    and a clash of cell names with different placements does not fool the hierarchical check."""
    def reference(layout, top, layer):
        cell = layout.create_cell("C")
        cell.shapes(layer).insert(db.Box(0, 0, 1000, 1000))
        for x in (0, 100_000):
            top.insert(db.CellInstArray(cell.cell_index(), db.Trans(db.Vector(x, 0))))
        other = layout.create_cell("K")
        other.shapes(layer).insert(db.Box(0, 0, 50, 50))
        top.insert(db.CellInstArray(other.cell_index(), db.Trans(db.Vector(0, 50_000))))

    def renamed_and_split(layout, top, layer):
        # "C" here is placed only once (at x=100 µm); the x=0 copy is a variant "C$1";
        # "K" is a different cell placed elsewhere with nothing on the result layer, and the
        # reference's K box sits in "Q".
        c = layout.create_cell("C")
        c.shapes(layer).insert(db.Box(0, 0, 1000, 1000))
        top.insert(db.CellInstArray(c.cell_index(), db.Trans(db.Vector(100_000, 0))))
        variant = layout.create_cell("C$1")
        variant.shapes(layer).insert(db.Box(0, 0, 1000, 500))
        variant.shapes(layer).insert(db.Box(0, 500, 1000, 1000))
        top.insert(db.CellInstArray(variant.cell_index(), db.Trans(db.Vector(0, 0))))
        k = layout.create_cell("K")
        k.shapes(layout.layer(1, 0)).insert(db.Box(0, 0, 10, 10))  # not on the result layer
        top.insert(db.CellInstArray(k.cell_index(), db.Trans(db.Vector(0, 70_000))))
        q = layout.create_cell("Q")
        q.shapes(layer).insert(db.Box(0, 0, 50, 50))
        top.insert(db.CellInstArray(q.cell_index(), db.Trans(db.Vector(0, 50_000))))

    def moved_variant(layout, top, layer):
        renamed_and_split(layout, top, layer)
        layout.cell("C$1").shapes(layer).insert(db.Box(2000, 0, 2001, 1000))  # 1 dbu x 1 µm more

    a = _write_layout(tmp_path / "a.gds", reference)
    b = _write_layout(tmp_path / "b.gds", renamed_and_split)
    c = _write_layout(tmp_path / "c.gds", moved_variant)
    for method in ("deep", "tiled"):
        same, different = xorcheck.check_files(str(a), [str(b), str(c)], (1000, 0), method=method)
        assert same["method"] == method
        assert same["equal"], (method, same)
        assert same["area_um2"] == pytest.approx(2 * 1 + 0.05 * 0.05)
        assert not different["equal"] and different["xor_area_um2"] == pytest.approx(0.001), method
    # the reference layout is left as it was: checking twice gives the same answer
    reference_layout = xorcheck.read_result_layer(str(a), (1000, 0))
    again = [xorcheck.compare_deep(reference_layout, xorcheck.read_result_layer(str(p), (1000, 0)))
             for p in (b, b, c)]
    assert [r["equal"] for r in again] == [True, True, False]
    assert sorted(cell.name for cell in reference_layout[0].each_cell()) == ["C", "K", "TOP"]
    assert list(reference_layout[0].layer_indexes()) == [reference_layout[2]]


def test_report_targets_use_the_engine_clock_and_keep_the_no_break_variant_apart():
    """The report's arithmetic on made-up records: what the CLI adds, thread scaling of the
    evaluation and of the whole process, and the ``--join-max-verts 0`` rows never standing in
    for the real ones."""
    import report

    def case(engine, mode, wall, compute, threads=0, partition=None, no_break=False):
        return {"id": f"tt06/mix/{engine}-{mode}-{threads}-{no_break}", "file": "tt06", "workload": "mix",
                "workload_kind": "boolean mix", "expression": "x", "engine": engine, "mode": mode,
                "partition": partition, "threads": threads, "group": "main", "no_break": no_break,
                "klayout": "0.30", "ok": True, "wall_s": wall, "peak_rss_bytes": 200e6, "cpu_s": wall,
                "cpu_ratio": 1.0, "phases": {"read_s": 1.0, "compute_s": compute, "write_s": 1.0}}

    cases = [case("drc", "deep", 30.0, None),
             case("layertools", "tiled", 20.2, 18.0, 0, 100.0),
             case("layertools", "tiled", 11.6, 9.4, 2, 100.0),
             case("layertools", "tiled", 11.0, 8.9, 2, 100.0, no_break=True),
             case("api", "tiled", 11.0, 8.8, 2, 100.0),
             case("layertools", "auto", 11.7, 9.4, 2, 100.0)]
    run = {"cases": cases, "floors": {"python + import klayout.db": 0.15}, "files": {"tt06": {}},
           "config": {"timeout_s": 300}}
    two = report._find(cases, engine="layertools", mode="tiled", threads=2)
    assert two["no_break"] is False and two["wall_s"] == 11.6
    assert report._find(cases, engine="layertools", mode="tiled", threads=2, no_break=True)["wall_s"] == 11.0
    # 11.6 s = 0.15 start-up + 1 read + 9.4 evaluation + 1 write + 0.05 for the command line itself
    assert report._own_overhead(two, run) == pytest.approx(0.05 / 9.4)
    text = "\n".join(report._targets_section(run))
    assert "tiled threads=2 ≥ 1.7x threads=0 (evaluation) | pass | 1.91x" in text
    assert "tiled threads=2 ≥ 1.7x threads=0 (whole process) | pass | 1.74x" in text
    assert "CLI adds ≤ 5% to the engine (tiled 100 µm, 2 thr) | pass | +0.5%" in text
    assert "CLI + engine ≤ 5% over the raw API (tiled 100 µm, 2 thr) | **FAIL** | +5%" in text
    assert "no D8 break) | pass" in text  # the variant has its own rows, against the same raw API
    assert "auto ≤ 1.1x best fixed layertools | pass | 1.01x of tiled 100 µm, 2 thr (11.6 s)" in text
