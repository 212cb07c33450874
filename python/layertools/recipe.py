"""Recipes: recorded evaluations that can be saved, checked and replayed (doc/decisions.md I4).

A recipe is a YAML file::

    layertools: 1
    steps:
      - expression: "68/20 & 69/20"
        to: "100/0"
        depth: all          # every other key of EvalOptions; omitted keys take their defaults

This module reads and writes that format (strictly: unknown keys, wrong types, duplicate keys and
bad expressions are errors that name the step and the key), replays a recipe on a layout (all
steps or nothing), runs ``layertools replay`` and the batch entry, and turns a recipe into a
KLayout macro (``.lym``) that replays it in the application or in ``klayout -b``.

Nothing here imports Qt; the application-only parts (``replay_in_view``, the macro's interactive
path) import ``pya`` when they run.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence, TextIO
from xml.sax.saxutils import escape as _xml_escape

from ._version import __version__
from .limits import MAX_DIGITS, MAX_RECIPE_NESTING, clipped, described, quoted, type_name
from .checkpoint import LayoutCheckpoint
from .errors import (Cancelled, CellNotFoundError, ExpressionError, LayertoolsError,
                     MissingDependencyError, OptionError)
from .options import EvalOptions, EvalResult, Text, closest, option_default, option_specs

RECIPE_VERSION = 1
#: The top-level keys of a recipe file.
TOP_KEYS = ("layertools", "steps")
#: The keys of one step, in the order they are written: the expression, then EvalOptions' fields.
STEP_KEYS = ("expression",) + tuple(f.name for f in dataclasses.fields(EvalOptions))

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

Progress = Callable[[str, "float | None"], None]


# --------------------------------------------------------------------------------------------
# Errors

class RecipeError(LayertoolsError):
    """A recipe that cannot be read or replayed.  ``step`` is 1-based; ``key`` is the step's key."""

    def __init__(self, message: str, *, source: str | None = None, step: int | None = None,
                 key: str | None = None, line: int | None = None, caret: str | None = None):
        self.message = message
        self.source = source
        self.step = step
        self.key = key
        self.line = line
        #: the expression with a caret under the offending position, for expression errors
        self.caret = caret
        super().__init__(self._text())

    def _text(self) -> str:
        where = []
        if self.source:
            where.append(self.source + (f", line {self.line}" if self.line else ""))
        elif self.line:
            where.append(f"line {self.line}")
        what = []
        if self.step is not None:
            what.append(f"step {self.step}")
        if self.key is not None:
            what.append(f"key '{self.key}'")
        prefix = ": ".join(filter(None, [", ".join(where) if where else "", ", ".join(what)]))
        return f"{prefix}: {self.message}" if prefix else self.message


class ReplayError(RecipeError):
    """A step failed during replay; the layout is as it was before the replay.

    ``cause`` is the original error (an ExpressionError for an unknown layer, an EvaluationError, ...).
    """

    def __init__(self, message: str, *, cause: BaseException | None = None, **where: Any):
        self.cause = cause
        super().__init__(message, **where)

    def with_message_tail(self, tail: str) -> "ReplayError":
        """The same error ending in ``tail`` instead of the usual "the layout is as it was ..." """
        message = self.message.replace("the layout is as it was before the replay", tail)
        return ReplayError(message, cause=self.cause, source=self.source, step=self.step, key=self.key,
                           line=self.line, caret=self.caret)


# --------------------------------------------------------------------------------------------
# The recipe

