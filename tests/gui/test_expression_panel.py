"""The Layer Expression dock in the real KLayout application (Debian 0.28.5 under Xvfb).

Each test runs one guarded script from ``expression_panel_scripts/`` through ``harness.run_klayout``
and asserts on the values it emitted.  Expectations are computed inside the application with plain
KLayout Regions (never with layertools), so an engine or panel mistake shows up as a non-empty XOR.
"""

from __future__ import annotations

import shutil
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
    assert fast["result_100_intact"], "a new layer after Undo + Redo overwrote the earlier result layer"
    assert fast["xor_polygons"] == 0
    assert not fast["undo_enabled"]
    assert "not undoable" in fast["status"].lower()
    assert not fast["merge_enabled"]

    # Deep strategy: hierarchical result (written into many cells), one undo step, redo re-applies.
    deep = r["deep"]
    assert deep["xor"] == 0 and deep["cells"] > 1 and "deep" in deep["status"], deep
    assert deep["undo_restores"] and deep["redo_xor"] == 0

    # KLayout's progress bar showed the engine's messages; its Cancel button stopped the run with
    # the layout unchanged, no layer created and no layer-panel entry.
    cancel = r["cancel"]
    assert cancel["clicked"] and cancel["timer_error"] is None, cancel
    assert cancel["progress_labels"] and cancel["progress_labels"][0].startswith("tiles: ")
    assert cancel["error_type"] == "Cancelled", cancel
    assert cancel["layout_unchanged"] and not cancel["layer_103_exists"] and cancel["panel_103"] == 0
    assert "cancel" in cancel["status"].lower()


def _flat(layout_path: Path, layer: int, datatype: int):
    import klayout.db as db
    layout = db.Layout()
    layout.read(str(layout_path))
    top = layout.top_cell()
    index = layout.find_layer(layer, datatype)
    region = db.Region()
    if index is not None:
        region.insert(top.begin_shapes_rec(index))
    return region


