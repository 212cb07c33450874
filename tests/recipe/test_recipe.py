"""Recipe files: reading, checking, writing (doc/decisions.md I4).  Replay is in test_replay.py."""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import layertools
from layertools.options import FORMATS, STRATEGIES, EvalOptions
from layertools.recipe import (
    Recipe,
    RecipeError,
    Step,
    dump_recipe,
    load_recipe,
    parse_recipe,
    recipe_from_data,
    recipe_to_data,
    recipe_to_macro,
    save_macro,
    save_recipe,
    step_from_evaluation,
)

GOOD = """\
layertools: 1
steps:
  - expression: "68/20 & 69/20"
    to: "100/0"
    cell: null
    depth: all
    recursive: false
    strategy: auto
    partition: 100.0
    threads: 0
    clear: true
    format: default
    merge: false
    fast: false
  - expression: "100/0 - 68/20"
    to: "RES 101/0"
    depth: 2
    partition: null
    strategy: TILED
    threads: 2
"""


def recipe_text(*steps: str, header: str = "layertools: 1\n") -> str:
    """A recipe whose steps are given as YAML flow mappings, one per line (step n on line n + 2)."""
    return header + "steps:\n" + "".join(f"  - {step}\n" for step in steps)


OK = "{expression: '68/20 & 69/20', to: '100/0'}"


def test_the_contract_example_reads_with_every_key_and_defaults():
    recipe = parse_recipe(GOOD, "good.yaml")
    assert recipe.version == 1
    assert [step.expression for step in recipe.steps] == ["68/20 & 69/20", "100/0 - 68/20"]
    first, second = (step.options for step in recipe.steps)
    assert first == EvalOptions(to="100/0")           # the example spells out exactly the defaults
    assert second.to == "RES 101/0"
    assert second.depth == 2 and second.partition is None and second.threads == 2
    assert second.strategy == "tiled"                 # case-insensitive, normalised
    assert second.clear is True and second.format == "default" and second.cell is None


def test_partition_none_and_depth_all_spellings():
    recipe = parse_recipe(recipe_text("{expression: A, to: B, partition: none, depth: ALL}",
                                      "{expression: A, to: B, partition: 0, depth: '3'}"))
    assert recipe.steps[0].options.partition is None and recipe.steps[0].options.depth == "all"
    assert recipe.steps[1].options.partition is None and recipe.steps[1].options.depth == 3


def bad_option(key: str, value: str, words: list[str], ident: str):
    """A one-step recipe whose step sets ``key: value`` beside a valid expression and To layer."""
    return pytest.param(recipe_text(f"{{expression: A, to: B, {key}: {value}}}"), 1, key, 3, words, id=ident)


