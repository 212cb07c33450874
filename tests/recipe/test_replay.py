"""Replay on real layouts: all steps or none, XOR-identical to evaluating the steps one by one,
and the same result from the API, ``layertools replay``, the batch entry and a recorded macro run
by the real KLayout application in batch mode (``klayout -b``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import layertools
from conftest import REPO, data_file
from layertools.compat import db
from layertools.layoutio import find_cell, read_layout
from layertools.recipe import (
    Recipe,
    ReplayError,
    exit_status,
    load_recipe,
    parse_recipe,
    replay,
    replay_files,
    save_macro,
    save_recipe,
)

TT = "tt_um_obriensp_be8.gds.gz"
SRAM = "RM_IHPSG13_1P_1024x8_c2_bm_bist.gds.gz"

# Step 2 reads the layer step 1 creates (by its name), step 3 overwrites an existing layer with
# deep evaluation, step 4 is tiled with threads and a non-default output format.
RECIPE_TT = """\
layertools: 1
steps:
  - expression: "68/20 & 69/20"
    to: "VIAOK 100/0"
  - expression: "bloat(0.1, VIAOK, 0) - 68/20"
    to: "101/0"
    strategy: flat
  - expression: "68/20 | 100/0"
    to: "68/20"
    strategy: deep
  - expression: "69/20 ^ VIAOK"
    to: "102/0"
    strategy: tiled
    partition: 40
    threads: 2
    format: joined
"""


# ---- helpers -------------------------------------------------------------------------------

def gds_bytes(layout: "db.Layout", path: Path) -> bytes:
    """The layout as GDS without timestamps, so equal layouts give equal bytes."""
    options = db.SaveLayoutOptions()
    options.format = "GDS2"
    options.gds2_write_timestamps = False
    layout.write(str(path), options)
    return path.read_bytes()


def flat_region(layout: "db.Layout", layer: int, datatype: int, cell_name: str | None = None) -> "db.Region":
    index = layout.find_layer(layer, datatype)
    region = db.Region()
    if index is not None:
        region.insert(find_cell(layout, cell_name).begin_shapes_rec(index))
    return region


def layer_set(layout: "db.Layout") -> set[tuple[int, int]]:
    return {(layout.get_info(i).layer, layout.get_info(i).datatype) for i in layout.layer_indexes()}


def assert_xor_identical(a: "db.Layout", b: "db.Layout", cell_name: str | None = None) -> None:
    """Every layer of both layouts covers the same area (flat, from the given/top cell)."""
    assert layer_set(a) == layer_set(b)
    for layer, datatype in sorted(layer_set(a)):
        difference = flat_region(a, layer, datatype, cell_name) ^ flat_region(b, layer, datatype, cell_name)
        assert difference.is_empty(), f"{layer}/{datatype}: XOR area {difference.area()}"


def one_by_one(layout: "db.Layout", recipe: Recipe, cell_name: str | None = None) -> list:
    """The reference: each step evaluated on its own with layertools.evaluate."""
    results = []
    for step in recipe.steps:
        cell = find_cell(layout, step.options.cell or cell_name)
        results.append(layertools.evaluate(layout, cell, step.expression, step.options.to,
                                           **step.evaluate_kwargs()))
    return results


class CancelAt:
    """A progress callback that cancels at the engine's first report inside step ``number``."""

    def __init__(self, number: int):
        self.prefix = f"step {number}/"
        self.messages: list[str] = []

    def __call__(self, message: str, fraction) -> None:
        self.messages.append(message)
        if sum(m.startswith(self.prefix) for m in self.messages) == 2:   # 1st is replay's own announcement
            raise layertools.Cancelled("cancelled by the test")


# ---- the API ---------------------------------------------------------------------------------

