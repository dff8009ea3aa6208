"""parse_rule and Rule.evaluate: segment rules over eight buyers, every kind of rule error, and hypothesis
properties (no text raises anything but RuleError; evaluation agrees with a row-by-row reference)."""

from __future__ import annotations

import math
import operator
import pickle
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sellerreach.errors import ConfigError
from sellerreach.segments import MAX_NESTING, MAX_RULE_CHARS, Rule, RuleError, parse_rule

BUYER_FEATURES = {
    "orders_30d": "int",
    "orders_90d": "int",
    "orders_365d": "int",
    "recency_days": "int",
    "aov_cents": "int",
    "lifetime_value_cents": "int",
    "currency": "str",
    "top_category": "str",
    "returns": "int",
    "refunds": "int",
    "cancellations": "int",
    "is_business_buyer": "bool",
    "preferred_language": "str",
    "was_solicited": "bool",
    "was_invited": "bool",
    "has_negative_feedback": "bool",
    "has_a_to_z_claim": "bool",
    "open_complaint_threads": "int",
}
NAN = float("nan")
# As the nightly feature job leaves them: NaN where a buyer has no orders in the window or a value is unknown.
BUYERS = pd.DataFrame(
    [
        (
            "anna",
            2,
            3,
            7,
            4,
            6250,
            43750,
            "EUR",
            "kitchen",
            0,
            0,
            0,
            False,
            "de",
            True,
            True,
            False,
            False,
            0,
        ),
        ("bob", 0, 1, 2, 45, 1899, 3798, "GBP", "books", 1, 1, 0, False, "en", True, False, False, False, 0),
        (
            "claire",
            1,
            4,
            12,
            12,
            15400,
            184800,
            "EUR",
            "office",
            0,
            0,
            1,
            True,
            "fr",
            False,
            True,
            False,
            False,
            1,
        ),
        ("dieter", 0, 0, 0, NAN, NAN, 0, "EUR", None, 0, 0, 0, False, "de", False, False, False, False, 0),
        (
            "emma",
            0,
            0,
            1,
            200,
            4999,
            4999,
            "EUR",
            "garden",
            0,
            0,
            0,
            None,
            None,
            False,
            False,
            True,
            False,
            2,
        ),
        ("felipe", 3, 5, 9, 1, 2500, 22500, "EUR", "toys", 2, 1, 0, False, "es", True, True, False, True, 1),
        (
            "giulia",
            0,
            2,
            5,
            60,
            32000,
            160000,
            "EUR",
            "office",
            0,
            0,
            0,
            True,
            "it",
            True,
            False,
            False,
            False,
            0,
        ),
        (
            "hiro",
            1,
            1,
            1,
            20,
            5500,
            NAN,
            "JPY",
            "electronics",
            0,
            0,
            0,
            False,
            "ja",
            False,
            False,
            False,
            False,
            NAN,
        ),
    ],
    columns=["buyer_id", *BUYER_FEATURES],
).set_index("buyer_id")
EVERYONE = set(BUYERS.index)


@pytest.fixture(params=["numpy", "nullable"])
def buyers(request) -> pd.DataFrame:
    """The buyers with NumPy dtypes (NaN, object) and with pandas' nullable dtypes (Int64, boolean, string)."""
    return BUYERS if request.param == "numpy" else BUYERS.convert_dtypes()


def test_the_buyer_fixture_has_missing_values_in_every_kind():
    assert BUYERS["recency_days"].dtype == np.float64 and BUYERS["is_business_buyer"].dtype == object
    assert (
        BUYERS.isna().sum()[["recency_days", "top_category", "is_business_buyer", "preferred_language"]].all()
    )


