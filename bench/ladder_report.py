"""The ladder's markdown report from ``ladder.json``: one table of every run, then the issue's targets.

    python3 bench/ladder_report.py bench/results/ladder/ladder.json      # prints the report
    python3 bench/ladder_report.py --summary A.json B.json               # one row per case (doc table)

Several files merge engine by engine (a later file's run of an engine on a case replaces an
earlier one, unless it failed where the earlier one finished).
"""

from __future__ import annotations

import json
import statistics
import sys
from typing import Dict, List, Optional

#: engine id -> what the report calls it.  lt = layertools eval (PyPI klayout), drc = KLayout's DRC
#: engine in the application (0.28.5), xic = Xic 4.3.14 (single-threaded).
ENGINES = {
    "lt-flat": "layertools flat",
    "lt-tiled": "layertools tiled 100 µm, 2 thr",
    "lt-deep": "layertools deep, 2 thr",
    "lt-auto": "layertools auto, 2 thr",
    "lt-auto-t1": "layertools auto, 1 thr",
    "drc-flat": "DRC flat",
    "drc-deep": "DRC deep",
    "drc-tiled": "DRC tiled 100 µm, 2 thr",
    "xic": "Xic, 1 thr",
    "lt-auto-ro": "layertools auto, 2 thr, --result-only",
    "lt-auto-gds": "layertools auto, 2 thr, GDS out (as Xic)",
}
#: The issue's headline cases: auto (and --result-only) against DRC deep in the same run, aim ≤ 0.4x
HEADLINE = ("tt06", "rm8192")
LT_FIXED = ("lt-flat", "lt-tiled", "lt-deep")
DRC = ("drc-flat", "drc-deep", "drc-tiled")


def load(paths: List[str]) -> Dict[str, Dict]:
    """case name -> case record, merged over ``paths``: a later file's engine replaces the same
    engine of the same case (each keeps the XOR verdict of its own run), unless the later one
    failed where the earlier one finished."""
    cases: Dict[str, Dict] = {}
    for path in paths:
        with open(path) as handle:
            for case in json.load(handle)["cases"]:
                if "flat_shapes" not in case:
                    continue
                if case["case"] in cases:
                    engines = cases[case["case"]]["engines"]
                    for engine, entry in case["engines"].items():
                        if figures(entry) is not None or figures(engines.get(engine)) is None:
                            engines[engine] = entry
                else:
                    cases[case["case"]] = case
    return cases


def figures(entry: Optional[Dict]) -> Optional[Dict]:
    """Median wall and CPU, largest peak RSS, and the spread of wall times of an engine's successful
    runs; None when it did not finish."""
    if not entry or not entry.get("runs") or not all(run["ok"] for run in entry["runs"]):
        return None
    walls = [run["wall_s"] for run in entry["runs"]]
    return {"wall_s": statistics.median(walls), "cpu_s": statistics.median(run["cpu_s"] for run in entry["runs"]),
            "rss": max(run["peak_rss_bytes"] for run in entry["runs"]), "walls": walls,
            "load": max(run["load_before"][0] for run in entry["runs"])}


def outcome(entry: Optional[Dict]) -> str:
    """One table cell: '12.1 s (cpu 20.3), 260 MB' or why there is no figure."""
    if not entry:
        return "—"
    if entry.get("skipped"):
        return f"skipped ({entry['skipped']})"
    found = figures(entry)
    if found is None:
        return entry["runs"][-1]["failure"] if entry.get("runs") else "—"
    walls = "/".join(f"{wall:.3g}" for wall in found["walls"])
    text = f"{walls} s (cpu {found['cpu_s']:.3g}), {found['rss'] / 1e6:,.0f} MB"
    return text + xor_note(entry.get("xor"))


def differs(entry: Optional[Dict]) -> bool:
    """True when the XOR check found the result is not the reference's geometry."""
    xor = (entry or {}).get("xor") or {}
    return xor.get("equal") is False and not xor.get("error")


