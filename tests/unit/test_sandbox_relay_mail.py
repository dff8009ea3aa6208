"""The stand-in's relay mail reads back through the real parser, and lands in a Maildir the way an MDA leaves it."""

from __future__ import annotations

import email
import mailbox
import re
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from pathlib import Path

import pytest

from sellerreach.inbox.relay import is_relay_address, normalise_subject, parse_mail, relay_marketplace
from sellerreach.marketplaces import MARKETPLACES
from sellerreach.sandbox.relay_mail import (
    LANGUAGES,
    TOPICS,
    compose_buyer_message,
    compose_seller_reply,
    relay_address_for,
    write_maildir_message,
)

SELLER = "support@acme.example"
SENT_AT = datetime(2026, 11, 2, 9, 14, 27, tzinfo=UTC)
# Where a buyer writing each language shops in the demo (Chinese-speaking buyers on amazon.com).
MARKETPLACE_OF = {
    "en": "ATVPDKIKX0DER",
    "de": "A1PA6795UKMFR9",
    "fr": "A13V1IB3VIYZZH",
    "es": "A1RKKUPIHCS9HS",
    "it": "APJ6JRA9NG5V4",
    "ja": "A1VC38T7YXB528",
    "zh": "ATVPDKIKX0DER",
}
ORDER_OF = {
    "en": "112-3456789-0123456",
    "de": "302-1234567-8901234",
    "fr": "171-2345678-9012345",
    "es": "403-1234567-8901234",
    "it": "405-1234567-8901234",
    "ja": "249-1234567-8901234",
    "zh": "111-8642097-5319753",
}
NAME_OF = {
    "en": "Jane Doe",
    "de": "Jürgen Müller",
    "fr": "Amélie Lefèvre",
    "es": "Lucía Fernández",
    "it": "Giulia Romano",
    "ja": "佐藤 花子",
    "zh": "王伟",
}
MAILDIR_NAME = re.compile(r"^(?P<epoch>[0-9]+)\.[0-9]+_(?P<sha8>[0-9a-f]{8})\.[A-Za-z0-9-]+$")


def buyer_message(language: str, topic: str, number: int = 0, /, **overrides) -> bytes:
    marketplace_id = MARKETPLACE_OF[language]
    arguments = {
        "order_id": ORDER_OF[language],
        "marketplace_id": marketplace_id,
        "buyer_name": NAME_OF[language],
        "relay_address": relay_address_for(f"acme/{language}/{number}", marketplace_id),
        "seller_address": SELLER,
        "language": language,
        "topic": topic,
        "sent_at": SENT_AT,
        "message_id": f"<{ORDER_OF[language]}.{topic}.{number}@marketplace.amazon.com>",
    }
    return compose_buyer_message(**(arguments | overrides))


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("topic", TOPICS)
def test_buyer_message_reads_back_to_its_order_language_relay_and_marketplace(language: str, topic: str):
    marketplace_id = MARKETPLACE_OF[language]
    relay = relay_address_for(f"acme/{language}/0", marketplace_id)
    message_id = f"<{ORDER_OF[language]}.{topic}.0@marketplace.amazon.com>"

    parsed = parse_mail(buyer_message(language, topic))

    assert parsed.message_id == message_id
    assert parsed.amazon_order_id == ORDER_OF[language]
    assert parsed.language == language
    assert parsed.relay_address == relay == parsed.from_address
    assert parsed.marketplace_id == marketplace_id
    assert parsed.to_addresses == (SELLER,)
    assert parsed.sent_at == SENT_AT
    assert parsed.from_name == f"{NAME_OF[language]} - Amazon Marketplace"
    assert ORDER_OF[language] in parsed.subject
    assert parsed.body_text  # the buyer's words, without Amazon's frame
    assert ORDER_OF[language] not in parsed.body_text
    assert "-------------" not in parsed.body_text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("topic", ["where_is_my_order", "complaint", "thanks"])
def test_buyer_reply_quotes_the_seller_and_reads_back_without_the_quote(language: str, topic: str):
    seller_message_id = "<20261102113005.4f2a9c1e7b@acme.example>"
    raw = buyer_message(
        language, topic, 1, in_reply_to=seller_message_id, sent_at=SENT_AT + timedelta(days=1)
    )
    assert (
        SELLER.encode()
        in email.message_from_bytes(raw, policy=policy.default).get_body().get_content().encode()
    )

    parsed = parse_mail(raw)

    assert parsed.in_reply_to == seller_message_id
    assert parsed.references == (seller_message_id,)
    assert parsed.language == language
    assert parsed.amazon_order_id == ORDER_OF[language]
    assert SELLER not in parsed.body_text and ">" not in parsed.body_text
    assert normalise_subject(parsed.subject) == normalise_subject(
        parse_mail(buyer_message(language, topic)).subject
    )


