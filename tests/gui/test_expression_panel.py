"""The Layer Expression dock in the real KLayout application (Debian 0.28.5 under Xvfb).

Each test runs one guarded script from ``expression_panel_scripts/`` through ``harness.run_klayout``
and asserts on the values it emitted.  Expectations are computed inside the application with plain
KLayout Regions (never with layertools), so an engine or panel mistake shows up as a non-empty XOR.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from harness import data_file

SCRIPTS = Path(__file__).resolve().parent / "expression_panel_scripts"
LAYOUT = "tt_um_obriensp_be8.gds.gz"


def _script(name: str) -> str:
    return str(SCRIPTS / name)


def test_evaluate_undo_redo_error_fast_cancel(klayout_gui):
    run = klayout_gui(_script("evaluate_undo.py"), layout=data_file(LAYOUT), timeout=180)
    run.check()
    r = run.result

    assert all(r["controls"].values()), f"missing controls: {r['controls']}"
    assert r["controls"]["expression"] == "QPlainTextEdit" and r["controls"]["evaluate"] == "QPushButton"

    # None greys the spin box; releasing it restores the previous value.
    assert r["partition_none"]["while_none"] == [False, None]
    assert r["partition_none"]["after"] == [True, 37.5]

    # met1 & met2 of a routed block overlap a lot; the result equals an independent Region AND.
    assert r["expected_area_um2"] > 1000
    assert r["result_layer_exists"]
    assert r["xor_polygons"] == 0
    assert r["result_area_um2"] == pytest.approx(r["expected_area_um2"])
    assert "shapes written to 100/0" in r["status_after_evaluate"]
    # Visible in the layer panel, with a real colour (an entry without colours is drawn black).
    (visible, colour), = r["layer_panel_after_evaluate"]
    assert visible and colour != 0
    assert r["undo_enabled_after_evaluate"]

    # One undo takes back the layer, its shapes and the layer-panel entry; redo re-applies.
    assert not r["after_undo"]["layer_exists"] or r["after_undo"]["area"] == 0
    assert r["after_undo"]["panel_entries"] == 0
    assert r["after_undo"]["fingerprint_equal_before"]
    assert r["after_redo"] == {"xor_polygons": 0, "panel_entries": 1}

    # An expression error: nothing written, message with the column, offending text selected.
    err = r["error_case"]
    assert err["error_type"] == "ExpressionError"
    assert err["layout_unchanged"] and not err["layer_101_exists"]
    assert err["text_kept"]
    position = err["position"]
    assert position == "68/20 & | 69/20".index("|")
    assert err["selection"] == [position, position + 1] and err["selected_text"] == "|"
    assert f"column {position + 1}" in err["status"]
    assert "^" in err["status"]
    assert r["undo_after_error_removes_result"]

    # Fast mode: correct result, no undo, and the panel says so.
    fast = r["fast"]
    assert fast["xor_polygons"] == 0
    assert not fast["undo_enabled"]
    assert "not undoable" in fast["status"].lower()
    assert not fast["merge_enabled"]

    # Cancel during the run: layout unchanged, no layer created, status says cancelled.
    cancel = r["cancel"]
    assert cancel["progress_calls"] >= 1
    assert cancel["error_type"] == "Cancelled"
    assert cancel["layout_unchanged"] and not cancel["layer_103_exists"]
    assert "cancel" in cancel["status"].lower()
