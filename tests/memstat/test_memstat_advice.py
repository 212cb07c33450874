"""Advice, estimates and the strategy suggestion, checked against real layouts and a measured peak."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from conftest import REPO, data_file
from layertools.compat import db
from layertools.engine.cost import decide
from layertools.hierarchy_stats import layout_statistics
from layertools.memstat import memory_report, suggest_partition, suggest_strategy
from layertools.memstat.advice import FLAT_BYTES_PER_POINT, NICE_PARTITIONS, estimate_memory, human_bytes

GIB = 1024 ** 3


def read(name, editable=True):
    layout = db.Layout(editable)
    layout.read(str(data_file(name)))
    return layout


def layers_of(layout, *specs):
    return [layout.find_layer(*map(int, spec.split("/"))) for spec in specs]


def test_sram_is_deep_small_is_flat():
    sram = read("RM_IHPSG13_1P_8192x32_c4.gds.gz")
    stats = layout_statistics(sram, sram.top_cell(), layers=layers_of(sram, "8/0", "10/0"))
    suggestion = suggest_strategy(stats, memory_budget=8 * GIB)
    assert suggestion.strategy == "deep" and suggestion.partition_um is None
    assert "6,976 stored / 38,121,466 flat points" in suggestion.reason
    estimates = suggestion.estimates
    # 38 M flat points: flat needs gigabytes, deep megabytes
    assert estimates["flat"].typical_bytes > 3 * GIB and estimates["deep"].typical_bytes < 64 * 1024 ** 2
    assert estimates["flat"].low_bytes == FLAT_BYTES_PER_POINT * stats.points_flat

    amd = read("amd2901.gds.gz")
    small = layout_statistics(amd, amd.top_cell(), layers=layers_of(amd, "43/0", "44/0"))
    suggestion = suggest_strategy(small, memory_budget=8 * GIB)
    # small and hierarchical: no tiles, and the whole run predicted well under a second
    assert suggestion.strategy in ("flat", "deep"), suggestion.reason
    decision = decide(small, 0, None, 8 * GIB)
    assert decision.strategy == suggestion.strategy and decision.predictions[decision.strategy].wall_s < 0.5

    empty = db.Layout()
    empty.create_cell("TOP")
    assert suggest_strategy(layout_statistics(empty), memory_budget=GIB).strategy == "flat"


def test_large_layout_under_a_tight_budget_takes_the_fastest_that_fits():
    layout = read("caravel_routing.gds.gz")
    stats = layout_statistics(layout, layout.top_cell())  # all 25 layers: 655 k flat shapes, ratio 4.8
    suggestion = suggest_strategy(stats, threads=2, memory_budget=64 * 1024 ** 2)
    # 64 MB: flat does not fit; the choice is the fastest predicted of those that do (engine/cost.py)
    assert suggestion.estimates["flat"].typical_bytes > 64 * 1024 ** 2
    fitting = {name: estimate for name, estimate in suggestion.estimates.items()
               if estimate.typical_bytes <= 64 * 1024 ** 2}
    assert suggestion.strategy in fitting and "fastest predicted within the memory budget" in suggestion.reason
    assert suggest_partition(stats, 2) in NICE_PARTITIONS
    assert suggestion.estimates["tiled"].typical_bytes < suggestion.estimates["flat"].typical_bytes
    # the partition gives every thread at least two tiles
    assert stats.area_um2 / suggest_partition(stats, 2) ** 2 >= 4


def test_partition_targets_points_per_tile():
    layout = read("RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz")
    stats = layout_statistics(layout, layout.top_cell())
    partition = suggest_partition(stats)
    density = stats.points_flat / stats.area_um2
    # the largest nice size whose tile holds at most ~250 k points
    assert density * partition ** 2 <= 250_000
    bigger = [p for p in NICE_PARTITIONS if p > partition]
    assert not bigger or density * bigger[0] ** 2 > 250_000 or partition ** 2 * 2 * 8 > stats.area_um2
    assert suggest_partition(stats, threads=8) <= partition


def test_partition_never_makes_tens_of_thousands_of_tiles():
    # vexriscv: 4452 x 4500 um; 20 um tiles would be ~50,000 tiles (measured: 7x the estimated peak)
    layout = read("vexriscv.oas.gz")
    stats = layout_statistics(layout, layout.top_cell())
    partition = suggest_partition(stats, threads=16)
    assert stats.area_um2 / partition ** 2 <= 10_000 and partition in NICE_PARTITIONS


def test_estimates_grow_with_threads_and_tile_size():
    layout = read("tt_um_obriensp_be8.gds.gz")
    stats = layout_statistics(layout, layout.top_cell(), layers=layers_of(layout, "68/20", "67/20"))
    one = estimate_memory(stats, 20.0, threads=1)["tiled"].typical_bytes
    four = estimate_memory(stats, 20.0, threads=4)["tiled"].typical_bytes
    big_tiles = estimate_memory(stats, 100.0, threads=1)["tiled"].typical_bytes
    assert one < four and one < big_tiles
    for estimate in estimate_memory(stats).values():
        assert estimate.low_bytes <= estimate.typical_bytes <= estimate.high_bytes
        assert str(FLAT_BYTES_PER_POINT) in estimate.formula or estimate.strategy == "deep"


def test_advice_carries_figures_and_names_the_dominant_category():
    layout = read("caravel_routing.gds.gz", editable=False)
    report = memory_report(layout, source="caravel_routing.gds.gz")
    categories = {line.name: line.used for line in report.statistics.master if line.name != "Total"}
    dominant = max(categories, key=categories.get)
    first = next(item for item in report.advice if item.topic == "dominant-category")
    assert first.figure.startswith(f"{dominant}: {human_bytes(categories[dominant])}")
    assert all(item.figure for item in report.advice)
    topics = {item.topic for item in report.advice}
    assert {"dominant-category", "hierarchy", "estimate", "strategy", "process"} <= topics
    assert report.suggestion.strategy in ("flat", "tiled", "deep")


ENGINE_PEAK = """
import json, sys
import klayout.db as db
import layertools
from layertools.memstat.process import process_memory
layout = db.Layout(); layout.read(sys.argv[1]); top = layout.top_cell()
with open("/proc/self/clear_refs", "w") as stream:
    stream.write("5")          # reset the peak (VmHWM) to the current resident size
