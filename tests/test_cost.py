"""The one cost model (engine/cost.py): auto and the Memory report take its decision, and its
ranking matches the measured ordering recorded in bench/cost_calibration.json (no wall clocks here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ladder  # bench/ladder.py: pyproject.toml's pytest pythonpath puts bench/ on the path
from layertools.compat import db
from layertools.engine import evaluate
from layertools.engine.binding import bind
from layertools.engine.cost import decide
from layertools.hierarchy_stats import layout_statistics
from layertools.language import parse
from layertools.memstat import memory_report

REPO = Path(__file__).resolve().parents[1]
GIB = 1024 ** 3
CALIBRATION = json.loads((REPO / "bench" / "cost_calibration.json").read_text())["records"]
#: Small members of each ladder family (the calibration data holds their measured times).
SMALL = [("array", 3), ("fill", 400), ("flattened", 2)]
#: Where the fitted model and the measurement disagree today (see doc/performance.md).
KNOWN_MISSES = {("flattened_2", 1): "measured flat 0.95 s, tiled 1.88 s on a loaded 2-core machine; the model "
                               "predicts tiled 0.55 s, flat 0.77 s (run 2 measured tiled first, 0.63 s against 1.08 s)"}


def counts(layout, expression):
    bound = bind(parse(expression), expression, layout)
    return bound, layout_statistics(layout, layout.top_cell(), layers=sorted(bound.layer_indexes))


def area(region):
    return sum(polygon.area() for polygon in region.each_merged())


@pytest.mark.parametrize("family,size", SMALL)
def test_auto_takes_the_models_first_choice_and_the_result_is_right(family, size):
    layout = ladder.MAKERS[family](size)
    expression = ladder.FAMILIES[family]["expression"]
    bound, stats = counts(layout, expression)
    decision = decide(stats, 2, None, 16 * GIB, inverts=bound.inverts(), halo_um=bound.halo_um)
    top = layout.top_cell()
    result = evaluate(layout, top, expression, "300/0", strategy="auto", threads=2)
    assert result.strategy == decision.strategy == decision.ranking()[0]
    assert "predicted flat" in result.reason and "deep" in result.reason
    evaluate(layout, top, expression, "301/0", strategy="flat")
    auto_region = db.Region(top.begin_shapes_rec(layout.layer(300, 0)))
    flat_region = db.Region(top.begin_shapes_rec(layout.layer(301, 0)))
    assert area(auto_region) > 0
    assert (auto_region ^ flat_region).is_empty()


@pytest.mark.parametrize("record", [r for r in CALIBRATION if r["case"].split("_")[0] in ladder.FAMILIES],
                         ids=lambda r: f"{r['case']}-run{r.get('run', 1)}")
def test_model_ranks_first_what_was_measured_fastest(record):
    """Where the measured winner is clear (20 % ahead), the model's first choice is that winner."""
    if (record["case"], record.get("run", 1)) in KNOWN_MISSES:
        pytest.xfail(KNOWN_MISSES[record["case"], record.get("run", 1)])
    times = record["wall_s"]
    first, second = sorted(times.values())[:2]
    if second < 1.2 * first:
        pytest.skip(f"measured times too close to rank: {times}")
    family, size = record["case"].rsplit("_", 1)
    layout = ladder.MAKERS[family](int(size))
    bound, stats = counts(layout, record["expression"])
    decision = decide(stats, record["threads"], record["partition_um"], 16 * GIB, inverts=bound.inverts(),
                      halo_um=bound.halo_um)
    assert decision.ranking()[0] == record["measured_order"][0], (decision.reason, times)


def test_array_of_a_real_design_goes_deep_and_the_memory_report_agrees():
    layout = ladder.make_array(3)
    expression = ladder.FAMILIES["array"]["expression"]
    bound, stats = counts(layout, expression)
    result = evaluate(layout, layout.top_cell(), expression, "300/0", strategy="auto", threads=2)
    assert result.strategy == "deep"
    report = memory_report(layout, layout.top_cell(), layers=sorted(bound.layer_indexes), threads=2)
    assert report.suggestion.strategy == result.strategy


def test_memory_report_and_auto_agree_on_a_flat_fill():
    layout = ladder.make_fill(400)
    expression = ladder.FAMILIES["fill"]["expression"]
    bound, stats = counts(layout, expression)
    result = evaluate(layout, layout.top_cell(), expression, "300/0", strategy="auto", threads=2)
    report = memory_report(layout, layout.top_cell(), layers=sorted(bound.layer_indexes), threads=2)
    assert report.suggestion.strategy == result.strategy != "deep"
    assert report.suggestion.reason.split(";")[0].split(":")[0] == result.reason.split(";")[0].split(":")[0]


def test_over_budget_strategies_are_not_chosen():
    layout = ladder.make_array(3)
    bound, stats = counts(layout, ladder.FAMILIES["array"]["expression"])
    free = decide(stats, 2, None, 16 * GIB)
    assert free.strategy == "deep"
    tight = decide(stats, 2, None, free.predictions["deep"].peak_bytes - 1)
    assert tight.strategy != "deep" or not tight.predictions["deep"].fits
    assert not tight.predictions["deep"].fits