def test_amazon_frame_follows_the_marketplace_and_the_text_the_buyer():
    parsed = parse_mail(buyer_message("zh", "question"))
    assert parsed.subject == f"Inquiry from Amazon customer 王伟 (Order: {ORDER_OF['zh']})"
    assert parsed.language == "zh"
    german = parse_mail(buyer_message("de", "question"))
    assert german.subject == f"Anfrage von Amazon-Kunde Jürgen Müller (Bestellung: {ORDER_OF['de']})"


def test_message_without_an_order_threads_by_subject():
    parsed = parse_mail(buyer_message("fr", "question", order_id=None))
    assert parsed.amazon_order_id is None
    assert parsed.subject == "Demande de renseignements de la part du client Amazon Amélie Lefèvre"
    assert parsed.language == "fr"


def test_a_given_body_replaces_the_topic_text():
    parsed = parse_mail(
        buyer_message("en", "question", body="Does the lid fit the 500 ml model?\n\nThanks, Jane")
    )
    assert parsed.body_text == "Does the lid fit the 500 ml model?\n\nThanks, Jane"


def test_same_inputs_give_the_same_bytes():
    assert buyer_message("ja", "damaged_item") == buyer_message("ja", "damaged_item")


def test_headers_keep_the_spaces_between_encoded_words_and_bodies_keep_short_lines():
    for language in LANGUAGES:
        raw = buyer_message(language, "where_is_my_order", 1, in_reply_to="<a@acme.example>")
        parsed = parse_mail(raw)
        assert NAME_OF[language] in parsed.subject
        assert parsed.from_name == f"{NAME_OF[language]} - Amazon Marketplace"
        head, _, body = raw.partition(b"\n\n")
        assert max(len(line) for line in head.splitlines()) <= 998
        assert max(len(line) for line in body.splitlines()) <= 78


def test_encodings_and_shapes_vary_with_the_message_id():
    seen: dict[str, set] = {"charset": set(), "transfer": set(), "shape": set()}
    for number in range(40):
        message = email.message_from_bytes(buyer_message("ja", "thanks", number), policy=policy.default)
        leaves = [part for part in message.walk() if not part.is_multipart()]
        seen["shape"].add(message.get_content_type())
        seen["charset"].update(part.get_content_charset() for part in leaves)
        seen["transfer"].update(part.get("Content-Transfer-Encoding") for part in leaves)
    assert seen["shape"] == {"text/plain", "text/html", "multipart/alternative"}
    assert seen["charset"] == {"utf-8", "iso-2022-jp", "shift_jis"}
    assert seen["transfer"] == {"quoted-printable", "base64"}


@pytest.mark.parametrize(
    ("language", "legacy"), [("zh", "gb2312"), ("fr", "iso-8859-1"), ("de", "iso-8859-1")]
)
def test_legacy_charsets_appear_for_their_languages(language: str, legacy: str):
    charsets = set()
    for number in range(30):
        message = email.message_from_bytes(
            buyer_message(language, "return_request", number), policy=policy.default
        )
        charsets.update(part.get_content_charset() for part in message.walk() if not part.is_multipart())
    assert charsets == {"utf-8", legacy}


@pytest.mark.parametrize(
    ("arguments", "complaint"),
    [
        ({"topic": "refund_now"}, "unknown topic 'refund_now'"),
        ({"language": "pt"}, "unknown language 'pt'"),
        ({"sent_at": datetime(2026, 11, 2, 9, 0)}, "timezone-aware"),
    ],
)
def test_composing_refuses_what_it_cannot_write(arguments: dict, complaint: str):
    with pytest.raises(ValueError, match=complaint):
        buyer_message("en", "question", **arguments)


def test_unknown_marketplace_is_a_key_error():
    with pytest.raises(KeyError):
        buyer_message("en", "question", marketplace_id="A0NOTAMARKET")


