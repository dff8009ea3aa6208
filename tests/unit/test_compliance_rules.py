"""The compliance rules on rendered message text: each rule's positives and negatives in the seven languages,
customer-service replies that must pass, positions, the channels, and rules files that must be refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sellerreach.compliance import CHANNELS, KINDS, Finding, RuleSet, errors_in, lint_message, load_rules
from sellerreach.compliance import lint as lint_module
from sellerreach.errors import ConfigError

ORDER_ID = "302-4471553-8820631"
LANGUAGES = ("en", "de", "fr", "es", "it", "ja", "zh")


def findings_of(rule_id: str, body: str, *, locale: str = "en", channel: str = "relay_email", subject=None):
    findings = lint_message(body=body, subject=subject, channel=channel, locale=locale, order_id=ORDER_ID)
    return [f for f in findings if f.rule_id == rule_id]


# -- the packaged rules --------------------------------------------------------------------------------------


def test_packaged_rules_load_once_and_every_rule_says_what_is_wrong_and_how_to_fix_it():
    rules = load_rules()
    assert rules is load_rules()  # cached
    assert isinstance(rules, RuleSet) and len(rules.rules) >= 12
    ids = [rule.rule_id for rule in rules.rules]
    assert len(ids) == len(set(ids))
    for rule in rules.rules:
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", rule.rule_id)
        assert rule.message.strip() and rule.fix.strip(), rule.rule_id
        assert rule.fix.rstrip().endswith("."), rule.rule_id  # one sentence
        assert rule.severity in ("error", "warning")
        assert set(rule.channels) <= set(CHANNELS)


def test_every_rule_kind_has_a_check():
    assert set(lint_module._CHECKS) == set(KINDS)


@pytest.mark.parametrize(
    "rule_id",
    ["review-incentive", "review-positive-only", "review-pressure", "marketing", "missing-unsubscribe"],
)
def test_language_specific_rules_have_patterns_in_all_seven_languages(rule_id):
    assert load_rules().rule(rule_id).languages() >= set(LANGUAGES)


def test_channels_get_their_own_rule_sets():
    rules = load_rules()
    relay = {r.rule_id for r in rules.for_channel("relay_email")}
    direct = {r.rule_id for r in rules.for_channel("direct_email")}
    assert rules.for_channel("solicitation") == ()  # Amazon writes the text itself
    assert {"external-link", "email-address", "phone-number", "tracking-pixel", "missing-order-id"} <= relay
    assert {"missing-unsubscribe", "missing-postal-address", "review-incentive"} <= direct
    assert not {"external-link", "email-address", "phone-number", "tracking-pixel", "marketing"} & direct


# -- each rule: positives and negatives ----------------------------------------------------------------------

# The expected finding is marked ⟦like this⟧: its excerpt, and where it starts.
POSITIVES = {
    "review-incentive": [
        ("en", "Leave us an honest review and we will send you a ⟦free⟧ replacement filter."),
        ("en", "Write a review and get ⟦20% off⟧ your next order."),
        ("en", "Leave us a 5-star review and we will send you a $10 ⟦gift card⟧!"),
        ("en", "Use ⟦coupon code⟧ THANKYOU10 on your next order."),
        ("de", "Für eine Bewertung erhalten Sie einen 10-€-⟦Gutschein⟧."),
        ("de", "Schreiben Sie eine Rezension und Sie bekommen das Produkt ⟦kostenlos⟧."),
        ("fr", "Laissez un avis sur Amazon et recevez un ⟦bon d’achat⟧ de 10 €."),
        ("fr", "Après votre évaluation, nous vous offrons un produit ⟦gratuit⟧."),
        ("es", "Deje una reseña y le enviaremos un ⟦cupón de descuento⟧."),
        ("es", "Por su valoración le hacemos un ⟦reembolso⟧ del 50 %."),
        ("it", "Lasci una recensione e riceverà un ⟦buono sconto⟧ di 5 €."),
        ("ja", "レビューを書いていただければ、Amazon⟦ギフト券⟧をプレゼントします。"),
        ("ja", "高評価のレビューで次回10%⟦割引⟧クーポンを差し上げます。"),
        ("zh", "⟦好评返现⟧5元，请联系客服。"),
        ("zh", "晒图评价即送⟦红包⟧。"),
    ],
    "review-positive-only": [
        ("en", "⟦If you are happy⟧ with your purchase, please leave us 5 stars."),
        ("en", "Please contact us ⟦before leaving a negative review⟧."),
        ("en", "We would love a ⟦★★★★★⟧ rating!"),
        ("de", "⟦Nur wenn⟧ Sie zufrieden sind, freuen wir uns über eine 5-Sterne-Bewertung."),
        ("de", "⟦Wenn Sie mit dem Artikel zufrieden⟧ sind, bewerten Sie uns bitte."),
        ("fr", "⟦Si vous êtes satisfait⟧ de votre achat, laissez-nous 5 étoiles."),
        ("es", "⟦Si está satisfecho⟧ con su compra, déjenos una valoración de 5 estrellas."),
        ("it", "⟦Se è soddisfatto⟧ del prodotto, ci lasci una recensione a 5 stelle."),
        ("ja", "ご⟦満足いただけ⟧ましたら、星5のレビューをお願いいたします。"),
        ("zh", "⟦如果您满意⟧，请给我们五星好评。"),
        ("zh", "亲，麻烦⟦给个五星好评⟧哦"),
    ],
    "review-pressure": [
        ("en", "As a ⟦small business⟧ we depend on every review, so please leave one today."),
        ("de", "Als ⟦kleines Unternehmen⟧ sind wir auf jede Bewertung angewiesen."),
        ("fr", "⟦Petite entreprise⟧, nous dépendons de chaque avis : merci de le laisser aujourd'hui."),
        ("es", "Somos una ⟦pequeña empresa⟧ y dependemos de cada reseña, déjela hoy."),
        ("it", "Siamo una ⟦piccola azienda⟧ e dipendiamo dalle recensioni: la lasci oggi."),
        ("ja", "⟦小さな会社⟧ですので、今すぐレビューをお願いします。"),
        ("zh", "我们是⟦小本生意⟧，请今天就给我们留评。"),
    ],
    "marketing": [
        ("en", "⟦Check out our⟧ other products and follow us on Instagram."),
        ("en", "Our spring sale is on: ⟦20% off⟧ everything."),
        ("de", "⟦Besuchen Sie unseren Onlineshop⟧ und entdecken Sie unsere neue Kollektion."),
        ("fr", "Découvrez notre ⟦nouvelle collection⟧ et suivez-nous sur Instagram."),
        ("es", "⟦Visite nuestra tienda⟧: ahora con un 20 % de descuento."),
        ("it", "Scopra la nostra ⟦nuova collezione⟧ e seguici su Instagram."),
        ("ja", "⟦新商品⟧のセール中です。ストアをご覧ください。"),
        ("zh", "⟦新品上市⟧，全场8折优惠，欢迎进店逛逛。"),
    ],
    "external-link": [
        ("en", "Track it at ⟦https://track.acme-shop.example/302-4471553-8820631⟧."),
        ("de", "Mehr Tipps unter ⟦www.shop-example.de/pflege⟧"),
        ("en", "The manual is on ⟦acme-shop.com/manuals⟧, page 4."),
        ("en", 'See <a href="⟦http://amazon.de.acme-deals.com/x⟧">your order</a>'),
        ("zh", "请访问⟦shop-example.cn⟧了解详情"),
    ],
    "email-address": [
        ("en", "You can also write to ⟦support@acme-shop.de⟧."),
        ("de", "Schreiben Sie an ⟦kontakt [at] acme-shop [dot] de⟧"),
        ("zh", "请发邮件至⟦service@acme-shop.cn⟧联系我们"),
    ],
    "phone-number": [
        ("de", "Rufen Sie uns gerne an: ⟦+49 30 1234567⟧."),
        ("en", "Call ⟦(555) 123-4567⟧ any time."),
        ("en", "Our hotline ⟦1-800-555-0199⟧ is free."),
        ("en", "Reach us on ⟦+44 (0)20 7946 0958⟧ for help."),
        ("ja", "お電話は⟦03-1234-5678⟧までどうぞ。"),
        ("zh", "客服热线⟦400-123-4567⟧"),
        ("zh", "有问题请打⟦13800138000⟧"),
        ("de", "Sie erreichen uns unter ⟦030 1234567⟧ oder 0171/1234567."),
        ("fr", "Appelez le ⟦01 23 45 67 89⟧ du lundi au vendredi."),
        ("it", "⟦Telefono: 0212345678⟧"),
    ],
    "image-or-attachment": [
        ("en", '<p>Thanks!</p>⟦<img src="cid:logo@acme" alt="Acme">⟧'),
        ("en", "Kind regards ⟦![Acme logo](https://acme-shop.example/logo.png)⟧"),
        ("en", "⟦<img src='data:image/png;base64,iVBORw0KGgo='>⟧"),
        ("en", '<td style="⟦background-image: url(⟧https://cdn.acme.example/bg.jpg)">'),
    ],
    "tracking-pixel": [
        ("en", '⟦<img src="https://t.acme.example/o.gif" width=1 height=1>⟧'),
        ("en", '⟦<img src="x.gif" style="display:none">⟧'),
        ("en", "⟦https://u123.ct.sendgrid.net/wf/open?upn=abc123⟧"),
        ("en", "⟦https://r.eu-west-1.awstrack.me/I0/0102018f/abc⟧"),
    ],
}


def marked(text: str) -> tuple[str, str, int]:
    """The text without its ⟦marks⟧, the marked excerpt, and the 1-based column where it starts."""
    before, rest = text.split("⟦", 1)
    excerpt, after = rest.split("⟧", 1)
    return before + excerpt + after, excerpt, len(before) + 1


@pytest.mark.parametrize(
    ("rule_id", "locale", "text"),
    [(rule_id, *case) for rule_id, cases in POSITIVES.items() for case in cases],
)
def test_a_rule_finds_what_it_is_for(rule_id, locale, text):
    body, excerpt, column = marked(text)
    findings = findings_of(rule_id, body, locale=locale)
    assert (1, column, excerpt) in [(f.line, f.column, f.excerpt) for f in findings], [
        f.as_text() for f in findings
    ]


NEGATIVES = {
    "review-incentive": [
        ("en", "We have issued a full refund to your original payment method."),
        ("en", "Thank you for your feedback, we have refunded the shipping costs."),
        ("en", "Feel free to write a review whenever you like."),
        ("en", "We will review your request and refund the order within two days."),
        ("de", "Wir erstatten Ihnen den Kaufpreis, sobald die Rücksendung bei uns eingegangen ist."),
        ("de", "Vielen Dank für Ihr Feedback, die Rücksendung ist für Sie kostenlos."),
        ("fr", "Nous avons procédé au remboursement intégral de votre commande."),
        ("fr", "Vous recevrez un avis de passage du transporteur, la livraison est gratuite."),
        ("es", "Le hemos hecho el reembolso completo del pedido."),
        ("it", "Abbiamo effettuato il rimborso completo dell'ordine."),
        ("ja", "ご注文の代金は全額返金いたします。"),
        ("zh", "我们已为您办理全额退款，款项将在3到5个工作日内退回。"),
        ("zh", "我们下星期会为您退款，请耐心等待。"),  # 星期 is a weekday, not a star
        ("en", "We appreciate your feedback and have issued a full refund today."),
        ("de", "Die Bewertung des Schadens ist abgeschlossen, wir senden Ihnen kostenlos einen Ersatz."),
    ],
    "review-positive-only": [
        ("en", "If you are happy with the replacement, there is nothing else you need to do."),
        ("en", "Thank you for your 5-star review!"),
        ("de", "Wenn Sie mit dem Ersatz zufrieden sind, müssen Sie nichts weiter tun."),
        ("fr", "Si vous êtes satisfait de la solution proposée, vous n'avez rien à faire."),
        ("es", "Si está satisfecho con la solución, no tiene que hacer nada más."),
        ("it", "Se è soddisfatto della soluzione, non deve fare nient'altro."),
        ("ja", "ご満足いただけない場合は、このメッセージにご返信ください。"),
        ("zh", "如果您对处理结果满意，无需再做任何操作。"),
        ("zh", "感谢您的好评！"),
    ],
    "review-pressure": [
        ("en", "We will ship the replacement today."),
        ("en", "We are a small business and answer every message ourselves."),
        ("de", "Wir senden Ihnen heute noch einen Ersatz."),
        ("fr", "Nous expédions le remplacement aujourd'hui."),
        ("es", "Le enviamos el producto de sustitución hoy mismo."),
        ("it", "Le spediamo oggi stesso il prodotto sostitutivo."),
        ("ja", "本日中に代替品を発送いたします。"),
        ("zh", "我们今天会为您补发新品。"),
    ],
    "marketing": [
        ("en", "Your replacement is on its way; you can follow it under Your Orders."),
        ("de", "Leider ist der Artikel nicht mehr lieferbar, daher erstatten wir Ihnen den Kaufpreis."),
        ("fr", "Il n'y a pas encore de nouveautés concernant votre colis."),
        ("es", "Por el momento no hay novedades sobre su envío."),
        ("it", "Al momento non ci sono novità sulla spedizione."),
        ("ja", "他の商品と間違えて発送してしまい、申し訳ございません。"),
        ("zh", "我们会为您补发新品，请注意查收。"),
        ("en", "You bought it on sale, so the refund is 19.99 EUR."),
        ("fr", "Comme l'article était en promotion, le remboursement est de 15 €."),
    ],
    "external-link": [
        ("en", "See https://www.amazon.de/gp/css/order-history for the details."),
        ("en", "Open sellercentral.amazon.co.uk or Amazon.co.jp."),
        ("de", "Sie können die Sendung unter „Meine Bestellungen“ auf Amazon.de verfolgen."),
        ("de", "Die Lieferung dauert ca. 3 Tage, z.B. bis Freitag. Vielen Dank.Es grüßt Ihr Team"),
        ("en", "It needs Node.js, e.g. version 2.5, as described in the manual."),
    ],
    "email-address": [
        ("en", "Please reply to this message; we answer within 24 hours."),
    ],
    "phone-number": [
        ("en", f"Your order {ORDER_ID} was shipped."),
        ("de", "Versendet am 23.11.2026 um 14:30, Zustellung am 2026-11-25."),
        ("en", "It shipped 11/23/2026 and costs $1,299.99 (EUR 1.199,00)."),
        ("fr", "Le prix est de 1 299,00 € TTC."),
        ("en", "The UPS tracking number is 1Z999AA10123456784."),
        ("en", "The tracking number is 1Z 999 AA1 01 2345 678 4."),
        ("de", "Die Sendungsnummer ist 00340434161094042557."),
        ("de", "Sendungsnummer JJD 0001 2345 6789, Rechnung 2026-000123."),
        ("en", "Opening hours 09:00-18:00, reply within 24 hours."),
        ("ja", "追跡番号は 1234-5678-9012 です。2026年11月23日に発送しました。"),
        ("en", "Item number 12-345-678 is back in stock; the parcel weighs 2.5 kg."),
        ("de", "Unsere Bankverbindung: IBAN DE89 3704 0044 0532 0130 00."),
    ],
    "image-or-attachment": [
        ("en", "Could you reply with a photo of the damage and of the packaging?"),
    ],
    "tracking-pixel": [
        ("en", '<img src="cid:logo@acme" width="120" height="40">'),
    ],
}


@pytest.mark.parametrize(
    ("rule_id", "locale", "body"),
    [(rule_id, *case) for rule_id, cases in NEGATIVES.items() for case in cases],
)
def test_a_rule_leaves_legitimate_text_alone(rule_id, locale, body):
    assert [f.as_text() for f in findings_of(rule_id, body, locale=locale)] == []


CUSTOMER_SERVICE_REPLIES = [
    (
        "en",
        f"Hello Emma,\n\nwe are sorry that your water bottle (order {ORDER_ID}) arrived damaged. We have issued a "
        "full refund to your original payment method; you do not need to return the item. If you are happy with "
        "this, there is nothing else you need to do.\n\nKind regards,\nMia Weber",
    ),
    (
        "de",
        f"Hallo Frau Krüger,\n\nvielen Dank für Ihre Nachricht zu Ihrer Bestellung {ORDER_ID}. Wir erstatten Ihnen "
        "den Kaufpreis, sobald die Rücksendung bei uns eingegangen ist. Die Rücksendung ist für Sie kostenlos; das "
        "Etikett finden Sie unter „Meine Bestellungen“ auf Amazon.de.\n\nMit freundlichen Grüßen\nMia Weber",
    ),
    (
        "fr",
        f"Bonjour,\n\nnous sommes désolés que votre commande {ORDER_ID} soit arrivée abîmée. Nous vous avons "
        "remboursé la commande et vous n'avez pas besoin de nous renvoyer l'article. Si vous êtes satisfait de "
        "cette solution, vous n'avez rien à faire.\n\nCordialement,\nMia Weber",
    ),
    (
        "es",
        f"Hola:\n\nsentimos mucho que su pedido {ORDER_ID} haya llegado dañado. Le hemos hecho el reembolso "
        "completo del pedido y no hace falta que nos devuelva el producto.\n\nUn saludo,\nMia Weber",
    ),
    (
        "it",
        f"Buongiorno,\n\nci dispiace molto che il suo ordine {ORDER_ID} sia arrivato danneggiato. Le abbiamo "
        "inviato il rimborso completo dell'ordine e non è necessario restituire il prodotto.\n\nCordiali saluti,\n"
        "Mia Weber",
    ),
    (
        "ja",
        f"お客様\n\nご注文（注文番号 {ORDER_ID}）の商品が破損した状態で届きましたこと、大変申し訳ございません。"
        "代金は全額返金いたします。破損した商品をご返送いただく必要はございません。\n\nよろしくお願いいたします。",
    ),
    (
        "zh",
        f"您好：\n\n非常抱歉，您的订单（订单号 {ORDER_ID}）在送达时已经损坏。我们已为您办理全额退款，"
        "损坏的商品无需寄回。\n\n祝好，\n客服团队",
    ),
]


@pytest.mark.parametrize(
    ("locale", "body"), CUSTOMER_SERVICE_REPLIES, ids=[c[0] for c in CUSTOMER_SERVICE_REPLIES]
)
def test_customer_service_replies_in_every_language_pass_the_relay_rules(locale, body):
    findings = lint_message(
        body=body,
        subject=f"Re: Bestellung {ORDER_ID}",
        channel="relay_email",
        locale=locale,
        order_id=ORDER_ID,
    )
    assert [f.as_text() for f in findings] == []


# -- subject, order id, language -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "flagged"),
    [
        (f"[Important] Your order {ORDER_ID}", True),
        ("Important: please read about your order", True),
        ("URGENT - action required for your order", True),
        (f"Wichtig: Ihre Bestellung {ORDER_ID}", True),
        (f"**Wichtige Information** zu Bestellung {ORDER_ID}", True),
        ("Urgente : votre commande", True),
        ("Importante: su pedido", True),
        ("【重要】ご注文について", True),
        ("重要通知：您的订单", True),
        ("Re: Important question about my order", False),  # the buyer's own subject, replied to
        (f"Your order {ORDER_ID}: an important update", False),
        (f"Ihre Bestellung {ORDER_ID} – wichtige Information", False),
        (f"ご注文 {ORDER_ID} について", False),
    ],
)
def test_subjects_that_fake_an_opt_out_exempt_message(subject, flagged):
    findings = findings_of("subject-opt-out-bypass", f"Thank you for your order {ORDER_ID}.", subject=subject)
    assert bool(findings) is flagged
    assert all(f.part == "subject" and (f.line, f.column) == (1, 1) for f in findings)


def test_importance_words_in_the_body_are_not_a_subject():
    assert (
        findings_of("subject-opt-out-bypass", "Important: your parcel is on its way.", subject="Re: Parcel")
        == []
    )


@pytest.mark.parametrize(
    ("subject", "body", "order_id", "flagged"),
    [
        (None, "Your parcel is on its way.", ORDER_ID, True),
        (f"Re: Order {ORDER_ID}", "Your parcel is on its way.", ORDER_ID, False),  # in the subject is enough
        (None, f"Your order {ORDER_ID} is on its way.", ORDER_ID, False),
        (None, "Your order 171-9990000-1234567 is on its way.", ORDER_ID, True),  # another order's id
        (None, "Your order 171-9990000-1234567 is on its way.", None, False),  # any id when none is given
        (None, "Your order 171-999000-1234567 is on its way.", None, True),  # not an order id
        (None, "ご注文３０２－４４７１５５３－８８２０６３１について", None, False),  # full-width forms count
    ],
)
def test_the_order_id_must_be_in_subject_or_body(subject, body, order_id, flagged):
    findings = lint_message(body=body, subject=subject, channel="relay_email", locale="en", order_id=order_id)
    missing = [f for f in findings if f.rule_id == "missing-order-id"]
    assert bool(missing) is flagged
    if missing:
        assert (missing[0].part, missing[0].line, missing[0].column, missing[0].excerpt) == ("body", 1, 1, "")
        assert (order_id or "123-1234567-1234567") in missing[0].message


GERMAN_REPLY = (
    f"Hallo,\n\nvielen Dank für Ihre Nachricht zu Ihrer Bestellung {ORDER_ID}. Wir kümmern uns darum und melden "
    "uns innerhalb von 24 Stunden mit einer Antwort bei Ihnen.\n\nMit freundlichen Grüßen\nMia Weber"
)


@pytest.mark.parametrize(
    ("locale", "body", "flagged"),
    [
        ("fr", GERMAN_REPLY, True),
        ("de", GERMAN_REPLY, False),
        ("de-DE", GERMAN_REPLY, False),
        ("de_AT", GERMAN_REPLY, False),
        ("ja", GERMAN_REPLY, True),
        ("nl", GERMAN_REPLY, False),  # no detector for Dutch: no evidence either way
        ("", GERMAN_REPLY, False),
        ("en", f"Danke! {ORDER_ID}", False),  # too short to tell
        ("en", f"注文番号 {ORDER_ID} についてお問い合わせいただき、ありがとうございます。", True),
    ],
)
def test_the_body_must_be_in_the_buyers_language(locale, body, flagged):
    findings = findings_of("wrong-language", body, locale=locale)
    assert bool(findings) is flagged
    if flagged:
        assert findings[0].part == "body" and (findings[0].line, findings[0].column) == (1, 1)


def test_a_wrong_language_finding_names_both_languages():
    (finding,) = findings_of("wrong-language", GERMAN_REPLY, locale="fr")
    assert finding.message == "The body is written in German (de), not in the buyer's language French (fr)"
    assert finding.excerpt == "Hallo,"


# -- direct e-mail -------------------------------------------------------------------------------------------

DIRECT_FOOTERS = {
    "en": "Unsubscribe: https://acme-shop.example/u/8f3a\nAcme Outdoor Inc., 410 Terry Ave N, Seattle, WA 98109",
    "de": "Newsletter abbestellen: hier abmelden.\nAcme Outdoor GmbH, Hauptstraße 12, 10115 Berlin",
    "fr": "Pour vous désabonner, cliquez ici.\nAcme Outdoor SARL, 12 rue de Rivoli, 75001 Paris",
    "es": "Si no desea recibir más correos, puede darse de baja aquí.\nAcme Outdoor S.L., Calle Mayor 5, 28013 Madrid",
    "it": "Per annullare l'iscrizione clicchi qui.\nAcme Outdoor S.r.l., Via Roma 1, 20121 Milano",
    "ja": "配信停止はこちらから。\nアクメ株式会社 〒150-0002 東京都渋谷区渋谷2-21-1",
    "zh": "如需退订，请点击此处。\n北京市朝阳区建国路88号 邮编100020",
}
DIRECT_BODIES = {
    "en": "Thank you for your order! Here is how to care for your new tent.",
    "de": "Danke für Ihre Bestellung! So pflegen Sie Ihr neues Zelt.",
    "fr": "Merci pour votre commande ! Voici comment entretenir votre tente.",
    "es": "¡Gracias por su pedido! Así se cuida su nueva tienda de campaña.",
    "it": "Grazie per il suo ordine! Ecco come curare la sua nuova tenda.",
    "ja": "ご注文ありがとうございます。テントのお手入れ方法をご案内します。",
    "zh": "感谢您的订购！以下是帐篷的保养方法。",
}


@pytest.mark.parametrize("locale", LANGUAGES)
def test_direct_mail_with_unsubscribe_and_address_passes(locale):
    body = f"{DIRECT_BODIES[locale]}\n\n--\n{DIRECT_FOOTERS[locale]}"
    findings = lint_message(body=body, subject="Your new tent", channel="direct_email", locale=locale)
    assert [f.as_text() for f in findings] == []


@pytest.mark.parametrize("locale", LANGUAGES)
def test_direct_mail_without_unsubscribe_or_address_is_refused(locale):
    findings = lint_message(body=DIRECT_BODIES[locale], channel="direct_email", locale=locale)
    assert {f.rule_id for f in errors_in(findings)} == {"missing-unsubscribe", "missing-postal-address"}


def test_direct_mail_may_carry_links_contacts_and_pixels_but_no_review_incentive():
    body = (
        "Questions? Call +49 30 1234567 or write to service@acme-shop.example, and see www.acme-shop.example.\n"
        '<img src="https://t.acme.example/o.gif" width="1" height="1">\n'
        "Leave a review and get a $10 gift card.\n"
        "Unsubscribe: https://acme-shop.example/u/8f3a\nAcme Outdoor GmbH, Hauptstraße 12, 10115 Berlin"
    )
    findings = lint_message(body=body, channel="direct_email", locale="en")
    assert [f.rule_id for f in findings] == ["review-incentive"]


# -- positions, order, output --------------------------------------------------------------------------------


def test_positions_are_line_and_column_within_their_part():
    body = (
        f"Hello Anna,\n\nyour order {ORDER_ID} has shipped.\nQuestions? Write to support@acme-shop.de today."
    )
    findings = lint_message(
        body=body, subject="Wichtig: Ihre Lieferung", channel="relay_email", locale="en", order_id=ORDER_ID
    )
    assert [(f.part, f.line, f.column, f.rule_id, f.excerpt) for f in findings] == [
        ("body", 4, 21, "email-address", "support@acme-shop.de"),
        ("subject", 1, 1, "subject-opt-out-bypass", "Wichtig"),
    ]


def test_columns_count_characters_in_cjk_text_and_full_width_forms_are_read_as_ascii():
    body = f"注文番号 {ORDER_ID}\nメールはｓｕｐｐｏｒｔ＠ａｃｍｅ．ｊｐまで。"
    (finding,) = findings_of("email-address", body, locale="ja")
    assert (finding.line, finding.column) == (2, 5)
    assert finding.excerpt == "ｓｕｐｐｏｒｔ＠ａｃｍｅ．ｊｐ"  # the text as written


def test_findings_are_sorted_and_printed_like_compiler_messages():
    body = "Visit www.acme-shop.example or call +49 30 1234567.\nFollow us on Instagram!"
    findings = lint_message(body=body, channel="relay_email", locale="en", subject="Urgent: your order")
    assert findings == sorted(findings, key=lambda f: (f.part, f.line, f.column, f.rule_id))
    assert [f.as_text("replies/draft-17") for f in findings] == [
        "replies/draft-17:1:1 missing-order-id Neither subject nor body contains the order id "
        "(format 123-1234567-1234567)",
        "replies/draft-17:1:7 external-link Link to a non-Amazon domain (www.acme-shop.example)",
        "replies/draft-17:1:37 phone-number Phone number in a relay message (+49 30 1234567)",
        "replies/draft-17:2:1 marketing Marketing or promotion in a relay message (Follow us)",
        "replies/draft-17:2:14 marketing Marketing or promotion in a relay message (Instagram)",
        "replies/draft-17:1:1 subject-opt-out-bypass Subject starts with an importance marker that bypasses the "
        "buyer's opt-out (Urgent)",
    ]
    assert (
        Finding.as_text(findings[1])
        == "<message>:1:7 external-link Link to a non-Amazon domain (www.acme-shop.example)"
    )


def test_excerpts_are_at_most_60_characters():
    url = "https://www.acme-shop.example/" + "outdoor/" * 20
    (finding,) = findings_of("external-link", f"See {url}")
    assert len(finding.excerpt) == 60 and finding.excerpt.endswith("…")
    assert finding.message == "Link to a non-Amazon domain (www.acme-shop.example)"


def test_errors_in_keeps_errors_only():
    body = f"Order {ORDER_ID}: as a small business we depend on your review, please leave it today."
    findings = lint_message(body=body, channel="relay_email", locale="en", order_id=ORDER_ID)
    assert {f.severity for f in findings} == {"warning"}
    assert errors_in(findings) == []
    assert errors_in(iter(findings)) == []


def test_solicitations_have_no_text_rules_and_unknown_channels_are_refused():
    assert (
        lint_message(body="anything at all: www.acme-shop.example", channel="solicitation", locale="de") == []
    )
    with pytest.raises(ValueError, match="known channels: solicitation, relay_email, direct_email"):
        lint_message(body="Hello", channel="email", locale="en")
    with pytest.raises(ValueError, match="known channels"):
        load_rules().for_channel("sms")


# -- a rules file of one's own, and the files that must be refused -------------------------------------------

OWN_RULES = """
version = 1
[[rules]]
id = "legal-threat"
kind = "pattern"
severity = "warning"
channels = ["relay_email"]
message = "Legal threat ({match})"
fix = "Leave legal matters to Amazon's A-to-z process."
[rules.patterns]
en = ["lawyer", "court"]
ja = ["弁護士"]
"*" = ['re:\\bA-to-z\\b']
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_rules_file_of_ones_own(tmp_path):
    rules = load_rules(write(tmp_path, OWN_RULES))
    assert [r.rule_id for r in rules.rules] == ["legal-threat"] and rules.rules[0].parts == (
        "subject",
        "body",
    )

    def excerpts(body, locale):
        return [f.excerpt for f in lint_message(body=body, channel="relay_email", locale=locale, rules=rules)]

    assert excerpts("Our LAWYER says: no A-to-z claim.", "en") == ["LAWYER", "A-to-z"]
    assert excerpts("See the lawyers' courtyard.", "en") == []  # whole words only in Latin script
    assert excerpts("弁護士に相談しました", "ja") == ["弁護士"]  # anywhere in Japanese
    assert excerpts("Our lawyer says no.", "de") == []  # English keywords are not read for German text


