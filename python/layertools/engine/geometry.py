"""Region algorithms behind Xic's functions, on KLayout Regions (coordinates in database units).

Each takes Regions and returns a new one; which function uses which is ``engine/functions.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator

from ..compat import db
from ..language.functions import zoid_corners


@dataclass
class Pieces:
    """geomCat's result: the pieces of several arguments, overlaps kept."""

    regions: list

    def union(self) -> "db.Region":
        return union(self.regions)


def union(regions: list) -> "db.Region":
    """The union of regions.  Deep regions are only concatenated: KLayout 0.30.12 gets
    ``A - (B | C)`` wrong in deep mode when ``B | C`` (or a merged concatenation) is deep
    (IHP SRAM 8192x32: 13.6 µm² lost); with merged semantics a concatenation is the same union."""
    out = db.Region()
    seen = set()
    for region in regions:  # a layer named again is the same cached Region: adding it again only
        if id(region) not in seen:  # makes the merge slower (geomOr of 10,000 repeats: 8 s -> 0.1 s)
            seen.add(id(region))
            out += region
    return out if out.is_deep() else out.merged()


def edge_band(region: "db.Region", dist: int) -> "db.Region":
    """The band ±``dist`` around the outline, square corners (bloat bit 0x8, edges modes 0-3)."""
    return region.sized(dist, dist, 2) - region.sized(-dist, -dist, 2)


def octagon(dist: int) -> "db.Polygon":
    """The regular octagon with its vertices on the circle of radius ``dist`` at every 45°."""
    diagonal = int(math.floor(dist / math.sqrt(2) + 0.5))
    points = [(dist, 0), (diagonal, diagonal), (0, dist), (-diagonal, diagonal),
              (-dist, 0), (-diagonal, -diagonal), (0, -dist), (diagonal, -diagonal)]
    return db.Polygon([db.Point(x, y) for x, y in points])


def cut_corner_sized(region: "db.Region", dist: int) -> "db.Region":
    """Xic's bloat mode 3 (its DRC sizing): every edge moves out by ``dist``; a convex corner is cut
    by two facets through the points at ``dist`` from the vertex on the edge normals and on the
    bisector.  On Manhattan (and 45°) data those points are the vertices of :func:`octagon`, so the
    corners are its Minkowski sum; the edge strips keep slanted edges exactly ``dist`` away.
    A negative ``dist`` shrinks: the complement grows (its convex corners are our concave ones)."""
    if dist == 0:
        return region
    if dist < 0:
        merged = region.merged()
        frame = db.Region(merged.bbox().enlarged(-dist + 1, -dist + 1))
        return merged - cut_corner_sized(frame - merged, -dist)
    merged = region.merged()
    strips = merged.edges().extended(0, 0, dist, 0, False)  # outside only: thin shapes stay thin inside
    grown = merged.minkowski_sum(octagon(dist))
    return union([merged, strips, grown])  # deep: a concatenation (see union)


def halo_band(region: "db.Region", dist: int) -> "db.Region":
    """``edges`` mode 4 (Xic's halo): the band of width ``dist`` outside the merged shapes, convex
    corners cut as in bloat mode 3."""
    return cut_corner_sized(region, dist) - region


def zoid_edge_bands(region: "db.Region", dist: int) -> "db.Region":
    """``edges`` mode 6: around every edge of every trapezoid of the merged shapes (Xic's Horiz Split
    pieces, so the cuts between pieces count as edges), a box ±dist wide reaching dist beyond both
    ends; their union.  Each band is built on its own (joining the band ends of unmerged trapezoid
    edges did not finish on a 5x5 µm window); exact for Manhattan data."""
    pieces = region.decompose_trapezoids_to_region(db.Polygon.TD_simple)
    pieces.merged_semantics = False
    edges = pieces.edges()
    edges.merged_semantics = False  # merging would cancel the cuts shared by two trapezoids
    return edges.extended(dist, dist, dist, dist, False).merged()


def edge_wires(edges: "db.Edges", dist: int) -> "db.Region":
    """A band ±dist around each edge, ends extended by dist (a wire along the outline)."""
    return edges.extended(dist, dist, dist, dist, True).merged()


#: Xic's smallest manhattanize step (10 of its internal units of 1 nm).
MANHATTANIZE_MIN_STEP_UM = 0.01


