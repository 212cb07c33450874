"""The scale ladder (bench/ladder.py, bench/ladder_run.py) must keep generating what it promises and
its XOR check must be able to fail.  Tiny sizes only; the ladder itself runs in bench/, never here."""

from __future__ import annotations

import argparse
import sys
import time

import klayout.db as db
import pytest

import ladder  # bench/ modules: pyproject.toml's pytest pythonpath puts bench/ on the path
import ladder_plot
import ladder_run
from conftest import data_file


def _flat_region(layout, layer):
    region = db.Region(layout.top_cell().begin_shapes_rec(layout.find_layer(*layer)))
    region.flatten()
    return region


def test_fill_is_written_as_repetitions_with_the_geometry_of_make_fill(tmp_path):
    path = ladder.write("fill", 20, str(tmp_path))
    assert ladder.fill_boxes(20) == 20 * 20 + 8 * 8
    counts = ladder_run.layer_counts(path, ladder_run.FILL_EXPR)
    assert counts["flat_shapes"] == 464 and counts["file_bytes"] < 1000
    viewer = db.Layout(False)
    viewer.read(path)
    first = next(iter(viewer.top_cell().shapes(viewer.find_layer(2, 0)).each()))
    assert first.is_array_member()   # the repetition survives a viewer-mode read
    reference = ladder.make_fill(20)
    for layer, boxes in (((2, 0), 400), ((1, 0), 64)):
        written, built = _flat_region(viewer, layer), _flat_region(reference, layer)
        assert written.count() == boxes == built.count()
        assert (written ^ built).is_empty()


def test_fill_blocks_split_big_repetitions_without_changing_the_geometry(tmp_path):
    whole, blocked = tmp_path / "whole.oas", tmp_path / "blocked.oas"
    ladder.write_fill_oasis(23, str(whole))
    ladder.write_fill_oasis(23, str(blocked), block=7)   # 4 x 4 blocks, ragged at the edges
    a, b = db.Layout(False), db.Layout(False)
    a.read(str(whole))
    b.read(str(blocked))
    for layer in ((2, 0), (1, 0)):
        assert (_flat_region(a, layer) ^ _flat_region(b, layer)).is_empty()
        assert _flat_region(b, layer).count() == {(2, 0): 529, (1, 0): 81}[layer]


def test_array_and_flattened_families_scale_flat_shapes_by_k_squared(tmp_path, monkeypatch):
    monkeypatch.setattr(ladder, "DATA", str(data_file(ladder.DESIGN).parent))
    one = ladder_run.layer_counts(ladder.write("array", 1, str(tmp_path)), ladder_run.SKY130_MIX)
    three = ladder_run.layer_counts(ladder.write("array", 3, str(tmp_path)), ladder_run.SKY130_MIX)
    flattened = ladder_run.layer_counts(ladder.write("flattened", 3, str(tmp_path)), ladder_run.SKY130_MIX)
    assert three["flat_shapes"] == 9 * one["flat_shapes"] > 0
    assert three["stored_shapes"] == one["stored_shapes"]          # one CellInstArray: nothing copied
    # The same chips: equal counts in memory; after the OASIS write and a viewer-mode read the
    # flattened file counts 6 of ~38,700 shapes per copy fewer (not investigated yet)
    assert flattened["flat_shapes"] == pytest.approx(three["flat_shapes"], rel=1e-3)
    assert flattened["stored_shapes"] > 2 * three["stored_shapes"]  # the design's own shapes copied 9x


def test_the_cache_rewrites_a_case_only_when_its_stamp_changes(tmp_path, monkeypatch):
    path = ladder.write("fill", 5, str(tmp_path))
    written = (tmp_path / "fill_5.oas").stat().st_mtime_ns
    time.sleep(0.01)
    assert ladder.write("fill", 5, str(tmp_path)) == path
    assert (tmp_path / "fill_5.oas").stat().st_mtime_ns == written
    monkeypatch.setattr(ladder, "GENERATOR_VERSION", ladder.GENERATOR_VERSION + 1)
    ladder.write("fill", 5, str(tmp_path))
    assert (tmp_path / "fill_5.oas").stat().st_mtime_ns != written


