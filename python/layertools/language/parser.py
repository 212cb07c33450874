"""Parser and checker for layer expressions: text -> checked tree, or ExpressionError with a position.

Precedence (D1, Xic's table): unary > ``^``/xor > ``*`` > ``+`` ``-`` binary-not > ``&``/and >
``|``/or; every binary operator is left-associative.  Number-only subtrees are folded to numbers
(D2).  Everything that can be known without a layout is checked here, so that evaluation never
starts on an expression that cannot finish.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass

from ..errors import ExpressionError
from .ast import GEOMETRY, SCALAR, Binary, Call, Instances, LayerRef, Node, Number, Unary
from .lexer import CONSTANTS, Token, hex_layer_datatype, is_hex_layer_name, tokenize

NUMERIC, GEOM = "n", "g"


@dataclass(frozen=True)
class FunctionSpec:
    params: tuple[str, ...]          # the kinds of the fixed parameters
    variadic: bool = False           # the last kind repeats (at least len(params) arguments)
    optional: int = 0                # how many trailing parameters may be left out

    def arity_text(self) -> str:
        if self.variadic:
            return f"at least {len(self.params)}"
        if self.optional:
            return f"{len(self.params) - self.optional} or {len(self.params)}"
        return str(len(self.params))

    def accepts(self, count: int) -> bool:
        if self.variadic:
            return count >= len(self.params)
        return len(self.params) - self.optional <= count <= len(self.params)

    def kind_of(self, index: int) -> str:
        return self.params[min(index, len(self.params) - 1)]


FUNCTIONS: dict[str, FunctionSpec] = {
    "bloat": FunctionSpec((NUMERIC, GEOM, NUMERIC)),
    "edges": FunctionSpec((NUMERIC, GEOM, NUMERIC)),
    "manhattanize": FunctionSpec((NUMERIC, GEOM, NUMERIC)),
    "extent": FunctionSpec((GEOM,)),
    "box": FunctionSpec((NUMERIC,) * 4),
    "zoid": FunctionSpec((NUMERIC,) * 6),
    "geomOr": FunctionSpec((GEOM,), variadic=True),
    "geomAnd": FunctionSpec((GEOM, GEOM), optional=1),
    "geomAndNot": FunctionSpec((GEOM, GEOM)),
    "geomNot": FunctionSpec((GEOM,)),
    "geomXor": FunctionSpec((GEOM, GEOM), optional=1),
    "geomCat": FunctionSpec((GEOM,), variadic=True),
    "filt": FunctionSpec((GEOM, GEOM)),
    "sqz": FunctionSpec((GEOM,)),
    "noop": FunctionSpec((GEOM,)),
}

UNSUPPORTED_FUNCTIONS = {
    "drcZlist": "drcZlist (Xic's DRC rule areas) is not supported",
    "drcZlistEx": "drcZlistEx (Xic's DRC rule areas) is not supported",
}

_ARGUMENT_NAMES = ("first", "second", "third", "fourth", "fifth", "sixth")

# binary operator levels, loosest first
_LEVELS: tuple[tuple[str, ...], ...] = (("|",), ("&",), ("+", "-", "not"), ("*",), ("^",))


def parse(text: str) -> Node:
    """Parse and check ``text``; raises ExpressionError(message, position) on any problem."""
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, not {type(text).__name__}")
    return _Parser(text).parse()


def is_empty(text: str) -> bool:
    """True when the text holds no expression (blank, or only a comment)."""
    return tokenize(text)[0].kind == "end"


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    # -- helpers -------------------------------------------------------------------------------
    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str, pos: int) -> ExpressionError:
        return ExpressionError(message, pos, self.text)

    # -- grammar ---------------------------------------------------------------------------------
    def parse(self) -> Node:
        if self.token.kind == "end":
            raise self.error("the expression is empty", 0)
        node = self.binary(0, numeric=False)
        token = self.token
        if token.kind != "end":
            if token.kind == "rejected":
                raise self.error(_rejected_message(token.text), token.pos)
            if token.kind == "rparen":
                raise self.error("unbalanced ')'", token.pos)
            raise self.error(f"unexpected {_describe(token)} after a complete expression "
                             "(an operator is missing?)", token.pos)
        return node

    def binary(self, level: int, numeric: bool) -> Node:
        if level == len(_LEVELS):
            return self.unary(numeric)
        left = self.binary(level + 1, numeric)
        while self.token.kind == "op" and self.token.text in _LEVELS[level]:
            op_token = self.advance()
            op = "-" if op_token.text == "not" else op_token.text
            right = self.binary(level + 1, numeric)
            left = _combine(op, left, right, op_token.pos, self.text)
        if self.token.kind == "rejected":
            raise self.error(_rejected_message(self.token.text), self.token.pos)
        return left

    def unary(self, numeric: bool) -> Node:
        token = self.token
        if token.kind == "op" and token.text in ("!", "~", "not", "-"):
            self.advance()
            operand = self.unary(numeric)
            op = "-" if token.text == "-" else "!"
            if operand.kind == GEOMETRY and op == "-":
                raise self.error("unary minus applies to numbers, not to geometry "
                                 "(for the inverse of a layer write !layer)", token.pos)
            if isinstance(operand, Number):
                value = -operand.value if op == "-" else (0.0 if _truthy(operand.value) else 1.0)
                return Number(value, token.pos, self.text[token.pos:_end(operand, self.text)].strip())
            return Unary(op, operand, token.pos)
        return self.primary(numeric)

    def primary(self, numeric: bool) -> Node:
        token = self.token
        if token.kind == "lparen":
            self.advance()
            if self.token.kind == "rparen":
                raise self.error("expected an expression inside '()'", self.token.pos)
            node = self.binary(0, numeric)
            if self.token.kind != "rparen":
                raise self.error(f"missing ')' for the '(' at column {token.pos + 1} "
                                 f"(found {_describe(self.token)})", self.token.pos)
            self.advance()
            return node
        if token.kind == "number":
            self.advance()
            if not numeric and is_hex_layer_name(token.raw):
                return LayerRef(token.raw, token.pos, form="hex", ld=hex_layer_datatype(token.raw),
                                text=token.raw)
            return Number(token.value, token.pos, token.raw)
        if token.kind == "ld":
            self.advance()
            layer, datatype = (int(x) for x in token.text.split("/"))
            return LayerRef(token.text, token.pos, cell=token.cell, form="ld", ld=(layer, datatype),
                            text=token.raw)
        if token.kind == "instances":
            self.advance()
            return Instances(token.pos)
        if token.kind == "word":
            if token.followed_by_paren and not token.quoted and token.cell is None:
                return self.call()
            self.advance()
            return _word_node(token, numeric)
        if token.kind == "rejected":
            raise self.error(_rejected_message(token.text), token.pos)
        if token.kind == "end":
            raise self.error("expected a layer, number or '(' but the expression ends", token.pos)
        raise self.error("expected a layer, number or '('", token.pos)

    def call(self) -> Node:
        name_token = self.advance()
        name = name_token.text
        if name in UNSUPPORTED_FUNCTIONS:
            raise self.error(UNSUPPORTED_FUNCTIONS[name], name_token.pos)
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise self.error(_unknown_function_message(name), name_token.pos)
        self.advance()  # '('
        args: list[Node] = []
        arg_positions: list[int] = []
        if self.token.kind != "rparen":
            while True:
                kind = spec.kind_of(len(args))
                arg_positions.append(self.token.pos)
                args.append(self.binary(0, numeric=(kind == NUMERIC)))
                if self.token.kind == "comma":
                    self.advance()
                    continue
                break
        if self.token.kind != "rparen":
            raise self.error(f"expected ',' or ')' in the arguments of {name}, found {_describe(self.token)}",
                             self.token.pos)
        close = self.advance()
        if not spec.accepts(len(args)):
            raise self.error(f"wrong number of arguments to {name}: expected {spec.arity_text()}, "
                             f"got {len(args)}", name_token.pos if not args else close.pos)
        constants = []
        for index, (arg, pos) in enumerate(zip(args, arg_positions)):
            if spec.kind_of(index) == NUMERIC:
                if not isinstance(arg, Number):
                    raise self.error(f"the {_ARGUMENT_NAMES[index]} argument of {name} must be a number "
                                     "(a dimension in µm or a mode), not geometry", pos)
                constants.append(arg.value)
        _check_call(name, constants, name_token.pos, self.text)
        return Call(name, args, name_token.pos, constants=constants)


def _word_node(token: Token, numeric: bool) -> Node:
    if not token.quoted and token.cell is None and token.text in CONSTANTS:
        return Number(CONSTANTS[token.text], token.pos, token.text)
    if token.quoted and token.cell is None:
        for sep in (",", "/"):
            parts = token.text.split(sep)
            if len(parts) == 2 and all(p.strip().isdigit() for p in parts):
                return LayerRef(token.text, token.pos, form="decimal",
                                ld=(int(parts[0]), int(parts[1])), text=token.raw)
    ld = hex_layer_datatype(token.text) if (not token.quoted and is_hex_layer_name(token.text)) else None
    return LayerRef(token.text, token.pos, cell=token.cell, form="name", ld=ld, text=token.raw)


def _combine(op: str, left: Node, right: Node, pos: int, text: str) -> Node:
    if isinstance(left, Number) and isinstance(right, Number):
        try:
            value = _arithmetic(op, left.value, right.value)
        except (OverflowError, ZeroDivisionError, ValueError):
            raise ExpressionError(f"arithmetic error in {left.text or left.value} {op} "
                                  f"{right.text or right.value}", pos, text) from None
        return Number(value, left.pos, text[left.pos:_end(right, text)].strip())
    node = Binary(op, left, right, pos)
    return node


def _arithmetic(op: str, a: float, b: float) -> float:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "^":
        value = math.pow(a, b)
        if isinstance(value, complex):
            raise ValueError
        return value
    if op == "&":
        return 1.0 if (_truthy(a) and _truthy(b)) else 0.0
    if op == "|":
        return 1.0 if (_truthy(a) or _truthy(b)) else 0.0
    raise ValueError(op)


def _truthy(value: float) -> bool:
    """Xic's to_boolean: |v| >= 1e-37 is true."""
    return abs(value) >= 1e-37


