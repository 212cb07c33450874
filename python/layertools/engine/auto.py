"""The ``auto`` strategy: the cost model's choice (engine/cost.py) of flat, tiled or deep.

The result's ``reason`` carries the predictions of every strategy and why one was chosen.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..compat import db
from ..options import DEFAULT_PARTITION
from .binding import BoundExpression
from .cost import available_cores, count, decide


@dataclass
class Choice:
    strategy: str
    partition: float | None
    threads: int
    reason: str


def choose(layout: "db.Layout", cell: "db.Cell", bound: BoundExpression, partition: float | None,
           threads: int, target_in_subcells: bool, depth: int | None = None,
           memory_budget: int | None = None) -> Choice:
    """The cost model's decision (engine/cost.py) for this expression on this layout."""
    threads = threads or available_cores()
    if not bound.reads_layers:
        return Choice("flat", partition, threads, "the expression reads no layers")
    counts = count(layout, cell, bound, depth)
    # Deep cannot evaluate cell references, nor write below shapes the target already holds in subcells.
    deep_allowed = not bound.referenced_cells and not target_in_subcells
    # The default partition is no request: the model sizes the tiles, as the Memory report does.
    requested = None if partition == DEFAULT_PARTITION else partition
    decision = decide(counts, threads, requested, memory_budget, deep_allowed=deep_allowed)
    return Choice(decision.strategy, decision.partition_um if decision.strategy == "tiled" else partition,
                  decision.threads, decision.reason)
