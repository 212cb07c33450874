"""Parser and checker for layer expressions: text -> checked tree, or ExpressionError with a position.

Precedence (D1, Xic's table): unary > ``^``/xor > ``*`` > ``+`` ``-`` binary-not > ``&``/and >
``|``/or; every binary operator is left-associative.  Number-only subtrees are folded to numbers
(D2).  Everything that can be known without a layout is checked here, so that evaluation never
starts on an expression that cannot finish.  The functions, their parameters and checks are the
table in ``functions.py``.
"""

from __future__ import annotations

import difflib
import math

from ..errors import ExpressionError
from ..limits import MAX_LAYER_NUMBER, MAX_NESTING, MAX_TREE_DEPTH, NumberError, finite, is_whole_number_text, whole
from .ast import GEOMETRY, Binary, Call, Instances, LayerRef, Node, Number, Unary, children, truthy, walk
from .functions import FUNCTIONS, NUMERIC, UNSUPPORTED_FUNCTIONS
from .lexer import CONSTANTS, Token, hex_layer_datatype, is_hex_layer_name, tokenize

_ARGUMENT_NAMES = ("first", "second", "third", "fourth", "fifth", "sixth")

# binary operator levels, loosest first
_LEVELS: tuple[tuple[str, ...], ...] = (("|",), ("&",), ("+", "-", "not"), ("*",), ("^",))
_LEVEL_OF = {op: level for level, ops in enumerate(_LEVELS) for op in ops}
# Operators that are associative on geometry (union, intersection, xor): a long run of them is
# built as a balanced tree, so 10,000 operands nest log2(10,000) deep instead of 10,000.
_ASSOCIATIVE = frozenset("|&+*^")
_BALANCE_FROM = 16  # shorter runs keep Xic's left-associative shape (what explain shows)


def parse(text: str) -> Node:
    """Parse and check ``text``; raises ExpressionError(message, position) on any problem."""
    if not isinstance(text, str):
        raise ExpressionError(f"the expression must be text, not {type(text).__name__}")
    return _Parser(text).parse()


def calls(text: str, name: str) -> bool:
    """True when the expression calls the function ``name`` (a layer named like it does not count);
    False for text that does not parse, whose evaluation will report the error."""
    try:
        tree = parse(text)
    except ExpressionError:
        return False
    return any(isinstance(node, Call) and node.name == name for node in walk(tree))  # names are case-sensitive


def is_empty(text: str) -> bool:
    """True when the text holds no expression (blank, or only a comment)."""
    return tokenize(text)[0].kind == "end"


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0  # current nesting of parentheses and calls

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
        _check_tree_depth(node, self.text)
        return node

    def binary(self, min_level: int, numeric: bool) -> Node:
        """Precedence climbing: one Python frame per nesting level, not one per operator level."""
        left = self.unary(numeric)
        run: list[tuple[Node, int]] = []  # geometry operands of a pending associative run, with op positions
        run_op = ""  # the operator of the pending run
        while self.token.kind == "op" and _LEVEL_OF.get(self.token.text, -1) >= min_level:
            op_token = self.advance()
            op = "-" if op_token.text == "not" else op_token.text
            right = self.binary(_LEVEL_OF[op_token.text] + 1, numeric)
            if op in _ASSOCIATIVE and not isinstance(left, Number) and not isinstance(right, Number):
                if run_op != op:
                    left = _balanced(run_op, run) if run else left
                    run, run_op = [(left, op_token.pos)], op
                run.append((right, op_token.pos))
                continue
            if run:
                left, run, run_op = _balanced(run_op, run), [], ""
            left = _combine(op, left, right, op_token.pos, self.text)
        if run:
            left = _balanced(run_op, run)
        if self.token.kind == "rejected":
            raise self.error(_rejected_message(self.token.text), self.token.pos)
        return left

    def unary(self, numeric: bool) -> Node:
        operators = []  # a run of prefix operators is read in a loop: 10,000 '!' need no recursion
        while self.token.kind == "op" and self.token.text in ("!", "~", "not", "-"):
            operators.append(self.advance())
        operand = self.primary(numeric)
        for token in reversed(operators):
            op = "-" if token.text == "-" else "!"
            if operand.kind == GEOMETRY and op == "-":
                raise self.error("unary minus applies to numbers, not to geometry "
                                 "(for the inverse of a layer write !layer)", token.pos)
            if isinstance(operand, Number):
                value = -operand.value if op == "-" else (0.0 if truthy(operand.value) else 1.0)
                operand = Number(value, token.pos, self.text[token.pos:_end(operand, self.text)].strip())
            else:
                operand = Unary(op, operand, token.pos)
        return operand

    def nested(self, token: Token) -> None:
        """Count one level of parentheses or call arguments; fail cleanly beyond MAX_NESTING."""
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(f"the expression nests parentheses and calls more than {MAX_NESTING} "
                             "levels deep (the limit)", token.pos)

    def primary(self, numeric: bool) -> Node:
        token = self.token
        if token.kind == "lparen":
            self.advance()
            if self.token.kind == "rparen":
                raise self.error("expected an expression inside '()'", self.token.pos)
            self.nested(token)
            node = self.binary(0, numeric)
            if self.token.kind != "rparen":
                raise self.error(f"missing ')' for the '(' at column {token.pos + 1} "
                                 f"(found {_describe(self.token)})", self.token.pos)
            self.advance()
            self.depth -= 1
            return node
        if token.kind == "number":
            self.advance()
            if not numeric and is_hex_layer_name(token.raw):
                return LayerRef(token.raw, token.pos, form="hex", ld=hex_layer_datatype(token.raw),
                                text=token.raw)
            return Number(token.value or 0.0, token.pos, token.raw)  # the lexer set the value
        if token.kind == "ld":
            self.advance()
            layer, datatype = (_layer_number(x, token, self.text) for x in token.text.split("/"))
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
        function = FUNCTIONS.get(name)
        if function is None:
            raise self.error(_unknown_function_message(name), name_token.pos)
        self.nested(self.advance())  # '('
        args: list[Node] = []
        arg_positions: list[int] = []
        if self.token.kind != "rparen":
            while True:
                kind = function.kind_of(len(args))
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
        self.depth -= 1
        if not function.accepts(len(args)):
            raise self.error(f"wrong number of arguments to {name}: expected {function.arity_text()}, "
                             f"got {len(args)}", name_token.pos if not args else close.pos)
        constants = []
        for index, (arg, pos) in enumerate(zip(args, arg_positions)):
            if function.kind_of(index) == NUMERIC:
                if not isinstance(arg, Number):
                    raise self.error(f"the {_ARGUMENT_NAMES[index]} argument of {name} must be a number "
                                     "(a dimension in µm or a mode), not geometry", pos)
                constants.append(arg.value)
        problem = function.check(constants)
        if problem is not None:
            raise self.error(problem, name_token.pos)
        return Call(name, args, name_token.pos, constants=constants)


