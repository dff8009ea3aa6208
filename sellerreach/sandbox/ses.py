"""A local stand-in for the Amazon SES v2 API: it records what is sent and writes SES's event notifications.

It answers what boto3's `sesv2` client sends (REST + JSON; SigV4 signatures are not checked):

- `POST /v2/email/outbound-emails` (SendEmail) with Raw or Simple content. The sender must be a verified identity:
  the address itself, its domain or a parent domain (`verify()` or CreateEmailIdentity); otherwise 400
  `MessageRejected` in SES's error shape (`x-amzn-ErrorType` header, `{"message": ...}` body), which botocore
  raises as `ClientError` code `MessageRejected`. Message ids look like SES's
  (`0102018d6f1c2a3b-7c0e...-000000`: region prefix, milliseconds on the clock, a UUID).
- `GET /v2/email/account` (GetAccount): the send quota, with SentLast24Hours counted from the sends.
- `POST /v2/email/identities` (CreateEmailIdentity): an address or a domain, verified at once (the stand-in has
  no DNS to check and no inbox to click a link in).

Each accepted message is kept with its raw MIME exactly as sent (Simple content is rendered to MIME the way SES
does it), so tests can read its headers. When the request names a configuration set, the send also produces
SES's event-publishing records (what SES publishes to SNS for a configuration set's event destination, the JSON
of the SNS `Message`): `Send`, then `Delivery` per recipient, with the mailbox simulator's outcomes
(`bounce@` -> Permanent/General bounce, `complaint@` -> delivery then complaint, `suppressionlist@` ->
Permanent/OnAccountSuppressionList bounce, `success@`/`ooto@` -> delivery; `+label` suffixes work). Without a
configuration set there are no events: SES publishes events only through a configuration set's destinations.
Event times come from the injected clock (delivery 1.2 s, bounce 0.6 s, complaint 4 s after the send); all of a
send's events are available at once, ordered by their time.

Quotas: GetAccount reports `max_send_rate` and `max_24_hour_send`; with `enforce_quotas=True` SendEmail also
answers 429 `TooManyRequestsException` as SES does ("Maximum sending rate exceeded." once the per-second
allowance is spent, counted per recipient; "Daily message quota exceeded." after `max_24_hour_send` recipients
in 24 hours; mailbox-simulator recipients count toward the rate but not the daily quota). Thread-safe.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import threading
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.header import decode_header, make_header
from email.message import EmailMessage, MIMEPart
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr
from typing import Any
from urllib.parse import urlsplit

from sellerreach.clock import Clock

SEND_EMAIL_PATH = "/v2/email/outbound-emails"
ACCOUNT_PATH = "/v2/email/account"
IDENTITIES_PATH = "/v2/email/identities"
SIMULATOR_DOMAIN = "simulator.amazonses.com"
CALLER_IDENTITY = "sellerreach-sandbox"  # the IAM name SES would put in `ses:caller-identity`
SOURCE_IP = "127.0.0.1"
REMOTE_MTA_IP = "192.0.2.25"  # TEST-NET-1: the "recipient's" mail server
OUTGOING_IP = "192.0.2.10"

DELIVERY_DELAY = timedelta(milliseconds=1200)
BOUNCE_DELAY = timedelta(milliseconds=600)
COMPLAINT_DELAY = timedelta(seconds=4)
_HEADERS_LIMIT = 10 * 1024  # SES truncates `mail.headers` beyond 10 KB and says so in headersTruncated
_DAY = timedelta(hours=24)

# The first 16 hex digits of a message id: a region code, then milliseconds since the epoch. Seen in real ids:
# 0100 us-east-1 (the `email.amazonses.com` Message-ID host), 0101 us-west-2, 0102 eu-west-1.
_REGION_PREFIX = {"us-east-1": "0100", "us-west-2": "0101", "eu-west-1": "0102"}
_TAG = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_TAG_VALUE = re.compile(r"^[A-Za-z0-9_-]{0,256}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_SUPPRESSION_DIAGNOSTIC = (
    "Amazon SES did not send the message to this address because it is on the suppression list for your "
    "account. For more information about removing addresses from the suppression list, see the Amazon SES "
    "Developer Guide at https://docs.aws.amazon.com/ses/latest/DeveloperGuide/sending-email-suppression-list.html"
)


@dataclass(frozen=True)
class SentMessage:
    ses_message_id: str
    from_address: str  # the bare sender address (FromEmailAddress, else the From header)
    to_addresses: tuple[str, ...]  # every envelope recipient (To, Cc, Bcc), as given
    raw: bytes  # the MIME as sent (for Simple content: as SES renders it); Message-ID is the caller's, if any
    tags: dict[str, str]
    configuration_set: str | None
    sent_at: datetime


class _SesError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class _Identity:
    name: str
    is_domain: bool
    created_at: datetime
    dkim_tokens: list[str] = field(default_factory=list)


class SesStandIn:
    """SES v2 in memory; `handle()` answers one HTTP request (the SandboxServer routes `/v2/email/` here)."""

    def __init__(
        self,
        clock: Clock,
        *,
        verified_identities: Iterable[str] = (),
        region: str = "eu-west-1",
        account_id: str = "123456789012",
        max_send_rate: float = 14.0,
        max_24_hour_send: float = 50000.0,
        enforce_quotas: bool = False,
    ) -> None:
        if max_send_rate <= 0 or max_24_hour_send <= 0:
            raise ValueError(
                f"SES quotas must be positive, got {max_send_rate}/s and {max_24_hour_send}/24 h"
            )
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.max_send_rate = float(max_send_rate)
        self.max_24_hour_send = float(max_24_hour_send)
        self.enforce_quotas = enforce_quotas
        self._lock = threading.Lock()
        self._identities: dict[str, _Identity] = {}
        self._sent: list[SentMessage] = []
        self._events: list[tuple[datetime, int, dict]] = []
        self._event_seq = 0
        self._counted: list[tuple[datetime, int]] = []  # (sent_at, recipients) toward the daily quota
        self._rate_allowance = self.max_send_rate
        self._rate_stamp = clock.monotonic()
        for identity in verified_identities:
            self.verify(identity)

    # --- test-facing API -----------------------------------------------------------------------------------

    def verify(self, identity: str) -> None:
        """Make an address (`shop@seller.example`) or a whole domain (`seller.example`, with its subdomains) a
        verified sending identity. Raises ValueError for something that is neither."""
        key, is_domain = _identity_key(identity)
        with self._lock:
            if key not in self._identities:
                self._identities[key] = self._new_identity(key, is_domain)

    def sent(self) -> list[SentMessage]:
        """Every accepted message, oldest first."""
        with self._lock:
            return list(self._sent)

    def events(self) -> list[dict]:
        """SES event-publishing records (the SNS `Message` JSON, parsed) of sends with a configuration set,
        ordered by the time of the event; copies, safe to change."""
        with self._lock:
            ordered = sorted(self._events, key=lambda item: (item[0], item[1]))
            return [copy.deepcopy(event) for _, _, event in ordered]

    # --- HTTP ----------------------------------------------------------------------------------------------

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict, dict[str, str]]:
        """Answer one request: (status, JSON body, extra headers). Never raises."""
        reply_headers = {"x-amzn-RequestId": str(uuid.uuid4())}
        route = urlsplit(path).path.rstrip("/")
        try:
            if route == SEND_EMAIL_PATH and method == "POST":
                result = self._send_email(_json_body(body))
            elif route == ACCOUNT_PATH and method == "GET":
                result = self._get_account()
            elif route == IDENTITIES_PATH and method == "POST":
                result = self._create_identity(_json_body(body))
            else:
                raise _SesError(
                    404,
                    "NotFoundException",
                    f"The SES stand-in does not serve {method} {route or '/'}; it answers SendEmail "
                    f"(POST {SEND_EMAIL_PATH}), GetAccount (GET {ACCOUNT_PATH}) and CreateEmailIdentity "
                    f"(POST {IDENTITIES_PATH}).",
                )
        except _SesError as error:
            return error.status, {"message": error.message}, {**reply_headers, "x-amzn-ErrorType": error.code}
        except Exception as error:  # a bug in the stand-in must still answer in SES's shape
            message = f"The SES stand-in failed: {type(error).__name__}."
            return 500, {"message": message}, {**reply_headers, "x-amzn-ErrorType": "InternalFailure"}
        return 200, result, reply_headers

    # --- operations ----------------------------------------------------------------------------------------

    def _send_email(self, request: dict) -> dict:
        content = request.get("Content")
        if not isinstance(content, dict) or len(content) != 1 or not {"Raw", "Simple"} >= content.keys():
            if isinstance(content, dict) and "Template" in content:
                raise _SesError(400, "BadRequestException", "Template content is not served by the stand-in.")
            raise _SesError(400, "BadRequestException", "Content must hold exactly one of Simple or Raw.")
        destination = request.get("Destination") or {}
        recipients = [
            address
            for kind in ("ToAddresses", "CcAddresses", "BccAddresses")
            for address in _string_list(destination, kind, "Destination")
        ]
        source = request.get("FromEmailAddress")
        if source is not None and not isinstance(source, str):
            raise _SesError(400, "BadRequestException", "FromEmailAddress must be a string.")
        if "Raw" in content:
            raw = _raw_data(content["Raw"])
            header_list = _parse_headers(raw)
            if not source:
                source = next((value for name, value in header_list if name.lower() == "from"), None)
            if not recipients:
                recipients = [
                    address
                    for _, address in getaddresses(
                        [value for name, value in header_list if name.lower() in ("to", "cc", "bcc")]
                    )
                    if address
                ]
        else:
            if not source:
                raise _SesError(
                    400, "BadRequestException", "FromEmailAddress is required for Simple content."
                )
            raw = _render_simple(
                content["Simple"], source, destination, _string_list(request, "ReplyToAddresses", "")
            )
            header_list = _parse_headers(raw)
        if not source:
            raise _SesError(400, "BadRequestException", "Missing required header 'From'.")
        from_address = _bare_address(source)
        if not recipients:
            raise _SesError(
                400, "BadRequestException", "Missing required field: Destination (no recipients)."
            )
        if len(recipients) > 50:
            raise _SesError(400, "MessageRejected", "Recipient count exceeds 50.")
        for address in recipients:
            _bare_address(address)
        tags = _email_tags(request.get("EmailTags"))
        configuration_set = request.get("ConfigurationSetName")
        if configuration_set is not None and (
            not isinstance(configuration_set, str) or not configuration_set
        ):
            raise _SesError(400, "BadRequestException", "ConfigurationSetName must be a non-empty string.")

        with self._lock:
            identity = self._identity_for(from_address)
            if identity is None:
                raise _SesError(
                    400,
                    "MessageRejected",
                    "Email address is not verified. The following identities failed the check in region "
                    f"{self.region.upper()}: {from_address}",
                )
            now = self.clock.now()
            counted = sum(1 for address in recipients if _simulator_scenario(address) is None)
            if self.enforce_quotas:
                self._check_quotas(now, len(recipients), counted)
            if counted:
                self._counted.append((now, counted))
            message_id = _ses_id(self.region, now)
            message = SentMessage(
                ses_message_id=message_id,
                from_address=from_address,
                to_addresses=tuple(recipients),
                raw=raw,
                tags=tags,
                configuration_set=configuration_set,
                sent_at=now,
            )
            self._sent.append(message)
            if configuration_set:
                mail = self._mail_object(message, source, identity, header_list)
                for occurred_at, event in self._event_records(message, mail):
                    self._event_seq += 1
                    self._events.append((occurred_at, self._event_seq, event))
        return {"MessageId": message_id}

    def _get_account(self) -> dict:
        with self._lock:
            sent_last_day = self._sent_last_24_hours(self.clock.now())
        return {
            "DedicatedIpAutoWarmupEnabled": False,
            "EnforcementStatus": "HEALTHY",
            "ProductionAccessEnabled": True,
            "SendQuota": {
                "Max24HourSend": self.max_24_hour_send,
                "MaxSendRate": self.max_send_rate,
                "SentLast24Hours": float(sent_last_day),
            },
            "SendingEnabled": True,
            "SuppressionAttributes": {"SuppressedReasons": ["BOUNCE", "COMPLAINT"]},
        }

    def _create_identity(self, request: dict) -> dict:
        name = request.get("EmailIdentity")
        if not isinstance(name, str) or not name.strip():
            raise _SesError(400, "BadRequestException", "EmailIdentity is required.")
        try:
            key, is_domain = _identity_key(name)
        except ValueError as error:
            raise _SesError(400, "BadRequestException", str(error)) from None
        with self._lock:
            if key in self._identities:
                raise _SesError(400, "AlreadyExistsException", f"Email identity {name} already exists.")
            identity = self._identities[key] = self._new_identity(key, is_domain)
        return {
            "IdentityType": "DOMAIN" if is_domain else "EMAIL_ADDRESS",
            "VerifiedForSendingStatus": True,
            "DkimAttributes": _dkim_attributes(identity),
        }

    # --- internals (called with the lock held where they touch state) ----------------------------------------

    def _new_identity(self, key: str, is_domain: bool) -> _Identity:
        tokens = [uuid.uuid4().hex for _ in range(3)] if is_domain else []
        return _Identity(key, is_domain, self.clock.now(), tokens)

    def _identity_for(self, address: str) -> _Identity | None:
        """The identity that lets `address` send: the address, its domain, or a parent domain."""
        address = address.lower()
        if address in self._identities:
            return self._identities[address]
        labels = address.rpartition("@")[2].split(".")
        for start in range(len(labels) - 1):
            identity = self._identities.get(".".join(labels[start:]))
            if identity is not None and identity.is_domain:
                return identity
        return None

    def _sent_last_24_hours(self, now: datetime) -> int:
        self._counted = [(at, n) for at, n in self._counted if at > now - _DAY]
        return sum(n for _, n in self._counted)

    def _check_quotas(self, now: datetime, recipients: int, counted: int) -> None:
        # SES lets a call through while any allowance is left, then charges every recipient (the balance may go
        # negative and must be earned back before the next send).
        tick = self.clock.monotonic()
        self._rate_allowance = min(
            self.max_send_rate, self._rate_allowance + max(0.0, tick - self._rate_stamp) * self.max_send_rate
        )
        self._rate_stamp = max(self._rate_stamp, tick)
        if self._rate_allowance <= 0:
            raise _SesError(429, "TooManyRequestsException", "Maximum sending rate exceeded.")
        if counted and self._sent_last_24_hours(now) >= self.max_24_hour_send:
            raise _SesError(429, "TooManyRequestsException", "Daily message quota exceeded.")
        self._rate_allowance -= recipients

    def _mail_object(
        self, message: SentMessage, source: str, identity: _Identity, header_list: list[tuple[str, str]]
    ) -> dict:
        headers, truncated = [], False
        size = 0
        for name, value in header_list:
            size += len(name) + len(value)
            if size > _HEADERS_LIMIT:
                truncated = True
                break
            headers.append({"name": name, "value": value})
        tags = {
            "ses:operation": ["SendEmail"],
            "ses:configuration-set": [message.configuration_set],
            "ses:source-ip": [SOURCE_IP],
            "ses:from-domain": [message.from_address.rpartition("@")[2]],
            "ses:caller-identity": [CALLER_IDENTITY],
        }
        tags.update({name: [value] for name, value in message.tags.items()})
        return {
            "timestamp": _iso(message.sent_at),
            "source": source,
            "sourceArn": f"arn:aws:ses:{self.region}:{self.account_id}:identity/{identity.name}",
            "sendingAccountId": self.account_id,
            "messageId": message.ses_message_id,
            "destination": list(message.to_addresses),
            "headersTruncated": truncated,
            "headers": headers,
            "commonHeaders": _common_headers(header_list, message.ses_message_id),
            "tags": tags,
        }

    def _event_records(self, message: SentMessage, mail: dict) -> list[tuple[datetime, dict]]:
        sent_at = message.sent_at
        records: list[tuple[datetime, dict]] = [(sent_at, {"eventType": "Send", "mail": mail, "send": {}})]
        delivery_mail = copy.deepcopy(mail)
        delivery_mail["tags"]["ses:outgoing-ip"] = [OUTGOING_IP]
        bounced: list[str] = []
        suppressed: list[str] = []
        complained: list[str] = []
        for recipient in message.to_addresses:
            scenario = _simulator_scenario(recipient)
            if scenario == "bounce":
                bounced.append(recipient)
                continue
            if scenario == "suppressionlist":
                suppressed.append(recipient)
                continue
            if scenario == "complaint":
                complained.append(recipient)
            delivered_at = sent_at + DELIVERY_DELAY
            delivery = {
                "timestamp": _iso(delivered_at),
                "processingTimeMillis": int(DELIVERY_DELAY.total_seconds() * 1000),
                "recipients": [recipient],
                "smtpResponse": "250 2.6.0 Message received",
                "remoteMtaIp": REMOTE_MTA_IP,
                "reportingMTA": self._smtp_out_host(),
            }
            records.append(
                (delivered_at, {"eventType": "Delivery", "mail": delivery_mail, "delivery": delivery})
            )
        if suppressed:
            bounce = {
                "feedbackId": _ses_id(self.region, sent_at),
                "bounceType": "Permanent",
                "bounceSubType": "OnAccountSuppressionList",
                "bouncedRecipients": [
                    {
                        "emailAddress": recipient,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": _SUPPRESSION_DIAGNOSTIC,
                    }
                    for recipient in suppressed
                ],
                "timestamp": _iso(sent_at),
                "reportingMTA": "dns; amazonses.com",
            }
            records.append((sent_at, {"eventType": "Bounce", "bounce": bounce, "mail": mail}))
        if bounced:
            # the simulator's bounces of one request come back as one bounce
            bounced_at = sent_at + BOUNCE_DELAY
            bounce = {
                "feedbackId": _ses_id(self.region, bounced_at),
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": recipient,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                    for recipient in bounced
                ],
                "timestamp": _iso(bounced_at),
                "remoteMtaIp": REMOTE_MTA_IP,
                "reportingMTA": f"dns; {self._smtp_out_host()}",
            }
            records.append((bounced_at, {"eventType": "Bounce", "bounce": bounce, "mail": mail}))
        if complained:
            complained_at = sent_at + COMPLAINT_DELAY
            complaint = {
                "feedbackId": _ses_id(self.region, complained_at),
                "complaintSubType": None,
                "complainedRecipients": [{"emailAddress": recipient} for recipient in complained],
                "timestamp": _iso(complained_at),
                "userAgent": "Amazon SES Mailbox Simulator",
                "complaintFeedbackType": "abuse",
                "arrivalDate": _iso(complained_at),
            }
            records.append((complained_at, {"eventType": "Complaint", "complaint": complaint, "mail": mail}))
        return [(at, copy.deepcopy(event)) for at, event in records]

    def _smtp_out_host(self) -> str:
        # SES's outbound hosts: a8-70.smtp-out.amazonses.com in us-east-1, a7-17.smtp-out.eu-west-1.amazonses.com
        return (
            "a8-70.smtp-out.amazonses.com"
            if self.region == "us-east-1"
            else f"a7-17.smtp-out.{self.region}.amazonses.com"
        )


# --- request parsing ------------------------------------------------------------------------------------------


def _json_body(body: bytes) -> dict:
    try:
        parsed = json.loads(body or b"{}")
    except ValueError:
        raise _SesError(400, "BadRequestException", "The request body is not valid JSON.") from None
    if not isinstance(parsed, dict):
        raise _SesError(400, "BadRequestException", "The request body must be a JSON object.")
    return parsed


def _string_list(container: Any, key: str, where: str) -> list[str]:
    if not isinstance(container, dict):
        raise _SesError(400, "BadRequestException", f"{where or 'The request'} must be an object.")
    values = container.get(key) or []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        name = f"{where}.{key}" if where else key
        raise _SesError(400, "BadRequestException", f"{name} must be a list of strings.")
    return values


def _raw_data(raw: Any) -> bytes:
    data = raw.get("Data") if isinstance(raw, dict) else None
    if not isinstance(data, str) or not data:
        raise _SesError(400, "BadRequestException", "Content.Raw.Data is required (base64 in the JSON body).")
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise _SesError(400, "BadRequestException", "Content.Raw.Data is not valid base64.") from None


def _bare_address(value: str) -> str:
    _, address = parseaddr(value)
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or " " in address:
        raise _SesError(400, "BadRequestException", "Missing final '@domain'")
    return f"{local}@{domain.lower()}"


def _email_tags(tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, list):
        raise _SesError(400, "BadRequestException", "EmailTags must be a list.")
    result: dict[str, str] = {}
    for tag in tags:
        name = tag.get("Name") if isinstance(tag, dict) else None
        value = tag.get("Value") if isinstance(tag, dict) else None
        if not isinstance(name, str) or not _TAG.match(name):
            raise _SesError(
                400,
                "BadRequestException",
                f"Invalid tag name <{name}>: only alphanumeric ASCII characters, '_', and '-' are allowed "
                "(at most 256).",
            )
        if not isinstance(value, str) or not _TAG_VALUE.match(value):
            raise _SesError(
                400,
                "BadRequestException",
                f"Invalid tag value <{value}>: only alphanumeric ASCII characters, '_', and '-' are allowed "
                "(at most 256).",
            )
        result[name] = value
    return result


def _identity_key(identity: str) -> tuple[str, bool]:
    """(normalised identity, is it a domain); raises ValueError for neither an address nor a domain."""
    text = identity.strip()
    if "@" in text:
        local, _, domain = text.rpartition("@")
        domain = domain.lower()
        if local and _DOMAIN.match(domain) and not re.search(r"[\s<>]", local):
            return f"{local}@{domain}".lower(), False
    elif _DOMAIN.match(text.lower()):
        return text.lower(), True
    raise ValueError(f"{identity!r} is neither an email address nor a domain name, e.g. 'seller.example'")


def _simulator_scenario(recipient: str) -> str | None:
    """`bounce`, `complaint`, `success`... for a mailbox-simulator address (labels like `bounce+x@` count)."""
    _, address = parseaddr(recipient)
    local, _, domain = address.lower().rpartition("@")
    if domain != SIMULATOR_DOMAIN:
        return None
    return local.split("+", 1)[0]


# --- MIME -----------------------------------------------------------------------------------------------------


def _parse_headers(raw: bytes) -> list[tuple[str, str]]:
    """Top-level headers in order, unfolded, as SES lists them in `mail.headers`."""
    parsed = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
    result = []
    for name, value in parsed.items():
        text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        result.append((name, re.sub(r"\r?\n", "", text).replace("\t", " ")))
    return result


def _decoded(value: str) -> str:
    try:
        return str(make_header(decode_header(value)))
    except (ValueError, LookupError, UnicodeError):
        return value


def _split_addresses(value: str) -> list[str]:
    """Split an address list on top-level commas, keeping each address as written (quotes, comments)."""
    parts, current, depth, quoted, escaped = [], [], 0, False, False
    for char in value:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif not quoted and char in "<(":
            depth += 1
        elif not quoted and char in ">)":
            depth = max(0, depth - 1)
        elif char == "," and not quoted and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _common_headers(header_list: list[tuple[str, str]], ses_message_id: str) -> dict:
    """`mail.commonHeaders`: the sender's From/To/Cc/Reply-To/Date/Subject (decoded) and SES's message id."""
    first: dict[str, str] = {}
    for name, value in header_list:
        first.setdefault(name.lower(), value)
    common: dict[str, Any] = {}
    if "return-path" in first:
        common["returnPath"] = _decoded(first["return-path"]).strip("<> ")
    for header, key in (("from", "from"), ("reply-to", "replyTo")):
        if header in first:
            common[key] = _split_addresses(_decoded(first[header]))
    if "date" in first:
        common["date"] = first["date"]
    for header, key in (("to", "to"), ("cc", "cc"), ("bcc", "bcc")):
        if header in first:
            common[key] = _split_addresses(_decoded(first[header]))
    common["messageId"] = ses_message_id
    if "subject" in first:
        common["subject"] = _decoded(first["subject"])
    return common


def _render_simple(simple: Any, source: str, destination: dict, reply_to: list) -> bytes:
    """The MIME SES builds from Simple content: From, To, Cc, Reply-To, Subject, MIME-Version, then the body
    (multipart/alternative when both Text and Html are given) and the caller's extra Headers."""
    if not isinstance(simple, dict):
        raise _SesError(400, "BadRequestException", "Content.Simple must be an object.")
    subject, body = simple.get("Subject") or {}, simple.get("Body") or {}
    if not isinstance(subject, dict) or not isinstance(subject.get("Data"), str):
        raise _SesError(400, "BadRequestException", "Content.Simple.Subject.Data is required.")
    text, html = body.get("Text"), body.get("Html")
    if not text and not html:
        raise _SesError(400, "BadRequestException", "Content.Simple.Body needs Text or Html.")
    message = EmailMessage(policy=policy.SMTP)
    message["From"] = source
    for key, header in (("ToAddresses", "To"), ("CcAddresses", "Cc")):
        if destination.get(key):
            message[header] = ", ".join(destination[key])
    if reply_to:
        message["Reply-To"] = ", ".join(reply_to)
    message["Subject"] = subject["Data"]
    message["MIME-Version"] = "1.0"
    for extra in simple.get("Headers") or []:
        if not isinstance(extra, dict) or not extra.get("Name") or not isinstance(extra.get("Value"), str):
            raise _SesError(400, "BadRequestException", "Content.Simple.Headers entries need Name and Value.")
        message[extra["Name"]] = extra["Value"]
    parts = [(part, subtype) for part, subtype in ((text, "plain"), (html, "html")) if part]
    first, first_subtype = parts[0]
    _set_text(message, first, first_subtype)
    if len(parts) == 2:
        message.make_alternative()
        alternative = MIMEPart(policy=policy.SMTP)
        _set_text(alternative, *parts[1])
        message.attach(alternative)
    return message.as_bytes()


