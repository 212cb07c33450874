#!/usr/bin/env python3
"""Plot the scale ladder and print its growth exponents, from one or more ``ladder.json`` files.

    python3 bench/ladder_plot.py bench/results/ladder/ladder.json -o doc/images/ladder.png

The plot (log-log): wall time, CPU time and peak RSS against flat shapes on the layers the expression reads,
one line per engine, one column per family (today's files as single points in the last column).
The exponents: least-squares slope of log(wall), log(CPU) and log(peak RSS) against log(flat
shapes), per engine and family; for deep on arrays also against stored shapes.  A later file's
run of an engine on a case replaces an earlier one (a case re-run on its own).  Needs matplotlib
(``pip install layertools[bench]``); the exponents alone (``--no-plot``) do not.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Dict, List, Optional, Tuple

from ladder_report import ENGINES, differs, figures, load

FAMILIES = ("array", "flattened", "fill")
STYLE = {  # engine -> (colour, marker, line style)
    "lt-flat": ("tab:blue", "o", "-"), "lt-tiled": ("tab:orange", "s", "-"), "lt-deep": ("tab:green", "^", "-"),
    "lt-auto": ("black", "*", "-"), "lt-auto-t1": ("gray", "*", ":"), "lt-auto-ro": ("tab:olive", "P", "-"),
    "lt-auto-gds": ("dimgray", "x", "--"),
    "drc-flat": ("tab:blue", "o", "--"), "drc-deep": ("tab:green", "^", "--"), "drc-tiled": ("tab:orange", "s", "--"),
    "xic": ("tab:red", "D", "-."),
}


def series(cases: Dict[str, Dict], family: str, engine: str, x_key: str = "flat_shapes") -> List[Tuple[float, Dict]]:
    points = []
    for case in cases.values():
        if case["family"] == family:
            entry = case["engines"].get(engine)
            found = None if differs(entry) else figures(entry)
            if found:
                points.append((case[x_key], found))
    return sorted(points, key=lambda point: point[0])


def slope(points: List[Tuple[float, float]]) -> Optional[float]:
    """Least-squares slope of log y against log x (None with fewer than two distinct x)."""
    points = [(math.log(x), math.log(y)) for x, y in points if x > 0 and y > 0]
    if len({x for x, _ in points}) < 2:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    return (sum((x - mean_x) * (y - mean_y) for x, y in points)
            / sum((x - mean_x) ** 2 for x, _ in points))


def exponents(cases: Dict[str, Dict], engines: List[str]) -> List[List[str]]:
    """Rows: family, engine, against, sizes, exponents of wall / CPU / peak RSS (all sizes; top two)."""
    rows = []
    for family in FAMILIES:
        for engine in engines:
            for x_key in ("flat_shapes", "stored_shapes"):
                hierarchical = family == "array" and engine in ("lt-deep", "drc-deep", "lt-auto")
                if x_key == "stored_shapes" and not hierarchical:
                    continue
                points = series(cases, family, engine, x_key)
                if len(points) < 2:
                    continue
                if len({x for x, _ in points}) < 2:   # e.g. stored shapes of an array: the same at every k
                    rows.append([family, engine, x_key.replace("_", " "), f"{points[0][0]:.3g} at every size",
                                 "—", "—", "—"])
                    continue
                cells = []
                for metric in ("wall_s", "cpu_s", "rss"):
                    every = slope([(x, found[metric]) for x, found in points])
                    top = slope([(x, found[metric]) for x, found in points[-2:]])
                    cells.append("—" if every is None else f"{every:.2f} ({top:.2f})")
                span = f"{points[0][0]:.3g}–{points[-1][0]:.3g} ({len(points)})"
                rows.append([family, engine, x_key.replace("_", " "), span, *cells])
    return rows


def plot(cases: Dict[str, Dict], engines: List[str], out: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    today = [case for case in cases.values() if case["family"] == "today"]
    columns = list(FAMILIES) + (["today"] if today else [])
    fig, axes = plt.subplots(3, len(columns), figsize=(4.2 * len(columns), 10.5), squeeze=False)
    for column, family in enumerate(columns):
        time_ax, cpu_ax, memory_ax = axes[0][column], axes[1][column], axes[2][column]
        for engine in engines:
            colour, marker, line = STYLE.get(engine, ("tab:purple", "x", "-"))
            if family == "today":
                points = [(case["flat_shapes"], None if differs(case["engines"].get(engine))
                           else figures(case["engines"].get(engine))) for case in today]
                points = sorted((x, found) for x, found in points if found)
                line = "none"
            else:
                points = series(cases, family, engine)
            if not points:
                continue
            xs = [x for x, _ in points]
            label = ENGINES.get(engine, engine)
            time_ax.plot(xs, [found["wall_s"] for _, found in points], color=colour, marker=marker,
                         linestyle=line, label=label)
            cpu_ax.plot(xs, [found["cpu_s"] for _, found in points], color=colour, marker=marker,
                        linestyle=line, label=label)
            memory_ax.plot(xs, [found["rss"] / 1e6 for _, found in points], color=colour, marker=marker,
                           linestyle=line, label=label)
        if family == "today":   # the x positions name the cases
            names = ", ".join(case["case"] for case in sorted(today, key=lambda case: case["flat_shapes"]))
            time_ax.set_title(f"today's cases, left to right:\n{names}", fontsize=10)
        else:
            time_ax.set_title(family)
        for ax, label in ((time_ax, "wall time, s"), (cpu_ax, "CPU time (user+sys), s"),
                          (memory_ax, "peak RSS, MB")):
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.grid(True, which="both", alpha=0.3)
            ax.set_xlabel("flat shapes on the layers read")
            ax.set_ylabel(label)
    handles, labels = axes[0][0].get_legend_handles_labels()
    for ax in axes[0][1:]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8)
    fig.suptitle("layertools scale ladder: whole process per run (timed-out runs are missing points)")
    fig.tight_layout(rect=(0, 0.06, 1, 0.96))
    fig.savefig(out, dpi=90)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="+", help="ladder.json files (later ones win per case)")
    parser.add_argument("-o", "--out", default="doc/images/ladder.png")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    cases = load(args.results)
    engines = [engine for engine in STYLE if any(engine in case["engines"] for case in cases.values())]
    if not args.no_plot:
        plot(cases, engines, args.out)
    print("| family | engine | against | flat shapes (sizes) | wall | CPU | peak RSS |")
    print("|---|---|---|---|---:|---:|---:|")
    for row in exponents(cases, engines):
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
