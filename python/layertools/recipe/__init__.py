"""Recipes: recorded evaluations that can be saved, checked and replayed (doc/decisions.md I4).

A recipe is a YAML file::

    layertools: 1
    steps:
      - expression: "68/20 & 69/20"
        to: "100/0"
        depth: all          # every other key of EvalOptions; omitted keys take their defaults

The package holds one job per module:

- ``model``: :class:`Recipe` and :class:`Step`;
- ``yaml_file``: reading (strictly: unknown keys, wrong types, duplicate keys and bad expressions
  are errors that name the file, line, step and key) and writing the YAML;
- ``playback``: :func:`replay` on a layout, all steps or none (``checkpoint`` puts the layout back);
- ``macro``: a recipe as a KLayout macro (``.lym``) that replays it where it runs.

Running recipes from the command line, the batch entry and recorded macros is in
``layertools.commands.replay_command``; replaying in the application's view in
``layertools.gui.recipe_replay``.  Their public names stay importable from here, as the README,
the docs and macros saved by users import them (they are loaded only when used, so the core
imports neither the command line nor the application side).
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import RecipeError, ReplayError
from .macro import recipe_to_macro, save_macro
from .model import RECIPE_VERSION, STEP_KEYS, TOP_KEYS, Recipe, Step, step_from_evaluation
from .playback import replay
from .yaml_file import dump_recipe, load_recipe, parse_recipe, recipe_from_data, recipe_to_data, save_recipe

#: Names that live elsewhere, loaded on first use: ``layertools.recipe.run_macro`` is what every
#: recorded macro calls, and ``run_batch`` the first batch entry's.
_ELSEWHERE = {
    "replay_files": "..commands.replay_command",
    "replay_command": "..commands.replay_command",
    "run_macro": "..commands.replay_command",
    "run_batch": "..commands.replay_command",
    "exit_status": "..commands.exit_status",
    "replay_in_view": "..gui.recipe_replay",
}


def __getattr__(name: str) -> Any:
    if name in _ELSEWHERE:
        return getattr(importlib.import_module(_ELSEWHERE[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "RECIPE_VERSION", "STEP_KEYS", "TOP_KEYS", "Step", "Recipe", "RecipeError", "ReplayError", "parse_recipe",
    "load_recipe", "recipe_from_data", "recipe_to_data", "dump_recipe", "save_recipe", "step_from_evaluation",
    "replay", "replay_in_view", "replay_files", "replay_command", "exit_status",
    "recipe_to_macro", "save_macro", "run_macro", "run_batch",
]