# (recipe text, step, key, line, words the message must contain)
MALFORMED = [
    pytest.param(recipe_text(OK, "{expression: A, to: B, colour: red}"), 2, "colour", 4, ["unknown key"],
                 id="unknown-key"),
    pytest.param(recipe_text(OK, "{expression: A, to: B, dept: 3}"), 2, "dept", 4, ["did you mean 'depth'"],
                 id="misspelt-key"),
    bad_option("recursive", "'yes'", ["true or false"], "bool-as-string"),
    bad_option("threads", "two", ["whole number"], "threads-text"),
    bad_option("threads", "-1", ["whole number"], "threads-negative"),
    bad_option("threads", "1.5", ["whole number"], "threads-float"),
    pytest.param(recipe_text(OK, OK, "{expression: A, to: 100}"), 3, "to", 5, ["quote it"], id="to-number"),
    pytest.param(recipe_text("{expression: A, to: ''}"), 1, "to", 3, ["empty"], id="to-empty"),
    pytest.param(recipe_text("{expression: A}"), 1, "to", 3, ["no 'to'"], id="to-missing"),
    pytest.param(recipe_text("{to: B}"), 1, "expression", 3, ["no 'expression'"], id="expression-missing"),
    pytest.param(recipe_text("{expression: 7, to: B}"), 1, "expression", 3, ["must be text"],
                 id="expression-number"),
    pytest.param(recipe_text("{expression: '  ', to: B}"), 1, "expression", 3, ["empty"],
                 id="expression-blank"),
    bad_option("depth", "deep", ["depth", "'all'"], "depth-word"),
    bad_option("depth", "-2", ["depth"], "depth-negative"),
    bad_option("depth", "true", ["depth"], "depth-bool"),
    bad_option("format", "joint", ["one of default, joined, hsplit, vsplit"], "format"),
    bad_option("strategy", "fastest", ["one of auto, flat, tiled, deep"], "strategy"),
    bad_option("strategy", "1", ["one of"], "strategy-number"),
    bad_option("partition", "-5", ["positive"], "partition-negative"),
    bad_option("partition", "big", ["size"], "partition-text"),
    bad_option("partition", ".inf", ["too large", "limit"], "partition-inf"),
    bad_option("cell", "[TOP]", ["cell name or null"], "cell-list"),
    bad_option("to", "C", ["appears twice"], "duplicate-key"),
    pytest.param(recipe_text(OK, "just text"), 2, None, 4, ["must be a mapping"], id="step-not-mapping"),
    pytest.param("steps:\n  - " + OK + "\n", None, None, 1, ["'layertools: 1' is missing"], id="no-header"),
    pytest.param(recipe_text(OK, header="layertools: 2\n"), None, "layertools", 1, ["version 2", "newer"],
                 id="newer-version"),
    pytest.param(recipe_text(OK, header="layertools: '1'\n"), None, "layertools", 1, ["must be the number 1"],
                 id="version-text"),
    pytest.param(recipe_text(OK, header="layertools: true\n"), None, "layertools", 1, ["must be the number 1"],
                 id="version-bool"),
    pytest.param("layertools: 1\nsteps: []\n", None, "steps", 2, ["no steps"], id="empty-steps"),
    pytest.param("layertools: 1\nsteps:\n", None, "steps", 2, ["must be a list"], id="steps-null"),
    pytest.param("layertools: 1\nsteps: {expression: A, to: B}\n", None, "steps", 2, ["must be a list"],
                 id="steps-mapping"),
    pytest.param("layertools: 1\n", None, None, 1, ["no 'steps'"], id="no-steps"),
    pytest.param("layertools: 1\nauthor: me\nsteps:\n  - " + OK + "\n", None, "author", 2, ["unknown key"],
                 id="unknown-top-key"),
    pytest.param("- layertools: 1\n", None, None, None, ["must be a mapping", "list"], id="not-a-mapping"),
    pytest.param("", None, None, None, ["must be a mapping", "empty"], id="empty-file"),
    pytest.param("layertools: 1\nsteps:\n  - {expression: A, to: B\n  - " + OK + "\n", None, None, 4,
                 ["not valid YAML"], id="yaml-syntax"),
    pytest.param("layertools: 1\nsteps:\n  - expression: A\n     to: B\n", None, None, 4, ["not valid YAML"],
                 id="yaml-indentation"),
    pytest.param("layertools: 1\nsteps:\n  - !!python/object:os.system {}\n", None, None, 3, ["not valid YAML"],
                 id="yaml-unsafe-tag"),
]


@pytest.mark.parametrize("text, step, key, line, words", MALFORMED)
def test_malformed_recipes_name_step_key_and_line(text, step, key, line, words):
    with pytest.raises(RecipeError) as caught:
        parse_recipe(text, "bad.yaml")
    error = caught.value
    assert (error.step, error.key, error.line) == (step, key, line), str(error)
    message = str(error)
    assert message.startswith("bad.yaml")
    for word in words:
        assert word in message, message
    if step is not None:
        assert f"step {step}" in message
    if key is not None:
        assert f"key '{key}'" in message
    assert isinstance(error, layertools.LayertoolsError)


@pytest.mark.parametrize("expression, column", [
    ("68/20 & (69/20", 15),        # unclosed parenthesis: points at the end
    ("68/20 & & 69/20", 9),
    ("68/20 69/20", 7),            # trailing text (D11)
    ("bloat(1, 68/20)", None),     # wrong argument count: somewhere in the call
])
def test_bad_expression_names_step_key_and_column(expression, column):
    text = recipe_text(OK, "{expression: %s, to: '100/0'}" % _yaml_quote(expression))
    with pytest.raises(RecipeError) as caught:
        parse_recipe(text, "bad.yaml")
    error = caught.value
    assert (error.step, error.key, error.line) == (2, "expression", 4)
    try:
        layertools.parse(expression)
    except layertools.ExpressionError as direct:
        expected = direct
    else:
        pytest.fail(f"{expression!r} parses")
    if column is not None:
        assert expected.column == column
        assert f"column {column}" in str(error)
        assert error.caret == f"{expression}\n{' ' * (column - 1)}^"
    assert expected.message in str(error)


def _yaml_quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def test_missing_pyyaml_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml", None)   # what an interpreter without PyYAML does on import
    for call in (lambda: parse_recipe(GOOD), lambda: dump_recipe(Recipe([Step("A", EvalOptions(to="B"))]))):
        with pytest.raises(layertools.MissingDependencyError) as caught:
            call()
        assert "PyYAML" in str(caught.value) and "python3-yaml" in str(caught.value)
    # the macro path needs no YAML at all
    recipe = recipe_from_data({"layertools": 1, "steps": [{"expression": "A", "to": "B"}]})
    assert "run_macro" in recipe_to_macro(recipe)