base = process_memory().rss_bytes
layertools.evaluate(layout, top, sys.argv[2], to="1000/0", strategy=sys.argv[3])
print(json.dumps({"peak": process_memory().peak_rss_bytes - base}))
"""


@pytest.mark.parametrize("name,expression,strategy", [
    ("tt_um_obriensp_be8.gds.gz", "68/20 - 67/20", "flat"),
    ("RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz", "8/0 & 10/0", "deep"),
])
def test_estimate_brackets_a_measured_peak(name, expression, strategy):
    if not os.path.exists("/proc/self/clear_refs"):
        pytest.skip("needs Linux /proc/self/clear_refs to measure a peak")
    try:
        import layertools.engine  # noqa: F401
    except ImportError:
        pytest.skip("the engine is not available")
    path = str(data_file(name))
    run = subprocess.run([sys.executable, "-c", textwrap.dedent(ENGINE_PEAK), path, expression, strategy],
                         capture_output=True, text=True, timeout=240,
                         env={**os.environ, "PYTHONPATH": str(REPO / "python")})
    assert run.returncode == 0, run.stderr
    peak = json.loads(run.stdout.strip().splitlines()[-1])["peak"]
    layout = read(name)
    specs = [part.strip() for part in expression.replace("&", " ").replace("-", " ").split()]
    stats = layout_statistics(layout, layout.top_cell(), layers=layers_of(layout, *specs))
    estimate = estimate_memory(stats)[strategy]
    # measured on this machine: flat 27.6 MB against 22.9..30.5 MB; deep 6.9 MB against 4.8..5.6 MB
    assert 0.7 * estimate.low_bytes <= peak <= 1.5 * estimate.high_bytes, (peak, estimate)
