"""Every hard limit of layertools, and the one check that every number from a user goes through.

The README's "Limits" table lists these values; tests/test_limits.py checks that table against
this module, so a limit changed here without the documentation fails the suite.
"""

from __future__ import annotations

import math
import re

#: Largest coordinate KLayout's database stores (32-bit signed integer, in database units).
MAX_COORDINATE_DBU = 2**31 - 1
#: Largest dimension (bloat distance, box corner, ...) in database units: half the coordinate
#: range, so that a shape grown or placed by it still has representable coordinates.
MAX_DIMENSION_DBU = 2**30
#: Largest layer or datatype number (KLayout stores them as 32-bit signed integers).
MAX_LAYER_NUMBER = 2**31 - 1
#: Largest magnitude of any number in an expression (Xic's INFINITY constant is 1e300).
MAX_NUMBER = 1e300
#: Deepest nesting of parentheses, function calls and unary operators in one expression.
MAX_NESTING = 100
#: Deepest expression tree after parsing (long chains of non-associative operators count here).
MAX_TREE_DEPTH = 250
#: Most tiles of one tiled evaluation (about 40 bytes of bookkeeping each, plus per-tile work).
MAX_TILES = 1_000_000
#: Smallest tile edge (partition) in database units: finer tiles round coordinates inside a tile.
MIN_TILE_DBU = 10
#: Most worker threads (KLayout's TilingProcessor and DeepShapeStore start them all).
MAX_THREADS = 256
#: Deepest nesting of lists and mappings in a recipe, and most characters of a quoted value in a message.
MAX_RECIPE_NESTING = 50
MAX_QUOTED_CHARS = 80
#: Most digits of a whole number read from text (Python refuses int() beyond 4,300 digits).
MAX_DIGITS = 30

# The number spellings shared by expressions, options and recipes (ASCII only: str.isdigit accepts
# "²" and "①", which int() refuses).
_INTEGER = re.compile(r"[+]?[0-9]+\Z")
_REAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


class NumberError(ValueError):
    """A number outside what layertools accepts; the message says which limit."""


def is_whole_number_text(text: str) -> bool:
    """True for an ASCII whole number without sign, at most MAX_DIGITS digits long."""
    return bool(_INTEGER.match(text)) and len(text.lstrip("+")) <= MAX_DIGITS


def finite(value: float, what: str = "number", limit: float = MAX_NUMBER) -> float:
    """``value`` as a float when it is finite and at most ``limit`` in magnitude, else NumberError."""
    try:
        number = float(value)
    except OverflowError:
        raise NumberError(f"{what} is too large (the limit is {limit:g})") from None
    if math.isnan(number):
        raise NumberError(f"{what} is not a number (NaN)")
    if math.isinf(number) or abs(number) > limit:
        raise NumberError(f"{what} is too large (the limit is {limit:g})")
    return number


def parse_real(text: str, what: str = "number") -> float:
    """A decimal number written in text (``100``, ``1e3``, ``.5``), finite and within MAX_NUMBER."""
    if not _REAL.match(text.strip()):
        raise NumberError(f"{what} must be a number, not {quoted(text)}")
    return finite(float(text), what)


def parse_whole(text: str, what: str, maximum: int) -> int:
    """A whole number >= 0 written in ASCII digits, at most ``maximum``."""
    text = text.strip()
    if _INTEGER.match(text) and not is_whole_number_text(text):
        raise NumberError(f"{what} {quoted(text, 24)} is too large (the limit is {maximum})")
    if not is_whole_number_text(text):
        raise NumberError(f"{what} must be a whole number >= 0, not {quoted(text)}")
    return whole(int(text), what, maximum)


def whole(value: int, what: str, maximum: int) -> int:
    """``value`` when it is a whole number in 0..maximum, else NumberError naming the limit."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise NumberError(f"{what} must be a whole number >= 0, not {quoted(value)}")
    if value > maximum:
        raise NumberError(f"{what} {_short_int(value)} is too large (the limit is {maximum})")
    return value


def dimension_dbu(microns: float, dbu: float, what: str) -> int:
    """A dimension in µm as database units, or NumberError when the database cannot hold it."""
    units = microns / dbu
    if not math.isfinite(units) or abs(units) > MAX_DIMENSION_DBU:
        raise NumberError(f"{what} {microns:g} µm is too large for the database "
                          f"(the limit is {MAX_DIMENSION_DBU * dbu:g} µm = 2^30 database units of {dbu:g} µm)")
    return int(round(units))


def quoted(value: object, limit: int = MAX_QUOTED_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters: messages never grow with the input.
    Strings and numbers only are rendered; containers are named by type and size (never walked)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        if isinstance(value, int) and not isinstance(value, bool):
            text = _short_int(value)
        else:
            text = repr(value[: limit + 1] if isinstance(value, str) else value)
    else:
        if isinstance(value, (list, tuple, dict)):
            text = f"a {'mapping' if isinstance(value, dict) else 'list'} of {len(value)} item(s)"
        else:
            text = f"a {type(value).__name__}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def described(value: object) -> str:
    """``value`` quoted with what kind of value it is, e.g. ``100 (number)``, ``'x' (text)``, ``null``:
    for messages about values read from files, where the kind is often the mistake."""
    if value is None:
        return "null"
    if isinstance(value, (dict, list, tuple)):
        return f"a {type_name(value)}"
    return f"{quoted(value)} ({type_name(value)})"


def type_name(value: object) -> str:
    """The kind of a plain-data value as a recipe's author knows it."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, str):
        return "text"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def clipped(text: str, limit: int = 300) -> str:
    """Free text (an exception's message) cut to ``limit`` characters for a message."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _short_int(value: int) -> str:
    """An int as text without Python's 4,300-digit conversion error or a page of digits."""
    if value.bit_length() > 100:
        return f"(a {'negative ' if value < 0 else ''}number of about {int(value.bit_length() * 0.30103) + 1} digits)"
    return str(value)
