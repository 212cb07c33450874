"""One cost model: predicted time and peak memory of flat, tiled and deep for one evaluation.

Both deciders use it and nothing else: the engine's ``auto`` (engine/auto.py) and the Memory
report's suggestion (memstat/advice.py), so the two cannot disagree.  The inputs are cheap counts
taken before evaluating (``Counts``: outline points on the layers read, flat and stored, how often
the expression reads them, cells and stored instances, the width and height, inversion, halo) and
the threads.

Each strategy's CPU time and peak memory (above the loaded layout) are sums of terms, each a count
times a coefficient (``time_terms``, ``peak_terms``; W = points read, i.e. points x references,
x INVERSION_FACTOR when the expression inverts):

    flat   time: setup + point x W                  peak: point x P_flat
    tiled  time: setup + point x W x (1 + halo share) + tile x tiles
                 + tile_point x W x sqrt(points per tile / TILE_POINTS_SCALE)
           peak: setup + tile_point x (points in one tile x busy workers) + point x P_flat (the result)
    deep   time: setup + point x W_stored + instance x instances + cell x cells
           peak: setup + point x P_stored + instance x instances + cell x cells

W_stored: stored points (the flat ones when inverting: a box over the whole cell defeats reuse).
The wall time is the CPU time over the busy workers (tiled: ``workers``; flat and deep: one).
``decide`` takes the fastest predicted strategy whose peak fits the memory budget, else the one
with the smallest peak; for tiled it first picks the partition (``best_partition``): the nice
size with the least predicted time, from the smallest within MEMORY_TILES tiles (never beyond the
engine's limits.MAX_TILES) to ``largest_partition``.  A partition the caller gives is kept.

The coefficients (TIME, PEAK) are fitted by ``bench/fit_cost.py`` to the runs that
``bench/calibrate_cost.py`` records in ``bench/cost_calibration.json``: run both to recalibrate.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..limits import MAX_TILES

if TYPE_CHECKING:
    from ..compat import db
    from ..hierarchy_stats import LayoutStats
    from .binding import BoundExpression

#: Fitted by bench/fit_cost.py on bench/cost_calibration.json (KLayout 0.30.12, the shared 2-core
#: machine; doc/performance.md has the fit): CPU seconds per unit of each term.
TIME: dict[str, dict[str, float]] = {"flat": {"setup": 0.0, "point": 8e-07},
        "tiled": {"setup": 0.00494, "point": 6.79e-07, "tile": 7.54e-05, "tile_point": 3.52e-08},
        "deep": {"setup": 0.0, "point": 8.94e-07, "instance": 3.92e-05, "cell": 0.0}}
#: Fitted the same way: peak bytes above the loaded layout per unit of each term.  A tile is a
#: small flat evaluation: its working set per point is flat's (held, not fitted).
FLAT_BYTES_PER_POINT = 86
PEAK: dict[str, dict[str, float]] = {"flat": {"point": FLAT_BYTES_PER_POINT},
        "tiled": {"setup": 3740000.0, "tile_point": FLAT_BYTES_PER_POINT, "point": 3.97},
        "deep": {"setup": 3210000.0, "point": 96.2, "instance": 0.0, "cell": 37500.0}}
#: Tiled's cost per point grows with the points in a tile, as the square root: a scan line over a
#: tile of n uniformly spread points crosses ~sqrt(n) edges.  Fitted to the tiled sweeps, this found
#: the measured fastest partition in 13 of 17 cases (log2(1 + n/100 k) 13, linear 10, none 7).
TILE_POINTS_SCALE = 100_000
#: An inverting expression (a box over the whole cell) makes a large, complex result; measured on
#: the SRAM inversions !(30/0 | 50/0) (8192x32 and 1024x8): flat and tiled take ~3x, deep ~1.5x the
#: time of a non-inverting expression over the same points.  Held, not fitted (one case).
INVERSION_FACTOR = 3.0
DEEP_INVERSION_FACTOR = 1.5
#: A run predicted to take less than this flat stays flat: the strategies then differ by less than
#: the machine's noise, and flat needs no set-up and cuts no result at tile borders.
SMALL_SECONDS = 0.1
STRATEGIES = ("flat", "tiled", "deep")
#: Partitions the model chooses from (µm): round sizes a user recognises and can type back.
NICE_PARTITIONS = (10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0, 5000.0, 10000.0, 20000.0, 50000.0)
#: Partitions predicted within this factor of the fastest are a tie, which the largest wins: every
#: tile border cuts shapes (more output, more work after the tiles) and the model does not count
#: that.  Measured on the 8192x32 SRAM inversion (quiet, 2 threads): predicted 4.64 / 4.66 / 4.75 s
#: at 20 / 50 / 100 µm, measured 3.50 / 2.81 / 2.78 s.
PARTITION_TIE = 1.05
#: Most tiles the model chooses: measured peaks with ~50,000 tiles of 20 µm were up to 7x the model
#: (vexriscv, 320 MB), and every tile cuts shapes at its border.  The hard limit is limits.MAX_TILES.
MEMORY_TILES = 10_000
#: Most flat input points per tile (~21 MB working set per worker at FLAT_BYTES_PER_POINT).
POINTS_PER_TILE = 250_000


@dataclass
class Counts:
    """What the model reads, counted before evaluating (``layertools.hierarchy_stats``, the bound expression)."""

    points_flat: int           # outline points on the layers read, every placement counted
    points_stored: int         # the same, each stored shape once
    width_um: float            # the evaluated cell's bounding box
    height_um: float
    cells: int                 # cells in the scope
    instances: int             # stored instance objects (an array counts once)
    placements: int            # stored cell placements (an array counts every member)
    placements_flat: int       # cell placements in the flat view
    reads: float = 1.0         # layer references per layer read, weighted by flat shapes (A & A: 2)
    inverts: bool = False
    halo_um: float = 0.0

    @property
    def area_um2(self) -> float:
        return self.width_um * self.height_um

    @classmethod
    def of(cls, stats: "LayoutStats | Counts", reads: float = 1.0, inverts: bool = False,
           halo_um: float = 0.0) -> "Counts":
        """Counts from a LayoutStats (or Counts), with what the expression adds."""
        if isinstance(stats, Counts):
            return cls(**{**stats.as_dict(), "inverts": stats.inverts or inverts,
                          "halo_um": max(stats.halo_um, halo_um)})
        left, bottom, right, top = stats.bbox or (0.0, 0.0, 0.0, 0.0)
        return cls(stats.points_flat, stats.points_stored, right - left, top - bottom, stats.cells,
                   stats.instances, stats.placements, stats.single_instances_flat + stats.array_members_flat,
                   reads, inverts, halo_um)

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def count(layout: "db.Layout", cell: "db.Cell", bound: BoundExpression, depth: int | None = None) -> Counts:
    """The counts of evaluating ``bound`` (a BoundExpression) in ``cell``."""
    from ..hierarchy_stats import layout_statistics
    from ..language.ast import walk
    stats = layout_statistics(layout, cell, layers=sorted(bound.layer_indexes), depth=depth)
    flat = {entry.index: entry.flat for entry in stats.layers}
    referenced = sum(flat.get(bound.layer_of[id(node)], 0) for node in walk(bound.tree) if id(node) in bound.layer_of)
    reads = referenced / sum(flat.values()) if sum(flat.values()) else 1.0
    return Counts.of(stats, max(1.0, reads), bound.inverts(), bound.halo_um)


def tiles(counts: Counts, partition_um: float) -> int:
    return max(1, math.ceil(counts.width_um / partition_um)) * max(1, math.ceil(counts.height_um / partition_um))


def within_tile_limit(counts: Counts, partition_um: float, limit: int = MAX_TILES) -> bool:
    """The engine's own test (engine/tiled.py plan_tiles), with the halo added to the area."""
    width, height = counts.width_um + 2 * counts.halo_um, counts.height_um + 2 * counts.halo_um
    return (width / partition_um + 1) * (height / partition_um + 1) <= limit