@dataclass
class Step:
    """One recorded evaluation: the expression and every option it ran with."""

    expression: str
    options: EvalOptions = field(default_factory=EvalOptions)
    #: where the step was read from (file and line of each key), for errors found during replay
    source: str | None = field(default=None, compare=False, repr=False)
    line: int | None = field(default=None, compare=False, repr=False)
    key_lines: dict = field(default_factory=dict, compare=False, repr=False)

    def where(self, key: str | None) -> dict[str, Any]:
        """``source`` and ``line`` of a RecipeError about ``key`` of this step."""
        return {"source": self.source, "line": self.key_lines.get(key, self.line) if key else self.line}

    def evaluate_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of ``layertools.evaluate`` besides layout, cell, expression and to."""
        values = dataclasses.asdict(self.options)
        values.pop("to")
        values.pop("cell")
        return values

    def describe(self) -> str:
        return f"{self.expression} -> {self.options.to}"


@dataclass
class Recipe:
    """An ordered list of steps; ``version`` is the file format's (``layertools: 1``)."""

    steps: list[Step] = field(default_factory=list)
    version: int = RECIPE_VERSION


def step_from_evaluation(expression: str, options: EvalOptions) -> Step:
    """A Step for an evaluation that has just succeeded (the panel's recorder uses this)."""
    return Step(expression=expression, options=dataclasses.replace(options).validated())


# --------------------------------------------------------------------------------------------
# Reading

def _yaml():
    try:
        import yaml  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError(
            "reading and writing recipes needs PyYAML, which is not installed for this Python "
            f"({sys.executable or 'embedded'}): install it with 'pip install pyyaml', or inside "
            "the KLayout application on Debian/Ubuntu with 'apt install python3-yaml'") from None
    return yaml


class _Mapping(dict):
    """A YAML mapping that remembers the line of each key (for error messages)."""

    line: int | None = None
    key_lines: dict
    duplicates: list   # (key, line, line of the first occurrence)


class _Sequence(list):
    """A YAML list that remembers the line of each item."""

    item_lines: list


def _loader_class(yaml):
    class RecipeLoader(yaml.SafeLoader):
        depth = 0

        def compose_node(self, parent, index):
            """Bound the nesting (PyYAML composes and constructs recursively)."""
            self.depth += 1
            try:
                if self.depth > MAX_RECIPE_NESTING:
                    raise RecipeError(f"the YAML nests lists and mappings more than {MAX_RECIPE_NESTING} "
                                      "levels deep (the limit)", line=self.peek_event().start_mark.line + 1)
                return super().compose_node(parent, index)
            finally:
                self.depth -= 1

    def construct_int(loader, node):
        """YAML ints with the same digit bound as every other number (Python refuses 4,301 digits)."""
        text = loader.construct_scalar(node)
        if len(text.replace("_", "")) > MAX_DIGITS + 1:
            raise RecipeError(f"the number {quoted(text, 24)} is too long (at most {MAX_DIGITS} digits)",
                              line=node.start_mark.line + 1)
        return yaml.SafeLoader.construct_yaml_int(loader, node)

    def construct_mapping(loader, node):
        loader.flatten_mapping(node)
        mapping = _Mapping()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        mapping.duplicates = []
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                duplicate = key in mapping
            except TypeError:
                raise RecipeError(f"a key must be a plain word, not {quoted(key)}", line=line) from None
            if duplicate:   # reported where the step number is known
                mapping.duplicates.append((key, line, mapping.key_lines[key]))
                continue
            mapping[key] = loader.construct_object(value_node, deep=True)
            mapping.key_lines[key] = line
        return mapping

    def construct_sequence(loader, node):
        sequence = _Sequence(loader.construct_object(child, deep=True) for child in node.value)
        sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
        return sequence

    RecipeLoader.add_constructor("tag:yaml.org,2002:int", construct_int)
    RecipeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, construct_mapping)
    RecipeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, construct_sequence)
    return RecipeLoader


def parse_recipe(text: str, source: str = "<recipe>") -> Recipe:
    """Read a recipe from YAML text; every problem is a RecipeError naming the line, step and key."""
    yaml = _yaml()
    try:
        data = yaml.load(text, Loader=_loader_class(yaml))
    except RecipeError as exc:
        raise RecipeError(exc.message, source=source, line=exc.line) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = " ".join(filter(None, [exc.context, exc.problem]))
        raise RecipeError(f"not valid YAML: {problem}", source=source, line=line) from None
    except yaml.YAMLError as exc:
        raise RecipeError(f"not valid YAML: {clipped(str(exc))}", source=source) from None
    except (RecursionError, MemoryError, ValueError) as exc:  # bounded above; kept as a last guard
        raise RecipeError(f"cannot read the YAML: {type(exc).__name__}", source=source) from None
    return recipe_from_data(data, source=source)


