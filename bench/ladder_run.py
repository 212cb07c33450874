#!/usr/bin/env python3
"""Run the scale ladder: every layertools strategy, auto, KLayout's DRC modes and Xic on each case.

Each run is one fresh process measured by ``runner.measure`` (wall, user+sys CPU of the child, peak
RSS from ``wait4``) with a time-out; a run that times out is recorded as "timed out after N s", and
the same engine is then not started on the larger sizes of that family (recorded as skipped, with
the size where it timed out).  Runs under 30 s are made twice.  Every result is XOR-checked against
KLayout DRC deep, or against layertools deep where DRC deep did not finish (the record says which).

    LAYERTOOLS_DATA=../shared/data python3 bench/ladder_run.py                    # the whole ladder
    python3 bench/ladder_run.py --cases array_1,fill_1000 --engines lt-auto,drc-deep  # a selection
    python3 bench/ladder_run.py --list

Writes ``bench/results/ladder/ladder.json`` (every run, rewritten after each) and ``ladder.md``;
``bench/ladder_plot.py`` draws doc/images/ladder.png and prints the growth exponents from the JSON.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
sys.path.insert(0, BENCH_DIR)

import ladder  # noqa: E402
from drc import drc_script  # noqa: E402
from expressions import WORKLOADS, Binary, Expr, L  # noqa: E402
from ladder_report import ENGINES  # noqa: E402
from machine import machine_info  # noqa: E402
from runner import measure  # noqa: E402
from xorcheck import check_in_child  # noqa: E402

TARGET = "1000/0"
XIC = os.environ.get("XIC_BIN", "/tmp/xic-install/xictools/bin/xic")
XIC_SCRIPT = os.environ.get("XIC_LEXPR", "/work/shared/tools/xic/xic_lexpr.py")
RESULTS = os.path.join(BENCH_DIR, "results", "ladder")
#: A second run is made of every configuration faster than this (the machine is shared).
REPEAT_BELOW_S = 30.0

MAIN_ENGINES = tuple(e for e in ENGINES if e != "lt-auto-ro")
#: Engines that write GDS: Xic's wrapper writes GDS only, and lt-auto-gds is auto writing the same
#: format, for a like-for-like comparison (tt06: GDS 0.7 s, OASIS 1.8 s to write in KLayout).
GDS_OUT = ("xic", "lt-auto-gds")

SKY130_MIX = WORKLOADS["sky130"]["mix"].expr
FILL_EXPR = Binary("-", L("2/0"), L("1/0"))


@dataclass
class LadderCase:
    name: str
    family: str            # array, fill, flattened, or "today" for the existing files
    size: int
    expr: Expr
    source: str            # a file in DATA, or "" for a generated ladder case
    engines: Tuple[str, ...] = MAIN_ENGINES
    timeout_s: float = 120.0
    #: DRC deep runs this often (its own spread is the yardstick of the headline ratios)
    drc_deep_runs: int = 2

    def path(self, data: str, ladder_dir: str) -> str:
        if self.source:
            return os.path.join(data, self.source)
        return ladder.write(self.family, self.size, ladder_dir)


def ladder_cases() -> List[LadderCase]:
    """In the order they run: small sizes first, then today's cases, then the big sizes."""
    fam = lambda family, size, **kw: LadderCase(f"{family}_{size}", family, size,  # noqa: E731
                                                FILL_EXPR if family == "fill" else SKY130_MIX, "", **kw)
    headline = ("lt-flat", "lt-tiled", "lt-deep", "lt-auto", "lt-auto-ro", "lt-auto-t1",
                "drc-flat", "drc-deep", "drc-tiled", "xic", "lt-auto-gds")
    return [
        fam("array", 1), fam("flattened", 1), fam("fill", 1000), fam("array", 4), fam("flattened", 4),
        LadderCase("vexriscv", "today", 0, Binary("&", L("10/0"), L("11/0")), "vexriscv.oas.gz"),
        LadderCase("tt06", "today", 0, SKY130_MIX, "tt06_tiles_assembly.gds.gz", headline,
                   timeout_s=150.0, drc_deep_runs=3),
        LadderCase("rm8192", "today", 0, WORKLOADS["sg13g2"]["mix"].expr,
                   "RM_IHPSG13_1P_8192x32_c4.gds.gz", headline, timeout_s=75.0, drc_deep_runs=3),
        fam("fill", 3000, timeout_s=150.0),
        fam("array", 12, timeout_s=150.0), fam("flattened", 12, timeout_s=150.0),
        # 1.16e8 boxes: the strategies cost ~60 s per 10^7 boxes here, so only auto gets the time
        fam("fill", 10000, engines=("lt-auto",), timeout_s=1500.0),
    ]


