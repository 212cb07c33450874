"""The scale ladder's layouts, generated reproducibly from ../shared/data (nothing downloaded).

Three families, each at sizes spanning >= 100x in flat shapes:
- ``array``: a real design placed k x k times with one CellInstArray (hierarchical reuse grows as k^2);
- ``fill``: n x n boxes on two layers written as OASIS repetitions (flat, tiny on disk);
- ``flattened``: the k x k array with its top two levels flattened (a real design, hierarchy partly gone).

    python3 bench/ladder.py --family array --size 4 --out /tmp/ladder   # prints the written path
"""

from __future__ import annotations

import argparse
import os
import sys

import klayout.db as db

#: ../shared/data next to the checkout, as the tests find it (LAYERTOOLS_DATA overrides).
_BESIDE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "..", "shared", "data")
DATA = os.environ.get("LAYERTOOLS_DATA", os.path.normpath(_BESIDE))
#: The real design of the array and flattened families, and the expression each family evaluates.
DESIGN = "tt_um_obriensp_be8.gds.gz"
FAMILIES = {
    "array": {"sizes": (1, 4, 12), "expression": "(68/20 & 69/20) | (68/44 - 68/20)"},
    "fill": {"sizes": (300, 1000, 3200, 10000), "expression": "2/0 - 1/0"},
    "flattened": {"sizes": (1, 4, 12), "expression": "(68/20 & 69/20) | (68/44 - 68/20)"},
}


def design() -> db.Layout:
    layout = db.Layout()
    layout.read(os.path.join(DATA, DESIGN))
    return layout


def make_array(k: int) -> db.Layout:
    """The design placed k x k times at its bounding box pitch plus 10 %."""
    layout = design()
    inner = layout.top_cell()
    box = inner.bbox()
    pitch_x, pitch_y = int(box.width() * 1.1), int(box.height() * 1.1)
    top = layout.create_cell(f"ARRAY_{k}x{k}")
    top.insert(db.CellInstArray(inner.cell_index(), db.Trans(), db.Vector(pitch_x, 0), db.Vector(0, pitch_y), k, k))
    return layout


def make_fill(n: int) -> db.Layout:
    """n x n boxes of 1 µm at 2 µm pitch on 2/0 and 2n/5 x 2n/5 of 3 µm at 5 µm on 1/0 (covers part)."""
    layout = db.Layout()
    layout.dbu = 0.001
    top = layout.create_cell("FILL")
    for layer, size, pitch, count in ((layout.layer(2, 0), 1000, 2000, n), (layout.layer(1, 0), 3000, 5000, 2 * n // 5)):
        cell = layout.create_cell(f"BOX_{size}")
        cell.shapes(layer).insert(db.Box(0, 0, size, size))
        top.insert(db.CellInstArray(cell.cell_index(), db.Trans(), db.Vector(pitch, 0), db.Vector(0, pitch),
                                    count, count))
    top.flatten(True)  # flat shapes; the OASIS writer stores them as repetitions
    return layout


def make_flattened(k: int) -> db.Layout:
    """The k x k array with its top two levels flattened: the design's own shapes and its macros are
    copied k^2 times, only the standard cells stay shared (less reuse than ``array`` at the same k)."""
    layout = make_array(k)
    layout.top_cell().flatten(2, True)   # prune: cells no longer used go away
    return layout


MAKERS = {"array": make_array, "fill": make_fill, "flattened": make_flattened}


def write(family: str, size: int, out_dir: str) -> str:
    os.makedirs(out_dir, exist_ok=True)
    layout = MAKERS[family](size)
    path = os.path.join(out_dir, f"{family}_{size}.oas")
    options = db.SaveLayoutOptions()
    options.format = "OASIS"
    options.oasis_compression_level = 10   # finds repetitions among the flat boxes
    layout.write(path, options)
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--family", choices=sorted(FAMILIES), required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--out", default="/tmp/layertools-ladder")
    args = parser.parse_args(argv)
    print(write(args.family, args.size, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
