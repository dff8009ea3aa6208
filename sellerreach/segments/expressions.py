"""Segment rules: named conditions over whitelisted buyer-feature columns, read by hand and evaluated with numpy.

A segment is a rule in the TOML config, e.g. ``high_value = "aov_cents >= 5000 and orders_365d >= 2"``.
`parse_rule` reads it with a hand-written tokenizer and a Pratt parser (never `eval`, `ast.parse` or
`DataFrame.query`), checks it against the kinds of the whitelisted columns and returns a `Rule`;
`Rule.evaluate` computes it over a DataFrame of buyers with one vectorised numpy operation per node.

    rule       = condition ;
    condition  = conjunct { "or" conjunct } ;
    conjunct   = negation { "and" negation } ;
    negation   = "not" negation | comparison ;
    comparison = sum [ ( "==" | "!=" | "<" | "<=" | ">" | ">=" ) sum
                     | [ "not" ] "in" "[" literal { "," literal } [ "," ] "]"
                     | [ "not" ] "between" sum "and" sum ] ;
    sum        = product { ( "+" | "-" ) product } ;
    product    = unary { ( "*" | "/" ) unary } ;
    unary      = "-" unary | atom ;
    atom       = number | string | "true" | "false" | column | "(" condition ")" ;
    literal    = [ "-" ] number | string | "true" | "false" ;
    number     = digits [ "." digits ] ;            digits = [0-9]+ { "_" [0-9]+ }
    string     = "'" ... "'" | '"' ... '"' ;        escapes: \\' \\" \\\\

Keywords are case-insensitive, column names lower-case. An int or float column is a number, a str column
text, a bool column true/false; both sides of a comparison, a list's values and between's bounds have the
operand's type, arithmetic takes numbers, and/or/not take conditions; a bare bool column read as a
condition (by and, or, not or as the whole rule) means `column == true`. Rules are at most
MAX_RULE_CHARS characters and nest at most MAX_NESTING levels of parentheses, `not` and unary minus, so no
input can exhaust the stack.

Missing values (NaN, None, NA): arithmetic with a missing value is missing, and so is x / 0; every comparison
(== != < <= > >=, in, not in, between) with a missing side is False for that buyer. So `recency_days != 30`
and `recency_days == 30` are both False for a buyer without a recency, and `not (recency_days > 30)` is True.
"""

from __future__ import annotations

import difflib
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sellerreach.errors import ConfigError

MAX_RULE_CHARS = 1000
MAX_NESTING = 32
COLUMN_KINDS = ("int", "float", "bool", "str")

NUMBER, TEXT, BOOLEAN = "number", "text", "boolean"
_TYPE_OF_KIND = {"int": NUMBER, "float": NUMBER, "bool": BOOLEAN, "str": TEXT}
_TYPE_PHRASE = {NUMBER: "a number", TEXT: "text", BOOLEAN: "true/false"}
_VALUE_ADVICE = {
    NUMBER: "compare a number with a number, e.g. 2 or 0.5, without quotes",
    TEXT: 'compare text with quoted text, e.g. "de"',
    BOOLEAN: "compare true/false with true or false, or use the column alone as a condition",
}

_KEYWORDS = frozenset({"and", "or", "not", "in", "between", "true", "false"})
_COMPARISONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_ARITHMETIC: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.divide,
}
_SUM_OPERATORS = ("+", "-")  # the other arithmetic level is * and /

# Pratt binding powers; a prefix `not` binds its operand at _NOT_POWER, unary minus at _NEGATE_POWER.
_OR_POWER, _AND_POWER, _NOT_POWER, _COMPARE_POWER, _SUM_POWER, _PRODUCT_POWER, _NEGATE_POWER = range(
    10, 80, 10
)
_INFIX_POWER = {
    "or": _OR_POWER,
    "and": _AND_POWER,
    **dict.fromkeys((*_COMPARISONS, "in", "not in", "between", "not between"), _COMPARE_POWER),
    "+": _SUM_POWER,
    "-": _SUM_POWER,
    "*": _PRODUCT_POWER,
    "/": _PRODUCT_POWER,
}

