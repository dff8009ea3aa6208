"""Keyword alert rules: data, not code. A rule tags the thread whose buyer wrote one of its keywords and raises
an alert (the flow turns alerts into Prefect events).

Latin-script keywords match whole words, case-insensitively ("Refund!" yes, "refundable" no: list the forms
you mean, as the default set does); spaces and hyphens inside a keyword match any run of spaces or hyphens
("A-to-z" finds "A to z"). Keywords in Chinese or Japanese script, which has no spaces between words, match
anywhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AlertRule:
    rule_id: str
    keywords: tuple[str, ...]
    tag: str
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", keyword_pattern(self.keywords))

    def matches(self, text: str) -> bool:
        return bool(self.pattern.search(text))


_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uff66-\uff9f]")


def keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern finding any of `keywords` (whole words in Latin script, anywhere in CJK script)."""
    parts = []
    for keyword in keywords:
        words = [re.escape(w) for w in re.split(r"[\s-]+", keyword.strip()) if w]
        body = r"[\s-]+".join(words)
        parts.append(body if _CJK.search(keyword) else rf"(?<!\w){body}(?!\w)")
    return re.compile("|".join(parts), re.IGNORECASE)


def matching_rules(text: str, rules: tuple[AlertRule, ...]) -> list[AlertRule]:
    """The rules whose keywords occur in `text`, in rule order."""
    return [rule for rule in rules if rule.matches(text)]


# The multilingual default set (en, de, fr, es, it, ja, zh); a configured rule with the same id replaces one.
DEFAULT_ALERT_RULES: tuple[AlertRule, ...] = (
    AlertRule(
        "complaint",
        (
            "complaint",
            "complaints",
            "complain",
            "complained",
            "Beschwerde",
            "beschweren",
            "réclamation",
            "plainte",
            "reclamación",
            "queja",
            "reclamo",
            "lamentela",
            "投诉",
            "苦情",
            "クレーム",
        ),
        "complaint",
    ),
    AlertRule(
        "negative_feedback",
        (
            "negative feedback",
            "bad review",
            "one star",
            "1 star",
            "1-star",
            "negative Bewertung",
            "schlechte Bewertung",
            "avis négatif",
            "mauvais avis",
            "valoración negativa",
            "mala reseña",
            "recensione negativa",
            "feedback negativo",
            "差评",
            "悪い評価",
            "低評価",
            "星1",
        ),
        "negative-feedback",
    ),
    AlertRule(
        "a_to_z",
        (
            "A-to-z",
            "A-to-Z Guarantee",
            "A-bis-z",
            "A-à-z",
            "garantía de la A a la Z",
            "dalla A alla Z",
            "Aからz",
            "マーケットプレイス保証",
            "亚马逊商城交易保障",
        ),
        "a-to-z",
    ),
    AlertRule(
        "chargeback",
        ("chargeback", "Rückbuchung", "rétrofacturation", "contracargo", "storno", "拒付", "チャージバック"),
        "chargeback",
    ),
    AlertRule(
        "refund",
        (
            "refund",
            "refunds",
            "refunded",
            "money back",
            "Rückerstattung",
            "Erstattung",
            "erstatten",
            "remboursement",
            "rembourser",
            "reembolso",
            "rimborso",
            "退款",
            "返金",
        ),
        "refund",
    ),
    AlertRule(
        "return",
        (
            "return",
            "returns",
            "returned",
            "returning",
            "Rücksendung",
            "zurücksenden",
            "Rückgabe",
            "retour",
            "renvoyer",
            "devolución",
            "devolver",
            "reso",
            "restituire",
            "退货",
            "返品",
        ),
        "return",
    ),
)
