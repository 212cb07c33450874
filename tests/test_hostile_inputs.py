"""Hostile but realistic input: every failure is one of layertools' own errors with a
message, the layout is unchanged after it, and valid extremes work.

Property tests run a small number of examples in CI (well under a minute); for a long run by hand:
LAYERTOOLS_FUZZ_EXAMPLES=20000 pytest tests/test_hostile_inputs.py
"""

from __future__ import annotations

import os
import stat
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import layertools
from layertools import cli
from layertools.compat import db
from layertools.errors import ExpressionError, LayertoolsError
from layertools.language import parse
from layertools.recipe import RecipeError, parse_recipe

EXAMPLES = int(os.environ.get("LAYERTOOLS_FUZZ_EXAMPLES", "120"))
FUZZ = settings(max_examples=EXAMPLES, deadline=timedelta(seconds=10),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def small_layout() -> "db.Layout":
    layout = db.Layout()
    top = layout.create_cell("TOP")
    for number, (l, b, r, t) in enumerate([(0, 0, 4000, 2000), (1000, 1000, 6000, 3000), (5000, 0, 9000, 900)], 1):
        top.shapes(layout.layer(number, 0)).insert(db.Box(l, b, r, t))
    layout.layer(db.LayerInfo("M1"))
    return layout


def snapshot(layout) -> list:
    """Everything an evaluation could change: layers, and every shape of every cell."""
    state = [tuple(str(layout.get_info(i)) for i in layout.layer_indexes())]
    for cell in layout.each_cell():
        for index in layout.layer_indexes():
            state.append((cell.name, index, sorted(str(s) for s in cell.shapes(index).each())))
    return state


def evaluate_or_own_error(expression: str, **options) -> None:
    """Evaluate on a fresh small layout: success, or a LayertoolsError that left the layout as it was."""
    layout = small_layout()
    before = snapshot(layout)
    try:
        layertools.evaluate(layout, layout.top_cell(), expression, "50/0", **options)
    except LayertoolsError as exc:
        assert str(exc) and len(str(exc)) < 2000
        assert snapshot(layout) == before, expression


# -- the inputs the issue stored -------------------------------------------------------------------

STORED = [
    "(" * 124 + "1/0" + ")" * 124, "bloat(1," * 110 + "1/0" + ",0)" * 110, "!" * 986 + "1/0",
    "0x" + "f" * 257, "1" * 4301 + "/0", '"²,1"', '"1/①"', "bloat(1, 1/0, 1e999)", "bloat(0.1, 1/0, 1e999-1e999)",
    "bloat(1e309, 1/0, 0)", "manhattanize(1e999-1e999, 1/0, 0)", "bloat(2500000, 1/0, 0)",
    "bloat(1e300, 1/0, 0)", "bloat(1e12, 1/0, 0)", "box(0,0,3e6,1)", "9^9^9^9 & 1/0", "1e300*10 | 1/0",
    "zoid(0,0,0,1e301,0,0)", "edges(1e300, 1/0, 0)",
]


@pytest.mark.parametrize("expression", STORED, ids=range(len(STORED)))
@pytest.mark.parametrize("strategy", ["flat", "tiled"])
def test_stored_inputs_give_own_errors_and_change_nothing(expression, strategy):
    layout = small_layout()
    before = snapshot(layout)
    with pytest.raises(LayertoolsError) as error:
        layertools.evaluate(layout, layout.top_cell(), expression, "50/0", strategy=strategy)
    assert isinstance(error.value, ExpressionError), error.value
    assert snapshot(layout) == before


def test_representable_extremes_evaluate_right():
    layout = small_layout()
    top = layout.top_cell()
    result = layertools.evaluate(layout, top, "box(-1e6, -1e6, 1e6, 1e6) & 1/0", "50/0", strategy="flat")
    assert result.shapes_written == 1
    assert db.Region(top.shapes(layout.find_layer(50, 0))).area() == 4000 * 2000


@pytest.mark.parametrize("joined", ["|", "geomOr"])
def test_ten_thousand_operands_work(joined):
    operands = [f"{i % 3 + 1}/0" for i in range(10000)]
    expression = " | ".join(operands) if joined == "|" else f"geomOr({', '.join(operands)})"
    layout = small_layout()
    top = layout.top_cell()
    layertools.evaluate(layout, top, expression, "50/0", strategy="flat")
    union = db.Region()
    for number in (1, 2, 3):
        union += db.Region(top.shapes(layout.find_layer(number, 0)))
    assert db.Region(top.shapes(layout.find_layer(50, 0))).area() == union.merged().area()


def test_a_long_union_becomes_a_shallow_tree():
    tree = parse(" | ".join(["A"] * 10000))
    depth, stack = 0, [(tree, 1)]
    while stack:
        node, level = stack.pop()
        depth = max(depth, level)
        stack.extend((child, level + 1) for child in getattr(node, "__dict__", {}).values()
                     if hasattr(child, "pos") and not isinstance(child, (int, str)))
    assert depth <= 15  # log2(10,000) + 1


# -- the command line ------------------------------------------------------------------------------

@pytest.fixture
def input_file(tmp_path):
    path = tmp_path / "in.gds"
    small_layout().write(str(path))
    return path


@pytest.mark.parametrize("extra,status,words", [
    (["--depth", "²"], 2, "depth must be a whole number"),
    (["--to", "99999999999999999999/0"], 2, "target layer number 99999999999999999999 is too large"),
    (["--threads", str(10**30)], 2, "is too large (the limit is 256)"),
    (["--threads", "1000"], 2, "threads 1000 is too large"),
    (["--partition", "1e-300", "--strategy", "tiled"], 2, "smaller than 10 database units"),
    (["--partition", "nan"], 2, "partition must be a number"),
    (["--join-max-verts", "١٢"], 2, "must be a whole number"),
])
def test_bad_options_exit_with_a_message(input_file, tmp_path, capsys, extra, status, words):
    out = tmp_path / "out.gds"
    args = ["eval", str(input_file), "1/0 & 2/0", "--to", "50/0", "-o", str(out)]
    if "--to" in extra:
        args = args[:3] + ["-o", str(out)]
    with pytest.raises(SystemExit) if status == 2 and extra[0] in ("--threads", "--join-max-verts") else _nothing():
        code = cli.main(args + extra)
        assert code == status
    captured = capsys.readouterr()
    assert words in captured.err and "Traceback" not in captured.err, captured.err
    assert not out.exists()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_unwritable_outputs_and_fifo_inputs_are_refused_before_any_work(input_file, tmp_path, capsys):
    directory = tmp_path / "existing_dir.gds"
    directory.mkdir()
    assert cli.main(["eval", str(input_file), "1/0", "--to", "50/0", "-o", str(directory)]) == 2
    assert "it is a directory" in capsys.readouterr().err
    if os.path.isdir("/proc/self"):
        assert cli.main(["eval", str(input_file), "1/0", "--to", "50/0", "-o", "/proc/x.oas"]) == 2
        assert "cannot write /proc/x.oas" in capsys.readouterr().err
    fifo = tmp_path / "pipe.gds"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert cli.main(["eval", str(fifo), "1/0", "--to", "50/0", "-o", str(tmp_path / "o.gds")]) == 1
    assert "FIFO" in capsys.readouterr().err
    assert cli.main(["memstat", str(fifo)]) == 1
    assert "FIFO" in capsys.readouterr().err


def test_stdout_on_a_full_device_is_reported_and_output_kept(input_file, tmp_path):
    import subprocess
    import sys

    from conftest import REPO
    out = tmp_path / "out.gds"
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "layertools", "eval", str(input_file), "1/0 | 2/0",
                               "--to", "50/0", "-o", str(out)], stdout=full, stderr=subprocess.PIPE, text=True,
                              env=env, timeout=120)
        memstat = subprocess.run([sys.executable, "-m", "layertools", "memstat", str(input_file)], stdout=full,
                                 stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "cannot write the standard output: No space left on device" in proc.stderr
    assert f"{out} was written completely" in proc.stderr
    written = db.Layout()
    written.read(str(out))  # OUTPUT stays, complete (documented in README "Limits")
    assert written.find_layer(50, 0) is not None
    assert memstat.returncode == 1 and "Traceback" not in memstat.stderr, memstat.stderr
    assert "No space left on device" in memstat.stderr


# -- property tests --------------------------------------------------------------------------------

TOKENS = ["1/0", "2/0", "3/0", "M1", "$$", "(", ")", ",", "|", "&", "-", "+", "*", "^", "!", "~", "not ", " and ",
          "bloat(", "edges(", "manhattanize(", "extent(", "box(", "zoid(", "geomOr(", "geomAnd(", "geomCat(",
          "filt(", "sqz(", "noop(", "0", "1", "0.5", "1e300", "1e999", "-1e308", "0x" + "f" * 40, "9" * 40,
          '"1,0"', '"²,1"', "1/①", "e", "INFINITY", "pi", "==", "<", "/", ";", "#", '"', ".", "TOP", "1/0.TOP"]
VALID = ["1/0 & 2/0", "bloat(0.5, 1/0 | 2/0, 0)", "geomOr(1/0, 2/0, 3/0) - !1/0", "edges(0.2, 1/0, 4) ^ 3/0",
         "manhattanize(0.1, 1/0, 0)", "geomAnd(geomCat(1/0, 2/0, 3/0))", "box(0, 0, 3, 3) + zoid(0, 1, 0, 0, 1, 1)",
         "extent(1/0) - filt(2/0, 3/0)", "(1/0 | 2/0) & !(3/0 * 1) ^ $$"]


@FUZZ
@given(st.lists(st.sampled_from(TOKENS), max_size=25))
def test_token_soup_gives_only_own_errors(tokens):
    evaluate_or_own_error("".join(tokens), strategy="flat")


@FUZZ
@given(st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 200), st.sampled_from(["insert", "delete", "cut"]),
                                                   st.text(min_size=1, max_size=3)), max_size=4),
       st.sampled_from(["flat", "tiled", "deep", "auto"]))
