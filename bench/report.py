"""The benchmark report: Markdown tables (and the issue's targets) from the run's JSON record.

Every ratio is taken against KLayout's DRC deep mode on the same file and expression *in the same
run*: absolute times drift on a shared machine, ratios measured minutes apart do not drift much.
Memory figures are decimal (1 MB = 10^6 bytes, 1 GB = 10^9 bytes) peak resident set sizes.
"""

from __future__ import annotations

from statistics import median
from typing import Dict, Iterable, List, Optional

from cases import ENGINES

#: performance targets that name a file: (wall / DRC deep, peak RSS in bytes) for `auto`
FILE_TARGETS = {"tt06": (0.45, 0.3e9), "rm8192": (0.5, 0.3e9)}
AUTO_VS_BEST_FIXED = 1.1
THREAD_SPEEDUP = 1.7
CLI_OVERHEAD = 0.05


def summarize(record: Dict) -> None:
    """Fill a case record's summary fields (median over repeats) from its runs."""
    runs = [r for r in record["runs"] if r["ok"]]
    record["ok"] = bool(runs) and len(runs) == len(record["runs"])
    record["timed_out"] = any(r.get("timed_out") for r in record["runs"])
    record["skipped"] = any(r.get("skipped") for r in record["runs"])
    if runs:
        record["cpu_s"] = median(r["user_s"] + r["sys_s"] for r in runs)
        record["wall_s"] = median(r["wall_s"] for r in runs)
        record["wall_min_s"] = min(r["wall_s"] for r in runs)
        record["peak_rss_bytes"] = int(median(r["peak_rss_bytes"] for r in runs))
        record["cpu_ratio"] = median(r["cpu_ratio"] for r in runs)
    else:
        record["cpu_s"] = None
        record["wall_s"] = record["wall_min_s"] = None
        record["peak_rss_bytes"] = record["cpu_ratio"] = None
    phased = [r["phases"] for r in runs if r.get("phases")]
    if phased:  # each phase's median over the runs (the phases of one run need not add up to it)
        record["phases"] = {key: median(p[key] for p in phased) if isinstance(phased[0][key], float)
                            else phased[0][key] for key in phased[0]}
    failures = [r["failure"] for r in record["runs"] if not r["ok"]]
    record["failure"] = failures[0] if failures else ""


def _find(records: Iterable[Dict], **match) -> Optional[Dict]:
    """The first record matching; JoinMaxPolyVerts-off variants only when asked for (no_break=True)."""
    match.setdefault("no_break", False)
    for record in records:
        if all(bool(record.get(key, False)) == value if key == "no_break" else record.get(key) == value
               for key, value in match.items()):
            return record
    return None


def _ok(record: Optional[Dict]) -> bool:
    return bool(record) and record.get("ok") and record.get("wall_s") is not None


def _seconds(value: Optional[float]) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _wall(record: Dict, run: Dict) -> str:
    if record.get("timed_out"):
        return f"> {run['config']['timeout_s']:.0f}"
    if record.get("skipped"):
        return "not run"
    return _seconds(record["wall_s"])


def _mb(value: Optional[int]) -> str:
    return "—" if value is None else f"{value / 1e6:,.0f}"


def _ratio(value: Optional[float], base: Optional[float]) -> str:
    if value is None or not base:
        return "—"
    return f"{value / base:.2f}x"


def _mode_label(record: Dict) -> str:
    mode = record["mode"]
    if mode == "tiled":
        partition = "none" if record["partition"] is None else f"{record['partition']:g} µm"
        mode = f"tiled {partition}, {record['threads']} thr"
    elif record.get("threads"):
        mode = f"{mode}, {record['threads']} thr"
    return mode + (", no D8 break" if record.get("no_break") else "")


