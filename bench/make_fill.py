"""Write a flat fill of N x N boxes (0.5 µm on a 1 µm pitch, layer 2/0) with a cover box on 1/0 as
OASIS with repetitions: ``python3 bench/make_fill.py 5477 /tmp/fill30m.oas`` gives 29,997,529 boxes in
414 bytes.  The boxes are made by flattening one arrayed cell (fast, in C++); KLayout's OASIS writer
finds the repetitions again."""

from __future__ import annotations

import sys
import time

import klayout.db as db


def make_fill(n: int, path: str) -> None:
    layout = db.Layout()
    layout.dbu = 0.001
    top, unit = layout.create_cell("TOP"), layout.create_cell("U")
    fill, cover = layout.layer(2, 0), layout.layer(1, 0)
    unit.shapes(fill).insert(db.Box(0, 0, 500, 500))
    top.insert(db.CellInstArray(unit.cell_index(), db.Trans(), db.Vector(1000, 0), db.Vector(0, 1000), n, n))
    top.shapes(cover).insert(db.Box(0, 0, n * 500, n * 1000))
    layout.flatten(top.cell_index(), -1, True)
    options = db.SaveLayoutOptions()
    options.format = "OASIS"
    options.oasis_compression_level = 2
    layout.write(path, options)


if __name__ == "__main__":
    started = time.time()
    make_fill(int(sys.argv[1]), sys.argv[2])
    print(f"{int(sys.argv[1]) ** 2:,} boxes in {time.time() - started:.1f} s")