def test_replay_equals_steps_one_by_one_and_an_independent_boolean():
    recipe = parse_recipe(RECIPE_TT)
    replayed = read_layout(str(data_file(TT)))
    original_68 = flat_region(replayed, 68, 20)
    original_69 = flat_region(replayed, 69, 20)
    messages = []
    results = replay(replayed, recipe, progress=lambda message, fraction: messages.append((message, fraction)))
    assert len(results) == 4
    assert [r.strategy for r in results][1:] == ["flat", "deep", "tiled"]
    # step 1 is auto: the cost model's pick; flat and tiled were measured close on this layout
    assert results[0].strategy in ("flat", "tiled") and "predicted flat" in results[0].reason
    reference = read_layout(str(data_file(TT)))
    one_by_one(reference, recipe)
    assert_xor_identical(replayed, reference)

    # independent of layertools: plain KLayout booleans on the original layers
    via_ok = original_68 & original_69
    assert via_ok.area() > 0
    assert (flat_region(replayed, 100, 0) ^ via_ok).is_empty()
    assert (flat_region(replayed, 68, 20) ^ (original_68 | via_ok)).is_empty()
    assert (flat_region(replayed, 102, 0) ^ (original_69 ^ via_ok)).is_empty()
    assert replayed.get_info(replayed.find_layer(100, 0)).name == "VIAOK"

    # progress: every step announced in order, overall fractions never go back
    starts = [m for m, f in messages if f is not None and m.endswith(tuple(s.options.to for s in recipe.steps))]
    assert [m.split(":")[0] for m in starts] == ["step 1/4", "step 2/4", "step 3/4", "step 4/4"]
    fractions = [f for _, f in messages if f is not None]
    assert fractions == sorted(fractions) and 0 <= fractions[0] and fractions[-1] <= 1


@pytest.fixture
def byte_snapshot(tmp_path):
    """``byte_snapshot(layout)`` -> a check that ``layout`` is still byte for byte what it was then
    (a failed or cancelled replay changes nothing)."""
    def snapshot(layout):
        before = gds_bytes(layout, tmp_path / "before.gds")
        return lambda: gds_bytes(layout, tmp_path / "after.gds") == before
    return snapshot


@pytest.mark.parametrize("name, recipe_text, cancel_at", [
    pytest.param(TT, RECIPE_TT, 4, id="tt-cancel-step-4"),
    pytest.param(SRAM, """\
layertools: 1
steps:
  - {expression: "8/0 & 10/0", to: "8/0", strategy: deep}
  - {expression: "8/0 - 19/0", to: "NEWL 300/0", strategy: deep}
  - {expression: "bloat(0.2, NEWL, 0) | 10/0", to: "10/0", strategy: tiled, partition: 20}
  - {expression: "8/0 & 10/0", to: "301/0"}
""", 4, id="sram-hierarchical-cancel-step-4"),
])
def test_cancelled_replay_leaves_the_layout_byte_identical(byte_snapshot, name, recipe_text, cancel_at):
    layout = read_layout(str(data_file(name)))
    unchanged = byte_snapshot(layout)
    cells_before = layout.cells()
    cancel = CancelAt(cancel_at)
    with pytest.raises(layertools.Cancelled) as caught:
        replay(layout, parse_recipe(recipe_text), progress=cancel)
    assert caught.value.step == cancel_at
    assert f"step {cancel_at} of 4" in str(caught.value)
    assert any(m.startswith(f"step {cancel_at - 1}/") for m in cancel.messages)   # earlier steps did run
    assert layout.cells() == cells_before
    assert unchanged()


CANCEL_IN_APPLICATION = r"""
import sys
sys.path.insert(0, REPO + "/python")
import pya
import layertools
from layertools.layoutio import read_layout
from layertools.recipe import parse_recipe, replay

def gds(layout, path):
    options = pya.SaveLayoutOptions()
    options.format = "GDS2"
    options.gds2_write_timestamps = False
    layout.write(path, options)
    return open(path, "rb").read()

layout = read_layout(SOURCE)
before = gds(layout, OUT + "/before.gds")
seen = []
def cancel(message, fraction):
    seen.append(message)
    if sum(m.startswith("step 4/") for m in seen) == 2:
        raise layertools.Cancelled("test")
try:
    replay(layout, parse_recipe(open(RECIPE).read()), progress=cancel)
    status = 3
except layertools.Cancelled as exc:
    status = 0 if gds(layout, OUT + "/after.gds") == before and exc.step == 4 else 4
print("klayout", pya.Application.instance().version(), "status", status, "messages", len(seen))
sys.exit(status)
"""