def test_dump_matches_the_contract_layout():
    text = dump_recipe(parse_recipe(GOOD))
    lines = text.splitlines()
    assert lines[0].startswith("# layertools recipe (2 steps)")
    body = [line for line in lines if not line.startswith("#")]
    assert body[:15] == [
        "layertools: 1", "steps:",
        "  - expression: 68/20 & 69/20", "    to: 100/0", "    cell: null", "    depth: all",
        "    recursive: false", "    strategy: auto", "    partition: 100.0", "    threads: 0",
        "    clear: true", "    format: default", "    merge: false", "    fast: false",
        "  - expression: 100/0 - 68/20"]
    assert "join_max_poly_verts" not in text        # written only when not the default


def test_non_default_extra_option_round_trips():
    recipe = Recipe([Step("A", EvalOptions(to="B", join_max_poly_verts=0, format="joined"))])
    text = dump_recipe(recipe)
    assert "join_max_poly_verts: 0" in text
    assert parse_recipe(text) == recipe


def test_dump_refuses_what_it_could_not_read_back():
    with pytest.raises(RecipeError, match="no steps"):
        dump_recipe(Recipe([]))
    with pytest.raises(RecipeError) as caught:
        dump_recipe(Recipe([Step("A", EvalOptions(to="B")), Step("A & (", EvalOptions(to="C"))]))
    assert caught.value.step == 2 and caught.value.key == "expression"
    with pytest.raises(RecipeError) as caught:
        dump_recipe(Recipe([Step("A", EvalOptions(to=""))]))
    assert caught.value.key == "to"
    with pytest.raises(RecipeError, match="version 2"):
        dump_recipe(Recipe([Step("A", EvalOptions(to="B"))], version=2))


def test_save_and_load(tmp_path):
    recipe = parse_recipe(GOOD)
    path = tmp_path / "r.yaml"
    save_recipe(recipe, path)
    assert load_recipe(path) == recipe
    assert load_recipe(str(path)) == recipe


