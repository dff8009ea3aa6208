"""Relay mail for the local stand-in and the demo: what Amazon would deliver to the seller's mailbox, and the seller's
replies to it, written into a Maildir the way an MDA does.

A buyer message has Amazon's shape (see sellerreach.inbox.relay): the subject and frame in the marketplace's
language ("Anfrage von Amazon-Kunde ... (Bestellung: ...)", order block, Begin/End message markers, footer), the
buyer's own text in the buyer's language, and, when it answers the seller, the seller's words quoted the way the
buyer's mail client quotes them. Transfer encoding, charset (a legacy one for ja, zh, fr and de now and then) and MIME
shape (text, HTML only, or both) vary deterministically with the message id, so the same inputs give the same bytes.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import os
import re
import socket
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from sellerreach.marketplaces import Marketplace, get_marketplace

TOPICS = ("where_is_my_order", "return_request", "damaged_item", "question", "complaint", "thanks")
LANGUAGES = ("en", "de", "fr", "es", "it", "ja", "zh")

# --- what buyers write -------------------------------------------------------------------------------------------

_BUYER_TEXTS: dict[str, dict[str, str]] = {
    "where_is_my_order": {
        "en": "Hello,\n\nI ordered this a week ago and the tracking page still says the label was created. "
        "Could you please tell me where my parcel is? I need it before the weekend.\n\nThanks",
        "de": "Hallo,\n\nich habe vor einer Woche bestellt und die Sendungsverfolgung zeigt immer noch nur "
        "das Versandetikett. Können Sie mir bitte sagen, wo mein Paket ist? Ich brauche es bis zum Wochenende."
        "\n\nVielen Dank",
        "fr": "Bonjour,\n\nJ'ai passé commande il y a une semaine et le suivi indique toujours que l'étiquette "
        "a été créée. Pouvez-vous me dire où se trouve mon colis ? J'en ai besoin avant le week-end.\n\nMerci",
        "es": "Hola,\n\nHice el pedido hace una semana y el seguimiento todavía dice que se ha creado la etiqueta. "
        "¿Me puede decir dónde está mi paquete? Lo necesito antes del fin de semana.\n\nGracias",
        "it": "Buongiorno,\n\nho ordinato una settimana fa e il tracciamento indica ancora che l'etichetta è stata "
        "creata. Potete dirmi dove si trova il mio pacco? Mi serve prima del fine settimana.\n\nGrazie",
        "ja": "お世話になっております。\n\n一週間前に注文しましたが、配送状況はまだ「出荷準備中」のままです。"
        "荷物が今どこにあるか教えていただけますか。週末までに必要です。\n\nよろしくお願いいたします。",
        "zh": "您好，\n\n我一周前下的订单，物流信息到现在还显示只是创建了运单。"
        "请问我的包裹现在在哪里？我周末前需要用到。\n\n谢谢",
    },
    "return_request": {
        "en": "Hi,\n\nThe bottle is smaller than I expected and I would like to return it. It is unused and still in "
        "its box. Could you please send me a return label?\n\nBest regards",
        "de": "Guten Tag,\n\ndie Flasche ist kleiner als erwartet und ich möchte sie zurücksenden. Sie ist unbenutzt "
        "und noch in der Verpackung. Können Sie mir bitte ein Rücksendeetikett schicken?\n\nMit freundlichen Grüßen",
        "fr": "Bonjour,\n\nLa gourde est plus petite que prévu et je souhaite la retourner. Elle n'a pas servi et "
        "elle est encore dans sa boîte. Pouvez-vous m'envoyer une étiquette de retour ?\n\nCordialement",
        "es": "Hola,\n\nLa botella es más pequeña de lo que esperaba y quiero devolverla. Está sin usar y todavía "
        "en su caja. ¿Me pueden enviar una etiqueta de devolución?\n\nSaludos",
        "it": "Buongiorno,\n\nla borraccia è più piccola di quanto pensassi e vorrei restituirla. Non è mai stata "
        "usata ed è ancora nella sua scatola. Potete inviarmi un'etichetta per il reso?\n\nCordiali saluti",
        "ja": "こんにちは。\n\n思っていたよりもボトルが小さかったので、返品したいと思います。"
        "未使用で箱に入ったままです。"
        "返品用のラベルを送っていただけますでしょうか。\n\nよろしくお願いします。",
        "zh": "您好，\n\n这个水壶比我想象的小，我想退货。它没有使用过，还在原包装盒里。"
        "能不能请您给我发一张退货标签？\n\n谢谢",
    },
    "damaged_item": {
        "en": "Hello,\n\nThe parcel arrived today but the lid of the bottle is cracked and it leaks. I have photos if "
        "you need them. Can you send a replacement or refund me?\n\nThank you",
        "de": "Hallo,\n\ndas Paket ist heute angekommen, aber der Deckel der Flasche ist gesprungen und sie ist "
        "undicht. Ich habe Fotos, falls Sie diese brauchen. Können Sie mir Ersatz schicken oder den Betrag "
        "erstatten?\n\nDanke",
        "fr": "Bonjour,\n\nLe colis est arrivé aujourd'hui mais le couvercle de la gourde est fêlé et elle fuit. "
        "J'ai des photos si vous en avez besoin. Pouvez-vous m'envoyer un remplacement ou me rembourser ?\n\nMerci",
        "es": "Hola,\n\nEl paquete ha llegado hoy pero la tapa de la botella está rota y pierde agua. Tengo fotos "
        "por si las necesitan. ¿Pueden enviarme otra o hacerme el reembolso?\n\nGracias",
        "it": "Buongiorno,\n\nil pacco è arrivato oggi ma il tappo della borraccia è crepato e perde. Ho delle "
        "foto se vi servono. Potete mandarmene un'altra o rimborsarmi?\n\nGrazie",
        "ja": "お世話になっております。\n\n本日荷物が届きましたが、ボトルのふたにひびが入っていて水が漏れます。"
        "必要であれば写真をお送りします。交換または返金をお願いできますか。\n\nよろしくお願いいたします。",
        "zh": "您好，\n\n包裹今天到了，但是水壶的盖子裂了，会漏水。如果需要的话我可以提供照片。"
        "请问可以给我换一个或者退款吗？\n\n谢谢",
    },
    "question": {
        "en": "Hi,\n\nIs this bottle dishwasher safe, and does the lid fit the older 500 ml model as well? "
        "I would like to order two more if it does.\n\nThanks",
        "de": "Hallo,\n\nist die Flasche spülmaschinenfest und passt der Deckel auch auf das ältere Modell mit "
        "500 ml? Wenn ja, würde ich gerne noch zwei bestellen.\n\nDanke",
        "fr": "Bonjour,\n\nEst-ce que cette gourde passe au lave-vaisselle et est-ce que le bouchon va aussi sur "
        "l'ancien modèle de 500 ml ? Si oui, je voudrais en commander deux de plus.\n\nMerci",
        "es": "Hola,\n\n¿La botella se puede lavar en el lavavajillas y la tapa sirve también para el modelo "
        "antiguo de 500 ml? Si es así, quiero pedir dos más.\n\nGracias",
        "it": "Buongiorno,\n\nla borraccia si può lavare in lavastoviglie e il tappo va bene anche per il modello "
        "precedente da 500 ml? Se sì, vorrei ordinarne altre due.\n\nGrazie",
        "ja": "こんにちは。\n\nこのボトルは食洗機で洗えますか。また、ふたは以前の500mlのモデルにも合いますか。"
        "合うようでしたら、あと2本注文したいと思っています。\n\nよろしくお願いします。",
        "zh": "您好，\n\n请问这个水壶可以用洗碗机洗吗？盖子也适用于以前的500毫升款吗？"
        "如果可以的话，我想再订两个。\n\n谢谢",
    },
    "complaint": {
        "en": "This is the second time I am writing and I still have not received an answer or my order. "
        "This is not acceptable. If I do not hear from you today I will ask Amazon for a refund.",
        "de": "Ich schreibe Ihnen jetzt zum zweiten Mal und habe immer noch keine Antwort und auch meine Bestellung "
        "nicht erhalten. Das ist nicht in Ordnung. Wenn ich heute nichts von Ihnen höre, wende ich mich an Amazon.",
        "fr": "C'est la deuxième fois que je vous écris et je n'ai toujours reçu ni réponse ni ma commande. "
        "Ce n'est pas acceptable. Sans nouvelles de votre part aujourd'hui, je demanderai un remboursement à Amazon.",
        "es": "Es la segunda vez que les escribo y todavía no he recibido ni una respuesta ni mi pedido. "
        "Esto no es aceptable. Si hoy no sé nada de ustedes, pediré el reembolso a Amazon.",
        "it": "È la seconda volta che vi scrivo e non ho ancora ricevuto né una risposta né il mio ordine. "
        "Non è accettabile. Se oggi non ho vostre notizie chiederò il rimborso ad Amazon.",
        "ja": "ご連絡するのは二度目ですが、まだお返事も商品も届いていません。"
        "このような対応は納得できません。本日中にご連絡がない場合は、Amazonに返金を申請します。",
        "zh": "这是我第二次给你们写信了，到现在既没有收到回复，也没有收到我的订单。"
        "这是不能接受的。如果今天还没有消息，我会向亚马逊申请退款。",
    },
    "thanks": {
        "en": "Hello,\n\nThe replacement arrived this morning and it is perfect. Thank you for your quick help, "
        "I really appreciate it.\n\nKind regards",
        "de": "Hallo,\n\nder Ersatz ist heute Morgen angekommen und alles ist in Ordnung. Vielen Dank für Ihre "
        "schnelle Hilfe, das weiß ich sehr zu schätzen.\n\nFreundliche Grüße",
        "fr": "Bonjour,\n\nLe remplacement est arrivé ce matin et il est parfait. Merci pour votre aide rapide, "
        "c'est très apprécié.\n\nBien cordialement",
        "es": "Hola,\n\nEl repuesto ha llegado esta mañana y está perfecto. Muchas gracias por su ayuda tan "
        "rápida, se lo agradezco mucho.\n\nUn saludo",
        "it": "Buongiorno,\n\nil prodotto sostitutivo è arrivato stamattina ed è perfetto. Grazie per il vostro "
        "aiuto così rapido, lo apprezzo molto.\n\nCordiali saluti",
        "ja": "こんにちは。\n\n交換品が今朝届きました。問題ありません。"
        "迅速にご対応いただき、本当にありがとうございました。"
        "\n\nよろしくお願いいたします。",
        "zh": "您好，\n\n换货今天早上到了，完全没有问题。非常感谢你们这么快就帮我处理了。\n\n祝好",
    },
}

# The seller's earlier words, as the buyer's mail client quotes them in a reply.
_SELLER_QUOTES = {
    "en": "Thank you for your message. We are looking into your order and will get back to you shortly.",
    "de": "Vielen Dank für Ihre Nachricht. Wir prüfen Ihre Bestellung und melden uns in Kürze.",
    "fr": "Merci pour votre message. Nous vérifions votre commande et revenons vers vous rapidement.",
    "es": "Gracias por su mensaje. Estamos revisando su pedido y le responderemos en breve.",
    "it": "Grazie per il suo messaggio. Stiamo verificando il suo ordine e la ricontatteremo a breve.",
    "ja": "ご連絡ありがとうございます。ご注文について確認し、追ってご連絡いたします。",
    "zh": "感谢您的来信。我们正在核实您的订单，会尽快回复您。",
}
_EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# The attribution line each language's usual mail client puts above a quote.
_ATTRIBUTIONS = {
    "en": "On {day} {month_en} {year} at {time}, <{seller}> wrote:",
    "de": "Am {day:02d}.{month:02d}.{year} um {time} schrieb <{seller}>:",
    "fr": "Le {day:02d}/{month:02d}/{year} à {time}, <{seller}> a écrit :",
    "es": "El {day:02d}/{month:02d}/{year} a las {time}, <{seller}> escribió:",
    "it": "Il giorno {day:02d}/{month:02d}/{year} alle ore {time} <{seller}> ha scritto:",
    "ja": "{year}年{month}月{day}日 {time} <{seller}>:",
    "zh": "<{seller}> 于{year}年{month}月{day}日 {time}写道：",
}


# --- Amazon's frame ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """Amazon's wording around a buyer message in one marketplace language."""

    subject: str  # with {name} and {order_id}
    subject_without_order: str
    order_line: str
    begin_marker: str
    end_marker: str
    respond: str  # followed by the Seller Central link
    closing: str
    helpful: str


