"""Rebuild the Xic parity input and the Xic golden results in this folder.

Run by hand where the real Xic is built (see /work/shared/tools/xic/README.md):

    XIC_BIN=/tmp/xic-install/xictools/bin/xic python3 tests/xic/make_goldens.py

``parity_input.oas`` holds small fixtures drawn here plus windows of real layouts (flattened):

* 1/0    the S-shaped polygon (Vert Split)
* 2/0    Manhattan shapes: an L, overlapping and touching boxes, a ring (a polygon with a hole)
* 3/0    slanted shapes: a triangle, a 45° octagon, a 1:3 slope
* 68/20, 69/20  tt_um_obriensp_be8, window (40, 40; 60, 60) µm
* 134/0  sg13g2_pr cell inductor3, whole
* 10/0   a frame box, so that the cell box (Xic clips bloats to it) is far from everything else

Each case in ``CASES`` is evaluated by Xic (``xic_lexpr.py``, Xic 4.3.14 from wrcad/xictools) on the
GDS form of that input, without partitioning (``--partition 0``) unless the case names a partition;
the layer 100/0 of its output is stored as ``<case>.oas``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from layertools.compat import db  # noqa: E402  (the tests read CASES inside KLayout too)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = "/work/shared/data"
XIC_LEXPR = "/work/shared/tools/xic/xic_lexpr.py"

# case name -> (expression in layertools' notation, Xic output mode[, Xic PartitionSize in µm])
CASES = {
    "vsplit_tt_p25": ("68/20 | 69/20", "splitv", 25.0),
    "hsplit_tt_p25": ("68/20 | 69/20", "split", 25.0),
    "vsplit_s": ("1/0 | 0", "splitv"),
    "vsplit_copy_m": ("2/0", "splitv"),  # a lone layer: Xic splits each object on its own
    "hsplit_s": ("1/0 | 0", "split"),
    "vsplit_m": ("2/0 | 0", "splitv"),
    "vsplit_tt": ("68/20 | 69/20", "splitv"),
    "hsplit_tt": ("68/20 | 69/20", "split"),
    "bloat0_m": ("bloat(2, 2/0, 0)", "default"),
    "bloat2_m": ("bloat(2, 2/0, 2)", "default"),
    "bloat3_m": ("bloat(2, 2/0, 3)", "default"),
    "bloat3_tt": ("bloat(0.2, 68/20, 3)", "default"),
    "bloat3_s": ("bloat(2, 3/0, 3)", "default"),
    "bloat3_shrink_m": ("bloat(-2, 2/0, 3)", "default"),
    "edges4_m": ("edges(1, 2/0, 4)", "default"),
    "edges4_tt": ("edges(0.1, 68/20, 4)", "default"),
    "edges6_m": ("edges(1, 2/0, 6)", "default"),
    "edges6_tt": ("edges(0.1, 68/20, 6)", "default"),
    "edges6_s": ("edges(1, 3/0, 6)", "default"),
    "manh1_ind": ("manhattanize(0.5, 134/0, 1)", "default"),
    "manh1_s": ("manhattanize(1, 3/0, 1)", "default"),
}


def xic_expression(expression: str) -> str:
    """layertools' ``L/D`` names as Xic's hex names (Xic without a technology file)."""
    return re.sub(r"\b(\d+)/(\d+)\b", lambda m: "%02X%02X" % (int(m.group(1)), int(m.group(2))), expression)


def _window(path: str, cell_name: str | None, layers, box_um, out: "db.Layout", top: "db.Cell") -> None:
    source = db.Layout()
    source.read(path)
    cell = source.cell(cell_name) if cell_name else source.top_cell()
    for layer, datatype in layers:
        region = db.Region(cell.begin_shapes_rec(source.find_layer(layer, datatype)))
        if box_um is not None:
            region &= db.Region(db.DBox(*box_um).to_itype(source.dbu))
        top.shapes(out.layer(layer, datatype)).insert(region)


def build_input() -> "db.Layout":
    layout = db.Layout()
    layout.dbu = 0.001
    top = layout.create_cell("PARITY")

    def poly(layer, points):
        top.shapes(layout.layer(layer, 0)).insert(db.DPolygon([db.DPoint(x, y) for x, y in points]))

    def box(layer, l, b, r, t):
        top.shapes(layout.layer(layer, 0)).insert(db.DBox(l, b, r, t))

    poly(1, [(0, 0), (0, 14), (36, 14), (36, 48), (80, 48), (80, 34), (50, 34), (50, 0)])
    poly(2, [(100, 0), (130, 0), (130, 10), (110, 10), (110, 30), (100, 30)])
    box(2, 140, 0, 160, 10)
    box(2, 150, 5, 170, 20)
    box(2, 220, 0, 230, 10)
    box(2, 230, 0, 240, 10)
    ring = db.DPolygon(db.DBox(180, 0, 210, 30))
    ring.insert_hole(db.DBox(190, 10, 200, 20))
    top.shapes(layout.layer(2, 0)).insert(ring)
    poly(3, [(0, 60), (40, 60), (0, 90)])
    poly(3, [(60, 60), (70, 60), (80, 70), (80, 80), (70, 90), (60, 90), (50, 80), (50, 70)])
    poly(3, [(100, 60), (130, 60), (120, 90), (100, 90)])
    box(10, -30, -30, 300, 130)
    _window(f"{DATA}/tt_um_obriensp_be8.gds.gz", None, [(68, 20), (69, 20)], (40, 40, 60, 60), layout, top)
    _window(f"{DATA}/sg13g2_pr.gds.gz", "inductor3", [(134, 0)], None, layout, top)
    return layout


def main() -> int:
    layout = build_input()
    layout.write(os.path.join(HERE, "parity_input.oas"))
    xic = os.environ.get("XIC_BIN", "/tmp/xic-install/xictools/bin/xic")
    names = sys.argv[1:] or list(CASES)
    with tempfile.TemporaryDirectory() as work:
        gds = os.path.join(work, "in.gds")
        layout.write(gds)
        for name in names:
            expression, mode, *partition = CASES[name]
            out = os.path.join(work, name + ".gds")
            command = [sys.executable, XIC_LEXPR, gds, out, "--expr", xic_expression(expression),
                       "--target", "L100D0", "--mode", mode, "--cell", "PARITY",
                       "--partition", str(partition[0] if partition else 0)]
            run = subprocess.run(command, env=dict(os.environ, XIC_BIN=xic), capture_output=True, text=True)
            if run.returncode != 0 or not os.path.exists(out):
                print(name, "FAILED", run.stdout[-2000:], run.stderr[-2000:])
                continue
            result = db.Layout()
            result.read(out)
            golden = db.Layout()
            golden.dbu = result.dbu
            cell = golden.create_cell("PARITY")
            index = result.find_layer(100, 0)
            if index is not None:
                cell.shapes(golden.layer(100, 0)).insert(result.top_cell().shapes(index))
            golden.write(os.path.join(HERE, name + ".oas"))
            print(name, "ok", cell.shapes(golden.layer(100, 0)).size(), "shapes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
