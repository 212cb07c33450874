"""The command line's exit statuses and which error means which (doc/decisions.md I2, I8), in one place
for ``layertools eval | replay | memstat``, the batch entry and recorded macros run in ``klayout -b``."""

from __future__ import annotations

from ..errors import ExpressionError, OptionError, RecipeError, ReplayError

EXIT_OK = 0
#: anything else: unreadable or unwritable files, a failed or cancelled evaluation, an interrupt
EXIT_FAILURE = 1
#: a bad command line, expression, layer, cell, option or recipe
EXIT_USAGE = 2


def exit_status(exc: BaseException) -> int:
    """The exit status for a command that ended with ``exc`` (a replay's error by its cause)."""
    cause = exc.cause if isinstance(exc, ReplayError) and exc.cause is not None else exc
    if isinstance(cause, (ExpressionError, OptionError)):   # ExpressionError includes unknown layers and cells
        return EXIT_USAGE
    if isinstance(exc, RecipeError) and not isinstance(exc, ReplayError):
        return EXIT_USAGE
    return EXIT_FAILURE
