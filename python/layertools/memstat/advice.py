"""Memory estimates for the three evaluation strategies, a strategy suggestion, and advice.

The estimates and the suggestion are the engine's cost model (engine/cost.py), the one ``auto``
takes: peak memory above the loaded layout as a sum of counted terms (outline points on the layers
read, points per tile and busy workers, cells and placements) times coefficients fitted to
measured peaks (``bench/calibrate_cost.py``, ``bench/fit_cost.py``; doc/performance.md has the
fit).  Each estimate is the model's prediction with the range it was measured to hold on the
calibration ladder (half to twice); flat's lower end is its input regions alone.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from ..engine.cost import FLAT_BYTES_PER_POINT, NICE_PARTITIONS, PEAK, Counts, largest_partition, peak_bytes
from ..hierarchy_stats import LayoutStats

if TYPE_CHECKING:
    from .memory_report import MemoryReport

#: The model's measured accuracy on the calibration ladder: every peak within half to twice the prediction.
ACCURACY = 2.0


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


def estimate_memory(stats: LayoutStats, partition_um: float | None = 100.0,
                    threads: int = 0) -> dict[str, MemoryEstimate]:
    """Peak memory (bytes above the loaded layout) of evaluating over the layers ``stats`` counts.

    ``stats``: a LayoutStats or cost.Counts.  Deep's share of the hierarchy is counted from cells
    and placements (engine/cost.py ``peak_terms``).
    """
    counts = Counts.of(stats)
    workers = max(1, threads)
    estimates = {}
    for strategy in ("flat", "tiled", "deep"):
        if strategy == "tiled" and not partition_um:
            continue
        tile = partition_um if strategy == "tiled" else None
        typical = peak_bytes(counts, strategy, workers, tile)
        low = FLAT_BYTES_PER_POINT * counts.points_flat if strategy == "flat" else int(typical / ACCURACY)
        estimates[strategy] = MemoryEstimate(strategy, min(low, typical), typical, int(typical * ACCURACY),
                                             _formula(counts, strategy, workers, tile))
    return estimates


def _formula(counts: Counts, strategy: str, threads: int, partition_um: float | None) -> str:
    coefficients = PEAK[strategy]
    if strategy == "flat":
        return f"{FLAT_BYTES_PER_POINT} B x {counts.points_flat:,} flat input points"
    if strategy == "tiled" and partition_um:
        from ..engine.cost import tiles
        count = tiles(counts, partition_um)
        return (f"{human_bytes(coefficients['setup'])} + {FLAT_BYTES_PER_POINT} B x {counts.points_flat // count:,}"
                f" points in one {partition_um:g} um tile x {min(threads, count)} busy worker(s)"
                f" + {coefficients['point']:.3g} B x {counts.points_flat:,} points (the collected result)")
    return (f"{human_bytes(coefficients['setup'])} + {coefficients['point']:.3g} B x"
            f" {counts.points_flat if counts.inverts else counts.points_stored:,} stored points"
            f" + {coefficients['instance']:.3g} B x {counts.instances:,} instances"
            f" + {human_bytes(coefficients['cell'])} x {counts.cells:,} cells")


def suggest_partition(stats: LayoutStats, threads: int = 0) -> float:
    """The largest partition (µm) tiled should use here: about POINTS_PER_TILE flat points per tile and
    two tiles per thread (engine/cost.py ``largest_partition``; the decision picks the fastest size up to it)."""
    return largest_partition(Counts.of(stats), max(1, threads))


def suggest_strategy(stats: LayoutStats, threads: int = 0,
                     memory_budget: int | None = None) -> StrategySuggestion:
    """flat, tiled or deep for an evaluation over the layers and depth ``stats`` was counted with.

    The decision is the engine's cost model (engine/cost.py), the same one ``auto`` takes, so the
    report and ``auto`` agree on the same layers.  ``memory_budget`` defaults to half the available memory.
    """
    from ..engine.cost import available_cores, decide
    threads = threads or available_cores()
    if stats.points_flat == 0:
        return StrategySuggestion("flat", None, threads, "nothing to evaluate: no shapes on the input layers",
                                  estimate_memory(stats, suggest_partition(stats, threads), threads))
    decision = decide(stats, threads, None, memory_budget)
    return StrategySuggestion(decision.strategy, decision.partition_um, decision.threads, decision.reason,
                              estimate_memory(stats, decision.predictions["tiled"].partition_um, threads))


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
           "suggest_partition", "advise", "human_bytes", "FLAT_BYTES_PER_POINT", "NICE_PARTITIONS"]