def _xor_label(record: Dict) -> str:
    xor = record.get("xor")
    if not xor:
        return "not checked"
    if xor.get("reference"):
        return "reference"
    if xor.get("error"):
        return f"ERROR: {xor['error'][:80]}"
    if xor.get("equal"):
        return "identical"
    return f"DIFFERS: {xor.get('xor_polygons', '?')} polygons, {xor.get('xor_area_um2', 0):.4g} µm²"


def _result_label(record: Dict) -> str:
    xor = record.get("xor") or {}
    if "area_um2" not in xor:
        return "—"
    return f"{xor['area_um2']:,.1f} µm² / {xor['flat_shapes']:,}"


def _note(record: Dict) -> str:
    if record.get("skipped"):
        return (record.get("failure") or "")[:160]
    if not record.get("ok"):
        return "FAILED: " + (record.get("failure") or "")[:160].replace("|", "/")
    notes = []
    if record.get("run"):
        notes.append(f"run {record['run']}")
    if record.get("chosen"):
        notes.append(record["chosen"])
    phases = record.get("phases")
    if phases:
        notes.append("read {read_s:.2f} s, compute {compute_s:.2f} s, write {write_s:.2f} s".format(**phases))
    return "; ".join(notes).replace("|", "/")


def render(run: Dict) -> str:
    """The whole Markdown report."""
    out: List[str] = []
    machine = run["machine"]
    out.append(f"# layertools benchmark ({run['started_utc']})")
    out.append("")
    out.append(f"- Command: `{run['command']}`")
    out.append(f"- Machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gib']} GiB RAM; "
               f"load average {_load(machine['load_at_start'])} at the start, "
               f"{_load(run.get('load_at_end'))} at the end (the machine is shared)")
    out.append(f"- KLayout: application {machine['klayout_app']} (DRC engine, `Python API (app)`), "
               f"PyPI module {machine['klayout_pypi']} (layertools, `Python API`); "
               f"Python {machine['python']}; layertools {machine['layertools_commit']}"
               f"{' (uncommitted changes)' if machine.get('layertools_dirty') else ''}")
    commits = sorted({r["layertools_commit"] for r in run["cases"] if r.get("layertools_commit")})
    if commits:
        out.append(f"- layertools as measured (commit per case, `+dirty` = uncommitted engine changes): "
                   f"{', '.join(commits)}")
    out.append(f"- Each case is one fresh process; wall time covers start-up, reading the file, the work "
               f"and writing the whole layout with the result ({run['config']['out_format']}); peak RSS is "
               f"the process's own (`wait4`). Median of {run['config']['repeat']} run(s). "
               f"Ratios are to DRC deep mode on the same file and expression in this run.")
    if run.get("floors"):
        out.append("- Start-up floor (median of 3, doing nothing): " + ", ".join(
            f"{name} {seconds:.2f} s" for name, seconds in run["floors"].items()))
    out.append("- XOR: every result layer is read back, flattened and XOR-ed against the reference "
               "(DRC deep unless it failed) with merged semantics; *identical* means the XOR is empty.")
    out.append("")
    for label, stats in run["files"].items():
        out += _file_section(run, label, stats)
    out += _scaling_sections(run)
    out += _overhead_section(run)
    out += _targets_section(run)
    return "\n".join(out) + "\n"


def _load(values) -> str:
    return "/".join(f"{v:.2f}" for v in values) if values else "?"


