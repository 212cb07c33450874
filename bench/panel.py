#!/usr/bin/env python3
"""What the Layer Expression panel adds to the engine, measured in the real application.

Starts KLayout (Debian's 0.28.5 GUI) under Xvfb on a layout, and in that one process alternates
the engine called directly (``layertools.evaluate``: no progress, no undo step) with the panel's
Evaluate (KLayout's progress bar with Cancel, one undo step unless in Fast mode, a layer-panel
entry) for each configuration.  Prints a Markdown table and writes it with the raw numbers to
``bench/results/panel-<time>/``.

    python3 bench/panel.py                     # tt06, boolean mix: tiled 2 threads (with undo and in
                                               # Fast mode), tiled 0 threads, deep
    python3 bench/panel.py --repeat 5 --configs tiled:100:2
    python3 bench/panel.py --file tt_um_obriensp_be8.gds.gz --repeat 1    # a quick check
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import shlex
import statistics
import sys

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
sys.path.insert(0, os.path.join(REPO, "tests", "gui"))
sys.path.insert(0, BENCH_DIR)

from machine import machine_info  # noqa: E402

DEFAULT_DATA = os.environ.get("LAYERTOOLS_DATA", os.path.join(os.path.dirname(REPO), "shared", "data"))
MIX = "(68/20 & 69/20) | (68/44 - 68/20)"


def parse_config(text: str) -> dict:
    """``tiled:100:2`` (strategy, partition µm, threads), ``deep``, ``flat``, ``deep::2``; a last
    ``:fast`` evaluates in the panel's Fast mode (no undo step)."""
    parts = text.split(":")
    fast = parts[-1] == "fast"
    parts = (parts[:-1] if fast else parts) + ["", ""]
    config = {"strategy": parts[0], "threads": int(parts[2] or 0), "fast": fast}
    if parts[1]:
        config["partition"] = float(parts[1])
    return config


def label(config: dict) -> str:
    fast = ", Fast mode" if config.get("fast") else ""
    if config["strategy"] == "tiled":
        return f"tiled {config.get('partition', 0):g} µm, {config['threads']} thr{fast}"
    return config["strategy"] + (f", {config['threads']} thr" if config["threads"] else "") + fast


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default="tt06_tiles_assembly.gds.gz", help="a layout in --data")
    parser.add_argument("--expression", default=MIX)
    parser.add_argument("--configs", default="tiled:100:2,tiled:100:2:fast,tiled:100:0,deep",
                        help="comma-separated strategy[:partition[:threads]] (default: %(default)s)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (the median is reported)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds for the whole session")
    parser.add_argument("--data", default=DEFAULT_DATA)
    parser.add_argument("--results", help="results directory (default bench/results/panel-<UTC time>)")
    args = parser.parse_args(argv)

    from harness import klayout_missing, run_klayout
    missing = klayout_missing()
    if missing:
        print(f"panel benchmark: {missing}", file=sys.stderr)
        return 2
    layout = os.path.join(args.data, args.file)
    configs = [parse_config(c) for c in args.configs.split(",") if c]
    machine = machine_info(sys.executable, "klayout", REPO)
    run = run_klayout(os.path.join(BENCH_DIR, "panel_script.py"), layout=layout, timeout=args.timeout,
                      name="bench-panel", params={"expression": args.expression, "to": "1000/0",
                                                  "configs": configs, "repeat": args.repeat})
    run.check()
    runs = run.result["runs"]
    started = _dt.datetime.now(_dt.timezone.utc)
    out_dir = args.results or os.path.join(BENCH_DIR, "results", "panel-" + started.strftime("%Y%m%d-%H%M%S"))
    os.makedirs(out_dir, exist_ok=True)
    lines = [f"# The panel against the engine ({started:%Y-%m-%d %H:%M} UTC)", "",
             f"- Command: `python3 bench/panel.py {shlex.join(argv if argv is not None else sys.argv[1:])}`",
             f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']} GiB RAM; "
             f"load average {'/'.join(f'{v:.2f}' for v in machine['load_at_start'])} at the start",
             f"- layertools {machine['layertools_commit']}"
             f"{' (uncommitted changes)' if machine['layertools_dirty'] else ''}",
             f"- KLayout application {run.result['klayout']} under Xvfb, layout `{args.file}` (top cell "
             f"`{run.result['cell']}`), expression `{args.expression}`; median of {args.repeat} run(s) each, "
             f"engine and panel alternating in one process",
             "- *engine*: `layertools.evaluate` called directly (no progress, no undo step); *panel*: the "
             "Layer Expression panel's Evaluate (KLayout's progress bar with Cancel, one undo step unless "
             "in Fast mode, layer-panel entry), timed around the button's handler. The undo step keeps a "
             "copy of every shape written (that is what Redo replays): its cost grows with the result", "",
             "| configuration | engine s | panel s | panel adds | engine's clock in the panel s "
             "| panel's own handling s | shapes written |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for config in configs:
        mine = [r for r in runs if r["config"] == config]
        if not mine:
            continue
        engine = statistics.median(r["engine_s"] for r in mine)
        panel = statistics.median(r["panel_s"] for r in mine)
        inside = statistics.median(r["panel_seconds"] for r in mine)
        handling = statistics.median(r["panel_s"] - r["panel_seconds"] for r in mine)
        shapes = {r["panel_shapes"] for r in mine} | {r["engine_shapes"] for r in mine}
        lines.append(f"| {label(config)} | {engine:.2f} | {panel:.2f} | {panel / engine - 1:+.1%} | "
                     f"{inside:.2f} | {handling:.2f} | {', '.join(f'{s:,}' for s in sorted(shapes))} |")
    lines.append("")
    tiled = {c["threads"]: c for c in configs if c["strategy"] == "tiled" and not c["fast"]}
    if 0 in tiled and 2 in tiled and tiled[0].get("partition") == tiled[2].get("partition"):
        zero = statistics.median(r["panel_s"] for r in runs if r["config"] == tiled[0])
        two = statistics.median(r["panel_s"] for r in runs if r["config"] == tiled[2])
        lines += [f"Thread scaling through the panel (tiled, threads=2 against threads=0): {zero / two:.2f}x", ""]
    report = "\n".join(lines)
    with open(os.path.join(out_dir, "report.md"), "w") as handle:
        handle.write(report)
    with open(os.path.join(out_dir, "results.json"), "w") as handle:
        json.dump({"machine": machine, "file": args.file, "expression": args.expression,
                   "klayout": run.result["klayout"], "runs": runs}, handle, indent=1)
    print(report)
    print(f"(written to {out_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
