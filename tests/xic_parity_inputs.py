"""The inputs of the Xic parity tests, built reproducibly: the issue's S-shaped polygon, a window of a
real routed design (tt_um_obriensp_be8), and a real inductor (sg13g2_pr).  ``make_xic_goldens.py``
writes each input as GDS for the real Xic; ``test_xic_parity.py`` builds the same input in memory."""

from __future__ import annotations

from layertools.compat import db

#: where the window of tt_um_obriensp_be8 is cut (µm), and the frame layer that makes the cell box
#: larger than any growth, so Xic (which clips growth at the cell box) and layertools agree.
WINDOW = (60.0, 40.0, 90.0, 70.0)
FRAME_LAYER = (1, 0)
FRAME_MARGIN = 2.0


def s_shape() -> "db.Layout":
    """Issue 11's S-shaped polygon on 1/0 (µm)."""
    layout = db.Layout()
    layout.dbu = 0.001
    top = layout.create_cell("TOP")
    points = [(0, 0), (0, 14), (36, 14), (36, 48), (80, 48), (80, 34), (50, 34), (50, 0)]
    top.shapes(layout.layer(1, 0)).insert(db.DPolygon([db.DPoint(x, y) for x, y in points]))
    return layout


def window(data_path) -> "db.Layout":
    """68/20, 69/20 and 68/44 of tt_um_obriensp_be8 inside WINDOW, flat, plus a frame on 1/0."""
    return _clipped(data_path, None, ((68, 20), (69, 20), (68, 44)), db.DBox(*WINDOW))


def inductor(data_path) -> "db.Layout":
    """134/0 of sg13g2_pr's cell inductor3 (non-Manhattan), flat, plus a frame on 1/0."""
    return _clipped(data_path, "inductor3", ((134, 0),), None)


def _clipped(data_path, cell_name, layers, box) -> "db.Layout":
    source = db.Layout()
    source.read(str(data_path))
    cell = source.cell(cell_name) if cell_name else source.top_cells()[0]
    clip = db.Region((box.to_itype(source.dbu)) if box is not None else cell.bbox())
    layout = db.Layout()
    layout.dbu = source.dbu
    top = layout.create_cell("TOP")
    extent = db.Box()
    for layer, datatype in layers:
        region = db.Region(cell.begin_shapes_rec(source.find_layer(layer, datatype))) & clip
        top.shapes(layout.layer(layer, datatype)).insert(region)
        extent += region.bbox()
    margin = int(round(FRAME_MARGIN / layout.dbu))
    top.shapes(layout.layer(*FRAME_LAYER)).insert(extent.enlarged(margin, margin))
    return layout


#: name: (input, expression in layertools' syntax, Xic output mode, how results are compared).
#: "pieces": the same trapezoids one by one; "xor": the same area (XOR below ``tolerance`` µm²).
#: Tolerances are what is left on purpose, measured against Xic 4.3.14 (doc/language.md says why).
CASES = {
    "vsplit_s_shape": ("s_shape", "1/0 | 0", "splitv", "pieces", 0.0),
    "vsplit_s_shape_copy": ("s_shape", "1/0", "splitv", "pieces", 0.0),
    "vsplit_window": ("window", "68/20 | 69/20", "splitv", "pieces", 0.0),
    "hsplit_window": ("window", "68/20 | 69/20", "split", "pieces", 0.0),
    "edges6_window": ("window", "edges(0.1, 68/20, 6)", "default", "xor", 0.0),
    # rounded corners: Xic puts its extra point on the bisector of each corner, layertools grows by an
    # octagon; the same on Manhattan corners, a few nm² apart on slanted ones (0.01 of 770 µm²)
    "edges4_window": ("window", "edges(0.1, 68/20, 4)", "default", "xor", 0.01),
    "bloat2_window": ("window", "bloat(0.2, 68/20, 2)", "default", "xor", 0.0),
    "bloat3_window": ("window", "bloat(0.2, 68/20, 3)", "default", "xor", 0.01),
    "bloat3_shrink_window": ("window", "bloat(-0.1, 68/20, 3)", "default", "xor", 0.005),
    # Xic drops the last row of the first trapezoid it walks, and walks its own (unmerged) pieces
    "manhattanize1_inductor": ("inductor", "manhattanize(0.5, 134/0, 1)", "default", "xor", 2.25),
}

INPUT_FILES = {"window": "tt_um_obriensp_be8.gds.gz", "inductor": "sg13g2_pr.gds.gz"}


def build(input_name: str, data_dir) -> "db.Layout":
    if input_name == "s_shape":
        return s_shape()
    builder = {"window": window, "inductor": inductor}[input_name]
    return builder(f"{data_dir}/{INPUT_FILES[input_name]}")