def _end(node: Node, text: str) -> int:
    """Offset just past a folded number's text (for the folded node's display text)."""
    if isinstance(node, Number):
        return node.pos + len(node.text) if node.text else node.pos + 1
    return len(text)


def _check_call(name: str, constants: list[float], pos: int, text: str) -> None:
    if name in ("bloat", "edges", "manhattanize"):
        mode = constants[1]
        if mode != int(mode):
            raise ExpressionError(f"the mode of {name} must be a whole number, not {mode:g}", pos, text)
    if name == "manhattanize" and abs(constants[0]) < 0.01:
        raise ExpressionError("the dimension of manhattanize must be at least 0.01 µm", pos, text)
    if name == "edges" and int(constants[1]) not in range(7):
        raise ExpressionError(f"edges mode must be 0..6, not {int(constants[1])}", pos, text)
    if name == "zoid":
        xll, xlr, yl, xul, xur, yu = constants
        if yu < yl:
            xll, xlr, yl, xul, xur, yu = xul, xur, yu, xll, xlr, yl
        if xlr < xll:
            xll, xlr = xlr, xll
        if xur < xul:
            raise ExpressionError("zoid: the top edge runs backwards after normalising "
                                  "(xur < xul)", pos, text)


def _unknown_function_message(name: str) -> str:
    close = difflib.get_close_matches(name, list(FUNCTIONS), n=1, cutoff=0.6)
    by_case = [f for f in FUNCTIONS if f.lower() == name.lower()]
    hint = by_case or close
    suffix = f" (did you mean {hint[0]}? function names are case-sensitive)" if hint else ""
    return f"unknown function {name!r}{suffix}"


def _rejected_message(symbol: str) -> str:
    if symbol in ("gt", "lt", "ge", "le", "ne", "eq", "==", "!=", "<", ">", "<=", ">="):
        return f"comparison {symbol!r} is not allowed in layer expressions"
    if symbol == "/":
        return "'/' is not an operator of layer expressions (layers are written L/D without spaces)"
    return f"{symbol!r} is not an operator of layer expressions"


def _describe(token: Token) -> str:
    if token.kind == "end":
        return "the end of the expression"
    return repr(token.raw or token.text)


__all__ = ["parse", "is_empty", "FUNCTIONS", "SCALAR", "GEOMETRY"]