_COLUMN_NAME = re.compile(r"[a-z_][a-z0-9_]*")
_WORD = re.compile(r"[^\W\d]\w*")
_NUMBER_RUN = re.compile(r"[0-9][\w.]*")  # everything glued to a number, so "5abc" is one malformed number
_NUMBER = re.compile(r"[0-9]+(?:_[0-9]+)*(?:\.[0-9]+(?:_[0-9]+)*)?")
_TWO_CHAR_OPERATORS = ("==", "!=", "<=", ">=")
_ONE_CHAR_OPERATORS = "<>+-*/()[],"
_CHARACTER_HINTS = {
    "=": "write '==' to compare",
    "!": "write '!=' for 'not equal' or 'not' to negate",
    "&": "write 'and'",
    "|": "write 'or'",
    ".": "write decimals with a digit before the point, e.g. 0.5",
    **dict.fromkeys("“”„‘’`´", "quote text with straight quotes, ' or \""),
}
_LANGUAGE_SUMMARY = (
    "a rule uses column names, numbers, quoted text, true/false, == != < <= > >=, + - * /, "
    "and, or, not, in [...], between ... and ..., and parentheses"
)
_EXCERPT_CHARS = 80  # of the rule shown above the caret


class RuleError(ConfigError):
    """A segment rule cannot be read: names the rule, the 0-based `position` in its text and how to fix it.

    str() is one line `segments.<rule>: at column <position + 1>: <reason>`, then the rule (or the part of it
    around the position) and a caret under the position.
    """

    def __init__(self, rule: str, source: str, position: int, reason: str) -> None:
        self.rule = rule
        self.source = source
        self.position = position
        self.reason = reason
        super().__init__(f"segments.{rule}: at column {position + 1}: {reason}\n{_pointer(source, position)}")

    def __reduce__(self):
        # Prefect pickles exceptions between processes; rebuild from the parts, not from the formatted message.
        return (type(self), (self.rule, self.source, self.position, self.reason))


@dataclass(frozen=True)
class Rule:
    """A parsed, type-checked segment rule; build it with `parse_rule`."""

    name: str
    source: str
    columns: frozenset[str]  # the columns it uses
    _expression: _Node = field(repr=False, compare=False)

    def evaluate(self, frame: pd.DataFrame) -> pd.Series:
        """Which buyers (rows of `frame`) the rule selects: a bool Series on frame.index, named after the rule.

        Vectorised over the rows; missing values and division by zero make a comparison False, never raise.
        Raises ValueError when `frame` lacks a column the rule uses (or has it twice).
        """
        missing = sorted(self.columns.difference(frame.columns))
        if missing:
            raise ValueError(
                f"segments.{self.name}: the buyer frame has no column {', '.join(missing)}; "
                f"it has: {', '.join(map(str, frame.columns))}"
            )
        for name in self.columns:
            if isinstance(frame[name], pd.DataFrame):
                raise ValueError(
                    f"segments.{self.name}: the buyer frame has the column {name} more than once"
                )
        values = _evaluate(self._expression, _Frame(frame))
        return pd.Series(_truth(values), index=frame.index, name=self.name, dtype=bool)


def parse_rule(name: str, source: str, columns: Mapping[str, str]) -> Rule:
    """Parse and type-check the rule `name` (its text `source`) over the whitelisted `columns` (name -> kind).

    Kinds are "int", "float", "bool" and "str". Returns a Rule. Raises RuleError naming the rule, the position
    and the fix when the text is not a valid condition over those columns; raises ValueError when `columns`
    itself is malformed (a kind outside COLUMN_KINDS, a name that is not lower-case or is a keyword).
    """
    for column, kind in columns.items():
        if kind not in COLUMN_KINDS:
            raise ValueError(f"column {column!r} has kind {kind!r}; kinds are {', '.join(COLUMN_KINDS)}")
        if not _COLUMN_NAME.fullmatch(column) or column in _KEYWORDS:
            raise ValueError(f"column name {column!r} must be lower-case [a-z_][a-z0-9_]* and not a keyword")
    if not isinstance(source, str):
        raise RuleError(name, str(source), 0, f'a rule is quoted text, e.g. {name} = "orders_365d >= 2"')
    if len(source) > MAX_RULE_CHARS:
        raise RuleError(
            name,
            source,
            MAX_RULE_CHARS,
            f"the rule is {len(source)} characters long, the limit is {MAX_RULE_CHARS}; shorten it, "
            "e.g. replace chains of 'or' with 'in [...]'",
        )
    return _Parser(name, source, columns).parse()