def test_cancelled_replay_is_byte_identical_in_the_klayout_application(tmp_path):
    """The same rollback in the application's KLayout (0.28.5 here), where the panel replays."""
    recipe_path = tmp_path / "r.yaml"
    recipe_path.write_text(RECIPE_TT)
    script = tmp_path / "cancel.py"
    script.write_text(f"REPO = {str(REPO)!r}\nSOURCE = {str(data_file(TT))!r}\nOUT = {str(tmp_path)!r}\n"
                      f"RECIPE = {str(recipe_path)!r}\n" + CANCEL_IN_APPLICATION)
    done = run_klayout(tmp_path, script)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "status 0" in done.stdout
    assert (tmp_path / "after.gds").read_bytes() == (tmp_path / "before.gds").read_bytes()


def test_failure_at_run_time_restores_overwritten_layers(byte_snapshot, monkeypatch):
    """With the up-front check switched off, an unknown layer fails only when step 3 runs."""
    import layertools.recipe.playback as recipe_module
    monkeypatch.setattr(recipe_module, "_preflight", lambda *args: None)
    layout = read_layout(str(data_file(TT)))
    unchanged = byte_snapshot(layout)
    recipe = parse_recipe("""\
layertools: 1
steps:
  - {expression: "68/20 & 69/20", to: "68/20"}
  - {expression: "71/20 - 70/20", to: "NEW 150/0"}
  - {expression: "68/20 & NOSUCH", to: "69/20"}
""")
    with pytest.raises(ReplayError) as caught:
        replay(layout, recipe)
    error = caught.value
    assert (error.step, error.key) == (3, "expression")
    assert isinstance(error.cause, layertools.LayerNotFoundError)
    assert "NOSUCH" in str(error) and "as it was before the replay" in str(error)
    assert error.caret == "68/20 & NOSUCH\n        ^"
    assert exit_status(error) == 2
    assert unchanged()


def test_unknown_layer_is_found_before_anything_is_written(byte_snapshot):
    layout = read_layout(str(data_file(TT)))
    unchanged = byte_snapshot(layout)
    recipe = parse_recipe("""\
layertools: 1
steps:
  - {expression: "68/20 & 69/20", to: "VIAOK 100/0"}
  - {expression: "VIAOK | 100/0 | VIAOK2", to: "101/0"}
""")
    calls = []
    with pytest.raises(ReplayError) as caught:
        replay(layout, recipe, progress=lambda m, f: calls.append(m))
    error = caught.value
    assert (error.step, error.key) == (2, "expression")
    assert "VIAOK2" in str(error) and "nothing was changed" in str(error)
    assert error.caret == "VIAOK | 100/0 | VIAOK2\n" + " " * 16 + "^"
    assert calls == []                      # step 1 never started
    assert unchanged()


@pytest.mark.parametrize("step, problem, key, words", [
    ("{expression: '68/20', to: '100/0', cell: NOSUCHCELL}", "cell", "cell", ["NOSUCHCELL"]),
    ("{expression: '68/20', to: 'a b c'}", "to", "to", ["not a layer"]),
    ("{expression: 'x.NOSUCHCELL', to: '100/0'}", "cell reference", "expression", ["NOSUCHCELL"]),
])
def test_bad_cell_or_target_names_the_step(byte_snapshot, step, problem, key, words):
    layout = read_layout(str(data_file(TT)))
    unchanged = byte_snapshot(layout)
    recipe = parse_recipe("layertools: 1\nsteps:\n  - {expression: '68/20 & 69/20', to: '100/0'}\n"
                          f"  - {step}\n")
    with pytest.raises(ReplayError) as caught:
        replay(layout, recipe)
    assert (caught.value.step, caught.value.key) == (2, key), str(caught.value)
    for word in words:
        assert word in str(caught.value)
    assert exit_status(caught.value) == 2
    assert unchanged()


