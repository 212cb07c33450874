"""One cost model: predicted wall time and peak memory of flat, tiled and deep for one evaluation.

Both deciders use it and nothing else: the engine's ``auto`` (engine/auto.py) and the Memory
report's suggestion (memstat/advice.py), so the two cannot disagree.  The inputs are cheap counts
taken before evaluating (``layertools.hierarchy_stats``): flat and stored outline points on the layers read,
the layout's area, the threads, whether the expression inverts (a box over the whole cell defeats
hierarchical reuse), its halo, and the memory budget.

Time model (seconds; P = outline points on the layers read, n = tiles, w = busy workers):

    flat  = FLAT_S_PER_POINT  * P_flat                                     (x INVERSION_FACTOR)
    tiled = TILED_S_PER_POINT * P_flat * (1 + halo share) / w + TILE_S * n  (x INVERSION_FACTOR)
    deep  = DEEP_SETUP_S + DEEP_S_PER_POINT * P_deep                       (x DEEP_INVERSION_FACTOR)

P_deep is the stored points, or the flat points when the expression inverts; the factors apply
to inverting expressions only.  The coefficients
were fitted by ``bench/fit_cost.py`` to the runs recorded in ``bench/cost_calibration.json``
(``bench/calibrate_cost.py`` measures them: run both on your machine to recalibrate).  Memory is
the linear point model of ``memstat.advice.estimate_memory`` (doc/memory.md), which owns those
constants.  ``decide`` takes the fastest predicted strategy whose typical peak fits the budget,
else the one with the smallest peak.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

#: Fitted by bench/fit_cost.py on bench/cost_calibration.json (KLayout 0.30.12, 2 cores shared,
#: load average ~3.5 while measuring: two threads gained less than on a quiet machine).
FLAT_S_PER_POINT = 1.17e-6
TILED_S_PER_POINT = 1.65e-6
TILE_S = 2.0e-4
DEEP_SETUP_S = 0.0586
DEEP_S_PER_POINT = 1.2e-6
#: An inverting expression (a box over the whole cell) makes a large, complex result; measured on
#: the SRAM inversions !(30/0 | 50/0) (8192x32 and 1024x8): flat and tiled take ~3x, deep ~1.5x the
#: time of a non-inverting expression over the same points.
INVERSION_FACTOR = 3.0
DEEP_INVERSION_FACTOR = 1.5
#: Below this many flat points every strategy takes well under 0.1 s: stay flat (no set-up).
#: Not higher: at 164 k points tiled was measured faster than flat (flattened_1: 0.15 s, 0.23 s).
SMALL_POINTS = 20_000
STRATEGIES = ("flat", "tiled", "deep")


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
    estimates: dict = field(default_factory=dict)     # memstat MemoryEstimate per strategy

    def ranking(self) -> list[str]:
        """The chosen strategy, then the others that fit the budget, fastest first; then those that do not."""
        rest = sorted((p for p in self.predictions.values() if p.strategy != self.strategy),
                      key=lambda p: (not p.fits, p.wall_s))
        return [self.strategy] + [p.strategy for p in rest]


def expansion(stats) -> float:
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


def predict(stats, threads: int, partition_um: float | None, inverts: bool = False, halo_um: float = 0.0,
            deep_allowed: bool = True, hierarchy_bytes: int = 0) -> tuple[dict[str, Prediction], dict]:
    """Predictions per strategy for an evaluation over the layers ``stats`` was counted on."""
    from ..memstat.advice import estimate_memory
    points_flat, area = stats.points_flat, stats.area_um2
    points_deep = points_flat if inverts else stats.points_stored
    estimates = estimate_memory(stats, partition_um, threads, hierarchy_bytes)
    tiles = max(1, math.ceil(area / (partition_um * partition_um))) if area > 0 and partition_um else 1
    workers = max(1, min(threads, tiles))
    side = math.sqrt(area / tiles) if area > 0 else 0.0
    halo_share = min(1.0, 4 * halo_um / side) if side > 0 else 0.0
    inversion, deep_inversion = (INVERSION_FACTOR, DEEP_INVERSION_FACTOR) if inverts else (1.0, 1.0)
    times = {
        "flat": inversion * FLAT_S_PER_POINT * points_flat,
        "tiled": inversion * TILED_S_PER_POINT * points_flat * (1 + halo_share) / workers + TILE_S * tiles,
        "deep": DEEP_SETUP_S + deep_inversion * DEEP_S_PER_POINT * points_deep,
    }
    predictions = {name: Prediction(name, times[name], estimates[name].typical_bytes,
                                    partition_um if name == "tiled" else None, threads if name != "flat" else 1)
                   for name in STRATEGIES if name in estimates and (name != "deep" or deep_allowed)}
    return predictions, estimates


def decide(stats, threads: int = 0, partition_um: float | None = None, memory_budget: int | None = None,
           inverts: bool = False, halo_um: float = 0.0, deep_allowed: bool = True,
           hierarchy_bytes: int = 0) -> Decision:
    """The strategy with the fastest predicted wall time whose predicted peak fits ``memory_budget``.

    ``threads`` 0 means every core; ``partition_um`` None lets the model size the tiles;
    ``memory_budget`` defaults to half the memory available now.
    """
    from ..memstat.advice import suggest_partition
    threads = threads or available_cores()
    if memory_budget is None:
        memory_budget = available_memory() // 2
    partition = partition_um or suggest_partition(stats, threads)
    predictions, estimates = predict(stats, threads, partition, inverts, halo_um, deep_allowed, hierarchy_bytes)
    for prediction in predictions.values():
        prediction.fits = prediction.peak_bytes <= memory_budget
    figures = (f"{stats.points_stored:,} stored / {stats.points_flat:,} flat points on the layers read"
               f" (x{expansion(stats):.1f})")
    if stats.points_flat <= SMALL_POINTS and not inverts:
        chosen = predictions["flat"]
        why = "small workload"
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
    return Decision(chosen.strategy, chosen.partition_um, chosen.threads, reason, predictions, estimates)


def _human(value: int) -> str:
    from ..memstat.advice import human_bytes
    return human_bytes(value)