def test_record_save_and_replay_everywhere(klayout_gui, tmp_path):
    import subprocess
    import sys

    import yaml

    from harness import REPO, make_home, run_batch

    source = data_file(LAYOUT)
    run = klayout_gui(_script("record_replay.py"), layout=source, timeout=180)
    run.check()
    r = run.result
    assert r["recording_after_click"] is True and r["recording_after_stop"] is False
    assert r["results"] == [True, True, True]
    assert r["steps_while_recording"] == 2          # the failed evaluation is not a step
    assert "2 step" in r["record_status"]
    assert r["saved_steps"] == [2, 2]

    # The recipe holds every option of each evaluation, as the panel had them.
    recipe = yaml.safe_load((run.artifacts_dir / "recorded.yaml").read_text())
    assert recipe["layertools"] == 1
    first, second = recipe["steps"]
    assert first["expression"] == "68/20 & 69/20" and first["to"] == "100/0" and first["format"] == "joined"
    assert second["expression"] == "bloat(0.1, 100/0, 0) - 68/20" and second["to"] == "101/0"
    assert second["strategy"] == "tiled" and second["partition"] == 25.0 and second["format"] == "hsplit"
    for step in (first, second):
        assert step["depth"] == "all" and step["clear"] is True and step["fast"] is False
        assert step["cell"] is None
    macro = (run.artifacts_dir / "recorded.lym").read_text()
    assert "<interpreter>python</interpreter>" in macro and "layertools" in macro

    # Replayed in the panel: identical geometry, one undo step, layer-panel entries made.
    assert r["replay_count"] == 2, r["replay_status"]
    assert r["replay_xor"] == {"100/0": 0, "101/0": 0}
    assert r["replay_panel_entries"] == [1, 1]
    assert r["one_undo_restores"] is True
    assert r["redo_xor"] == {"100/0": 0, "101/0": 0}
    assert r["panel_areas"]["100/0"] > 0 and r["panel_areas"]["101/0"] > 0

    # A failing recipe: layout as before, the status names the failing step, no layer-panel entry.
    bad = r["bad_replay"]
    assert bad["returned"] is None and bad["unchanged"] and not bad["layer_110"] and bad["panel_110"] == 0
    assert "step 2" in bad["status"] and "999/99" in bad["status"]

    # The saved recipe with the command line, and the saved macro in KLayout batch mode.
    cli_out = tmp_path / "cli.gds"
    env = {**__import__("os").environ, "PYTHONPATH": str(REPO / "python")}
    done = subprocess.run([sys.executable, "-m", "layertools", "replay", str(run.artifacts_dir / "recorded.yaml"),
                           str(source), "-o", str(cli_out)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    batch_out = tmp_path / "batch.gds"
    home = make_home(tmp_path / "home")
    batch = run_batch(["-b", "-r", str(run.artifacts_dir / "recorded.lym"), "-rd", f"input={source}",
                       "-rd", f"output={batch_out}"], home=home, timeout=300)
    assert batch.returncode == 0, batch.stderr[-3000:]

    panel = run.artifacts_dir / "panel.gds"
    for layer in ((100, 0), (101, 0)):
        reference = _flat(panel, *layer)
        assert not reference.is_empty()
        assert (reference ^ _flat(cli_out, *layer)).is_empty(), f"{layer}: CLI replay differs from the panel"
        assert (reference ^ _flat(batch_out, *layer)).is_empty(), f"{layer}: batch replay differs from the panel"


def _session(script: str, home: Path, result: Path, layout: Path | None = None, timeout: int = 120) -> dict:
    """One application session WITHOUT ``-t``: KLayout writes its configuration to the home's
    klayoutrc on exit, which is what carries the registers into the next session.  (The harness
    always passes -t; the script guards itself and exits with its own status.)"""
    import json
    import subprocess

    from harness import KLAYOUT, REPO, klayout_env

    command = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", "timeout", "-s", "KILL", str(timeout),
               KLAYOUT, "-e", "-x", "-c", str(home / "klayoutrc")]
    if layout is not None:
        command.append(str(layout))
    command += ["-r", _script(script)]
    env = klayout_env(home, {"LT_PANEL_RESULT": str(result), "LT_PANEL_REPO": str(REPO)})
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout + 30,
                          stdin=subprocess.DEVNULL)
    data = json.loads(result.read_text()) if result.exists() else {}
    assert done.returncode == 0 and "exception" not in data, (
        f"rc={done.returncode}\n{data.get('exception', '')}\nstderr:\n{done.stderr[-3000:]}")
    return data


def test_registers_and_settings_survive_a_restart_sqz_completion(tmp_path):
    from harness import make_home, require_gui

    require_gui()
    home = make_home(tmp_path / "home")
    one = _session("session_one.py", home, tmp_path / "one.json", layout=data_file(LAYOUT))
    assert one["save3"] is True and one["save5"] is True and one["save_empty"] is False
    assert one["registers"][3] == "68/20 & !69/20" and one["registers"][5] == "bloat(0.2, 70/20, 0)"
    assert one["registers"][6] == ""
    assert one["menu_texts"][3] == "Reg 3: 68/20 && !69/20" and one["menu_texts"][0] == "Reg 0"  # && shows one &
    assert "68/20" in one["completion"] and "69/20" in one["completion"]
    assert "target layer" in one["empty_to"]["status"].lower() and one["empty_to"]["unchanged"]
    sqz = one["sqz"]
    assert sqz["picked"] == 40 and sqz["expected_area"] > 0
    assert sqz["xor"] == 0 and sqz["got_area"] == sqz["expected_area"], sqz
    assert one["sqz_nothing_selected_area"] == 0
    assert "layertools-expression-registers" in (home / "klayoutrc").read_text()
    forms = one["to_forms"]
    assert forms["RESULT"] == {"info": "RESULT", "xor": 0, "panel": 1}
    assert forms["RES2 150/0"] == {"info": "RES2 (150/0)", "xor": 0, "panel": 1}
    assert forms["panel_name_as_target"] == {"same_layer": True, "new_layers": 0}

    two = _session("session_two.py", home, tmp_path / "two.json")
    assert two["registers"][3] == "68/20 & !69/20" and two["registers"][5] == "bloat(0.2, 70/20, 0)"
    assert two["recall3"] == two["expression_after_recall"] == "68/20 & !69/20"
    assert two["recall6"] == ""
    assert two["to_layer"] == "130/0" and two["threads"] == 3
    assert "no layout is open" in two["no_layout_status"].lower() and two["no_layout_result"] is None
    assert two["menu_valid"] and two["toolbar_valid"] and two["visible_after_menu"]


