"""The checked tree of a layer expression: plain dataclasses, one per node kind.

Every node carries ``pos``, the 0-based character offset where it starts, so that later stages
(layer lookup, type checks) can point at the offending text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Union

SCALAR = "scalar"
GEOMETRY = "geometry"


def truthy(value: float) -> bool:
    """Xic's to_boolean: |v| >= 1e-37 is true.  A true number meeting geometry is the whole
    reference area, a false one is nothing (D2)."""
    return abs(value) >= 1e-37


@dataclass
class Number:
    value: float
    pos: int
    text: str = ""
    kind: str = SCALAR


@dataclass
class LayerRef:
    """A layer read: ``name``/``L/D``/hex/``"L,D"``, optionally ``.cellname`` (D4)."""

    layer: str                       # the layer field as written (quotes removed)
    pos: int
    cell: str | None = None          # the cell field of lname.cellname
    form: str = "name"               # name | ld | hex | decimal
    ld: tuple[int, int] | None = None  # (layer, datatype) for ld/hex/decimal forms
    text: str = ""                   # the whole token as written
    kind: str = GEOMETRY


@dataclass
class Instances:
    """``$$``: the bounding boxes of the evaluated cell's direct instances (D15)."""

    pos: int
    kind: str = GEOMETRY


@dataclass
class Unary:
    op: str                          # "!" (inversion/logical not) or "-" (negation)
    operand: "Node"
    pos: int
    kind: str = GEOMETRY


@dataclass
class Binary:
    op: str                          # "|", "&", "+", "-", "*", "^"
    left: "Node"
    right: "Node"
    pos: int
    kind: str = GEOMETRY


@dataclass
class Call:
    name: str
    args: list["Node"]
    pos: int
    kind: str = GEOMETRY
    constants: list[float] = field(default_factory=list)  # folded numeric arguments, in order


Node = Union[Number, LayerRef, Instances, Unary, Binary, Call]


def children(node: Node) -> list[Node]:
    if isinstance(node, Unary):
        return [node.operand]
    if isinstance(node, Binary):
        return [node.left, node.right]
    if isinstance(node, Call):
        return list(node.args)
    return []


def walk(node: Node) -> Iterator[Node]:
    """All nodes, parents before children."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(children(current)))


def layer_refs(node: Node) -> list[LayerRef]:
    return [n for n in walk(node) if isinstance(n, LayerRef)]


def to_text(node: Node) -> str:
    """A fully parenthesised rendering (used by ``explain`` and by tests of precedence)."""
    if isinstance(node, Number):
        return node.text or repr(node.value)
    if isinstance(node, LayerRef):
        return node.text or node.layer
    if isinstance(node, Instances):
        return "$$"
    if isinstance(node, Unary):
        return f"{node.op}{to_text(node.operand)}"
    if isinstance(node, Binary):
        return f"({to_text(node.left)} {node.op} {to_text(node.right)})"
    if isinstance(node, Call):
        return f"{node.name}({', '.join(to_text(a) for a in node.args)})"
    raise TypeError(node)