EVALUATIONS = [
    ("aov_cents >= 5000 and orders_365d >= 2", {"anna", "claire", "giulia"}),
    ("aov_cents >= 5_000", {"anna", "claire", "giulia", "hiro"}),
    ("recency_days > 30", {"bob", "emma", "giulia"}),
    # a comparison with a missing value is False, so its negation is True (dieter has no recency)
    ("not (recency_days > 30)", {"anna", "claire", "dieter", "felipe", "hiro"}),
    ("recency_days <= 30", {"anna", "claire", "felipe", "hiro"}),
    ("recency_days != 45", {"anna", "claire", "emma", "felipe", "giulia", "hiro"}),
    ('preferred_language in ["de", "fr"]', {"anna", "claire", "dieter"}),
    ("preferred_language not in ['de', 'fr']", {"bob", "felipe", "giulia", "hiro"}),
    ("preferred_language IN ['de',]", {"anna", "dieter"}),
    ("'de' == preferred_language", {"anna", "dieter"}),
    ("orders_30d in [1, 3]", {"claire", "felipe", "hiro"}),
    ("is_business_buyer", {"claire", "giulia"}),
    ("is_business_buyer in [true]", {"claire", "giulia"}),
    # a bare bool column reads as `column == true`: emma's unknown flag is not true, so `not` selects her
    ("not is_business_buyer", {"anna", "bob", "dieter", "emma", "felipe", "hiro"}),
    ("is_business_buyer == false", {"anna", "bob", "dieter", "felipe", "hiro"}),
    ("is_business_buyer == was_invited", {"bob", "claire", "dieter", "hiro"}),
    # dieter has no aov: the comparison is False, which equals his false flag; emma's flag is unknown
    ("(aov_cents > 10000) == is_business_buyer", EVERYONE - {"emma"}),
    ("lifetime_value_cents / 100 >= 500", {"claire", "giulia"}),
    ("lifetime_value_cents / orders_365d >= 10000", {"claire", "giulia"}),
    # x / 0 is missing: bob, dieter, emma and giulia have no orders in 30 days
    ("returns / orders_30d >= 0", {"anna", "claire", "felipe", "hiro"}),
    ("not (returns / orders_30d >= 0)", {"bob", "dieter", "emma", "giulia"}),
    ("returns / orders_30d == returns / orders_30d", {"anna", "claire", "felipe", "hiro"}),
    ("returns + refunds + cancellations > 0", {"bob", "claire", "felipe"}),
    ("-aov_cents < -10000", {"claire", "giulia"}),
    ("orders_30d * 2 + 1 > orders_90d", {"anna", "dieter", "emma", "felipe", "hiro"}),
    ("(orders_30d + 1) * 2 > orders_90d + 2", {"anna", "felipe", "hiro"}),
    ("orders_90d - orders_30d - 1 >= 2", {"claire"}),
    ("0.5 * aov_cents > 3000", {"anna", "claire", "giulia"}),
    ("aov_cents between 2500 and 6250", {"anna", "emma", "felipe", "hiro"}),
    ("aov_cents not between 2500 and 6250", {"bob", "claire", "giulia"}),
    ("top_category between 'e' and 'h'", {"emma", "hiro"}),
    ('top_category == "office" or has_a_to_z_claim', {"claire", "felipe", "giulia"}),
    ("top_category < 'c'", {"bob"}),
    ("currency == 'EUR' and top_category != \"office\"", {"anna", "emma", "felipe"}),
    ("was_solicited and not was_invited", {"bob", "giulia"}),
    ("not was_invited and was_solicited or is_business_buyer", {"bob", "claire", "giulia"}),
    ("not (was_invited or was_solicited)", {"dieter", "emma", "hiro"}),
    ("NOT has_negative_feedback AND open_complaint_threads == 0", {"anna", "bob", "dieter", "giulia"}),
    ("open_complaint_threads >= 1 or open_complaint_threads < 1", EVERYONE - {"hiro"}),
    ("not not is_business_buyer", {"claire", "giulia"}),
    ("true", EVERYONE),
    ("FALSE or currency == 'JPY'", {"hiro"}),
]


@pytest.mark.parametrize(("source", "expected"), EVALUATIONS, ids=[source for source, _ in EVALUATIONS])
def test_rule_selects_the_expected_buyers(buyers, source, expected):
    selected = parse_rule("segment", source, BUYER_FEATURES).evaluate(buyers)
    assert selected.dtype == bool and selected.name == "segment"
    assert selected.index.equals(buyers.index)
    assert set(selected[selected].index) == expected