def test_several_top_cells_need_a_cell():
    layout = read_layout(str(data_file("sky130_fd_sc_hd.gds.gz")))   # 433 top cells
    recipe = parse_recipe("layertools: 1\nsteps:\n  - {expression: '68/20 & 67/20', to: '100/0'}\n")
    with pytest.raises(ReplayError, match="top cells"):
        replay(layout, recipe)
    results = replay(layout, recipe, cell="sky130_fd_sc_hd__inv_1")
    inv = flat_region(layout, 100, 0, "sky130_fd_sc_hd__inv_1")
    assert results[0].shapes_written > 0
    assert (inv ^ (flat_region(layout, 68, 20, "sky130_fd_sc_hd__inv_1")
                   & flat_region(layout, 67, 20, "sky130_fd_sc_hd__inv_1"))).is_empty()
    assert flat_region(layout, 100, 0, "sky130_fd_sc_hd__nand2_1").is_empty()


# ---- files: the command line, the batch entry and the macro ---------------------------------

def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    return subprocess.run([sys.executable, "-m", "layertools", *args], capture_output=True, text=True,
                          env=env, timeout=300)


def klayout_binary() -> str:
    path = shutil.which("klayout")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("the KLayout application is not installed")
        pytest.skip("the KLayout application is not installed")
    return path


def salt_home(tmp_path: Path) -> Path:
    """A KLAYOUT_HOME with this checkout installed as the Salt package 'layertools' (symlinked)."""
    package = tmp_path / "home" / "salt" / "layertools"
    if package.exists():
        return tmp_path / "home"
    package.mkdir(parents=True)
    (package / "grain.xml").write_text('<?xml version="1.0" encoding="utf-8"?>\n'
                                       "<salt-grain><name>layertools</name><version>0.1.0</version></salt-grain>\n")
    (package / "python").symlink_to(REPO / "python")
    return tmp_path / "home"


def run_klayout(tmp_path: Path, script: Path, **variables: str) -> subprocess.CompletedProcess:
    command = [klayout_binary(), "-b", "-r", str(script)]
    for name, value in variables.items():
        command += ["-rd", f"{name}={value}"]
    env = dict(os.environ, KLAYOUT_HOME=str(salt_home(tmp_path)))
    env.pop("PYTHONPATH", None)
    return subprocess.run(["timeout", "-s", "KILL", "300", *command], capture_output=True, text=True,
                          env=env, cwd=tmp_path)


def test_cli_batch_and_macro_give_the_same_layout(tmp_path):
    source = data_file(TT)
    recipe_path = tmp_path / "recipe.yaml"
    recipe_path.write_text(RECIPE_TT)
    recipe = load_recipe(recipe_path)

    cli = run_cli("replay", str(recipe_path), str(source), "-o", str(tmp_path / "cli.gds"))
    assert cli.returncode == 0, cli.stderr
    assert "step 4/4" in cli.stdout and "wrote" in cli.stdout

    batch = run_klayout(tmp_path, REPO / "pymacros" / "layertools_replay.py", recipe=str(recipe_path),
                        input=str(source), output=str(tmp_path / "batch.oas"))
    assert batch.returncode == 0, batch.stdout + batch.stderr
    assert "step 4/4" in batch.stdout

    macro = tmp_path / "recipe.lym"
    save_macro(recipe, macro)
    lym = run_klayout(tmp_path, macro, input=str(source), output=str(tmp_path / "macro.gds.gz"))
    assert lym.returncode == 0, lym.stdout + lym.stderr

    reference = read_layout(str(source))
    one_by_one(reference, recipe)
    for name in ("cli.gds", "batch.oas", "macro.gds.gz"):
        assert_xor_identical(read_layout(str(tmp_path / name)), reference)
    # the application is KLayout 0.28 and the test 0.30: same geometry; OASIS keeps the layer name
    written = read_layout(str(tmp_path / "batch.oas"))
    assert written.get_info(written.find_layer(100, 0)).name == "VIAOK"


