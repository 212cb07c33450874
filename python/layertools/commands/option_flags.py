"""EvalOptions on the command line: the flags are generated from the option schema (options.py),
so a new option needs no line here."""

from __future__ import annotations

import argparse
from typing import Any, Callable, Iterable, Mapping

from ..errors import OptionError
from ..options import EvalOptions, Flag, OptionSpec, option_default, option_specs


def add_option_flags(parser: argparse.ArgumentParser, names: Iterable[str] | None = None, *,
                     required: Iterable[str] = (), help: Mapping[str, str] | None = None) -> None:
    """Add a flag for each option of ``names`` (default: every option that has one) with its
    declared help, choices and default; ``help`` overrides the text where a command means more."""
    specs = option_specs()
    required = set(required)
    for name in (names if names is not None else specs):
        spec = specs[name]
        if spec.flag is None:
            continue
        text = (help or {}).get(name, spec.help)
        default = option_default(name)
        if isinstance(spec.kind, Flag):  # a switch away from the default: --merge, --no-clear
            parser.add_argument(spec.flag, dest=name, action="store_false" if default else "store_true",
                                default=default, help=text)
            continue
        parse: dict[str, Any] = {"type": _parser_of(name, spec)} if spec.parses_text else {}
        parser.add_argument(spec.flag, dest=name, default=default, required=name in required,
                            choices=spec.choices or None, metavar=spec.metavar, help=text, **parse)


def options_from_flags(args: argparse.Namespace) -> EvalOptions:
    """The EvalOptions the flags of :func:`add_option_flags` set (options without a flag keep their
    defaults), checked: OptionError names the option."""
    values = {name: getattr(args, name) for name in option_specs() if hasattr(args, name)}
    return EvalOptions.from_mapping(values).validated()


def _parser_of(name: str, spec: OptionSpec) -> Callable[[str], Any]:
    """An argparse type: the option's text converted (a number) or argparse's usage error; text
    options are checked with the others in :func:`options_from_flags`."""
    def convert(text: str) -> Any:
        try:
            return spec.kind.parse(name, text)
        except OptionError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = name   # argparse names the type in some messages
    return convert