# (source, position, fragment of the explanation)
ERRORS = {
    "empty": ("", 0, "the rule is empty"),
    "blank": ("   \n ", 0, "known columns: aov_cents, cancellations"),
    "unknown column with suggestion": ("aov >= 5000", 0, "unknown column 'aov'; did you mean 'aov_cents'?"),
    "misspelt column": ("orders_365d >= 2 and aov_cnts > 1", 21, "did you mean 'aov_cents'? known columns:"),
    "upper-case column": ("AOV_CENTS > 1", 0, "column names are lower-case: write 'aov_cents'"),
    "unknown column without suggestion": ("zip > 1", 0, "unknown column 'zip'; known columns: aov_cents"),
    "text against number": (
        "top_category == 5",
        16,
        "cannot compare 'top_category' (text) with 5 (a number)",
    ),
    "number literal on the left": ("5 == top_category", 0, "quoted text"),
    "number against text": ("orders_30d == 'two'", 14, "compare a number with a number"),
    "bool against number": ("is_business_buyer == 1", 21, "true or false"),
    "ordering booleans": ("is_business_buyer < true", 18, "use == or !="),
    "between booleans": ("was_invited between true and false", 12, "'between' needs numbers or text"),
    "between bound type": ("aov_cents between 1 and 'x'", 24, "cannot compare 'aov_cents' (a number)"),
    "between without and": ("aov_cents between 1 or 2", 20, "expected 'and' between the bounds"),
    "unterminated string": ('preferred_language == "de', 22, "unterminated string"),
    "unknown escape": (r"top_category == 'a\q'", 18, "unknown escape"),
    "trailing input": ("aov_cents >= 5000 orders_30d", 18, "unexpected 'orders_30d'"),
    "trailing after a number": ("aov_cents 5000", 10, "expected an operator such as >="),
    "unclosed parenthesis": ("(aov_cents >= 5000", 18, "the '(' at column 1 is never closed"),
    "stray closing parenthesis": ("aov_cents > 1)", 13, "unexpected ')'"),
    "rule ends early": ("aov_cents >= ", 12, "the rule ends where a column, a value or '(' should follow"),
    "operator instead of value": ("aov_cents >= and", 13, "found 'and'"),
    "chained comparison": ("orders_30d < orders_90d < orders_365d", 24, "comparisons do not chain"),
    "and on a number": (
        "orders_30d and was_invited",
        0,
        "'and' joins conditions, but 'orders_30d' is a number",
    ),
    "or on text": ("was_invited or top_category", 15, 'top_category == "books"'),
    "not on a number": ("not orders_30d", 4, "'not' negates a condition"),
    "not after a comparison": ("was_invited == not is_business_buyer", 15, "put it in parentheses"),
    "arithmetic on text": (
        "top_category + 1 > 2",
        0,
        "'+' calculates with numbers, but 'top_category' is text",
    ),
    "minus on a boolean": ("-was_invited", 1, "'-' calculates with numbers"),
    "not a condition": ("lifetime_value_cents / 100", 0, "a rule must be a condition"),
    "single equals": ("aov_cents = 5000", 10, "write '==' to compare"),
    "double ampersand": ("aov_cents > 1 && orders_30d > 1", 14, "write 'and'"),
    "curly quotes": ("top_category == “books”", 16, "straight quotes"),
    "other character": ("aov_cents > 1 ; drop", 14, "a rule uses column names"),
    "malformed number": ("aov_cents > 5abc", 12, "malformed number '5abc'"),
    "leading point": ("aov_cents > .5", 12, "a digit before the point"),
    "list item type": (
        "preferred_language in ['de', 5]",
        29,
        "the list for 'preferred_language' (text) holds 5",
    ),
    "empty list": ("preferred_language in []", 23, "the list is empty"),
    "in without list": ("preferred_language in 'de'", 22, "needs a list in square brackets"),
    "column in list": ("preferred_language in [top_category]", 23, "a list holds only values"),
    "list missing comma": ("orders_30d in [1 2]", 17, "expected ',' or ']'"),
    "unclosed list": ("orders_30d in [1, 2", 19, "the '[' at column 15 is never closed"),
    "too long": ("aov_cents > 1 or " * 60 + "true", MAX_RULE_CHARS, "the limit is 1000"),
    "too deep parentheses": ("(" * 40 + "true" + ")" * 40, MAX_NESTING, "nests more than 32 levels"),
    "too deep not": ("not " * 40 + "true", 4 * MAX_NESTING, "nests more than 32 levels"),
    "too deep minus": ("-" * 40 + "aov_cents > 0", MAX_NESTING, "nests more than 32 levels"),
}


