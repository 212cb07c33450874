"""The public import path of the hierarchy statistics that doc/memory.md promises
(``from layertools.stats import layout_statistics``); they are computed in ``hierarchy_stats``."""

from .hierarchy_stats import LayerStats, LayoutStats, ShapeCounts, layout_statistics

__all__ = ["layout_statistics", "LayoutStats", "LayerStats", "ShapeCounts"]
