"""The benchmark's expressions as a tiny tree that renders itself for every engine under test.

One tree gives the Xic expression (for layertools), the Ruby DRC DSL expression (for KLayout's DRC
engine), a ``tl::Expression`` for a raw TilingProcessor script, and plain ``Region`` arithmetic for
the raw-API baselines.  Writing each case once and rendering it four ways keeps the engines doing
the same work, which is the whole point of the comparison.

This module runs inside ``python3`` (PyPI klayout) and inside ``klayout -b`` (0.28.5, ``pya``), so
it imports no KLayout module itself: callers pass in what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Tuple

LayerKey = Tuple[int, int]


class Expr:
    """A node of a benchmark expression."""

    def xic(self) -> str:
        raise NotImplementedError

    def drc(self) -> str:
        raise NotImplementedError

    def tiling(self, dbu: float) -> str:
        raise NotImplementedError

    def region(self, layer: Callable[[LayerKey], object], reference: Callable[[], object], dbu: float):
        raise NotImplementedError

    def layers(self) -> set:
        return set()

    def halo(self) -> float:
        """How far (µm) the result depends on input beyond a point: the tile border needed."""
        return 0.0

    def inverts(self) -> bool:
        return False


@dataclass(frozen=True)
class Layer(Expr):
    layer: int
    datatype: int

    @property
    def key(self) -> LayerKey:
        return (self.layer, self.datatype)

    def xic(self) -> str:
        return f"{self.layer}/{self.datatype}"

    def drc(self) -> str:
        return drc_variable(self.key)

    def tiling(self, dbu: float) -> str:
        return drc_variable(self.key)

    def region(self, layer, reference, dbu):
        return layer(self.key)

    def layers(self) -> set:
        return {self.key}


@dataclass(frozen=True)
class Binary(Expr):
    op: str  # "&", "|", "-": the same symbol in Xic, the DRC DSL and Region arithmetic
    left: Expr
    right: Expr

    def xic(self) -> str:
        return f"({self.left.xic()} {self.op} {self.right.xic()})"

    def drc(self) -> str:
        return f"({self.left.drc()} {self.op} {self.right.drc()})"

    def tiling(self, dbu: float) -> str:
        return f"({self.left.tiling(dbu)} {self.op} {self.right.tiling(dbu)})"

    def region(self, layer, reference, dbu):
        a = self.left.region(layer, reference, dbu)
        b = self.right.region(layer, reference, dbu)
        if self.op == "&":
            return a & b
        if self.op == "|":
            return a | b   # boolean OR (merged), not the concatenating "+"
        if self.op == "-":
            return a - b
        raise ValueError(f"unknown operator {self.op!r}")

    def layers(self) -> set:
        return self.left.layers() | self.right.layers()

    def halo(self) -> float:
        return max(self.left.halo(), self.right.halo())

    def inverts(self) -> bool:
        return self.left.inverts() or self.right.inverts()


@dataclass(frozen=True)
class Bloat(Expr):
    """Xic ``bloat(d, geom, 0)``; KLayout ``sized(d)`` (both keep Manhattan corners square)."""

    distance: float  # µm
    operand: Expr

    def xic(self) -> str:
        return f"bloat({self.distance:g}, {_strip(self.operand.xic())}, 0)"

    def drc(self) -> str:
        return f"{self.operand.drc()}.sized({self.distance:g}.um)"

    def tiling(self, dbu: float) -> str:
        return f"{self.operand.tiling(dbu)}.sized({to_dbu(self.distance, dbu)})"

    def region(self, layer, reference, dbu):
        return self.operand.region(layer, reference, dbu).sized(to_dbu(self.distance, dbu))

    def layers(self) -> set:
        return self.operand.layers()

    def halo(self) -> float:
        return abs(self.distance) + self.operand.halo()

    def inverts(self) -> bool:
        return self.operand.inverts()


@dataclass(frozen=True)
class Invert(Expr):
    """Xic ``!x``: the reference area (the cell's bounding box) minus x; DRC ``extent - x``."""

    operand: Expr

    def xic(self) -> str:
        return f"!{self.operand.xic()}"

    def drc(self) -> str:
        return f"(extent - {self.operand.drc()})"

    def tiling(self, dbu: float) -> str:
        return f"({REFERENCE} - {self.operand.tiling(dbu)})"

    def region(self, layer, reference, dbu):
        return reference() - self.operand.region(layer, reference, dbu)

    def layers(self) -> set:
        return self.operand.layers()

    def halo(self) -> float:
        return self.operand.halo()

    def inverts(self) -> bool:
        return True


#: The TilingProcessor input name holding the reference area (the cell's bounding box).
REFERENCE = "reference"


def drc_variable(key: LayerKey) -> str:
    return f"l{key[0]}_{key[1]}"


def to_dbu(microns: float, dbu: float) -> int:
    return int(round(microns / dbu))


def _strip(text: str) -> str:
    """Drop one pair of parentheses around the whole text (not around "(a) | (b)")."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for position, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and position < len(text) - 1:
            return text
    return text[1:-1]


def L(spec: str) -> Layer:
    layer, datatype = spec.split("/")
    return Layer(int(layer), int(datatype))


def xic_text(expr: Expr) -> str:
    """The Xic expression without the redundant outer parentheses."""
    return _strip(expr.xic())


@dataclass(frozen=True)
class Workload:
    """One named expression for one technology's layer numbers."""

    name: str       # short id used in case names: "mix", "bloat", "invert"
    kind: str       # what it exercises, for the report
    expr: Expr

    @property
    def xic(self) -> str:
        return xic_text(self.expr)


def _workloads(mix: Expr, bloat: Expr, invert: Expr) -> Dict[str, Workload]:
    return {
        "mix": Workload("mix", "boolean mix", mix),
        "bloat": Workload("bloat", "bloat (sizing)", bloat),
        "invert": Workload("invert", "inversion", invert),
    }


#: Per technology: the issue's boolean mix, an enclosure-style bloat, and an inversion (free of two
#: upper metals, the usual start of a fill region).  Layer numbers are the PDKs' (SOURCES.md).
WORKLOADS: Dict[str, Dict[str, Workload]] = {
    # sky130: 68/20 met1, 69/20 met2, 68/44 via, 70/20 met3, 71/20 met4
    "sky130": _workloads(
        mix=Binary("|", Binary("&", L("68/20"), L("69/20")), Binary("-", L("68/44"), L("68/20"))),
        bloat=Binary("-", Bloat(0.1, L("68/44")), L("68/20")),
        invert=Invert(Binary("|", L("70/20"), L("71/20"))),
    ),
    # IHP SG13G2: 8/0 Metal1, 10/0 Metal2, 19/0 Via1, 30/0 Metal3, 50/0 Metal4
    "sg13g2": _workloads(
        mix=Binary("|", Binary("&", L("8/0"), L("10/0")), Binary("-", L("19/0"), L("8/0"))),
        bloat=Binary("-", Bloat(0.1, L("19/0")), L("8/0")),
        invert=Invert(Binary("|", L("30/0"), L("50/0"))),
    ),
}