def _set_text(part: MIMEPart, content: Any, subtype: str) -> None:
    if not isinstance(content, dict) or not isinstance(content.get("Data"), str):
        raise _SesError(400, "BadRequestException", f"Content.Simple.Body {subtype} needs Data.")
    data, charset = content["Data"], content.get("Charset") or "UTF-8"
    cte = "7bit" if data.isascii() else "quoted-printable"
    try:
        part.set_content(data, subtype=subtype, charset=charset, cte=cte)
    except (LookupError, UnicodeError):
        raise _SesError(
            400, "BadRequestException", f"Cannot encode the {subtype} body as {charset}."
        ) from None


# --- formats --------------------------------------------------------------------------------------------------


def _dkim_attributes(identity: _Identity) -> dict:
    if not identity.is_domain:
        return {"SigningEnabled": False, "Status": "NOT_STARTED", "SigningAttributesOrigin": "AWS_SES"}
    return {
        "SigningEnabled": True,
        "Status": "SUCCESS",
        "Tokens": list(identity.dkim_tokens),
        "SigningAttributesOrigin": "AWS_SES",
        "NextSigningKeyLength": "RSA_2048_BIT",
        "CurrentSigningKeyLength": "RSA_2048_BIT",
        "LastKeyGenerationTimestamp": identity.created_at.timestamp(),
    }


def _ses_id(region: str, at: datetime) -> str:
    """An id shaped like SES's message and feedback ids: 0102018d6f1c2a3b-<uuid>-000000."""
    millis = int(at.timestamp() * 1000)
    return f"{_REGION_PREFIX.get(region, '0102')}{millis:012x}-{uuid.uuid4()}-000000"


def _iso(at: datetime) -> str:
    """SES's timestamps: ISO 8601 in UTC with milliseconds, e.g. 2017-08-05T00:41:02.669Z."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"
