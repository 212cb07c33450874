"""Tokens of Xic's layer-expression language (D3/D4/D14).

A layer reference is a run of characters free of Xic's special characters (double-quoted
sections may hold them); KLayout's ``L/D`` form is recognised before the run rule because ``/``
is special.  Whether a numeric-looking run is a number or a layer is decided by the parser,
which knows the context (D3).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ExpressionError
from ..limits import MAX_DIGITS, NumberError, finite

# Characters that end a layer-name run (Xic's list, si_parser.cc).
SPECIAL = set(" \t\r\n%()[]-^+*,;/|&<>~!=")

KEYWORDS = {"and": "&", "or": "|", "xor": "^", "not": "not"}
COMPARISON_WORDS = {"gt", "lt", "ge", "le", "ne", "eq"}

# Xic's named constants (case-sensitive); they shadow layer names unless quoted (D14).
CONSTANTS = {
    "e": 2.718281828459045, "pi": 3.141592653589793, "PI": 3.141592653589793,
    "PI_2": 1.5707963267948966, "PI_4": 0.7853981633974483, "NULL": 0.0, "INFINITY": 1e300,
    "TRUE": 1.0, "FALSE": 0.0, "EOF": -1.0, "CHARGE": 1.602176634e-19, "CTOK": 11604.518,
    "BOLTZ": 1.380649e-23, "ROOT2": 1.4142135623730951, "PHI0": 2.067833848e-15,
}

# ASCII digits only: Python's \d and str.isdigit accept "²" and other digits int() refuses.
_NUMBER = re.compile(r"0[xX][0-9a-fA-F]+|(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eEdD][+-]?[0-9]+)?")
_LAYER_DATATYPE = re.compile(r"([0-9]+)/([0-9]+)")
# Operators Xic's parser knows but rejects in layer expressions: named so the error can say why.
_REJECTED_PAIRS = ("==", "!=", "<=", ">=")
_REJECTED_SINGLE = "<>=/%[]"


@dataclass
class Token:
    kind: str      # op | word | number | ld | instances | lparen | rparen | comma | rejected | end
    text: str      # operator symbol / word text (quotes removed) / raw number text
    pos: int       # 0-based offset in the expression
    raw: str = ""  # the text exactly as written
    quoted: bool = False
    value: float | None = None  # for numbers
    cell: str | None = None     # ".cellname" part of a layer run
    followed_by_paren: bool = False


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in " \t\r\n":
            i += 1
            continue
        if ch in ";#" or text.startswith("//", i) or text.startswith("/*", i):
            break  # comment start ends the expression (Xic)
        start = i
        if ch in "()":
            tokens.append(Token("lparen" if ch == "(" else "rparen", ch, i, ch))
            i += 1
            continue
        if ch == ",":
            tokens.append(Token("comma", ch, i, ch))
            i += 1
            continue
        two = text[i:i + 2]
        if two in _REJECTED_PAIRS:
            tokens.append(Token("rejected", two, i, two))
            i += 2
            continue
        if ch in "|&+-*^!~":
            tokens.append(Token("op", ch, i, ch))
            i += 1
            continue
        if ch in _REJECTED_SINGLE:
            tokens.append(Token("rejected", ch, i, ch))
            i += 1
            continue
        if text.startswith("$$", i) and (i + 2 == n or text[i + 2] in SPECIAL):
            tokens.append(Token("instances", "$$", i, "$$"))
            i += 2
            continue
        ld = _LAYER_DATATYPE.match(text, i)
        if ld and (ld.end() == n or text[ld.end()] in SPECIAL or text[ld.end()] == "."):
            token = Token("ld", ld.group(0), i, ld.group(0))
            i = ld.end()
            if i < n and text[i] == ".":
                cell, i = _read_field(text, i + 1)
                token.cell = cell
                token.raw = text[start:i]
            tokens.append(token)
            continue
        number = _NUMBER.match(text, i) if ch in "0123456789." else None
        if number and (number.end() == n or text[number.end()] in SPECIAL):
            raw = number.group(0)
            tokens.append(Token("number", raw, i, raw, value=_number_value(raw, i, text)))
            i = number.end()
            continue
        if ch == "'" and i + 2 < n and text[i + 2] == "'":
            tokens.append(Token("number", text[i:i + 3], i, text[i:i + 3], value=float(ord(text[i + 1]))))
            i += 3
            continue
        i = _word(text, i, tokens)
    # Keywords: recognised only when a special character follows (Xic), never at the very end.
    for index, token in enumerate(tokens):
        if token.kind == "word" and not token.quoted and token.cell is None:
            follow = token.pos + len(token.raw)
            lower = token.text.lower()
            if (lower in KEYWORDS or lower in COMPARISON_WORDS) and follow < n and text[follow] in SPECIAL:
                if lower in COMPARISON_WORDS:
                    token.kind = "rejected"
                else:
                    token.kind = "op"
                    token.text = KEYWORDS[lower]
        if token.kind in ("word", "ld") and index + 1 < len(tokens) and tokens[index + 1].kind == "lparen":
            token.followed_by_paren = True
    tokens.append(Token("end", "", _end_position(text), ""))
    return tokens


def _word(text: str, i: int, tokens: list[Token]) -> int:
    """A layer/function/constant run: ``field[.field[.field]]`` where a field may be quoted."""
    start = i
    fields: list[str] = []
    quoted = False
    field, i, was_quoted = _read_field_quoted(text, i)
    fields.append(field)
    quoted = quoted or was_quoted
    while i < len(text) and text[i] == ".":
        field, i, was_quoted = _read_field_quoted(text, i + 1)
        fields.append(field)
        quoted = quoted or was_quoted
    raw = text[start:i]
    if i == start:  # a character no rule accepts
        raise ExpressionError(f"unexpected character {text[i]!r}", i, text)
    token = Token("word", fields[0], start, raw, quoted=quoted)
    if len(fields) == 2:
        token.cell = fields[1]
    elif len(fields) > 2:
        # lname.stname.cellname and lname.@db: Xic symbol tables and databases (D21)
        raise ExpressionError(
            "symbol-table references (lname.table.cell) are not supported; use lname.cellname", start, text)
    if token.cell is not None and token.cell.startswith("@"):
        raise ExpressionError("special databases (lname.@db) are not supported", start, text)
    tokens.append(token)
    return i


def _read_field_quoted(text: str, i: int) -> tuple[str, int, bool]:
    out = []
    quoted = False
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise ExpressionError("unterminated double quote", i, text)
            out.append(text[i + 1:end])
            quoted = True
            i = end + 1
        elif ch in SPECIAL or ch == ".":
            break
        else:
            out.append(ch)
            i += 1
    return "".join(out), i, quoted


def _read_field(text: str, i: int) -> tuple[str, int]:
    field, i, _ = _read_field_quoted(text, i)
    return field, i


def _number_value(raw: str, pos: int, text: str) -> float:
    """The value of a number token: finite and within MAX_NUMBER, or an error at its column."""
    try:
        if raw[:2].lower() == "0x":
            if len(raw) > 2 + MAX_DIGITS:
                raise NumberError(f"hexadecimal number {raw[:12]}... is too long (at most {MAX_DIGITS} digits)")
            return finite(int(raw, 16))
        return finite(float(raw.replace("d", "e").replace("D", "e")))
    except NumberError as exc:
        raise ExpressionError(str(exc), pos, text) from None


def _end_position(text: str) -> int:
    """Where the expression ends: the start of a comment, or the end of the text without trailing blanks."""
    i, n = 0, len(text)
    in_quote = False
    while i < n:
        ch = text[i]
        if ch == '"':
            in_quote = not in_quote
        elif not in_quote and (ch in ";#" or text.startswith("//", i) or text.startswith("/*", i)):
            break
        i += 1
    while i > 0 and text[i - 1] in " \t\r\n":
        i -= 1
    return i


def is_hex_layer_name(text: str) -> bool:
    """Xic: a token of exactly 4 or 8 hex digits (a trailing '.' ignored) names a GDS layer."""
    core = text[:-1] if text.endswith(".") else text
    return len(core) in (4, 8) and all(c in "0123456789abcdefABCDEF" for c in core)


def hex_layer_datatype(text: str) -> tuple[int, int]:
    core = text[:-1] if text.endswith(".") else text
    half = len(core) // 2
    return int(core[:half], 16), int(core[half:], 16)
