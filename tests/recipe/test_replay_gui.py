"""Issue 5 end to end in the real application: record three evaluations in the panel under Xvfb, save
the recording as a recipe and as a macro, run the macro inside the application (one undo step), then
replay the saved files with ``layertools replay``, the batch entry and ``klayout -b -r recorded.lym``.
All results must be XOR-identical to each other, to the panel's own evaluations and to evaluating the
steps one by one with the API."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO, data_file

sys.path.insert(0, str(REPO / "tests" / "gui"))
from harness import make_home, require_gui, run_batch, run_klayout  # noqa: E402
from layertools.layoutio import read_layout  # noqa: E402
from layertools.recipe import load_recipe  # noqa: E402
from test_replay import assert_xor_identical, one_by_one  # noqa: E402

pytestmark = [pytest.mark.gui, pytest.mark.slow]

TT = "tt_um_obriensp_be8.gds.gz"

# Runs inside KLayout (tests/gui/harness.py provides main_window, emit, ARTIFACTS, ...).
SESSION = r'''
import os

mw = main_window()
view = mw.current_view()
cv = view.active_cellview()
layout = cv.layout()
top = cv.cell


def fingerprint():
    """Layer -> shape count over all cells, plus the cell count: changes when anything is written."""
    counts = {}
    for index in layout.layer_indexes():
        counts[layout.get_info(index).to_s()] = sum(c.shapes(index).size() for c in layout.each_cell())
    return {"cells": layout.cells(), "layers": counts}


def flat(layer, datatype):
    region = pya.Region()
    index = layout.find_layer(layer, datatype)
    if index is not None:
        region.insert(top.begin_shapes_rec(index))
    return region


def panel_layers(*lds):
    """For each L/D: is there a layer-panel entry showing it?"""
    shown = set()
    it = view.begin_layers()
    while not it.at_end():
        node = it.current()
        if not node.has_children() and node.cellview() == cv.index():
            shown.add(node.layer_index())
        it.next()
    return [layout.find_layer(*ld) in shown for ld in lds]


dock = mw.findChild("layertools_expression_dock")
assert dock is not None, "the package's autorun did not install the panel"
dock.show()
process_events(0.3)
original = fingerprint()


def evaluate(to, expression, strategy, output_format="default", partition=None):
    dock.findChild("to_layer").text = to
    dock.findChild("expression").setPlainText(expression)
    combo = dock.findChild("strategy")
    combo.setCurrentIndex(combo.findText(strategy))
    dock.findChild("format_" + output_format).checked = True
    if partition is not None:
        dock.findChild("partition_none").checked = False
        dock.findChild("partition").value = partition
    dock.findChild("evaluate").click()
    process_events(0.1)
    return dock.last_result is not None


record = dock.findChild("record")
record.click()
ok = [evaluate("VIAOK 100/0", "68/20 & 69/20", "auto"),
      evaluate("68/20", "68/20 | bloat(0.05, VIAOK, 0)", "deep"),
      evaluate("102/0", "69/20 ^ VIAOK", "tiled", "joined", 40.0)]
record.click()
emit("evaluated", ok)
emit("recording", dock.is_recording)
OUT = PARAMS["out"]      # the test's own tmp_path: the shared artifacts folder may be cleaned meanwhile
recipe_path = os.path.join(OUT, "recorded.yaml")
macro_path = os.path.join(OUT, "recorded.lym")
emit("saved", [dock.save_recording(recipe_path), dock.save_recording_macro(macro_path)])
layout.write(os.path.join(OUT, "panel.oas"))       # OASIS keeps the layer name VIAOK
panel = fingerprint()
panel_regions = {ld: flat(*ld) for ld in ((100, 0), (68, 20), (102, 0))}

for _ in range(3):
    mw.call_menu("cm_undo")
process_events(0.2)
emit("three_undos_restore", fingerprint() == original)

# The recorded macro, run in the application as from the Macro IDE: one undo step.
pya.Macro(macro_path).run()
process_events(0.3)
emit("macro_fingerprint_equal", fingerprint() == panel)
emit("macro_xor", {"%d/%d" % ld: (flat(*ld) ^ region).area() for ld, region in panel_regions.items()})
emit("macro_layer_panel", panel_layers((100, 0), (102, 0)))
save_screenshot("after_macro")
mw.call_menu("cm_undo")
process_events(0.2)
emit("one_undo_restores", fingerprint() == original)
mw.call_menu("cm_redo")
process_events(0.2)
emit("redo_xor", {"%d/%d" % ld: (flat(*ld) ^ region).area() for ld, region in panel_regions.items()})

# A name given only in the layer panel (as a .lyp file does) is a layer for a macro run in the app.
import layertools.recipe as recipes
nodes = view.begin_layers()
while not nodes.at_end():
    node = nodes.current()
    if not node.has_children() and node.layer_index() == layout.find_layer(69, 20):
        props = node.dup()
        props.name = "VIAPANEL"
        view.set_layer_properties(nodes, props)
        break
    nodes.next()
alias_macro = os.path.join(OUT, "alias.lym")
recipes.save_macro(recipes.recipe_from_data(
    {"layertools": 1, "steps": [{"expression": "VIAPANEL & 68/20", "to": "120/0"}]}), alias_macro)
pya.Macro(alias_macro).run()
emit("alias_area", [flat(120, 0).area(), (flat(120, 0) ^ (flat(69, 20) & flat(68, 20))).area()])

# A Fast-mode step (D10): written, not undoable, and the undo history is cleared.
fast_macro = os.path.join(OUT, "fast.lym")
recipes.save_macro(recipes.recipe_from_data({"layertools": 1, "steps": [
    {"expression": "68/20 - 69/20", "to": "125/0", "fast": True}]}), fast_macro)
pya.Macro(fast_macro).run()
after_fast = fingerprint()
mw.call_menu("cm_undo")
process_events(0.2)
emit("fast", [flat(125, 0).area() > 0, fingerprint() == after_fast])

# A macro whose step 2 cannot run: an error naming the step, the layout untouched, KLayout alive.
bad_macro = os.path.join(OUT, "bad.lym")
recipes.save_macro(recipes.recipe_from_data({"layertools": 1, "steps": [
    {"expression": "68/20 | 69/20", "to": "130/0"},
    {"expression": "130/0 & NOSUCH", "to": "131/0"}]}), bad_macro)
before_bad = fingerprint()
try:
    pya.Macro(bad_macro).run()
    emit("bad_macro", "no error")
except RuntimeError as exc:
    emit("bad_macro", str(exc).splitlines()[0])
emit("bad_macro_unchanged", fingerprint() == before_bad)

# With no layout open the macro says so (and does not end the application).
mw.close_all()
process_events(0.2)
try:
    pya.Macro(macro_path).run()
    emit("no_layout", "no error")
except RuntimeError as exc:
    emit("no_layout", str(exc).splitlines()[0])
emit("alive_after", True)
'''


def test_record_in_the_application_then_replay_everywhere(tmp_path):
    require_gui()
    source = data_file(TT)
    run = run_klayout(SESSION, layout=source, timeout=240, params={"out": str(tmp_path)})
    run.check()
    r = run.result
    assert r["evaluated"] == [True, True, True] and r["recording"] is False
    assert r["saved"] == [3, 3]
    assert r["three_undos_restore"] is True
    assert r["macro_fingerprint_equal"] is True
    assert r["macro_xor"] == {"100/0": 0, "68/20": 0, "102/0": 0}
    assert r["macro_layer_panel"] == [True, True]
    assert r["one_undo_restores"] is True
    assert r["redo_xor"] == {"100/0": 0, "68/20": 0, "102/0": 0}
    assert r["alias_area"][0] > 0 and r["alias_area"][1] == 0
    assert "step 2, key 'expression'" in r["bad_macro"] and "NOSUCH" in r["bad_macro"], r["bad_macro"]
    assert r["bad_macro_unchanged"] is True
    assert r["fast"] == [True, True]
    assert "no layout is open" in r["no_layout"] and r["alive_after"] is True

    recipe_path = tmp_path / "recorded.yaml"
    recipe = load_recipe(recipe_path)      # what the panel wrote reads back strictly
    assert [(s.expression, s.options.to, s.options.strategy, s.options.format) for s in recipe.steps] == [
        ("68/20 & 69/20", "VIAOK 100/0", "auto", "default"),
        ("68/20 | bloat(0.05, VIAOK, 0)", "68/20", "deep", "default"),
        ("69/20 ^ VIAOK", "102/0", "tiled", "joined")]
    assert recipe.steps[2].options.partition == 40.0

    outputs = {}
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    outputs["cli"] = tmp_path / "cli.oas"
    cli = subprocess.run([sys.executable, "-m", "layertools", "replay", str(recipe_path), str(source),
                          "-o", str(outputs["cli"])], env=env, capture_output=True, text=True, timeout=300)
    assert cli.returncode == 0, cli.stderr

    home = make_home(tmp_path / "home")
    outputs["batch"] = tmp_path / "batch.oas"
    batch = run_batch(["-b", "-r", str(REPO / "pymacros" / "layertools_replay.py"), "-rd", f"recipe={recipe_path}",
                       "-rd", f"input={source}", "-rd", f"output={outputs['batch']}"], home=home, timeout=300)
    assert batch.returncode == 0, batch.stdout + batch.stderr
    outputs["macro"] = tmp_path / "macro.oas"
    macro = run_batch(["-b", "-r", str(tmp_path / "recorded.lym"), "-rd", f"input={source}",
                       "-rd", f"output={outputs['macro']}"], home=home, timeout=300)
    assert macro.returncode == 0, macro.stdout + macro.stderr

    panel = read_layout(str(tmp_path / "panel.oas"))
    reference = read_layout(str(source))
    one_by_one(reference, recipe)
    assert_xor_identical(panel, reference)
    assert panel.get_info(panel.find_layer(100, 0)).name == "VIAOK"
    for name, path in outputs.items():
        written = read_layout(str(path))
        assert_xor_identical(written, panel)
        assert written.get_info(written.find_layer(100, 0)).name == "VIAOK", name
