"""Keyword alert rules: whole words in Latin script, anywhere in Chinese and Japanese, case-insensitive."""

from __future__ import annotations

import pytest

from sellerreach.inbox.alerts import DEFAULT_ALERT_RULES, AlertRule, matching_rules


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I want to make a complaint about this seller.", ["complaint"]),
        ("Ich möchte eine Beschwerde einreichen", ["complaint"]),
        ("Je vais faire une réclamation", ["complaint"]),
        ("Voy a dejar una valoración negativa", ["negative_feedback"]),
        ("If this is not solved I will open an A-to-z claim", ["a_to_z"]),
        ("I will file an A to z guarantee claim", ["a_to_z"]),
        ("Ich habe eine Rückbuchung bei meiner Bank veranlasst", ["chargeback"]),
        ("Please REFUND me now", ["refund"]),
        ("I returned the item last week", ["return"]),
        ("商品有问题，我要退款，否则给差评", ["negative_feedback", "refund"]),
        ("返品したいです。返金をお願いします。", ["refund", "return"]),
        ("Is this item refundable?", []),  # whole words only: "refundable" is not "refund"
        ("Thanks, the resolution was quick", []),  # no Italian "reso" inside English words
        ("Where is my order? It has not arrived yet.", []),
    ],
)
def test_default_rules(text: str, expected: list[str]) -> None:
    assert [r.rule_id for r in matching_rules(text, DEFAULT_ALERT_RULES)] == expected


def test_a_configured_rule() -> None:
    rule = AlertRule("legal", ("lawyer", "Anwalt", "弁護士"), "legal")
    assert rule.matches("My LAWYER will contact you")
    assert rule.matches("弁護士に相談します")
    assert not rule.matches("Anwaltskanzlei")  # whole words in Latin script