_FRAMES = {
    "en": _Frame(
        "Inquiry from Amazon customer {name} (Order: {order_id})",
        "Inquiry from Amazon customer {name}",
        "Order ID: {order_id}",
        "Begin message",
        "End message",
        "To respond to this customer, please reply to this e-mail or visit your seller account at the following link:",
        "Sincerely,\nCustomer Service Department",
        "Was this email helpful?",
    ),
    "de": _Frame(
        "Anfrage von Amazon-Kunde {name} (Bestellung: {order_id})",
        "Anfrage von Amazon-Kunde {name}",
        "Bestellnummer: {order_id}",
        "Beginn der Nachricht",
        "Ende der Nachricht",
        "Um diesem Kunden zu antworten, antworten Sie bitte auf diese E-Mail oder besuchen Sie Ihr Verkäuferkonto "
        "über den folgenden Link:",
        "Mit freundlichen Grüßen\nKundenservice",
        "War diese E-Mail hilfreich?",
    ),
    "fr": _Frame(
        "Demande de renseignements de la part du client Amazon {name} (Commande : {order_id})",
        "Demande de renseignements de la part du client Amazon {name}",
        "Numéro de commande : {order_id}",
        "Début du message",
        "Fin du message",
        "Pour répondre à ce client, veuillez répondre à cet e-mail ou vous rendre dans votre compte vendeur via le "
        "lien suivant :",
        "Cordialement,\nLe Service Client",
        "Cet e-mail vous a-t-il été utile ?",
    ),
    "es": _Frame(
        "Consulta del cliente de Amazon {name} (Pedido: {order_id})",
        "Consulta del cliente de Amazon {name}",
        "Número de pedido: {order_id}",
        "Inicio del mensaje",
        "Fin del mensaje",
        "Para responder a este cliente, responde a este correo electrónico o visita tu cuenta de vendedor en el "
        "siguiente enlace:",
        "Atentamente,\nServicio de Atención al Cliente",
        "¿Te ha resultado útil este correo electrónico?",
    ),
    "it": _Frame(
        "Richiesta dal cliente Amazon {name} (Ordine: {order_id})",
        "Richiesta dal cliente Amazon {name}",
        "Numero ordine: {order_id}",
        "Inizio del messaggio",
        "Fine del messaggio",
        "Per rispondere a questo cliente, rispondi a questa e-mail o visita il tuo account venditore al seguente "
        "link:",
        "Cordiali saluti,\nServizio Clienti",
        "Questa e-mail ti è stata utile?",
    ),
    "ja": _Frame(
        "Amazonのお客様からの問い合わせ {name} (注文番号: {order_id})",
        "Amazonのお客様からの問い合わせ {name}",
        "注文番号: {order_id}",
        "メッセージの開始",
        "メッセージの終了",
        "このお客様に返信するには、このEメールに返信するか、次のリンクからセラーアカウントにアクセスしてください:",
        "今後ともAmazon.co.jpをよろしくお願いいたします。\nカスタマーサービス",
        "このEメールは役に立ちましたか?",
    ),
}
_MARKER_DASHES = "-------------"

