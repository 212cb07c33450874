"""What the engine knows of each expression function: one entry per function, keyed by the name of
its entry in ``language/functions.py`` (parameters and their checks).

An entry holds everything evaluation needs of the function: how far its result reaches beyond
what it reads (``halo``), which numeric arguments are lengths that must fit the database, the
constant shape it adds to the reference area, whether it inverts (involves the reference area
itself), whether its result is merged already, whether it cuts corners like Xic, its flat
implementation on Regions (``flat``) and, when it can run per tile, its form in the tile script
(``tile``); anything not per tile is computed once over the whole picture and fed to the tiles
(D6).  ``binding``, ``regions`` and ``tiled`` read these entries and know no function by name.

Adding a function (decision I9 in doc/decisions.md): one ``Function`` in ``language/functions.py``
(its parameters and checks), one ``@register``ed class here (only what differs from
``EngineFunction``'s defaults), and their tests: tests/language/test_language.py for the checks,
tests/engine/test_engine_xic.py for the geometry in every strategy (its area table must call every
function), tests/engine/test_xic_parity.py against the real Xic when it runs per tile. 2 entries in
2 modules; before these tables a function like ``bloat`` was written in 10 places in 4 modules
(parser.FUNCTIONS and _check_call; binding's halo, _check_dimensions, cuts_corners and
result_is_merged; regions.call and its method; tiled._LOCAL_CALLS, is_local and call) and a
whole-picture one like ``extent`` in 3 (parser.FUNCTIONS, binding.GLOBAL_FUNCTIONS, regions.call).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..compat import db
from ..language.ast import Call
from ..language.functions import FUNCTIONS, zoid_corners
from .geometry import (
    MANHATTANIZE_MIN_STEP_UM,
    Pieces,
    cut_corner_sized,
    edge_band,
    edge_wires,
    halo_band,
    manhattanize,
    manhattanize_on_grid,
    union,
    zoid_edge_bands,
    zoid_polygon,
)

if TYPE_CHECKING:  # the evaluators call these entries and pass themselves
    from .regions import RegionEvaluator, Value
    from .tiled import TileCompiler


class EngineFunction:
    """The defaults: no growth, no lengths, no constant shape, not merged; per tile when it has a tile form."""

    name = ""
    #: The result involves the reference area itself (a box over the whole cell): hierarchical
    #: evaluation cannot reuse cells, and the cost model counts it (engine/cost.py).
    inverts = False

    def halo(self, call: Call) -> float:
        """How far (µm) the result reaches beyond the geometry it reads; nested growth adds up."""
        return 0.0

    def dimensions(self, call: Call) -> list[float]:
        """The numeric arguments that are lengths (µm): each must fit the database (binding)."""
        return []

    def constant_box(self, call: Call) -> tuple[float, float, float, float] | None:
        """(left, bottom, right, top) µm of a shape the call draws without reading a layer: part
        of the reference area (D5)."""
        return None

    def cuts_corners(self, call: Call) -> bool:
        """Convex corners cut like Xic's (geometry.cut_corner_sized): built from pieces."""
        return False

    def result_is_merged(self, call: Call) -> bool:
        """KLayout merges the result itself (a boolean): a deep result needs no merge before writing."""
        return False

    def per_tile(self, call: Call) -> bool:
        """True when ``tile`` expresses the call in the tile script (by default: when the entry has
        a ``tile``); False: it needs the whole picture (or has no tile form for these arguments)
        and is computed once, flat, as an input of the tiles."""
        return type(self).tile is not EngineFunction.tile

    def flat(self, ev: "RegionEvaluator", call: Call) -> "Value":
        """The call on Regions (flat or deep); ``ev.value`` evaluates its arguments."""
        raise NotImplementedError(self.name)

    def tile(self, compiler: "TileCompiler", call: Call) -> str:
        """The call in KLayout's expression language; the name of the script variable holding it."""
        raise NotImplementedError(self.name)


ENGINE_FUNCTIONS: dict[str, EngineFunction] = {}


def register(cls: type[EngineFunction]) -> type[EngineFunction]:
    """Class decorator: the entry for the function ``cls.name``."""
    ENGINE_FUNCTIONS[cls.name] = cls()
    return cls


def function_of(call: Call) -> EngineFunction:
    return ENGINE_FUNCTIONS[call.name]


def _mode(call: Call) -> int:
    return int(call.constants[1])


class _Growing(EngineFunction):
    """bloat, edges, manhattanize: (dimension, geometry, mode); the dimension is a growth."""

    def halo(self, call: Call) -> float:
        return abs(call.constants[0])

    def dimensions(self, call: Call) -> list[float]:
        return call.constants[:1]