def test_mutated_and_truncated_expressions_give_only_own_errors(valid, edits, strategy):
    text = valid
    for where, how, what in edits:
        where = where % (len(text) + 1)
        text = {"insert": text[:where] + what + text[where:], "delete": text[:where] + text[where + 1:],
                "cut": text[:where]}[how]
    evaluate_or_own_error(text, strategy=strategy, partition=1)


NUMBERS = st.one_of(st.floats(allow_nan=False, allow_infinity=False).map(repr),
                    st.integers(-10**40, 10**40).map(str), st.sampled_from(["1e999", "1e309", "0x" + "f" * 300,
                                                                            "1" * 5000, ".5", "5.", "1d3"]))


@FUZZ
@given(st.sampled_from(["bloat({}, 1/0, 0)", "edges({}, 1/0, 1)", "manhattanize({}, 1/0, 0)",
                        "box(0, 0, {}, 1) & 1/0", "zoid(0, {}, 0, 0, 1, 1) | 2/0", "1/0 & {}", "{}/0", "1/{}",
                        "bloat(1, 1/0, {})"]), NUMBERS, NUMBERS)
def test_extreme_numbers_give_only_own_errors(template, number, other):
    evaluate_or_own_error(template.format(number).replace("1/0, 0", f"1/0, {other}", 1), strategy="flat")


