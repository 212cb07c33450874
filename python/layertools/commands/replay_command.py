"""``layertools replay``, the batch entry (``pymacros/layertools_replay.py``) and the body of
recorded macros: read a layout, replay a recipe, write the result (doc/decisions.md I2, I4)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, Mapping, TextIO

from ..environment import main_window
from ..errors import LayertoolsError, NoLayoutError, RecipeError
from ..options import EvalResult
from ..recipe.model import Recipe
from ..recipe.playback import layers_read_by, replay
from ..recipe.yaml_file import load_recipe, recipe_from_data
from .exit_status import EXIT_OK, EXIT_USAGE, exit_status
from .progress import TerminalProgress


def replay_files(recipe: "Recipe | str | os.PathLike", input_path: str, output_path: str,
                 cell: str | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None,
                 show_progress: bool | None = None, result_only: bool = False,
                 distribute: Any = None) -> int:
    """Read ``input_path``, replay, write ``output_path``; the exit status of doc/decisions.md I2.

    Everything that can be checked cheaply (the recipe, the output path) is checked before the
    layout is read; on any failure nothing is written.  ``result_only``: write only the steps'
    result layers, and read only the layers the steps need when they name them by number.
    """
    from ..layoutio import check_output_path, read_layout, write_layout
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    started = time.monotonic()
    try:
        if not isinstance(recipe, Recipe):
            recipe = load_recipe(recipe)
        if not output_path:
            raise RecipeError("no output file given")
        check_output_path(output_path)
        progress = TerminalProgress(stderr)
        if show_progress is not None:
            progress.enabled = show_progress
        try:
            progress.stage(f"reading {input_path}")
            layout = read_layout(input_path, layers=layers_read_by(recipe) if result_only else None)
            results = replay(layout, recipe, cell=cell, progress=progress, distribute=distribute)
            progress.stage(f"writing {output_path}")
            written = sorted({r.layer_index for r in results if r.layer_index is not None and r.layer_index >= 0})
            write_layout(layout, output_path, layers=written if result_only else None)
        finally:
            progress.done()
        for number, (step, result) in enumerate(zip(recipe.steps, results), 1):
            print(f"step {number}/{len(results)}: {step.describe()}: {result.summary()}", file=stdout)
            if result.reason:
                print(f"  auto: {result.reason}", file=stdout)
            for warning in result.warnings:
                print(f"  warning: {warning}", file=stdout)
        print(f"wrote {output_path} ({time.monotonic() - started:.1f} s)", file=stdout)
        return EXIT_OK
    except LayertoolsError as exc:
        print(f"layertools replay: {exc}", file=stderr)
        caret = getattr(exc, "caret", None)
        if isinstance(caret, str) and caret:
            print(_indent(caret), file=stderr)
        print("layertools replay: nothing was written", file=stderr)
        return exit_status(exc)


def replay_command(args: argparse.Namespace) -> int:
    """``layertools replay RECIPE INPUT -o OUTPUT [--cell NAME] [--result-only] [--cluster ...]``."""
    from ..cluster import batch_log, session
    try:
        with session(args, batch_log(sys.stderr)) as distribute:
            return replay_files(args.recipe, args.input, args.output, cell=getattr(args, "cell", None),
                                result_only=bool(getattr(args, "result_only", False)), distribute=distribute)
    except LayertoolsError as exc:  # no cluster (missing extra, no scheduler): nothing was read
        print(f"layertools replay: {exc}\nlayertools replay: nothing was written", file=sys.stderr)
        return exit_status(exc)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


def run_macro(data: Any, variables: Mapping[str, Any] | None = None) -> "list[EvalResult] | None":
    """The body of a recorded macro: replay ``data`` where the macro runs.

    ``variables`` are the macro's globals; string values of ``input``, ``output`` and ``cell``
    (from ``-rd``) select the batch path (files).  Without ``input`` the macro replays on the
    current layout in the application.  In batch mode a failure ends KLayout with the exit status
    of ``layertools replay`` (2 bad recipe/expression/layer/cell, 1 other) and writes nothing.
    """
    variables = variables or {}

    def string(name: str) -> str | None:
        value = variables.get(name)
        return value if isinstance(value, str) and value else None

    input_path, output_path, cell = string("input"), string("output"), string("cell")
    window = main_window()
    if input_path is None and window is not None:
        # in the application (Macro IDE, Macros menu): never end it, raise instead
        from ..gui.recipe_replay import replay_in_view
        view = window.current_view()
        if view is None:
            raise NoLayoutError("no layout is open: open a layout first (or run in batch mode: "
                              "klayout -b -r THIS.lym -rd input=IN.gds -rd output=OUT.gds)")
        recipe = recipe_from_data(data, source="<macro>")
        results = replay_in_view(view, recipe, cell=cell)
        for number, (step, result) in enumerate(zip(recipe.steps, results), 1):
            print(f"layertools: step {number}/{len(results)}: {step.describe()}: {result.summary()}")
        return results
    if input_path is None or output_path is None:
        print("layertools: no layout to work on; in batch mode run\n"
              "  klayout -b -r THIS.lym -rd input=IN.gds -rd output=OUT.gds [-rd cell=NAME]", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    try:
        recipe = recipe_from_data(data, source="<macro>")
    except RecipeError as exc:
        print(f"layertools: {exc}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    status = replay_files(recipe, input_path, output_path, cell=cell)
    if status != EXIT_OK:
        # sys.exit, not 'raise SystemExit': KLayout 0.28.5 turns the latter into exit status 0 (measured)
        sys.exit(status)
    return None


def run_batch(variables: Mapping[str, Any]) -> int:
    """The batch entry (pymacros/layertools_replay.py): ``-rd recipe= input= output= [cell=]``."""
    def string(name: str) -> str | None:
        value = variables.get(name)
        return value if isinstance(value, str) and value else None

    recipe, input_path, output_path = string("recipe"), string("input"), string("output")
    if recipe is None or input_path is None or output_path is None:
        missing = [name for name in ("recipe", "input", "output") if string(name) is None]
        print("layertools replay (batch): missing " + ", ".join(f"-rd {name}=..." for name in missing) + "\n"
              "usage: klayout -b -r layertools_replay.py -rd recipe=RECIPE.yaml -rd input=IN.gds "
              "-rd output=OUT.gds [-rd cell=NAME]", file=sys.stderr)
        return EXIT_USAGE
    return replay_files(recipe, input_path, output_path, cell=string("cell"))
