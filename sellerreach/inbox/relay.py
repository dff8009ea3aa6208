"""Reading Amazon's buyer-seller relay mail: who wrote, about which order, in which language, and what they wrote.

Amazon has no API that reads buyer messages. They arrive as e-mail from an anonymised relay address
(`7xk2b9qzl4m1rpt@marketplace.amazon.de`), wrapped in Amazon's frame (order block, Begin/End message markers,
footer), in whatever MIME shape and charset the buyer's mail client chose, often quoting the seller's previous
message. `parse_mail` turns one raw message into a `ParsedMail`: the author's own text with the frame and the quoted
history removed, the order id, the relay address and its marketplace, and the attachments noted but never kept.
Mail that cannot be read as a message raises `MalformedMail`, which the caller quarantines.

Everything language-specific (markers, footers, quote attributions, reply prefixes, stop words) is data at the top of
this module; the functions below it know no language.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import email
import email.errors
import email.utils
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import Message
from html.parser import HTMLParser

from sellerreach.errors import SkippableRecord
from sellerreach.language import detect_language
from sellerreach.marketplaces import MARKETPLACES

# --- Amazon's shapes ---------------------------------------------------------------------------------------------

ORDER_ID_PATTERN = re.compile(r"(?<![0-9])[0-9]{3}-[0-9]{7}-[0-9]{7}(?![0-9])")
_RELAY_ADDRESS = re.compile(r"^[^@\s]+@marketplace\.amazon\.[a-z]{2,3}(?:\.[a-z]{2})?$", re.IGNORECASE)
# Every marketplace relays through "marketplace." + its Amazon domain (Amazon.co.uk -> marketplace.amazon.co.uk).
_RELAY_DOMAIN_MARKETPLACES = {
    f"marketplace.{market.name.lower()}": market.marketplace_id for market in MARKETPLACES.values()
}
_MISSING_MESSAGE_ID_DOMAIN = "sellerreach.invalid"

# The phrase inside Amazon's "------------- Begin message -------------" lines, casefolded, without a trailing colon.
_MESSAGE_BEGIN_PHRASES = frozenset(
    {
        "begin message",
        "message",
        "beginn der nachricht",
        "nachricht",
        "début du message",
        "inicio del mensaje",
        "mensaje",
        "inizio del messaggio",
        "inizio messaggio",
        "messaggio",
        "メッセージの開始",
        "メッセージ",
        "消息开始",
        "消息",
        "início da mensagem",
        "inicio da mensagem",
        "iniciar mensagem",
        "mensagem",
    }
)
_MESSAGE_END_PHRASES = frozenset(
    {
        "end message",
        "end of message",
        "ende der nachricht",
        "fin du message",
        "fin del mensaje",
        "fine del messaggio",
        "fine messaggio",
        "メッセージの終了",
        "消息结束",
        "fim da mensagem",
        "encerrar mensagem",
        "mensagem final",
    }
)
_MARKER_LINE = re.compile(r"^\s*-{3,}\s*(.+?)\s*-{3,}\s*$")

# A line containing one of these (casefolded) starts Amazon's footer: nothing after it is the author's.
_FOOTER_PHRASES = (
    "to respond to this customer",
    "was this email helpful",
    "for your information: to help arbitrate disputes",
    "we hope you found this message to be useful",
    "um diesem kunden zu antworten",
    "war diese e-mail hilfreich",
    "pour répondre à ce client",
    "cet e-mail vous a-t-il été utile",
    "para responder a este cliente",
    "te ha resultado útil este correo",
    "per rispondere a questo cliente",
    "questa e-mail ti è stata utile",
    "このお客様に返信するには",
    "このeメールは役に立ちましたか",
    "要回复此买家",
    "此电子邮件是否有帮助",
)

# Lines of Amazon's order block ("Order ID: ...", "# 1 Product", "ASIN: ...", "Quantity: 1") in any language.
_ORDER_LABELS = (
    "order id",
    "order number",
    "order",
    "bestellnummer",
    "bestellung",
    "numéro de commande",
    "n° de commande",
    "commande",
    "número de pedido",
    "nº de pedido",
    "pedido",
    "numero ordine",
    "numero d'ordine",
    "ordine",
    "注文番号",
    "订单号",
    "订单编号",
)
_QUANTITY_LABELS = ("quantity", "menge", "quantité", "cantidad", "quantità", "数量")
_ORDER_BLOCK_LINE = re.compile(
    r"^(?:"
    rf"(?:{'|'.join(map(re.escape, _ORDER_LABELS))})\s*[:：]?\s*[0-9]{{3}}-[0-9]{{7}}-[0-9]{{7}}\s*[:：]?"
    r"|#\s*[0-9]+\s+\S.*"
    r"|\(?asin\s*[:：]?\s*[a-z0-9]{10}\)?"
    rf"|(?:{'|'.join(map(re.escape, _QUANTITY_LABELS))})\s*[:：]\s*[0-9]+"
    r")$"
)

# --- quoted history ---------------------------------------------------------------------------------------------

# Attribution lines mail clients put above a quoted message, matched against a line joined with the next one or two
# (Gmail wraps long attributions).
_QUOTE_ATTRIBUTIONS = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"^on\b.{4,250}\bwrote:$",  # en: On Mon, 2 Nov 2026 at 10:00, Acme <...> wrote:
        r"^am\b.{4,250}\bschrieb\b.{0,250}:$",  # de: Am Mo., 2. Nov. 2026 um 10:00 Uhr schrieb Acme <...>:
        r"^le\b.{4,250}\ba écrit\s?:$",  # fr: Le lun. 2 nov. 2026 à 10:00, Acme <...> a écrit :
        r"^el\b.{4,250}\bescribió:$",  # es: El lun, 2 nov 2026 a las 10:00, Acme (<...>) escribió:
        r"^il\b.{4,250}\bha scritto:$",  # it: Il giorno lun 2 nov 2026 alle ore 10:00 Acme <...> ha scritto:
        r"^[0-9]{4}年[0-9]{1,2}月[0-9]{1,2}日.{0,250}[:：]$",  # ja: 2026年11月2日(月) 10:00 Acme <...>:
        r"^.{1,250}于\s?[0-9]{4}年.{0,100}写道[:：]$",  # zh: Acme <...> 于2026年11月2日周一 10:00写道：
        r"^在\s?.{1,250}写道[:：]$",  # zh (Apple Mail): 在 2026年11月2日 10:00，Acme <...> 写道：
    )
)
# How the first line of a wrapped attribution begins: an opening word of the patterns above, or the quoted address.
_QUOTE_ATTRIBUTION_OPENING = re.compile(
    r"^(?:on|am|le|el|il)\b|^[0-9]{4}年|^在|<[^<>\s]+@[^<>\s]+>", re.IGNORECASE
)
# "-----Original Message-----" and its translations, casefolded, with the dashes and spaces around them removed.
_ORIGINAL_MESSAGE_PHRASES = frozenset(
    {
        "original message",
        "forwarded message",
        "ursprüngliche nachricht",
        "weitergeleitete nachricht",
        "message d'origine",
        "message d’origine",
        "message transféré",
        "mensaje original",
        "mensaje reenviado",
        "messaggio originale",
        "messaggio inoltrato",
        "元のメッセージ",
        "原始邮件",
        "原始郵件",
    }
)
# Outlook puts a "From: ... / Sent: ... / To: ... / Subject: ..." block (labels localised) above the quoted message.
_OUTLOOK_FROM_LABELS = ("from", "von", "de", "da", "差出人", "送信者", "发件人", "寄件者")
_OUTLOOK_SENT_LABELS = (
    "sent",
    "date",
    "gesendet",
    "datum",
    "envoyé",
    "enviado",
    "fecha",
    "inviato",
    "data",
    "送信日時",
    "日付",
    "发送时间",
    "日期",
    "寄件日期",
)
_OUTLOOK_FROM_LINE = re.compile(rf"^\*?(?:{'|'.join(_OUTLOOK_FROM_LABELS)})\s*\*?\s*[:：]", re.IGNORECASE)
_OUTLOOK_SENT_LINE = re.compile(rf"^\*?(?:{'|'.join(_OUTLOOK_SENT_LABELS)})\s*\*?\s*[:：]", re.IGNORECASE)
# HTML elements that hold quoted history (Gmail, Yahoo, Thunderbird, Apple Mail): left out of the text entirely.
_HTML_QUOTE_CLASSES = ("gmail_quote", "yahoo_quoted", "moz-cite-prefix")
_DECLARATION = re.compile(r"<!(?!--)[^>\n]*>?")

# --- reply prefixes ----------------------------------------------------------------------------------------------

_REPLY_PREFIXES = (
    "re",
    "fwd",
    "fw",
    "aw",
    "wg",
    "antw",
    "tr",
    "rv",
    "r",
    "i",
    "回复",
    "回覆",
    "答复",
    "答覆",
    "转发",
    "轉寄",
)
_REPLY_PREFIX = re.compile(
    rf"^\s*(?:{'|'.join(map(re.escape, _REPLY_PREFIXES))})\s*(?:\[[0-9]+\]|\([0-9]+\)|\^[0-9]+)?\s*[:：]\s*",
    re.IGNORECASE,
)
_SUBJECT_TAG = re.compile(r"^\s*\[[^\]]*\]\s*")

# --- charsets ----------------------------------------------------------------------------------------------------

# What to try, in order, for a declared charset (keyed by Python's codec name for it). Mail labelled with a legacy
# charset is usually written in that charset's Windows superset (GB2312 -> GBK/GB18030, Shift_JIS -> CP932,
# ISO-8859-1 -> windows-1252, ISO-2022-JP with half-width katakana); UTF-8 is the usual truth behind a wrong label.
_CHARSET_CANDIDATES = {
    "ascii": ("utf-8", "cp1252"),
    "iso8859-1": ("cp1252", "latin-1"),
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "shift_jis": ("cp932", "shift_jis_2004"),
    "iso2022_jp": ("iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_3"),
    "euc_jp": ("euc_jis_2004",),
}
_UNDECLARED_CHARSET_CANDIDATES = ("utf-8", "cp1252")
# Labels old mailers use that Python's codec registry does not know.
_CHARSET_ALIASES = {"x-sjis": "shift_jis", "x-gbk": "gbk", "x-euc-jp": "euc_jp"}
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")


class MalformedMail(SkippableRecord):
    """Mail that cannot be read as a message; `reason` says why (quarantined by the caller)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Attachment:
    filename: str | None
    content_type: str
    size_bytes: int  # decoded size


