"""Fit the cost model's coefficients (engine/cost.py TIME and PEAK) to bench/cost_calibration.json.

Per strategy, non-negative least squares on relative error (every run counts alike, small or
large) over the terms of ``cost.time_terms`` (against the median CPU seconds: on the shared
machine wall time mostly measures the other users) and ``cost.peak_terms`` (against the median
peak above the loaded layout).  Terms the fit should not move are held (``HELD``).  Prints the
dictionaries to paste into engine/cost.py, each run's predicted/measured figures, and how many
predictions are within 2x of the measurement: CPU time, wall time (predicted wall = CPU / busy
workers) and peak memory, counted separately.

    python3 bench/fit_cost.py [bench/cost_calibration.json] [--check] [--decisions]
    # --check: today's coefficients; --decisions: the model's choice at 2 threads against the
    # measured wall times (a markdown table)
"""

from __future__ import annotations

import json
import os
import sys

import numpy
from scipy.optimize import nnls

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
from layertools.engine import cost  # noqa: E402

#: A tile is a small flat evaluation: its working set per input point is what flat's fit finds.
HELD = {("peak", "tiled", "tile_point"): lambda found: round(found["flat"]["point"])}
#: Peaks below this are noise (allocator slack, page granularity): they count as this much.
PEAK_FLOOR = 4 * 1024 * 1024
#: CPU times below this are timer and start-up noise.
TIME_FLOOR = 0.02


def runs(records: list[dict]):
    for record in records:
        counts = cost.Counts(**record["counts"])
        for run in record["runs"].values():
            yield record["case"], counts, run


def fit(records: list[dict], kind: str) -> dict[str, dict[str, float]]:
    terms_of = cost.time_terms if kind == "time" else cost.peak_terms
    found: dict[str, dict[str, float]] = {}
    for strategy in cost.STRATEGIES:
        rows = []
        for _, counts, run in runs(records):
            if run["strategy"] != strategy:
                continue
            measured = max(run["median_cpu_s"], TIME_FLOOR) if kind == "time" else max(run["median_peak_bytes"],
                                                                                        PEAK_FLOOR)
            rows.append((terms_of(counts, strategy, run["threads"], run["partition_um"]), measured))
        if not rows:
            continue
        names = list(rows[0][0])
        held = {name: HELD[kind, strategy, name](found) if (kind, strategy, name) in HELD else None
                for name in names}
        free = [name for name in names if held[name] is None]
        matrix = numpy.array([[terms[name] / measured for name in free] for terms, measured in rows])
        rest = numpy.array([1.0 - sum(held[name] * terms[name] for name in names if held[name] is not None)
                            / measured for terms, measured in rows])
        scale = numpy.maximum(matrix.max(axis=0), 1e-300)   # columns of similar size for the solver
        solution, _ = nnls(matrix / scale, rest)
        values = dict(zip(free, solution / scale))
        found[strategy] = {name: float(values.get(name, held[name])) for name in names}
    return found


def within(records, time_coefficients, peak_coefficients) -> dict[str, tuple[int, int]]:
    saved = cost.TIME, cost.PEAK
    cost.TIME, cost.PEAK = time_coefficients, peak_coefficients
    tally = {"cpu": [0, 0], "wall": [0, 0], "peak": [0, 0]}
    try:
        for case, counts, run in runs(records):
            strategy, threads, partition = run["strategy"], run["threads"], run["partition_um"]
            predicted = {"cpu": cost.cpu_seconds(counts, strategy, threads, partition),
                         "wall": cost.wall_seconds(counts, strategy, threads, partition),
                         "peak": cost.peak_bytes(counts, strategy, threads, partition)}
            measured = {"cpu": max(run["median_cpu_s"], TIME_FLOOR), "wall": max(run["median_wall_s"], TIME_FLOOR),
                        "peak": max(run["median_peak_bytes"], PEAK_FLOOR)}
            marks = []
            for name in tally:
                ratio = max(predicted[name], 1e-9) / measured[name]
                good = 0.5 <= ratio <= 2.0
                tally[name][0] += good
                tally[name][1] += 1
                marks.append(f"{name} {ratio:5.2f}{' ' if good else '*'}")
            label = f"{strategy} t{threads} {partition or ''}"
            print(f"{case:<12} {label:<16} cpu {run['median_cpu_s']:7.3f} s wall {run['median_wall_s']:7.3f} s"
                  f" peak {run['median_peak_bytes'] / 1e6:7.1f} MB  predicted/measured: {'  '.join(marks)}")
    finally:
        cost.TIME, cost.PEAK = saved
    return {name: tuple(value) for name, value in tally.items()}


def decisions(records, time_coefficients, peak_coefficients, threads: int = 2) -> list[str]:
    """Per case: the model's decision at ``threads`` and how its configuration's measured wall time
    compares with the fastest measured at that thread count (flat counts at any: it has one)."""
    saved = cost.TIME, cost.PEAK
    cost.TIME, cost.PEAK = time_coefficients, peak_coefficients
    lines = ["| case | decision | measured wall of the decision | fastest measured | ratio |", "|---|---|---|---|---|"]
    try:
        for record in records:
            counts = cost.Counts(**record["counts"])
            decision = cost.decide(counts, threads, None, 16 * 1024 ** 3)
            measured = {(run["strategy"], run["partition_um"]): run["median_wall_s"]
                        for run in record["runs"].values() if run["strategy"] == "flat" or run["threads"] == threads}
            label = lambda key: f"{key[0]} {key[1]:g} µm" if key[1] else key[0]  # noqa: E731
            chosen = (decision.strategy, decision.partition_um if decision.strategy == "tiled" else None)
            fastest = min(measured, key=measured.get)
            if chosen in measured:
                ratio = f"{measured[chosen] / measured[fastest]:.2f}"
                got = f"{measured[chosen]:.2f} s"
            else:
                ratio, got = "—", "not measured"
            lines.append(f"| {record['case']} | {label(chosen)} | {got} | {label(fastest)} {measured[fastest]:.2f} s"
                         f" | {ratio} |")
    finally:
        cost.TIME, cost.PEAK = saved
    return lines


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    paths = [arg for arg in argv if not arg.startswith("--")]
    path = paths[0] if paths else os.path.join(os.path.dirname(os.path.abspath(__file__)), "cost_calibration.json")
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    records = data["records"]
    if "--check" in argv:
        time_coefficients, peak_coefficients = cost.TIME, cost.PEAK
    else:
        time_coefficients, peak_coefficients = fit(records, "time"), fit(records, "peak")
    for name, coefficients in (("TIME", time_coefficients), ("PEAK", peak_coefficients)):
        rounded = {s: {k: float(f"{v:.3g}") for k, v in c.items()} for s, c in coefficients.items()}
        print(f"{name} = " + json.dumps(rounded))
    tally = within(records, time_coefficients, peak_coefficients)
    print(f"machine: {data.get('machine')}")
    for name, (good, total) in tally.items():
        print(f"predicted within 2x of measured {name}: {good} of {total} runs")
    if "--decisions" in argv:
        print("\n".join(decisions(records, time_coefficients, peak_coefficients)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
