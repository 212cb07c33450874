"""The ``auto`` strategy: choose flat, tiled or deep from the layout's statistics and the expression.

The rules are deliberately few and each is explained in the result's ``reason``:
- hierarchical reuse (many flat shapes per stored shape on the layers read) favours ``deep``;
- a large flat workload favours ``tiled`` with every core;
- small work is fastest ``flat`` (no set-up cost).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..compat import db
from ..stats import layout_statistics
from .binding import BoundExpression

#: Flat shapes per stored shape above which hierarchical evaluation wins (SRAM: ~5900, TT06: ~7).
DEEP_REUSE_RATIO = 20.0
#: Flat shapes on the layers read above which partitioned, threaded evaluation pays off
#: (tt06, !(70/20 | 71/20), 124k flat shapes: tiled 3.2 s, flat 3.8 s on 2 cores).
TILED_MIN_FLAT_SHAPES = 100_000


@dataclass
class Choice:
    strategy: str
    partition: float | None
    threads: int
    reason: str


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def layer_counts(layout: "db.Layout", cell: "db.Cell", layers: set[int], depth: int | None) -> tuple[int, int]:
    """(stored, flat) shape counts on ``layers`` below ``cell``, without flattening."""
    stats = layout_statistics(layout, cell, layers=sorted(layers), depth=depth)
    stored = sum(stats.per_layer[i].stored for i in layers if i in stats.per_layer)
    flat = sum(stats.per_layer[i].flat for i in layers if i in stats.per_layer)
    return stored, flat


def choose(layout: "db.Layout", cell: "db.Cell", bound: BoundExpression, partition: float | None,
           threads: int, target_in_subcells: bool, depth: int | None = None) -> Choice:
    cores = max(threads, available_cores())
    if not bound.reads_layers:
        return Choice("flat", partition, threads, "the expression reads no layers")
    stored, flat = layer_counts(layout, cell, bound.layer_indexes, depth)
    ratio = flat / stored if stored else 1.0
    figures = f"{stored:,} stored / {flat:,} flat shapes on the layers read (x{ratio:.1f})"
    deep_ok = not bound.referenced_cells and not target_in_subcells
    if deep_ok and ratio >= DEEP_REUSE_RATIO and flat >= 10_000:
        if not bound.inverts():
            return Choice("deep", None, cores, f"deep: strong hierarchical reuse, {figures}")
        # Inversion is against one box over the whole cell: nothing left to share hierarchically
        # (SRAM 8192x32, !(30/0 | 50/0): deep 4.5 s, tiled 3.5 s).
        tile = partition or 100.0
        return Choice("tiled", tile, cores, f"tiled {tile:g} µm x {cores} threads: inversion defeats "
                                            f"hierarchical reuse, {figures}")
    if flat >= TILED_MIN_FLAT_SHAPES:
        tile = partition or 100.0
        return Choice("tiled", tile, cores, f"tiled {tile:g} µm x {cores} threads: large flat workload, {figures}")
    return Choice("flat", partition, threads, f"flat: small workload, {figures}")