def test_viewer_mode_evaluates_without_undo_and_says_so(klayout_gui):
    run = klayout_gui("""
        import os, sys
        sys.path.insert(0, os.path.join(REPO, "tests", "gui", "expression_panel_scripts"))
        import panel_common as pc
        mw = main_window()
        view = mw.current_view(); cv = view.active_cellview(); layout = cv.layout(); top = cv.cell
        dock, _ = pc.get_dock(mw, REPO)
        emit("editable", layout.is_editable())
        dock._current_view_changed()   # as when the layout's tab becomes current
        emit("status_before", dock.status_text())
        emit("fast_enabled", dock.findChild("fast").enabled)
        expected = (pc.flat_region(top, pc.layer_index(layout, 68, 20))
                    & pc.flat_region(top, pc.layer_index(layout, 69, 20)))
        dock.findChild("to_layer").text = "100/0"
        dock.set_expression("68/20 & 69/20")
        dock.findChild("evaluate").click()
        got = pc.flat_region(top, pc.layer_index(layout, 100, 0))
        emit("status", dock.status_text())
        emit("xor", (got ^ expected).count())
        emit("area", got.area())
        emit("panel", pc.layer_panel_entries(view, cv.index(), pc.layer_index(layout, 100, 0)))
        # options() / set_options() round trip, including a depth deeper than the menu's 0-5
        from layertools import EvalOptions
        wanted = EvalOptions(to="7/0", depth=7, recursive=True, strategy="deep", partition=None, threads=4,
                             clear=False, format="vsplit", merge=True, fast=True)
        dock.set_options(wanted)
        emit("round_trip", dock.options() == wanted)
        emit("partition_greyed_for_deep", not dock.findChild("partition").enabled)
    """, layout=data_file(LAYOUT), editable=False, timeout=120)
    run.check()
    r = run.result
    assert r["editable"] is False
    assert "viewer mode" in r["status"] and "not undoable" in r["status"]
    # Issue 13 bug 7: in viewer mode 0.28.5 shows no [+] and exits without asking to save (is_dirty()
    # is set, but that is all): the panel says so before the first evaluation and after each, with Save As.
    assert "Save As" in r["status_before"] and "will not ask to save" in r["status_before"]
    assert "Save As" in r["status"]
    assert r["fast_enabled"] is False   # Fast mode means nothing without undo
    assert r["xor"] == 0 and r["area"] > 0
    (visible, colour), = r["panel"]
    assert visible and colour != 0
    assert r["round_trip"] and r["partition_greyed_for_deep"]


