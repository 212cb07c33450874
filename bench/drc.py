"""KLayout DRC-engine scripts (Ruby DSL) that do a benchmark expression's work.

Each script reads the input, evaluates the expression in flat, deep or tiled mode, puts the result
on the target layer of the *source* layout and writes the whole layout, so that it does exactly
what ``layertools eval`` does (which keeps every input layer; a DRC ``target`` would write only the
result layers and skip most of the writing cost).
"""

from __future__ import annotations

from typing import Optional, Tuple

from expressions import Expr, drc_variable

DRC_MODES = ("flat", "deep", "tiled")


def drc_script(expr: Expr, mode: str, *, to: Tuple[int, int] = (1000, 0), partition: Optional[float] = 100.0,
               threads: int = 0, title: str = "") -> str:
    """The DRC script text; it takes ``$input`` and ``$output`` from ``-rd input=... -rd output=...``."""
    if mode not in DRC_MODES:
        raise ValueError(f"DRC mode must be one of {DRC_MODES}, not {mode!r}")
    lines = [f"# layertools bench: {title}".rstrip(), "source($input)"]
    if mode == "deep":
        lines.append("deep")
    elif mode == "tiled":
        if partition is None:
            raise ValueError("tiled DRC needs a tile size")
        # No tile_borders: the DRC engine gives each tiled operation the border it needs (sized
        # asks for its distance), while a global border would slow every boolean down.
        lines.append(f"tiles({partition:g}.um)")
    if threads:
        lines.append(f"threads({threads})")
    for key in sorted(expr.layers()):
        lines.append(f"{drc_variable(key)} = input({key[0]}, {key[1]})")
    lines.append(f"result = {expr.drc()}")
    lines.append(f"result.output({to[0]}, {to[1]})")
    lines.append("source.layout.write($output)")
    return "\n".join(lines) + "\n"