@dataclass(frozen=True)
class ParsedMail:
    message_id: str  # "<...>"; for mail without one, "<sha256-of-raw-hex[:40]@sellerreach.invalid>"
    in_reply_to: str | None
    references: tuple[str, ...]
    from_address: str  # lowercased addr-spec
    from_name: str | None  # decoded display name
    to_addresses: tuple[str, ...]  # lowercased addr-specs of To and Cc
    sent_at: datetime | None  # Date header in UTC; None when missing or unparseable
    subject: str  # decoded, whitespace collapsed
    body_text: str  # the author's own text: no relay frame, footer or quoted history
    # ISO 639-1 (en de fr es it ja zh) of the body, else of the subject; None when unsure
    language: str | None
    amazon_order_id: str | None
    # the buyer's relay address: From, or the first relay recipient of a seller's reply
    relay_address: str | None
    marketplace_id: str | None  # from the relay address domain
    attachments: tuple[Attachment, ...]
    is_html_only: bool


# The stdlib parser has raised each of these on hostile input in some Python version; a mail it cannot walk is
# quarantined like any other unreadable mail instead of stopping the sync.
_PARSER_FAILURES = (email.errors.MessageError, LookupError, ValueError, TypeError, AttributeError, IndexError)


def parse_mail(raw: bytes) -> ParsedMail:
    """Read one raw RFC 5322 message (bytes as stored by the mail server) into a `ParsedMail`.

    Raises MalformedMail (reason such as 'no From header', 'not an RFC 5322 message', 'undecodable body') when the
    mail cannot be read; unknown or wrong charsets are decoded with replacement characters instead.
    """
    try:
        message = _read_message(raw)
        return _parse_message(message, raw)
    except MalformedMail:
        raise
    except (*_PARSER_FAILURES, RecursionError) as error:
        raise MalformedMail(f"unreadable message structure ({type(error).__name__})") from error