def workers(counts: Counts, strategy: str, threads: int, partition_um: float | None) -> float:
    """Busy workers on average: tiles are dealt to the threads, the last round may leave some idle."""
    if strategy != "tiled" or not partition_um:
        return 1.0
    count_ = tiles(counts, partition_um)
    threads = max(1, threads)
    return count_ / math.ceil(count_ / threads) if count_ >= threads else float(count_)


def time_terms(counts: Counts, strategy: str, threads: int, partition_um: float | None) -> dict[str, float]:
    """The counts each TIME coefficient multiplies."""
    inversion = INVERSION_FACTOR if counts.inverts else 1.0
    work = counts.points_flat * counts.reads * inversion
    if strategy == "flat":
        return {"setup": 1.0, "point": work}
    if strategy == "tiled":
        n = tiles(counts, partition_um or max(counts.width_um, counts.height_um, 1.0))
        side = partition_um or max(counts.width_um, counts.height_um, 1.0)
        halo_share = min(3.0, (1 + 2 * counts.halo_um / side) ** 2 - 1)
        per_tile = max(1.0, work / n)
        return {"setup": 1.0, "point": work * (1 + halo_share), "tile": float(n),
                "tile_point": work * math.sqrt(per_tile / TILE_POINTS_SCALE)}
    stored = counts.points_flat if counts.inverts else counts.points_stored
    deep_inversion = DEEP_INVERSION_FACTOR if counts.inverts else 1.0
    return {"setup": 1.0, "point": stored * counts.reads * deep_inversion, "instance": float(counts.instances),
            "cell": float(counts.cells)}


