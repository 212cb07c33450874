"""The package's exceptions: every failure a user can cause is one of these, with a message to act on."""

from __future__ import annotations


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
    """The user cancelled a running evaluation; the layout is unchanged."""


class MissingDependencyError(LayertoolsError):
    """An optional Python package (e.g. PyYAML) is not installed."""