def load_recipe(path: str | os.PathLike) -> Recipe:
    """Read a recipe file (UTF-8)."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as exc:
        raise RecipeError(f"cannot read the recipe: {exc.strerror or exc}", source=path) from None
    except UnicodeDecodeError as exc:
        raise RecipeError(f"not a text file (UTF-8): {exc.reason} at byte {exc.start}", source=path) from None
    return parse_recipe(text, source=path)


def recipe_from_data(data: Any, source: str = "<recipe>") -> Recipe:
    """Check and convert plain data (as YAML or JSON loads it) into a Recipe."""
    top_line = getattr(data, "line", None)
    if not isinstance(data, Mapping):
        kind = "empty" if data is None else f"a {type_name(data)}"
        raise RecipeError(f"a recipe must be a mapping that starts with 'layertools: {RECIPE_VERSION}', "
                          f"but the file is {kind}", source=source, line=top_line)
    key_lines = getattr(data, "key_lines", {})
    _check_duplicates(data, source, None)
    unknown = [key for key in data if key not in TOP_KEYS]
    if "layertools" not in data:
        raise RecipeError(f"not a layertools recipe: the key 'layertools: {RECIPE_VERSION}' is missing",
                          source=source, line=top_line)
    version = data["layertools"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise RecipeError(f"the recipe version must be the number {RECIPE_VERSION}, not {quoted(version)}",
                          source=source, key="layertools", line=key_lines.get("layertools"))
    if version != RECIPE_VERSION:
        newer = " (written by a newer layertools; upgrade)" if version > RECIPE_VERSION else ""
        raise RecipeError(f"unsupported recipe version {version}{newer}; this layertools reads version "
                          f"{RECIPE_VERSION}", source=source, key="layertools", line=key_lines.get("layertools"))
    if unknown:
        key = unknown[0]
        raise RecipeError(f"unknown key '{key}' (a recipe has only {', '.join(TOP_KEYS)})",
                          source=source, key=str(key), line=key_lines.get(key))
    if "steps" not in data:
        raise RecipeError("the recipe has no 'steps' list", source=source, line=top_line)
    steps = data["steps"]
    if not isinstance(steps, list):
        raise RecipeError(f"'steps' must be a list of steps, not {described(steps)}", source=source,
                          key="steps", line=key_lines.get("steps"))
    if not steps:
        raise RecipeError("the recipe has no steps", source=source, key="steps", line=key_lines.get("steps"))
    item_lines = getattr(steps, "item_lines", None) or [key_lines.get("steps")] * len(steps)
    return Recipe(steps=[_step_from_data(item, number, source, line)
                         for number, (item, line) in enumerate(zip(steps, item_lines), 1)],
                  version=version)


def _check_duplicates(mapping: Any, source: str, step: int | None) -> None:
    for key, line, first in getattr(mapping, "duplicates", ()):
        raise RecipeError(f"key '{key}' appears twice (first on line {first})", source=source, step=step,
                          key=str(key), line=line)


def _step_from_data(item: Any, number: int, source: str, item_line: int | None) -> Step:
    line = getattr(item, "line", None) or item_line
    if not isinstance(item, Mapping):
        raise RecipeError(f"a step must be a mapping of keys (expression, to, ...), not {described(item)}",
                          source=source, step=number, line=line)
    key_lines = getattr(item, "key_lines", {})
    _check_duplicates(item, source, number)

    def problem(key: str, message: str, caret: str | None = None) -> RecipeError:
        return RecipeError(message, source=source, step=number, key=key,
                           line=key_lines.get(key, line), caret=caret)

    for key in item:
        if key not in STEP_KEYS:
            hint = closest(str(key), STEP_KEYS)
            raise problem(str(key), f"unknown key '{key}'" + (f" (did you mean '{hint}'?)" if hint else "")
                          + f"; a step has {', '.join(STEP_KEYS)}")
    for required in ("expression", "to"):
        if required not in item:
            raise RecipeError(f"the step has no '{required}'", source=source, step=number, key=required,
                              line=line)
    expression = item["expression"]
    if not isinstance(expression, str):
        raise problem("expression", f"the expression must be text, not {described(expression)} (quote it in the YAML)")
    if not expression.strip():
        raise problem("expression", "the expression is empty")
    if isinstance(item["to"], str) and not item["to"].strip():
        raise problem("to", "'to' is empty: a step must name its target layer")
    try:
        options = EvalOptions.from_mapping({key: value for key, value in item.items() if key != "expression"})
    except OptionError as exc:
        # YAML reads an unquoted 100 or true as a number, and an empty value as null
        quote = isinstance(option_specs()[exc.option].kind, Text) and not isinstance(exc.value, str)
        raise problem(exc.option, exc.message + (" (quote it in the YAML)" if quote else "")) from None
    try:
        _parse_expression(expression)
    except ExpressionError as exc:
        raise problem("expression", f"bad expression: {exc}", caret=exc.caret()) from None
    return Step(expression=expression, options=options, source=source, line=line,
                key_lines={str(key): value for key, value in key_lines.items()})


def _parse_expression(expression: str) -> None:
    from . import parse
    parse(expression)



# --------------------------------------------------------------------------------------------
# Writing

def recipe_to_data(recipe: Recipe) -> dict[str, Any]:
    """Plain data (dicts, lists, scalars) in the order the file shows it."""
    specs = option_specs()
    steps = []
    for step in recipe.steps:
        options = step.options.validated().to_mapping()
        item: dict[str, Any] = {"expression": step.expression}
        for key in STEP_KEYS[1:]:
            if not specs[key].always_written and options[key] == option_default(key):
                continue
            item[key] = options[key]
        steps.append(item)
    return {"layertools": recipe.version, "steps": steps}


def dump_recipe(recipe: Recipe) -> str:
    """The recipe as YAML text; ``parse_recipe(dump_recipe(r)) == r`` for every valid recipe."""
    yaml = _yaml()
    if not recipe.steps:
        raise RecipeError("the recipe has no steps: nothing to save")
    if recipe.version != RECIPE_VERSION:
        raise RecipeError(f"cannot write recipe version {recipe.version!r}; this layertools writes "
                          f"version {RECIPE_VERSION}")
    for number, step in enumerate(recipe.steps, 1):   # write only what can be read back
        _step_from_data(recipe_to_data(Recipe([step]))["steps"][0], number, "<recipe>", None)

    class Dumper(yaml.SafeDumper):
        def increase_indent(self, flow=False, indentless=False):  # indent list items under 'steps:'
            return super().increase_indent(flow, False)

    def represent_text(dumper, text: str):
        # YAML folds the line breaks NEL, LS and PS inside plain and single-quoted text: only a
        # double-quoted scalar (escaped) reads them back as written
        style = '"' if any(ch in text for ch in "\x85\u2028\u2029") else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)

    Dumper.add_representer(str, represent_text)

    body = yaml.dump(recipe_to_data(recipe), Dumper=Dumper, sort_keys=False, default_flow_style=False,
                     allow_unicode=True, width=1000)
    header = (f"# layertools recipe ({len(recipe.steps)} step{'s' if len(recipe.steps) != 1 else ''}), "
              f"written by layertools {__version__}\n"
              "# replay: layertools replay THIS.yaml INPUT -o OUTPUT [--cell NAME]\n")
    return header + body


def save_recipe(recipe: Recipe, path: str | os.PathLike) -> None:
    """Write the recipe atomically (a failed save leaves any existing file as it was)."""
    _write_text_atomically(os.fspath(path), dump_recipe(recipe))


def _write_text_atomically(path: str, text: str) -> None:
    from .safe_write import write_text_atomically
    try:
        write_text_atomically(path, text)
    except OSError as exc:
        raise RecipeError(f"cannot write {path}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------------------------
# Replay

def replay(layout, recipe: Recipe, cell=None, progress: Progress | None = None,
           selection=None, layer_aliases: Mapping[str, int] | None = None,
           distribute=None) -> list[EvalResult]:
    """Run the steps in order with ``layertools.evaluate``; all of them or none.

    ``cell`` (a Cell or a cell name) is used by steps whose ``cell`` is null; None means the single
    top cell.  Before anything is written, every step's cell, To layer and layer references are
    checked (a layer made by an earlier step counts), so a recipe that cannot run fails at once.
    If a step fails later or is cancelled, every earlier step's writes are undone (layers and cells
    the replay created are deleted, overwritten layers get their shapes back) and a ReplayError
    (or Cancelled) naming the step is raised.  ``selection`` and ``layer_aliases`` (the
    application's layer-panel names) are passed to every step, and ``distribute`` (a cluster, see
    layertools.cluster) runs their tiles.
    """
    import layertools
    cells = _resolve_cells(layout, recipe, cell)
    _preflight(layout, recipe, cells, layer_aliases)
    total = len(recipe.steps)
    checkpoint = LayoutCheckpoint(layout)
    results: list[EvalResult] = []
    number = 0
    try:
        for number, (step, target_cell) in enumerate(zip(recipe.steps, cells), 1):
            if progress is not None:
                progress(f"step {number}/{total}: {step.describe()}", (number - 1) / total)
            for layer_index in _layers_written_by(layout, step.options.to, layer_aliases):
                checkpoint.protect_layer(layer_index)
            extra = {"layer_aliases": dict(layer_aliases)} if layer_aliases else {}
            if distribute is not None:
                extra["distribute"] = distribute
            result = layertools.evaluate(layout, target_cell, step.expression, step.options.to,
                                         progress=_step_progress(progress, number, total),
                                         selection=selection, **extra, **step.evaluate_kwargs())
            checkpoint.note_write(result.layer_index)
            results.append(result)
    except Cancelled as exc:
        checkpoint.restore()
        cancelled = Cancelled(f"replay cancelled at step {number} of {total} "
                              f"({recipe.steps[number - 1].describe()}); the layout is as it was before the replay")
        cancelled.step = number  # type: ignore[attr-defined]
        raise cancelled from exc
    except LayertoolsError as exc:
        checkpoint.restore()
        raise _replay_error(exc, number, recipe.steps[number - 1]) from exc
    except Exception as exc:  # KLayout's RuntimeError, MemoryError, ...: still put the layout back
        checkpoint.restore()
        raise ReplayError(f"{type(exc).__name__}: {clipped(str(exc))}; the layout is as it was before the replay",
                          step=number, cause=exc, **recipe.steps[max(number, 1) - 1].where(None)) from exc
    except BaseException:   # KeyboardInterrupt: restore, then let it through unchanged
        checkpoint.restore()
        raise
    finally:
        checkpoint.discard()
    return results


def _step_progress(progress: Progress | None, number: int, total: int) -> Progress | None:
    if progress is None:
        return None

    def report(message: str, fraction: float | None) -> None:
        overall = None if fraction is None else (number - 1 + min(max(fraction, 0.0), 1.0)) / total
        progress(f"step {number}/{total}: {message}", overall)
    return report


def _replay_error(exc: LayertoolsError, number: int, step: Step) -> ReplayError:
    key = None
    caret = None
    if isinstance(exc, ExpressionError):
        key = "expression"
        caret = exc.caret() if exc.position is not None else None
    elif isinstance(exc, OptionError) and "target layer" in str(exc):
        key = "to"
    if isinstance(exc, RecipeError):
        key = exc.key
    message = exc.message if isinstance(exc, (ExpressionError, RecipeError)) else str(exc)
    if isinstance(exc, ExpressionError) and exc.position is not None:
        message += f" at column {exc.column}"
    return ReplayError(f"{message} ({step.describe()}); the layout is as it was before the replay",
                       step=number, key=key, caret=caret, cause=exc, **step.where(key))


def _resolve_cells(layout, recipe: Recipe, cell) -> list:
    """The cell of each step, found before anything is written."""
    from .layoutio import find_cell
    default = None
    cells = []
    for number, step in enumerate(recipe.steps, 1):
        name = step.options.cell
        try:
            if name is not None:
                cells.append(find_cell(layout, name))
                continue
            if default is None:
                default = find_cell(layout, cell) if (cell is None or isinstance(cell, str)) else cell
            cells.append(default)
        except CellNotFoundError as exc:
            key = "cell" if name is not None else None
            raise ReplayError(f"{exc.message}; nothing was changed", step=number, key=key, cause=exc,
                              **step.where(key)) from None
    return cells


def _preflight(layout, recipe: Recipe, cells, layer_aliases) -> None:
    """Check every step's To layer and layer references before the first write.

    The steps run against a scratch layout that has the real one's layers (same indexes) and cell
    names but no shapes; each step's To layer is created in it as the engine will create it, so a
    step may read what an earlier step makes.  Uses the engine's own resolution, so the messages
    (candidates, hex hints) are the ones a single evaluation gives.
    """
    from .compat import db
    from .engine.binding import bind
    from .engine.layers import resolve_cell, resolve_target
    from .language import is_empty, layer_refs, parse
    scratch = db.Layout()
    scratch.dbu = layout.dbu
    for index in layout.layer_indexes():
        scratch.insert_layer_at(index, layout.get_info(index))
    aliases = dict(layer_aliases) if layer_aliases else None
    for number, step in enumerate(recipe.steps, 1):
        try:
            if not is_empty(step.expression):
                tree = parse(step.expression)
                for ref in layer_refs(tree):   # lname.cellname: only the cells named need to exist
                    if ref.cell is not None and not scratch.has_cell(ref.cell):
                        resolve_cell(layout, ref.cell, ref.pos, step.expression)   # the real hints
                        scratch.create_cell(ref.cell)
                bind(tree, step.expression, scratch, aliases)
            resolve_target(scratch, step.options.to, aliases).ensure(scratch)
        except LayertoolsError as exc:
            raise _replay_error(exc, number, step).with_message_tail("nothing was changed") from exc


def _layers_written_by(layout, to: str, layer_aliases) -> list[int]:
    """The existing layer a step's To names (to save before the step), by the engine's own lookup.

    The checkpoint also records what each step really wrote and refuses to claim a restore it
    could not do, should the two ever disagree."""
    from .engine.layers import resolve_target
    try:
        index = resolve_target(layout, to, dict(layer_aliases) if layer_aliases else None).index
    except LayertoolsError:   # the step itself will report it
        return []
    return [] if index is None else [index]


# --------------------------------------------------------------------------------------------
# Files: the command line and the batch entry

def exit_status(exc: BaseException) -> int:
    """Contract §4: 2 for a bad recipe, expression, layer or cell; 1 for anything else."""
    cause = exc.cause if isinstance(exc, ReplayError) and exc.cause is not None else exc
    if isinstance(cause, (ExpressionError, OptionError)):
        return EXIT_USAGE
    if isinstance(exc, RecipeError) and not isinstance(exc, ReplayError):
        return EXIT_USAGE
    return EXIT_FAILURE


def replay_files(recipe: "Recipe | str | os.PathLike", input_path: str, output_path: str,
                 cell: str | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None,
                 show_progress: bool | None = None, result_only: bool = False,
                 distribute=None) -> int:
    """Read ``input_path``, replay, write ``output_path``; the exit status of doc/decisions.md I2.

    Everything that can be checked cheaply (the recipe, the output path) is checked before the
    layout is read; on any failure nothing is written.  ``result_only``: write only the steps'
    result layers, and read only the layers the steps need when they name them by number.
    """
    from .commands.progress import TerminalProgress
    from .layoutio import check_output_path, read_layout, write_layout
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
            layout = read_layout(input_path, layers=_layers_read(recipe) if result_only else None)
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


def replay_command(args) -> int:
    """``layertools replay RECIPE INPUT -o OUTPUT [--cell NAME] [--result-only] [--cluster ...]``."""
    from .cluster import batch_log, session
    try:
        with session(args, batch_log(sys.stderr)) as distribute:
            return replay_files(args.recipe, args.input, args.output, cell=getattr(args, "cell", None),
                                result_only=bool(getattr(args, "result_only", False)), distribute=distribute)
    except LayertoolsError as exc:  # no cluster (missing extra, no scheduler): nothing was read
        print(f"layertools replay: {exc}\nlayertools replay: nothing was written", file=sys.stderr)
        return exit_status(exc)


def _layers_read(recipe: Recipe) -> "set[tuple[int, int]] | None":
    """Every layer the steps read from the file, or None when one is named by name only."""
    from .engine.layers import layers_to_load
    found: set[tuple[int, int]] = set()
    for step in recipe.steps:
        layers = layers_to_load(step.expression, step.options)
        if layers is None:
            return None
        found |= layers
    return found


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


# --------------------------------------------------------------------------------------------
# In the application

def replay_in_view(view, recipe: Recipe, cell=None, progress: Progress | None = None,
                   selection=None) -> list[EvalResult]:
    """Replay on the view's active layout as one undo step; new layers get layer-panel entries.

    ``cell`` (Cell or name) defaults to the view's active cell.  In viewer mode (a non-editable
    layout) KLayout has no undo for shapes, so no transaction is opened; a recipe with a Fast-mode
    step is not undoable either (D10) and clears the undo history, as the panel's Fast mode does.
    """
    cellview = view.active_cellview()
    if cellview is None or not cellview.is_valid():
        raise RecipeError("no layout is open: open one (or use -rd input=... in batch mode)")
    layout = cellview.layout()
    if cell is None:
        cell = cellview.cell
    editable = layout.is_editable()
    undoable = editable and not any(step.options.fast for step in recipe.steps)
    aliases = _layer_panel_names(view, cellview.index())
    if editable:
        from .klayout_fixes import repair_free_layer_slots
        repair_free_layer_slots(layout)  # outside the transaction: KLayout 0.28's Redo bug
    if undoable:
        view.transaction(f"layertools: replay {len(recipe.steps)} step(s)")
    try:
        results = replay(layout, recipe, cell=cell, progress=progress, selection=selection,
                         layer_aliases=aliases or None)
        # inside the transaction: a layer-panel change outside one clears the undo stack
        view.add_missing_layers()
    finally:
        if undoable:
            view.commit()
    if editable and not undoable:
        view.clear_transactions()   # older undo steps would no longer match the layout
    return results


def _layer_panel_names(view, cellview_index: int) -> dict[str, int]:
    """Names given in the layer panel (e.g. by a .lyp file): the engine accepts them as layers (D4)."""
    names: dict[str, int] = {}
    nodes = view.begin_layers()
    while not nodes.at_end():
        node = nodes.current()
        if not node.has_children() and node.cellview() == cellview_index and node.name \
                and node.layer_index() >= 0:
            names.setdefault(node.name, node.layer_index())
        nodes.next()
    return names


# --------------------------------------------------------------------------------------------
# KLayout macros

_MACRO_TEMPLATE = """\
<?xml version="1.0" encoding="utf-8"?>
<klayout-macro>
 <description>{description}</description>
 <version/>
 <category>pymacros</category>
 <prolog/>
 <epilog/>
 <doc/>
 <autorun>false</autorun>
 <autorun-early>false</autorun-early>
 <shortcut/>
 <show-in-menu>false</show-in-menu>
 <group-name/>
 <menu-path/>
 <interpreter>python</interpreter>
 <dsl-interpreter-name/>
 <text>{text}</text>