# -- tokens --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "number", "string", "keyword", "name", "operator" or "end"
    text: str  # as written in the rule
    value: float | str  # a number's value, a string's contents, a keyword in lower case, else the text
    position: int


def _tokenize(rule: str, source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        char = source[position]
        if char.isspace():
            position += 1
        elif char in "'\"":
            token = _string_token(rule, source, position)
            tokens.append(token)
            position += len(token.text)
        elif "0" <= char <= "9":
            text = _NUMBER_RUN.match(source, position).group()
            if not _NUMBER.fullmatch(text):
                raise RuleError(
                    rule,
                    source,
                    position,
                    f"malformed number {_shown(text)}; write numbers like 5000, 5_000 or 0.5",
                )
            # float() of the text, not of int(): a 400-digit integer becomes inf instead of an OverflowError
            tokens.append(_Token("number", text, float(text.replace("_", "")), position))
            position += len(text)
        elif word := _WORD.match(source, position):
            text = word.group()
            if text.lower() in _KEYWORDS:
                tokens.append(_Token("keyword", text, text.lower(), position))
            else:
                tokens.append(_Token("name", text, text, position))
            position += len(text)
        elif source.startswith(_TWO_CHAR_OPERATORS, position):
            text = source[position : position + 2]
            tokens.append(_Token("operator", text, text, position))
            position += 2
        elif char in _ONE_CHAR_OPERATORS:
            tokens.append(_Token("operator", char, char, position))
            position += 1
        else:
            hint = _CHARACTER_HINTS.get(char, _LANGUAGE_SUMMARY)
            raise RuleError(rule, source, position, f"unexpected character {_shown(char)}; {hint}")
    tokens.append(_Token("end", "", "", len(source.rstrip())))
    return tokens


def _string_token(rule: str, source: str, start: int) -> _Token:
    quote = source[start]
    chars: list[str] = []
    position = start + 1
    while position < len(source):
        char = source[position]
        if char == quote:
            return _Token("string", source[start : position + 1], "".join(chars), start)
        if char == "\\":
            escaped = source[position + 1 : position + 2]
            if escaped not in ("'", '"', "\\"):
                if not escaped:
                    break
                raise RuleError(
                    rule,
                    source,
                    position,
                    f"unknown escape {_shown(char + escaped)} in quoted text; the escapes are \\' \\\" and \\\\",
                )
            chars.append(escaped)
            position += 2
            continue
        chars.append(char)
        position += 1
    raise RuleError(
        rule, source, start, f"unterminated string: the text quoted here never ends; add a closing {quote}"
    )


# -- syntax tree ---------------------------------------------------------------------------------------------
# Every node knows its type (NUMBER, TEXT or BOOLEAN) and the position where it starts in the rule.


@dataclass(frozen=True, slots=True)
class _Literal:
    value: float | str  # true and false are 1.0 and 0.0
    type: str
    position: int
    text: str  # as written, for messages


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    kind: str
    type: str
    position: int


@dataclass(frozen=True, slots=True)
class _Negate:
    operand: _Node
    position: int
    type: str = NUMBER


@dataclass(frozen=True, slots=True)
class _Arithmetic:
    """`first op operand op operand ...` on one precedence level, flat so long sums do not make a deep tree."""

    first: _Node
    rest: tuple[tuple[str, _Node], ...]
    position: int
    type: str = NUMBER


@dataclass(frozen=True, slots=True)
class _Comparison:
    operator: str
    left: _Node
    right: _Node
    position: int
    type: str = BOOLEAN


@dataclass(frozen=True, slots=True)
class _Membership:
    operand: _Node
    values: tuple[float | str, ...]
    negated: bool
    position: int
    type: str = BOOLEAN


@dataclass(frozen=True, slots=True)
class _Between:
    operand: _Node
    low: _Node
    high: _Node
    negated: bool
    position: int
    type: str = BOOLEAN


@dataclass(frozen=True, slots=True)
class _Not:
    operand: _Node
    position: int
    type: str = BOOLEAN


@dataclass(frozen=True, slots=True)
class _Logical:
    """`operand and operand and ...` (or `or`), flat like _Arithmetic."""

    operator: str
    operands: tuple[_Node, ...]
    position: int
    type: str = BOOLEAN


_Node = _Literal | _Column | _Negate | _Arithmetic | _Comparison | _Membership | _Between | _Not | _Logical


# -- parser --------------------------------------------------------------------------------------------------


class _Parser:
    """Pratt parser over the tokens of one rule; type-checks each node as it builds it."""

    def __init__(self, rule: str, source: str, columns: Mapping[str, str]) -> None:
        self.rule = rule
        self.source = source
        self.columns = columns
        self.tokens = _tokenize(rule, source)
        self.index = 0
        self.nesting = 0
        self.used: set[str] = set()

    def parse(self) -> Rule:
        if self.tokens[0].kind == "end":
            raise self.error(
                0, f"the rule is empty; write a condition, e.g. 'orders_365d >= 2'; {self.known()}"
            )
        tree = self.expression(0)
        token = self.peek()
        if token.kind != "end":
            if tree.type == BOOLEAN:
                hint = "the condition before it is complete; join conditions with 'and' or 'or'"
            else:
                hint = "expected an operator such as >=, ==, +, in or between here"
            raise self.error(token.position, f"unexpected {_shown(token.text)}: {hint}")
        self.require_condition(tree, "a rule must be a condition, true or false for each buyer")
        return Rule(self.rule, self.source, frozenset(self.used), tree)

    # -- tokens and errors

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.index + ahead, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        token = self.peek()
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def error(self, position: int, reason: str) -> RuleError:
        return RuleError(self.rule, self.source, position, reason)

    def known(self) -> str:
        return f"known columns: {', '.join(sorted(self.columns))}"

    def nest(self, token: _Token) -> None:
        self.nesting += 1
        if self.nesting > MAX_NESTING:
            raise self.error(
                token.position,
                f"the rule nests more than {MAX_NESTING} levels of parentheses, 'not' and '-'; write it flatter",
            )

    # -- expressions

    def expression(self, min_power: int) -> _Node:
        left = self.prefix(min_power)
        left_is_comparison = False
        while True:
            token = self.peek()
            operator_name = self.infix_operator()
            if operator_name is None or _INFIX_POWER[operator_name] < min_power:
                return left
            power = _INFIX_POWER[operator_name]
            if power == _COMPARE_POWER and left_is_comparison:
                raise self.error(
                    token.position,
                    "comparisons do not chain: join them with 'and', e.g. 'a < b and b < c', "
                    "or put the first in parentheses",
                )
            self.advance()
            if operator_name.startswith("not "):
                self.advance()
            left = self.infix(operator_name, token, left, power)
            left_is_comparison = power == _COMPARE_POWER

    def infix_operator(self) -> str | None:
        token = self.peek()
        if token.kind == "operator" and token.value in _INFIX_POWER:
            return token.text
        if token.kind == "keyword" and token.value in ("and", "or", "in", "between"):
            return token.value
        if token.kind == "keyword" and token.value == "not":
            following = self.peek(1)
            if following.kind == "keyword" and following.value in ("in", "between"):
                return f"not {following.value}"
        return None

    def prefix(self, min_power: int) -> _Node:
        token = self.advance()
        if literal := _literal(token):
            return literal
        if token.kind == "name":
            return self.column(token)
        if token.kind == "keyword" and token.value == "not":
            if min_power > _NOT_POWER:
                raise self.error(
                    token.position,
                    "'not' cannot stand here; put it in parentheses, e.g. == (not was_invited)",
                )
            self.nest(token)
            operand = self.expression(_NOT_POWER)
            self.require_condition(operand, "'not' negates a condition")
            self.nesting -= 1
            return _Not(operand, token.position)
        if token.kind == "operator" and token.value == "-":
            self.nest(token)
            operand = self.expression(_NEGATE_POWER)
            self.require_number(operand, "'-'")
            self.nesting -= 1
            return _Negate(operand, token.position)
        if token.kind == "operator" and token.value == "(":
            self.nest(token)
            inner = self.expression(0)
            closing = self.advance()
            if closing.text != ")" or closing.kind != "operator":
                opened = f"the '(' at column {token.position + 1}"
                if closing.kind == "end":
                    raise self.error(closing.position, f"{opened} is never closed; add ')'")
                raise self.error(
                    closing.position, f"expected ')' to close {opened}, found {_shown(closing.text)}"
                )
            self.nesting -= 1
            return inner
        if token.kind == "end":
            reason = "the rule ends where a column, a value or '(' should follow"
        else:
            reason = f"expected a column, a value or '(' but found {_shown(token.text)}"
        raise self.error(token.position, f"{reason}; {self.known()}")

    def column(self, token: _Token) -> _Column:
        name = token.text
        kind = self.columns.get(name)
        if kind is None:
            lowered = name.lower()
            if lowered in self.columns:
                raise self.error(
                    token.position, f"column names are lower-case: write '{lowered}', not '{name}'"
                )
            suggestion = (
                difflib.get_close_matches(lowered, self.columns, n=1, cutoff=0.6)
                # difflib misses abbreviations ('aov' for 'aov_cents'): fall back on a column containing the word
                or sorted(column for column in self.columns if len(lowered) >= 3 and lowered in column)[:1]
            )
            did_you_mean = f"; did you mean '{suggestion[0]}'?" if suggestion else ";"
            raise self.error(token.position, f"unknown column {_shown(name)}{did_you_mean} {self.known()}")
        self.used.add(name)
        return _Column(name, kind, _TYPE_OF_KIND[kind], token.position)

    def infix(self, operator_name: str, token: _Token, left: _Node, power: int) -> _Node:
        if operator_name in ("and", "or"):
            self.require_condition(left, f"'{operator_name}' joins conditions")
            right = self.expression(power + 1)
            self.require_condition(right, f"'{operator_name}' joins conditions")
            if isinstance(left, _Logical) and left.operator == operator_name:
                return _Logical(operator_name, (*left.operands, right), left.position)
            return _Logical(operator_name, (left, right), left.position)
        if operator_name in _ARITHMETIC:
            self.require_number(left, f"'{operator_name}'")
            right = self.expression(power + 1)
            self.require_number(right, f"'{operator_name}'")
            is_sum = operator_name in _SUM_OPERATORS
            if isinstance(left, _Arithmetic) and (left.rest[0][0] in _SUM_OPERATORS) == is_sum:
                return _Arithmetic(left.first, (*left.rest, (operator_name, right)), left.position)
            return _Arithmetic(left, ((operator_name, right),), left.position)
        if operator_name in _COMPARISONS:
            right = self.expression(power + 1)
            self.require_same_type(left, right)
            if operator_name not in ("==", "!=") and left.type == BOOLEAN:
                raise self.error(
                    token.position,
                    f"'{operator_name}' orders numbers or text, but {_described(left)}; use == or !=",
                )
            return _Comparison(operator_name, left, right, left.position)
        negated = operator_name.startswith("not ")
        if operator_name.endswith("between"):
            if left.type == BOOLEAN:
                raise self.error(
                    token.position,
                    f"'between' needs numbers or text, but {_described(left)}; use == true or == false",
                )
            low = self.expression(power + 1)
            self.require_same_type(left, low)
            separator = self.advance()
            if separator.kind != "keyword" or separator.value != "and":
                raise self.error(
                    separator.position,
                    f"expected 'and' between the bounds, e.g. 'aov_cents between 2000 and 5000', "
                    f"found {_shown(separator.text) if separator.kind != 'end' else 'the end of the rule'}",
                )
            high = self.expression(power + 1)
            self.require_same_type(left, high)
            return _Between(left, low, high, negated, left.position)
        return _Membership(left, self.literal_list(left, operator_name), negated, left.position)

    def literal_list(self, operand: _Node, operator_name: str) -> tuple[float | str, ...]:
        opening = self.advance()
        example = 'preferred_language in ["de", "fr"]'
        if opening.kind != "operator" or opening.value != "[":
            raise self.error(
                opening.position, f"'{operator_name}' needs a list in square brackets, e.g. {example}"
            )
        values: list[float | str] = []
        while True:
            token = self.peek()
            if token.kind == "operator" and token.value == "]":
                if not values:
                    raise self.error(
                        token.position, f"the list is empty; list at least one value, e.g. {example}"
                    )
                self.advance()
                return tuple(values)
            literal = self.list_literal()
            if literal.type != operand.type:
                raise self.error(
                    literal.position,
                    f"the list for {_typed(operand)} holds {_typed(literal)}; {_VALUE_ADVICE[operand.type]}",
                )
            values.append(literal.value)
            separator = self.advance()
            if separator.kind == "operator" and separator.value == "]":
                return tuple(values)
            if separator.kind == "end":
                raise self.error(
                    separator.position, f"the '[' at column {opening.position + 1} is never closed; add ']'"
                )
            if separator.kind != "operator" or separator.value != ",":
                raise self.error(
                    separator.position, f"expected ',' or ']' in the list, found {_shown(separator.text)}"
                )

    def list_literal(self) -> _Literal:
        token = self.advance()
        following = self.peek()
        if token.kind == "operator" and token.value == "-" and following.kind == "number":
            self.advance()
            return _Literal(-following.value, NUMBER, token.position, f"-{following.text}")
        if literal := _literal(token):
            return literal
        if token.kind == "end":
            raise self.error(token.position, "the list is never closed; add ']'")
        raise self.error(
            token.position,
            f"a list holds only values (numbers, quoted text, true, false), found {_shown(token.text)}; "
            'e.g. preferred_language in ["de", "fr"]',
        )

    # -- type checks

    def require_condition(self, node: _Node, why: str) -> None:
        if node.type == BOOLEAN:
            return
        subject = node.name if isinstance(node, _Column) else "(...)"
        example = f"{subject} > 0" if node.type == NUMBER else f'{subject} == "books"'
        raise self.error(node.position, f"{why}, but {_described(node)}; compare it, e.g. {example}")

    def require_number(self, node: _Node, operator_text: str) -> None:
        if node.type != NUMBER:
            raise self.error(
                node.position,
                f"{operator_text} calculates with numbers, but {_described(node)}; use a numeric column",
            )

    def require_same_type(self, left: _Node, right: _Node) -> None:
        if left.type == right.type:
            return
        # blame the value that does not fit the column: `top_category == 5` at 5, `5 == top_category` at 5 too
        if isinstance(right, _Column) and not isinstance(left, _Column):
            blamed, other = left, right
        else:
            blamed, other = right, left
        raise self.error(
            blamed.position,
            f"cannot compare {_typed(other)} with {_typed(blamed)}; {_VALUE_ADVICE[other.type]}",
        )


def _literal(token: _Token) -> _Literal | None:
    if token.kind == "number":
        return _Literal(token.value, NUMBER, token.position, token.text)
    if token.kind == "string":
        return _Literal(token.value, TEXT, token.position, token.text)
    if token.kind == "keyword" and token.value in ("true", "false"):
        return _Literal(1.0 if token.value == "true" else 0.0, BOOLEAN, token.position, token.value)
    return None


def _subject(node: _Node) -> str:
    if isinstance(node, _Column):
        return f"'{node.name}'"
    if isinstance(node, _Literal):
        return _shown(node.text, quoted=False)  # a string literal brings its own quotes
    return f"the expression at column {node.position + 1}"


def _described(node: _Node) -> str:
    """`'top_category' is text`, `5 is a number`: for sentences about one operand."""
    return f"{_subject(node)} is {_TYPE_PHRASE[node.type]}"


def _typed(node: _Node) -> str:
    """`'top_category' (text)`, `5 (a number)`: for sentences about two operands."""
    return f"{_subject(node)} ({_TYPE_PHRASE[node.type]})"


def _shown(text: str, quoted: bool = True) -> str:
    """A piece of the rule for a one-line message: non-printable characters escaped, long text cut."""
    if len(text) > 30:
        text = text[:30] + "…"
    text = "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)
    return f"'{text}'" if quoted else text


def _pointer(source: str, position: int) -> str:
    """The rule (or the part around `position`) indented, and a caret under `position` on the next line."""
    start = max(0, min(position - _EXCERPT_CHARS // 2, len(source) - _EXCERPT_CHARS))
    end = start + _EXCERPT_CHARS
    # one character for one, so the caret stays under its character
    excerpt = "".join(char if char.isprintable() else " " for char in source[start:end])
    before = "…" if start > 0 else ""
    after = "…" if end < len(source) else ""
    return f"    {before}{excerpt}{after}\n    {' ' * (len(before) + position - start)}^"


# -- evaluation ----------------------------------------------------------------------------------------------
# Numbers and true/false evaluate to float64 arrays (NaN: missing, true/false as 1.0/0.0), text to object arrays
# (None: missing), conditions to bool arrays, each one value per row of the frame.


class _Frame:
    """A buyer frame's columns as numpy arrays in the evaluator's representation, converted once per column."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.rows = len(frame)
        self.converted: dict[str, np.ndarray] = {}

    def column(self, node: _Column) -> np.ndarray:
        if node.name not in self.converted:
            self.converted[node.name] = _column_values(self.frame[node.name], node.type)
        return self.converted[node.name]


def _column_values(series: pd.Series, value_type: str) -> np.ndarray:
    if value_type == TEXT:
        # the nullable string dtype turns every missing marker into NA and any stray non-text value into text
        return series.astype("string").to_numpy(dtype=object, na_value=None)
    if isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype(object)
    numbers = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if value_type == BOOLEAN:
        # anything but true/false (or 1/0) counts as missing rather than as a truthy value
        numbers = np.where((numbers == 0) | (numbers == 1), numbers, np.nan)
    return numbers


def _evaluate(node: _Node, frame: _Frame) -> np.ndarray:
    match node:
        case _Literal(value=value, type=value_type):
            return np.full(frame.rows, value, dtype=object if value_type == TEXT else np.float64)
        case _Column():
            return frame.column(node)
        case _Negate(operand=operand):
            return np.negative(_evaluate(operand, frame))
        case _Arithmetic(first=first, rest=rest):
            result = _evaluate(first, frame)
            for operator_name, operand in rest:
                result = _calculate(operator_name, result, _evaluate(operand, frame))
            return result
        case _Comparison(operator=operator_name, left=left, right=right):
            return _compare(operator_name, _evaluate(left, frame), _evaluate(right, frame), left.type)
        case _Membership(operand=operand, values=values, negated=negated):
            return _member(_evaluate(operand, frame), values, negated, operand.type)
        case _Between(operand=operand, low=low, high=high, negated=negated):
            values, lows, highs = (_evaluate(part, frame) for part in (operand, low, high))
            if not negated:
                return _compare(">=", values, lows, operand.type) & _compare(
                    "<=", values, highs, operand.type
                )
            # `not between` is a comparison too: False, not True, where the value or a bound is missing
            outside = _compare("<", values, lows, operand.type) | _compare(">", values, highs, operand.type)
            return outside & ~_missing(lows) & ~_missing(highs)
        case _Not(operand=operand):
            return ~_truth(_evaluate(operand, frame))
        case _Logical(operator=operator_name, operands=operands):
            combine = np.logical_and if operator_name == "and" else np.logical_or
            result = _truth(_evaluate(operands[0], frame))
            for operand in operands[1:]:
                result = combine(result, _truth(_evaluate(operand, frame)))
            return result
    raise AssertionError(f"unknown node {node!r}")  # the parser builds no other nodes


def _truth(values: np.ndarray) -> np.ndarray:
    """A condition's bool array; a true/false value is true only where it is 1.0 (missing counts as false)."""
    return values if values.dtype == np.bool_ else values == 1.0


def _as_values(values: np.ndarray) -> np.ndarray:
    """A condition used as a true/false value (`(a > 1) == b`) in the float representation of true/false."""
    return values.astype(np.float64) if values.dtype == np.bool_ else values


def _missing(values: np.ndarray) -> np.ndarray:
    return pd.isna(values) if values.dtype == object else np.isnan(_as_values(values))


def _calculate(operator_name: str, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        result = _ARITHMETIC[operator_name](left, right)
    if operator_name == "/":
        result[right == 0] = np.nan  # division by zero is missing, so comparisons with it are False
    return result


def _compare(operator_name: str, left: np.ndarray, right: np.ndarray, value_type: str) -> np.ndarray:
    compare = _COMPARISONS[operator_name]
    if value_type == TEXT:
        present = ~(pd.isna(left) | pd.isna(right))
        result = np.zeros(len(left), dtype=bool)
        # only present values: Python refuses to order None against text
        result[present] = np.asarray(compare(left[present], right[present]), dtype=bool)
        return result
    left, right = _as_values(left), _as_values(right)
    return compare(left, right) & ~np.isnan(left) & ~np.isnan(right)


def _member(
    values: np.ndarray, options: tuple[float | str, ...], negated: bool, value_type: str
) -> np.ndarray:
    if value_type == TEXT:
        found = pd.Series(values, dtype=object, copy=False).isin(options).to_numpy(dtype=bool)
    else:
        values = _as_values(values)
        found = np.isin(values, np.asarray(options, dtype=np.float64))
    return ~found & ~_missing(values) if negated else found
