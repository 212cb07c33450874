"""Workarounds for KLayout bugs that would otherwise damage a user's layout (no Qt needed)."""

from __future__ import annotations

from .compat import db


def repair_free_layer_slots(layout: "db.Layout") -> int:
    """Work around a KLayout 0.28 bug that corrupts layouts after Undo + Redo of a new layer.

    Measured in 0.28.5 (fixed by 0.30.12): redoing the creation of a layer leaves its index in the
    layout's list of free slots, so the next ``insert_layer`` hands out that index again and
    silently relabels the existing layer (Evaluate into 100/0, Undo, Redo, Evaluate into 102/0: the
    100/0 shapes become 102/0 and are then cleared).  Taking the stale slots out of the free list,
    each time restoring the label it overwrote, and returning the one truly free slot repairs it.
    Must run outside any transaction, so that nothing of it lands in the undo history.
    Returns the number of stale slots removed.
    """
    stale = 0
    while True:
        labels = {index: layout.get_info(index) for index in layout.layer_indexes()}
        probe = layout.insert_layer(db.LayerInfo())
        if probe not in labels:
            layout.delete_layer(probe)
            return stale
        layout.set_info(probe, labels[probe])
        stale += 1