def xic_expression(text: str) -> str:
    """Layers in Xic's quoted decimal form ``"L,D"``.  xic_lexpr.py's ``LxDy`` form becomes a hex
    name, and an all-digit one (8/0 is ``0800``) is read as a number: ``1300 - 0800`` fails to parse."""
    return re.sub(r"\b(\d+)/(\d+)\b", r'"\1,\2"', text)


def command(engine: str, case: LadderCase, input_path: str, output: str, work_dir: str,
            python: str, klayout: str) -> Tuple[List[str], Dict[str, str]]:
    """argv and environment of one run."""
    env = dict(os.environ)
    text = _strip(case.expr.xic())
    if engine.startswith("lt-"):
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.join(REPO, "python"), env.get("PYTHONPATH")]))
        argv = [python, "-m", "layertools", "eval", input_path, text, "--to", TARGET, "-o", output]
        argv += {"lt-flat": ["--strategy", "flat"],
                 "lt-tiled": ["--strategy", "tiled", "--partition", "100", "--threads", "2"],
                 "lt-deep": ["--strategy", "deep", "--threads", "2"],
                 "lt-auto": ["--strategy", "auto", "--threads", "2"],
                 "lt-auto-ro": ["--strategy", "auto", "--threads", "2", "--result-only"],
                 "lt-auto-gds": ["--strategy", "auto", "--threads", "2"],
                 "lt-auto-t1": ["--strategy", "auto", "--threads", "1"]}[engine]
        return argv, env
    if engine.startswith("drc-"):
        mode = engine[4:]
        script = os.path.join(work_dir, f"{case.name}.{mode}.drc")
        with open(script, "w") as handle:
            handle.write(drc_script(case.expr, mode, to=(1000, 0), partition=100.0,
                                    threads=2 if mode == "tiled" else 0, title=f"{case.name} {mode}"))
        home = os.path.join(work_dir, "klayout_home")   # no user configuration takes part
        os.makedirs(home, exist_ok=True)
        env["KLAYOUT_HOME"] = home
        return [klayout, "-b", "-r", script, "-rd", f"input={input_path}", "-rd", f"output={output}"], env
    if engine == "xic":
        return [python, XIC_SCRIPT, input_path, output, "--expr", xic_expression(text), "--target", TARGET,
                "--depth", "all", "--xic", XIC], env
    raise ValueError(f"unknown engine {engine!r}")


def _strip(text: str) -> str:
    from expressions import _strip as strip
    return strip(text)


def layer_counts(path: str, expr: Expr) -> Dict[str, int]:
    """Flat and stored shapes (and points) on the layers the expression reads, viewer-mode read."""
    sys.path.insert(0, os.path.join(REPO, "python"))
    import klayout.db as db

    from layertools.stats import layout_statistics
    options = db.LoadLayoutOptions()
    layer_map = db.LayerMap()
    for number, (layer, datatype) in enumerate(sorted(expr.layers())):
        layer_map.map(db.LayerInfo(layer, datatype), number)
    options.layer_map = layer_map
    options.create_other_layers = False
    layout = db.Layout(False)
    layout.read(path, options)
    stats = layout_statistics(layout, layout.top_cell(), layers=list(layout.layer_indexes()))
    return {"flat_shapes": stats.shapes_flat.total, "stored_shapes": stats.shapes_stored.total,
            "flat_points": stats.points_flat, "stored_points": stats.points_stored,
            "file_bytes": os.path.getsize(path)}


def xor_check(reference: str, candidates: List[str], python: str, timeout_s: float,
              log_prefix: Optional[str] = None) -> Dict[str, Dict]:
    """candidate path -> xorcheck's verdict (``equal``, areas, shape counts), in a child process."""
    verdicts, _ = check_in_child(reference, candidates, python, layer=TARGET, timeout_s=timeout_s,
                                 max_rss_bytes=int(8e9), log_prefix=log_prefix)
    return verdicts


