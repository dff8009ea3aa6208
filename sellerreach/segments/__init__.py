"""Buyer segments: named rules over buyer features, declared in the config and evaluated over a DataFrame.

rule = parse_rule("high_value", "aov_cents >= 5000 and orders_365d >= 2", {"aov_cents": "int", ...})
selected = rule.evaluate(buyer_features)  # bool Series on the frame's index
"""

from sellerreach.segments.expressions import (
    COLUMN_KINDS,
    MAX_NESTING,
    MAX_RULE_CHARS,
    Rule,
    RuleError,
    parse_rule,
)

__all__ = ["COLUMN_KINDS", "MAX_NESTING", "MAX_RULE_CHARS", "Rule", "RuleError", "parse_rule"]
