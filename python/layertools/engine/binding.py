"""Binding a parsed expression to a layout: layers and cells found, halo and reference area known.

After binding, evaluation cannot fail for lack of a layer or cell: every name was checked
here, before the layout is touched (D10).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..compat import db
from ..errors import ExpressionError
from ..language.ast import Binary, Call, Instances, LayerRef, Node, Number, Unary, children, truthy, walk
from ..limits import NumberError, dimension_dbu
from .functions import function_of
from .layers import resolve_cell, resolve_layer


@dataclass
class BoundExpression:
    text: str
    tree: Node
    layer_of: dict[int, int] = field(default_factory=dict)   # id(LayerRef) -> layer index
    cell_of: dict[int, int] = field(default_factory=dict)    # id(LayerRef) -> cell index (lname.cellname)
    halo_um: float = 0.0                                      # total growth of nested bloat/edges
    constant_boxes: list = field(default_factory=list)       # DBox of every box()/zoid() (µm)

    @property
    def is_copy(self) -> bool:
        """A lone layer name: objects are copied unchanged (D17)."""
        return isinstance(self.tree, LayerRef)

    @property
    def layer_indexes(self) -> set[int]:
        return set(self.layer_of.values())

    @property
    def referenced_cells(self) -> set[int]:
        return set(self.cell_of.values())

    @property
    def reads_layers(self) -> bool:
        return bool(self.layer_of) or any(isinstance(n, Instances) for n in walk(self.tree))

    def inverts(self) -> bool:
        """True when the result involves the reference area itself (``!A``, ``geomNot``, ``A | 1``...):
        hierarchical evaluation then has to work against one box covering the whole cell."""
        for node in walk(self.tree):
            if isinstance(node, Unary) and node.op == "!":
                return True
            if isinstance(node, Call) and function_of(node).inverts:
                return True
            if isinstance(node, Binary) and any(isinstance(side, Number) and truthy(side.value)
                                                for side in (node.left, node.right)):
                return True
        return False

    def result_is_merged(self) -> bool:
        """True when the last operation is a boolean whose output KLayout merges itself; unions are
        concatenations in deep mode and raw layer reads are as stored, so those need a merge
        (merging a deep boolean result again costs memory: 6.9 -> 12.9 MB on the 1024x8 SRAM)."""
        node = self.tree
        if isinstance(node, Binary):
            return node.op in ("&", "*", "-", "^") and not any(
                isinstance(side, Number) for side in (node.left, node.right))
        if isinstance(node, Unary):
            return node.op == "!"
        if isinstance(node, Call):
            return function_of(node).result_is_merged(node)
        return False


def bind(tree: Node, text: str, layout: "db.Layout", aliases: dict[str, int] | None = None) -> BoundExpression:
    bound = BoundExpression(text=text, tree=tree)
    for node in walk(tree):
        if isinstance(node, Call):
            _check_dimensions(node, text, layout.dbu)
        if isinstance(node, LayerRef):
            if node.cell is not None:  # the cell first: "met1.drawing" may be a dotted layer name
                bound.cell_of[id(node)] = resolve_cell(layout, node.cell, node.pos, text, node.layer, aliases)
            bound.layer_of[id(node)] = resolve_layer(layout, node, text, aliases)
        elif isinstance(node, Call):
            box = function_of(node).constant_box(node)
            if box is not None:
                bound.constant_boxes.append(db.DBox(*box))
    bound.halo_um = halo(tree)
    try:
        dimension_dbu(bound.halo_um, layout.dbu, "the total growth of nested bloat/edges/manhattanize")
    except NumberError as exc:
        raise ExpressionError(str(exc), 0, text) from None
    return bound


def _check_dimensions(node: Call, text: str, dbu: float) -> None:
    """Every dimension of a call must fit the database (32-bit coordinates): a result that cannot be
    represented is refused here instead of being silently wrong (bloat(1e300) gave unbloated shapes)."""
    for value in function_of(node).dimensions(node):
        try:
            dimension_dbu(value, dbu, f"the dimension of {node.name}")
        except NumberError as exc:
            raise ExpressionError(str(exc), node.pos, text) from None


def halo(node: Node) -> float:
    """How far (µm) the result can reach beyond the data it reads: nested growth adds up (D6)."""
    inner = max((halo(child) for child in children(node)), default=0.0)
    if isinstance(node, Call):
        return function_of(node).halo(node) + inner
    return inner


def reference_box(layout: "db.Layout", cell: "db.Cell", bound: BoundExpression) -> "db.Box":
    """The area of interest (D5): the cell's box, referenced cells' boxes and constant shapes' boxes."""
    box = cell.bbox().dup()
    for index in bound.referenced_cells:
        box += layout.cell(index).bbox()
    for dbox in bound.constant_boxes:
        box += dbox.to_itype(layout.dbu)
    return box
