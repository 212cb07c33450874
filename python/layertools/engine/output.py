"""Shaping results into Xic's object formats and writing them into the layout (D7, D8, D10).

Writing is the last step of an evaluation: everything before it only reads the layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..compat import db
from .layers import ToLayer

#: Up to this many result polygons, rectangles are stored as boxes (as Xic does); beyond it the
#: per-object conversion would cost seconds of Python, and a GDS file holds the same geometry.
BOX_CONVERSION_LIMIT = 2_000

#: Mirroring at the 45° diagonal swaps x and y; it is its own inverse.
TRANSPOSE = db.Trans(db.Trans.M45)
#: The same in KLayout's expression language (tile scripts).
TRANSPOSE_EXPRESSION = "Trans.new(Trans.M45)"
SPLIT_FORMATS = ("hsplit", "vsplit")


@dataclass
class CellWrite:
    """What goes into one cell: a region (flat or deep) or ready-made shapes (the copy path)."""

    cell_index: int
    region: "db.Region | None" = None
    shapes: "db.Shapes | None" = None
    clear_cells: list[int] = field(default_factory=list)  # cells whose To layer is emptied first
    keep_alive: object = None  # what a deep region needs alive until committed: its DeepShapeStore and source
    from_scratch: bool = False  # the shapes are ready in the scratch layer (tiled output)


class ScratchLayer:
    """An anonymous layer the tiling processor writes into, so results never sit in a second copy.

    It becomes the To layer (when that is new) or is emptied into it; on failure it is deleted,
    which leaves the layout as it was.
    """

    def __init__(self, layout: "db.Layout"):
        self.layout = layout
        self.index: int | None = None

    def ensure(self) -> int:
        if self.index is None:
            self.index = self.layout.insert_layer(db.LayerInfo())
        return self.index

    def discard(self) -> None:
        if self.index is not None:
            self.layout.delete_layer(self.index)
            self.index = None


def shape_region(region: "db.Region", output_format: str, max_vertices: int,
                 merged: bool = False) -> "db.Region":
    """The result as Joined polygons (broken above ``max_vertices``) or as split trapezoids.

    ``merged``: the region is known to be merged already (a deep boolean result).  Tiles shape
    their own output; a tiled result comes here only once merged with existing objects.
    """
    if output_format in SPLIT_FORMATS:
        return split(region, output_format)
    shaped = region if merged else region.merged()
    if max_vertices > 0:
        return break_polygons(shaped, max_vertices)
    return shaped


def split(region: "db.Region", output_format: str) -> "db.Region":
    """Xic's Horiz Split (horizontal strips: KLayout's TD_simple cuts at every vertex's y) or Vert
    Split, which in Xic is Horiz Split of the transposed geometry, transposed back: vertical strips
    as tall as they can be (KLayout's TD_vtrapezoids cuts at every vertex's x instead, measured on
    tt_um_obriensp_be8: 51,413 pieces where Xic has 54,386, and other pieces).  The region's merged
    semantics (objects apart in a copy) are kept."""
    if output_format == "hsplit":
        return region.decompose_trapezoids_to_region(db.Polygon.TD_simple)
    transposed = region.dup()
    transposed.transform(TRANSPOSE)
    pieces = transposed.decompose_trapezoids_to_region(db.Polygon.TD_simple)
    pieces.transform(TRANSPOSE)
    return pieces


def break_polygons(region: "db.Region", max_vertices: int) -> "db.Region":
    """Polygons of at most ``max_vertices`` points, same geometry (Xic's JoinMaxPolyVerts, D8).

    The polygons are taken as given (tile pieces stay apart).  KLayout's ``Region.break`` loses
    area on large polygons with many holes (measured on the IHP SRAM: 1.68 µm² gone from one
    polygon with 3261 holes, in 0.28 and 0.30), so such polygons are made hole-free (cut lines)
    before they are broken; everything else goes through ``Region.break`` in one pass.  A deep
    region is broken cell by cell and stays deep; only its over-long polygons with holes (if any)
    are broken flat, in the top cell.
    """
    raw = region.dup()
    raw.merged_semantics = False
    holed = raw.with_holes(1, None, False)  # at least one hole (the 2-argument form means "exactly")
    if all(polygon.num_points() <= max_vertices for polygon in holed.each()):
        raw.break_(max_vertices, 0.0)
        return raw
    plain = raw.with_holes(0, False)
    plain.merged_semantics = False
    plain.break_(max_vertices, 0.0)
    for polygon in holed.each():
        if polygon.num_points() > max_vertices:
            piece = db.Region(polygon.resolved_holes())
            piece.merged_semantics = False
            piece.break_(max_vertices, 0.0)
            plain += piece
        else:
            plain.insert(polygon)
    return plain


def insert_region(shapes: "db.Shapes", region: "db.Region") -> int:
    """Insert polygons, rectangles as boxes when the result is small enough; returns the count."""
    count = region.count()
    if count <= BOX_CONVERSION_LIMIT:
        for polygon in region.each():
            if polygon.is_box():
                shapes.insert(polygon.bbox())
            else:
                shapes.insert(polygon)
    else:
        shapes.insert(region)
    return count


def commit(layout: "db.Layout", target: ToLayer, writes: list[CellWrite], scratch: ScratchLayer) -> int:
    """Clear and write; returns the number of shapes written (hierarchical count for deep results)."""
    if target.index is None and scratch.index is not None and writes and all(w.from_scratch for w in writes):
        # A new To layer made only of tiled output: the scratch layer simply becomes it.
        layout.set_info(scratch.index, target.info)
        target.index, scratch.index = scratch.index, None
        return sum(layout.cell(w.cell_index).shapes(target.index).size() for w in writes)
    layer_index = target.ensure(layout)
    for write in writes:
        for cell_index in write.clear_cells:
            layout.cell(cell_index).shapes(layer_index).clear()
    written = 0
    for write in writes:
        cell = layout.cell(write.cell_index)
        if write.from_scratch:
            source = cell.shapes(scratch.ensure())  # the tiles wrote there
            cell.shapes(layer_index).insert(source)
            written += source.size()
            source.clear()
        elif write.shapes is not None:
            cell.shapes(layer_index).insert(write.shapes)
            written += write.shapes.size()
        elif write.region is not None and write.region.is_deep():
            write.region.insert_into(layout, write.cell_index, layer_index)
            written += write.region.hier_count()  # shapes stored, one per cell they land in
        elif write.region is not None:
            written += insert_region(cell.shapes(layer_index), write.region)
    scratch.discard()
    return written