def _file_section(run: Dict, label: str, stats: Dict) -> List[str]:
    out = [f"## {stats.get('file', label)}", ""]
    if stats.get("stored_shapes") is not None:
        out.append(f"{stats['stored_shapes']:,} stored / {stats['flat_shapes']:,} flat shapes, "
                   f"{stats['bytes'] / 1e6:.1f} MB file; a plain read takes {stats['read_s']:.2f} s and a "
                   f"plain write {stats.get('write_s', 0):.2f} s (PyPI module)")
        out.append("")
    workloads = []
    for record in run["cases"]:
        if record["file"] == label and record["workload"] not in workloads:
            workloads.append(record["workload"])
    for workload in workloads:
        records = [r for r in run["cases"] if r["file"] == label and r["workload"] == workload]
        base = _find(records, engine="drc", mode="deep", threads=0)
        base_wall = base["wall_s"] if _ok(base) else None
        base_rss = base["peak_rss_bytes"] if _ok(base) else None
        out.append(f"### {records[0]['workload_kind']}: `{records[0]['expression']}`")
        out.append("")
        out.append("| engine | mode | wall s | peak RSS MB | CPU s | CPU/wall | wall / DRC deep "
                   "| RSS / DRC deep | XOR vs reference | result area / flat shapes | notes |")
        out.append("|---|---|---:|---:|---:|---:|---:|---:|---|---|---|")
        for record in records:
            out.append("| " + " | ".join([
                ENGINES[record["engine"]] + f" {record['klayout']}",
                _mode_label(record),
                _wall(record, run),
                _mb(record["peak_rss_bytes"]),
                _seconds(record.get("cpu_s")),
                "—" if record["cpu_ratio"] is None else f"{record['cpu_ratio']:.2f}",
                _ratio(record["wall_s"], base_wall),
                _ratio(record["peak_rss_bytes"], base_rss),
                _xor_label(record),
                _result_label(record),
                _note(record),
            ]) + " |")
        out.append("")
    return out


def _engine_s(record: Optional[Dict]) -> Optional[float]:
    """The evaluation alone (the engine's own clock, reading and writing the file excluded)."""
    phases = (record or {}).get("phases") or {}
    return phases.get("compute_s")


def _scaling_sections(run: Dict) -> List[str]:
    out: List[str] = []
    threads = [r for r in run["cases"] if r["mode"] == "tiled" and r["partition"] == 100.0
               and r["workload"] == "mix" and r["engine"] in ("layertools", "api") and not r.get("no_break")]
    if any(r["threads"] != 2 for r in threads):
        out += ["## Thread scaling (tiled, 100 µm, boolean mix)", "",
                "Whole process = start-up, reading, evaluation and writing; evaluation = the engine's own "
                "time (reading and writing the file are serial and the same for every thread count).", "",
                "| file | engine | threads | wall s | CPU/wall | speed-up vs threads=0 | evaluation s "
                "| evaluation speed-up |",
                "|---|---|---:|---:|---:|---:|---:|---:|"]
        for record in sorted(threads, key=lambda r: (r["file"], r["engine"], r["threads"])):
            zero = _find(threads, file=record["file"], engine=record["engine"], threads=0)
            speedup = (f"{zero['wall_s'] / record['wall_s']:.2f}x"
                       if _ok(zero) and _ok(record) else "—")
            engine, engine_zero = _engine_s(record), _engine_s(zero)
            engine_speedup = f"{engine_zero / engine:.2f}x" if engine and engine_zero else "—"
            out.append(f"| {record['file']} | {ENGINES[record['engine']]} | {record['threads']} | "
                       f"{_seconds(record['wall_s'])} | "
                       f"{'—' if record['cpu_ratio'] is None else format(record['cpu_ratio'], '.2f')} | "
                       f"{speedup} | {_seconds(engine)} | {engine_speedup} |")
        out.append("")
    partitions = [r for r in run["cases"] if r["engine"] == "layertools" and r["mode"] == "tiled"
                  and r["threads"] == 2 and r["workload"] == "mix" and not r.get("no_break")]
    if len(partitions) > 1:
        out += ["## Partition size (layertools tiled, 2 threads, boolean mix)", "",
                "| file | partition | wall s | peak RSS MB | wall / DRC deep | XOR |",
                "|---|---|---:|---:|---:|---|"]
        def order(record):
            return record["file"], float("inf") if record["partition"] is None else record["partition"]

        for record in sorted(partitions, key=order):
            base = _find(run["cases"], file=record["file"], workload="mix", engine="drc", mode="deep",
                         threads=0)
            partition = "none" if record["partition"] is None else f"{record['partition']:g} µm"
            out.append(f"| {record['file']} | {partition} | {_seconds(record['wall_s'])} | "
                       f"{_mb(record['peak_rss_bytes'])} | "
                       f"{_ratio(record['wall_s'], base['wall_s'] if _ok(base) else None)} | "
                       f"{_xor_label(record)} |")
        out.append("")
    return out


