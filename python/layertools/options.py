"""Evaluation options: one dataclass shared by the API, the panel, the command line and recipes.

Each field of :class:`EvalOptions` declares everything about its option once (an
:class:`OptionSpec` in the field's metadata): its help text, its kind (which values it takes and
how they are checked and normalised), its choices and its command-line flag.  The command line
(``cli.build_parser``), recipes (``EvalOptions.from_mapping``), the panel's saved settings and
``validated()`` all read that one declaration, so a new option is one field here.

The field names and defaults are the documented ones (doc/decisions.md I1, I4 and I7); recipes store
exactly these keys, so renaming a field breaks recorded work.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Union

from .errors import OptionError
from .limits import MAX_LAYER_NUMBER, MAX_THREADS, NumberError, described, finite, parse_real, parse_whole, whole

STRATEGIES = ("auto", "flat", "tiled", "deep")
FORMATS = ("default", "joined", "hsplit", "vsplit")
MAX_DEPTH = 5  # the panel's menu offers 0..5 and "all"; the API accepts any depth >= 0
DEFAULT_PARTITION = 100.0  # µm, Xic's PartitionSize default
JOIN_MAX_POLY_VERTS = 600  # Xic's JoinMaxPolyVerts default (0 = no limit)

Depth = Union[int, str]


# --------------------------------------------------------------------------------------------
# The kinds of option value.  ``check`` takes a typed value (API, recipe, saved settings) and
# returns it normalised or raises OptionError; ``parse`` turns the command line's text into the
# value ``check`` expects (text stays text where ``check`` reads text, as for depth and partition).

class Kind:
    """What values an option takes."""

    choices: tuple[str, ...] = ()

    def check(self, name: str, value: Any) -> Any:
        raise NotImplementedError

    def parse(self, name: str, text: str) -> Any:
        return text


@dataclass(frozen=True)
class Text(Kind):
    """Free text; ``what`` says what it is in messages."""

    what: str
    optional: bool = False   # None (null) allowed
    empty: bool = True       # "" allowed (the engine itself reports an empty To layer)

    def check(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return None
        if not isinstance(value, str) or (not value and not self.empty):
            null = " or null" if self.optional else ""
            raise OptionError(f"'{name}' must be {self.what}{null}, not {described(value)}", option=name,
                              value=value)
        return value   # kept as written (the engine ignores surrounding blanks): round trips stay exact


@dataclass(frozen=True)
class Flag(Kind):
    """true or false; on the command line a switch (``--no-NAME`` when the default is true)."""

    def check(self, name: str, value: Any) -> bool:
        if not isinstance(value, bool):
            raise OptionError(f"{name} must be true or false, not {described(value)}", option=name, value=value)
        return value


@dataclass(frozen=True)
class Choice(Kind):
    """One word of ``choices`` (any case, surrounding blanks ignored)."""

    choices: tuple[str, ...] = ()

    def check(self, name: str, value: Any) -> str:
        text = value.strip().lower() if isinstance(value, str) else None
        if text not in self.choices:
            raise OptionError(f"{name} must be one of {', '.join(self.choices)}, not {described(value)}",
                              option=name, value=value)
        return text


@dataclass(frozen=True)
class Count(Kind):
    """A whole number 0..maximum."""

    maximum: int = MAX_LAYER_NUMBER

    def check(self, name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise OptionError(f"{name} must be a whole number >= 0, not {described(value)}", option=name, value=value)
        return _number_option(whole, value, name, self.maximum)

    def parse(self, name: str, text: str) -> int:
        return _number_option(parse_whole, text, name, self.maximum)


@dataclass(frozen=True)
class DepthKind(Kind):
    """A hierarchy depth: a whole number >= 0, or 'all'."""

    def check(self, name: str, value: Any) -> Depth:
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("all", "a", "*"):
                return "all"
            value = _number_option(parse_whole, text, name, MAX_LAYER_NUMBER, hint=" or 'all'")
        elif isinstance(value, bool) or not isinstance(value, int):
            raise OptionError(f"{name} must be a whole number >= 0 or 'all', not {described(value)}",
                              option=name, value=value)
        return _number_option(whole, value, name, MAX_LAYER_NUMBER, hint=" or 'all'")


@dataclass(frozen=True)
class Partition(Kind):
    """A tile size in µm; None, 'none' or 0 mean no partitioning (Xic: PartitionSize 0).  Text is
    read as the command line reads it (YAML 1.1 reads ``1e3``, without a dot, as text)."""

    def check(self, name: str, value: Any) -> float | None:
        if value is None:
            return None
        if isinstance(value, str):
            text = value.strip().lower()
            if text in ("none", "off", ""):
                return None
            value = _number_option(parse_real, text, name, hint=" (a size in µm) or 'none'")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise OptionError(f"{name} must be a size in µm or 'none', not {described(value)}",
                              option=name, value=value)
        value = _number_option(finite, value, name)
        if value == 0:
            return None
        if value < 0:
            raise OptionError(f"{name} must be a positive size in µm or 'none', not {value!r}",
                              option=name, value=value)
        return value


def _number_option(check: Callable[..., Any], value: Any, name: str, *args: Any, hint: str = "") -> Any:
    """``check(value, name, *args)`` with its NumberError as an OptionError (one message style)."""
    try:
        return check(value, name, *args)
    except NumberError as exc:
        raise OptionError(str(exc).replace(", not ", f"{hint}, not ", 1), option=name, value=value) from None


# --------------------------------------------------------------------------------------------
# The declaration of one option

@dataclass(frozen=True)
class OptionSpec:
    """Everything about one option besides its name and default (which are the field's)."""

    kind: Kind
    help: str
    #: the command-line flag (``--no-NAME`` for a Flag whose default is true; ``help`` then says what
    #: the flag does); None: not a command-line option
    flag: str | None = None
    metavar: str | None = None
    #: recipes write the key even at its default (the documented example shows it)
    always_written: bool = True

    @property
    def choices(self) -> tuple[str, ...]:
        return self.kind.choices

    @property
    def parses_text(self) -> bool:
        """The command line's text must be converted (a number), not handed over as it is."""
        return type(self.kind).parse is not Kind.parse


def _option(default: Any, kind: Kind, help: str, **spec: Any) -> Any:
    return field(default=default, metadata={"option": OptionSpec(kind, help, **spec)})


@dataclass
class EvalOptions:
    """Everything that controls one evaluation, besides the layout and the expression."""

    to: str = _option("", Text('a layer written as text ("L/D", a name, or "name L/D")'),
                      "target layer: L/D, a name, or 'name L/D'", flag="--to")
    cell: str | None = _option(None, Text("a cell name", optional=True, empty=False),
                               "cell to evaluate (default: the single top cell)", flag="--cell")
    depth: Depth = _option("all", DepthKind(), "hierarchy depth to read: 0, 1, ... or all (default)",
                           flag="--depth")
    recursive: bool = _option(False, Flag(), "evaluate in each cell separately (Xic)", flag="--recursive")
    strategy: str = _option("auto", Choice(STRATEGIES), "how to evaluate (default auto: chosen by size)",
                            flag="--strategy")
    partition: float | None = _option(DEFAULT_PARTITION, Partition(),
                                      f"tile size in µm, or none (default {DEFAULT_PARTITION:g})",
                                      flag="--partition")
    threads: int = _option(0, Count(MAX_THREADS), f"worker threads (default 0, at most {MAX_THREADS})",
                           flag="--threads")
    clear: bool = _option(True, Flag(), "keep what is on the target layer (default: clear it first)",
                          flag="--no-clear")
    format: str = _option("default", Choice(FORMATS), "output format of the result (Xic's Join/Split)",
                          flag="--format")
    merge: bool = _option(False, Flag(), "merge with objects already on the target layer", flag="--merge")
    fast: bool = _option(False, Flag(), "Xic's Fast mode (no undo; no effect here)", flag="--fast")
    join_max_poly_verts: int = _option(JOIN_MAX_POLY_VERTS, Count(),
                                       "Joined output: break polygons above N vertices "
                                       "(Xic's JoinMaxPolyVerts; 0: no limit)",
                                       flag="--join-max-verts", metavar="N", always_written=False)

    def validated(self) -> "EvalOptions":
        """A normalised copy (depth 'all' or int, partition float or None, ...), or OptionError."""
        return dataclasses.replace(self, **{name: spec.kind.check(name, getattr(self, name))
                                            for name, spec in option_specs().items()})

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "EvalOptions":
        """Strictly checked options from plain data (a recipe step, the panel's saved settings):
        omitted keys take their defaults; an unknown key or a wrong value is an OptionError whose
        ``option`` names the key."""
        specs = option_specs()
        for key in values:
            if key not in specs:
                hint = closest(str(key), tuple(specs))
                raise OptionError(f"unknown option {described(key)}" + (f" (did you mean '{hint}'?)" if hint else ""),
                                  option=str(key), value=key)
        return cls(**{key: specs[key].kind.check(key, value) for key, value in values.items()})

    def to_mapping(self) -> dict[str, Any]:
        """Plain data in field order that :meth:`from_mapping` reads back to an equal object."""
        return dataclasses.asdict(self)

    def depth_limit(self) -> int | None:
        """The depth as an int, or None for 'all'."""
        depth = normalize_depth(self.depth)
        return None if depth == "all" else int(depth)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def option_specs() -> dict[str, OptionSpec]:
    """Every option's declaration, in field order."""
    return _SPECS


_SPECS: dict[str, OptionSpec] = {f.name: f.metadata["option"] for f in dataclasses.fields(EvalOptions)}


def option_default(name: str) -> Any:
    return next(f.default for f in dataclasses.fields(EvalOptions) if f.name == name)


def normalize_depth(value: Any) -> Depth:
    return DepthKind().check("depth", value)


def closest(word: str, candidates: tuple[str, ...]) -> str | None:
    """The candidate a mistyped ``word`` most likely meant, or None."""
    matches = difflib.get_close_matches(word.lower(), candidates, n=1, cutoff=0.7)
    return matches[0] if matches else None


@dataclass
class EvalResult:
    """What one evaluation did: reported by the panel's status line, the command line and replay."""

    expression: str
    target: str                      # the To layer as "L/D" or its name
    layer_index: int = -1
    shapes_written: int = 0
    cells_written: int = 0
    strategy: str = ""               # the strategy actually used (never "auto")
    reason: str = ""                 # why auto picked it (empty for a fixed strategy)
    tiles: int = 0
    threads: int = 0
    partition: float | None = None
    seconds: float = 0.0
    copied: bool = False             # the lone-layer copy path was used (D17)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        how = "copied" if self.copied else self.strategy
        tiles = f", {self.tiles:,} tiles" if self.tiles > 1 else ""
        return (f"{self.shapes_written:,} shapes written to {self.target} in {self.cells_written:,} cell(s) "
                f"({how}{tiles}, {self.seconds:.2f} s)")