def is_relay_address(address: str) -> bool:
    """Whether `address` is an Amazon relay address: `<anything>@marketplace.amazon.<tld>`, any case."""
    return bool(_RELAY_ADDRESS.match(address.strip()))


def relay_marketplace(address: str) -> str | None:
    """The marketplace id behind a relay address (or a bare relay domain); None for other domains.

    marketplace.amazon.com is Amazon.com (US), although Amazon also relays CA and MX buyers through it.
    """
    domain = address.strip().rpartition("@")[2].lower()
    return _RELAY_DOMAIN_MARKETPLACES.get(domain)


def find_order_id(text: str) -> str | None:
    """The first Amazon order id (`123-1234567-1234567`, ASCII digits) in `text`, or None."""
    match = ORDER_ID_PATTERN.search(text)
    return match.group() if match else None


def normalise_subject(subject: str) -> str:
    """The threading key of a subject: reply/forward prefixes removed, NFKC, casefolded, whitespace collapsed.

    Prefixes (Re:, AW:, TR:, RV:, R:, I:, 回复：, ...) are removed however many there are, also after leading
    "[EXTERNAL]"-style tags; the tags themselves are kept.
    """
    rest = _collapse_whitespace(unicodedata.normalize("NFKC", subject))
    tags: list[str] = []
    while True:
        if prefix := _REPLY_PREFIX.match(rest):
            rest = rest[prefix.end() :]
        elif tag := _SUBJECT_TAG.match(rest):
            tags.append(tag.group().strip())
            rest = rest[tag.end() :]
        else:
            break
    return _collapse_whitespace(" ".join([*tags, rest])).casefold()