def _own_overhead(record: Dict, run: Dict) -> Optional[float]:
    """What the command line adds to the engine, as a fraction of the engine's time: the process's
    wall time less the interpreter's start-up floor, reading, evaluating and writing."""
    phases = record.get("phases") or {}
    floor = (run.get("floors") or {}).get("python + import klayout.db")
    if not _ok(record) or floor is None or not phases.get("compute_s"):
        return None
    rest = record["wall_s"] - floor - phases["read_s"] - phases["compute_s"] - phases["write_s"]
    return rest / phases["compute_s"]


def _overhead_section(run: Dict) -> List[str]:
    """Issue 7 item 3: what the command line adds to the engine, and the engine against the raw API."""
    out: List[str] = []
    own = [(r, _own_overhead(r, run)) for r in run["cases"]
           if r["engine"] == "layertools" and r["file"] in FILE_TARGETS]
    own = [(r, o) for r, o in own if o is not None]
    if own:
        out += ["## What the command line adds to the engine", "",
                "`layertools eval`'s wall time less the Python start-up floor, reading, the evaluation "
                "(the engine's own clock) and writing: importing layertools, parsing the arguments, "
                "checking the expression before reading, finding the cell, printing the summary.", "",
                "| file | expression | mode | wall s | evaluation s | CLI adds s | CLI adds |",
                "|---|---|---|---:|---:|---:|---:|"]
        for record, overhead in own:
            phases = record["phases"]
            out.append(f"| {record['file']} | {record['workload']} | {_mode_label(record)} | "
                       f"{_seconds(record['wall_s'])} | {_seconds(phases['compute_s'])} | "
                       f"{overhead * phases['compute_s']:.2f} | {overhead:+.1%} |")
        out.append("")
    rows = []
    for record in run["cases"]:
        if record["engine"] != "layertools" or record["mode"] == "auto" or not _ok(record):
            continue
        raw = _find(run["cases"], file=record["file"], workload=record["workload"], engine="api",
                    mode=record["mode"], partition=record["partition"], threads=record["threads"])
        if _ok(raw):
            rows.append((record, raw))
    if not rows:
        return out
    out += ["## The engine against the raw Python API (same KLayout, same mode)", "",
            "Positive = layertools is slower. Both read the file, evaluate and write the whole layout. "
            "The raw API does not break polygons above JoinMaxPolyVerts (D8); the *no D8 break* rows run "
            "layertools with `--join-max-verts 0` to show what that pass costs.", "",
            "| file | expression | mode | layertools s | raw API s | overhead | evaluation: layertools s "
            "| evaluation: raw API s | evaluation overhead | layertools MB | raw API MB |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for record, raw in rows:
        overhead = record["wall_s"] / raw["wall_s"] - 1.0
        ours, theirs = _engine_s(record), _engine_s(raw)
        compute = f"{ours / theirs - 1.0:+.0%}" if ours and theirs else "—"
        out.append(f"| {record['file']} | {record['workload']} | {_mode_label(record)} | "
                   f"{_seconds(record['wall_s'])} | {_seconds(raw['wall_s'])} | {overhead:+.0%} | "
                   f"{_seconds(ours)} | {_seconds(theirs)} | {compute} | "
                   f"{_mb(record['peak_rss_bytes'])} | {_mb(raw['peak_rss_bytes'])} |")
    out.append("")
    return out


def _targets_section(run: Dict) -> List[str]:
    """The issue's targets, checked on this run's numbers."""
    checks: List[tuple] = []
    for label in run["files"]:
        if label not in FILE_TARGETS:  # on small files start-up noise decides; no verdicts there
            continue
        workloads = sorted({r["workload"] for r in run["cases"] if r["file"] == label})
        for workload in workloads:
            records = [r for r in run["cases"] if r["file"] == label and r["workload"] == workload]
            auto = _find(records, engine="layertools", mode="auto")
            if not _ok(auto):
                if auto is not None:
                    checks.append((label, workload, "auto ran", "FAIL", auto.get("failure", "")))
                continue
            fixed = [r for r in records if r["engine"] == "layertools" and r["mode"] != "auto" and _ok(r)
                     and not r.get("no_break")]
            if fixed:
                best = min(fixed, key=lambda r: r["wall_s"])
                ratio = auto["wall_s"] / best["wall_s"]
                checks.append((label, workload, f"auto ≤ {AUTO_VS_BEST_FIXED}x best fixed layertools",
                               _verdict(ratio <= AUTO_VS_BEST_FIXED),
                               f"{ratio:.2f}x of {_mode_label(best)} ({_seconds(best['wall_s'])} s)"))
            drc = [r for r in records if r["engine"] == "drc" and _ok(r)]
            slow = [r for r in records if r["engine"] == "drc" and r.get("timed_out")]
            if drc:
                fastest = min(drc, key=lambda r: r["wall_s"])
                limit = run["config"]["timeout_s"]
                checks.append((label, workload, "auto faster than every DRC mode",
                               _verdict(auto["wall_s"] < fastest["wall_s"] and auto["wall_s"] < limit),
                               f"{_seconds(auto['wall_s'])} s against DRC {_mode_label(fastest)} "
                               f"{_seconds(fastest['wall_s'])} s"
                               + (f" ({len(slow)} DRC mode(s) over the {limit:.0f} s limit)" if slow else "")))
            base = _find(records, engine="drc", mode="deep", threads=0)
            if label in FILE_TARGETS and _ok(base):
                wall_target, rss_target = FILE_TARGETS[label]
                ratio = auto["wall_s"] / base["wall_s"]
                checks.append((label, workload, f"auto wall ≤ {wall_target}x DRC deep",
                               _verdict(ratio <= wall_target), f"{ratio:.2f}x"))
                checks.append((label, workload, f"auto peak RSS ≤ {rss_target / 1e9:.1f} GB",
                               _verdict(auto["peak_rss_bytes"] <= rss_target),
                               f"{auto['peak_rss_bytes'] / 1e9:.2f} GB"))
        zero = _find(run["cases"], file=label, workload="mix", engine="layertools", mode="tiled",
                     partition=100.0, threads=0)
        two = _find(run["cases"], file=label, workload="mix", engine="layertools", mode="tiled",
                    partition=100.0, threads=2)
        if _ok(zero) and _ok(two):
            if _engine_s(zero) and _engine_s(two):
                speedup = _engine_s(zero) / _engine_s(two)
                checks.append((label, "mix", f"tiled threads=2 ≥ {THREAD_SPEEDUP}x threads=0 (evaluation)",
                               _verdict(speedup >= THREAD_SPEEDUP),
                               f"{speedup:.2f}x ({_seconds(_engine_s(zero))} s → {_seconds(_engine_s(two))} s)"))
            speedup = zero["wall_s"] / two["wall_s"]
            checks.append((label, "mix", f"tiled threads=2 ≥ {THREAD_SPEEDUP}x threads=0 (whole process)",
                           _verdict(speedup >= THREAD_SPEEDUP),
                           f"{speedup:.2f}x ({_seconds(zero['wall_s'])} s → {_seconds(two['wall_s'])} s)"))
    for record in run["cases"]:
        if (record["engine"] != "layertools" or not _ok(record) or record["file"] not in FILE_TARGETS):
            continue
        own = _own_overhead(record, run)
        if own is not None:
            checks.append((record["file"], record["workload"],
                           f"CLI adds ≤ {CLI_OVERHEAD:.0%} to the engine ({_mode_label(record)})",
                           _verdict(own <= CLI_OVERHEAD), f"{own:+.1%}"))
        raw = _find(run["cases"], file=record["file"], workload=record["workload"], engine="api",
                    mode=record["mode"], partition=record["partition"], threads=record["threads"])
        if _ok(raw) and record["mode"] != "auto":
            overhead = record["wall_s"] / raw["wall_s"] - 1.0
            checks.append((record["file"], record["workload"],
                           f"CLI + engine ≤ {CLI_OVERHEAD:.0%} over the raw API ({_mode_label(record)})",
                           _verdict(overhead <= CLI_OVERHEAD), f"{overhead:+.0%}"))
    checked = [r for r in run["cases"] if r.get("xor")]
    for engines, label in ((("layertools",), "every layertools result XOR-identical to its reference"),
                           (tuple(ENGINES), "every result (baselines too) XOR-identical to its reference")):
        subset = [r for r in checked if r["engine"] in engines]
        unequal = [r for r in subset if not r["xor"].get("reference") and not r["xor"].get("equal")]
        if subset:
            detail = f"{len(subset) - len(unequal)} of {len(subset)} identical"
            if unequal:
                detail += "; differs: " + ", ".join(r["id"] for r in unequal)
            checks.append(("all", "all", label, _verdict(not unequal), detail))
    if not checks:
        return []
    out = ["## Issue 7 targets on this run", "",
           "Checked on the two benchmark files only (on small files start-up noise decides).", "",
           "| file | expression | target | verdict | measured |", "|---|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in checks]
    out.append("")
    return out


def _verdict(passed: bool) -> str:
    return "pass" if passed else "**FAIL**"


def merge_runs(runs: List[Dict]) -> Dict:
    """One report from several runs (e.g. one run per file); ratios stay within each run's groups,
    because every file-and-expression group carries its own DRC deep measurement."""
    if len(runs) == 1:
        return runs[0]
    merged = dict(runs[0])
    merged["started_utc"] = " + ".join(run["started_utc"] for run in runs)
    merged["command"] = "` and `".join(run["command"] for run in runs)
    merged["files"] = {}
    by_id: Dict[str, Dict] = {}
    for number, run in enumerate(runs, 1):
        merged["files"].update(run["files"])
        for record in run["cases"]:
            if record.get("skipped") and record["id"] in by_id:
                continue  # a case a later run did not get to keeps its earlier measurement
            by_id[record["id"]] = dict(record, run=number)  # a later run's measurement wins
    order = {label: i for i, label in enumerate(merged["files"])}
    merged["cases"] = sorted(by_id.values(), key=lambda r: (order.get(r["file"], 99),
                                                            list(by_id).index(r["id"])))
    merged["load_at_end"] = runs[-1].get("load_at_end")
    merged["config"] = dict(runs[0]["config"], repeat="/".join(str(run["config"]["repeat"]) for run in runs))
    loads = [run["machine"]["load_at_start"] for run in runs]
    merged["machine"] = dict(runs[0]["machine"], load_at_start=loads[0])
    return merged


def main(argv=None) -> int:
    import argparse
    import json
    import sys
    parser = argparse.ArgumentParser(description="Render (and merge) benchmark results as Markdown.")
    parser.add_argument("results", nargs="+", help="results.json of one or more runs")
    parser.add_argument("-o", "--output", help="write the Markdown here (default: print it)")
    args = parser.parse_args(argv)
    runs = []
    for path in args.results:
        with open(path) as handle:
            runs.append(json.load(handle))
    text = render(merge_runs(runs))
    if args.output:
        with open(args.output, "w") as handle:
            handle.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    import os
    import sys
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
