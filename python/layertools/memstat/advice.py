"""Memory estimates for the three evaluation strategies, a strategy suggestion, and advice.

The estimates are linear models in the number of outline points the evaluation reads (boxes 4,
polygons their vertex count, paths 2 per spine point), taken from ``layout_statistics``.  Their
constants were fitted to peak-RSS measurements (``/proc/self/clear_refs`` + ``VmHWM``) of
``layertools.evaluate`` (and of the raw KLayout API for the two benchmark files) on the real
layouts in ``shared/data`` with KLayout 0.30.12; doc/memory.md has the table.

    flat  = FLAT_BYTES_PER_POINT * P_in + FLAT_OUTPUT_BYTES_PER_POINT * P_out
    tiled = TILED_BASE_BYTES + workers * FLAT_BYTES_PER_POINT * P_in * min(1, tile_area / area)
            + TILED_OUTPUT_BYTES_PER_POINT * P_out
    deep  = DEEP_BASE_BYTES + DEEP_HIERARCHY_FACTOR * (Cell info + Instances used bytes)
            + DEEP_BYTES_PER_POINT * (P_in_stored + P_out_stored)

P_in: flat input points, P_in_stored: stored (hierarchical) input points.  The result's size is
unknown before evaluating; each estimate is a range over an output ratio (P_out / P_in) of
0 .. OUTPUT_RATIO_HIGH with a typical value in between.  Accuracy on the calibration cases:
flat typical within -10 % .. +25 %, tiled within about x2 (output-dominated), deep within about x2.
The figures are peaks above the loaded layout, i.e. what an evaluation adds to the process.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from ..hierarchy_stats import LayoutStats

if TYPE_CHECKING:
    from .memory_report import MemoryReport

#: Peak bytes per flat input point of a flat evaluation (fitted 75..100 on six cases).
FLAT_BYTES_PER_POINT = 90
#: Additional bytes per flat output point of a flat evaluation (result Region, then in the layout).
FLAT_OUTPUT_BYTES_PER_POINT = 30
#: Tiled: fixed set-up (processor, per-tile regions) and bytes per output point (the result is
#: collected in a Region and then written into the layout: measured 40..80, output-dominated).
TILED_BASE_BYTES = 2 * 1024 * 1024
TILED_OUTPUT_BYTES_PER_POINT = 60
#: Deep: fixed set-up of the DeepShapeStore, its copy of the hierarchy, bytes per stored point.
DEEP_BASE_BYTES = 4 * 1024 * 1024
DEEP_HIERARCHY_FACTOR = 2.0
DEEP_BYTES_PER_POINT = 40
#: Output ratios (P_out / P_in) of the typical and high estimates; deep results often hold more
#: stored points than the stored input (cell variants), hence its larger ratios.
OUTPUT_RATIO_TYPICAL = 0.5
OUTPUT_RATIO_HIGH = 1.0
DEEP_OUTPUT_RATIO_TYPICAL = 1.0
DEEP_OUTPUT_RATIO_HIGH = 3.0
#: Flat input points per tile the partition suggestion aims at (~30 MB working set per worker).
POINTS_PER_TILE = 250_000
#: More tiles than this cost more than they save: every tile cuts shapes at its border, and
#: measured peaks with ~50,000 tiles of 20 µm were up to 7x the model (vexriscv, 320 MB).
MAX_TILES = 10_000
NICE_PARTITIONS = (10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0)


@dataclass
class MemoryEstimate:
    """Estimated peak memory (bytes above the loaded layout) of one strategy."""

    strategy: str
    low_bytes: int
    typical_bytes: int
    high_bytes: int
    formula: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class StrategySuggestion:
    strategy: str                  # flat, tiled or deep
    partition_um: float | None     # tile size for tiled, None otherwise
    threads: int
    reason: str
    estimates: dict[str, MemoryEstimate] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"strategy": self.strategy, "partition_um": self.partition_um, "threads": self.threads,
                "reason": self.reason, "estimates": {k: v.as_dict() for k, v in self.estimates.items()}}


@dataclass
class Advice:
    """One piece of advice and the figure that supports it."""

    topic: str       # dominant-category, slack, fragmentation, strategy, estimate, mode, hierarchy
    message: str
    figure: str

    def as_dict(self) -> dict:
        return asdict(self)


def human_bytes(value: float | int | None) -> str:
    if value is None:
        return "n/a"
    value = float(value)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000.0
    return f"{value:.1f} TB"


def estimate_memory(stats: LayoutStats, partition_um: float | None = 100.0, threads: int = 0,
                    hierarchy_bytes: int = 0) -> dict[str, MemoryEstimate]:
    """Peak memory (bytes above the loaded layout) of evaluating over the layers ``stats`` counts.

    ``hierarchy_bytes``: the layout's "Cell info" + "Instances" used bytes (for the deep estimate).
    """
    points_flat = stats.points_flat
    points_stored = stats.points_stored
    area = stats.area_um2
    workers = max(1, threads)

    def spread(fixed: float, per_output_point: float, input_points: int, typical: float,
               high: float) -> tuple[int, int, int]:
        return (int(fixed), int(fixed + per_output_point * typical * input_points),
                int(fixed + per_output_point * high * input_points))

    estimates = {"flat": MemoryEstimate(
        "flat", *spread(FLAT_BYTES_PER_POINT * points_flat, FLAT_OUTPUT_BYTES_PER_POINT, points_flat,
                        OUTPUT_RATIO_TYPICAL, OUTPUT_RATIO_HIGH),
        f"{FLAT_BYTES_PER_POINT} B x {points_flat:,} flat input points + {FLAT_OUTPUT_BYTES_PER_POINT} B x"
        f" output points ({OUTPUT_RATIO_TYPICAL:g} x input typical, up to {OUTPUT_RATIO_HIGH:g} x)")}

    if partition_um:
        share = min(1.0, partition_um * partition_um / area) if area > 0 else 1.0
        working = TILED_BASE_BYTES + workers * FLAT_BYTES_PER_POINT * points_flat * share
        estimates["tiled"] = MemoryEstimate(
            "tiled", *spread(working, TILED_OUTPUT_BYTES_PER_POINT, points_flat, OUTPUT_RATIO_TYPICAL,
                             OUTPUT_RATIO_HIGH),
            f"{TILED_BASE_BYTES // 1048576} MB + {workers} worker(s) x {FLAT_BYTES_PER_POINT} B x"
            f" {points_flat:,} points x {share:.3g} (one {partition_um:g} um tile of the area)"
            f" + {TILED_OUTPUT_BYTES_PER_POINT} B x output points")

    fixed = DEEP_BASE_BYTES + DEEP_HIERARCHY_FACTOR * hierarchy_bytes + DEEP_BYTES_PER_POINT * points_stored
    estimates["deep"] = MemoryEstimate(
        "deep", *spread(fixed, DEEP_BYTES_PER_POINT, points_stored, DEEP_OUTPUT_RATIO_TYPICAL,
                        DEEP_OUTPUT_RATIO_HIGH),
        f"{DEEP_BASE_BYTES // 1048576} MB + {DEEP_HIERARCHY_FACTOR:g} x {hierarchy_bytes:,} B hierarchy"
        f" + {DEEP_BYTES_PER_POINT} B x ({points_stored:,} stored input points + stored output points)")
    return estimates


def suggest_partition(stats: LayoutStats, threads: int = 0) -> float:
    """A tile size (µm) giving about POINTS_PER_TILE flat points per tile, and work for every thread."""
    area = stats.area_um2
    if area <= 0 or stats.points_flat <= 0:
        return 100.0
    density = stats.points_flat / area
    side = math.sqrt(POINTS_PER_TILE / density)
    if threads > 1:  # at least two tiles per thread, or threads idle (KLayout #1517)
        side = min(side, math.sqrt(area / (2 * threads)))
    smallest = math.sqrt(area / MAX_TILES)
    candidates = [nice for nice in NICE_PARTITIONS if nice <= side]
    choice = candidates[-1] if candidates else NICE_PARTITIONS[0]
    if choice < smallest:
        choice = next((nice for nice in NICE_PARTITIONS if nice >= smallest), NICE_PARTITIONS[-1])
    return choice


def suggest_strategy(stats: LayoutStats, threads: int = 0, memory_budget: int | None = None,
                     hierarchy_bytes: int = 0) -> StrategySuggestion:
    """flat, tiled or deep for an evaluation over the layers and depth ``stats`` was counted with.

    The decision is the engine's cost model (engine/cost.py), the same one ``auto`` takes, so the
    report and ``auto`` agree on the same layers.  ``memory_budget`` defaults to half the available memory.
    """
    from ..engine.cost import decide
    if stats.points_flat == 0:
        return StrategySuggestion("flat", None, threads, "nothing to evaluate: no shapes on the input layers",
                                  estimate_memory(stats, suggest_partition(stats, threads), threads, hierarchy_bytes))
    decision = decide(stats, threads, None, memory_budget, hierarchy_bytes=hierarchy_bytes)
    return StrategySuggestion(decision.strategy, decision.partition_um, decision.threads, decision.reason,
                              decision.estimates)


def advise(report: MemoryReport) -> list[Advice]:
    """Advice drawn from a MemoryReport, each with the figure that supports it."""
    items: list[Advice] = []
    stats = report.statistics
    total = stats.total
    if total.used > 0:
        parts = [line for line in stats.master if line.name != "Total"]
        if parts:
            top = max(parts, key=lambda line: line.used)
            share = top.used / total.used
            hint = {
                "Shapes info": "shapes dominate: evaluate only the layers you need, and prefer viewer mode for reading",
                "Instances": "instances dominate: the hierarchy is large; deep evaluation keeps it, flat expands it",
                "Cell info": "cell bookkeeping dominates: many small cells",
                "Layout info": "layout bookkeeping dominates (names, properties, layer tables)",
            }.get(top.name, f"{top.name} dominates")
            items.append(Advice("dominant-category", hint,
                                f"{top.name}: {human_bytes(top.used)} of {human_bytes(total.used)} ({share:.0%})"))
        if total.reqd > 0 and total.slack / total.reqd > 0.10:
            items.append(Advice("slack", "containers reserve more than they use (capacity KLayout keeps for "
                                         "growth; it is part of the process size)",
                                f"{human_bytes(total.slack)} reserved beyond {human_bytes(total.used)} used "
                                f"({total.slack / total.reqd:.0%} of allocated)"))

    process = report.process
    if process.heap_free_bytes is not None and process.rss_bytes:
        fraction = process.heap_free_fraction or 0.0
        if fraction > 0.25 and process.heap_free_bytes > 64 * 1024 * 1024:
            items.append(Advice("fragmentation",
                                "the allocator holds much freed memory: the process size overstates what is "
                                "in use (earlier large operations left it fragmented)",
                                f"{human_bytes(process.heap_free_bytes)} free inside a heap of "
                                f"{human_bytes(process.heap_free_bytes + (process.heap_in_use_bytes or 0))}"))
    if process.rss_bytes and total.reqd:
        items.append(Advice("process", "resident size of the whole process (the application, its libraries and "
                                       "every open layout) against this layout's own memory",
                            f"resident {human_bytes(process.rss_bytes)}, peak {human_bytes(process.peak_rss_bytes)};"
                            f" this layout {human_bytes(total.reqd)} allocated"))

    load = report.load
    if load is not None and load.rss_growth_bytes and total.reqd:
        factor = load.rss_growth_bytes / total.reqd
        message = ("reading grew the process by about what the layout holds" if factor < 1.5 else
                   "reading grew the process by more than the layout holds: reader buffers and freed memory the "
                   "allocator keeps (the process size exceeds the memory in use)")
        items.append(Advice("load", message,
                            f"resident +{human_bytes(load.rss_growth_bytes)} in {load.wall_s:.2f} s for"
                            f" {human_bytes(total.reqd)} allocated by the layout ({factor:.1f}x);"
                            f" file {human_bytes(load.file_bytes)}"))

    from ..engine.cost import expansion
    hierarchy = report.hierarchy
    if hierarchy is not None:
        if hierarchy.shapes_stored.total:
            items.append(Advice("hierarchy",
                                "flat expansion factor: how much a flat evaluation multiplies the stored data"
                                " (outline points, the figure the strategy decision uses)",
                                f"{hierarchy.points_stored:,} stored / {hierarchy.points_flat:,} flat points"
                                f" (x{expansion(hierarchy):.1f}), depth {hierarchy.depth}"))
        suggestion = report.suggestion
        if suggestion is not None and hierarchy.points_flat > 0:
            for name in ("flat", "tiled", "deep"):
                estimate = suggestion.estimates.get(name)
                if estimate is None:
                    continue
                items.append(Advice("estimate", f"{name} evaluation over {_layer_scope(hierarchy)}: peak memory "
                                                f"above the loaded layout",
                                    f"~{human_bytes(estimate.typical_bytes)} (range {human_bytes(estimate.low_bytes)}"
                                    f" .. {human_bytes(estimate.high_bytes)})"))
            partition = f", partition {suggestion.partition_um:g} um" if suggestion.partition_um else ""
            items.append(Advice("strategy", f"suggested strategy: {suggestion.strategy}{partition}", suggestion.reason))
    if report.editable and report.source and report.source.lower().endswith((".oas", ".oas.gz", ".oasis")):
        items.append(Advice("mode", "editor mode expands OASIS repetitions; viewer mode keeps them as arrays and "
                                    "needs less memory for reading and display", "layout is editable"))
    return items


def _layer_scope(stats: LayoutStats) -> str:
    count = len(stats.layers)
    return f"all {count} layers (upper bound; an expression reads fewer)" if count != 1 else \
        f"layer {stats.layers[0].label}"


__all__ = ["MemoryEstimate", "StrategySuggestion", "Advice", "estimate_memory", "suggest_strategy",
           "suggest_partition", "advise", "human_bytes", "FLAT_BYTES_PER_POINT", "FLAT_OUTPUT_BYTES_PER_POINT",
           "TILED_OUTPUT_BYTES_PER_POINT", "DEEP_BYTES_PER_POINT"]
