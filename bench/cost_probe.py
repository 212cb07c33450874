"""One calibration measurement in its own process: build or read a case, count it, evaluate once.

Prints one JSON line: the cheap counts the cost model reads (engine/cost.py ``Counts``) and what the
evaluation cost -- wall and CPU seconds (all threads) and the peak resident memory above the loaded
layout (``/proc/self/clear_refs`` resets VmHWM after loading; the peak is VmHWM - VmRSS then).
A fresh process per measurement keeps one run's freed memory and caches out of the next.
``bench/calibrate_cost.py`` runs it; by hand:

    PYTHONPATH=python python3 bench/cost_probe.py array_2 tiled --threads 2 --partition model
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import klayout.db as db  # noqa: E402

import ladder  # noqa: E402
from layertools.engine import evaluate  # noqa: E402
from layertools.engine.binding import bind  # noqa: E402
from layertools.engine.cost import NICE_PARTITIONS, count, decide  # noqa: E402
from layertools.language import parse  # noqa: E402

MIX = "(68/20 & 69/20) | (68/44 - 68/20)"
#: Real files: label -> (file in ../shared/data, expression).
FILES = {"vexriscv": ("vexriscv.oas.gz", "10/0 & 11/0"),
         "sram": ("RM_IHPSG13_1P_8192x32_c4.gds.gz", "!(30/0 | 50/0)"),
         "sram_and": ("RM_IHPSG13_1P_8192x32_c4.gds.gz", "30/0 & 50/0"),
         "rm1024": ("RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz", "8/0 & 10/0"),
         "tt06": ("tt06_tiles_assembly.gds.gz", MIX)}


def load(case: str) -> tuple["db.Layout", str]:
    if case in FILES:
        name, expression = FILES[case]
        layout = db.Layout()
        layout.read(os.path.join(ladder.DATA, name))
        return layout, expression
    family, size = case.rsplit("_", 1)
    return ladder.MAKERS[family](int(size)), ladder.FAMILIES[family]["expression"]


def status_kib(field: str) -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def resolve_partition(text: str, model_partition: float) -> float | None:
    """``model`` (the cost model's tile), ``model-1``/``model+1`` (the next nice size down/up), or µm."""
    if text == "none":
        return None
    if not text.startswith("model"):
        return float(text)
    step = int(text[5:] or 0)
    position = NICE_PARTITIONS.index(model_partition) + step if model_partition in NICE_PARTITIONS else 0
    return NICE_PARTITIONS[max(0, min(len(NICE_PARTITIONS) - 1, position))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case")
    parser.add_argument("strategy", choices=("flat", "tiled", "deep", "auto", "count"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--partition", default="model")
    args = parser.parse_args(argv)
    layout, expression = load(args.case)
    top = layout.top_cell()
    bound = bind(parse(expression), expression, layout)
    counted = count(layout, top, bound)
    decision = decide(counted, args.threads, None, inverts=bound.inverts(), halo_um=bound.halo_um)
    model_partition = decision.predictions["tiled"].partition_um
    partition = resolve_partition(args.partition, model_partition) if args.strategy == "tiled" else None
    record = {"case": args.case, "expression": expression, "strategy": args.strategy, "threads": args.threads,
              "partition_um": partition, "model_partition_um": model_partition,
              "counts": counted.as_dict(), "predicted_order": decision.ranking()}
    if args.strategy != "count":
        gc.collect()
        with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
            refs.write("5")   # reset VmHWM to the current resident size
        before = status_kib("VmRSS")
        wall, cpu = time.perf_counter(), time.process_time()
        result = evaluate(layout, top, expression, "300/0", strategy=args.strategy, threads=args.threads,
                          partition=partition)
        record.update(wall_s=round(time.perf_counter() - wall, 4), cpu_s=round(time.process_time() - cpu, 4),
                      peak_bytes=(status_kib("VmHWM") - before) * 1024, rss_before_bytes=before * 1024,
                      chosen=result.strategy, shapes_out=result.shapes_written, tiles=result.tiles)
    print(json.dumps(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
