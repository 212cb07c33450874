"""The raw-API baseline: a benchmark expression done with plain KLayout calls, no layertools.

This is what a careful engineer would write by hand, so the difference to ``layertools eval`` in
the same mode is the engine's own overhead.  It reads the layout, evaluates in one mode, writes
the result to the target layer and the whole layout to the output, like ``layertools eval``:

- ``flat``:  ``Region(top.begin_shapes_rec(layer))`` per layer, Region arithmetic, insert into top.
- ``deep``:  the same with one ``DeepShapeStore``; the result goes back hierarchically (insert_into).
- ``tiled``: one ``TilingProcessor`` script (tile work in C++, no Python per tile), each tile's
  result written straight into the top cell's target layer by KLayout's own receiver.

Runs under ``python3`` (PyPI klayout) and under ``klayout -b -r api_baseline.py`` (the application's
``pya``).  The job comes as JSON in the environment variable ``LAYERTOOLS_BENCH_JOB``; the script
prints one JSON line with its phase times (prefix ``BENCH-PHASES``).
"""

import json
import os
import sys
import time

try:
    import klayout.db as db
    FLAVOUR = "klayout.db " + db.__version__
except ImportError:
    import pya as db
    FLAVOUR = "pya " + db.Application.instance().version()


def main():
    job = json.loads(os.environ["LAYERTOOLS_BENCH_JOB"])
    sys.path.insert(0, job["bench_dir"])
    from expressions import REFERENCE, WORKLOADS, drc_variable

    expr = WORKLOADS[job["tech"]][job["workload"]].expr
    mode = job["mode"]
    phases = {}

    started = time.perf_counter()
    layout = db.Layout()
    layout.read(job["input"])
    top = layout.top_cell()
    dbu = layout.dbu
    phases["read_s"] = time.perf_counter() - started

    started = time.perf_counter()
    target = layout.layer(db.LayerInfo(job["to"][0], job["to"][1]))
    bbox = top.bbox()
    if mode == "tiled":
        _tiled(layout, top, expr, job, REFERENCE, drc_variable, bbox, target)
    elif mode in ("flat", "deep"):
        store = db.DeepShapeStore() if mode == "deep" else None
        if store is not None and job.get("threads"):
            store.threads = job["threads"]
        cache = {}

        def layer(key):
            if key not in cache:
                index = layout.find_layer(key[0], key[1])
                if index is None:
                    cache[key] = db.Region()
                else:
                    iterator = top.begin_shapes_rec(index)
                    cache[key] = db.Region(iterator, store) if store is not None else db.Region(iterator)
            return cache[key]

        scratch = []

        def reference():
            if store is None:
                return db.Region(bbox)
            # A deep region for the box, so that "box - deep" stays in the store (hierarchical).
            index = layout.insert_layer(db.LayerInfo())
            scratch.append(index)
            top.shapes(index).insert(bbox)
            return db.Region(top.begin_shapes_rec(index), store)

        result = expr.region(layer, reference, dbu)
        if store is not None:
            result.insert_into(layout, top.cell_index(), target)
        else:
            top.shapes(target).insert(result)
        for index in scratch:
            layout.delete_layer(index)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    phases["compute_s"] = time.perf_counter() - started

    started = time.perf_counter()
    layout.write(job["output"])
    phases["write_s"] = time.perf_counter() - started
    phases["klayout"] = FLAVOUR
    print("BENCH-PHASES " + json.dumps(phases))
    sys.stdout.flush()


def _tiled(layout, top, expr, job, reference_name, variable, bbox, target):
    processor = db.TilingProcessor()
    # The processor keeps only a pointer to Region inputs: they must outlive execute() (a
    # temporary one crashed 0.28.5 with a segmentation fault).
    keep_alive = []
    for key in sorted(expr.layers()):
        index = layout.find_layer(key[0], key[1])
        if index is None:
            keep_alive.append(db.Region())
            processor.input(variable(key), keep_alive[-1])
        else:
            processor.input(variable(key), top.begin_shapes_rec(index))
    if expr.inverts():
        keep_alive.append(db.Region(bbox))
        processor.input(reference_name, keep_alive[-1])
    # KLayout's own receiver writes each tile's clipped result straight into the target layer (no
    # Python per tile, no second copy of the result in memory).
    processor.output("result", layout, top.cell_index(), target)
    # Bloat grows beyond the cell's box: the tiled area must grow with it or the growth is cut off
    # (the XOR check caught exactly that at the bottom edge of a TinyTapeout tile).
    halo = expr.halo()
    frame = bbox.to_dtype(layout.dbu).enlarged(halo, halo)
    processor.frame = frame
    partition = job.get("partition")
    if partition:
        processor.tile_size(partition, partition)
        processor.tile_origin(frame.left, frame.bottom)
    processor.tile_border(halo, halo)
    processor.dbu = layout.dbu
    processor.threads = job.get("threads", 0)
    processor.queue(f"_output(result, {expr.tiling(layout.dbu)})")
    processor.execute("layertools bench: raw TilingProcessor")
    del keep_alive


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except BaseException:  # a clean exit status in klayout -b as well
        import traceback
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