@register
class Bloat(_Growing):
    """D13: modes 0-2 square corners, 3 cut corners, bit 0x8 the edge band only, other bits warned."""

    name = "bloat"

    def cuts_corners(self, call: Call) -> bool:
        mode = _mode(call)
        return (mode & 0x3) == 3 and not mode & 0x8

    def result_is_merged(self, call: Call) -> bool:
        return not self.cuts_corners(call)

    def per_tile(self, call: Call) -> bool:
        shrinks_cut = self.cuts_corners(call) and call.constants[0] < 0  # grows the complement: whole picture
        return not (_mode(call) & 0x8) and not shrinks_cut

    def flat(self, ev: "RegionEvaluator", call: Call) -> "Value":
        d, mode = call.constants[0], _mode(call)
        region = ev.geometry(ev.value(call.args[1]))
        if mode & 0x8:
            return edge_band(region, abs(ev.dbu_of(d)))
        known = 0x3 | 0x8
        if mode & ~known:
            ev.warnings.append(f"bloat mode bits {mode & ~known:#x} are ignored (D13)")
        if d == 0:
            return region
        dist = ev.dbu_of(d)
        if self.cuts_corners(call):
            return cut_corner_sized(region, dist)
        return region.sized(dist, dist, 2)       # square corners on Manhattan data (modes 0-2, as Xic)

    def tile(self, compiler: "TileCompiler", call: Call) -> str:
        dist = compiler.flat.dbu_of(call.constants[0])
        inner = compiler.node(call.args[1])
        if dist == 0:
            return inner
        if self.cuts_corners(call):
            return compiler.cut_corner_sized(inner, dist)
        return compiler.script.temp(f"{inner}.sized({dist}, {dist}, 2)")


@register
class Edges(_Growing):
    """D12: modes 0-3 the ±d band, 4 the outside band with cut corners (Xic's halo), 5 a wire
    along the outline, 6 bands around every trapezoid edge."""

    name = "edges"

    def cuts_corners(self, call: Call) -> bool:
        return _mode(call) == 4

    def result_is_merged(self, call: Call) -> bool:
        return not self.cuts_corners(call)

    def per_tile(self, call: Call) -> bool:
        return _mode(call) <= 4

    def flat(self, ev: "RegionEvaluator", call: Call) -> "Value":
        mode = _mode(call)
        region = ev.geometry(ev.value(call.args[1]))
        dist = abs(ev.dbu_of(call.constants[0]))
        if dist == 0:
            return db.Region()
        if mode <= 3:
            return edge_band(region, dist)
        if mode == 4:
            return halo_band(region, dist)
        if mode == 5:
            return edge_wires(region.merged().edges(), dist)
        return zoid_edge_bands(region, dist)

    def tile(self, compiler: "TileCompiler", call: Call) -> str:
        dist = abs(compiler.flat.dbu_of(call.constants[0]))
        inner = compiler.node(call.args[1])
        if dist == 0:
            return "none"
        if _mode(call) == 4:  # geometry.halo_band
            return compiler.script.temp(f"{compiler.cut_corner_sized(inner, dist)} - {inner}")
        return compiler.script.temp(f"{inner}.sized({dist}, {dist}, 2) - {inner}.sized({-dist}, {-dist}, 2)")


@register
class Manhattanize(_Growing):
    """Mode 0: rectangles inside the shapes; otherwise the corners snapped to the step grid."""

    name = "manhattanize"

    def flat(self, ev: "RegionEvaluator", call: Call) -> "Value":
        d, mode = call.constants[0], _mode(call)
        region = ev.geometry(ev.value(call.args[1]))
        step = max(ev.dbu_of(abs(d)), ev.dbu_of(MANHATTANIZE_MIN_STEP_UM))
        if mode == 0:
            return manhattanize(region, step, inner=True)
        return manhattanize_on_grid(region, step)


@register
class Extent(EngineFunction):
    """The bounding box of the argument: needs the whole picture."""

    name = "extent"

    def flat(self, ev: "RegionEvaluator", call: Call) -> "Value":
        region = ev.geometry(ev.value(call.args[0]))
        return db.Region() if region.is_empty() else db.Region(region.bbox())


class _Drawn(EngineFunction):
    """box, zoid: a shape drawn from its coordinates (µm), every one a length; part of the reference area."""

    def dimensions(self, call: Call) -> list[float]:
        return call.constants


@register
class Box(_Drawn):
    name = "box"

    def constant_box(self, call: Call) -> tuple[float, float, float, float]:
        l, b, r, t = call.constants
        return min(l, r), min(b, t), max(l, r), max(b, t)

    def flat(self, ev: "RegionEvaluator", call: Call) -> "Value":
        return db.Region(db.DBox(*self.constant_box(call)).to_itype(ev.dbu))