@pytest.mark.parametrize(("source", "position", "fragment"), ERRORS.values(), ids=ERRORS.keys())
def test_bad_rule_raises_rule_error_with_position_and_fix(source, position, fragment):
    with pytest.raises(RuleError) as caught:
        parse_rule("high_value", source, BUYER_FEATURES)
    error = caught.value
    assert (error.rule, error.position) == ("high_value", position)
    assert fragment in error.reason
    headline, excerpt, caret = str(error).split("\n")
    assert headline == f"segments.high_value: at column {position + 1}: {error.reason}"
    if len(source) <= 80:  # a longer rule is cut to the part around the position
        assert (
            caret.index("^") - 4 == position and excerpt[4:].rstrip() == " ".join(source.split("\n")).rstrip()
        )


def test_rule_error_for_a_long_rule_shows_the_part_around_the_position():
    source = "orders_30d > 1 and " * 20 + "aov > 1"
    with pytest.raises(RuleError) as caught:
        parse_rule("repeat_buyers", source, BUYER_FEATURES)
    _, excerpt, caret = str(caught.value).split("\n")
    assert caught.value.position == source.index("aov")
    assert excerpt.startswith("    …") and excerpt[caret.index("^") :].startswith("aov > 1")


def test_rule_error_is_a_config_error_and_survives_pickling():
    with pytest.raises(ConfigError) as caught:
        parse_rule("high_value", "aov >= 5000", BUYER_FEATURES)
    copy = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(copy, RuleError) and str(copy) == str(caught.value) and copy.position == 0


def test_rule_that_is_no_text_is_a_rule_error():
    with pytest.raises(RuleError, match='a rule is quoted text, e.g. high_value = "orders_365d >= 2"'):
        parse_rule("high_value", 5000, BUYER_FEATURES)  # type: ignore[arg-type]


def test_rule_knows_its_name_source_and_columns():
    rule = parse_rule("lapsed_big_spenders", "recency_days > 180 and aov_cents >= 5000", BUYER_FEATURES)
    assert (rule.name, rule.source) == ("lapsed_big_spenders", "recency_days > 180 and aov_cents >= 5000")
    assert rule.columns == {"recency_days", "aov_cents"}
    assert rule == parse_rule(
        "lapsed_big_spenders", "recency_days > 180 and aov_cents >= 5000", BUYER_FEATURES
    )


def test_evaluate_needs_the_columns_the_rule_uses():
    rule = parse_rule("high_value", "aov_cents >= 5000 and orders_365d >= 2", BUYER_FEATURES)
    with pytest.raises(ValueError, match="the buyer frame has no column orders_365d"):
        rule.evaluate(BUYERS.drop(columns="orders_365d"))


def test_evaluate_leaves_the_frame_alone_and_handles_no_buyers():
    frame = BUYERS.copy()
    rule = parse_rule("refunders", "-(refunds / orders_30d) < 0 and top_category == 'toys'", BUYER_FEATURES)
    selected = rule.evaluate(frame)
    assert set(selected[selected].index) == {"felipe"}
    pd.testing.assert_frame_equal(frame, BUYERS)
    empty = rule.evaluate(BUYERS.iloc[:0])
    assert empty.dtype == bool and empty.empty