def _result_file(path, boxes):
    layout = db.Layout()
    layout.dbu = 0.001
    top = layout.create_cell("TOP")
    for box in boxes:
        top.shapes(layout.layer(1000, 0)).insert(box)
    layout.write(str(path))
    return str(path)


def test_xor_check_of_the_runner_catches_a_different_result(tmp_path):
    boxes = [db.Box(0, 0, 1000, 1000), db.Box(2000, 0, 3000, 1000)]
    reference = _result_file(tmp_path / "ref.oas", boxes)
    same = _result_file(tmp_path / "same.oas", [db.Box(0, 0, 500, 1000), db.Box(500, 0, 1000, 1000), boxes[1]])
    moved = _result_file(tmp_path / "moved.oas", [boxes[0], db.Box(2001, 0, 3001, 1000)])
    verdicts = ladder_run.xor_check(reference, [same, moved], sys.executable, timeout_s=120)
    assert verdicts[same]["equal"] is True
    assert verdicts[moved]["equal"] is False and verdicts[moved]["xor_area_um2"] == pytest.approx(0.002)


def test_runner_measures_strategies_and_xors_them_on_a_tiny_fill(tmp_path):
    case = ladder_run.LadderCase("fill_12", "fill", 12, ladder_run.FILL_EXPR, "", ("lt-deep", "lt-tiled"))
    args = argparse.Namespace(data=ladder.DATA, ladder_dir=str(tmp_path / "ladder"), work=str(tmp_path / "work"),
                              results=str(tmp_path / "results"), python=sys.executable, klayout="klayout",
                              max_rss=4.0, xor_timeout=120.0, keep_outputs=False, stop_at=time.time() + 600)
    run = {"started": "now", "machine": {}, "cases": []}
    record = ladder_run.run_case(case, ["lt-deep", "lt-tiled"], args, run, {})
    assert record["flat_shapes"] == 12 * 12 + 4 * 4
    assert record["xor_reference"] == "lt-deep"           # no DRC deep in this run: layertools deep
    tiled = record["engines"]["lt-tiled"]
    assert tiled["xor"]["equal"] is True and len(tiled["runs"]) == 2   # < 30 s: run twice
    assert all(run_["ok"] and run_["peak_rss_bytes"] > 10e6 for run_ in tiled["runs"])
    assert (tmp_path / "results" / "ladder.json").exists()
    # The growth exponent is the log-log slope: t ~ n^1.5 gives 1.5
    assert ladder_plot.slope([(10, 2.0), (1000, 2000.0)]) == pytest.approx(1.5)


def test_xic_gets_its_own_layer_names():
    assert ladder_run.xic_expression("(8/0 & 10/0) | (19/0 - 8/0)") == '("8,0" & "10,0") | ("19,0" - "8,0")'


def test_xor_check_compares_a_result_written_in_another_database_unit(tmp_path):
    # Xic writes its result at dbu 0.001 whatever it read (vexriscv is at 0.25)
    def write(name, dbu, box):
        layout = db.Layout()
        layout.dbu = dbu
        layout.create_cell("TOP").shapes(layout.layer(1000, 0)).insert(box)
        layout.write(str(tmp_path / name))
        return str(tmp_path / name)
    reference = write("ref.oas", 0.25, db.Box(0, 0, 4, 4))
    same = write("same.gds", 0.001, db.Box(0, 0, 1000, 1000))
    wider = write("wider.gds", 0.001, db.Box(0, 0, 1250, 1000))
    verdicts = ladder_run.xor_check(reference, [same, wider], sys.executable, timeout_s=120)
    assert verdicts[same]["equal"] is True and verdicts[same]["area_um2"] == pytest.approx(1.0)
    assert verdicts[wider]["equal"] is False and verdicts[wider]["xor_area_um2"] == pytest.approx(0.25)