</klayout-macro>
"""


def recipe_to_macro(recipe: Recipe, description: str | None = None) -> str:
    """A KLayout macro (``.lym``, Python) that replays the recipe with layertools.

    In the application (Macro Development IDE, or Macros menu) it works on the current layout and
    active cell as one undo step.  In batch mode it reads ``$input`` and writes ``$output``::

        klayout -b -r recipe.lym -rd input=in.gds -rd output=out.gds [-rd cell=NAME]
    """
    data = recipe_to_data(recipe)
    recipe_from_data(data, source="<macro>")   # never write a macro that cannot run
    lines = [
        f"# layertools recipe: {len(recipe.steps)} step(s), recorded with layertools {__version__}.",
        "#",
        "# In KLayout (Macro Development IDE, or the Macros menu): replays the steps on the current",
        "# layout and active cell, as one undo step.  In batch mode, on files:",
        "#   klayout -b -r THIS.lym -rd input=IN.gds -rd output=OUT.gds [-rd cell=NAME]",
        "# Needs the layertools Salt package (Tools > Manage Packages).",
        "",
        "STEPS = [",
    ]
    for item in data["steps"]:
        pairs = ", ".join(f"{key!r}: {value!r}" for key, value in item.items())
        lines.append(f"    {{{pairs}}},")
    lines += [
        "]",
        "",
        "try:",
        "    import layertools.recipe",
        "except ImportError as exc:",
        "    raise RuntimeError('this macro needs the layertools Salt package: %s' % exc)",
        "",
        f"layertools.recipe.run_macro({{'layertools': {data['layertools']}, 'steps': STEPS}}, globals())",
        "",
    ]
    text = "\n".join(lines)
    summary = description or "; ".join(step.describe() for step in recipe.steps)
    summary = "".join(ch if ch.isprintable() else " " for ch in summary)   # XML 1.0 forbids most controls
    if len(summary) > 200:
        summary = summary[:197] + "..."
    return _MACRO_TEMPLATE.format(description=_xml_escape("layertools recipe: " + summary),
                                  text=_xml_escape(text))


def save_macro(recipe: Recipe, path: str | os.PathLike, description: str | None = None) -> None:
    """Write :func:`recipe_to_macro`'s text atomically."""
    _write_text_atomically(os.fspath(path), recipe_to_macro(recipe, description))