@pytest.mark.parametrize(
    ("columns", "problem"),
    [
        ({"aov_cents": "money"}, "has kind 'money'"),
        ({"AOV": "int"}, "must be lower-case"),
        ({"in": "int"}, "keyword"),
    ],
)
def test_a_malformed_column_whitelist_is_a_programming_error(columns, problem):
    with pytest.raises(ValueError, match=problem):
        parse_rule("high_value", "true", columns)


# -- properties ----------------------------------------------------------------------------------------------

PROPERTIES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# a float column as well, so every column kind is generated
PROPERTY_COLUMNS = {
    "orders_30d": "int",
    "orders_365d": "int",
    "aov_cents": "int",
    "return_rate": "float",
    "preferred_language": "str",
    "top_category": "str",
    "is_business_buyer": "bool",
    "was_invited": "bool",
}
NUMBER_COLUMNS = [name for name, kind in PROPERTY_COLUMNS.items() if kind in ("int", "float")]
TEXT_COLUMNS = [name for name, kind in PROPERTY_COLUMNS.items() if kind == "str"]
BOOL_COLUMNS = [name for name, kind in PROPERTY_COLUMNS.items() if kind == "bool"]
TEXT_VALUES = ["de", "fr", "en", "", "it's", 'say "hi"', "books"]
CELL_VALUES = {
    "int": st.one_of(st.none(), st.just(NAN), st.integers(-3, 40)),
    "float": st.one_of(st.none(), st.just(NAN), st.sampled_from([0.0, 0.5, -1.25, 2.75, 100.0])),
    "str": st.one_of(st.none(), st.sampled_from(TEXT_VALUES)),
    "bool": st.one_of(st.none(), st.booleans()),
}
ROWS = st.lists(
    st.fixed_dictionaries({name: CELL_VALUES[kind] for name, kind in PROPERTY_COLUMNS.items()}), max_size=8
)


def frame_of(rows: list[dict], nullable: bool) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=list(PROPERTY_COLUMNS), index=[f"buyer-{n}" for n in range(len(rows))][::-1]
    )
    return frame.convert_dtypes() if nullable else frame


@PROPERTIES
@given(source=st.text())
def test_any_text_parses_or_raises_a_rule_error(source):
    check_parses_or_raises_rule_error(source)


TOKENS = [
    *BUYER_FEATURES,
    "aov",
    "Top_Category",
    *("and", "AND", "or", "Or", "not", "NOT", "in", "between", "true", "FALSE"),
    *("0", "5_000", "0.5", "12", "-3", "1e5", "5abc", ".5"),
    *("'de'", '"fr"', r"'it\'s'", "'unterminated", "\\", "“de”"),
    *("==", "!=", "<", "<=", ">", ">=", "=", "!", "+", "-", "*", "/", "(", ")", "[", "]", ","),
]


@PROPERTIES
@given(soup=st.lists(st.sampled_from(TOKENS), max_size=25), separator=st.sampled_from([" ", "", "\t\n"]))
def test_token_soup_parses_or_raises_a_rule_error(soup, separator):
    check_parses_or_raises_rule_error(separator.join(soup))


def check_parses_or_raises_rule_error(source: str) -> None:
    try:
        rule = parse_rule("fuzzed", source, BUYER_FEATURES)
    except RuleError as error:
        assert 0 <= error.position <= max(len(source), MAX_RULE_CHARS)
        assert str(error).startswith(f"segments.fuzzed: at column {error.position + 1}: ")
        return
    selected = rule.evaluate(BUYERS)
    assert selected.dtype == bool and selected.index.equals(BUYERS.index)


# A generated rule is its source and a reference: a plain Python function of one row (a dict), giving the
# value or None where it is missing, written from the language's rules, not from the evaluator.
class Generated(NamedTuple):
    source: str
    value: Callable[[dict[str, Any]], Any]


def present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def column_value(name: str, kind: str) -> Generated:
    convert = {"int": float, "float": float, "str": str, "bool": bool}[kind]
    return Generated(name, lambda row: convert(row[name]) if present(row[name]) else None)


