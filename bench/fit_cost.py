"""Fit the cost model's time coefficients (engine/cost.py) to bench/cost_calibration.json.

Least squares on relative error (every case counts alike, small or large), per strategy:

    flat  = FLAT_S_PER_POINT * P_flat
    tiled = TILED_S_PER_POINT * P_flat * (1 + halo share) / workers + TILE_S * tiles
    deep  = DEEP_SETUP_S + DEEP_S_PER_POINT * P_deep     (P_deep: stored points, flat when inverting)

Prints the coefficients to paste into engine/cost.py, then each case's predicted and measured
time and order.   python3 bench/fit_cost.py [bench/cost_calibration.json]
"""

from __future__ import annotations

import json
import math
import os
import sys

import numpy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python"))
from layertools.engine.cost import DEEP_INVERSION_FACTOR, INVERSION_FACTOR  # noqa: E402  (held, not fitted)


def features(record: dict) -> dict[str, list[float]]:
    area, partition = record["area_um2"], record["partition_um"] or 100.0
    tiles = max(1, math.ceil(area / (partition * partition))) if area > 0 else 1
    workers = max(1, min(record["threads"], tiles))
    side = math.sqrt(area / tiles) if area > 0 else 0.0
    halo_share = min(1.0, 4 * record["halo_um"] / side) if side > 0 else 0.0
    deep_points = record["points_flat"] if record["inverts"] else record["points_stored"]
    inversion, deep_inversion = (INVERSION_FACTOR, DEEP_INVERSION_FACTOR) if record["inverts"] else (1.0, 1.0)
    return {"flat": [inversion * record["points_flat"]],
            "tiled": [inversion * record["points_flat"] * (1 + halo_share) / workers, tiles],
            "deep": [1.0, deep_inversion * deep_points]}


def fit(records: list[dict]) -> dict[str, list[float]]:
    coefficients = {}
    for strategy in ("flat", "tiled", "deep"):
        rows = [(features(r)[strategy], r["wall_s"][strategy]) for r in records if strategy in r["wall_s"]]
        matrix = numpy.array([[x / t for x in row] for row, t in rows])
        solution, *_ = numpy.linalg.lstsq(matrix, numpy.ones(len(rows)), rcond=None)
        coefficients[strategy] = [max(0.0, value) for value in solution]
    return coefficients


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = argv[0] if argv else os.path.join(os.path.dirname(os.path.abspath(__file__)), "cost_calibration.json")
    with open(path, encoding="utf-8") as handle:
        records = json.load(handle)["records"]
    found = fit(records)
    (flat,), (tiled, tile), (setup, deep) = found["flat"], found["tiled"], found["deep"]
    print(f"FLAT_S_PER_POINT = {flat:.3g}\nTILED_S_PER_POINT = {tiled:.3g}\nTILE_S = {tile:.3g}\n"
          f"DEEP_SETUP_S = {setup:.3g}\nDEEP_S_PER_POINT = {deep:.3g}")
    within = total = 0
    for record in records:
        predicted = {s: float(numpy.dot(found[s], features(record)[s])) for s in found}
        cells = "  ".join(f"{s} {predicted[s]:.2f}/{record['wall_s'][s]:.2f}" for s in found)
        order = sorted(predicted, key=predicted.get)
        ratios = [predicted[s] / record["wall_s"][s] for s in found if record["wall_s"][s] > 0]
        within += sum(0.5 <= ratio <= 2.0 for ratio in ratios)
        total += len(ratios)
        print(f"{record['case']:<12} run {record.get('run', 1)} predicted/measured s: {cells}  order {order} measured {record['measured_order']}")
    print(f"predicted within 2x of measured: {within} of {total} (case, strategy) pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