@FUZZ
@given(st.integers(0, 400), st.sampled_from(["({})", "!{}", "bloat(0.01, {}, 0)", "geomOr({}, 2/0)", "-{}",
                                             "noop({})", "{} - 2/0", "3/0 | {}"]))
def test_deep_nesting_works_or_fails_cleanly(depth, wrapper):
    text = "1/0"
    for _ in range(depth):
        text = wrapper.format(text)
    evaluate_or_own_error(text, strategy="flat")


@FUZZ
@given(st.text(max_size=40))
def test_unicode_text_gives_only_own_errors(text):
    evaluate_or_own_error(text, strategy="flat")


RECIPE = """layertools: 1
steps:
  - expression: "1/0 & 2/0"
    to: "50/0"
    partition: 1e3
    threads: 2
    depth: all
  - {expression: "bloat(0.1, 50/0, 0)", to: M2, strategy: tiled, format: joined}
"""


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(RECIPE)), st.sampled_from(["insert", "delete", "cut"]),
                          st.sampled_from(["[", "]", "{", "}", ":", "- ", "\n", "  ", "&a ", "*a", "? ",
                                           "!!python/object ", "'", '"', "1" * 40, "1e999", ".nan", "²", "#",
                                           ",", "~", "yes"])),
                max_size=4))
