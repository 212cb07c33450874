"""The language: precedence and associativity (D1), scalars (D2), tokens (D3, D4, D14), errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import layertools
from layertools.errors import ExpressionError
from layertools.language import LayerRef, Number, parse, to_text


@pytest.mark.parametrize("text, tree", [
    ("A | B - C", "(A | (B - C))"),
    ("A + B - C", "((A + B) - C)"),
    ("A & B + C", "(A & (B + C))"),
    ("A * B | C", "((A * B) | C)"),
    ("A | B & C", "(A | (B & C))"),
    ("A ^ B * C", "((A ^ B) * C)"),
    ("A * B ^ C", "(A * (B ^ C))"),
    ("A - B - C", "((A - B) - C)"),
    ("A ^ B ^ C", "((A ^ B) ^ C)"),
    ("A | B | C", "((A | B) | C)"),
    ("!A & B", "(!A & B)"),
    ("!A * B", "(!A * B)"),          # [XIC-LITERAL]: unary binds tightest
    ("!!A", "!!A"),
    ("A and not B", "(A & !B)"),
    ("A not B", "(A - B)"),
    ("A &! B", "(A & !B)"),
    ("A AND B Or C", "((A & B) | C)"),
    ("A xor B", "(A ^ B)"),
    ("~A", "!A"),
    ("not A", "!A"),
    ("(A | B) & C", "((A | B) & C)"),
    ("68/20 & 69/20", "(68/20 & 69/20)"),
    ("geomOr(A, B, C)", "geomOr(A, B, C)"),
    ("A # comment & B", "A"),
    ("A ; B", "A"),
    ("A // B", "A"),
])
def test_precedence_and_associativity(text, tree):
    assert to_text(parse(text)) == tree


@pytest.mark.parametrize("text, value", [
    ("2*3", 6.0), ("2^3", 8.0), ("2-2", 0.0), ("1-2", -1.0), ("!0", 1.0), ("!2", 0.0),
    ("TRUE", 1.0), ("FALSE", 0.0), ("NULL", 0.0), ("2 & 0", 0.0), ("2 | 0", 1.0),
    ("-(2+3)", -5.0), ("1e3", 1000.0), ("1000.0", 1000.0), ("0x10", 16.0), ("1.5d1", 15.0),
    ("pi", 3.141592653589793), ("2 + 3 * 4", 14.0), ("2 ^ 3 ^ 2", 64.0),
])
def test_number_only_subtrees_fold(text, value):
    node = parse(text)
    assert isinstance(node, Number)
    assert node.value == pytest.approx(value)


def test_four_hex_digits_name_a_gds_layer_in_geometry_position():  # D3, T29
    node = parse("A & 1000").right
    assert isinstance(node, LayerRef) and node.ld == (0x10, 0x00)
    node = parse("210F")
    assert isinstance(node, LayerRef) and node.ld == (0x21, 0x0F)
    node = parse("0001000A")
    assert isinstance(node, LayerRef) and node.ld == (1, 10)


def test_hex_looking_tokens_are_numbers_in_numeric_arguments():  # D3
    call = parse("A & box(10, 10, 1000, 1000)").right
    assert call.constants == [10, 10, 1000, 1000]
    assert parse("bloat(1000, A, 0)").constants[0] == 1000


def test_layer_reference_forms():  # D4
    assert parse('"33,15"').ld == (33, 15)
    ref = parse("68/20.SUB")
    assert (ref.ld, ref.cell) == ((68, 20), "SUB")
    ref = parse('M1."my.cell"')
    assert (ref.layer, ref.cell) == ("M1", "my.cell")
    assert parse('"e"').layer == "e"        # quotes force a layer name (D14)
    assert isinstance(parse("e"), Number)   # the constant shadows a layer called e
    assert isinstance(parse("$$ & A").left, layertools.language.Instances)


# (expression, 1-based column of the error, words the message must contain)
BAD = [
    ("A & | B", 5, "expected a layer, number or '('"),
    ("A B", 3, "unexpected 'B'"),                     # D11
    ("A / B", 3, "'/' is not an operator"),
    ("A == B", 3, "comparison"),
    ("A gt B", 3, "comparison"),
    ("A < B", 3, "comparison"),
    ("bloat(5, A)", 11, "wrong number of arguments to bloat: expected 3, got 2"),
    ("geomAndNot(A)", 13, "wrong number of arguments to geomAndNot"),
    ("extent()", 1, "wrong number of arguments to extent"),
    ("foo(A)", 1, "unknown function 'foo'"),
    ("GeomAnd(A, B)", 1, "did you mean geomAnd"),
    ("(A | B", 7, "missing ')'"),
    ("A | B)", 6, "unbalanced ')'"),
    ("A &", 4, "the expression ends"),
    ("", 1, "empty"),
    ("   ", 1, "empty"),
    ("A & -B", 5, "unary minus"),                    # T40: caught before evaluation
    ("-A", 1, "unary minus"),
    ("bloat(A, B, 0)", 7, "first argument of bloat must be a number"),
    ("bloat(5, A, B)", 13, "third argument of bloat must be a number"),
    ("box(0, 0, A, 1)", 11, "third argument of box"),
    ("bloat(5, A, 0.5)", 1, "mode of bloat must be a whole number"),
    ("edges(1, A, 9)", 1, "edges mode must be 0..6"),
    ("manhattanize(0.005, A, 0)", 1, "at least 0.01"),   # T37
    ("zoid(0, 20, 0, 15, 5, 10)", 1, "zoid"),            # T31
    ("A.b.c", 1, "symbol-table"),                         # D21
    ("A.@db", 1, "special databases"),                   # D21
    ("drcZlist(A, 1, 0, 0)", 1, "not supported"),        # D21
    ('"abc', 1, "unterminated"),
    ("A & ()", 6, "expected an expression inside"),
    ("geomOr(A,, B)", 10, "expected a layer"),
    ("A [ B", 3, "'[' is not an operator"),
    ("2(A)", 2, "unexpected '('"),                        # Xic silently stops here
]


@pytest.mark.parametrize("text, column, words", BAD)
def test_errors_name_the_position_and_reason(text, column, words):
    with pytest.raises(ExpressionError) as info:
        layertools.parse(text)
    assert info.value.column == column, str(info.value)
    assert words in info.value.message
    assert f"at column {column}" in str(info.value)
    caret = info.value.caret().splitlines()
    assert caret[-1] == " " * (column - 1) + "^"


_ALPHABET = st.sampled_from(list("AB01 ()&|^*+-!~,./\"'$#;=<>[]%:_xyzeE") +
                            ["and ", "or ", "not ", "xor ", "bloat(", "geomCat(", "box(", "68/20", "1000"])


@settings(max_examples=600, deadline=None)
@given(st.lists(_ALPHABET, max_size=14).map("".join) | st.text(max_size=25))
def test_any_text_parses_or_raises_the_packages_error(text):
    try:
        layertools.parse(text)
    except ExpressionError as exc:
        assert exc.position is None or 0 <= exc.position <= len(text)


@pytest.mark.parametrize("text, expected", [
    ("sqz(1/0) & 2/0", True),
    ("bloat(0.1, sqz(M1), 0)", True),
    ("SQZ & 1/0", False),          # a layer named like the function is no call
    ("sqzlayer | 1/0", False),
    ("1/0 &", False),              # does not parse: evaluation reports it
])
def test_calls_finds_a_function_call_not_a_name(text, expected):
    from layertools.language import calls
    assert calls(text, "sqz") is expected
