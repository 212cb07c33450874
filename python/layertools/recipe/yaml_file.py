"""Recipe files: YAML read strictly (unknown keys, wrong types, duplicate keys and bad expressions
are errors that name the file, line, step and key; doc/decisions.md I4) and written so that they
read back to the same recipe."""

from __future__ import annotations

import os
import sys
from typing import Any, Mapping

from .._version import __version__
from ..errors import ExpressionError, MissingDependencyError, OptionError, RecipeError
from ..limits import MAX_DIGITS, MAX_RECIPE_NESTING, clipped, described, quoted, type_name
from ..options import EvalOptions, Text, closest, option_default, option_specs
from .model import RECIPE_VERSION, STEP_KEYS, TOP_KEYS, Recipe, Step

# --------------------------------------------------------------------------------------------
# Reading

def _yaml():
    try:
        import yaml
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


def _loader_class(yaml: Any) -> Any:
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
    yaml: Any = _yaml()
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
        key = exc.option or ""   # from_mapping names the option of every error it raises
        quote = isinstance(option_specs()[key].kind, Text) and not isinstance(exc.value, str)
        raise problem(key, exc.message + (" (quote it in the YAML)" if quote else "")) from None
    try:
        _parse_expression(expression)
    except ExpressionError as exc:
        raise problem("expression", f"bad expression: {exc}", caret=exc.caret()) from None
    return Step(expression=expression, options=options, source=source, line=line,
                key_lines={str(key): value for key, value in key_lines.items()})


def _parse_expression(expression: str) -> None:
    from ..language import parse
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
    yaml: Any = _yaml()
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

    def represent_text(dumper: Any, text: str) -> Any:
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
    write_text_atomically(os.fspath(path), dump_recipe(recipe))


def write_text_atomically(path: str, text: str) -> None:
    """Write a recipe or macro file atomically; a failure is a RecipeError naming the file."""
    from ..safe_write import write_text_atomically as write
    try:
        write(path, text)
    except OSError as exc:
        raise RecipeError(f"cannot write {path}: {exc.strerror or exc}") from None