def keyword(word: str) -> st.SearchStrategy[str]:
    return st.sampled_from([word, word.upper(), word.capitalize()])


def quoted(text: str, quote: str) -> str:
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def calculate(operator_text: str, left: float | None, right: float | None) -> float | None:
    if left is None or right is None or (operator_text == "/" and right == 0):
        return None
    result = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}[operator_text](
        left, right
    )
    return None if math.isnan(result) else result


def chain_source(first: Generated, rest: list[tuple[str, Generated]]) -> str:
    """`(first op term op term ...)`, without parentheses inside: the parser's precedence decides."""
    return "(" + first.source + "".join(f" {op} {term.source}" for op, term in rest) + ")"


def arithmetic_chain(first: Generated, rest: list[tuple[str, Generated]]) -> Generated:
    def value(row):
        # products first, left to right, then the sums left to right
        summands, sum_operators = [first.value(row)], []
        for operator_text, term in rest:
            if operator_text in "*/":
                summands[-1] = calculate(operator_text, summands[-1], term.value(row))
            else:
                sum_operators.append(operator_text)
                summands.append(term.value(row))
        result = summands[0]
        for operator_text, summand in zip(sum_operators, summands[1:], strict=True):
            result = calculate(operator_text, result, summand)
        return result

    return Generated(chain_source(first, rest), value)


def negated_number(term: Generated) -> Generated:
    return Generated(f"-{term.source}", lambda row: None if term.value(row) is None else -term.value(row))


NUMBER_LITERALS = st.sampled_from(["0", "1", "2", "5_000", "0.5", "2.25", "40"]).map(
    lambda text: Generated(text, lambda row: float(text.replace("_", "")))
)
NUMBER_LEAVES = st.one_of(
    st.sampled_from(NUMBER_COLUMNS).map(lambda name: column_value(name, PROPERTY_COLUMNS[name])),
    NUMBER_LITERALS,
)
NUMBERS = st.recursive(
    NUMBER_LEAVES,
    lambda inner: st.one_of(
        inner.map(negated_number),
        st.builds(
            arithmetic_chain,
            inner,
            st.lists(st.tuples(st.sampled_from("+-*/"), inner), min_size=1, max_size=3),
        ),
    ),
    max_leaves=6,
)
TEXTS = st.one_of(
    st.sampled_from(TEXT_COLUMNS).map(lambda name: column_value(name, "str")),
    st.builds(
        lambda text, quote: Generated(quoted(text, quote), lambda row: text),
        st.sampled_from(TEXT_VALUES),
        st.sampled_from("'\""),
    ),
)
COMPARE = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def comparison(left: Generated, operator_text: str, right: Generated) -> Generated:
    def value(row):
        left_value, right_value = left.value(row), right.value(row)
        return (
            left_value is not None
            and right_value is not None
            and COMPARE[operator_text](left_value, right_value)
        )

    return Generated(f"{left.source} {operator_text} {right.source}", value)


def membership(operand: Generated, words: list[str], items: list[tuple[str, Any]]) -> Generated:
    options = [option for _, option in items]

    def value(row):
        operand_value = operand.value(row)
        if operand_value is None:
            return False
        return (operand_value not in options) if len(words) == 2 else (operand_value in options)

    return Generated(f"{operand.source} {' '.join(words)} [{', '.join(text for text, _ in items)}]", value)


def between(
    operand: Generated, words: list[str], low: Generated, and_word: str, high: Generated
) -> Generated:
    def value(row):
        values = operand.value(row), low.value(row), high.value(row)
        if None in values:
            return False
        inside = values[1] <= values[0] <= values[2]
        return not inside if len(words) == 2 else inside

    return Generated(f"{operand.source} {' '.join(words)} {low.source} {and_word} {high.source}", value)


def in_words() -> st.SearchStrategy[list[str]]:
    return st.one_of(
        keyword("in").map(lambda word: [word]), st.tuples(keyword("not"), keyword("in")).map(list)
    )