# Acme's demo catalogue as Amazon names it in the order block: (ASIN, title per frame language).
_PRODUCTS: tuple[tuple[str, dict[str, str]], ...] = (
    (
        "B08N5WRWNW",
        {
            "en": "Acme Insulated Water Bottle 750 ml, Black",
            "de": "Acme Isolierflasche 750 ml, Schwarz",
            "fr": "Acme Gourde isotherme 750 ml, Noir",
            "es": "Acme Botella térmica 750 ml, Negro",
            "it": "Acme Borraccia termica 750 ml, Nero",
            "ja": "Acme 真空断熱ボトル 750ml ブラック",
        },
    ),
    (
        "B07XJ8C8F5",
        {
            "en": "Acme Stainless Steel Lunch Box, 2 Compartments",
            "de": "Acme Edelstahl-Brotdose mit 2 Fächern",
            "fr": "Acme Boîte à déjeuner en inox, 2 compartiments",
            "es": "Acme Fiambrera de acero inoxidable, 2 compartimentos",
            "it": "Acme Portapranzo in acciaio inox, 2 scomparti",
            "ja": "Acme ステンレス製ランチボックス 2段",
        },
    ),
    (
        "B09G9FPHY6",
        {
            "en": "Acme Travel Mug 350 ml with Leak-Proof Lid, Sage",
            "de": "Acme Thermobecher 350 ml mit auslaufsicherem Deckel, Salbei",
            "fr": "Acme Mug de voyage 350 ml avec couvercle étanche, Sauge",
            "es": "Acme Taza de viaje 350 ml con tapa antigoteo, Salvia",
            "it": "Acme Tazza da viaggio 350 ml con coperchio antigoccia, Salvia",
            "ja": "Acme 携帯マグ 350ml 漏れ防止ふた付き セージ",
        },
    ),
)