def test_mutated_recipes_give_only_recipe_errors(edits):
    text = RECIPE
    for where, how, what in edits:
        where = where % (len(text) + 1)
        text = {"insert": text[:where] + what + text[where:], "delete": text[:where] + text[where + 1:],
                "cut": text[:where]}[how]
    try:
        parse_recipe(text, "fuzz.yaml")
    except RecipeError as exc:
        assert str(exc).startswith("fuzz.yaml") and len(str(exc)) < 2000


@pytest.mark.parametrize("text,words", [
    ("layertools: 1\nsteps: " + "[" * 5000 + "]" * 5000 + "\n", "levels deep"),
    ("layertools: 1\nsteps:\n  - expression: " + "[" * 300 + "]" * 300 + "\n    to: B\n", "levels deep"),
    ("a0: &a0 [x,x,x,x,x,x,x,x,x]\n" + "".join(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n"
                                               for i in range(1, 10)) + "? *a9\n: 1\n", "a list of 9 item(s)"),
    ("layertools: " + "9" * 5000 + "\nsteps: []\n", "too long"),
    ("layertools: 1\nsteps:\n  - {expression: A, to: B, partition: 1" + "0" * 400 + "}\n", "too long"),
    ("layertools: 1\nsteps:\n  - {expression: A, to: B, depth: \"²\"}\n", "depth must be a whole number"),
])
def test_hostile_recipes(text, words):
    with pytest.raises(RecipeError, match=words.replace("(", r"\(").replace(")", r"\)")) as error:
        parse_recipe(text, "bad.yaml")
    assert len(str(error.value)) < 500


def test_recipe_and_command_line_accept_the_same_number_spellings():
    recipe = parse_recipe(RECIPE, "ok.yaml")
    assert recipe.steps[0].options.partition == 1000.0
    from layertools.options import EvalOptions
    assert EvalOptions(to="1/0", partition="1e3").validated().partition == 1000.0


@pytest.mark.parametrize("second_step,line,key,words", [
    ("  - expression: 7/7 & 1/0\n    to: 52/0\n", 5, "expression", "unknown layer '7/7'"),
    ("  - expression: 1/0\n    to: \"a/b\"\n", 6, "to", "is not a layer"),
    ("  - expression: 1/0\n    to: 52/0\n    cell: NOPE\n", 7, "cell", "unknown cell 'NOPE'"),
])
def test_recipe_errors_found_against_the_layout_name_file_and_line(input_file, tmp_path, capsys, second_step,
                                                                   line, key, words):
    recipe = tmp_path / "steps.yaml"
    recipe.write_text("layertools: 1\nsteps:\n  - expression: 1/0\n    to: 51/0\n" + second_step)
    assert cli.main(["replay", str(recipe), str(input_file), "-o", str(tmp_path / "o.gds")]) == 2
    err = capsys.readouterr().err
    assert f"{recipe}, line {line}: step 2, key '{key}'" in err and words in err, err
    assert not (tmp_path / "o.gds").exists()


def test_the_engine_boundary_turns_any_other_exception_into_a_message(monkeypatch):
    """A bug inside the engine (simulated) gives EvaluationError and leaves the layout unchanged."""
    import layertools.engine.evaluation as engine
    from layertools.errors import EvaluationError
    layout = small_layout()
    before = snapshot(layout)

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(engine, "commit", broken)
    with pytest.raises(EvaluationError, match="internal error ZeroDivisionError: a bug"):
        layertools.evaluate(layout, layout.top_cell(), "1/0 | 2/0", "50/0", strategy="flat")
    assert snapshot(layout) == before


def test_the_command_line_boundary_turns_any_exception_into_one_line(monkeypatch, input_file, tmp_path, capsys):
    import layertools.commands.eval_command as eval_command

    def broken(args):
        raise KeyError("surprise")

    monkeypatch.setattr(eval_command, "run", broken)
    assert cli.main(["eval", str(input_file), "1/0", "--to", "50/0", "-o", str(tmp_path / "o.gds")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("layertools: internal error KeyError") and "Traceback" not in err
