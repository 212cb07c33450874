"""What an evaluation would do, without doing it: the tree, the layers, the area and the plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..compat import db
from ..language import is_empty, parse, to_text
from ..language.ast import LayerRef, walk
from ..options import EvalOptions, EvalResult
from .binding import bind, reference_box
from .evaluation import cell_to_evaluate, choose_strategy
from .layers import layer_label, resolve_target
from .tiled import plan_tiles


@dataclass
class Explanation:
    tree: str
    target: str
    target_exists: bool
    layers: list[str] = field(default_factory=list)
    halo_um: float = 0.0
    reference_um: tuple[float, float, float, float] | None = None
    path: str = ""            # "copy", "empty" or "expression"
    strategy: str = ""
    partition: float | None = None
    threads: int = 0
    tiles: int = 0
    reason: str = ""

    def text(self) -> str:
        lines = [f"expression : {self.tree}",
                 f"to layer   : {self.target}{'' if self.target_exists else ' (new)'}"]
        lines += [f"reads      : {entry}" for entry in self.layers]
        if self.reference_um:
            l, b, r, t = self.reference_um
            lines.append(f"area       : ({l:g}, {b:g}) - ({r:g}, {t:g}) µm, halo {self.halo_um:g} µm")
        if self.path != "expression":
            lines.append(f"path       : {self.path}")
        else:
            tiles = f", {self.tiles} tiles of {self.partition:g} µm" if self.strategy == "tiled" else ""
            lines.append(f"strategy   : {self.strategy}{tiles}, {self.threads} threads")
            if self.reason:
                lines.append(f"why        : {self.reason}")
        return "\n".join(lines)


def explain(layout: "db.Layout", cell: Any, expression: str, to: str, layer_aliases: dict[str, int] | None = None,
            **options: Any) -> Explanation:
    opts = EvalOptions(to=to, **options).validated()
    cell = cell_to_evaluate(layout, cell if cell is not None else opts.cell)
    target = resolve_target(layout, opts.to, layer_aliases)
    if is_empty(expression):
        return Explanation("(empty)", target.label, target.index is not None, path="empty")
    bound = bind(parse(expression), expression, layout, layer_aliases)
    out = Explanation(to_text(bound.tree), target.label, target.index is not None, halo_um=bound.halo_um)
    for node in walk(bound.tree):
        if isinstance(node, LayerRef):
            where = f" in cell {layout.cell(bound.cell_of[id(node)]).name}" if id(node) in bound.cell_of else ""
            entry = f"{node.text or node.layer} = {layer_label(layout, bound.layer_of[id(node)])}{where}"
            if entry not in out.layers:
                out.layers.append(entry)
    box = reference_box(layout, cell, bound).to_dtype(layout.dbu)
    out.reference_um = (box.left, box.bottom, box.right, box.top)
    if bound.is_copy:
        out.path = "copy"
        return out
    out.path = "expression"
    plan = EvalResult(expression=expression, target=target.label)
    choose_strategy(layout, cell, bound, target, opts, plan,  # the same decision the run makes
                    opts.recursive and opts.depth_limit() != 0)
    out.strategy, out.partition, out.threads, out.reason = plan.strategy, plan.partition, plan.threads, plan.reason
    if out.strategy == "tiled" and out.partition:
        out.tiles = plan_tiles(reference_box(layout, cell, bound), layout.dbu, out.partition, bound.halo_um).tiles
    return out
