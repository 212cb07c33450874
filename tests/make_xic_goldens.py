"""Write the golden results of the Xic parity tests (tests/data/xic/NAME.oas) with the real Xic.

Run by hand where Xic is built (see shared/tools/xic/README.md; about 17 minutes):

    XIC_BIN=/tmp/xic-install/xictools/bin/xic python3 tests/make_xic_goldens.py [NAME ...]

Each input of ``xic_parity_inputs.CASES`` is written as GDS, evaluated by Xic's batch mode through
shared/tools/xic/xic_lexpr.py (no partition), and only layer 100/0 of Xic's output is kept, as OASIS.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python"))
sys.path.insert(0, str(HERE))

from layertools.compat import db  # noqa: E402
from xic_parity_inputs import CASES, build  # noqa: E402

SHARED = HERE.parent.parent / "shared"
LEXPR = Path(os.environ.get("XIC_LEXPR", SHARED / "tools" / "xic" / "xic_lexpr.py"))


def xic_expression(expression: str) -> str:
    return re.sub(r"\b(\d+)/(\d+)\b", lambda m: f"L{m.group(1)}D{m.group(2)}", expression)


def make(name: str, work: Path) -> None:
    input_name, expression, mode, _, _ = CASES[name]
    source = work / f"{input_name}.gds"
    if not source.exists():
        build(input_name, SHARED / "data").write(str(source))
    result = work / f"{name}.gds"
    subprocess.run([sys.executable, str(LEXPR), str(source), str(result), "--expr", xic_expression(expression),
                    "--target", "L100D0", "--mode", mode, "--depth", "all", "--only-target"], check=True)
    layout = db.Layout()
    layout.read(str(result))
    golden = db.Layout()
    golden.dbu = layout.dbu
    top = golden.create_cell("TOP")
    index = layout.find_layer(100, 0)
    if index is not None:
        region = db.Region()
        region.merged_semantics = False
        region.insert(layout.top_cells()[0].begin_shapes_rec(index))
        top.shapes(golden.layer(100, 0)).insert(region)
    golden.write(str(HERE / "data" / "xic" / f"{name}.oas"))
    print(f"{name}: {expression} ({mode}) -> {index is not None and region.count()} pieces")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        for case in sys.argv[1:] or CASES:
            make(case, Path(tmp))