# --- the message as a whole --------------------------------------------------------------------------------------


def _read_message(raw: bytes) -> Message:
    if not raw.strip():
        raise MalformedMail("not an RFC 5322 message (empty)")
    # compat32 keeps headers as written and parses nothing it is not asked for: policy.default builds a header
    # object for every header read (on Content-Type alone, several per part), which made it 5 times slower here.
    # Headers are decoded by this module from their raw values either way (see _raw_header_values).
    message = email.message_from_bytes(raw, policy=policy.compat32)
    if not message.keys():
        raise MalformedMail("not an RFC 5322 message")
    if "From" not in message:
        raise MalformedMail("no From header")
    return message


def _parse_message(message: Message, raw: bytes) -> ParsedMail:
    from_name, from_address = _sender(message)
    to_addresses = tuple(address for _, address in _addresses(message, "To") + _addresses(message, "Cc"))
    subject = _collapse_whitespace(_header_text(message, "Subject") or "")
    body = _read_body(message)
    body_text = _author_text(body.text)
    if is_relay_address(from_address):
        relay_address = from_address
    else:
        relay_address = next((address for address in to_addresses if is_relay_address(address)), None)
    message_ids = _message_ids(_header_text(message, "Message-ID"))
    return ParsedMail(
        message_id=message_ids[0] if message_ids else _stand_in_message_id(raw),
        in_reply_to=next(iter(_message_ids(_header_text(message, "In-Reply-To"))), None),
        references=_message_ids(_header_text(message, "References")),
        from_address=from_address,
        from_name=from_name,
        to_addresses=to_addresses,
        sent_at=_sent_at(_header_text(message, "Date")),
        subject=subject,
        body_text=body_text,
        language=detect_language(body_text) or detect_language(subject),
        amazon_order_id=find_order_id(subject) or find_order_id(body.text),
        relay_address=relay_address,
        marketplace_id=relay_marketplace(relay_address) if relay_address else None,
        attachments=body.attachments,
        is_html_only=body.is_html_only,
    )


