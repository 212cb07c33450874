"""Size figures of a benchmark layout: stored and flat shape counts, read and write time.

Flat counts come from the hierarchy (each cell's shapes times how often the cell is placed under
the top cell), so nothing is flattened.  Also times a plain read and a plain write of the whole
layout, the floor under every case's wall time.

    python3 bench/layoutstats.py FILE [--write-to OUT.gds] [--layers 68/20,69/20]   (prints JSON)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time

import klayout.db as db


def multiplicities(layout: "db.Layout", top: "db.Cell"):
    counts = {top.cell_index(): 1}
    for cell_index in layout.each_cell_top_down():
        n = counts.get(cell_index, 0)
        if n:
            for instance in layout.cell(cell_index).each_inst():
                child = instance.cell_index
                counts[child] = counts.get(child, 0) + n * instance.cell_inst.size()
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file")
    parser.add_argument("--write-to", help="also time writing the whole layout to this file")
    parser.add_argument("--layers", default="", help="comma-separated L/D to report separately")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    layout = db.Layout()
    layout.read(args.file)
    read_s = time.perf_counter() - started
    top = layout.top_cell()
    counts = multiplicities(layout, top)
    stored = flat = 0
    per_layer = {}
    wanted = {tuple(int(x) for x in spec.split("/")) for spec in args.layers.split(",") if spec}
    for index in layout.layer_indexes():
        info = layout.get_info(index)
        layer_stored = sum(layout.cell(ci).shapes(index).size() for ci in range(layout.cells()))
        layer_flat = sum(layout.cell(ci).shapes(index).size() * n for ci, n in counts.items())
        stored += layer_stored
        flat += layer_flat
        if (info.layer, info.datatype) in wanted:
            per_layer[f"{info.layer}/{info.datatype}"] = {"stored": layer_stored, "flat": layer_flat}
    stats = {
        "file": os.path.basename(args.file), "bytes": os.path.getsize(args.file),
        "top": top.name, "bbox_um": str(top.dbbox()), "dbu": layout.dbu, "cells": layout.cells(),
        "stored_shapes": stored, "flat_shapes": flat, "layers": per_layer, "read_s": read_s,
    }
    if args.write_to:
        started = time.perf_counter()
        layout.write(args.write_to)
        stats["write_s"] = time.perf_counter() - started
        stats["written_bytes"] = os.path.getsize(args.write_to)
        os.unlink(args.write_to)
    stats["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
