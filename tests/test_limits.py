"""The README's Limits table states limits.py's values, and each limit holds exactly at its edge."""

from __future__ import annotations

import math
import re

import pytest

from conftest import REPO
from layertools import limits
from layertools.compat import db
from layertools.errors import ExpressionError, OptionError
from layertools.language import parse
from layertools.options import EvalOptions
from layertools.recipe import RecipeError, parse_recipe


def readme_limits() -> dict[str, str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Limits", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (.+?) \| (.+?) \|$", section, re.M)
    return {what: limit for what, limit in rows if what not in ("What", "---")}


EXPECTED = {
    "any number in an expression or option": f"finite, magnitude at most 1e{round(math.log10(limits.MAX_NUMBER))}",
    "a dimension": f"2^{round(math.log2(limits.MAX_DIMENSION_DBU))} database units",
    "layer and datatype numbers": str(limits.MAX_LAYER_NUMBER),
    "whole numbers written in text": f"{limits.MAX_DIGITS} digits",
    "nesting of parentheses and function calls": f"{limits.MAX_NESTING} levels",
    "depth of the expression tree": f"{limits.MAX_TREE_DEPTH} operations",
    "tiles of one tiled evaluation": f"{limits.MAX_TILES:,}",
    "smallest partition": f"{limits.MIN_TILE_DBU} database units",
    "threads": str(limits.MAX_THREADS),
    "nesting of lists and mappings in a recipe": f"{limits.MAX_RECIPE_NESTING} levels",
}


def test_the_readme_table_states_every_limit_of_limits_py():
    table = readme_limits()
    assert len(table) == len(EXPECTED), table
    for start, value in EXPECTED.items():
        rows = [limit for what, limit in table.items() if what.startswith(start)]
        assert rows, f"no README row for {start!r}"
        assert rows[0].startswith(value), (start, rows[0], value)


def test_numbers_up_to_the_limit_pass_and_beyond_fail():
    assert parse("bloat(1e300 - 1e300, A, 0)")
    with pytest.raises(ExpressionError, match="limit"):
        parse("bloat(1e301, A, 0)")
    with pytest.raises(ExpressionError, match="limit"):
        parse("bloat(1e300 * 10, A, 0)")


def test_nesting_up_to_the_limit_parses_and_one_more_fails_cleanly():
    depth = limits.MAX_NESTING
    assert parse("(" * depth + "A" + ")" * depth)
    with pytest.raises(ExpressionError, match=f"more than {depth} levels") as error:
        parse("(" * (depth + 1) + "A" + ")" * (depth + 1))
    assert error.value.column == depth + 1


def test_tree_depth_up_to_the_limit_parses_and_one_more_fails_cleanly():
    operands = limits.MAX_TREE_DEPTH  # a - b - ... with n operands: n - 1 operations deep, plus the leaves
    assert parse(" - ".join(["A"] * operands))
    with pytest.raises(ExpressionError, match=f"more than {limits.MAX_TREE_DEPTH} operations"):
        parse(" - ".join(["A"] * (operands + 1)))


def test_threads_and_layer_numbers_at_the_limit():
    assert EvalOptions(to="1/0", threads=limits.MAX_THREADS).validated().threads == limits.MAX_THREADS
    with pytest.raises(OptionError, match=f"limit is {limits.MAX_THREADS}"):
        EvalOptions(to="1/0", threads=limits.MAX_THREADS + 1).validated()
    assert parse(f"{limits.MAX_LAYER_NUMBER}/0").ld == (limits.MAX_LAYER_NUMBER, 0)
    with pytest.raises(ExpressionError, match="limit"):
        parse(f"{limits.MAX_LAYER_NUMBER + 1}/0")