def _stand_in_message_id(raw: bytes) -> str:
    """A stable id for mail without a Message-ID, so re-reading the same bytes never makes a second message."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@{_MISSING_MESSAGE_ID_DOMAIN}>"


# --- headers -----------------------------------------------------------------------------------------------------


def _raw_header_values(message: Message, name: str) -> list[str]:
    """Every value of header `name` as written (unfolded, 8-bit bytes decoded), RFC 2047 words still encoded.

    policy.default would decode the headers itself, but it turns undeclared 8-bit text into U+FFFD and leaves lone
    surrogates in display names; reading the raw values lets both be repaired in one place.
    """
    wanted = name.lower()
    return [_repair_8bit(_unfold(str(value))) for key, value in message.raw_items() if key.lower() == wanted]


def _header_text(message: Message, name: str) -> str | None:
    values = _raw_header_values(message, name)
    return _decode_encoded_words(values[0]) if values else None


def _addresses(message: Message, name: str) -> list[tuple[str | None, str]]:
    """(decoded display name or None, lowercased addr-spec) of every address in every `name` header."""
    found = []
    for display_name, address in email.utils.getaddresses(_raw_header_values(message, name)):
        address = address.strip().lower()
        if "@" in address:
            found.append((_collapse_whitespace(_decode_encoded_words(display_name)) or None, address))
    return found


def _sender(message: Message) -> tuple[str | None, str]:
    senders = _addresses(message, "From")
    if not senders:
        raise MalformedMail("From header without an address")
    return senders[0]


def _message_ids(value: str | None) -> tuple[str, ...]:
    """The `<id>` tokens of a Message-ID, In-Reply-To or References value; bare `id@host` tokens get brackets."""
    if not value:
        return ()
    bracketed = re.findall(r"<[^<>\s]+>", value)
    if bracketed:
        return tuple(bracketed)
    return tuple(f"<{token}>" for token in value.split() if "@" in token)


def _sent_at(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        sent_at = email.utils.parsedate_to_datetime(value)
        # "-0000" means "UTC, zone unknown": parsedate returns it naive.
        return sent_at.replace(tzinfo=UTC) if sent_at.tzinfo is None else sent_at.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _unfold(value: str) -> str:
    return re.sub(r"\r?\n(?=[ \t])", "", value).replace("\r", " ").replace("\n", " ").strip()


def _repair_8bit(value: str) -> str:
    """Undo the parser's surrogate escapes of raw 8-bit header bytes: UTF-8 when they are, else windows-1252."""
    if not any("\udc80" <= character <= "\udcff" for character in value):
        return value
    data = value.encode("ascii", "surrogateescape")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _decode_encoded_words(text: str) -> str:
    """Decode RFC 2047 encoded words; adjacent words in one charset are joined before decoding (clients split
    multibyte characters across them), whitespace between encoded words is dropped, broken words are left as is."""
    pieces: list[str | tuple[bytes, str]] = []
    position = 0
    for match in _ENCODED_WORD.finditer(text):
        between = text[position : match.start()]
        if between.strip() or not pieces or isinstance(pieces[-1], str):
            pieces.append(between)
        position = match.end()
        charset = match.group(1).split("*")[0].lower()  # RFC 2231 language suffix: utf-8*en
        data = _encoded_word_bytes(match.group(2), match.group(3))
        if data is None:
            pieces.append(match.group())
        elif pieces and isinstance(pieces[-1], tuple) and pieces[-1][1] == charset:
            pieces[-1] = (pieces[-1][0] + data, charset)
        else:
            pieces.append((data, charset))
    pieces.append(text[position:])
    return "".join(piece if isinstance(piece, str) else _decode_bytes(*piece) for piece in pieces)


