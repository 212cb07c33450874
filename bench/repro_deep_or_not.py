"""Reproducer: in KLayout 0.30.12 (PyPI), deep ``box - (a | b)`` loses area; 0.28.5 is right.

Found by the benchmark's XOR check (raw-API deep baseline of ``!(30/0 | 50/0)`` on the IHP SRAM).
Every variant below should print a difference of 0; with 0.30.12 the first and the last do not.

    python3 bench/repro_deep_or_not.py [RM_IHPSG13_1P_8192x32_c4.gds.gz]
"""

import os
import sys
import time

try:
    import klayout.db as db
except ImportError:  # inside the KLayout application
    import pya as db

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT = os.path.join(os.path.dirname(os.path.dirname(HERE)), "shared", "data", "RM_IHPSG13_1P_8192x32_c4.gds.gz")


def main(path: str) -> int:
    layout = db.Layout()
    layout.read(path)
    top = layout.top_cell()
    m3, m4 = layout.find_layer(30, 0), layout.find_layer(50, 0)
    box = top.bbox()
    want = (db.Region(box) - (db.Region(top.begin_shapes_rec(m3)) | db.Region(top.begin_shapes_rec(m4)))).area()
    print(f"flat reference: {want * layout.dbu ** 2:.4f} µm²")
    wrong = 0
    variants = (
        ("deep box - (m3 | m4)", lambda d, s: d(s) - (d(m3) | d(m4))),
        ("deep box - (m3 + m4)", lambda d, s: d(s) - (d(m3) + d(m4))),
        ("(deep box - m3) - m4", lambda d, s: (d(s) - d(m3)) - d(m4)),
        ("flat box - deep (m3 | m4)", lambda d, s: db.Region(box) - (d(m3) | d(m4))),
        ("deep box - (m3 | m4).merged()", lambda d, s: d(s) - (d(m3) | d(m4)).merged()),
    )
    for label, build in variants:
        store = db.DeepShapeStore()
        scratch = layout.insert_layer(db.LayerInfo())
        top.shapes(scratch).insert(box)
        started = time.perf_counter()
        result = build(lambda index, store=store: db.Region(top.begin_shapes_rec(index), store), scratch)
        difference = (result.area() - want) * layout.dbu ** 2
        wrong += abs(difference) > 1e-9
        print(f"{label:32s} difference {difference:+10.4f} µm²  ({time.perf_counter() - started:.1f} s)")
        layout.delete_layer(scratch)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT))