def test_seller_reply_reads_back_as_outbound_to_the_relay():
    relay = relay_address_for("acme/de/0", "A1PA6795UKMFR9")
    raw = compose_seller_reply(
        to_relay_address=relay,
        seller_address=SELLER,
        subject=f"Re: Anfrage von Amazon-Kunde Jürgen Müller (Bestellung: {ORDER_OF['de']})",
        body=f"Vielen Dank für Ihre Nachricht zur Bestellung {ORDER_OF['de']}. Wir kümmern uns darum und melden "
        "uns in Kürze bei Ihnen.",
        sent_at=datetime(2026, 11, 2, 11, 30, tzinfo=timezone(timedelta(hours=1))),
        message_id="<20261102113005.4f2a9c1e7b@acme.example>",
        in_reply_to="<302-1234567-8901234.question.0@marketplace.amazon.com>",
    )
    parsed = parse_mail(raw)
    assert parsed.from_address == SELLER
    assert parsed.to_addresses == (relay,)
    assert parsed.relay_address == relay
    assert parsed.marketplace_id == "A1PA6795UKMFR9"
    assert parsed.amazon_order_id == ORDER_OF["de"]
    assert parsed.language == "de"
    assert parsed.in_reply_to == "<302-1234567-8901234.question.0@marketplace.amazon.com>"
    assert parsed.message_id == "<20261102113005.4f2a9c1e7b@acme.example>"
    assert parsed.sent_at == datetime(2026, 11, 2, 10, 30, tzinfo=UTC)
    assert parsed.body_text.startswith("Vielen Dank für Ihre Nachricht")


@pytest.mark.parametrize("marketplace_id", sorted(MARKETPLACES))
def test_relay_address_is_deterministic_and_maps_back_to_its_marketplace(marketplace_id: str):
    address = relay_address_for("acme-eu/new-4711", marketplace_id)
    local, _, domain = address.partition("@")
    assert address == relay_address_for("acme-eu/new-4711", marketplace_id)
    assert re.fullmatch(r"[a-z0-9]{15}", local)
    assert domain == f"marketplace.{MARKETPLACES[marketplace_id].name.lower()}"
    assert is_relay_address(address)
    assert relay_marketplace(address) == marketplace_id


def test_relay_addresses_differ_between_buyers():
    addresses = {relay_address_for(f"acme-na/new-{n}", "ATVPDKIKX0DER") for n in range(500)}
    assert len(addresses) == 500


# --- Maildir delivery --------------------------------------------------------------------------------------------


def test_maildir_delivery_lands_in_new_with_an_mda_name_and_the_delivery_time(tmp_path: Path):
    raw = buyer_message("en", "where_is_my_order")
    delivered_at = datetime(2026, 11, 2, 9, 14, 30, tzinfo=UTC)

    path = write_maildir_message(tmp_path / "acme-na", raw, delivered_at=delivered_at)

    root = tmp_path / "acme-na"
    assert path.parent == root / "new"
    assert {p.name for p in root.iterdir()} == {"cur", "new", "tmp"}
    assert list((root / "tmp").iterdir()) == [] and list((root / "cur").iterdir()) == []
    name = MAILDIR_NAME.match(path.name)
    assert name and int(name["epoch"]) == int(delivered_at.timestamp())
    assert path.read_bytes() == raw
    assert path.stat().st_mtime == delivered_at.timestamp()


def test_maildir_subfolders_follow_maildir_plus_plus(tmp_path: Path):
    delivered_at = datetime(2026, 11, 2, 11, 30, tzinfo=UTC)
    sent = write_maildir_message(
        tmp_path, b"From: support@acme.example\n\nhi\n", delivered_at=delivered_at, folder="Sent"
    )
    archived = write_maildir_message(
        tmp_path, b"From: a@b\n\nold\n", delivered_at=delivered_at, folder="Archive/2026"
    )

    assert sent.parent == tmp_path / ".Sent" / "new"
    assert archived.parent == tmp_path / ".Archive.2026" / "new"
    assert (tmp_path / ".Sent" / "maildirfolder").exists()
    # An independent Maildir reader sees the same layout.
    reader = mailbox.Maildir(tmp_path, create=False)
    assert sorted(reader.list_folders()) == ["Archive.2026", "Sent"]
    assert len(reader.get_folder("Sent")) == 1
    assert len(reader) == 0


def test_delivering_the_same_bytes_twice_in_one_second_keeps_both(tmp_path: Path):
    raw = b"From: a@marketplace.amazon.com\n\nWhere is my order?\n"
    at = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    first = write_maildir_message(tmp_path, raw, delivered_at=at)
    second = write_maildir_message(tmp_path, raw, delivered_at=at)
    assert first != second
    assert first.read_bytes() == second.read_bytes() == raw


@pytest.mark.parametrize("folder", ["", "/", "..", "../outside", ".hidden", "Sent/../.."])
def test_maildir_refuses_folder_names_that_escape_or_hide(tmp_path: Path, folder: str):
    with pytest.raises(ValueError, match="folder must be a name"):
        write_maildir_message(tmp_path, b"From: a@b\n\nx\n", delivered_at=SENT_AT, folder=folder)
