"""Reply building blocks without I/O: the shipped templates (every locale renders, speaks its language and passes
the relay channel's compliance rules), dates per locale, subjects, similarity, the MIME a reply is sent as, and
the auto-reply rules."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime
from email import policy
from pathlib import Path

import pytest

from sellerreach.compliance import errors_in, lint_message
from sellerreach.inbox.auto_reply import DEFAULT_AUTO_REPLY_RULES, AutoReplyRule, choose_auto_reply
from sellerreach.inbox.reply import (
    LOW_QUALITY_SIMILARITY,
    ReplyDraft,
    auto_reply_id,
    compose_reply,
    reply_subject,
    similarity,
)
from sellerreach.inbox.templates import ReplyTemplates, TemplateProblem
from sellerreach.language import detect_language
from sellerreach.rendering import CONTEXT_VARIABLES, format_date

SHIPPED = ReplyTemplates.from_config(None)
ORDER_ID = "302-4471553-8820631"
FULL_CONTEXT = {
    "buyer_name": "Jana Krüger",
    "order_id": ORDER_ID,
    "item": "Edelstahl Trinkflasche 750 ml",
    "items": ["Edelstahl Trinkflasche 750 ml"],
    "tracking_number": "00340434161094042557",
    "carrier": "DHL",
    "shipped_on": "20. November 2026",
    "delivery_by": "24. November 2026",
    "marketplace": "Amazon.de",
    "agent_name": "Mia Weber",
}
SPARSE_CONTEXT = {
    **{name: None for name in CONTEXT_VARIABLES},
    "buyer_name": "",
    "order_id": ORDER_ID,
    "item": "",
    "items": [],
    "marketplace": "Amazon.de",
    "agent_name": "Ihr Kundenservice",
}
SHIPPED_FILES = [(name, locale) for name, locales in SHIPPED.catalogue().items() for locale in locales]


def test_every_template_has_all_seven_languages():
    assert SHIPPED.catalogue().keys() >= {"acknowledge", "damaged_item", "where_is_my_order"}
    for name, locales in SHIPPED.catalogue().items():
        assert set(locales) == {"en", "de", "fr", "es", "it", "ja", "zh"}, name


@pytest.mark.parametrize(("name", "locale"), SHIPPED_FILES)
@pytest.mark.parametrize("context", [FULL_CONTEXT, SPARSE_CONTEXT], ids=["full", "sparse"])
def test_shipped_templates_render_in_their_language_and_pass_the_relay_rules(name, locale, context):
    body = SHIPPED.render(name, locale, context)
    assert ORDER_ID in body
    assert "None" not in body and "{{" not in body
    assert detect_language(body) == locale
    findings = lint_message(
        body=body,
        subject=f"Re: Bestellung {ORDER_ID}",
        channel="relay_email",
        locale=locale,
        order_id=ORDER_ID,
    )
    assert errors_in(findings) == [], [f.as_text(f"{name}.{locale}") for f in findings]


def test_where_is_my_order_gives_the_tracking_number_only_when_known():
    full = SHIPPED.render("where_is_my_order", "de", FULL_CONTEXT)
    sparse = SHIPPED.render("where_is_my_order", "de", SPARSE_CONTEXT)
    assert "00340434161094042557" in full and "DHL" in full and "Jana Krüger" in full
    assert "Sendungsnummer" in sparse and "sobald das paket" in sparse.casefold()


@pytest.mark.parametrize(
    ("wanted", "chosen"),
    [(("de", "de"), "de"), (("pt", "en"), "en"), ((None, "fr"), "fr"), (("ja", None), "ja")],
)
def test_the_buyers_language_first_then_the_marketplaces(wanted, chosen):
    assert SHIPPED.choose_locale("acknowledge", wanted) == chosen


def test_a_missing_locale_or_template_says_what_to_add(tmp_path: Path):
    (tmp_path / "thanks.en.txt.j2").write_text("Thank you for order {{ order_id }}.", encoding="utf-8")
    templates = ReplyTemplates(tmp_path)
    with pytest.raises(TemplateProblem, match=r"has no file for de.*thanks\.de\.txt\.j2.*buyer's language"):
        templates.choose_locale("thanks", ("de", None))
    with pytest.raises(TemplateProblem, match=r"no reply template 'thank' in .*; known: thanks"):
        templates.choose_locale("thank", ("en",))


def test_a_misspelt_variable_is_an_error_naming_the_file_and_the_known_variables(tmp_path: Path):
    (tmp_path / "ship.en.txt.j2").write_text("Your parcel: {{ tracking_numbr }}", encoding="utf-8")
    with pytest.raises(
        TemplateProblem, match=r"ship\.en\.txt\.j2: 'tracking_numbr' is undefined; known variables"
    ):
        ReplyTemplates(tmp_path).render("ship", "en", FULL_CONTEXT)


def test_templates_cannot_reach_python_internals(tmp_path: Path):
    (tmp_path / "evil.en.txt.j2").write_text(
        "{{ order_id.__class__.__mro__[1].__subclasses__() }}", encoding="utf-8"
    )
    with pytest.raises(TemplateProblem):
        ReplyTemplates(tmp_path).render("evil", "en", FULL_CONTEXT)


def test_a_template_syntax_error_names_the_line(tmp_path: Path):
    (tmp_path / "broken.en.txt.j2").write_text("Hello\n{% if buyer_name %}Hi", encoding="utf-8")
    with pytest.raises(TemplateProblem, match=r"broken\.en\.txt\.j2:2: "):
        ReplyTemplates(tmp_path).render("broken", "en", FULL_CONTEXT)


def test_a_missing_templates_folder_is_a_clear_error(tmp_path: Path):
    with pytest.raises(TemplateProblem, match=r"reply_templates: folder .* does not exist"):
        ReplyTemplates.from_config(str(tmp_path / "nowhere"))


@pytest.mark.parametrize(
    ("locale", "written"),
    [
        ("en", "24 November 2026"),
        ("de", "24. November 2026"),
        ("fr", "24 novembre 2026"),
        ("es", "24 de noviembre de 2026"),
        ("it", "24 novembre 2026"),
        ("ja", "2026年11月24日"),
        ("zh", "2026年11月24日"),
        ("pt", "24 November 2026"),
    ],
)
def test_dates_are_written_for_the_locale(locale, written):
    assert format_date(date(2026, 11, 24), locale) == written
    assert format_date(None, locale) is None


@pytest.mark.parametrize(
    ("subject", "reply"),
    [
        ("Anfrage (Bestellung: 302-4471553-8820631)", "Re: Anfrage (Bestellung: 302-4471553-8820631)"),
        ("Re: Where is my order?", "Re: Where is my order?"),
        ("AW: Lieferung", "AW: Lieferung"),
        ("回复：订单问题", "回复：订单问题"),
        ("  Inquiry   from  Amazon customer ", "Re: Inquiry from Amazon customer"),
    ],
)  # fmt: skip
def test_reply_subject(subject, reply):
    assert reply_subject(subject) == reply


def test_similarity_ignores_case_and_spacing_and_tells_canned_text_from_written():
    canned = "Thank you for your message about order 111-1111111-1111111. We are looking into it."
    same = "thank you for your message about order 222-2222222-2222222.   We are looking into it."
    written = "Sorry the kettle leaked! A replacement ships tomorrow with DHL, no need to return the old one."
    assert similarity(canned, same) > LOW_QUALITY_SIMILARITY
    assert similarity(canned, written) < 0.5
    assert similarity(canned, canned) == 1.0


def _draft(**changes) -> ReplyDraft:
    values = dict(
        thread_id="a" * 32,
        account_id="acme-eu",
        marketplace_id="A1PA6795UKMFR9",
        amazon_order_id=ORDER_ID,
        mailbox_id="acme-eu-relay",
        from_address="support@acme.example",
        to_address="7xk2b9qzl4m1rpt@marketplace.amazon.de",
        subject="Re: 注文 302-4471553-8820631 について",
        body="お問い合わせいただき、ありがとうございます。注文番号 302-4471553-8820631 を確認しております。",
        locale="ja",
        template_id="acknowledge",
        in_reply_to="<b1@marketplace.amazon.de>",
        references=("<a0@marketplace.amazon.de>", "<r0@acme.example>", "<b1@marketplace.amazon.de>"),
        findings=(),
    )
    values.update(changes)
    return ReplyDraft(**values)


def test_the_reply_is_threaded_utf8_text_from_the_approved_sender():
    raw = compose_reply(_draft(), datetime(2026, 11, 23, 9, 30, tzinfo=UTC))
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["From"] == "support@acme.example"
    assert message["To"] == "7xk2b9qzl4m1rpt@marketplace.amazon.de"
    assert message["In-Reply-To"] == "<b1@marketplace.amazon.de>"
    assert message["References"].split() == [
        "<a0@marketplace.amazon.de>",
        "<r0@acme.example>",
        "<b1@marketplace.amazon.de>",
    ]
    assert message["Subject"] == "Re: 注文 302-4471553-8820631 について"
    assert message["Content-Language"] == "ja"
    assert message.get_content_type() == "text/plain"
    assert message.get_content_charset() == "utf-8"
    assert message.get_content().strip() == _draft().body
    assert message["Date"] == "Mon, 23 Nov 2026 09:30:00 +0000"
    assert message["Message-ID"] is None  # SES writes its own
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


def test_an_auto_reply_id_is_one_per_thread():
    assert auto_reply_id("a" * 32) == auto_reply_id("a" * 32) != auto_reply_id("b" * 32)
    assert len(auto_reply_id("a" * 32)) == 32


THREAD = {"account_id": "acme-eu", "marketplace_id": "A1PA6795UKMFR9", "language": "de"}


@pytest.mark.parametrize(
    "text",
    [
        "Hello, where is my order? It was due on Monday.",
        "My parcel has not arrived yet.",
        "Hallo, wo bleibt meine Bestellung? Sie ist noch nicht angekommen.",
        "Bonjour, je n'ai toujours pas reçu ma commande.",
        "Hola, ¿dónde está mi pedido?",
        "Buongiorno, non ho ancora ricevuto il pacco.",
        "荷物が届いていません。確認してください。",
        "你好，我还没收到货，请问物流单号是多少？",
    ],
)
def test_the_default_rule_hears_where_is_my_order_in_seven_languages(text):
    rule = choose_auto_reply(DEFAULT_AUTO_REPLY_RULES, THREAD, text)
    assert rule is not None and rule.template_id == "where_is_my_order"
    assert rule.requires == ("tracking_number",)


@pytest.mark.parametrize(
    "text",
    [
        "Thanks, the bottle arrived today and it is great.",
        "Das Paket ist angekommen, aber der Deckel ist kaputt.",
        "Je voudrais retourner l'article.",
        "商品已经收到了，谢谢。",
    ],
)
def test_the_default_rule_stays_quiet_otherwise(text):
    assert choose_auto_reply(DEFAULT_AUTO_REPLY_RULES, THREAD, text) is None


def test_a_rule_applies_only_in_its_scope():
    rule = AutoReplyRule(
        "wismo-de", ("wo ist meine Bestellung",), "where_is_my_order", marketplace_ids=("A1PA6795UKMFR9",)
    )
    text = "Wo ist meine Bestellung?"
    assert rule.applies_to(THREAD, text)
    assert not rule.applies_to({**THREAD, "marketplace_id": "A13V1IB3VIYZZH"}, text)
    assert not AutoReplyRule("x", ("wo ist meine Bestellung",), "t", languages=("fr",)).applies_to(
        THREAD, text
    )
    assert not AutoReplyRule("x", ("wo ist meine Bestellung",), "t", account_ids=("acme-na",)).applies_to(
        THREAD, text
    )


@pytest.mark.parametrize("language", ["en", "de", "fr", "es", "it", "ja", "zh"])
def test_the_default_rule_hears_the_stand_ins_where_is_my_order_mail(language):
    from sellerreach.sandbox.relay_mail import _BUYER_TEXTS

    text = _BUYER_TEXTS["where_is_my_order"][language]
    assert choose_auto_reply(DEFAULT_AUTO_REPLY_RULES, {**THREAD, "language": language}, text) is not None
    for topic in ("return_request", "damaged_item", "question", "thanks"):
        other = _BUYER_TEXTS[topic][language]
        assert choose_auto_reply(DEFAULT_AUTO_REPLY_RULES, {**THREAD, "language": language}, other) is None, (
            topic
        )
