"""layertools: Xic-style layer expressions and memory diagnostics for KLayout.

The core (this package minus ``layertools.gui``) knows nothing of Qt and runs with the PyPI
``klayout`` module as well as inside the KLayout application.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    Cancelled,
    CellNotFoundError,
    EvaluationError,
    ExpressionError,
    LayerNotFoundError,
    LayertoolsError,
    MissingDependencyError,
    OptionError,
)
from .options import EvalOptions, EvalResult

if TYPE_CHECKING:
    from .compat import db
    from .engine.explain import Explanation
    from .language.ast import Node

#: The installed Salt package's root (grain.xml, icons/) when loaded from a package checkout.
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ICON_DIR = os.path.join(PACKAGE_ROOT, "icons")


def parse(text: str) -> Node:
    """Parse a layer expression into a checked tree; raises ExpressionError with the position."""
    from .language import parse as _parse
    return _parse(text)


def evaluate(layout: "db.Layout", cell: "db.Cell | int | str | None", expression: str, to: str,
             **options: Any) -> EvalResult:
    """Evaluate ``expression`` on ``cell`` of ``layout`` and write the result to layer ``to``.

    Options are the fields of :class:`EvalOptions` (depth, recursive, strategy, partition, threads,
    clear, format, merge, fast, ...).  Nothing in the layout changes unless the whole evaluation
    succeeds.  See doc/decisions.md I1.

    ``progress=callable(message, fraction)`` is told what runs and may raise to cancel.  With it,
    tiles run in bands of rows so that it is called between them; a callable whose attribute
    ``klayout_shows_tile_progress`` is true (the panel's, in the application, where KLayout's own
    progress bar follows each tile and has a Cancel button) gets the tiles in one piece instead.
    """
    from .engine import evaluate as _evaluate
    return _evaluate(layout, cell, expression, to, **options)


def explain(layout: "db.Layout", cell: "db.Cell | int | str | None", expression: str, to: str,
            **options: Any) -> Explanation:
    """What ``evaluate`` would do (tree, layers, area, strategy and why), without changing anything."""
    from .engine.explain import explain as _explain
    return _explain(layout, cell, expression, to, **options)


__all__ = [
    "__version__", "parse", "evaluate", "explain", "EvalOptions", "EvalResult",
    "LayertoolsError", "ExpressionError", "LayerNotFoundError", "CellNotFoundError",
    "OptionError", "EvaluationError", "Cancelled", "MissingDependencyError",
    "PACKAGE_ROOT", "ICON_DIR",
]