def test_dimensions_and_tiles_at_the_limit():
    import layertools
    layout = db.Layout()
    layout.dbu = 0.001
    top = layout.create_cell("TOP")
    top.shapes(layout.layer(1, 0)).insert(db.Box(0, 0, 1000, 1000))
    edge = limits.MAX_DIMENSION_DBU * layout.dbu
    with pytest.raises(ExpressionError, match="too large for the database"):
        layertools.evaluate(layout, top, f"bloat({edge * 1.001}, 1/0, 0)", "2/0", strategy="flat")
    # 1 µm square: 0.001 µm tiles would be 1,000,000 + halo rows -> refused; 0.01 µm (10 dbu) runs
    with pytest.raises(OptionError, match="smaller than 10 database units"):
        layertools.evaluate(layout, top, "1/0 & 1/0", "2/0", strategy="tiled", partition=0.001)
    big = db.Layout()
    big.dbu = 0.001
    cell = big.create_cell("TOP")
    cell.shapes(big.layer(1, 0)).insert(db.Box(0, 0, 20_000_000, 20_000_000))  # 20 mm
    with pytest.raises(OptionError, match="1,000,000 tiles"):
        layertools.evaluate(big, cell, "1/0 & 1/0", "2/0", strategy="tiled", partition=10)
    assert big.layer_infos() == [db.LayerInfo(1, 0)]  # nothing created by the refused run


def test_tiled_with_the_default_partition_on_a_die_too_large_for_it_takes_the_models_size():
    """The default partition is no request: 100 µm tiles would cut a 200 mm die into 4,000,000
    tiles, beyond the limit; the run takes the cost model's size (as auto does) and says so, while
    an explicit partition too small is still refused (above)."""
    import layertools
    from layertools.engine import cost

    layout = db.Layout()
    layout.dbu = 0.001
    top = layout.create_cell("TOP")
    one, two = layout.layer(1, 0), layout.layer(2, 0)
    top.shapes(one).insert(db.Box(0, 0, 200_000_000, 200_000_000))  # 200 mm
    top.shapes(two).insert(db.Box(1_000_000, 1_000_000, 3_000_000, 2_000_000))
    top.shapes(two).insert(db.Box(150_000_000, 150_000_000, 150_500_000, 150_500_000))
    result = layertools.evaluate(layout, top, "1/0 & 2/0", "3/0", strategy="tiled", threads=2)
    assert result.strategy == "tiled" and result.partition > 200.0
    assert 1 < result.tiles <= cost.MEMORY_TILES
    assert any("default 100 µm partition" in warning and f"{result.partition:g} µm tiles" in warning
               for warning in result.warnings)
    assert db.Region(top.shapes(layout.layer(3, 0))).area() == 2_000_000 * 1_000_000 + 500_000 * 500_000


def test_recipe_nesting_at_the_limit():
    deep = limits.MAX_RECIPE_NESTING
    # the top mapping and the steps list are two levels; the rest is the step's value nesting
    inner = "[" * (deep - 2) + "]" * (deep - 2)
    with pytest.raises(RecipeError, match="expression must be text"):
        parse_recipe(f"layertools: 1\nsteps:\n  - {{expression: {inner[1:-1] or '[]'}, to: B}}\n")
    too_deep = "[" * (deep + 1) + "]" * (deep + 1)
    with pytest.raises(RecipeError, match=f"more than {deep} levels"):
        parse_recipe(f"layertools: 1\nsteps: {too_deep}\n")


@pytest.mark.parametrize("strategy", ["flat", "tiled", "deep"])
def test_the_deepest_allowed_expressions_evaluate(strategy):
    """Every later stage (binding, halo, tiles, evaluation) walks the tree recursively: the limits
    must leave them room, also inside the KLayout application's Python."""
    import layertools
    layout = db.Layout()
    top = layout.create_cell("TOP")
    top.shapes(layout.layer(1, 0)).insert(db.Box(0, 0, 1000, 1000))
    top.shapes(layout.layer(2, 0)).insert(db.Box(5000, 5000, 6000, 6000))
    nested = "1/0"
    for _ in range(limits.MAX_NESTING - 1):
        nested = f"bloat(0.001, {nested}, 0)"  # 99 nested calls: grown by 0.099 µm
    # k operands of '-' put the first at depth k; its 99 calls reach depth k + 99 = MAX_TREE_DEPTH
    operands = limits.MAX_TREE_DEPTH - (limits.MAX_NESTING - 1)
    chain = " - ".join([f"({nested})"] + ["2/0"] * (operands - 1))
    with pytest.raises(ExpressionError, match="operations deep"):
        parse(chain + " - 2/0")
    result = layertools.evaluate(layout, top, chain, "3/0", strategy=strategy, partition=2)
    grown = db.Region(top.shapes(layout.find_layer(3, 0)))
    assert result.shapes_written >= 1
    assert grown.merged().area() == (1000 + 2 * 99) ** 2