@register
class Zoid(_Drawn):
    name = "zoid"

    def constant_box(self, call: Call) -> tuple[float, float, float, float]:
        xll, xlr, yl, xul, xur, yu = zoid_corners(call.constants)
        return min(xll, xul), yl, max(xlr, xur), yu

    def flat(self, ev: "RegionEvaluator", call: Call) -> "Value":
        return db.Region(zoid_polygon(call.constants, ev.dbu))


@register
class GeomOr(EngineFunction):
    name = "geomOr"

    def flat(self, ev: "RegionEvaluator", call: Call) -> "Value":
        return union([ev.geometry(ev.value(arg)) for arg in call.args])

    def tile(self, compiler: "TileCompiler", call: Call) -> str:
        return compiler.script.temp(" | ".join(compiler.node(arg) for arg in call.args))


class _Boolean(EngineFunction):
    """geomAnd, geomXor, geomAndNot with two arguments: the operator ``op``, merged by KLayout.
    geomAnd and geomXor with one argument count coverage of geomCat's pieces (whole picture)."""

    op = ""

    def result_is_merged(self, call: Call) -> bool:
        return len(call.args) == 2

    def per_tile(self, call: Call) -> bool:
        return len(call.args) == 2

    def flat(self, ev: "RegionEvaluator", call: Call) -> "Value":
        if len(call.args) == 1:
            return self.coverage(ev, ev.value(call.args[0]))
        return ev.binary(self.op, ev.value(call.args[0]), ev.value(call.args[1]))

    def tile(self, compiler: "TileCompiler", call: Call) -> str:
        return compiler.binary(self.op, call.args[0], call.args[1])

    def coverage(self, ev: "RegionEvaluator", value: "Value") -> "db.Region":
        """One argument: geomAnd = covered twice or more, geomXor = covered exactly once."""
        if not isinstance(value, Pieces):
            region = ev.geometry(value)
            return db.Region() if self.name == "geomAnd" else region.merged()
        pieces = value.regions
        twice = db.Region()
        for i, first in enumerate(pieces):  # pairwise overlaps: few pieces, exact in every version
            for second in pieces[i + 1:]:
                twice += first & second
        twice = twice.merged()
        if self.name == "geomAnd":
            return twice
        return value.union() - twice


@register
class GeomAnd(_Boolean):
    name, op = "geomAnd", "&"


@register
class GeomXor(_Boolean):
    name, op = "geomXor", "^"


@register
class GeomAndNot(_Boolean):
    name, op = "geomAndNot", "-"


@register
class GeomNot(EngineFunction):
    name = "geomNot"
    inverts = True

    def result_is_merged(self, call: Call) -> bool:
        return True

    def flat(self, ev: "RegionEvaluator", call: Call) -> "Value":
        return ev.reference.dup() - ev.geometry(ev.value(call.args[0]))

    def tile(self, compiler: "TileCompiler", call: Call) -> str:
        return compiler.script.temp(f"ref - {compiler.node(call.args[0])}")


@register
class GeomCat(EngineFunction):
    """The merged arguments kept apart (Pieces), for one-argument geomAnd/geomXor."""

    name = "geomCat"

    def flat(self, ev: "RegionEvaluator", call: Call) -> "Value":
        return Pieces([ev.geometry(ev.value(arg)).merged() for arg in call.args])


@register
class Filt(EngineFunction):
    """Whole groups of the first argument whose overlap with the second has area."""

    name = "filt"

    def flat(self, ev: "RegionEvaluator", call: Call) -> "Value":
        groups = ev.geometry(ev.value(call.args[0])).merged()
        mask = ev.geometry(ev.value(call.args[1]))
        # touching alone is not enough
        return db.Region() if mask.is_empty() else groups.overlapping(mask)


@register
class Sqz(EngineFunction):
    """The argument evaluated on the selected shapes only (D16)."""

    name = "sqz"

    def flat(self, ev: "RegionEvaluator", call: Call) -> "Value":
        inner = ev.on_selection()
        return inner.geometry(inner.value(call.args[0]))


@register
class Noop(EngineFunction):
    name = "noop"

    def flat(self, ev: "RegionEvaluator", call: Call) -> "Value":
        return ev.value(call.args[0])

    def tile(self, compiler: "TileCompiler", call: Call) -> str:
        return compiler.node(call.args[0])


if set(ENGINE_FUNCTIONS) != set(FUNCTIONS):  # a function the parser accepts must be evaluable, and back
    raise ImportError(f"the engine's functions {sorted(set(ENGINE_FUNCTIONS) ^ set(FUNCTIONS))} "
                      "are not in both tables (language/functions.py, engine/functions.py)")