def zoid_polygon(constants: list[float], dbu: float) -> "db.Polygon":
    xll, xlr, yl, xul, xur, yu = zoid_corners(constants)
    points = [db.DPoint(xll, yl), db.DPoint(xlr, yl), db.DPoint(xur, yu), db.DPoint(xul, yu)]
    return db.DPolygon(points).to_itype(dbu)


def manhattanize(region: "db.Region", step: int, inner: bool = True) -> "db.Region":
    """Xic's manhattanize mode 0: rectangles fully inside ``region``, strips ``step`` high, each at
    least step x step."""
    out = db.Region()
    for trap in region.merged().decompose_trapezoids(db.Polygon.TD_simple):
        box = trap.bbox()
        if trap.is_box():
            out.insert(box)
            continue
        points = list(trap.each_point_hull())
        y = box.bottom
        while y < box.top:
            top = min(y + step, box.top)
            left_a, right_a = _span_at(points, y)
            left_b, right_b = _span_at(points, top)
            left, right = max(left_a, left_b), min(right_a, right_b)
            if right - left >= step and top - y >= step:
                out.insert(db.Box(int(math.ceil(left)), y, int(math.floor(right)), top))
            y = top
    return out.merged()


def manhattanize_on_grid(region: "db.Region", step: int) -> "db.Region":
    """Xic's manhattanize mode 1: each trapezoid of the merged shapes gets its corners rounded to
    the ``step`` grid (halves away from zero), then its slanted sides are walked row by row of the
    grid, Bresenham-like; every vertex of the result is on the grid, x and y.

    Xic drops the topmost strip of some trapezoids (it compares with a freed list element); that
    fault is not copied, so the result here can be one grid row taller."""
    out = db.Region()
    for trap in region.merged().decompose_trapezoids(db.Polygon.TD_simple):
        box = trap.bbox()
        bottom = [p.x for p in trap.each_point_hull() if p.y == box.bottom]
        top = [p.x for p in trap.each_point_hull() if p.y == box.top]
        y0, y1 = _to_grid(box.bottom, step), _to_grid(box.top, step)
        left0, right0 = _to_grid(min(bottom), step), _to_grid(max(bottom), step)
        left1, right1 = _to_grid(min(top), step), _to_grid(max(top), step)
        if y1 <= y0 or right0 < left0 or right1 < left1:
            continue  # collapsed on the grid
        for row0, row1, left, right in _grid_rows(left0, right0, left1, right1, y0, y1):
            if right > left and row1 > row0:
                out.insert(db.Box(left * step, row0 * step, right * step, row1 * step))
    return out.merged()


def _to_grid(value: int, step: int) -> int:
    """``value`` in grid units, halves rounded away from zero (Xic's rounding)."""
    half = step // 2
    return (value + half) // step if value > 0 else -((half - value) // step)


def _grid_rows(left0: int, right0: int, left1: int, right1: int, y0: int,
               y1: int) -> Iterator[tuple[int, int, int, int]]:
    """Rectangles (y from, y to, left, right; grid units) stepping a trapezoid's sides from the
    bottom corners to the top ones: on each row a side moves by whole grid steps while its error
    term (slope run accumulated over the rows) stays positive; a rectangle ends where a side moved."""
    rows = y1 - y0
    sides = []
    for start, end in ((left0, left1), (right0, right1)):
        run = abs(end - start)
        sides.append([start, end, run, 1 if end > start else -1, run // 2])
    strip_bottom, strip = y0, (left0, right0)
    for y in range(y0, y1 + 1):
        current = (sides[0][0], sides[1][0])
        if current != strip:
            yield strip_bottom, y, strip[0], strip[1]
            strip_bottom, strip = y, current
        for side in sides:
            side[4] += side[2]
            while side[4] > 0 and side[0] != side[1]:
                side[4] -= rows
                side[0] += side[3]
    yield strip_bottom, y1, left1, right1


def _span_at(points: list, y: float) -> tuple[float, float]:
    """The x extent of a convex trapezoid (given by its hull points) on the horizontal line at y."""
    xs = []
    count = len(points)
    for i in range(count):
        a, b = points[i], points[(i + 1) % count]
        if (a.y - y) * (b.y - y) <= 0 and a.y != b.y:
            xs.append(a.x + (b.x - a.x) * (y - a.y) / (b.y - a.y))
        elif a.y == y:
            xs.append(a.x)
    return (min(xs), max(xs)) if xs else (0.0, 0.0)
