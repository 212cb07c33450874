"""Small layouts built in code: fixtures F1-F4 of Xic's documented examples, in µm with dbu 0.001."""

from __future__ import annotations

from layertools.compat import db

DBU = 0.001


def new_layout() -> "db.Layout":
    layout = db.Layout()
    layout.dbu = DBU
    return layout


def add_box(layout, cell, name: str, l: float, b: float, r: float, t: float, ld=None) -> int:
    """Put a box (µm) on the layer called ``name`` (created with ``ld`` = (layer, datatype) if new)."""
    index = layer_index(layout, name, ld)
    cell.shapes(index).insert(db.DBox(l, b, r, t).to_itype(layout.dbu))
    return index


def layer_index(layout, name: str, ld=None) -> int:
    for index in layout.layer_indexes():
        if layout.get_info(index).name == name:
            return index
    numbers = {"BND": (1, 0), "A": (2, 0), "B": (3, 0), "C": (4, 0), "D": (5, 0), "M": (6, 0),
               "V": (7, 0), "L": (8, 0), "NEW": (100, 0), "LSH": (9, 0), "NEW2": (101, 0)}
    layer, datatype = ld or numbers.get(name, (200 + len(layout.layer_indexes()), 0))
    return layout.insert_layer(db.LayerInfo(layer, datatype, name))


def fixture_f1():
    """F1: TOP with BND (0,0)-(100,100), A (10,10)-(50,50), B (30,30)-(70,70), C (40,0)-(60,100)."""
    layout = new_layout()
    top = layout.create_cell("TOP")
    add_box(layout, top, "BND", 0, 0, 100, 100)
    add_box(layout, top, "A", 10, 10, 50, 50)
    add_box(layout, top, "B", 30, 30, 70, 70)
    add_box(layout, top, "C", 40, 0, 60, 100)
    return layout, top


def fixture_f2():
    """F2: SUB has A (0,0)-(10,10), B (5,0)-(15,10); TOP has BND, A (60,60)-(70,70), SUB at (20,20)."""
    layout = new_layout()
    top = layout.create_cell("TOP")
    sub = layout.create_cell("SUB")
    add_box(layout, top, "BND", 0, 0, 100, 100)
    add_box(layout, top, "A", 60, 60, 70, 70)
    add_box(layout, sub, "A", 0, 0, 10, 10)
    add_box(layout, sub, "B", 5, 0, 15, 10)
    top.insert(db.CellInstArray(sub.cell_index(), db.Trans(db.Vector(20000, 20000))))
    return layout, top


def fixture_f3(a_boxes=((50, 40, 150, 60),)):
    """F3: TOP with BND (0,0)-(200,100) and A (50,40)-(150,60) (partitioning cases)."""
    layout = new_layout()
    top = layout.create_cell("TOP")
    add_box(layout, top, "BND", 0, 0, 200, 100)
    for box in a_boxes:
        add_box(layout, top, "A", *box)
    return layout, top


L_POLYGON = [(0, 0), (20, 0), (20, 10), (10, 10), (10, 20), (0, 20)]


def fixture_f4():
    """F4: F1 plus layer L holding the L-shaped polygon of T48."""
    layout, top = fixture_f1()
    index = layer_index(layout, "L")
    top.shapes(index).insert(db.DPolygon([db.DPoint(x, y) for x, y in L_POLYGON]).to_itype(layout.dbu))
    return layout, top


def region_of(layout, cell, name_or_index, depth=None) -> "db.Region":
    """Flat region of a layer (by name or index) in ``cell``, independent of layertools' code."""
    index = name_or_index if isinstance(name_or_index, int) else layer_index(layout, name_or_index)
    it = cell.begin_shapes_rec(index)
    if depth is not None:
        it.max_depth = depth
    region = db.Region()
    region.insert(it)
    return region


def area_um2(region) -> float:
    return region.area() * DBU * DBU
