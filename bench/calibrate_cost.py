"""Measure flat, tiled and deep on small ladder layouts and the real files; write cost_calibration.json.

Each record holds the counts the cost model reads (engine/cost.py) and the measured evaluation
time of each strategy (in-process, the layout already loaded, best of ``--repeat``).  Fit the
model's coefficients from it with ``bench/fit_cost.py``.  Bounded: cases are small (seconds each).

    PYTHONPATH=python nice python3 bench/calibrate_cost.py [--out bench/cost_calibration.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import klayout.db as db

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ladder  # noqa: E402
from layertools.engine import evaluate  # noqa: E402
from layertools.engine.binding import bind  # noqa: E402
from layertools.engine.cost import available_cores, decide  # noqa: E402
from layertools.language import parse  # noqa: E402
from layertools.hierarchy_stats import layout_statistics  # noqa: E402

SIZES = {"array": (1, 2, 3), "fill": (200, 400, 700), "flattened": (1, 2, 3)}
FILES = (("vexriscv", "vexriscv.oas.gz", "10/0 & 11/0"),
         ("sram", "RM_IHPSG13_1P_8192x32_c4.gds.gz", "!(30/0 | 50/0)"),
         ("sram_and", "RM_IHPSG13_1P_8192x32_c4.gds.gz", "30/0 & 50/0"))


def cases():
    for family, sizes in SIZES.items():
        for size in sizes:
            yield f"{family}_{size}", (lambda f=family, s=size: ladder.MAKERS[f](s)), ladder.FAMILIES[family]["expression"]
    for label, name, expression in FILES:
        def load(name=name):
            layout = db.Layout()
            layout.read(os.path.join(ladder.DATA, name))
            return layout
        yield label, load, expression


def measure(label, make, expression, threads, repeat):
    layout = make()
    top = layout.top_cell()
    bound = bind(parse(expression), expression, layout)
    stats = layout_statistics(layout, top, layers=sorted(bound.layer_indexes))
    decision = decide(stats, threads, None, inverts=bound.inverts(), halo_um=bound.halo_um)
    partition = decision.predictions["tiled"].partition_um
    record = {"case": label, "expression": expression, "threads": threads, "points_flat": stats.points_flat,
              "points_stored": stats.points_stored, "area_um2": stats.area_um2, "inverts": bound.inverts(),
              "halo_um": bound.halo_um, "partition_um": partition,
              "predicted_order": decision.ranking(), "wall_s": {}}
    for number, strategy in enumerate(("flat", "tiled", "deep")):
        best = None
        for attempt in range(repeat):
            target = f"{300 + number}/{attempt}"
            started = time.perf_counter()
            evaluate(layout, top, expression, target, strategy=strategy, threads=threads,
                     partition=partition)
            elapsed = time.perf_counter() - started
            best = elapsed if best is None else min(best, elapsed)
        record["wall_s"][strategy] = round(best, 4)
    record["measured_order"] = sorted(record["wall_s"], key=record["wall_s"].get)
    return record


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                      "cost_calibration.json"))
    parser.add_argument("--threads", type=int, default=available_cores())
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated case labels")
    args = parser.parse_args(argv)
    wanted = set(filter(None, args.only.split(",")))
    records = []
    for label, make, expression in cases():
        if wanted and label not in wanted:
            continue
        record = measure(label, make, expression, args.threads, args.repeat)
        print(json.dumps(record), flush=True)
        records.append(record)
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump({"machine": {"cores": available_cores(), "load": os.getloadavg(), "klayout": db.__version__
                               if hasattr(db, "__version__") else ""}, "records": records}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