def test_repair_of_klayouts_stale_layer_slot_after_undo_redo(tmp_path):
    import json

    from harness import REPO, make_home, require_gui, run_batch

    require_gui()
    done = run_batch(["-b", "-r", _script("free_slot_bug.py")], home=make_home(tmp_path / "home", "none"),
                     env={"LT_PANEL_REPO": str(REPO)}, timeout=60)
    line = next((l for l in done.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert done.returncode == 0 and line, done.stdout + done.stderr
    out = json.loads(line[len("RESULT "):])
    if out["version"].startswith("KLayout 0.28"):
        # The bug this guards against, as measured: the new layer takes the redone layer's slot.
        assert out["without_repair"] == {"same_slot": True, "label_of_result_slot": "102/0"}
        assert out["stale_removed"] == 1
    assert out["with_repair"] == {"same_slot": False, "label_of_result_slot": "100/0", "shapes": 1,
                                  "repair_again": 0}
    assert out["after_undo"] == ["1/0", "102/0"]


def test_panel_as_users_meet_it(klayout_gui):
    """Issue 13, driven with real X events (xdotool): Esc and Cancel during a run, colours, the wheel,
    '&' in menus, status line, threads under auto, the current result layer, errors, the shortcut."""
    from harness import REPO
    if shutil.which("xdotool") is None:
        pytest.skip("xdotool is missing (scripts/setup.sh installs it)")
    run = klayout_gui(_script("users_session.py"), layout=REPO / "samples" / LAYOUT, timeout=240)
    run.check()
    r = run.result
    first_title = r["first"]["undo_title"]
    assert r["first"]["undo"] and "100/0" in first_title

    # Bug 1: Esc cancels like Cancel: nothing written, no open transaction, history intact.
    esc = r["esc"]
    assert esc["error_type"] == "Cancelled" and "cancel" in esc["status"].lower(), esc
    assert esc["layout_unchanged"] and not esc["layer_101"] and not esc["transacting"]
    assert esc["undo"] and not esc["redo"] and esc["undo_title"] == first_title
    # Bug 4: plain Cancel leaves no undo step: undo takes back the first result, redo restores it.
    cancel = r["cancel"]
    assert cancel["clicked"] and cancel["error_type"] == "Cancelled" and cancel["layout_unchanged"]
    assert cancel["undo"] and not cancel["redo"] and cancel["undo_title"] == first_title
    assert r["history"] == {"undo_removes_first": True, "redo_restores": True}
    # Bug 6: '&' is doubled for Qt's menus (shown as one '&', not as a mnemonic underline).
    assert r["menus"]["recall_text"] == "Reg 0: 68/20 && 69/20"
    assert "68/20 && 69/20" in r["menus"]["undo_title"]
    # Bug 2: six results on the default (white) view: six different colours, none white or pale.
    colours = r["colours"]["colours"]
    assert len(colours) == 6 and len(set(colours)) == 6, colours
    from layertools.gui import view_bridge as vb
    assert all(abs(vb._luminance(c) - 1.0) >= vb.MIN_BACKGROUND_CONTRAST for c in colours), colours
    # Bug 5: the wheel over an unfocused Strategy leaves it; once the user clicked it, the wheel works.
    wheel = r["wheel"]
    assert wheel["under_pointer"] == "_WheelSafeComboBox", wheel
    assert wheel["unfocused"] == "auto" and wheel["has_focus"] and wheel["focused"] != "auto", wheel
    # Items 8, 9: status cleared on a view change; auto overriding Threads = 0 is said.
    views = r["status_after_view_change"]
    assert views["before"] and views["on_new_view"] == "" and views["before_close"] and views["after"] == ""
    assert r["threads"]["used"] != 0 and "instead of Threads = 0" in r["threads"]["status"]
    # Item 10: the new result layer is the current (scrolled-to) entry at the bottom of the list.
    assert r["current_layer"]["is_result"] and r["current_layer"]["bottom"]
    # Item 12: the closest layers, not a list of 46; thousands separators; the shortcut shows the panel.
    assert "closest: 68/20" in r["unknown_layer"] and "69/44" not in r["unknown_layer"]
    assert "24,632 shapes" in views["before"]
    assert r["shortcut_shows"]
    # The panel passes every option, join_max_poly_verts too (set by a macro: 8 vertices at most).
    assert r["join"]["option"] == 8 and r["join"]["max_vertices"] <= 8 and r["join"]["shapes"] > 0