def _encoded_word_bytes(encoding: str, payload: str) -> bytes | None:
    try:
        if encoding in "bB":
            return base64.b64decode(payload + "=" * (-len(payload) % 4))
        return binascii.a2b_qp(payload.encode("ascii"), header=True)
    except (binascii.Error, ValueError):
        return None


def _collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


# --- body and attachments ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Body:
    text: str  # the whole decoded body, frame and quotes included
    is_html_only: bool
    attachments: tuple[Attachment, ...]


def _read_body(message: Message) -> _Body:
    if any(isinstance(defect, email.errors.StartBoundaryNotFoundDefect) for defect in message.defects):
        raise MalformedMail("undecodable body: multipart boundary not found")
    plain, html = _body_part(message, "plain"), _body_part(message, "html")
    text = _part_text(plain) if plain is not None else ""
    is_html_only = False
    # Some clients send an empty text/plain beside the real HTML: then the HTML is the body.
    if not text.strip() and html is not None:
        text = _html_to_text(_part_text(html))
        is_html_only = plain is None
    body_parts = [part for part in (plain, html) if part is not None]
    attachments = tuple(_attachment(part) for part in message.walk() if _is_attachment(part, body_parts))
    return _Body(text=text, is_html_only=is_html_only, attachments=attachments)


def _body_part(message: Message, subtype: str) -> Message | None:
    """The first text/<subtype> part that is not an attachment, outside forwarded messages (what a mail client
    shows as the body)."""
    stack = [message]
    while stack:
        part = stack.pop(0)
        if part.is_multipart():
            if part.get_content_type() != "message/rfc822":
                stack[:0] = [p for p in part.get_payload() if isinstance(p, Message)]
            continue
        if (
            part.get_content_type() == f"text/{subtype}"
            and part.get_content_disposition() != "attachment"
            and not part.get_filename()
        ):
            return part
    return None


def _part_text(part: Message) -> str:
    data = part.get_payload(decode=True) or b""
    if any(isinstance(defect, email.errors.InvalidBase64LengthDefect) for defect in part.defects):
        raise MalformedMail("undecodable body: base64 text part of impossible length")
    return _decode_bytes(data, part.get_content_charset())


def _is_attachment(part: Message, body_parts: list[Message]) -> bool:
    if part.is_multipart() or any(part is body for body in body_parts):
        return False
    if part.get_content_disposition() == "attachment" or part.get_filename():
        return True
    # Inline text parts are alternatives of the body; anything else (an inline image, a PDF) is an attachment.
    return part.get_content_maintype() != "text"


def _attachment(part: Message) -> Attachment:
    filename = part.get_filename()
    if filename is not None:
        filename = _decode_encoded_words(_repair_8bit(filename)).strip() or None
    return Attachment(
        filename=filename,
        content_type=part.get_content_type(),
        size_bytes=len(part.get_payload(decode=True) or b""),
    )


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset's usual superset, then UTF-8; failing both, the first with replacements."""
    candidates = _charset_candidates(charset)
    for codec in candidates:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    return data.decode(candidates[0], errors="replace")