RULE = {
    "id": '"coupon-code"',
    "kind": '"pattern"',
    "severity": '"error"',
    "channels": '["relay_email"]',
    "message": '"Coupon code in a relay message ({match})"',
    "fix": '"Remove the code."',
}


def rules_file(patterns: str | None = 'en = ["coupon"]', **changes: str | None) -> str:
    """One [[rules]] entry: RULE with `changes` (None drops a key) and a [rules.patterns] table."""
    keys = {**RULE, **changes}
    lines = ["[[rules]]", *(f"{key} = {value}" for key, value in keys.items() if value is not None)]
    if patterns is not None:
        lines += ["[rules.patterns]", patterns]
    return "\n".join(lines) + "\n"


WHERE = r"rules\[0\] \(coupon-code\): "


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (rules_file(patterns=None), WHERE + r"patterns: missing \(kind pattern needs it\)"),
        (rules_file(severity=None, fix=None), WHERE + "severity: missing.*" + WHERE + "fix: missing"),
        (rules_file(kind='"keyword"'), WHERE + r"kind: unknown kind 'keyword'; known: pattern, phone, link"),
        (
            rules_file(patterns="""en = ["coupon", 're:(code']"""),
            WHERE + r"patterns\.en\[1\]: invalid regular expression '\(code' \(missing \)",
        ),
        (
            rules_file(channels='["relay_mail"]'),
            WHERE + "channels: unknown channel 'relay_mail'; known: solicitation, relay_email, direct_email",
        ),
        (rules_file(context='"review-words"'), WHERE + r"context: no list 'review-words' in \[lists\]"),
        (rules_file(language='"en"'), WHERE + "language: unknown key"),
        (
            rules_file(message='"Link to {domain}"'),
            WHERE + r"message: unknown placeholder \{domain\}; allowed: \{match\}",
        ),
        (
            rules_file(patterns='english = ["coupon"]'),
            WHERE + "patterns.english: language must be an ISO 639-1",
        ),
        (
            rules_file(patterns="en = ['re:\\s*']"),
            WHERE + r"patterns\.en\[0\]: regular expression '\\s\*' matches the empty string",
        ),
        (rules_file() * 2, r"rules\[1\] \(coupon-code\): id: duplicate id, also rules\[0\]"),
        (rules_file(id='"Coupon Code"'), r"rules\[0\] \(Coupon Code\): id: 'Coupon Code' is not kebab-case"),
        (
            rules_file(kind='"link"', allow_domains='["https://amazon.de"]'),
            WHERE + "allow_domains: 'https://amazon.de' is not a lower-case domain name",
        ),
        ("version = 2\n" + rules_file(), ": version: unsupported format version 2"),
        ("version = 1\n", r": rules: no \[\[rules\]\] entries"),
        ('[[rules]]\nid = "coupon-code\n', r": \(TOML syntax\): "),
    ],
    ids=[
        "missing-patterns",
        "missing-keys",
        "unknown-kind",
        "invalid-regex",
        "unknown-channel",
        "unknown-list",
        "unknown-key",
        "bad-placeholder",
        "bad-language",
        "empty-match",
        "duplicate-id",
        "bad-id",
        "bad-domain",
        "version",
        "no-rules",
        "toml-syntax",
    ],
)
def test_a_bad_rules_file_is_refused_naming_file_rule_key_and_problem(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as error:
        load_rules(path)
    message = str(error.value)
    assert message.startswith(str(path)), message
    assert re.search(expected, message, re.DOTALL), message
    assert "example:" in message or "TOML syntax" in message


def test_every_problem_in_a_rules_file_is_reported_at_once(tmp_path):
    text = rules_file(kind='"keyword"') + rules_file(id='"gift-card"', channels='["sms"]')
    with pytest.raises(ConfigError) as error:
        load_rules(write(tmp_path, text))
    lines = str(error.value).splitlines()
    assert lines[0].endswith("2 problems in the compliance rules:")
    assert "(coupon-code): kind:" in lines[1] and "(gift-card): channels:" in lines[2]


def test_a_missing_rules_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere\.toml: \(file\): rules file does not exist"):
        load_rules(tmp_path / "nowhere.toml")


def test_a_yamato_slip_number_after_its_label_is_no_phone_number():
    body = "ご注文 302-4471553-8820631 の商品を発送しました。お問い合わせ伝票番号は 3839-0812-2207 です。"
    findings = lint_message(body=body, channel="relay_email", locale="ja", order_id="302-4471553-8820631")
    assert [f.rule_id for f in findings] == []


@pytest.mark.parametrize(
    ("locale", "body", "repeated"),
    [
        (
            "en",
            "Order 302-4471553-8820631: could you leave a review? It helps other buyers. "
            "P.S. Don't forget to review the bottle!",
            True,
        ),
        ("en", "Order 302-4471553-8820631: could you leave a review? Thank you for your feedback so far.", False),
        (
            "de",
            "Bestellung 302-4471553-8820631: Würden Sie eine Bewertung abgeben? Bitte bewerten Sie uns auch.",
            True,
        ),
        ("de", "Bestellung 302-4471553-8820631: Würden Sie eine Bewertung abgeben? Vielen Dank!", False),
        (
            "ja",
            "注文番号 302-4471553-8820631 のレビューをお願いいたします。"
            "お時間があればレビューを書いていただけますと幸いです。",
            True,
        ),
        (
            "ja",
            "注文番号 302-4471553-8820631 のレビューをお願いいたします。"
            "レビューを書く前にご質問があればご連絡ください。",
            False,
        ),
        ("zh", "订单 302-4471553-8820631：方便的话请留下评价。再次提醒，给个评价吧。", True),
        ("zh", "订单 302-4471553-8820631：方便的话请留下评价。谢谢！", False),
    ],
)
def test_a_review_request_made_twice_in_one_message(locale, body, repeated):
    findings = lint_message(body=body, channel="relay_email", locale=locale, order_id="302-4471553-8820631")
    assert ("repeated-review-request" in {f.rule_id for f in findings}) is repeated