def xor_note(xor: Optional[Dict]) -> str:
    """'' when identical or not checked; else whether the check failed or the results differ."""
    if xor is None or xor.get("equal"):
        return ""
    if xor.get("error"):
        return f" (XOR not completed: {xor['error']})"
    return f" **XOR differs** ({xor.get('xor_area_um2')} µm²)"


def render(run: Dict) -> str:
    lines = [f"# Scale ladder, {run['started']}", "",
             f"Machine: {run['machine'].get('cpu')}, {run['machine'].get('cores')} cores, "
             f"{run['machine'].get('ram_gib')} GiB; load at start {run['machine'].get('load_at_start')}; "
             f"layertools {run['machine'].get('layertools_commit')}, KLayout PyPI "
             f"{run['machine'].get('klayout_pypi')}, application {run['machine'].get('klayout_app')}.", "",
             "Each cell: wall time of each run (runs under 30 s are made twice), median CPU (user+sys), "
             "largest peak RSS. XOR against the case's reference (DRC deep, else layertools deep).", ""]
    engines = []
    for case in run["cases"]:
        for engine in case.get("engines", {}):
            if engine not in engines:
                engines.append(engine)
    for case in run["cases"]:
        if "flat_shapes" not in case:
            continue
        lines.append(f"## {case['case']}: `{case['expression']}`, {case['flat_shapes']:,} flat / "
                     f"{case['stored_shapes']:,} stored shapes on the layers read")
        generated = case.get("generate")
        if generated:
            lines.append(f"Generated in {generated['wall_s']:.1f} s at {generated['peak_rss_bytes'] / 1e6:,.0f} MB "
                         f"peak RSS; file {case['file_bytes']:,} bytes.")
        lines += ["", "| engine | wall s (CPU s), peak RSS | XOR | auto chose |", "|---|---|---|---|"]
        for engine, entry in case["engines"].items():
            xor = entry.get("xor")
            if engine == case.get("xor_reference"):
                xor_text = "reference"
            elif xor is None:
                xor_text = "—"
            else:
                xor_text = "identical" if xor.get("equal") else (
                    "not completed" if xor.get("error") else "**differs**")
            chosen = next((run_["chosen"] for run_ in entry.get("runs", []) if run_.get("chosen")), "")
            chosen = chosen.split(":")[1].strip() if chosen.startswith("auto:") else ""
            lines.append(f"| {entry['label']} | {outcome(entry)} | {xor_text} | {chosen} |")
        lines.append("")
    lines += ["## Targets", "", "| case | target | verdict | measured |", "|---|---|---|---|"]
    for row in targets(run):
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def summary(cases: Dict[str, Dict]) -> str:
    """One row per case: every engine's median wall (CPU) s and peak MB, or why it has none."""
    columns = [engine for engine in ENGINES if any(engine in case["engines"] for case in cases.values())]
    lines = ["| case | flat / stored shapes read | " + " | ".join(ENGINES[e] for e in columns) + " |",
             "|---|---|" + "---|" * len(columns)]
    for case in cases.values():
        cells = []
        for engine in columns:
            entry = case["engines"].get(engine)
            found = figures(entry)
            if found:
                cell = f"{found['wall_s']:.3g} ({found['cpu_s']:.3g}) s, {found['rss'] / 1e6:,.0f} MB"
                cell += xor_note(entry.get("xor"))
            elif entry and entry.get("skipped"):
                cell = "skipped: " + entry["skipped"].replace(" at ", " at ")
            elif entry and entry.get("runs"):
                last = entry["runs"][-1]
                cell = f"{last['failure']} ({last['cpu_s']:.3g} s CPU)"
            else:
                cell = "—"
            cells.append(cell)
        shapes = f"{case['flat_shapes']:,} / {case['stored_shapes']:,}"
        lines.append(f"| {case['case']} | {shapes} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def targets(run: Dict) -> List[List[str]]:
    """Issue 14's targets, case by case, on this run's figures (``run``: {"cases": [...]})."""
    rows = []
    for case in run["cases"]:
        engines = case.get("engines", {})
        # A result that is not the reference's geometry is no competitor (Xic read vexriscv's
        # named OASIS layers under other names and wrote an empty result).
        got = {engine: figures(entry) for engine, entry in engines.items() if not differs(entry)}
        auto = got.get("lt-auto")
        if auto is None:
            continue
        name = case["case"]
        fixed = {e: got[e] for e in LT_FIXED if got.get(e)}
        if fixed:
            best = min(fixed, key=lambda e: fixed[e]["wall_s"])
            ratio = auto["wall_s"] / fixed[best]["wall_s"]
            rows.append([name, "auto ≤ 1.1x best fixed layertools", _verdict(ratio <= 1.1),
                         f"{ratio:.2f}x of {best} ({fixed[best]['wall_s']:.3g} s){_cpu(auto, fixed[best])}"])
        xic = got.get("xic")
        if xic:
            # lt-auto-gds writes GDS as xic_lexpr.py does (the others write OASIS, as DRC does)
            for engine in ("lt-auto-t1", "lt-auto", "lt-auto-gds"):
                if got.get(engine):
                    ratio = got[engine]["wall_s"] / xic["wall_s"]
                    rows.append([name, f"{engine} faster than Xic (1 thr)", _verdict(ratio < 1),
                                 f"{ratio:.2f}x ({got[engine]['wall_s']:.3g} s against {xic['wall_s']:.3g} s)"
                                 + _cpu(got[engine], xic)])
        elif engines.get("xic"):
            rows.append([name, "faster than Xic", "no comparison", "Xic: " + outcome(engines["xic"])])
        drc = {e: got[e] for e in DRC if got.get(e)}
        if drc:
            best = min(drc, key=lambda e: drc[e]["wall_s"])
            limit = 0.8 if case["family"] == "fill" else 0.9
            ratio = auto["wall_s"] / drc[best]["wall_s"]
            rows.append([name, f"auto ≤ {limit}x DRC's best mode", _verdict(ratio <= limit),
                         f"{ratio:.2f}x of {best} ({drc[best]['wall_s']:.3g} s){_cpu(auto, drc[best])}"])
        deep = got.get("drc-deep")
        if deep and case["case"] in HEADLINE:
            spread = f"DRC deep {min(deep['walls']):.3g}-{max(deep['walls']):.3g} s over {len(deep['walls'])} runs"
            for engine in ("lt-auto", "lt-auto-ro"):
                if got.get(engine):
                    ratio = got[engine]["wall_s"] / deep["wall_s"]
                    rows.append([name, f"{engine} ≤ 0.4x DRC deep", _verdict(ratio <= 0.4),
                                 f"{ratio:.2f}x ({got[engine]['wall_s']:.3g} s; {spread}){_cpu(got[engine], deep)}"])
    return rows


def _cpu(mine: Dict, theirs: Dict) -> str:
    """The same ratio in CPU seconds: on the shared machine the load moves between runs, and CPU
    time drifts far less than wall time (a 2-thread run's CPU can exceed its wall time)."""
    return f"; CPU {mine['cpu_s'] / theirs['cpu_s']:.2f}x" if theirs["cpu_s"] > 0 else ""


def _verdict(passed: bool) -> str:
    return "pass" if passed else "**miss**"


if __name__ == "__main__":
    if sys.argv[1] == "--summary":
        merged = load(sys.argv[2:])
        print(summary(merged))
        print("| case | target | verdict | measured |\n|---|---|---|---|")
        for row in targets({"cases": list(merged.values())}):
            print("| " + " | ".join(row) + " |")
    else:
        with open(sys.argv[1]) as handle:
            print(render(json.load(handle)))