# --- encodings ---------------------------------------------------------------------------------------------------

# Legacy charsets buyers' mail clients still send in, by the buyer's language.
_LEGACY_CHARSETS = {
    "ja": ("iso-2022-jp", "shift_jis"),
    "zh": ("gb2312",),
    "fr": ("iso-8859-1",),
    "de": ("iso-8859-1",),
}
_TRANSFER_ENCODINGS = ("quoted-printable", "base64")
_SHAPES = ("plain", "alternative", "html")

# Python 3.11 folds a long header by leaving the space between two encoded words outside them, where RFC 2047
# readers (Python's own included) drop it: "Amélie Lefèvre" comes back as "AmélieLefèvre" (CPython gh-144156).
# Written unfolded, within RFC 5322's 998 characters, each phrase stays in one encoded word.
_UNFOLDED_HEADERS = policy.default.clone(max_line_length=998)

_MAILDIR_SUBFOLDERS = ("cur", "new", "tmp")
_delivery_counter = itertools.count()


def compose_buyer_message(
    *,
    order_id: str | None,
    marketplace_id: str,
    buyer_name: str,
    relay_address: str,
    seller_address: str,
    language: str,
    topic: str,
    sent_at: datetime,
    message_id: str,
    in_reply_to: str | None = None,
    body: str | None = None,
) -> bytes:
    """The raw bytes of a relay mail from a buyer to the seller, as Amazon delivers it.

    `topic` is one of TOPICS and `language` one of LANGUAGES (the buyer's; Amazon's frame follows the marketplace);
    `body` replaces the topic's text. With `in_reply_to`, the subject gets "Re: " and the buyer's text quotes the
    seller. Raises ValueError for an unknown topic or language or a naive `sent_at`, KeyError for an unknown
    marketplace.
    """
    _check_choice("topic", topic, TOPICS)
    _check_choice("language", language, LANGUAGES)
    market = get_marketplace(marketplace_id)
    frame_language = market.language.split("-")[0]
    frame = _FRAMES.get(frame_language) or _FRAMES["en"]
    frame_language = frame_language if frame_language in _FRAMES else "en"
    buyer_text = body if body is not None else _BUYER_TEXTS[topic][language]
    if in_reply_to is not None:
        buyer_text = f"{buyer_text}\n\n{_quoted_seller(language, seller_address, sent_at)}"
    subject = (frame.subject if order_id else frame.subject_without_order).format(
        name=buyer_name, order_id=order_id
    )
    variant = hashlib.sha256(message_id.encode()).digest()
    plain = _framed_text(frame, frame_language, market, order_id, buyer_text)
    charset = _charset_for(language, plain, variant)
    message = _headers(
        sender=Address(display_name=f"{buyer_name} - Amazon Marketplace", addr_spec=relay_address),
        recipient=Address(addr_spec=seller_address),
        subject=f"Re: {subject}" if in_reply_to else subject,
        sent_at=sent_at,
        message_id=message_id,
        in_reply_to=in_reply_to,
    )
    _set_body(message, plain, _html_version(plain, charset), _SHAPES[variant[0] % 3], charset, variant)
    return message.as_bytes(policy=_UNFOLDED_HEADERS)