def peak_terms(counts: Counts, strategy: str, threads: int, partition_um: float | None) -> dict[str, float]:
    """The counts each PEAK coefficient multiplies."""
    if strategy == "flat":
        return {"point": float(counts.points_flat)}
    if strategy == "tiled":
        n = tiles(counts, partition_um or max(counts.width_um, counts.height_um, 1.0))
        busy = min(max(1, threads), n)
        return {"setup": 1.0, "tile_point": counts.points_flat / n * busy, "point": float(counts.points_flat)}
    stored = counts.points_flat if counts.inverts else counts.points_stored
    return {"setup": 1.0, "point": float(stored), "instance": float(counts.instances), "cell": float(counts.cells)}


def cpu_seconds(counts: Counts, strategy: str, threads: int, partition_um: float | None) -> float:
    terms = time_terms(counts, strategy, threads, partition_um)
    return sum(TIME[strategy][name] * value for name, value in terms.items())


def wall_seconds(counts: Counts, strategy: str, threads: int, partition_um: float | None) -> float:
    return cpu_seconds(counts, strategy, threads, partition_um) / workers(counts, strategy, threads, partition_um)


def peak_bytes(counts: Counts, strategy: str, threads: int, partition_um: float | None) -> int:
    terms = peak_terms(counts, strategy, threads, partition_um)
    return int(sum(PEAK[strategy][name] * value for name, value in terms.items()))


def largest_partition(counts: Counts, threads: int) -> float:
    """The largest nice partition tiled should use: at most POINTS_PER_TILE flat points per tile (a
    bounded working set per worker is what tiling is for) and two tiles per thread (KLayout #1517),
    never finer than MEMORY_TILES tiles allow."""
    area = counts.area_um2
    if area <= 0 or counts.points_flat <= 0:
        return 100.0
    side = math.sqrt(POINTS_PER_TILE * area / counts.points_flat)
    if threads > 1:
        side = min(side, math.sqrt(area / (2 * threads)))
    choice = max((size for size in NICE_PARTITIONS if size <= side), default=NICE_PARTITIONS[0])
    return max(choice, smallest_partition(counts))


def smallest_partition(counts: Counts) -> float:
    """The smallest nice partition within MEMORY_TILES tiles (or, on a die too large for that, within
    the engine's limits.MAX_TILES)."""
    for limit in (MEMORY_TILES, MAX_TILES):
        size = next((size for size in NICE_PARTITIONS if within_tile_limit(counts, size, limit)), None)
        if size is not None:
            return size
    return NICE_PARTITIONS[-1]


def best_partition(counts: Counts, threads: int, memory_budget: int | None = None) -> float:
    """The nice partition with the least predicted tiled wall time (the largest within PARTITION_TIE
    of it), from the smallest the tile limits allow to ``largest_partition``; within
    ``memory_budget`` when any size is.

    Per-tile overhead favours large tiles; idle threads and the n log n of a large tile's boolean
    favour small ones.  A 200 mm die never gets more than MEMORY_TILES tiles.
    """
    low, high = smallest_partition(counts), largest_partition(counts, threads)
    sizes = [size for size in NICE_PARTITIONS if low <= size <= high] or [low]
    fitting = [size for size in sizes if memory_budget is None
               or peak_bytes(counts, "tiled", threads, size) <= memory_budget] or sizes[:1]
    walls = {size: wall_seconds(counts, "tiled", threads, size) for size in fitting}
    fastest = min(walls.values())
    return max(size for size, wall in walls.items() if wall <= PARTITION_TIE * fastest)