def test_failed_save_keeps_the_old_file(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("old")
    with pytest.raises(RecipeError):
        save_recipe(Recipe([Step("A &", EvalOptions(to="B"))]), path)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.yaml"]     # no temporary left behind


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(RecipeError, match="cannot read the recipe"):
        load_recipe(tmp_path / "missing.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00layertools")
    with pytest.raises(RecipeError, match="not a text file"):
        load_recipe(binary)
    bad = tmp_path / "bad.yaml"
    bad.write_text(recipe_text("{expression: A, to: B, merge: 1}"))
    with pytest.raises(RecipeError) as caught:
        load_recipe(bad)
    assert str(caught.value).startswith(f"{bad}, line 3: step 1, key 'merge'")


def test_step_from_evaluation_normalises_the_options():
    step = step_from_evaluation("A & B", EvalOptions(to="100/0", depth="3", partition="none", strategy="Deep"))
    assert step.options.depth == 3 and step.options.partition is None and step.options.strategy == "deep"


# ---- round trip ---------------------------------------------------------------------------

LAYERS = st.sampled_from(["68/20", "69/20", "A", "B", "M1", '"1,0"', "1000", "100/0"])
OPS = st.sampled_from(["&", "|", "-", "^", "+", "and", "or", "xor", "not"])
NASTY_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
YAML_LOOKALIKES = st.sampled_from(["yes", "no", "null", "~", "true", "1.0", "1e3", "0x10", "- a", "a: b",
                                   "#x", " lead", "trail ", "'q'", '"dq"', "!tag", "&anchor", "*ref",
                                   "100/0", "RES 101/0", "multi\nline", "tab\there", "ünïcödé"])


@st.composite
def expressions(draw):
    parts = [draw(LAYERS)]
    for _ in range(draw(st.integers(0, 3))):
        parts += [draw(OPS), draw(LAYERS)]
    text = " ".join(parts)
    if draw(st.booleans()):
        text = f"!({text})"
    if draw(st.booleans()):
        text = f"bloat({draw(st.integers(-5, 5))}, {text}, 0)"
    return text


@st.composite
def steps(draw):
    options = EvalOptions(
        to=draw(st.one_of(YAML_LOOKALIKES, NASTY_TEXT).filter(str.strip)),
        cell=draw(st.one_of(st.none(), YAML_LOOKALIKES, NASTY_TEXT)),
        depth=draw(st.one_of(st.just("all"), st.integers(0, 50))),
        recursive=draw(st.booleans()),
        strategy=draw(st.sampled_from(STRATEGIES)),
        partition=draw(st.one_of(st.none(), st.floats(min_value=1e-3, max_value=1e7, allow_nan=False),
                                 st.integers(1, 10**6).map(float))),
        threads=draw(st.integers(0, 64)),
        clear=draw(st.booleans()),
        format=draw(st.sampled_from(FORMATS)),
        merge=draw(st.booleans()),
        fast=draw(st.booleans()),
        join_max_poly_verts=draw(st.sampled_from([600, 0, 4, 100000])),
    )
    return Step(expression=draw(expressions()), options=options)


@settings(max_examples=150, deadline=None)
@given(st.lists(steps(), min_size=1, max_size=5))
def test_round_trip(step_list):
    recipe = Recipe(steps=step_list)
    text = dump_recipe(recipe)
    assert parse_recipe(text) == recipe
    assert dump_recipe(parse_recipe(text)) == text
    # the macro embeds the same data, as Python literals
    assert recipe_from_data(recipe_to_data(recipe)) == recipe
    assert _steps_in_macro(recipe_to_macro(recipe)) == recipe_to_data(recipe)["steps"]


# ---- macros --------------------------------------------------------------------------------

def _steps_in_macro(lym: str):
    root = ET.fromstring(lym)
    assert root.tag == "klayout-macro"
    assert root.findtext("interpreter") == "python"
    assert root.findtext("autorun") == "false"
    code = root.findtext("text")
    module = ast.parse(code)       # valid Python
    for node in module.body:
        if isinstance(node, ast.Assign) and node.targets[0].id == "STEPS":
            return ast.literal_eval(node.value)
    raise AssertionError("no STEPS in the macro")


def test_macro_is_valid_xml_and_python_even_with_xml_characters(tmp_path):
    recipe = parse_recipe(recipe_text("{expression: 'A & B', to: '<out>'}",
                                      "{expression: '\"x]]>y\" | B', to: 'C', cell: 'a&b'}"))
    lym = recipe_to_macro(recipe, description="a < b & c")
    assert _steps_in_macro(lym) == recipe_to_data(recipe)["steps"]
    assert ET.fromstring(lym).findtext("description") == "layertools recipe: a < b & c"
    save_macro(recipe, tmp_path / "r.lym", description="a < b & c")
    assert (tmp_path / "r.lym").read_text(encoding="utf-8") == lym


@pytest.mark.parametrize("name", ["a\x85b", "line\u2028sep", "para\u2029sep"])
def test_yaml_line_break_characters_in_a_text_round_trip(name):
    # Hypothesis found '\x85' in a cell name coming back as a space: YAML reads it as a line break.
    recipe = Recipe(steps=[Step(expression="68/20", options=EvalOptions(to="100/0", cell=name))])
    assert parse_recipe(dump_recipe(recipe)) == recipe


@pytest.mark.parametrize("values, option, words", [
    ({"thread": 2}, "thread", "did you mean 'threads'?"),
    ({"threads": "2"}, "threads", "whole number"),
    ({"threads": 257}, "threads", "limit is 256"),
    ({"merge": "yes"}, "merge", "true or false"),
    ({"format": "joint"}, "format", "one of default, joined"),
    ({"cell": ""}, "cell", "cell name or null"),
    ({"to": 100}, "to", "text"),
    ({"depth": -1}, "depth", "'all'"),
    ({"partition": [1]}, "partition", "size in µm"),
])
def test_from_mapping_errors_name_the_option(values, option, words):
    with pytest.raises(layertools.OptionError) as caught:
        EvalOptions.from_mapping(values)
    assert caught.value.option == option and words in str(caught.value), str(caught.value)


def test_to_mapping_round_trips_through_from_mapping():
    options = EvalOptions(to="A 1/0", cell="TOP", depth=2, recursive=True, strategy="tiled", partition=None,
                          threads=3, clear=False, format="hsplit", merge=True, fast=True, join_max_poly_verts=0)
    assert EvalOptions.from_mapping(options.to_mapping()) == options
    assert EvalOptions.from_mapping({}) == EvalOptions()


def test_recipe_package_keeps_its_public_names_and_imports_no_command_line():
    """Macros saved by users call layertools.recipe.run_macro, the docs import replay_files and
    replay_in_view from layertools.recipe: they keep working, but importing the core (recipes, the
    engine) loads neither the command line nor the application side."""
    import os
    import subprocess
    code = ("import sys, layertools, layertools.recipe, layertools.engine, layertools.memstat\n"
            "upper = ('layertools.commands', 'layertools.gui', 'layertools.cli')\n"
            "loaded = [m for m in sys.modules if m.startswith(upper)]\n"
            "assert not loaded, loaded\n"
            "from layertools.recipe import run_macro, run_batch, replay_files, replay_command, exit_status\n"
            "from layertools.commands import replay_command as command\n"
            "assert run_macro is command.run_macro and replay_files is command.replay_files\n"
            "print('ok')\n")
    from conftest import REPO
    env = dict(os.environ, PYTHONPATH=str(REPO / "python"))
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert proc.stdout.strip() == "ok", proc.stderr
    import layertools.recipe
    with pytest.raises(AttributeError):
        layertools.recipe.no_such_name  # noqa: B018
