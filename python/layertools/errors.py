"""The package's exceptions: every failure a user can cause is one of these, with a message to act on.

Each error carries what it is about as fields (``position``/``column`` of an expression error,
``option`` of an option error, ``source``/``line``/``step``/``key`` of a recipe error, ``step`` of a
cancelled replay), so callers name the place without reading the message text.  Which exit status
each one means on the command line is decided in ``commands/exit_status.py``.
"""

from __future__ import annotations

from typing import Any


class LayertoolsError(Exception):
    """Base class of every error layertools raises on purpose."""


class ExpressionError(LayertoolsError):
    """A layer expression that cannot be parsed or checked.

    ``position`` is the 0-based character offset of the offending text (``column`` is 1-based),
    or None when the error is not tied to one place.
    """

    def __init__(self, message: str, position: int | None = None, text: str | None = None):
        self.message = message
        self.position = position
        self.text = text
        where = f" at column {position + 1}" if position is not None else ""
        super().__init__(f"{message}{where}")

    @property
    def column(self) -> int | None:
        return None if self.position is None else self.position + 1

    def caret(self) -> str:
        """The expression with a caret line under the offending position (for terminals and panels)."""
        if self.text is None or self.position is None:
            return self.text or ""
        return f"{self.text}\n{' ' * self.position}^"


class LayerNotFoundError(ExpressionError):
    """A layer reference that names no layer (or several)."""


class CellNotFoundError(ExpressionError):
    """A cell reference that names no cell."""


class OptionError(LayertoolsError):
    """An evaluation option with a wrong value (depth, partition, format, ...).

    ``option`` is the name of the EvalOptions field (or recipe key) at fault when one is, and
    ``value`` the value given, so callers name the key without reading the message."""

    def __init__(self, message: str, *, option: str | None = None, value: object = None):
        self.message = message
        self.option = option
        self.value = value
        super().__init__(message)


class EvaluationError(LayertoolsError):
    """Evaluation failed after checking; the layout is unchanged."""


class Cancelled(LayertoolsError):
    """The user cancelled a running evaluation; the layout is unchanged.

    ``step`` is the 1-based recipe step that was running when a replay was cancelled, else None."""

    def __init__(self, message: str = "", *, step: int | None = None):
        self.step = step
        super().__init__(message)


class MissingDependencyError(LayertoolsError):
    """An optional Python package (e.g. PyYAML) is not installed."""


class LayoutFileError(LayertoolsError):
    """A layout file that cannot be read or written."""


class CaptureError(LayertoolsError):
    """The C-level standard output cannot be redirected on this platform."""


class ClusterError(LayertoolsError):
    """The cluster could not run the work: no scheduler, a worker that cannot read the input, ..."""


class RecipeError(LayertoolsError):
    """A recipe that cannot be read or replayed.  ``source`` is the file, ``line`` 1-based in it,
    ``step`` 1-based; ``key`` is the step's key (or a top-level key); ``caret`` the expression with a
    caret under the offending position, for expression errors."""

    def __init__(self, message: str, *, source: str | None = None, step: int | None = None,
                 key: str | None = None, line: int | None = None, caret: str | None = None):
        self.message = message
        self.source = source
        self.step = step
        self.key = key
        self.line = line
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
    """A step failed during replay.

    ``cause`` is the original error (an ExpressionError for an unknown layer, an EvaluationError, ...);
    ``outcome`` what became of the layout (:data:`RESTORED` after a step ran, :data:`UNCHANGED` when
    the checks before the first write failed), told after the problem in the message.
    """

    RESTORED = "the layout is as it was before the replay"
    UNCHANGED = "nothing was changed"

    def __init__(self, message: str, *, cause: BaseException | None = None, outcome: str = RESTORED,
                 **where: Any):
        self.cause = cause
        self.problem = message
        self.outcome = outcome
        super().__init__(f"{message}; {outcome}" if outcome else message, **where)

    def with_outcome(self, outcome: str) -> "ReplayError":
        """The same error telling a different outcome."""
        return ReplayError(self.problem, cause=self.cause, outcome=outcome, source=self.source, step=self.step,
                           key=self.key, line=self.line, caret=self.caret)


class NoLayoutError(LayertoolsError):
    """There is no layout (or no cell) to work on in the application; the message says what to do."""
