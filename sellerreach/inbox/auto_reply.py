"""Auto-reply rules: data, not code. Off unless `[inbox] auto_replies = true`. A rule answers a thread whose
buyer wrote one of its keywords with a reply template, at most once per thread, and only when the template
renders with every variable the rule `requires` (no "your tracking number is None") and the compliance rules
pass; the caller (inbox.reply) does the sending and the recording.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sellerreach.inbox.alerts import keyword_pattern


@dataclass(frozen=True)
class AutoReplyRule:
    rule_id: str
    keywords: tuple[str, ...]
    template_id: str
    requires: tuple[str, ...] = ()
    account_ids: tuple[str, ...] = ()
    marketplace_ids: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "pattern", keyword_pattern(self.keywords))

    def applies_to(self, thread: Mapping[str, Any], text: str) -> bool:
        """Whether the thread (account_id, marketplace_id, language) is in scope and `text` has a keyword."""
        return (
            (not self.account_ids or thread["account_id"] in self.account_ids)
            and (not self.marketplace_ids or thread["marketplace_id"] in self.marketplace_ids)
            and (not self.languages or thread["language"] in self.languages)
            and bool(self.pattern.search(text))
        )


def choose_auto_reply(
    rules: tuple[AutoReplyRule, ...], thread: Mapping[str, Any], text: str
) -> AutoReplyRule | None:
    """The first rule that applies to the thread and the buyer's `text`."""
    return next((rule for rule in rules if rule.applies_to(thread, text)), None)


# The default where-is-my-order rule (en, de, fr, es, it, ja, zh): answered with the tracking number, so only
# for shipped merchant-fulfilled orders. A configured rule with the same id replaces it.
DEFAULT_AUTO_REPLY_RULES: tuple[AutoReplyRule, ...] = (
    AutoReplyRule(
        "where-is-my-order",
        (
            "where is my order",
            "where is my package",
            "where is my parcel",
            "where my order is",
            "where my package is",
            "where my parcel is",
            "has not arrived",
            "hasn't arrived",
            "not arrived yet",
            "still not arrived",
            "not received my order",
            "haven't received",
            "have not received",
            "when will my order arrive",
            "tracking number",
            "wo ist meine Bestellung",
            "wo ist mein Paket",
            "wo meine Bestellung ist",
            "wo mein Paket ist",
            "wo bleibt meine Bestellung",
            "wo bleibt mein Paket",
            "noch nicht angekommen",
            "noch nicht erhalten",
            "noch nicht geliefert",
            "Sendungsnummer",
            "Sendungsverfolgung",
            "où est ma commande",
            "où est mon colis",
            "où se trouve ma commande",
            "où se trouve mon colis",
            "pas encore reçu",
            "toujours pas reçu",
            "pas encore arrivé",
            "numéro de suivi",
            "dónde está mi pedido",
            "dónde está mi paquete",
            "no he recibido",
            "todavía no ha llegado",
            "aún no ha llegado",
            "número de seguimiento",
            "dov'è il mio ordine",
            "dov'è il mio pacco",
            "dove si trova il mio ordine",
            "dove si trova il mio pacco",
            "non ho ancora ricevuto",
            "non è ancora arrivato",
            "numero di tracking",
            "numero di tracciamento",
            "どこにあるか",
            "荷物が届いていません",
            "まだ届いていません",
            "届かない",
            "追跡番号",
            "还没收到",
            "没有收到",
            "包裹在哪",
            "包裹现在在哪",
            "订单在哪",
            "物流单号",
            "快递单号",
        ),
        "where_is_my_order",
        requires=("tracking_number",),
    ),
)
