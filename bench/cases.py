"""The benchmark's files and case matrix, and the command line of each case.

A case is one process: one engine (layertools, KLayout's DRC engine, or the raw-API baseline) in one
mode on one file and one expression.  ``Case.command`` builds its argv; everything else (timing,
XOR checks, the report) is the runner's business.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from drc import drc_script
from expressions import WORKLOADS, Workload

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH_DIR)
TARGET = (1000, 0)


@dataclass(frozen=True)
class BenchFile:
    label: str
    name: str         # file name in shared/data
    tech: str         # key of expressions.WORKLOADS
    description: str
    #: Flat evaluation is very slow here (39 M flat shapes): run the flat-mode baselines and the
    #: scaling series only where they say something new, so the full run fits in half an hour.
    lean: bool = False


FILES: Dict[str, BenchFile] = {f.label: f for f in (
    BenchFile("tt06", "tt06_tiles_assembly.gds.gz", "sky130",
              "191 TinyTapeout 6 tiles: 3.1 M stored / 21.6 M flat shapes, 222 MB GDS"),
    BenchFile("rm8192", "RM_IHPSG13_1P_8192x32_c4.gds.gz", "sg13g2",
              "IHP SRAM macro: 6.6 k stored / 39 M flat shapes, 7 levels of arrays", lean=True),
    # --quick: small files of the same technologies, same expressions
    BenchFile("tt_be8", "tt_um_obriensp_be8.gds.gz", "sky130",
              "one TinyTapeout 6 tile: 58 k stored shapes"),
    BenchFile("rm1024", "RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz", "sg13g2",
              "small IHP SRAM macro: 4.4 k stored shapes, 7 levels"),
)}
FULL_FILES = ("tt06", "rm8192")
QUICK_FILES = ("tt_be8", "rm1024")

#: engine id -> (label for the report, KLayout it runs on)
ENGINES = {
    "layertools": "layertools CLI",
    "drc": "KLayout DRC",
    "api": "Python API",
    "api-app": "Python API (app)",
}
GROUPS = ("main", "threads", "partition", "overhead")


@dataclass(frozen=True)
class Case:
    file: BenchFile
    workload: Workload
    engine: str                      # key of ENGINES
    mode: str                        # flat, deep, tiled, auto
    partition: Optional[float] = None
    threads: int = 0
    group: str = "main"
    #: layertools with JoinMaxPolyVerts off (``--join-max-verts 0``): the engine without the D8
    #: breaking pass, which the raw-API baseline does not do either
    no_break: bool = False

    @property
    def id(self) -> str:
        parts = [self.engine, self.mode]
        if self.mode == "tiled":
            parts.append("pnone" if self.partition is None else f"p{self.partition:g}")
            parts.append(f"t{self.threads}")
        elif self.threads:
            parts.append(f"t{self.threads}")
        if self.no_break:
            parts.append("j0")
        return f"{self.file.label}/{self.workload.name}/{'-'.join(parts)}"

    @property
    def slug(self) -> str:
        return self.id.replace("/", "__")

    def command(self, input_path: str, output_path: str, work_dir: str, *, python: str,
                klayout: str) -> tuple:
        """(argv, environment) of this case's process."""
        env = dict(os.environ)
        if self.engine == "layertools":
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.path.join(REPO, "python"),
                                                              env.get("PYTHONPATH")]))
            argv = [python, "-m", "layertools", "eval", input_path, self.workload.xic,
                    "--to", f"{TARGET[0]}/{TARGET[1]}", "-o", output_path, "--strategy", self.mode]
            if self.mode == "tiled":
                argv += ["--partition", "none" if self.partition is None else f"{self.partition:g}",
                         "--threads", str(self.threads)]
            elif self.mode == "deep" and self.threads:
                argv += ["--threads", str(self.threads)]
            if self.no_break:
                argv += ["--join-max-verts", "0"]
            return argv, env
        if self.engine == "drc":
            script = os.path.join(work_dir, self.slug + ".drc")
            with open(script, "w") as handle:
                handle.write(drc_script(self.workload.expr, self.mode, to=TARGET,
                                        partition=self.partition, threads=self.threads,
                                        title=self.id))
            env["KLAYOUT_HOME"] = _empty_home(work_dir)
            return [klayout, "-b", "-r", script, "-rd", f"input={input_path}",
                    "-rd", f"output={output_path}"], env
        if self.engine in ("api", "api-app"):
            env["LAYERTOOLS_BENCH_JOB"] = json.dumps({
                "input": input_path, "output": output_path, "tech": self.file.tech,
                "workload": self.workload.name, "mode": self.mode, "partition": self.partition,
                "threads": self.threads, "to": list(TARGET), "bench_dir": BENCH_DIR})
            script = os.path.join(BENCH_DIR, "api_baseline.py")
            if self.engine == "api":
                return [python, script], env
            env["KLAYOUT_HOME"] = _empty_home(work_dir)
            return [klayout, "-b", "-r", script], env
        raise ValueError(f"unknown engine {self.engine!r}")