@dataclass
class Prediction:
    strategy: str
    wall_s: float
    peak_bytes: int              # typical peak above the loaded layout
    partition_um: float | None
    threads: int
    fits: bool = True

    def text(self) -> str:
        from ..memstat.advice import human_bytes
        tile = f" {self.partition_um:g} µm" if self.partition_um else ""
        over = "" if self.fits else ", over budget"
        return f"{self.strategy}{tile} ~{self.wall_s:.3g} s / {human_bytes(self.peak_bytes)}{over}"


@dataclass
class Decision:
    strategy: str
    partition_um: float | None
    threads: int
    reason: str
    predictions: dict[str, Prediction] = field(default_factory=dict)

    def ranking(self) -> list[str]:
        """The chosen strategy, then the others that fit the budget, fastest first; then those that do not."""
        rest = sorted((p for p in self.predictions.values() if p.strategy != self.strategy),
                      key=lambda p: (not p.fits, p.wall_s))
        return [self.strategy] + [p.strategy for p in rest]


def expansion(stats: "LayoutStats | Counts") -> float:
    """Flat outline points per stored one: the one expansion ratio the decision and the report print."""
    return stats.points_flat / stats.points_stored if stats.points_stored else 1.0


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def available_memory() -> int:
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 4 * 1024 ** 3


def predict(stats: "LayoutStats | Counts", threads: int, partition_um: float | None, inverts: bool = False,
            halo_um: float = 0.0, deep_allowed: bool = True,
            memory_budget: int | None = None) -> dict[str, Prediction]:
    """Predictions per strategy; ``partition_um`` None lets the model size the tiles (``best_partition``)."""
    counts = Counts.of(stats, inverts=inverts, halo_um=halo_um)
    partition = partition_um or best_partition(counts, threads, memory_budget)
    predictions = {}
    for name in STRATEGIES:
        if name == "deep" and not deep_allowed:
            continue
        tile = partition if name == "tiled" else None
        predictions[name] = Prediction(name, wall_seconds(counts, name, threads, tile),
                                       peak_bytes(counts, name, threads, tile), tile,
                                       threads if name != "flat" else 1)
    return predictions


def decide(stats: "LayoutStats | Counts", threads: int = 0, partition_um: float | None = None,
           memory_budget: int | None = None, inverts: bool = False, halo_um: float = 0.0,
           deep_allowed: bool = True) -> Decision:
    """The strategy with the fastest predicted wall time whose predicted peak fits ``memory_budget``.

    ``stats``: Counts, or a LayoutStats of the layers read; ``threads`` 0 means every core;
    ``partition_um`` None lets the model size the tiles (the user's partition wins);
    ``memory_budget`` defaults to half the memory available now.
    """
    threads = threads or available_cores()
    if memory_budget is None:
        memory_budget = available_memory() // 2
    counts = Counts.of(stats, inverts=inverts, halo_um=halo_um)
    predictions = predict(counts, threads, partition_um, deep_allowed=deep_allowed, memory_budget=memory_budget)
    for prediction in predictions.values():
        prediction.fits = prediction.peak_bytes <= memory_budget
    figures = (f"{counts.points_stored:,} stored / {counts.points_flat:,} flat points on the layers read"
               f" (x{expansion(counts):.1f})")
    if predictions["flat"].wall_s < SMALL_SECONDS and predictions["flat"].fits:
        chosen = predictions["flat"]
        why = f"small workload (flat predicted under {SMALL_SECONDS:g} s)"
    else:
        fitting = [p for p in predictions.values() if p.fits]
        if fitting:
            chosen = min(fitting, key=lambda p: p.wall_s)
            why = "fastest predicted within the memory budget"
        else:
            chosen = min(predictions.values(), key=lambda p: p.peak_bytes)
            why = "nothing fits the memory budget: the smallest predicted peak"
    listing = "; ".join(predictions[name].text() for name in STRATEGIES if name in predictions)
    threads_text = f" x {chosen.threads} threads" if chosen.strategy != "flat" else ""
    tile = f" {chosen.partition_um:g} µm" if chosen.partition_um else ""
    reason = (f"{chosen.strategy}{tile}{threads_text}: {why}, {figures}; predicted {listing};"
              f" budget {_human(memory_budget)}")
    return Decision(chosen.strategy, chosen.partition_um, chosen.threads, reason, predictions)


def _human(value: int) -> str:
    from ..memstat.advice import human_bytes
    return human_bytes(value)