def compose_seller_reply(
    *,
    to_relay_address: str,
    seller_address: str,
    subject: str,
    body: str,
    sent_at: datetime,
    message_id: str,
    in_reply_to: str,
) -> bytes:
    """The raw bytes of the seller's reply to a buyer's relay address (the copy kept in the Sent folder).

    Raises ValueError for a naive `sent_at`.
    """
    message = _headers(
        sender=Address(addr_spec=seller_address),
        recipient=Address(addr_spec=to_relay_address),
        subject=subject,
        sent_at=sent_at,
        message_id=message_id,
        in_reply_to=in_reply_to,
    )
    message.set_content(body, charset="utf-8", cte="quoted-printable")
    return message.as_bytes(policy=_UNFOLDED_HEADERS)


def write_maildir_message(
    maildir: Path, raw: bytes, *, delivered_at: datetime, folder: str | None = None
) -> Path:
    """Deliver `raw` into a Maildir++ folder the way an MDA does and return the path of the delivered file.

    The file is written to tmp/ and renamed into new/, so a reader never sees half a message. `folder` None is the
    inbox (the Maildir root); "Sent" is the ".Sent" subfolder ("Archive/2026" becomes ".Archive.2026"); cur/, new/
    and tmp/ are created as needed. The file's mtime is `delivered_at` (Dovecot's INTERNALDATE). Raises ValueError
    for a folder name that is empty, contains ".." or starts with ".".
    """
    target = maildir if folder is None else maildir / _maildir_folder_name(folder)
    # A Maildir++ subfolder lives inside a Maildir: the root gets its cur/new/tmp too.
    for directory in {maildir, target}:
        for subfolder in _MAILDIR_SUBFOLDERS:
            (directory / subfolder).mkdir(parents=True, exist_ok=True)
    if folder is not None:
        (target / "maildirfolder").touch()  # Maildir++ marks subfolders so IMAP servers list them
    epoch = int(delivered_at.timestamp())
    digest = hashlib.sha256(raw).hexdigest()[:8]
    while True:
        name = f"{epoch}.{next(_delivery_counter)}_{digest}.{_host_name()}"
        if not (target / "new" / name).exists() and not (target / "cur" / name).exists():
            break
    temporary = target / "tmp" / name
    temporary.write_bytes(raw)
    os.utime(temporary, (delivered_at.timestamp(), delivered_at.timestamp()))
    delivered = target / "new" / name
    os.rename(temporary, delivered)
    return delivered


