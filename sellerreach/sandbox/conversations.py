"""Buyer conversations about the stand-in's orders, delivered as relay mail into a Maildir as virtual time passes.

Deterministic from the order ids: about one order in eight gets a buyer message some hours after purchase, in
the marketplace's language (a few amazon.com buyers write in Chinese or Spanish); most are answered by the seller
(a copy lands in the Sent folder) within the 24-hour SLA, some late, some never; some buyers write again.
Merchant-fulfilled orders use the buyer's relay address from the order, so messages join dim_buyers.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sellerreach.inbox.relay import parse_mail
from sellerreach.marketplaces import get_marketplace
from sellerreach.sandbox.relay_mail import (
    compose_buyer_message,
    compose_seller_reply,
    relay_address_for,
    write_maildir_message,
)
from sellerreach.sandbox.world import OrderWorld

SELLER_ADDRESS = "support@acme.example"
SENT_FOLDER = "Sent"
TOPICS = ("where_is_my_order", "question", "return_request", "damaged_item", "complaint", "thanks")
_REPLY = {
    "en": "Thank you for your message about order {order}. We are looking into it and will update you shortly.",
    "de": "Vielen Dank für Ihre Nachricht zur Bestellung {order}. Wir kümmern uns darum und melden uns in Kürze.",
    "fr": "Merci pour votre message concernant la commande {order}. Nous nous en occupons et revenons vers vous.",
    "es": "Gracias por su mensaje sobre el pedido {order}. Lo estamos revisando y le responderemos en breve.",
    "it": "Grazie per il suo messaggio sull'ordine {order}. Stiamo verificando e la aggiorneremo a breve.",
    "ja": "注文番号 {order} についてご連絡いただきありがとうございます。確認のうえ、すぐにご連絡いたします。",
    "zh": "感谢您就订单 {order} 与我们联系。我们正在处理，并会尽快回复您。",
}


@dataclass(frozen=True)
class ScheduledMail:
    deliver_at: datetime
    folder: str | None  # None: the inbox; "Sent": the seller's copy of a reply
    message_id: str
    raw: bytes


class BuyerConversations:
    """The relay mail of one sandbox seller's buyers, delivered into `maildir` up to a given virtual time."""

    def __init__(self, world: OrderWorld, account_id: str, maildir: Path, *, share: float = 0.125) -> None:
        self.world = world
        self.account_id = account_id
        self.maildir = maildir
        self.share = share
        self._delivered: set[str] = set()

    def deliver_until(self, until: datetime) -> int:
        """Deliver every message due by `until` that was not delivered yet; returns how many were."""
        due = [
            m for m in self._scheduled(until) if m.deliver_at <= until and m.message_id not in self._delivered
        ]
        for mail in sorted(due, key=lambda m: (m.deliver_at, m.message_id)):
            write_maildir_message(self.maildir, mail.raw, delivered_at=mail.deliver_at, folder=mail.folder)
            self._delivered.add(mail.message_id)
        return len(due)

    def _scheduled(self, until: datetime) -> list[ScheduledMail]:
        mails: list[ScheduledMail] = []
        for order_id in sorted(self.world.ground_truth(self.account_id)):
            draw = _draws(order_id)
            if draw[0] >= self.share * 256:
                continue
            payload = self.world.get(self.account_id, order_id, include_pii=True)
            if payload is None:
                continue
            mails.extend(self._conversation(order_id, payload, draw, until))
        return mails

    def _conversation(
        self, order_id: str, payload: dict, draw: bytes, until: datetime
    ) -> list[ScheduledMail]:
        marketplace_id = payload["salesChannel"]["marketplaceId"]
        language = get_marketplace(marketplace_id).language.split("-")[0]
        if marketplace_id == "ATVPDKIKX0DER" and draw[1] < 24:
            language = "zh" if draw[1] < 12 else "es"
        buyer = payload.get("buyer") or {}
        relay = buyer.get("buyerEmail") or relay_address_for(f"{self.account_id}/{order_id}", marketplace_id)
        name = buyer.get("buyerName") or "Amazon Customer"
        created = datetime.fromisoformat(payload["createdTime"].replace("Z", "+00:00"))
        topic = TOPICS[draw[2] % len(TOPICS)]
        asked_at = created + timedelta(hours=2 + draw[3] % 70, minutes=draw[4] % 60)
        mails: list[ScheduledMail] = []
        if asked_at > until:
            return mails
        first_id = f"<{order_id}.{draw.hex()[:8]}.1@marketplace.amazon.com>"
        mails.append(
            self._buyer_mail(order_id, marketplace_id, name, relay, language, topic, asked_at, first_id, None)
        )
        if draw[5] < 40:  # about one in six is never answered
            return mails
        # most answers come within the 24-hour SLA, about one in five after it
        reply_hours = 1 + draw[6] % 20 if draw[6] >= 50 else 25 + draw[6] % 24
        replied_at = asked_at + timedelta(hours=reply_hours, minutes=draw[7] % 60)
        reply_id = f"<{order_id}.{draw.hex()[:8]}.reply@acme.example>"
        subject = f"Re: {parse_mail(mails[0].raw).subject}"
        mails.append(
            ScheduledMail(
                replied_at,
                SENT_FOLDER,
                reply_id,
                compose_seller_reply(
                    to_relay_address=relay,
                    seller_address=SELLER_ADDRESS,
                    subject=subject,
                    body=_REPLY[language].format(order=order_id),
                    sent_at=replied_at,
                    message_id=reply_id,
                    in_reply_to=first_id,
                ),
            )
        )
        if draw[8] < 64:  # a quarter of the answered buyers write again
            again_at = replied_at + timedelta(hours=1 + draw[9] % 30)
            again_id = f"<{order_id}.{draw.hex()[:8]}.2@marketplace.amazon.com>"
            follow_up = "complaint" if draw[10] < 96 else "thanks"
            mails.append(
                self._buyer_mail(
                    order_id, marketplace_id, name, relay, language, follow_up, again_at, again_id, reply_id
                )
            )
        return mails

    def _buyer_mail(
        self,
        order_id: str,
        marketplace_id: str,
        name: str,
        relay: str,
        language: str,
        topic: str,
        at: datetime,
        message_id: str,
        in_reply_to: str | None,
    ) -> ScheduledMail:
        raw = compose_buyer_message(
            order_id=order_id,
            marketplace_id=marketplace_id,
            buyer_name=name,
            relay_address=relay,
            seller_address=SELLER_ADDRESS,
            language=language,
            topic=topic,
            sent_at=at,
            message_id=message_id,
            in_reply_to=in_reply_to,
        )
        return ScheduledMail(at, None, message_id, raw)


def _draws(order_id: str) -> bytes:
    """Independent byte-sized draws for one order (sha256 of its id)."""
    return hashlib.sha256(f"conversation:{order_id}".encode()).digest()
