#!/usr/bin/env python3
"""Cluster benchmark: the tiled strategy in this process against the same tiles on a Dask
LocalCluster of 1 and 2 worker processes, on a compute-bound and a read-bound case.

Prints per case: single-process tiled seconds (threads 1), cluster seconds per worker count (a run
from cold workers: their read of the input is included, the cluster's start is not), the cost
of the cluster path over single-process tiled, the speed-up of 2 workers over 1, the worker's read
time (viewer mode, needed layers only) and the compute time per tile, which feed the model in
doc/cluster.md.  Every cluster result is XOR-checked against the single-process one.

    python3 bench/cluster.py                       # tt06, both cases, 1 and 2 workers
    python3 bench/cluster.py --file tt_um_obriensp_be8.gds.gz --workers 1,2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "python"))

CASES = {
    # bloat and booleans on met1/met2/via (sky130): the tiles' compute dominates
    "compute": ("(bloat(0.2, 68/20, 0) & bloat(0.2, 69/20, 0)) | (bloat(0.1, 68/44, 0) - 68/20)", 50.0),
    # one cheap boolean: reading the input is most of the work
    "read": ("68/44 & 69/20", 200.0),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default="tt06_tiles_assembly.gds.gz")
    parser.add_argument("--data", default=os.environ.get("LAYERTOOLS_DATA",
                                                         os.path.join(os.path.dirname(REPO), "shared", "data")))
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per configuration, the median reported"
                             " (cluster runs after the first find the input cached)")
    parser.add_argument("--json", help="also write the figures here")
    args = parser.parse_args()

    import distributed

    from layertools.cluster.client import Distributor
    from layertools.cluster.worker import InputFile, LayerInput, read_needed_layers
    from layertools.compat import db
    from layertools.engine import evaluate
    from layertools.layoutio import read_layout

    path = os.path.join(args.data, args.file)
    figures = {"file": args.file, "loadavg_before": os.getloadavg(), "cpus": os.cpu_count(), "cases": {}}
    workers = [int(n) for n in args.workers.split(",")]

    def timed(**kwargs):
        """Median seconds of the evaluation alone, and the last run's result.  Each run gets a
        freshly read layout: a result already in it would widen the reference box, and with it
        the tile plan."""
        runs = []
        for _ in range(args.repeat):
            layout = read_layout(path)
            started = time.perf_counter()
            result = evaluate(layout, None, expression, "1000/0", strategy="tiled", partition=partition, threads=1,
                              **kwargs)
            runs.append(time.perf_counter() - started)
        index = layout.find_layer(1000, 0)
        count = sum(cell.shapes(index).size() for cell in layout.each_cell())
        return statistics.median(runs), result, db.Region(layout.top_cell().begin_shapes_rec(index)), count

    for name in args.cases.split(","):
        expression, partition = CASES[name]
        local_s, local_result, local_region, local_count = timed()
        numbers = sorted({(int(layer), int(datatype)) for layer, datatype in re.findall(r"(\d+)/(\d+)", expression)})
        layers = tuple(LayerInput(f"in{n}", layer, datatype, "", None) for n, (layer, datatype) in enumerate(numbers))
        started = time.perf_counter()
        read_needed_layers(path, layers)
        worker_read_s = time.perf_counter() - started
        case = {"expression": expression, "partition_um": partition, "tiles": local_result.tiles,
                "single_process_tiled_s": round(local_s, 3),
                "compute_per_tile_ms": round(1000 * local_s / local_result.tiles, 3),
                "worker_read_s": round(worker_read_s, 3), "cluster": {}}
        for count in workers:
            with distributed.LocalCluster(n_workers=count, threads_per_worker=1, dashboard_address=":0",
                                          silence_logs=50) as cluster, distributed.Client(cluster) as client:
                client.restart()  # cold workers: the first run pays the read, as a command-line run does
                distributor = Distributor(client, InputFile.of(path), cluster.scheduler_address)
                seconds, _, cluster_region, cluster_count = timed(distribute=distributor)
                identical = cluster_count == local_count and (cluster_region ^ local_region).is_empty()
                if not identical:
                    print(f"{name}: {count} worker(s): result DIFFERS from single-process tiled: {cluster_count} vs "
                          f"{local_count} shapes, XOR area {(cluster_region ^ local_region).area()}", file=sys.stderr)
                    return 1
            case["cluster"][count] = {"seconds": round(seconds, 3), "identical": identical, "shapes": cluster_count,
                                      # the figures below mean little when this exceeds the core count
                                      "loadavg_1min_after": round(os.getloadavg()[0], 2),
                                      **{k: round(v, 3) for k, v in distributor.seconds.items()}}
        one = case["cluster"].get(1)
        if one:
            case["cost_over_tiled_1_worker"] = round(one["seconds"] / local_s - 1, 3)
        if one and 2 in case["cluster"]:
            case["speedup_2_over_1"] = round(one["seconds"] / case["cluster"][2]["seconds"], 2)
        figures["cases"][name] = case
    figures["loadavg_after"] = os.getloadavg()
    print(json.dumps(figures, indent=2))
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(figures, stream, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
