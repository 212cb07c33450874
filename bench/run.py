#!/usr/bin/env python3
"""layertools benchmark: layertools strategies against KLayout's DRC engine and the raw Python API.

Each case runs in its own fresh process (wall time and peak RSS are the process's own), then every
result is XOR-checked against a reference.  Writes ``report.md`` and ``results.json`` into
``bench/results/<time>/`` and prints the report.

    python3 bench/run.py                    # the full benchmark (tt06 + rm8192; takes a while)
    python3 bench/run.py --quick            # small files of the same technologies, for development
    python3 bench/run.py --files tt06 --workloads mix --engines layertools,drc --repeat 3
    python3 bench/run.py --list             # show the cases and exit
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from typing import Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cases import (
    BENCH_DIR,
    ENGINES,
    FILES,
    FULL_FILES,
    GROUPS,
    QUICK_FILES,
    REPO,
    TARGET,
    Case,
    build_cases,
    priority,
    python_executable,
)
from expressions import WORKLOADS
from machine import machine_info
from report import render, summarize
from runner import measure
from xorcheck import check_in_child

DEFAULT_DATA = os.environ.get("LAYERTOOLS_DATA", os.path.join(os.path.dirname(REPO), "shared", "data"))
REFERENCE_PREFERENCE = ("drc-deep", "api-deep", "drc-flat", "api-flat")


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[5:]))
    parser.add_argument("--quick", action="store_true", help=f"small files ({', '.join(QUICK_FILES)})")
    parser.add_argument("--files", help=f"comma-separated file labels: {', '.join(FILES)}")
    parser.add_argument("--workloads", default="mix,bloat,invert",
                        help="comma-separated expressions: mix, bloat, invert (default all)")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help=f"comma-separated engines: {', '.join(ENGINES)} (default all)")
    parser.add_argument("--groups", default=",".join(GROUPS),
                        help="main (strategies side by side), threads, partition (default all)")
    parser.add_argument("--only", help="run only cases whose id matches this regular expression")
    parser.add_argument("--skip", help="skip cases whose id matches this regular expression")
    parser.add_argument("--repeat", type=int, default=1, help="runs per case; the median is reported")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per run (default 900)")
    parser.add_argument("--max-rss", type=float, default=10.0,
                        help="kill a run above this many GB resident (default 10; 0 = no limit)")
    parser.add_argument("--out-format", choices=("gds", "oas"), default="gds",
                        help="format of every case's output file (default gds: fastest to write)")
    parser.add_argument("--no-xor", action="store_true", help="skip the XOR checks")
    parser.add_argument("--xor", choices=("group", "end"), default="group",
                        help="XOR-check each file-and-expression group as soon as it is done "
                             "(default), or all at the end, after every timing (outputs wait on disk)")
    parser.add_argument("--xor-timeout", type=float, default=1800.0,
                        help="seconds for the XOR checks of one group (default 1800)")
    parser.add_argument("--order", choices=("priority", "group"), default="priority",
                        help="priority (default): the boolean mix's strategies on every file first, "
                             "then the other expressions, then scaling series, with the XOR checks "
                             "at the end; group: file-and-expression groups one after another")
    parser.add_argument("--budget", type=float, default=0.0,
                        help="minutes: start no case after this (the rest is reported as not run)")
    parser.add_argument("--keep-outputs", action="store_true", help="keep the output layouts")
    parser.add_argument("--data", default=DEFAULT_DATA, help="directory of the layouts (shared/data)")
    parser.add_argument("--results", help="results directory (default bench/results/<UTC time>)")
    parser.add_argument("--klayout", default=shutil.which("klayout") or "/usr/bin/klayout",
                        help="the KLayout application (for the DRC engine)")
    parser.add_argument("--no-floors", action="store_true",
                        help="skip measuring the start-up floor (an empty python/klayout run)")
    parser.add_argument("--list", action="store_true", help="print the cases and exit")
    return parser.parse_args(argv)


def _split(text: str, allowed, what: str) -> List[str]:
    items = [item.strip() for item in text.split(",") if item.strip()]
    unknown = [item for item in items if item not in allowed]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (choose from {', '.join(allowed)})")
    return items


def select_cases(args: argparse.Namespace) -> List[Case]:
    files = _split(args.files, FILES, "file") if args.files else list(QUICK_FILES if args.quick else FULL_FILES)
    workloads = _split(args.workloads, ("mix", "bloat", "invert"), "workload")
    engines = _split(args.engines, ENGINES, "engine")
    groups = _split(args.groups, GROUPS, "group")
    cases = build_cases(files, workloads, engines, groups)
    if args.only:
        cases = [c for c in cases if re.search(args.only, c.id)]
    if args.skip:
        cases = [c for c in cases if not re.search(args.skip, c.id)]
    return cases


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    cases = select_cases(args)
    if args.list or not cases:
        for case in cases:
            print(case.id)
        if not cases:
            print("no case selected", file=sys.stderr)
        return 0 if cases else 2
    python = python_executable()
    started = _dt.datetime.now(_dt.timezone.utc)
    results_dir = os.path.abspath(args.results or os.path.join(
        BENCH_DIR, "results", started.strftime("%Y%m%d-%H%M%S") + ("-quick" if args.quick else "")))
    out_dir, work_dir, log_dir = (os.path.join(results_dir, d) for d in ("out", "work", "logs"))
    for directory in (out_dir, work_dir, log_dir):
        os.makedirs(directory, exist_ok=True)

    missing = sorted({c.file.name for c in cases if not os.path.exists(os.path.join(args.data, c.file.name))})
    if missing:
        raise SystemExit(f"missing layouts in {args.data}: {', '.join(missing)}")

    run: Dict = {
        "started_utc": started.strftime("%Y-%m-%d %H:%M UTC"),
        "command": "python3 bench/run.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:])),
        "machine": machine_info(python, args.klayout, REPO),
        "config": {"repeat": args.repeat, "out_format": args.out_format, "timeout_s": args.timeout,
                   "max_rss_gb": args.max_rss, "data": args.data},
        "files": {},
        "cases": [],
    }
    paths = {"json": os.path.join(results_dir, "results.json"), "md": os.path.join(results_dir, "report.md")}
    _log(f"{len(cases)} cases, results in {results_dir}")
    _log(f"machine: {run['machine']['cpu']}, {run['machine']['cores']} cores, load {run['machine']['load_at_start']}")

    if not args.no_floors:
        run["floors"] = startup_floors(python, args.klayout, work_dir)
        _log("start-up floors: " + ", ".join(f"{k} {v:.2f} s" for k, v in run["floors"].items()))
    for label in dict.fromkeys(c.file.label for c in cases):
        run["files"][label] = file_stats(python, os.path.join(args.data, FILES[label].name), label,
                                         out_dir, args)
    groups: Dict[tuple, List[Case]] = {}
    for case in cases:
        groups.setdefault((case.file.label, case.workload.name), []).append(case)
    # Expression by expression, alternating the files, so that a time budget cuts the least
    # important work on every file alike; in priority order the tiers come first (cases.priority).
    workload_order = list(dict.fromkeys(c.workload.name for c in cases))
    file_order = list(dict.fromkeys(c.file.label for c in cases))
    group_key = lambda c: (workload_order.index(c.workload.name), file_order.index(c.file.label))  # noqa: E731
    if args.order == "priority":
        batches = [sorted(cases, key=lambda c: (priority(c), group_key(c), cases.index(c)))]
        xor_at_end = True  # the groups are spread over the whole run
    else:
        ordered = sorted(groups.values(), key=lambda members: group_key(members[0]))
        batches = ordered
        xor_at_end = args.xor == "end"
    deadline = time.monotonic() + args.budget * 60 if args.budget else None
    done = 0
    records_of: Dict[tuple, List[Dict]] = {}
    for batch in batches:
        records = []
        for case in batch:
            done += 1
            if deadline is not None and time.monotonic() > deadline:
                record = skipped_case(case, args, f"not run: the {args.budget:g} min budget was used up")
            else:
                record = run_case(case, python, args, out_dir, work_dir, log_dir,
                                  f"[{done:3d}/{len(cases)}]")
            records.append(record)
            records_of.setdefault((case.file.label, case.workload.name), []).append(record)
            run["cases"].append(record)
            _save(run, paths)
        if args.no_xor:
            _remove_outputs(records, args)
        elif not xor_at_end:
            xor_group(records, python, args, log_dir)
            _remove_outputs(records, args)
        _save(run, paths)
    if xor_at_end and not args.no_xor:
        for key in sorted(records_of, key=lambda k: (workload_order.index(k[1]), file_order.index(k[0]))):
            xor_group(records_of[key], python, args, log_dir)
            _remove_outputs(records_of[key], args)
            _save(run, paths)
    # the report lists each group's cases together, whatever order they ran in
    run["cases"].sort(key=lambda r: (file_order.index(r["file"]), workload_order.index(r["workload"]),
                                     [c.id for c in cases].index(r["id"])))
    run["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    _save(run, paths)
    print()
    print(render(run))
    _log(f"report: {paths['md']}")
    return 0 if all(r["ok"] for r in run["cases"]) else 1


def _git_state() -> str:
    try:
        commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, timeout=30).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "python"],
                               capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def _remove_outputs(records: List[Dict], args) -> None:
    if args.keep_outputs:
        return
    for record in records:
        if record.get("output") and os.path.exists(record["output"]):
            os.unlink(record["output"])


def skipped_case(case: Case, args, why: str) -> Dict:
    record = _new_record(case, args, argv=[], output=None)
    record["runs"].append({"wall_s": 0.0, "user_s": 0.0, "sys_s": 0.0, "peak_rss_bytes": 0,
                           "cpu_ratio": 0.0, "ok": False, "failure": why, "returncode": None,
                           "skipped": True, "load_before": [], "load_after": []})
    summarize(record)
    record["output"] = None
    _log(f"        {case.id:42s} {why}")
    return record


def _new_record(case: Case, args, argv, output) -> Dict:
    return {
        "id": case.id, "file": case.file.label, "workload": case.workload.name,
        "workload_kind": case.workload.kind, "expression": case.workload.xic, "engine": case.engine,
        "mode": case.mode, "partition": case.partition, "threads": case.threads, "group": case.group,
        "no_break": case.no_break,
        "klayout": _klayout_of(case, args), "argv": argv, "output": output, "runs": [],
    }


def startup_floors(python: str, klayout: str, work_dir: str) -> Dict[str, float]:
    """Wall time of doing nothing: what every case pays before it reads a byte."""
    noop = os.path.join(work_dir, "noop.py")
    with open(noop, "w") as handle:
        handle.write("pass\n")
    env = dict(os.environ, KLAYOUT_HOME=os.path.join(work_dir, "klayout_home"))
    os.makedirs(env["KLAYOUT_HOME"], exist_ok=True)
    floors = {}
    for name, argv, environment in (
            ("python + import klayout.db", [python, "-c", "import klayout.db"], None),
            ("klayout -b (application)", [klayout, "-b", "-r", noop], env)):
        times = [measure(argv, env=environment, timeout_s=120).wall_s for _ in range(3)]
        floors[name] = sorted(times)[1]
    return floors


def file_stats(python: str, path: str, label: str, out_dir: str, args) -> Dict:
    """Size figures and the bare read/write floor of one layout, measured in a child process."""
    tech = FILES[label].tech
    layers = sorted({f"{k[0]}/{k[1]}" for w in WORKLOADS[tech].values() for k in w.expr.layers()})
    scratch = os.path.join(out_dir, f"{label}.plain.{args.out_format}")
    argv = [python, os.path.join(BENCH_DIR, "layoutstats.py"), path, "--write-to", scratch,
            "--layers", ",".join(layers)]
    measured = measure(argv, timeout_s=args.timeout)
    stats: Dict = {"file": FILES[label].name, "description": FILES[label].description}
    if measured.ok:
        stats.update(json.loads(measured.stdout_tail.strip().splitlines()[-1]))
        stats["process_wall_s"] = measured.wall_s
        _log(f"{label}: {stats['stored_shapes']:,} stored / {stats['flat_shapes']:,} flat shapes; "
             f"read {stats['read_s']:.2f} s, write {stats.get('write_s', 0):.2f} s")
    else:
        stats["error"] = measured.failure()
        _log(f"{label}: statistics failed: {stats['error']}")
    return stats


def run_case(case: Case, python: str, args, out_dir: str, work_dir: str, log_dir: str, prefix: str) -> Dict:
    input_path = os.path.join(args.data, case.file.name)
    output = os.path.join(out_dir, f"{case.slug}.{args.out_format}")
    argv, env = case.command(input_path, output, work_dir, python=python, klayout=args.klayout)
    record = _new_record(case, args, argv, output)
    if case.engine == "layertools":  # the engine may change during a long run: say which one ran
        record["layertools_commit"] = _git_state()
    for repetition in range(args.repeat):
        if os.path.exists(output):
            os.unlink(output)
        measured = measure(argv, env=env, timeout_s=args.timeout,
                           max_rss_bytes=int(args.max_rss * 1e9),
                           log_prefix=os.path.join(log_dir, f"{case.slug}.{repetition}"))
        if measured.ok and not os.path.exists(output):
            measured.killed = "exit 0 but no output file"
        run_record = {"wall_s": measured.wall_s, "user_s": measured.user_s, "sys_s": measured.sys_s,
                      "peak_rss_bytes": measured.peak_rss_bytes, "cpu_ratio": measured.cpu_ratio,
                      "ok": measured.ok, "failure": measured.failure(), "returncode": measured.returncode,
                      "timed_out": "time limit" in measured.killed,
                      "load_before": measured.load_before, "load_after": measured.load_after}
        record["runs"].append(run_record)
        record.pop("phases", None)
        _harvest(record, measured.stdout_tail + "\n" + measured.stderr_tail)
        run_record["phases"] = record.pop("phases", None)
        status = "ok" if measured.ok else "FAILED " + measured.failure()[:120]
        _log(f"{prefix} {case.id:42s} {measured.wall_s:7.2f} s {measured.peak_rss_bytes / 1e6:7.0f} MB "
             f"cpu {measured.cpu_ratio:4.2f}  load {measured.load_before[0]:.2f}  {status}")
    summarize(record)
    if not record["ok"]:
        record["output"] = None
    return record


def _klayout_of(case: Case, args) -> str:
    return "0.28.5" if case.engine in ("drc", "api-app") else "0.30"


#: layertools eval's summary: "... (tiled, 12 tiles, 3.21 s); read 2.10 s, write 1.30 s"
_SUMMARY = re.compile(r"\(([a-z]+)[^()]*?(\d+(?:\.\d+)?) s\); read (\d+(?:\.\d+)?) s, write (\d+(?:\.\d+)?) s")


def _harvest(record: Dict, text: str) -> None:
    """What a case says about itself: the raw API's phase times, layertools' summary line."""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("BENCH-PHASES "):
            record["phases"] = json.loads(line[len("BENCH-PHASES "):])
        elif record["engine"] == "layertools" and line:
            summary = _SUMMARY.search(line)
            if summary:
                record["strategy_used"] = summary.group(1)
                record["phases"] = {"read_s": float(summary.group(3)),
                                    "compute_s": float(summary.group(2)),
                                    "write_s": float(summary.group(4))}
            if line.startswith("auto:"):
                record["chosen"] = line[:240]


def xor_group(records: List[Dict], python: str, args, log_dir: str) -> None:
    """XOR every successful result of one file and expression against the group's reference."""
    candidates = [r for r in records if r["ok"] and r.get("output") and os.path.exists(r["output"])]
    if not candidates:
        return
    reference = candidates[0]
    for preference in REFERENCE_PREFERENCE:
        match = [r for r in candidates if r["id"].endswith("/" + preference)]
        if match:
            reference = match[0]
            break
    # Hierarchical results compare in seconds, flat ones can take minutes: cheap ones first, so
    # a group that runs out of time still has most of its verdicts.
    others = sorted((r for r in candidates if r is not reference),
                    key=lambda r: 0 if r["mode"] in ("deep", "auto") else 1)
    reference["xor"] = {"reference": True}
    if not others:
        return
    outcomes, measured = check_in_child(
        reference["output"], [r["output"] for r in others], python, layer=f"{TARGET[0]}/{TARGET[1]}",
        timeout_s=args.xor_timeout, max_rss_bytes=int(args.max_rss * 1e9),
        log_prefix=os.path.join(log_dir, reference["id"].replace("/", "__") + ".xor"))
    for record in others:
        record["xor"] = outcomes[record["output"]]
    first = others[0]["xor"]
    if "reference_area_um2" in first:
        reference["xor"].update(area_um2=first["reference_area_um2"],
                                flat_shapes=first["reference_flat_shapes"])
    same = sum(1 for r in others if r["xor"].get("equal"))
    _log(f"      XOR against {reference['id']}: {same} of {len(others)} identical "
         f"({measured.wall_s:.1f} s)")
    for record in others:
        if not record["xor"].get("equal"):
            detail = record["xor"].get("error") or (f"{record['xor'].get('xor_polygons')} polygons, "
                                                    f"{record['xor'].get('xor_area_um2', 0):.4g} µm²")
            _log(f"      DIFFERS: {record['id']}: {detail}")


def _save(run: Dict, paths: Dict[str, str]) -> None:
    with open(paths["json"] + ".tmp", "w") as handle:
        json.dump(run, handle, indent=1)
    os.replace(paths["json"] + ".tmp", paths["json"])
    with open(paths["md"] + ".tmp", "w") as handle:
        handle.write(render(run))
    os.replace(paths["md"] + ".tmp", paths["md"])


def _log(message: str) -> None:
    print(message, flush=True)


if __name__ == "__main__":
    sys.exit(main())
