"""The report equals KLayout's own ``-d 31`` block, in the same application and version (Debian's 0.28.5).

Both sides load the file in batch mode (``klayout -b``): ``-b`` means ``-zz -nc -rx``, i.e. no
configuration, hence KLayout's default viewer mode (measured: ``is_editable()`` is False), and the
default reader options.  ``-b -e`` loads in editor mode; ``read_with_report(editable=True)`` matches that.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest

from conftest import REPO, data_file

KLAYOUT = os.environ.get("LAYERTOOLS_KLAYOUT", "klayout")
FILES = ["amd2901.gds.gz", "vexriscv.oas.gz", "sg13g2_pr.gds.gz", "RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz",
         "caravel_routing.gds.gz"]
_LINE = re.compile(r"^\s*(Layout info|Cell info|Instances|Shapes info|Total)\s*: (\d+) \(used\) (\d+) \(reqd\)$")

APP_SCRIPT = """
import json, sys
sys.path.insert(0, {python!r})
from layertools.memstat import read_with_report
results = {{}}
for path, editable in {jobs!r}:
    layout, report = read_with_report(path, editable=editable)
    results[path + ("#editor" if editable else "")] = {{
        "block": report.statistics.master_block(), "version": report.klayout,
        "editable": layout.is_editable(), "flat": report.hierarchy.shapes_flat.total,
        "text_head": report.to_text().splitlines()[:6]}}
with open({out!r}, "w") as stream:
    json.dump(results, stream)
"""


def _klayout() -> str:
    path = shutil.which(KLAYOUT)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("the KLayout application is not installed")
        pytest.skip("the KLayout application is not installed")
    return path


def _env(tmp_path):
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {**os.environ, "KLAYOUT_HOME": str(home)}


def _d31_block(klayout: str, path: str, tmp_path, editor: bool = False) -> str:
    args = [klayout, "-b"] + (["-e"] if editor else []) + ["-d", "31", path, "-r", os.devnull]
    run = subprocess.run(args, capture_output=True, text=True, timeout=120, env=_env(tmp_path))
    lines = []
    for line in (run.stdout + run.stderr).splitlines():
        if line.strip() == "Memory usage per master category:":
            lines = [line]
        elif lines and _LINE.match(line):
            lines.append(line)
            if line.strip().startswith("Total"):
                break
    assert len(lines) == 6, f"no -d 31 block for {path}:\n{run.stdout[-3000:]}\n{run.stderr[-2000:]}"
    return "\n".join(lines) + "\n"


def test_report_equals_klayout_d31_block_in_the_same_application(tmp_path):
    klayout = _klayout()
    paths = [str(data_file(name)) for name in FILES]
    jobs = [(path, False) for path in paths] + [(paths[1], True)]  # vexriscv.oas also in editor mode
    out = tmp_path / "reports.json"
    script = tmp_path / "report.py"
    script.write_text(APP_SCRIPT.format(python=str(REPO / "python"), jobs=jobs, out=str(out)))
    run = subprocess.run([klayout, "-b", "-r", str(script)], capture_output=True, text=True, timeout=180,
                         env=_env(tmp_path))
    assert run.returncode == 0 and out.exists(), run.stdout[-2000:] + run.stderr[-2000:]
    reports = json.loads(out.read_text())

    for path in paths:
        ours = reports[path]
        assert ours["version"].startswith("0.28"), ours["version"]  # the application's own KLayout
        assert ours["editable"] is False
        assert ours["block"] == _d31_block(klayout, path, tmp_path), path
        assert ours["text_head"] == ours["block"].splitlines()  # the text output starts with the block
    editor = reports[paths[1] + "#editor"]
    assert editor["editable"] is True
    assert editor["block"] == _d31_block(klayout, paths[1], tmp_path, editor=True)
    assert editor["block"] != reports[paths[1]]["block"]  # editor mode expands the OASIS repetitions
    assert editor["flat"] == reports[paths[1]]["flat"] == 2_526_348
