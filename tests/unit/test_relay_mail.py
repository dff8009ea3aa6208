"""Relay mail as Amazon and buyers' mail clients really send it, read into the author's own words and its keys.

The fixtures in tests/fixtures/relay_mail/ are raw .eml files (made by make_fixtures.py in that folder);
expected.json says what each must parse to.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sellerreach import language as language_detection
from sellerreach.errors import SkippableRecord
from sellerreach.inbox.relay import (
    MalformedMail,
    find_order_id,
    is_relay_address,
    normalise_subject,
    parse_mail,
    relay_marketplace,
)
from sellerreach.language import detect_language
from sellerreach.marketplaces import MARKETPLACES

FIXTURES = Path(__file__).parents[1] / "fixtures" / "relay_mail"
EXPECTED: dict[str, dict] = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
READABLE = {name: fields for name, fields in EXPECTED.items() if not fields.get("malformed")}
MALFORMED = {name: fields for name, fields in EXPECTED.items() if fields.get("malformed")}
ORDER_ID = re.compile(r"^[0-9]{3}-[0-9]{7}-[0-9]{7}$")


def raw_mail(
    *header_lines: str, body: str = "Hello\n", content_type: str = "text/plain; charset=utf-8"
) -> bytes:
    """A small hand-made message for the cases the fixtures do not need a whole file for."""
    headers = "\n".join(header_lines)
    return f"{headers}\nMIME-Version: 1.0\nContent-Type: {content_type}\n\n{body}".encode()


# --- the fixture corpus ------------------------------------------------------------------------------------------


def test_every_fixture_file_has_expectations_and_the_corpus_covers_every_language():
    files = {path.name for path in FIXTURES.glob("*.eml")}
    assert files == set(EXPECTED)
    assert len(files) >= 24
    languages = [fields["language"] for fields in READABLE.values()]
    for language in ("en", "de", "fr", "es", "it", "ja", "zh"):
        assert languages.count(language) >= 2, language
    assert len(MALFORMED) >= 2


@pytest.mark.parametrize("name", sorted(READABLE))
def test_fixture_parses_to_its_expected_fields(name: str):
    expected = READABLE[name]
    parsed = parse_mail((FIXTURES / name).read_bytes())

    assert parsed.message_id == expected["message_id"]
    assert parsed.in_reply_to == expected["in_reply_to"]
    assert parsed.from_address == expected["from_address"]
    assert parsed.from_name == expected["from_name"]
    assert list(parsed.to_addresses) == expected["to_addresses"]
    assert parsed.relay_address == expected["relay_address"]
    assert parsed.marketplace_id == expected["marketplace_id"]
    assert parsed.amazon_order_id == expected["amazon_order_id"]
    assert parsed.language == expected["language"]
    assert parsed.subject == expected["subject"]
    assert parsed.sent_at == (datetime.fromisoformat(expected["sent_at"]) if expected["sent_at"] else None)
    assert parsed.is_html_only == expected["is_html_only"]
    for wanted in expected["body_contains"]:
        assert wanted in parsed.body_text
    for unwanted in expected["body_excludes"]:
        assert unwanted not in parsed.body_text
    attachments = [
        {"filename": a.filename, "content_type": a.content_type, "size_bytes": a.size_bytes}
        for a in parsed.attachments
    ]
    assert attachments == expected["attachments"]
    if "thread_subject" in expected:
        assert normalise_subject(parsed.subject) == expected["thread_subject"]


@pytest.mark.parametrize("name", sorted(READABLE))
def test_fixture_body_has_no_relay_frame_and_no_surrogates(name: str):
    parsed = parse_mail((FIXTURES / name).read_bytes())
    assert parsed.body_text == parsed.body_text.strip()
    assert "\n\n\n" not in parsed.body_text
    assert not re.search(r"^-{5,}", parsed.body_text, re.MULTILINE)
    for text in (parsed.body_text, parsed.subject, parsed.from_name or ""):
        text.encode("utf-8")  # a lone surrogate from undecoded bytes would raise here (and in the database)


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_fixture_is_refused_with_a_reason(name: str):
    with pytest.raises(MalformedMail) as refused:
        parse_mail((FIXTURES / name).read_bytes())
    assert MALFORMED[name]["reason_contains"] in refused.value.reason
    assert str(refused.value) == refused.value.reason
    assert isinstance(refused.value, SkippableRecord)


def test_the_same_mail_without_a_message_id_always_gets_the_same_stand_in_id():
    raw = (FIXTURES / "en_us_no_message_id.eml").read_bytes()
    assert parse_mail(raw).message_id == parse_mail(raw).message_id
    assert parse_mail(raw + b"\n").message_id != parse_mail(raw).message_id


# --- headers and bodies, case by case ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("date_header", "sent_at"),
    [
        ("Date: Mon, 2 Nov 2026 10:00:00 +0900", datetime(2026, 11, 2, 1, 0, tzinfo=UTC)),
        ("Date: Mon, 2 Nov 2026 10:00:00 -0000", datetime(2026, 11, 2, 10, 0, tzinfo=UTC)),
        ("Date: 2 Nov 2026 10:00 EST", datetime(2026, 11, 2, 15, 0, tzinfo=UTC)),
        ("Date: yesterday afternoon", None),
        ("X-No-Date: 1", None),
    ],
)
def test_date_header_becomes_utc_or_none(date_header: str, sent_at: datetime | None):
    parsed = parse_mail(raw_mail("From: buyer@marketplace.amazon.com", date_header))
    assert parsed.sent_at == sent_at


def test_encoded_words_split_inside_a_multibyte_character_are_joined_before_decoding():
    # "Müller" in UTF-8 is 4d c3 bc 6c 6c 65 72; the client cut the word between c3 and bc.
    subject = "Subject: =?UTF-8?Q?M=C3?= =?UTF-8?Q?=BCller?= wartet"
    parsed = parse_mail(raw_mail("From: a@marketplace.amazon.de", subject))
    assert parsed.subject == "Müller wartet"


def test_undeclared_8bit_headers_are_read_as_utf8_or_windows_1252():
    latin1 = "From: Jürgen <j@marketplace.amazon.de>\nSubject: Grüße".encode("latin-1")
    utf8 = "From: Jürgen <j@marketplace.amazon.de>\nSubject: Grüße".encode()
    for head in (latin1, utf8):
        parsed = parse_mail(head + b"\nContent-Type: text/plain\n\nHallo\n")
        assert (parsed.from_name, parsed.subject) == ("Jürgen", "Grüße")


@pytest.mark.parametrize("charset", ["x-made-up", "base64", "rot13", "utf-8\x00"])
def test_unknown_or_non_text_charsets_decode_with_replacement_instead_of_failing(charset: str):
    raw = b'From: a@marketplace.amazon.com\nContent-Type: text/plain; charset="' + charset.encode() + b'"\n\n'
    parsed = parse_mail(raw + "Where is my order? It has not arrived. £".encode("latin-1"))
    assert parsed.body_text.startswith("Where is my order? It has not arrived.")


def test_recipients_include_cc_and_a_seller_reply_finds_the_relay_among_them():
    parsed = parse_mail(
        raw_mail(
            "From: Acme Support <Support@Acme.example>",
            "To: Warehouse <warehouse@acme.example>",
            "Cc: 7XK2B9QZL4M1RPT@marketplace.amazon.co.uk",
            body="Your replacement ships today.\n",
        )
    )
    assert parsed.from_address == "support@acme.example"
    assert parsed.to_addresses == ("warehouse@acme.example", "7xk2b9qzl4m1rpt@marketplace.amazon.co.uk")
    assert parsed.relay_address == "7xk2b9qzl4m1rpt@marketplace.amazon.co.uk"
    assert parsed.marketplace_id == "A1F83G8C2ARO7P"


def test_mail_between_non_relay_addresses_has_no_relay_address_or_marketplace():
    parsed = parse_mail(raw_mail("From: newsletter@shop.example", "To: support@acme.example"))
    assert (parsed.relay_address, parsed.marketplace_id) == (None, None)


def test_language_falls_back_to_the_subject_when_the_body_is_too_short():
    parsed = parse_mail(
        raw_mail(
            "From: a@marketplace.amazon.de",
            "Subject: Anfrage von Amazon-Kunde Jens Vogel (Bestellung: 302-1112223-3344455)",
            body="Danke!\n",
        )
    )
    assert parsed.language == "de"
    assert parsed.amazon_order_id == "302-1112223-3344455"


def test_order_id_is_found_in_the_body_when_the_subject_has_none():
    parsed = parse_mail(
        raw_mail(
            "From: a@marketplace.amazon.com", "Subject: Question", body="Order ID: 112-0000001-0000002\n"
        )
    )
    assert parsed.amazon_order_id == "112-0000001-0000002"
    assert "Order ID" not in parsed.body_text


def test_html_is_read_as_text_without_styles_scripts_or_cited_history():
    html = (
        "<html><head><title>Message</title><style>p { color: red }</style><script>track()</script></head>"
        "<body><p>First&nbsp;line<br>second line</p><div>Third</div><ul><li>one</li><li>two</li></ul>"
        '<blockquote type="cite">an old message</blockquote><blockquote>a quoted review I kept</blockquote>'
        "</body></html>"
    )
    parsed = parse_mail(raw_mail("From: a@marketplace.amazon.com", body=html, content_type="text/html"))
    assert parsed.body_text == "First line\nsecond line\n\nThird\n\none\ntwo\n\na quoted review I kept"
    assert parsed.is_html_only


@pytest.mark.parametrize(
    "declaration",
    ["<![if !supportLists]>", "<![endif]>", "<![broken section", "<!DOCTYPE ü>", "<![CDATA[x]]>"],
)
def test_html_with_declarations_html_parser_chokes_on_still_reads(declaration: str):
    html = f"<html>{declaration}<body><p>Where is my order?</p><!--[if mso]><![endif]--></body></html>"
    parsed = parse_mail(raw_mail("From: a@marketplace.amazon.com", body=html, content_type="text/html"))
    assert parsed.body_text == "Where is my order?"


def test_an_empty_text_part_beside_html_gives_way_to_the_html():
    raw = (
        b"From: a@marketplace.amazon.com\nMIME-Version: 1.0\n"
        b'Content-Type: multipart/alternative; boundary="b"\n\n'
        b"--b\nContent-Type: text/plain; charset=utf-8\n\n\n"
        b"--b\nContent-Type: text/html; charset=utf-8\n\n<p>Is it dishwasher safe?</p>\n--b--\n"
    )
    parsed = parse_mail(raw)
    assert parsed.body_text == "Is it dishwasher safe?"
    assert not parsed.is_html_only  # there is a text/plain part, it is only empty


def test_multipart_without_its_boundary_is_an_undecodable_body():
    raw = raw_mail(
        "From: a@marketplace.amazon.com",
        content_type='multipart/mixed; boundary="never-used"',
        body="Where is my order?\n",
    )
    with pytest.raises(MalformedMail, match="undecodable body"):
        parse_mail(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "not an RFC 5322 message"),
        (b"  \r\n\r\n", "not an RFC 5322 message"),
        (b"\x00\x01\x02 binary", "not an RFC 5322 message"),
        (b"Subject: hello\n\nno sender\n", "no From header"),
        (b"From: undisclosed-recipients:;\n\nbody\n", "From header without an address"),
    ],
)
def test_unreadable_mail_is_malformed_with_a_reason(raw: bytes, reason: str):
    with pytest.raises(MalformedMail, match=reason):
        parse_mail(raw)


# --- the small functions -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Hello, my order has not arrived yet. Could you please tell me where it is?", "en"),
        ("Hallo, meine Bestellung ist noch nicht angekommen. Können Sie bitte nachsehen?", "de"),
        ("Bonjour, je n'ai toujours pas reçu ma commande. Pouvez-vous vérifier ?", "fr"),
        ("Hola, todavía no he recibido mi pedido. ¿Me puede decir dónde está?", "es"),
        ("Buongiorno, non ho ancora ricevuto il mio ordine. Potete dirmi dove si trova?", "it"),
        ("注文した商品がまだ届いていません。確認していただけますか。", "ja"),
        ("我的订单还没有到，请帮我查一下。", "zh"),
        ("荷物がまだ届きません", "ja"),
        ("Inquiry from Amazon customer Jane Doe (Order: 112-3456789-0123456)", "en"),
        (
            "Demande de renseignements de la part du client Amazon Amélie Lefèvre (Commande : 171-2345678-9012345)",
            "fr",
        ),
        ("Consulta del cliente de Amazon Lucía Fernández (Pedido: 403-1234567-8901234)", "es"),
        ("Richiesta dal cliente Amazon Giulia Romano (Ordine: 405-1234567-8901234)", "it"),
        ("Inquiry from Amazon customer 王伟 (Order: 111-8642097-5319753)", "en"),
        ("The bottle is great, I love the Tシャツ too", "en"),
        ("Thanks!", None),
        ("", None),
        ("112-3456789-0123456", None),
        ("OK", None),
        ("Danke", None),
        ("The Bestellung ist the order", None),  # half English, half German: no clear winner
        ("中", None),
    ],
)
def test_detect_language(text: str, language: str | None):
    assert detect_language(text) == language


def test_stop_word_tables_share_no_word_so_each_hit_counts_for_one_language():
    seen: dict[str, str] = {}
    for code, words in language_detection._STOP_WORDS.items():
        for word in words:
            assert word not in seen, f"{word!r} is in both {seen.get(word)} and {code}"
            seen[word] = code


@pytest.mark.parametrize(
    ("subject", "normalised"),
    [
        ("Re: Inquiry from Amazon customer Jane Doe", "inquiry from amazon customer jane doe"),
        ("RE: RE: Fwd:  Inquiry   from Amazon customer Jane Doe", "inquiry from amazon customer jane doe"),
        ("AW: WG: Anfrage von Amazon-Kunde Jürgen Müller", "anfrage von amazon-kunde jürgen müller"),
        ("TR: RE : Demande de renseignements", "demande de renseignements"),
        ("RV: Re: Consulta del cliente de Amazon", "consulta del cliente de amazon"),
        ("R: I: Richiesta dal cliente Amazon", "richiesta dal cliente amazon"),
        ("回复：Inquiry from Amazon customer 王伟", "inquiry from amazon customer 王伟"),
        ("回覆: 答复: 转发：订单问题", "订单问题"),
        ("Re：Amazonのお客様からの問い合わせ", "amazonのお客様からの問い合わせ"),
        ("Ｒｅ：ご注文について", "ご注文について"),
        ("Re[2]: Where is my parcel", "where is my parcel"),
        ("[EXTERNAL] Re: Where is my parcel", "[external] where is my parcel"),
        ("Re: [EXTERNAL] Where is my parcel", "[external] where is my parcel"),
        ("Reply needed: where is my parcel", "reply needed: where is my parcel"),
        ("Information: returns policy", "information: returns policy"),
        ("", ""),
    ],
)
def test_normalise_subject(subject: str, normalised: str):
    assert normalise_subject(subject) == normalised


@pytest.mark.parametrize(
    ("address", "marketplace_id"),
    [
        ("7xk2b9qzl4m1rpt@marketplace.amazon.com", "ATVPDKIKX0DER"),
        ("7xk2b9qzl4m1rpt@Marketplace.Amazon.COM", "ATVPDKIKX0DER"),
        ("7xk2b9qzl4m1rpt@marketplace.amazon.ca", "A2EUQ1WTGCTBG2"),
        ("7xk2b9qzl4m1rpt@marketplace.amazon.com.mx", "A1AM78C64UM0Y8"),
        ("7xk2b9qzl4m1rpt@marketplace.amazon.co.uk", "A1F83G8C2ARO7P"),
        ("7xk2b9qzl4m1rpt@marketplace.amazon.de", "A1PA6795UKMFR9"),
        ("7xk2b9qzl4m1rpt@marketplace.amazon.fr", "A13V1IB3VIYZZH"),
        ("7xk2b9qzl4m1rpt@marketplace.amazon.it", "APJ6JRA9NG5V4"),
        ("7xk2b9qzl4m1rpt@marketplace.amazon.es", "A1RKKUPIHCS9HS"),
        ("7xk2b9qzl4m1rpt@marketplace.amazon.co.jp", "A1VC38T7YXB528"),
        ("7xk2b9qzl4m1rpt@marketplace.amazon.com.au", "A39IBJ37TRP1C6"),
        ("7xk2b9qzl4m1rpt+A00135411ZI2YBJ2DU9VJ@marketplace.amazon.nl", "A1805IZSGTT6HS"),
        ("marketplace.amazon.in", "A21TJRUUN4KGV"),
        ("7xk2b9qzl4m1rpt@marketplace.amazon.xy", None),
        ("support@acme.example", None),
        ("seller-notification@amazon.com", None),
    ],
)
def test_relay_marketplace(address: str, marketplace_id: str | None):
    assert relay_marketplace(address) == marketplace_id


def test_every_marketplace_has_a_relay_domain():
    for marketplace_id, market in MARKETPLACES.items():
        address = f"abc@marketplace.{market.name.lower()}"
        assert is_relay_address(address)
        assert relay_marketplace(address) == marketplace_id


@pytest.mark.parametrize(
    ("address", "is_relay"),
    [
        ("7xk2b9qzl4m1rpt@marketplace.amazon.com", True),
        (" 7XK2B9QZL4M1RPT@MARKETPLACE.AMAZON.CO.JP ", True),
        ("7xk2b9qzl4m1rpt@marketplace.amazon.com.mx", True),
        ("donotreply@amazon.com", False),
        ("7xk2b9qzl4m1rpt@marketplace.amazon.com.evil.example", False),
        ("7xk2b9qzl4m1rpt@notmarketplace.amazon.com", False),
        ("marketplace.amazon.com", False),
        ("", False),
    ],
)
def test_is_relay_address(address: str, is_relay: bool):
    assert is_relay_address(address) is is_relay


@pytest.mark.parametrize(
    ("text", "order_id"),
    [
        ("Inquiry from Amazon customer Jane Doe (Order: 112-3456789-0123456)", "112-3456789-0123456"),
        ("注文番号：249-1234567-8901234", "249-1234567-8901234"),
        ("orders 302-1234567-8901234 and 302-7654321-1098765", "302-1234567-8901234"),
        ("1112-3456789-0123456", None),  # four digits first: not Amazon's shape
        ("112-3456789-01234567", None),
        ("112-345678-0123456", None),
        ("２４９-１２３４５６７-８９０１２３４", None),  # full-width digits are left to the human
        ("", None),
    ],
)
def test_find_order_id(text: str, order_id: str | None):
    assert find_order_id(text) == order_id


# --- properties --------------------------------------------------------------------------------------------------

order_ids = st.from_regex(r"\A[0-9]{3}-[0-9]{7}-[0-9]{7}\Z")
texts_without_digits = st.text(st.characters(blacklist_categories=("Nd", "Cs")), max_size=40)


@settings(max_examples=200, deadline=None)
@given(before=texts_without_digits, order_id=order_ids, after=texts_without_digits)
def test_find_order_id_finds_an_embedded_id(before: str, order_id: str, after: str):
    assert find_order_id(f"{before}{order_id}{after}") == order_id


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80))
def test_find_order_id_returns_a_well_formed_substring_or_none(text: str):
    found = find_order_id(text)
    assert found is None or (ORDER_ID.match(found) and found in text)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=200))
def test_detect_language_answers_one_of_seven_or_none(text: str):
    assert detect_language(text) in {None, "en", "de", "fr", "es", "it", "ja", "zh"}


@settings(max_examples=200, deadline=None)
@given(subject=st.text(max_size=80))
def test_normalise_subject_is_idempotent(subject: str):
    once = normalise_subject(subject)
    assert normalise_subject(once) == once


def _parse_or_refuse(raw: bytes) -> None:
    try:
        parsed = parse_mail(raw)
    except MalformedMail as refused:
        assert refused.reason
        return
    parsed.body_text.encode("utf-8")
    parsed.subject.encode("utf-8")
    assert parsed.from_address and parsed.message_id.startswith("<")


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=2000))
@example(raw=b"From: a@b\nContent-Type: multipart/mixed; boundary=x\n\n--x\n--x--")
@example(raw=b"From: =?utf-8?b?====?= <a@b>\nSubject: =?x?q?=ZZ?=\n\n")
@example(raw=b"From: a@b\nContent-Type: text/plain; charset*=utf-8''%ff%fe\n\n\xff\xfe")
@example(raw=b"From: a@b\nDate: Mon, 2 Nov 99999 10:00:00 +2400\n\nx")
def test_parse_mail_on_arbitrary_bytes_raises_nothing_but_malformed_mail(raw: bytes):
    _parse_or_refuse(raw)


header_lines = st.sampled_from(
    [
        b"From: =?utf-8?q?J=C3=BCrgen?= <k7d2m9x4p1z8wqr@marketplace.amazon.de>",
        b'From: "a, b" <x@y>, c@d',
        b"From: <>",
        b"To: support@acme.example, 7xk2b9qzl4m1rpt@marketplace.amazon.com",
        b"Subject: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=",
        b"Subject: Re: Inquiry (Order: 112-3456789-0123456)",
        b"Message-ID: <a@b>",
        b"In-Reply-To: garbage <",
        b"References: <a@b> <c@d",
        b"Date: Tue, 31 Feb 2026 25:61:61 +9999",
        b"Content-Transfer-Encoding: base64",
        b"Content-Transfer-Encoding: quoted-printable",
        b"Content-Type: multipart/alternative; boundary=zz",
        b"Content-Type: text/html; charset=shift_jis",
        b"Content-Type: text/plain; charset=gb2312",
        b'Content-Disposition: attachment; filename="=?utf-8?b?5pel5pys?=.pdf"',
        b"Content-Disposition: attachment; filename*=utf-8''%E6%97%A5.pdf",
        b"\tfolded continuation",
    ]
)
body_chunks = st.sampled_from(
    [b"--zz\n", b"--zz--\n", b"Content-Type: text/plain\n\n", b"<p>hi<br><div class=gmail_quote>", b"\n"]
) | st.binary(max_size=60)


@settings(max_examples=300, deadline=None)
@given(headers=st.lists(header_lines, max_size=10), body=st.lists(body_chunks, max_size=12))
def test_parse_mail_on_mail_shaped_bytes_raises_nothing_but_malformed_mail(
    headers: list[bytes], body: list[bytes]
):
    _parse_or_refuse(b"\n".join(headers) + b"\n\n" + b"".join(body))


@settings(max_examples=200, deadline=None)
@given(
    name=st.sampled_from(sorted(EXPECTED)),
    cuts=st.lists(st.tuples(st.integers(min_value=0, max_value=20_000), st.binary(max_size=8)), max_size=6),
)
def test_parse_mail_on_damaged_fixtures_raises_nothing_but_malformed_mail(
    name: str, cuts: list[tuple[int, bytes]]
):
    raw = bytearray((FIXTURES / name).read_bytes())
    for position, replacement in cuts:
        position %= max(len(raw), 1)
        raw[position : position + len(replacement)] = replacement
    _parse_or_refuse(bytes(raw))
