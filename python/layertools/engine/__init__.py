"""The evaluation engine behind the panel, the command line and replay (doc/decisions.md I1).

The modules, in the order an evaluation uses them: ``layers`` (layer, cell and To-layer names),
``binding`` (the parsed tree bound to a layout), ``functions`` (what each expression function
does), ``auto``/``cost`` (the strategy), ``regions`` (flat and deep evaluation), ``geometry``
(Region algorithms), ``tiled`` (TilingProcessor), ``output`` (shaping and writing), and
``evaluation``, which runs them; ``explain`` shows the plan without running it.
"""

from .evaluation import evaluate, evaluate_with_options

__all__ = ["evaluate", "evaluate_with_options"]
