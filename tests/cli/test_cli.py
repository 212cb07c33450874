"""``layertools eval`` as a user runs it: exit codes, messages, and no output on failure."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO, data_file
from layertools.compat import db

SAMPLE = "tt_um_obriensp_be8.gds.gz"


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    return subprocess.run([sys.executable, "-m", "layertools", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=300)


def test_eval_writes_the_whole_layout_plus_the_result(tmp_path):
    source = data_file(SAMPLE)
    out = tmp_path / "out.gds"
    proc = run("eval", str(source), "(68/20 & 69/20) | (68/44 - 68/20)", "--to", "100/0", "-o", str(out),
               "--strategy", "tiled", "--partition", "50", "--threads", "2")
    assert proc.returncode == 0, proc.stderr
    assert "shapes written to 100/0" in proc.stdout and "tiled" in proc.stdout
    original, result = db.Layout(), db.Layout()
    original.read(str(source))
    result.read(str(out))
    top, rtop = original.top_cell(), result.top_cell()
    r = lambda ly, t, l, d: db.Region(t.begin_shapes_rec(ly.find_layer(l, d)))  # noqa: E731
    expected = ((r(original, top, 68, 20) & r(original, top, 69, 20))
                | (r(original, top, 68, 44) - r(original, top, 68, 20)))
    assert (r(result, rtop, 100, 0) ^ expected).is_empty()
    for layer, datatype in ((68, 20), (69, 20), (236, 0)):   # the input layers are all still there
        assert (r(result, rtop, layer, datatype) ^ r(original, top, layer, datatype)).is_empty()
    assert result.cells() == original.cells()


@pytest.mark.parametrize("expression, column", [("68/20 & | 69/20", 9), ("68/20 & 69/20 )", 15),
                                                ("bloat(1, 68/20)", 15)])
def test_expression_errors_exit_2_with_a_caret(tmp_path, expression, column):
    out = tmp_path / "out.gds"
    proc = run("eval", str(data_file(SAMPLE)), expression, "--to", "100/0", "-o", str(out))
    assert proc.returncode == 2
    assert f"at column {column}" in proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[-1] == "  " + " " * (column - 1) + "^"
    assert lines[-2] == "  " + expression
    assert not out.exists()


@pytest.mark.parametrize("args, words", [
    (["68/20 & 99/99", "--to", "100/0"], "unknown layer '99/99'"),
    (["68/20 & 69/20", "--to", "100/0", "--cell", "NOPE"], "unknown cell 'NOPE'"),
    (["68/20 & 69/20", "--to", "100/0", "--depth", "deep"], "depth"),
    (["68/20 & 69/20", "--to", "100/0", "--partition", "big"], "partition"),
    (["68/20 & 69/20", "--to", "a & b"], "target layer"),
])
def test_bad_layers_cells_and_options_exit_2(tmp_path, args, words):
    out = tmp_path / "out.gds"
    proc = run("eval", str(data_file(SAMPLE)), *args, "-o", str(out))
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr
    assert not out.exists()


def test_several_top_cells_are_listed(tmp_path):
    out = tmp_path / "out.gds"
    proc = run("eval", str(data_file("sg13g2_pr.gds.gz")), "8/0 & 10/0", "--to", "100/0", "-o", str(out))
    assert proc.returncode == 2 and "46 top cells" in proc.stderr and "--cell" in proc.stderr
    proc = run("eval", str(data_file("sg13g2_pr.gds.gz")), "8/0 & 10/0", "--to", "100/0", "-o", str(out),
               "--cell", "nmos")
    assert proc.returncode == 0, proc.stderr and out.exists()


def test_unreadable_input_exits_1_and_writes_nothing(tmp_path):
    junk = tmp_path / "junk.gds"
    junk.write_text("not a layout")
    out = tmp_path / "out.gds"
    for source in (junk, tmp_path / "missing.gds"):
        proc = run("eval", str(source), "A & B", "--to", "100/0", "-o", str(out))
        assert proc.returncode == 1 and "cannot read" in proc.stderr
    assert not out.exists()


def test_bad_output_name_exits_2_before_reading(tmp_path):
    proc = run("eval", str(data_file(SAMPLE)), "68/20 & 69/20", "--to", "100/0", "-o", str(tmp_path / "out.txt"))
    assert proc.returncode == 2 and ".gds" in proc.stderr


def test_failure_keeps_an_existing_output_untouched(tmp_path):
    out = tmp_path / "out.oas"
    out.write_bytes(b"precious")
    proc = run("eval", str(data_file(SAMPLE)), "68/20 & nope", "--to", "100/0", "-o", str(out))
    assert proc.returncode == 2
    assert out.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.oas"]   # no temporary file left behind


def test_oasis_and_gzip_outputs_by_extension(tmp_path):
    for name in ("out.oas", "out.gds.gz"):
        out = tmp_path / name
        proc = run("eval", str(data_file(SAMPLE)), "68/20 & 69/20", "--to", "100/0", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        layout = db.Layout()
        layout.read(str(out))
        assert layout.find_layer(100, 0) is not None


def test_usage_errors_exit_2():
    assert run("eval").returncode == 2
    assert run("frobnicate").returncode == 2
    assert run("--version").stdout.startswith("layertools ")


def test_explain_prints_the_plan_before_running(tmp_path):
    out = tmp_path / "out.gds"
    proc = run("eval", str(data_file(SAMPLE)), "(68/20 & 69/20) | bloat(0.5, 68/44, 0)", "--to", "100/0",
               "-o", str(out), "--explain", "--strategy", "tiled", "--partition", "50")
    assert proc.returncode == 0, proc.stderr
    assert "expression : ((68/20 & 69/20) | bloat(0.5, 68/44, 0))" in proc.stdout
    assert "halo 0.5 µm" in proc.stdout
    planned = int(proc.stdout.split("strategy   : tiled, ")[1].split(" tiles")[0])
    done = int(proc.stdout.split("(tiled, ")[1].split(" tiles")[0])
    assert planned == done


def test_every_option_flag_comes_from_the_schema_and_sets_its_field():
    """cli.build_parser adds one flag per EvalOptions field that declares one; each flag reaches
    its field (a new option needs no line in cli.py or eval_command.py)."""
    from layertools.cli import build_parser
    from layertools.commands.option_flags import options_from_flags
    from layertools.options import EvalOptions, option_specs
    parser = build_parser()
    flags = {spec.flag for spec in option_specs().values() if spec.flag}
    assert {"--to", "--cell", "--depth", "--partition", "--join-max-verts", "--no-clear"} <= flags
    eval_help = parser._subparsers._group_actions[0].choices["eval"].format_help()
    assert all(flag in eval_help for flag in flags)
    args = parser.parse_args(["eval", "in.gds", "A", "-o", "out.gds", "--to", "7/0", "--cell", "TOP",
                              "--depth", "3", "--recursive", "--strategy", "deep", "--partition", "none",
                              "--threads", "4", "--no-clear", "--format", "joined", "--merge", "--fast",
                              "--join-max-verts", "12"])
    assert options_from_flags(args) == EvalOptions(
        to="7/0", cell="TOP", depth=3, recursive=True, strategy="deep", partition=None, threads=4,
        clear=False, format="joined", merge=True, fast=True, join_max_poly_verts=12)
    defaults = parser.parse_args(["eval", "in.gds", "A", "-o", "out.gds", "--to", "7/0"])
    assert options_from_flags(defaults) == EvalOptions(to="7/0").validated()
    replay = parser.parse_args(["replay", "r.yaml", "in.gds", "-o", "out.gds", "--cell", "TOP"])
    assert replay.cell == "TOP" and not hasattr(replay, "depth")
