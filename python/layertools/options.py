"""Evaluation options: one dataclass shared by the API, the panel, the command line and recipes.

The field names and defaults are the documented ones (doc/decisions.md I1 and I4); recipes store
exactly these keys, so renaming a field breaks recorded work.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Union

from .errors import OptionError
from .limits import MAX_LAYER_NUMBER, MAX_THREADS, NumberError, finite, parse_real, parse_whole, quoted, whole

STRATEGIES = ("auto", "flat", "tiled", "deep")
FORMATS = ("default", "joined", "hsplit", "vsplit")
MAX_DEPTH = 5  # the panel's menu offers 0..5 and "all"; the API accepts any depth >= 0
DEFAULT_PARTITION = 100.0  # µm, Xic's PartitionSize default
JOIN_MAX_POLY_VERTS = 600  # Xic's JoinMaxPolyVerts default (0 = no limit)

Depth = Union[int, str]


@dataclass
class EvalOptions:
    """Everything that controls one evaluation, besides the layout and the expression."""

    to: str = ""
    cell: str | None = None
    depth: Depth = "all"
    recursive: bool = False
    strategy: str = "auto"
    partition: float | None = DEFAULT_PARTITION
    threads: int = 0
    clear: bool = True
    format: str = "default"
    merge: bool = False
    fast: bool = False
    join_max_poly_verts: int = JOIN_MAX_POLY_VERTS

    def validated(self) -> "EvalOptions":
        """A normalised copy (depth 'all' or int, partition float or None), or OptionError."""
        return dataclasses.replace(
            self,
            depth=normalize_depth(self.depth),
            strategy=_choice("strategy", self.strategy, STRATEGIES),
            partition=normalize_partition(self.partition),
            threads=_non_negative_int("threads", self.threads, MAX_THREADS),
            format=_choice("format", self.format, FORMATS),
            join_max_poly_verts=_non_negative_int("join_max_poly_verts", self.join_max_poly_verts),
            recursive=_bool("recursive", self.recursive),
            clear=_bool("clear", self.clear),
            merge=_bool("merge", self.merge),
            fast=_bool("fast", self.fast),
        )

    def depth_limit(self) -> int | None:
        """The depth as an int, or None for 'all'."""
        depth = normalize_depth(self.depth)
        return None if depth == "all" else int(depth)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def normalize_depth(value: Any) -> Depth:
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("all", "a", "*"):
            return "all"
        value = _option(parse_whole, text, "depth", MAX_LAYER_NUMBER, hint=" or 'all'")
    return _option(whole, value, "depth", MAX_LAYER_NUMBER, hint=" or 'all'")


def normalize_partition(value: Any) -> float | None:
    """Partition size in µm; None, 'none' or 0 mean no partitioning (Xic: PartitionSize 0)."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("none", "off", ""):
            return None
        value = _option(parse_real, text, "partition", hint=" (a size in µm) or 'none'")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise OptionError(f"partition must be a size in µm or 'none', not {quoted(value)}")
    value = _option(finite, value, "partition")
    if value == 0:
        return None
    if value < 0:
        raise OptionError(f"partition must be a positive size in µm or 'none', not {value!r}")
    return value


def _option(check, value: Any, name: str, *args, hint: str = "") -> Any:
    """``check(value, name, *args)`` with its NumberError as an OptionError (one message style)."""
    try:
        return check(value, name, *args)
    except NumberError as exc:
        raise OptionError(str(exc).replace(", not ", f"{hint}, not ", 1)) from None


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    text = str(value).strip().lower() if isinstance(value, str) else value
    if text not in allowed:
        raise OptionError(f"{name} must be one of {', '.join(allowed)}, not {quoted(value)}")
    return text


def _non_negative_int(name: str, value: Any, maximum: int = MAX_LAYER_NUMBER) -> int:
    return _option(whole, value, name, maximum)


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise OptionError(f"{name} must be true or false, not {quoted(value)}")
    return value


@dataclass
class EvalResult:
    """What one evaluation did: reported by the panel's status line, the command line and replay."""

    expression: str
    target: str                      # the To layer as "L/D" or its name
    layer_index: int = -1
    shapes_written: int = 0
    cells_written: int = 0
    strategy: str = ""               # the strategy actually used (never "auto")
    reason: str = ""                 # why auto picked it (empty for a fixed strategy)
    tiles: int = 0
    threads: int = 0
    partition: float | None = None
    seconds: float = 0.0
    copied: bool = False             # the lone-layer copy path was used (D17)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        how = "copied" if self.copied else self.strategy
        tiles = f", {self.tiles:,} tiles" if self.tiles > 1 else ""
        return (f"{self.shapes_written:,} shapes written to {self.target} in {self.cells_written:,} cell(s) "
                f"({how}{tiles}, {self.seconds:.2f} s)")
