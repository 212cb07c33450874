"""What a recipe is: an ordered list of steps, each an expression and the options it ran with."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..options import EvalOptions, option_specs

RECIPE_VERSION = 1
#: The top-level keys of a recipe file.
TOP_KEYS = ("layertools", "steps")
#: The keys of one step, in the order they are written: the expression, then EvalOptions' fields.
STEP_KEYS = ("expression",) + tuple(option_specs())


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
