"""The Memory panel in the real application (KLayout 0.28.5 under Xvfb)."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

from conftest import data_file  # tests/conftest.py
from layertools.engine.cost import FLAT_BYTES_PER_POINT

SCRIPT = Path(__file__).with_name("memory_panel_script.py")
_LINE = re.compile(r"^\s*(Layout info|Cell info|Instances|Shapes info|Total)\s*: (\d+) \(used\) (\d+) \(reqd\)$")


def _d31_block(stdout: str) -> dict:
    """The first master block KLayout printed with -d 31 (the one for the file on the command line)."""
    block: dict = {}
    for line in stdout.splitlines():
        match = _LINE.match(line)
        if match:
            block[match.group(1)] = {"used": int(match.group(2)), "reqd": int(match.group(3))}
            if match.group(1) == "Total":
                break
    return block


def _png_size(path) -> tuple[int, int]:
    with open(path, "rb") as stream:
        head = stream.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_memory_panel_in_the_application(klayout_gui):
    first = data_file("RM_IHPSG13_1P_8192x32_c4.gds.gz")   # 39 M flat shapes: must not be flattened
    second = data_file("vexriscv.oas.gz")
    run = klayout_gui(SCRIPT, layout=first, editable=False, extra_args=["-d", "31"],
                      params={"second": str(second.resolve())}, timeout=180, name="memory_panel")
    run.check()
    result = run.result

    assert result["is_memory_dock"] and result["hidden_before_show"] and not result["report_before_show"]
    assert result["refreshed_on_show"]
    # The panel's numbers are KLayout's own -d 31 block for this file, in the same application.
    d31 = _d31_block(run.stdout)
    assert set(d31) == {"Layout info", "Cell info", "Instances", "Shapes info", "Total"}, run.stdout[-2000:]
    panel = {name: result["panel_categories"][name] for name in d31}
    # Measured: between loading and the first script, the application itself (also without layertools
    # installed) adds a few bytes to "Layout info" used (88 here; allocated unchanged).  Everything
    # else is identical; the exact equality with -d 31 is tested in batch mode (test_memstat_app.py).
    drift = panel["Layout info"]["used"] - d31["Layout info"]["used"]
    assert 0 <= drift <= 256, (panel, d31)
    assert panel["Total"]["used"] - d31["Total"]["used"] == drift
    for name in ("Cell info", "Instances", "Shapes info"):
        assert panel[name] == d31[name], name
    assert panel["Layout info"]["reqd"] == d31["Layout info"]["reqd"] and panel["Total"]["reqd"] == d31["Total"]["reqd"]
    assert result["at_script_start"] == result["panel_categories"]   # the panel itself changed nothing
    assert result["same_process_categories"] == result["panel_categories"]
    assert result["panel_mode_editable"] is False
    assert (result["stored_shapes"], result["flat_shapes"]) == (6_640, 39_163_608)   # SOURCES.md
    assert result["refresh_seconds"] < 5.0, result["refresh_seconds"]
    assert result["chart_pixmap_width"] >= 300
    assert "RM_IHPSG13_1P_8192x32_c4.gds.gz" in result["summary_text"] and "viewer mode" in result["summary_text"]
    assert result["hierarchy_shapes_row"] == ["shapes", "6,640", "39,163,608"]
    assert [row[0] for row in result["category_rows"]] == ["Layout info", "Cell info", "Instances", "Shapes info",
                                                           "Total"]
    assert result["category_rows"][-1][1] == f"{panel['Total']['used']:,}"
    assert "Suggested strategy (all layers): deep" in result["advice_text"]

    # the layer selected in the layer list gets its own estimate (8/0: 6,612,111 flat shapes)
    assert result["selected_in_view"] == ["8/0"] and result["selection_labels"] == ["8/0"]
    assert result["selection_strategy"] == "deep"
    # the flat estimate's floor is the cost model's bytes per flat point: at least 4 points per shape
    assert result["selection_flat_low_bytes"] >= FLAT_BYTES_PER_POINT * 6_612_111 * 4
    assert result["detailed_type_rows"] > 10 and result["detailed_layers"][0][3] != "-"

    json_path, yaml_path = (Path(p) for p in result["exports"])
    exported = json.loads(json_path.read_text())
    assert exported["categories"]["Total"] == result["panel_categories"]["Total"]
    assert exported["hierarchy"]["shapes_flat"]["total"] == 39_163_608
    assert "Shapes info" in yaml_path.read_text()

    assert result["followed_new_view"] and result["followed_back"]
    assert result["second_categories"] == result["second_same_process"]
    assert result["second_flat_shapes"] == 2_526_348
    assert result["repeat_stable"]

    assert result["no_layout_report_none"] and result["no_layout_summary"] == "No layout open"
    assert result["no_layout_export_enabled"] is False
    assert "no layout is open" in result["no_layout_export_error"]

    assert result["views_after_uninstall"] == 2
    assert "layertools memory panel" not in run.stderr  # no slot failed, before or after uninstall

    width, height = _png_size(next(p for p in result["_screenshots"] if p.endswith("memory_panel_main.png")))
    assert width >= 1200 and height >= 800
