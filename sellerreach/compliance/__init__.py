"""Compliance: the rules a message must pass before sellerreach sends it, per channel (Amazon's buyer-seller
messaging rules for relay mail, marketing-mail law for direct mail), kept as data in rules.toml and applied to
rendered text by `lint_message`. A finding of severity "error" stops the send.

    findings = lint_message(body=text, subject=subject, channel="relay_email", locale="de", order_id=order_id)
    if errors_in(findings): ...
"""

from sellerreach.compliance.lint import Finding, errors_in, lint_message
from sellerreach.compliance.rules import CHANNELS, KINDS, Rule, RulePattern, RuleSet, load_rules, parse_rules

__all__ = [
    "CHANNELS",
    "KINDS",
    "Finding",
    "Rule",
    "RulePattern",
    "RuleSet",
    "errors_in",
    "lint_message",
    "load_rules",
    "parse_rules",
]