def test_failures_write_nothing_and_exit_as_the_contract_says(tmp_path):
    source = str(data_file(TT))
    good = tmp_path / "good.yaml"
    good.write_text(RECIPE_TT)
    unknown_layer = tmp_path / "unknown.yaml"
    unknown_layer.write_text("layertools: 1\nsteps:\n  - {expression: '68/20 & 69/20', to: '100/0'}\n"
                             "  - {expression: '100/0 - NOSUCH', to: '101/0'}\n")
    malformed = tmp_path / "malformed.yaml"
    malformed.write_text("layertools: 1\nsteps:\n  - {expression: '68/20', to: '100/0', depth: deep}\n")
    output = tmp_path / "out.gds"

    result = run_cli("replay", str(unknown_layer), source, "-o", str(output))
    assert result.returncode == 2
    assert "step 2, key 'expression'" in result.stderr and "NOSUCH" in result.stderr
    assert "100/0 - NOSUCH\n" in result.stderr and "nothing was written" in result.stderr
    assert not output.exists()

    result = run_cli("replay", str(malformed), source, "-o", str(output))
    assert result.returncode == 2
    assert f"{malformed}, line 3: step 1, key 'depth'" in result.stderr
    assert not output.exists()

    result = run_cli("replay", str(good), str(tmp_path / "missing.gds"), "-o", str(output))
    assert result.returncode == 1 and "missing.gds" in result.stderr
    assert not output.exists()

    result = run_cli("replay", str(good), source, "-o", str(tmp_path / "out.txt"))
    assert result.returncode == 1 and "out.txt" in result.stderr

    result = run_cli("replay", str(good), source, "-o", str(output), "--cell", "NOSUCHCELL")
    assert result.returncode == 2 and "NOSUCHCELL" in result.stderr
    assert not output.exists()

    output.write_bytes(b"precious")    # a failed replay must not touch an existing output either
    result = run_cli("replay", str(unknown_layer), source, "-o", str(output))
    assert result.returncode == 2 and output.read_bytes() == b"precious"

    batch = run_klayout(tmp_path, REPO / "pymacros" / "layertools_replay.py", recipe=str(unknown_layer),
                        input=source, output=str(tmp_path / "batch.gds"))
    assert batch.returncode == 2, batch.stdout + batch.stderr
    assert "step 2, key 'expression'" in batch.stderr
    assert not (tmp_path / "batch.gds").exists()

    macro = tmp_path / "unknown.lym"
    save_macro(load_recipe(unknown_layer), macro)
    lym = run_klayout(tmp_path, macro, input=source, output=str(tmp_path / "macro.gds"))
    assert lym.returncode == 2, lym.stdout + lym.stderr
    assert not (tmp_path / "macro.gds").exists()

    usage = run_klayout(tmp_path, macro)
    assert usage.returncode == 2 and "-rd input=" in usage.stderr


def test_macro_text_runs_in_plain_python(tmp_path):
    """The macro's code is ordinary Python: with input/output set it replays files anywhere."""
    import xml.etree.ElementTree as ET
    recipe = parse_recipe("layertools: 1\nsteps:\n  - {expression: '68/20 & 69/20', to: 'VIAOK 100/0'}\n"
                          "  - {expression: '71/20 - VIAOK', to: '101/0', strategy: deep}\n")
    macro = tmp_path / "r.lym"
    save_macro(recipe, macro)
    code = ET.parse(macro).getroot().findtext("text")
    namespace = {"input": str(data_file(TT)), "output": str(tmp_path / "out.oas")}
    exec(compile(code, str(macro), "exec"), namespace)
    reference = read_layout(str(data_file(TT)))
    one_by_one(reference, recipe)
    assert_xor_identical(read_layout(str(tmp_path / "out.oas")), reference)


def test_replay_files_reports_each_step_and_progress(tmp_path):
    import io
    recipe_path = tmp_path / "r.yaml"
    save_recipe(parse_recipe(RECIPE_TT), recipe_path)
    out, err = io.StringIO(), io.StringIO()
    status = replay_files(str(recipe_path), str(data_file(TT)), str(tmp_path / "o.gds"), stdout=out,
                          stderr=err, show_progress=True)
    assert status == 0
    steps = [line.split(":")[0] for line in out.getvalue().splitlines() if line.startswith("step ")]
    assert steps == [f"step {n}/4" for n in range(1, 5)]
    assert "shapes written to VIAOK (100/0)" in out.getvalue()
    assert "auto: " in out.getvalue()                  # step 1 ran with strategy auto: the reason is shown
    progress = err.getvalue()
    for text in ("reading", "step 1/4: 68/20 & 69/20 -> VIAOK 100/0", "step 4/4", "writing"):
        assert text in progress
    assert progress.endswith("\r\x1b[K")               # the progress line is cleared at the end