def run_macro(data: Any, variables: Mapping[str, Any] | None = None):
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
    main_window = _main_window()
    if input_path is None and main_window is not None:
        # in the application (Macro IDE, Macros menu): never end it, raise instead
        view = main_window.current_view()
        if view is None:
            raise RecipeError("no layout is open: open a layout first (or run in batch mode: "
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

    missing = [name for name in ("recipe", "input", "output") if string(name) is None]
    if missing:
        print("layertools replay (batch): missing " + ", ".join(f"-rd {name}=..." for name in missing) + "\n"
              "usage: klayout -b -r layertools_replay.py -rd recipe=RECIPE.yaml -rd input=IN.gds "
              "-rd output=OUT.gds [-rd cell=NAME]", file=sys.stderr)
        return EXIT_USAGE
    return replay_files(string("recipe"), string("input"), string("output"), cell=string("cell"))


def _main_window():
    """The application's main window, or None (standalone Python, ``klayout -b``)."""
    try:
        import pya  # type: ignore[import-not-found]
    except ImportError:
        return None
    application = getattr(pya, "Application", None)
    if application is None or application.instance() is None:
        return None
    return application.instance().main_window()


__all__ = [
    "RECIPE_VERSION", "Step", "Recipe", "RecipeError", "ReplayError", "parse_recipe", "load_recipe",
    "recipe_from_data", "recipe_to_data", "dump_recipe", "save_recipe", "step_from_evaluation",
    "replay", "replay_in_view", "replay_files", "replay_command", "exit_status",
    "recipe_to_macro", "save_macro", "run_macro", "run_batch",
]
