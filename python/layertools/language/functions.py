"""The functions of the layer-expression language, as the parser knows them: one entry each.

An entry says what may be written: the kinds of the parameters (a number or geometry; the last
repeated, or trailing ones optional) and the checks the numeric arguments must pass, so that a
call that cannot be evaluated is refused with its position before any layout is read.  What a
function computes (halo, per tile or not, its KLayout implementation and tile script) is the
engine's entry of the same name in ``engine/functions.py``; a name in one table and not the
other fails at import.  That module's docstring says what adding a function takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

NUMERIC, GEOM = "n", "g"

#: The checks of a call's numeric arguments (in order): an error message, or None when they are fine.
Check = Callable[[list], Optional[str]]


def _no_check(constants: list) -> str | None:
    return None


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[str, ...]          # the kinds of the fixed parameters
    variadic: bool = False           # the last kind repeats (at least len(params) arguments)
    optional: int = 0                # how many trailing parameters may be left out
    check: Check = _no_check

    def arity_text(self) -> str:
        if self.variadic:
            return f"at least {len(self.params)}"
        if self.optional:
            return f"{len(self.params) - self.optional} or {len(self.params)}"
        return str(len(self.params))

    def accepts(self, count: int) -> bool:
        if self.variadic:
            return count >= len(self.params)
        return len(self.params) - self.optional <= count <= len(self.params)

    def kind_of(self, index: int) -> str:
        return self.params[min(index, len(self.params) - 1)]


def zoid_corners(constants: list) -> tuple[float, float, float, float, float, float]:
    """zoid(xll, xlr, yl, xul, xur, yu) normalised as Xic does: the lower edge first, each edge
    left to right.  The top edge is only swapped with the bottom one, so after this ``xur < xul``
    means a twisted trapezoid (the parser refuses it)."""
    xll, xlr, yl, xul, xur, yu = constants
    if yu < yl:
        xll, xlr, yl, xul, xur, yu = xul, xur, yu, xll, xlr, yl
    if xlr < xll:
        xll, xlr = xlr, xll
    return xll, xlr, yl, xul, xur, yu


def _whole_mode(name: str) -> Check:
    def check(constants: list) -> str | None:
        mode = constants[1]
        if mode != int(mode):
            return f"the mode of {name} must be a whole number, not {mode:g}"
        return None
    return check


def _check_edges(constants: list) -> str | None:
    message = _whole_mode("edges")(constants)
    if message is None and int(constants[1]) not in range(7):
        return f"edges mode must be 0..6, not {int(constants[1])}"
    return message


def _check_manhattanize(constants: list) -> str | None:
    message = _whole_mode("manhattanize")(constants)
    if message is None and abs(constants[0]) < 0.01:
        return "the dimension of manhattanize must be at least 0.01 µm"
    return message


def _check_zoid(constants: list) -> str | None:
    xll, xlr, yl, xul, xur, yu = zoid_corners(constants)
    if xur < xul:
        return "zoid: the top edge runs backwards after normalising (xur < xul)"
    return None


FUNCTIONS: dict[str, Function] = {f.name: f for f in (
    Function("bloat", (NUMERIC, GEOM, NUMERIC), check=_whole_mode("bloat")),
    Function("edges", (NUMERIC, GEOM, NUMERIC), check=_check_edges),
    Function("manhattanize", (NUMERIC, GEOM, NUMERIC), check=_check_manhattanize),
    Function("extent", (GEOM,)),
    Function("box", (NUMERIC,) * 4),
    Function("zoid", (NUMERIC,) * 6, check=_check_zoid),
    Function("geomOr", (GEOM,), variadic=True),
    Function("geomAnd", (GEOM, GEOM), optional=1),
    Function("geomAndNot", (GEOM, GEOM)),
    Function("geomNot", (GEOM,)),
    Function("geomXor", (GEOM, GEOM), optional=1),
    Function("geomCat", (GEOM,), variadic=True),
    Function("filt", (GEOM, GEOM)),
    Function("sqz", (GEOM,)),
    Function("noop", (GEOM,)),
)}

#: Xic functions deliberately left out (D21): the parser names them instead of "unknown function".
UNSUPPORTED_FUNCTIONS = {
    "drcZlist": "drcZlist (Xic's DRC rule areas) is not supported",
    "drcZlistEx": "drcZlistEx (Xic's DRC rule areas) is not supported",
}