def _empty_home(work_dir: str) -> str:
    """A private KLAYOUT_HOME, so no user configuration or installed package takes part."""
    home = os.path.join(work_dir, "klayout_home")
    os.makedirs(home, exist_ok=True)
    return home


def build_cases(file_labels: Sequence[str], workloads: Sequence[str], engines: Sequence[str],
                groups: Sequence[str]) -> List[Case]:
    """The case matrix, in run order: file by file, expression by expression."""
    cases: List[Case] = []
    for label in file_labels:
        bench_file = FILES[label]
        for name in workloads:
            workload = WORKLOADS[bench_file.tech][name]
            matrix: List[Case] = []
            # The raw-API baselines in flat and tiled mode measure the engine's overhead; the
            # boolean mix is enough for that on a lean file.  The application's Python API (0.28.5)
            # separates KLayout's version from the engine's design; the mix is enough there too.
            raw_flat = not bench_file.lean or name == "mix"
            if "main" in groups:
                matrix += [
                    Case(bench_file, workload, "drc", "flat"),
                    Case(bench_file, workload, "drc", "deep"),
                    Case(bench_file, workload, "drc", "tiled", 100.0, 2),
                    Case(bench_file, workload, "layertools", "flat"),
                    Case(bench_file, workload, "layertools", "deep"),
                    Case(bench_file, workload, "layertools", "tiled", 100.0, 2),
                    Case(bench_file, workload, "layertools", "auto"),
                ]
                if raw_flat:
                    matrix.append(Case(bench_file, workload, "api", "flat"))
                matrix.append(Case(bench_file, workload, "api", "deep"))
                if raw_flat:
                    matrix.append(Case(bench_file, workload, "api", "tiled", 100.0, 2))
                if name == "mix":
                    matrix.append(Case(bench_file, workload, "api-app", "deep"))
                    if not bench_file.lean:
                        matrix.append(Case(bench_file, workload, "api-app", "tiled", 100.0, 2))
            scaling = name == "mix" and not bench_file.lean
            if "threads" in groups and scaling:
                matrix += [Case(bench_file, workload, "layertools", "tiled", 100.0, t, "threads")
                           for t in (0, 1, 2)]
                matrix += [Case(bench_file, workload, "api", "tiled", 100.0, t, "threads")
                           for t in (0, 1, 2)]
            if "overhead" in groups and scaling:
                # where the engine's time goes against the raw API: the D8 breaking pass or the rest
                matrix += [Case(bench_file, workload, "layertools", mode, partition, threads, "overhead",
                                no_break=True)
                           for mode, partition, threads in (("flat", None, 0), ("tiled", 100.0, 2))]
            if "partition" in groups and scaling:
                matrix += [Case(bench_file, workload, "layertools", "tiled", p, 2, "partition")
                           for p in (50.0, 100.0, 200.0, 500.0, None)]
            seen = set()
            for case in matrix:  # the scaling groups repeat main cases: run each once
                if case.engine in engines and case.id not in seen:
                    seen.add(case.id)
                    cases.append(case)
    return cases


def priority(case: Case) -> int:
    """1: the strategies side by side on the boolean mix; 2: the other expressions; 3: the rest
    (scaling series, version comparison, heavy raw-API flat baselines).  A time budget cuts 3 first."""
    if case.engine == "layertools" and case.mode == "tiled" and case.threads == 0 \
            and case.partition == 100.0:
        return 1  # the thread-scaling target (threads=2 at least 1.7x threads=0) needs it
    if case.group != "main" or case.engine == "api-app":
        return 3
    if case.workload.name == "mix":
        return 3 if (case.engine == "api" and case.file.lean and case.mode != "deep") else 1
    return 3 if (case.engine == "api" and case.mode != "deep") else 2


def python_executable() -> str:
    """The real interpreter (not a pyenv shim), so the measured process is Python itself."""
    return os.path.realpath(sys.executable)
