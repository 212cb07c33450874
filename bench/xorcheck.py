"""XOR check of benchmark results: is the result layer of each candidate the reference's geometry?

Each file is read with only the result layer (the rest of the layout is skipped), the layer is
flattened through the hierarchy, and ``a ^ b`` is computed by KLayout's TilingProcessor (merged
semantics, so results cut at tile lines or split into several cells compare equal to one piece).
The check also reports each result's area (summed per tile, clipped to the tile, so nothing is
counted twice) and its flat shape count, so an empty result cannot pass unnoticed.

Command line (prints one JSON object per candidate, one per line):
    python3 bench/xorcheck.py REFERENCE CANDIDATE... [--layer 1000/0] [--tile 200] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Dict, List, Tuple

import klayout.db as db


def read_result_layer(path: str, layer: Tuple[int, int]) -> Tuple["db.Layout", "db.Cell", int]:
    """The layout of ``path`` holding only ``layer`` (index -1 when the file has no such layer)."""
    options = db.LoadLayoutOptions()
    layer_map = db.LayerMap()
    layer_map.map(db.LayerInfo(*layer), 0)
    options.layer_map = layer_map
    options.create_other_layers = False
    layout = db.Layout()
    layout.read(path, options)
    tops = list(layout.each_top_cell())
    if len(tops) != 1:
        raise SystemExit(f"{path}: expected one top cell, found {len(tops)}")
    index = layout.find_layer(*layer)
    return layout, layout.cell(tops[0]), (-1 if index is None else index)


def flat_shape_count(layout: "db.Layout", top: "db.Cell", index: int) -> int:
    """Shapes on ``index`` seen flat from ``top`` (computed from the hierarchy, no flattening)."""
    if index < 0:
        return 0
    multiplicity = {top.cell_index(): 1}
    for cell_index in layout.each_cell_top_down():
        count = multiplicity.get(cell_index, 0)
        if not count:
            continue
        for instance in layout.cell(cell_index).each_inst():
            child = instance.cell_index
            multiplicity[child] = multiplicity.get(child, 0) + count * instance.cell_inst.size()
    return sum(layout.cell(ci).shapes(index).size() * n for ci, n in multiplicity.items())


class _AreaSum(db.TileOutputReceiver):
    def __init__(self):
        self.total = 0

    def put(self, ix, iy, tile, obj, dbu, clip):
        self.total += obj


def compare(reference, candidate, *, tile_um: float = 200.0, threads: int = 2) -> Dict[str, object]:
    """XOR of two (layout, top, layer index) triples; areas in µm²."""
    ref_layout, ref_top, ref_index = reference
    cand_layout, cand_top, cand_index = candidate
    dbu = ref_layout.dbu
    processor = db.TilingProcessor()
    processor.input("a", ref_top.begin_shapes_rec(ref_index) if ref_index >= 0 else db.Region())
    processor.input("b", cand_top.begin_shapes_rec(cand_index) if cand_index >= 0 else db.Region())
    difference = db.Region()
    area_a, area_b = _AreaSum(), _AreaSum()
    processor.output("x", difference)
    processor.output("area_a", area_a)
    processor.output("area_b", area_b)
    # The TilingProcessor brings every input to its own dbu, so a candidate in another dbu (Xic
    # writes 0.001 µm whatever it read) is compared on the reference's grid; differences smaller
    # than one reference dbu can round away there.
    processor.dbu = dbu
    processor.tile_size(tile_um, tile_um)
    processor.threads = threads
    # _tile is nil when one tile covers everything (KLayout then does not tile at all)
    processor.queue("_output(x, a ^ b); "
                    "_output(area_a, _tile ? a.area(_tile.bbox) : a.area); "
                    "_output(area_b, _tile ? b.area(_tile.bbox) : b.area)")
    processor.execute("layertools bench: XOR check")
    difference.merge()
    return {
        "equal": difference.is_empty(),
        "xor_polygons": difference.count(),
        "xor_area_um2": difference.area() * dbu * dbu,
        "xor_bbox": str(difference.bbox()) if not difference.is_empty() else "",
        "reference_area_um2": area_a.total * dbu * dbu,
        "area_um2": area_b.total * dbu * dbu,
        "reference_flat_shapes": flat_shape_count(ref_layout, ref_top, ref_index),
        "flat_shapes": flat_shape_count(cand_layout, cand_top, cand_index),
        "method": "tiled",
    }


#: Flat shapes per stored shape from which the hierarchical XOR wins: an SRAM result has hundreds,
#: a TinyTapeout assembly about one (there the tiled XOR on two cores is faster).
DEEP_XOR_REUSE = 4.0


def worth_deep(layout: "db.Layout", top: "db.Cell", index: int) -> bool:
    """True when the result is hierarchical and strongly reused (deep XOR saves flattening)."""
    if index < 0:
        return False
    stored = sum(layout.cell(ci).shapes(index).size() for ci in top.called_cells())
    if stored == 0:
        return False
    stored += top.shapes(index).size()
    return flat_shape_count(layout, top, index) >= DEEP_XOR_REUSE * stored


def compare_deep(reference, candidate, *, threads: int = 2) -> Dict[str, object]:
    """XOR of two hierarchical results without flattening them.

    The candidate's result shapes are copied into the reference layout, cell by cell, through a
    mapping by *geometrical identity* (a candidate cell goes into the reference cell that sits at
    exactly the same places; cells without a twin are created with their placements), so the
    flattened geometry of both layers is unchanged.  Then one DeepShapeStore XORs the two layers
    hierarchically.  The reference layout is restored afterwards.
    """
    ref_layout, ref_top, ref_index = reference
    cand_layout, cand_top, cand_index = candidate
    dbu = ref_layout.dbu
    mapping = db.CellMapping()
    created = mapping.from_geometry_full(ref_layout, ref_top.cell_index(), cand_layout, cand_top.cell_index())
    copy_index = ref_layout.insert_layer(db.LayerInfo())
    try:
        layers = db.LayerMapping()
        layers.map(cand_index, copy_index)
        ref_layout.copy_tree_shapes(cand_layout, mapping, layers)
        store = db.DeepShapeStore()
        store.threads = threads
        a = db.Region(ref_top.begin_shapes_rec(ref_index), store)
        b = db.Region(ref_top.begin_shapes_rec(copy_index), store)
        difference = a ^ b
        flat_difference = difference.dup()
        flat_difference.flatten()
        flat_difference.merge()
        return {
            "equal": difference.is_empty(),
            "xor_polygons": flat_difference.count(),
            "xor_area_um2": flat_difference.area() * dbu * dbu,
            "xor_bbox": str(flat_difference.bbox()) if not flat_difference.is_empty() else "",
            "reference_area_um2": a.area() * dbu * dbu,
            "area_um2": b.area() * dbu * dbu,
            "reference_flat_shapes": flat_shape_count(ref_layout, ref_top, ref_index),
            "flat_shapes": flat_shape_count(cand_layout, cand_top, cand_index),
            "method": "deep",
        }
    finally:
        ref_layout.delete_layer(copy_index)
        if created:
            ref_layout.delete_cells(list(created))


def check_files(reference_path: str, candidates: List[str], layer: Tuple[int, int], *,
                tile_um: float = 200.0, threads: int = 2, method: str = "auto"):
    """Yield one result dict per candidate file (the reference is read once)."""
    reference = read_result_layer(reference_path, layer)
    for path in candidates:
        started = time.perf_counter()
        try:
            candidate = read_result_layer(path, layer)
            # Two strongly reused hierarchical results compare fastest hierarchically; a flat one
            # (everything in the top cell) would be pulled up anyway, and tiles use both cores.
            same_dbu = abs(reference[0].dbu - candidate[0].dbu) < 1e-12
            if same_dbu and (method == "deep" or (method == "auto" and worth_deep(*reference)
                                                  and worth_deep(*candidate))):
                outcome = compare_deep(reference, candidate, threads=threads)
            else:
                outcome = compare(reference, candidate, tile_um=tile_um, threads=threads)
        except (RuntimeError, SystemExit) as exc:
            outcome = {"equal": False, "error": str(exc)}
        outcome["candidate"] = path
        outcome["check_s"] = time.perf_counter() - started
        yield outcome


def check_in_child(reference: str, candidates: List[str], python: str, *, layer: str = "1000/0",
                   timeout_s: float = 900.0, max_rss_bytes: int = 0, log_prefix=None):
    """Run this checker on ``candidates`` in a child process (measured and killed like a case);
    returns (candidate path -> verdict dict, the child's Measurement).  A candidate without a
    verdict (the check failed or timed out) gets ``equal: False`` and the ``error``."""
    import os

    from runner import measure
    argv = [python, os.path.abspath(__file__), reference, *candidates, "--layer", layer, "--threads", "2"]
    measured = measure(argv, timeout_s=timeout_s, max_rss_bytes=max_rss_bytes, log_prefix=log_prefix,
                       tail_chars=1 << 20)
    verdicts = {}
    for line in measured.stdout_tail.splitlines():
        if line.startswith("{"):
            outcome = json.loads(line)
            verdicts[outcome["candidate"]] = outcome
    for path in candidates:
        verdicts.setdefault(path, {"equal": False, "error": measured.failure() or "no verdict"})
    return verdicts, measured


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference")
    parser.add_argument("candidates", nargs="+")
    parser.add_argument("--layer", default="1000/0")
    parser.add_argument("--tile", type=float, default=200.0, help="tile size in µm (default 200)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--method", choices=("auto", "tiled", "deep"), default="auto",
                        help="deep (hierarchical), tiled (flat, by tiles), auto: deep when both "
                             "results are hierarchical")
    args = parser.parse_args(argv)
    layer = tuple(int(part) for part in args.layer.split("/"))
    all_equal = True
    for outcome in check_files(args.reference, args.candidates, layer, tile_um=args.tile,
                               threads=args.threads, method=args.method):
        all_equal &= bool(outcome["equal"])
        print(json.dumps(outcome), flush=True)
    return 0 if all_equal else 3


if __name__ == "__main__":
    sys.exit(main())
