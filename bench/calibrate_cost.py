"""Measure flat, tiled and deep on the calibration ladder and the real files; write cost_calibration.json.

Every measurement is its own process (``bench/cost_probe.py``): the counts the cost model reads
(engine/cost.py) and the evaluation's wall and CPU seconds and peak memory above the loaded layout.
Tiled runs at the model's partition and the nice sizes either side (2 threads), and at the model's
partition with 1 thread, so the fit sees tile overhead and thread gain.  Each configuration runs
``--repeat`` times (cases interleaved, so a burst of load on the shared machine hits one run, not
all); the fit takes the median.  Fit the coefficients with ``bench/fit_cost.py``.

    LAYERTOOLS_DATA=../shared/data PYTHONPATH=python nice python3 bench/calibrate_cost.py   # ~20 min
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

import klayout.db as db

HERE = os.path.dirname(os.path.abspath(__file__))
#: Small and medium sizes of each ladder family (bench/ladder.py), then the real files (cost_probe.FILES).
CASES = ("array_1", "array_2", "array_3", "array_5", "fill_200", "fill_400", "fill_700", "fill_1000",
         "flattened_1", "flattened_2", "flattened_3", "flattened_4", "vexriscv", "sram", "sram_and", "rm1024", "tt06")
#: (strategy, threads, partition): see cost_probe.resolve_partition.
CONFIGS = (("flat", 1, "none"), ("deep", 2, "none"), ("tiled", 2, "model"), ("tiled", 2, "model-1"),
           ("tiled", 2, "model+1"), ("tiled", 1, "model"))
#: A case's measurement is abandoned after this long (the machine is shared; nothing waits for hours).
TIMEOUT_S = 300


def probe(case: str, strategy: str, threads: int, partition: str) -> dict | None:
    argv = [sys.executable, os.path.join(HERE, "cost_probe.py"), case, strategy, "--threads", str(threads),
            "--partition", partition]
    load = os.getloadavg()
    try:
        run = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"case": case, "strategy": strategy, "threads": threads, "timeout_s": TIMEOUT_S}
    if run.returncode != 0:
        print(f"{case} {strategy}: {run.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
        return None
    record = json.loads(run.stdout.strip().splitlines()[-1])
    record["load"] = [round(value, 2) for value in load]
    return record


def collect(lines: list[dict]) -> list[dict]:
    """One record per case: its counts, and per configuration the runs and their medians."""
    cases: dict[str, dict] = {}
    for line in lines:
        if "wall_s" not in line:
            continue
        case = cases.setdefault(line["case"], {"case": line["case"], "expression": line["expression"], "runs": {}})
        case["counts"] = line["counts"]    # the last count: the model's counts as the code takes them now
        key = f"{line['strategy']} t{line['threads']} {line['partition_um'] or ''}".strip()
        run = case["runs"].setdefault(key, {"strategy": line["strategy"], "threads": line["threads"],
                                            "partition_um": line["partition_um"], "wall_s": [], "cpu_s": [],
                                            "peak_bytes": [], "load": []})
        for name in ("wall_s", "cpu_s", "peak_bytes"):
            run[name].append(line[name])
        run["load"].append(line["load"][0])
        if line["strategy"] == "tiled" and line["partition_um"] == line["model_partition_um"] and line["threads"] == 2:
            case["model_partition_um"] = line["partition_um"]
    for case in cases.values():
        for run in case["runs"].values():
            for name in ("wall_s", "cpu_s", "peak_bytes"):
                run["median_" + name] = statistics.median(run[name])
    return list(cases.values())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(HERE, "cost_calibration.json"))
    parser.add_argument("--lines", default="", help="also append every measurement to this JSON-lines file")
    parser.add_argument("--from-lines", default="", help="build --out from a JSON-lines file, measure nothing")
    parser.add_argument("--recount", action="store_true",
                        help="count every case again with today's code (after a change to what the model counts)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--only", default="", help="comma-separated case labels (any ladder case, e.g. fill_3000)")
    args = parser.parse_args(argv)
    # --only may name cases outside CASES: a validation set (the ladder's larger sizes) measured the
    # same way, to check the fitted model out of sample (fit_cost.py --check on its file).
    wanted = args.only.split(",") if args.only else list(CASES)
    lines: list[dict] = []
    if args.from_lines:
        with open(args.from_lines, encoding="utf-8") as handle:
            lines = [json.loads(text) for text in handle if text.strip()]
    else:
        for attempt in range(args.repeat):
            for case in wanted:
                for strategy, threads, partition in CONFIGS:
                    record = probe(case, strategy, threads, partition)
                    if record is None:
                        continue
                    record["attempt"] = attempt
                    lines.append(record)
                    if args.lines:
                        with open(args.lines, "a", encoding="utf-8") as handle:
                            handle.write(json.dumps(record) + "\n")
    records = collect(lines)
    if args.recount:
        for record in records:
            record["counts"] = probe(record["case"], "count", 2, "none")["counts"]
    loads = [line["load"][0] for line in lines if "load" in line]
    machine = {"cores": os.cpu_count(), "klayout": getattr(db, "__version__", ""),
               "load_1min": [min(loads), statistics.median(loads), max(loads)] if loads else []}
    with open(args.out, "w", encoding="utf-8") as handle:
        json.dump({"machine": machine, "records": records}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