def relay_address_for(buyer_key: str, marketplace_id: str) -> str:
    """A buyer's relay address: a deterministic 15-character local part and the marketplace's relay domain.

    Raises KeyError for an unknown marketplace.
    """
    market = get_marketplace(marketplace_id)
    number = int.from_bytes(hashlib.sha256(f"{marketplace_id}|{buyer_key}".encode()).digest()[:12], "big")
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    local = "".join(alphabet[(number // len(alphabet) ** i) % len(alphabet)] for i in range(15))
    return f"{local}@marketplace.{market.name.lower()}"


# --- building blocks ---------------------------------------------------------------------------------------------


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of {', '.join(choices)}")


def _headers(
    *,
    sender: Address,
    recipient: Address,
    subject: str,
    sent_at: datetime,
    message_id: str,
    in_reply_to: str | None,
) -> EmailMessage:
    if sent_at.tzinfo is None:
        raise ValueError(
            f"sent_at must be timezone-aware, e.g. datetime(2026, 11, 2, 10, tzinfo=UTC); got {sent_at}"
        )
    message = EmailMessage(policy=policy.default)
    message["Date"] = format_datetime(sent_at)
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Message-ID"] = _bracketed(message_id)
    if in_reply_to is not None:
        message["In-Reply-To"] = _bracketed(in_reply_to)
        message["References"] = _bracketed(in_reply_to)
    return message


def _bracketed(message_id: str) -> str:
    message_id = message_id.strip()
    return message_id if message_id.startswith("<") else f"<{message_id}>"


def _quoted_seller(language: str, seller_address: str, sent_at: datetime) -> str:
    attribution = _ATTRIBUTIONS[language].format(
        day=sent_at.day,
        month=sent_at.month,
        month_en=_EN_MONTHS[sent_at.month - 1],
        year=sent_at.year,
        time=f"{sent_at:%H:%M}",
        seller=seller_address,
    )
    return f"{attribution}\n> {_SELLER_QUOTES[language]}"


def _framed_text(
    frame: _Frame, frame_language: str, market: Marketplace, order_id: str | None, text: str
) -> str:
    """The plain-text relay body: order block, the buyer's text between the markers, Amazon's footer."""
    seller_central = f"https://sellercentral.{market.name.lower()}"
    lines: list[str] = []
    if order_id:
        asin, titles = _PRODUCTS[int(hashlib.sha256(order_id.encode()).hexdigest(), 16) % len(_PRODUCTS)]
        lines += [
            frame.order_line.format(order_id=order_id),
            f"# 1 {titles[frame_language]}",
            f"ASIN: {asin}",
            "",
        ]
    lines += [
        f"{_MARKER_DASHES} {frame.begin_marker} {_MARKER_DASHES}",
        "",
        text,
        "",
        f"{_MARKER_DASHES} {frame.end_marker} {_MARKER_DASHES}",
        "",
        frame.respond,
        f"{seller_central}/messaging/inbox",
        "",
        frame.closing,
        market.name,
        "",
        frame.helpful,
        f"{seller_central}/messaging/feedback",
    ]
    return "\n".join(lines) + "\n"


def _html_version(plain: str, charset: str) -> str:
    paragraphs = "".join(
        f"<p>{html.escape(paragraph).replace(chr(10), '<br>')}</p>\n"
        for paragraph in re.split(r"\n{2,}", plain.strip())
    )
    return (
        f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={charset}">'
        "<style>p { font-family: Arial, sans-serif; font-size: 14px; }</style></head>\n"
        f"<body>\n{paragraphs}</body></html>\n"
    )


def _charset_for(language: str, text: str, variant: bytes) -> str:
    """UTF-8, or now and then the buyer language's legacy charset when the whole text fits in it."""
    legacy = _LEGACY_CHARSETS.get(language, ())
    if not legacy or variant[2] % 2:
        return "utf-8"
    charset = legacy[variant[3] % len(legacy)]
    try:
        text.encode(charset)
    except UnicodeEncodeError:
        return "utf-8"
    return charset


def _set_body(
    message: EmailMessage, plain: str, html_text: str, shape: str, charset: str, variant: bytes
) -> None:
    transfer_encoding = _TRANSFER_ENCODINGS[variant[1] % 2]
    if shape == "html":
        message.set_content(html_text, subtype="html", charset=charset, cte=transfer_encoding)
        return
    message.set_content(plain, charset=charset, cte=transfer_encoding)
    if shape == "alternative":
        message.add_alternative(html_text, subtype="html", charset=charset, cte=transfer_encoding)


def _maildir_folder_name(folder: str) -> str:
    parts = [part for part in folder.strip().strip("/").split("/") if part]
    if not parts or any(part in (".", "..") or part.startswith(".") for part in parts):
        raise ValueError(f"folder must be a name like 'Sent' or 'Archive/2026', got {folder!r}")
    return "." + ".".join(parts)


def _host_name() -> str:
    # Maildir names end in the delivering host; "/" and ":" would break the name, so keep it to a safe alphabet.
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "localhost"