def run_case(case: LadderCase, engines, args, run: Dict, skips: Dict[Tuple[str, str], str]) -> Dict:
    record = {"case": case.name, "family": case.family, "size": case.size, "expression": _strip(case.expr.xic()),
              "engines": {}}
    run["cases"].append(record)
    if case.source:
        input_path = case.path(args.data, args.ladder_dir)
    else:
        measured = measure([args.python, os.path.join(BENCH_DIR, "ladder.py"), "--family", case.family,
                            "--size", str(case.size), "--out", args.ladder_dir], timeout_s=600,
                           max_rss_bytes=int(6e9))
        record["generate"] = {"wall_s": measured.wall_s, "peak_rss_bytes": measured.peak_rss_bytes,
                              "ok": measured.ok, "failure": measured.failure()}
        if not measured.ok:
            _log(f"{case.name}: generating failed: {measured.failure()}")
            return record
        input_path = measured.stdout_tail.strip().splitlines()[-1]
    if case.source.endswith(".gz"):   # Xic reads plain files; the others get the same input
        plain = os.path.join(args.ladder_dir, case.source[:-3])
        if not os.path.exists(plain):
            subprocess.run(f"gzip -dc {_q(input_path)} > {_q(plain)}.part && mv {_q(plain)}.part {_q(plain)}",
                           shell=True, check=True)
        input_path = plain
    record["input"] = input_path
    record.update(layer_counts(input_path, case.expr))
    _log(f"{case.name}: {record['flat_shapes']:,} flat / {record['stored_shapes']:,} stored shapes on the layers read")
    _save(run, args)
    work = os.path.join(args.work, case.name)
    os.makedirs(work, exist_ok=True)
    outputs = {}
    for engine in engines:
        if engine not in case.engines:
            continue
        entry = {"label": ENGINES[engine], "runs": []}
        record["engines"][engine] = entry
        skip = skips.get((case.family, engine)) if case.family != "today" else None
        if skip:
            entry["skipped"] = skip
            _log(f"{case.name} {engine}: skipped ({skip})")
            continue
        if time.time() > args.stop_at:
            entry["skipped"] = "not run: the ladder's time budget was spent"
            continue
        output = os.path.join(work, f"{engine}.{'gds' if engine in GDS_OUT else 'oas'}")
        argv, env = command(engine, case, input_path, output, work, args.python, args.klayout)
        entry["argv"] = argv
        wanted = case.drc_deep_runs if engine == "drc-deep" else 1
        while len(entry["runs"]) < max(wanted, 1) or (
                len(entry["runs"]) < 2 and entry["runs"][-1]["ok"] and entry["runs"][-1]["wall_s"] < REPEAT_BELOW_S):
            if os.path.exists(output):
                os.unlink(output)
            measured = measure(argv, env=env, timeout_s=case.timeout_s, max_rss_bytes=int(args.max_rss * 1e9),
                               log_prefix=os.path.join(work, f"{engine}.{len(entry['runs'])}"))
            ok = measured.ok and os.path.exists(output)
            text = measured.stdout_tail + measured.stderr_tail
            if engine == "xic" and "xic: OK" not in text:
                ok = False
            failure = measured.failure() or ("" if ok else (text.strip().splitlines() or ["no output"])[-1][:200])
            if "time limit" in measured.killed:
                failure = f"timed out after {case.timeout_s:.0f} s"
            entry["runs"].append({"wall_s": measured.wall_s, "cpu_s": measured.user_s + measured.sys_s,
                                  "peak_rss_bytes": measured.peak_rss_bytes, "ok": ok, "failure": failure,
                                  "load_before": [round(x, 2) for x in measured.load_before],
                                  "load_after": [round(x, 2) for x in measured.load_after],
                                  "chosen": next((line[:300] for line in text.splitlines()
                                                  if line.startswith("auto:")), "")})
            _log(f"{case.name} {engine:11s} {measured.wall_s:7.2f} s cpu {measured.user_s + measured.sys_s:7.2f} s "
                 f"{measured.peak_rss_bytes / 1e6:7.0f} MB load {measured.load_before[0]:.2f} "
                 f"{'ok' if ok else 'FAILED ' + failure}")
            _save(run, args)
            if not ok:
                break
        if entry["runs"] and entry["runs"][-1]["ok"]:
            outputs[engine] = output
        elif entry["runs"] and not entry["runs"][-1]["ok"]:
            skips[(case.family, engine)] = f"{entry['runs'][-1]['failure']} at {case.name}"
    _xor_case(record, outputs, args, work)
    _save(run, args)
    unfinished = any((entry.get("xor") or {}).get("error") for entry in record["engines"].values())
    for output in outputs.values():   # outputs whose XOR check did not finish stay for a re-check
        if os.path.exists(output) and not args.keep_outputs and not unfinished:
            os.unlink(output)
    return record