def between_words() -> st.SearchStrategy[list[str]]:
    return st.one_of(
        keyword("between").map(lambda word: [word]), st.tuples(keyword("not"), keyword("between")).map(list)
    )


NUMBER_ITEMS = st.sampled_from([("0", 0.0), ("1", 1.0), ("-2", -2.0), ("0.5", 0.5), ("40", 40.0)])
TEXT_ITEMS = st.builds(
    lambda text, quote: (quoted(text, quote), text), st.sampled_from(TEXT_VALUES), st.sampled_from("'\"")
)
BOOL_LITERALS = st.builds(
    lambda word: Generated(word, lambda row: word.lower() == "true"),
    st.one_of(keyword("true"), keyword("false")),
)
BOOL_VALUES = st.one_of(
    st.sampled_from(BOOL_COLUMNS).map(lambda name: column_value(name, "bool")), BOOL_LITERALS
)

CONDITION_ATOMS = st.one_of(
    st.builds(comparison, NUMBERS, st.sampled_from(list(COMPARE)), NUMBERS),
    st.builds(comparison, TEXTS, st.sampled_from(list(COMPARE)), TEXTS),
    st.builds(comparison, BOOL_VALUES, st.sampled_from(["==", "!="]), BOOL_VALUES),
    st.builds(membership, NUMBERS, in_words(), st.lists(NUMBER_ITEMS, min_size=1, max_size=4)),
    st.builds(membership, TEXTS, in_words(), st.lists(TEXT_ITEMS, min_size=1, max_size=4)),
    st.builds(between, NUMBERS, between_words(), NUMBERS, keyword("and"), NUMBERS),
    st.builds(between, TEXTS, between_words(), TEXTS, keyword("and"), TEXTS),
    # a bare bool column or literal: its value, missing included, until not/and/or/the rule read it as a condition
    BOOL_VALUES,
)


def negation(word: str, condition: Generated) -> Generated:
    return Generated(f"{word} {condition.source}", lambda row: condition.value(row) is not True)


def logical_chain(first: Generated, rest: list[tuple[str, Generated]]) -> Generated:
    def value(row):
        # `and` binds tighter than `or`: split at the ors, every group must hold entirely
        groups, current = [], [first.value(row)]
        for word, term in rest:
            if word.lower() == "or":
                groups.append(current)
                current = []
            current.append(term.value(row))
        return any(all(value is True for value in group) for group in [*groups, current])

    return Generated(chain_source(first, rest), value)


def condition_as_value(condition: Generated, operator_text: str, other: Generated) -> Generated:
    parenthesised = Generated(f"({condition.source})", condition.value)
    return comparison(parenthesised, operator_text, other)


CONDITIONS = st.recursive(
    CONDITION_ATOMS,
    lambda inner: st.one_of(
        st.builds(negation, keyword("not"), inner),
        st.builds(
            logical_chain,
            inner,
            st.lists(st.tuples(st.one_of(keyword("and"), keyword("or")), inner), min_size=1, max_size=3),
        ),
        st.builds(condition_as_value, inner, st.sampled_from(["==", "!="]), BOOL_VALUES),
    ),
    max_leaves=6,
)


@PROPERTIES
@given(condition=CONDITIONS, rows=ROWS, nullable=st.booleans())
def test_generated_rules_parse_and_select_a_boolean_per_buyer(condition, rows, nullable):
    frame = frame_of(rows, nullable)
    rule = parse_rule("generated", condition.source, PROPERTY_COLUMNS)
    selected = rule.evaluate(frame)
    assert isinstance(rule, Rule) and rule.columns <= set(PROPERTY_COLUMNS)
    assert selected.dtype == bool and len(selected) == len(frame) and selected.index.equals(frame.index)


@PROPERTIES
@given(condition=CONDITIONS, rows=ROWS, nullable=st.booleans())
def test_evaluation_agrees_with_a_row_by_row_reference(condition, rows, nullable):
    selected = parse_rule("generated", condition.source, PROPERTY_COLUMNS).evaluate(frame_of(rows, nullable))
    assert selected.tolist() == [condition.value(row) is True for row in rows], condition.source