def _word_node(token: Token, numeric: bool) -> Node:
    if not token.quoted and token.cell is None and token.text in CONSTANTS:
        return Number(CONSTANTS[token.text], token.pos, token.text)
    if token.quoted and token.cell is None:
        for sep in (",", "/"):
            parts = token.text.split(sep)
            if len(parts) == 2 and all(is_whole_number_text(p.strip()) for p in parts):
                layer, datatype = (_layer_number(p, token, token.raw) for p in parts)
                return LayerRef(token.text, token.pos, form="decimal", ld=(layer, datatype), text=token.raw)
    ld = hex_layer_datatype(token.text) if (not token.quoted and is_hex_layer_name(token.text)) else None
    return LayerRef(token.text, token.pos, cell=token.cell, form="name", ld=ld, text=token.raw)


def _combine(op: str, left: Node, right: Node, pos: int, text: str) -> Node:
    if isinstance(left, Number) and isinstance(right, Number):
        try:
            value = _arithmetic(op, left.value, right.value)
            value = finite(value, "the result")
        except (OverflowError, ZeroDivisionError, ValueError) as exc:
            reason = f": {exc}" if isinstance(exc, NumberError) else ""
            raise ExpressionError(f"arithmetic error in {left.text or left.value} {op} "
                                  f"{right.text or right.value}{reason}", pos, text) from None
        return Number(value, left.pos, text[left.pos:_end(right, text)].strip())
    node = Binary(op, left, right, pos)
    return node


def _balanced(op: str, run: list[tuple[Node, int]]) -> Node:
    """The operands of ``a op b op c ...`` joined left to right, or as a balanced tree when long."""
    if len(run) < _BALANCE_FROM:
        node = run[0][0]
        for operand, pos in run[1:]:
            node = Binary(op, node, operand, pos)
        return node
    while len(run) > 1:  # pairwise rounds: linear work, depth log2(n)
        paired = [(Binary(op, run[i][0], run[i + 1][0], run[i + 1][1]), run[i][1]) for i in range(0, len(run) - 1, 2)]
        run = paired + run[len(paired) * 2:]
    return run[0][0]


def _check_tree_depth(tree: Node, text: str) -> None:
    """Fail cleanly when the tree is deeper than every later stage (all recursive) can walk."""
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_TREE_DEPTH:
            raise ExpressionError(f"the expression is more than {MAX_TREE_DEPTH} operations deep (the limit); "
                                  "split it, or use geomOr(...) for long unions", node.pos, text)
        stack.extend((child, depth + 1) for child in children(node))


def _layer_number(digits: str, token: Token, text: str) -> int:
    """A layer or datatype number of an L/D reference, within what KLayout stores."""
    digits = digits.strip()
    try:
        if not is_whole_number_text(digits):
            raise NumberError(f"layer number {digits[:20]}{'...' if len(digits) > 20 else ''} is too large "
                              f"(the limit is {MAX_LAYER_NUMBER})")
        return whole(int(digits), "layer number", MAX_LAYER_NUMBER)
    except NumberError as exc:
        raise ExpressionError(str(exc), token.pos, text) from None


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
        return 1.0 if (truthy(a) and truthy(b)) else 0.0
    if op == "|":
        return 1.0 if (truthy(a) or truthy(b)) else 0.0
    raise ValueError(op)


def _end(node: Node, text: str) -> int:
    """Offset just past a folded number's text (for the folded node's display text)."""
    if isinstance(node, Number):
        return node.pos + len(node.text) if node.text else node.pos + 1
    return len(text)


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


__all__ = ["parse", "is_empty", "calls"]