def _xor_case(record: Dict, outputs: Dict[str, str], args, work: str) -> None:
    """XOR every result against DRC deep, or against layertools deep where DRC deep did not finish."""
    reference = next((engine for engine in ("drc-deep", "lt-deep", "lt-auto") if engine in outputs), None)
    if reference is None:
        return
    record["xor_reference"] = reference
    candidates = [path for engine, path in outputs.items() if engine != reference]
    if not candidates:
        return
    verdicts = xor_check(outputs[reference], candidates, args.python, args.xor_timeout,
                         log_prefix=os.path.join(work, "xor"))
    for engine, path in outputs.items():
        if engine != reference:
            verdict = verdicts[path]
            record["engines"][engine]["xor"] = {key: verdict.get(key) for key in (
                "equal", "xor_area_um2", "area_um2", "reference_area_um2", "flat_shapes", "error")}
            if verdict.get("equal"):
                outcome = "identical"
            elif verdict.get("error"):
                outcome = "not completed: " + verdict["error"]
            else:
                outcome = "DIFFERS " + str(verdict.get("xor_area_um2"))
            _log(f"{record['case']} {engine}: XOR against {reference}: {outcome}")


def _q(path: str) -> str:
    import shlex
    return shlex.quote(path)


def _save(run: Dict, args) -> None:
    os.makedirs(args.results, exist_ok=True)
    path = os.path.join(args.results, "ladder.json")
    with open(path + ".part", "w") as handle:
        json.dump(run, handle, indent=1)
    os.replace(path + ".part", path)
    from ladder_report import render
    with open(os.path.join(args.results, "ladder.md"), "w") as handle:
        handle.write(render(run))


def _log(message: str) -> None:
    print(f"[{_dt.datetime.utcnow():%H:%M:%S}] {message}", flush=True)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    parser.add_argument("--cases", help="comma-separated case names (default: all, in order)")
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated engine ids")
    parser.add_argument("--list", action="store_true", help="print the cases and engines and exit")
    parser.add_argument("--data", default=ladder.DATA)
    parser.add_argument("--ladder-dir", default="/tmp/layertools-ladder", help="generated layouts (a cache)")
    parser.add_argument("--work", default="/tmp/layertools-ladder/work", help="outputs, scripts, logs")
    parser.add_argument("--results", default=RESULTS)
    parser.add_argument("--budget", type=float, default=70.0, help="start no run after this many minutes")
    parser.add_argument("--timeout", type=float, help="seconds per run, replacing every case's own time-out")
    parser.add_argument("--max-rss", type=float, default=6.0, help="kill a run above this many GB resident")
    parser.add_argument("--xor-timeout", type=float, default=300.0)
    parser.add_argument("--keep-outputs", action="store_true")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--klayout", default=shutil.which("klayout") or "/usr/bin/klayout")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    cases = ladder_cases()
    if args.cases:
        wanted = args.cases.split(",")
        unknown = sorted(set(wanted) - {case.name for case in cases})
        if unknown:
            print(f"unknown case(s): {', '.join(unknown)}", file=sys.stderr)
            return 2
        cases = [case for case in cases if case.name in wanted]
    if args.timeout:
        for case in cases:
            case.timeout_s = args.timeout
    engines = [engine for engine in args.engines.split(",") if engine]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        print(f"unknown engine(s): {', '.join(unknown)}; known: {', '.join(ENGINES)}", file=sys.stderr)
        return 2
    if args.list:
        for case in cases:
            runs = " ".join(e for e in engines if e in case.engines)
            print(f"{case.name:14s} timeout {case.timeout_s:5.0f} s  {runs}")
        return 0
    args.stop_at = time.time() + args.budget * 60
    run = {"started": f"{_dt.datetime.utcnow():%Y-%m-%d %H:%M} UTC",
           "machine": machine_info(args.python, args.klayout, REPO),
           "command": " ".join(sys.argv), "cases": []}
    skips: Dict[Tuple[str, str], str] = {}
    for case in cases:
        if time.time() > args.stop_at:
            _log(f"{case.name}: not run (time budget spent)")
            continue
        run_case(case, engines, args, run, skips)
    run["finished"] = f"{_dt.datetime.utcnow():%Y-%m-%d %H:%M} UTC"
    _save(run, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