def _charset_candidates(charset: str | None) -> tuple[str, ...]:
    if not charset:
        return _UNDECLARED_CHARSET_CANDIDATES
    try:
        label = charset.strip().strip('"').lower()
        codec = codecs.lookup(_CHARSET_ALIASES.get(label, label)).name
        "x".encode(codec)  # rejects codecs that are not text encodings, such as base64 or rot13
    except (LookupError, ValueError):
        return _UNDECLARED_CHARSET_CANDIDATES
    preferred = _CHARSET_CANDIDATES.get(codec, (codec,))
    return tuple(dict.fromkeys((*preferred, "utf-8")))


# --- from HTML to text -------------------------------------------------------------------------------------------


class _HtmlText(HTMLParser):
    """The visible text of an HTML body, laid out the way a mail client shows it: `<br>` ends a line, block
    elements start a new line, paragraphs, lists and headings are set apart by a blank line. Scripts, styles and
    quoted history (Gmail/Yahoo/Thunderbird quote containers, `<blockquote type="cite">`) are left out."""

    _HIDDEN = frozenset({"style", "script", "title", "template"})
    _PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "blockquote", "pre"})
    _LINES = frozenset(
        {"div", "li", "tr", "table", "hr", "dt", "dd", "section", "article", "header", "footer"}
    )
    _CELLS = frozenset({"td", "th"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self._trailing_newlines: int | None = None  # None until the first visible text
        self._skipped_tag: str | None = None
        self._skip_depth = 0
        self._pre_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skipped_tag is not None:
            self._skip_depth += tag == self._skipped_tag
            return
        if tag in self._HIDDEN or _is_quote_container(tag, dict(attrs)):
            self._skipped_tag, self._skip_depth = tag, 1
            return
        self._pre_depth += tag == "pre"
        if tag == "br":
            self._line_break()
        else:
            self._block_boundary(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._skipped_tag is not None:
            if tag == self._skipped_tag:
                self._skip_depth -= 1
                if self._skip_depth == 0:
                    self._skipped_tag = None
            return
        if tag == "pre" and self._pre_depth:
            self._pre_depth -= 1
        self._block_boundary(tag)

    def handle_data(self, data: str) -> None:
        if self._skipped_tag is not None:
            return
        text = data if self._pre_depth else re.sub(r"\s+", " ", data)
        if not text.strip():
            # Whitespace between tags shows only inside a line, never at the start of one.
            if self._trailing_newlines == 0:
                self.chunks.append(text)
            return
        self.chunks.append(text)
        self._trailing_newlines = len(text) - len(text.rstrip("\n"))

    def _block_boundary(self, tag: str) -> None:
        if tag in self._PARAGRAPHS:
            self._end_line(2)
        elif tag in self._LINES:
            self._end_line(1)
        elif tag in self._CELLS and self._trailing_newlines == 0:
            self.chunks.append(" ")

    def _line_break(self) -> None:
        self.chunks.append("\n")
        self._trailing_newlines = (self._trailing_newlines or 0) + 1

    def _end_line(self, newlines: int) -> None:
        """End the current line with at least `newlines` line breaks (2: a blank line after it)."""
        if self._trailing_newlines is not None and self._trailing_newlines < newlines:
            self.chunks.append("\n" * (newlines - self._trailing_newlines))
            self._trailing_newlines = newlines


def _is_quote_container(tag: str, attributes: dict[str, str | None]) -> bool:
    classes = (attributes.get("class") or "").split()
    if any(name in classes for name in _HTML_QUOTE_CLASSES):
        return True
    return tag == "blockquote" and (attributes.get("type") or "").lower() == "cite"


def _html_to_text(html: str) -> str:
    try:
        return _visible_text(html)
    except AssertionError:
        # html.parser gives up on some malformed declarations ("<![foo", "<!DOCTYPE ü") with AssertionError.
        # Read again with every declaration but comments escaped into text, then drop those from the result.
        escaped = html.replace("<!", "&lt;!").replace("&lt;!--", "<!--")
        return _DECLARATION.sub("", _visible_text(escaped))


def _visible_text(html: str) -> str:
    extractor = _HtmlText()
    extractor.feed(html)
    extractor.close()
    return "".join(extractor.chunks)


# --- the author's own text ---------------------------------------------------------------------------------------


def _author_text(text: str) -> str:
    """The author's words: inside Amazon's Begin/End markers when present, quoted history, footer and order block
    removed, lines trimmed, runs of blank lines collapsed."""
    lines = [
        line.replace("\xa0", " ").rstrip()
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    ]
    lines = _between_markers(lines)
    lines = lines[: _quoted_history_start(lines)]
    lines = lines[: _footer_start(lines)]
    lines = [line for line in lines if not line.lstrip().startswith(">")]
    lines = [line for line in lines if not _ORDER_BLOCK_LINE.match(line.strip().casefold())]
    return _tidy(lines)


def _marker_phrase(line: str) -> str | None:
    match = _MARKER_LINE.match(line)
    return match.group(1).rstrip(":：").strip().casefold() if match else None


def _between_markers(lines: list[str]) -> list[str]:
    """The lines between the first Begin-message marker and the End marker after it (to the end if none)."""
    begin = next((i for i, line in enumerate(lines) if _marker_phrase(line) in _MESSAGE_BEGIN_PHRASES), None)
    if begin is None:
        return lines
    end = next(
        (i for i in range(begin + 1, len(lines)) if _marker_phrase(lines[i]) in _MESSAGE_END_PHRASES),
        len(lines),
    )
    return lines[begin + 1 : end]


def _quoted_history_start(lines: list[str]) -> int:
    """Index of the first line of quoted history (attribution, Original Message separator, Outlook header block)."""
    for index, line in enumerate(lines):
        stripped = line.strip()
        if not stripped:
            continue
        if (
            _is_attribution(lines, index)
            or _is_original_message_separator(stripped)
            or _is_outlook_header(lines, index)
        ):
            return index
    return len(lines)


def _is_attribution(lines: list[str], index: int) -> bool:
    """Whether an attribution starts at `lines[index]`, on its own line or wrapped onto the next one or two.

    A wrapped attribution never spans a blank line, and its first line must already look like one (an opening
    word or the quoted sender's address), so a buyer's last sentence is never glued to the line below it.
    """
    candidate = lines[index].strip()
    if _matches_attribution(candidate):
        return True
    if not _QUOTE_ATTRIBUTION_OPENING.search(candidate):
        return False
    for line in lines[index + 1 : index + 3]:
        if not line.strip():
            return False
        candidate = f"{candidate} {line.strip()}"
        if _matches_attribution(candidate):
            return True
    return False


def _matches_attribution(candidate: str) -> bool:
    return len(candidate) <= 300 and any(pattern.match(candidate) for pattern in _QUOTE_ATTRIBUTIONS)


def _is_original_message_separator(line: str) -> bool:
    phrase = line.strip("-_= ")
    return phrase != line and phrase.casefold() in _ORIGINAL_MESSAGE_PHRASES


def _is_outlook_header(lines: list[str], index: int) -> bool:
    if not _OUTLOOK_FROM_LINE.match(lines[index].strip()):
        return False
    return any(_OUTLOOK_SENT_LINE.match(line.strip()) for line in lines[index + 1 : index + 4])


def _footer_start(lines: list[str]) -> int:
    for index, line in enumerate(lines):
        folded = line.casefold()
        if any(phrase in folded for phrase in _FOOTER_PHRASES):
            return index
    return len(lines)


def _tidy(lines: list[str]) -> str:
    """Trim each line, drop separator lines left at the end, collapse runs of blank lines."""
    trimmed = [line.strip() for line in lines]
    while trimmed and (not trimmed[-1] or set(trimmed[-1]) <= set("-_=*")):
        trimmed.pop()
    kept: list[str] = []
    for line in trimmed:
        if line or (kept and kept[-1]):
            kept.append(line)
    return "\n".join(kept)
