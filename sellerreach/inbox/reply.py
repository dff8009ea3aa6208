"""Replies to buyers: draft one (template or the agent's own text, in the buyer's language), check it against the
relay channel's compliance rules, send it through SES from the mailbox's approved sender threaded under the
buyer's message, and record it like any seller message.

Every reply has a row in fct_replies, written before SES is called: a crash after SES accepted a mail leaves the
row `claimed` (reconciled from SES events by its reply_id tag, never sent again), and an auto-reply's id is a
hash of its thread, so a thread gets at most one whatever runs twice.
"""

from __future__ import annotations

import difflib
import email.utils
import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from schemas import tables as t
from sellerreach.compliance import Finding, errors_in, lint_message
from sellerreach.errors import FatalError, RetriableError, SellerreachError
from sellerreach.inbox.auto_reply import choose_auto_reply
from sellerreach.inbox.config import InboxConfig, MailboxConfig
from sellerreach.inbox.templates import ReplyTemplates, TemplateProblem
from sellerreach.inbox.threads import OPEN, refresh_threads
from sellerreach.language import detect_language
from sellerreach.marketplaces import MARKETPLACES
from sellerreach.rendering import format_date
from sellerreach.warehouse import lock_account, write_audit

CHANNEL = (
    "relay_email"  # replies go to the buyer's relay address: Amazon's buyer-seller messaging rules apply
)
LOW_QUALITY_SIMILARITY = 0.85  # more alike than this to each of the agent's previous two replies: low quality
# An auto-reply answers what the buyer asks now; mail older than this (a first sync of an old mailbox) is left
# to the agents.
AUTO_REPLY_MAX_AGE = timedelta(hours=24)
AUTO_SENDER_PREFIX = "auto:"
_NUMBER = re.compile(r"\d+")
_REFERENCES_KEPT = 10  # the newest message ids of the thread in References (RFC 5322 allows trimming)
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|antw|rép|r|rif|sv|回复|答复|返信)\s*[:：]", re.IGNORECASE)
# who signs an auto-reply (agent_name), per locale
TEAM_SIGNATURES = {
    "en": "Customer Service",
    "de": "Ihr Kundenservice",
    "fr": "Le service client",
    "es": "Atención al cliente",
    "it": "Servizio clienti",
    "ja": "カスタマーサービス",
    "zh": "客服团队",
}

MANUAL, AUTO = "manual", "auto"
CLAIMED, SENT, FAILED, BLOCKED = "claimed", "sent", "failed", "blocked"


class MailSender(Protocol):
    """What sends a reply (sellerreach.dispatch.ses.SesSender; tests may use the stand-in through it)."""

    def send_raw(
        self,
        raw: bytes,
        *,
        from_address: str,
        to_addresses: Sequence[str],
        tags: Mapping[str, str] | None = None,
    ) -> Any: ...  # SentEmail: .ses_message_id, .message_id_header


class ReplyProblem(SellerreachError):
    """The thread cannot be answered as asked (no buyer message, its mailbox is not configured, ...)."""


class ReplyBlocked(SellerreachError):
    """The compliance rules found errors in the reply; nothing was sent."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = tuple(findings)
        listed = "; ".join(
            f"{f.rule_id} ({f.part} {f.line}:{f.column}): {f.message}" for f in errors_in(findings)
        )
        super().__init__(f"the reply breaks Amazon's messaging rules, nothing was sent: {listed}")


class ReplyFailed(SellerreachError):
    """SES refused the reply (recorded as failed in fct_replies) or did not answer."""


@dataclass(frozen=True)
class ReplyDraft:
    """A rendered, linted reply, ready to send. `to_address` is the buyer's relay address: personal data."""

    thread_id: str
    account_id: str
    marketplace_id: str | None
    amazon_order_id: str | None
    mailbox_id: str
    from_address: str
    to_address: str
    subject: str
    body: str
    locale: str
    template_id: str | None
    in_reply_to: str | None
    references: tuple[str, ...]
    findings: tuple[Finding, ...]
    similarity: float | None = None
    is_low_quality: bool = False
    context: Mapping[str, Any] = field(default_factory=dict, repr=False)  # a template's variables

    @property
    def is_blocked(self) -> bool:
        return bool(errors_in(self.findings))


@dataclass(frozen=True)
class SentReply:
    reply_id: str
    message_id: str
    draft: ReplyDraft


@dataclass
class AutoReplyStats:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    skipped: int = 0  # a rule matched but a variable it requires is unknown (say, no tracking number yet)
    rules: dict[str, int] = field(default_factory=dict)  # sent per rule


# -- drafting -----------------------------------------------------------------------------------------------------


def draft_reply(
    conn: Connection,
    thread_id: str,
    *,
    mailboxes: Sequence[MailboxConfig],
    templates: ReplyTemplates,
    sent_by: str,
    agent_name: str | None = None,
    template_id: str | None = None,
    text: str | None = None,
    variables: Mapping[str, str] | None = None,
) -> ReplyDraft:
    """Render `template_id` (in the buyer's language, else the marketplace's) or take `text`, address it to the
    buyer's relay address from the mailbox's approved sender, thread it under the buyer's latest message, and
    lint it. `variables` override or add template variables. Raises ReplyProblem or TemplateProblem."""
    if (template_id is None) == (text is None):
        raise ReplyProblem("give a template or a text for the reply (one of them)")
    thread, messages = _thread(conn, thread_id)
    latest_in = next((m for m in reversed(messages) if m["direction"] == "in"), None)
    if latest_in is None or not latest_in["relay_email"]:
        raise ReplyProblem(f"thread {thread_id[:12]} has no buyer message to answer")
    mailbox = next((m for m in mailboxes if m.mailbox_id == latest_in["mailbox_id"]), None)
    if mailbox is None:
        raise ReplyProblem(
            f"thread {thread_id[:12]} came in through mailbox {latest_in['mailbox_id']!r}, which is no longer in "
            "[[mailboxes]]; its reply_from address is needed to answer"
        )
    marketplace = MARKETPLACES.get(thread["marketplace_id"] or "")
    market_language = marketplace.language.split("-")[0] if marketplace else None
    context: dict[str, Any] = {}
    if template_id is not None:
        locale = templates.choose_locale(template_id, (thread["language"], market_language))
        context = {
            **reply_context(conn, thread, locale),
            "agent_name": agent_name or TEAM_SIGNATURES.get(locale, TEAM_SIGNATURES["en"]),
            **(variables or {}),
        }
        body = templates.render(template_id, locale, context)
    else:
        body = (text or "").strip()
        if not body:
            raise ReplyProblem("the reply text is empty")
        # the buyer's language, not the text's: a reply in another language is what the rules must catch
        locale = thread["language"] or market_language or detect_language(body) or "en"
    subject = reply_subject(latest_in["subject"])
    findings = lint_message(
        body=body, subject=subject, channel=CHANNEL, locale=locale, order_id=thread["amazon_order_id"]
    )
    similarity = (
        None if sent_by.startswith(AUTO_SENDER_PREFIX) else _similarity_to_last_two(conn, sent_by, body)
    )
    ids = [m["message_id"] for m in messages]
    return ReplyDraft(
        thread_id=thread_id,
        account_id=thread["account_id"],
        marketplace_id=thread["marketplace_id"],
        amazon_order_id=thread["amazon_order_id"],
        mailbox_id=mailbox.mailbox_id,
        from_address=mailbox.reply_from,
        to_address=latest_in["relay_email"],
        subject=subject,
        body=body,
        locale=locale,
        template_id=template_id,
        in_reply_to=latest_in["message_id"],
        references=tuple(ids[-_REFERENCES_KEPT:]),
        findings=tuple(findings),
        similarity=similarity,
        is_low_quality=similarity is not None and similarity > LOW_QUALITY_SIMILARITY,
        context=context,
    )


def reply_context(conn: Connection, thread: Mapping[str, Any], locale: str) -> dict[str, Any]:
    """The template variables (CONTEXT_VARIABLES) the warehouse knows for a thread's order, dates written
    for `locale`. agent_name is the caller's."""
    order_id = thread["amazon_order_id"]
    marketplace = MARKETPLACES.get(thread["marketplace_id"] or "")
    context: dict[str, Any] = {
        "buyer_name": "",
        "order_id": order_id or "",
        "item": "",
        "items": [],
        "tracking_number": None,
        "carrier": None,
        "shipped_on": None,
        "delivery_by": None,
        "marketplace": marketplace.name if marketplace else "Amazon",
    }
    if order_id is None:
        return context
    o, i, b = t.fct_orders.c, t.fct_order_items.c, t.dim_buyers.c
    order = conn.execute(
        sa.select(o.buyer_id, o.latest_delivery_at).where(o.amazon_order_id == order_id)
    ).first()
    context["items"] = [
        title
        for (title,) in conn.execute(
            sa.select(i.title).where(i.amazon_order_id == order_id).order_by(i.order_item_id)
        )
        if title
    ]
    context["item"] = context["items"][0] if context["items"] else ""
    buyer_id = (order.buyer_id if order else None) or thread["buyer_id"]
    if buyer_id:
        name = conn.execute(sa.select(b.buyer_name).where(b.buyer_id == buyer_id)).scalar_one_or_none()
        context["buyer_name"] = name or ""
    if order is not None and order.latest_delivery_at is not None:
        context["delivery_by"] = format_date(order.latest_delivery_at.date(), locale)
    package = _first_package(conn, order_id)
    if package:
        context["tracking_number"] = package.get("trackingNumber")
        context["carrier"] = package.get("carrier")
        shipped = package.get("shipTime")
        if shipped:
            context["shipped_on"] = format_date(
                datetime.fromisoformat(shipped.replace("Z", "+00:00")).date(), locale
            )
    return context


def reply_subject(subject: str) -> str:
    """ "Re: " + the buyer's subject, unless it already starts with a reply prefix."""
    subject = " ".join(subject.split())
    return subject if _REPLY_PREFIX.match(subject) else f"Re: {subject}"


def similarity(a: str, b: str) -> float:
    """How alike two replies are, 0..1: difflib's ratio on case-folded text with whitespace collapsed and numbers
    masked (a canned reply differs from the last one by its order id and dates, not by what it says)."""
    return difflib.SequenceMatcher(None, _normalise(a), _normalise(b)).ratio()


# -- sending ------------------------------------------------------------------------------------------------------


def send_reply(
    engine: Engine,
    draft: ReplyDraft,
    sender: MailSender,
    *,
    sent_by: str,
    inbox: InboxConfig,
    now: datetime,
    actor: str,
    auto_rule_id: str | None = None,
) -> SentReply:
    """Send a drafted reply and record it: the fct_replies row (claimed, then sent or failed), the outbound
    fct_buyer_messages row with SES's Message-ID, an audit row, and the thread recomputed (its SLA clock stops).
    Raises ReplyBlocked (nothing sent or recorded for an agent's reply; an auto-reply is recorded as blocked),
    ReplyFailed (SES refused: recorded as failed) or RetriableError (SES did not answer or throttled)."""
    kind = AUTO if auto_rule_id else MANUAL
    reply_id = auto_reply_id(draft.thread_id) if kind == AUTO else uuid.uuid4().hex
    row = _ledger_row(draft, reply_id, kind, sent_by, auto_rule_id, now)
    if draft.is_blocked:
        if kind == AUTO:
            with engine.begin() as conn:
                conn.execute(sa.insert(t.fct_replies), {**row, "state": BLOCKED})
        raise ReplyBlocked(draft.findings)
    with engine.begin() as conn:
        lock_account(conn, "inbox", draft.account_id)
        conn.execute(sa.insert(t.fct_replies), row)
    try:
        sent = sender.send_raw(
            compose_reply(draft, now),
            from_address=draft.from_address,
            to_addresses=[draft.to_address],
            tags={
                "reply_id": reply_id,
                "thread_id": draft.thread_id,
                "account_id": draft.account_id,
                "kind": kind,
            },
        )
    except FatalError as exc:
        _settle(engine, reply_id, state=FAILED, error=str(exc))
        raise ReplyFailed(f"SES refused the reply ({exc.code or 'error'}): {exc}") from None
    except RetriableError as exc:
        if exc.status is not None:  # SES answered (throttled, 5xx): it did not take the mail; try again later
            with engine.begin() as conn:
                conn.execute(sa.delete(t.fct_replies).where(t.fct_replies.c.reply_id == reply_id))
        else:  # no answer: SES may have taken it; the row stays claimed until its events say
            _settle(engine, reply_id, state=CLAIMED, error=f"no answer from SES: {exc}")
        raise
    with engine.begin() as conn:
        lock_account(conn, "inbox", draft.account_id)
        conn.execute(
            sa.update(t.fct_replies)
            .where(t.fct_replies.c.reply_id == reply_id)
            .values(
                state=SENT, ses_message_id=sent.ses_message_id, message_id=sent.message_id_header, sent_at=now
            )
        )
        _record_outbound_message(conn, draft, sent.message_id_header, sent_by, now)
        write_audit(
            conn,
            now=now,
            actor=actor,
            action="thread.reply",
            object_type="thread",
            object_id=draft.thread_id,
            after={
                "reply_id": reply_id,
                "template_id": draft.template_id,
                "locale": draft.locale,
                "is_low_quality": draft.is_low_quality,
            },
            detail=f"auto-reply rule {auto_rule_id}" if auto_rule_id else None,
        )
        refresh_threads(conn, [draft.thread_id], inbox, now, actor=actor)
    return SentReply(reply_id, sent.message_id_header, draft)


def compose_reply(draft: ReplyDraft, now: datetime) -> bytes:
    """The MIME message: plain UTF-8 text, threaded with In-Reply-To and References (SES sets Message-ID)."""
    message = EmailMessage(policy=SMTP)
    message["From"] = draft.from_address
    message["To"] = draft.to_address
    message["Subject"] = draft.subject
    message["Date"] = email.utils.format_datetime(now)
    if draft.in_reply_to:
        message["In-Reply-To"] = draft.in_reply_to
    if draft.references:
        message["References"] = " ".join(draft.references)
    message.set_content(draft.body, charset="utf-8")  # clears Content-* headers: Content-Language after it
    message["Content-Language"] = draft.locale
    return message.as_bytes()


def auto_reply_id(thread_id: str) -> str:
    """The one reply id an auto-reply to this thread can have."""
    return hashlib.sha256(f"auto-reply\0{thread_id}".encode()).hexdigest()[:32]


def send_auto_replies(
    engine: Engine,
    *,
    mailboxes: Sequence[MailboxConfig],
    inbox: InboxConfig,
    templates: ReplyTemplates,
    sender: MailSender,
    now: datetime,
    actor: str,
    except_accounts: Iterable[str] = (),
) -> AutoReplyStats:
    """Answer open threads whose buyer wrote in the last AUTO_REPLY_MAX_AGE and that never had an auto-reply,
    when a rule matches the buyer's latest message. Nothing when `[inbox] auto_replies` is off."""
    stats = AutoReplyStats()
    if not inbox.auto_replies or not inbox.auto_reply_rules:
        return stats
    with engine.connect() as conn:
        candidates = _auto_reply_candidates(conn, now, [m.account_id for m in mailboxes], except_accounts)
    for thread, text in candidates:
        rule = choose_auto_reply(inbox.auto_reply_rules, thread, text)
        if rule is None:
            continue
        sent_by = f"{AUTO_SENDER_PREFIX}{rule.rule_id}"
        with engine.connect() as conn:
            try:
                draft = draft_reply(
                    conn, thread["thread_id"], mailboxes=mailboxes, templates=templates, sent_by=sent_by,
                    template_id=rule.template_id,
                )  # fmt: skip
            except (ReplyProblem, TemplateProblem):
                stats.skipped += 1
                continue
        if any(not draft.context.get(name) for name in rule.requires):
            stats.skipped += 1
            continue
        try:
            send_reply(
                engine,
                draft,
                sender,
                sent_by=sent_by,
                inbox=inbox,
                now=now,
                actor=actor,
                auto_rule_id=rule.rule_id,
            )
        except ReplyBlocked:
            stats.blocked += 1
        except (ReplyFailed, RetriableError, IntegrityError):
            stats.failed += 1
        else:
            stats.sent += 1
            stats.rules[rule.rule_id] = stats.rules.get(rule.rule_id, 0) + 1
    return stats


# -- internals ------------------------------------------------------------------------------------------------------


def _thread(conn: Connection, thread_id: str) -> tuple[Mapping[str, Any], list[Mapping[str, Any]]]:
    thread = (
        conn.execute(sa.select(t.dim_threads).where(t.dim_threads.c.thread_id == thread_id))
        .mappings()
        .first()
    )
    if thread is None:
        raise ReplyProblem(f"no thread {thread_id!r}")
    m = t.fct_buyer_messages.c
    messages = list(
        conn.execute(
            sa.select(m.message_id, m.direction, m.relay_email, m.mailbox_id, m.subject, m.received_at)
            .where(m.thread_id == thread_id)
            .order_by(m.received_at, m.direction)
        ).mappings()
    )
    return thread, messages


def _first_package(conn: Connection, order_id: str) -> dict[str, Any] | None:
    """The first package of the order's raw payload (tracking lives only there: merchant-fulfilled orders)."""
    payload = conn.execute(
        sa.select(t.raw_spapi_orders.c.payload).where(t.raw_spapi_orders.c.amazon_order_id == order_id)
    ).scalar_one_or_none()
    packages = (payload or {}).get("packages") or []
    return next((p for p in packages if isinstance(p, dict) and p.get("trackingNumber")), None)


def _similarity_to_last_two(conn: Connection, sent_by: str, body: str) -> float | None:
    r = t.fct_replies.c
    previous = list(
        conn.execute(
            sa.select(r.body)
            .where(r.sent_by == sent_by, r.state == SENT)
            .order_by(r.sent_at.desc(), r.reply_id)
            .limit(2)
        ).scalars()
    )
    if len(previous) < 2:
        return None
    return round(min(similarity(body, earlier) for earlier in previous), 4)


def _normalise(text: str) -> str:
    return _NUMBER.sub("#", " ".join(text.casefold().split()))


def _ledger_row(
    draft: ReplyDraft, reply_id: str, kind: str, sent_by: str, auto_rule_id: str | None, now: datetime
) -> dict[str, Any]:
    return {
        "reply_id": reply_id,
        "thread_id": draft.thread_id,
        "account_id": draft.account_id,
        "marketplace_id": draft.marketplace_id,
        "amazon_order_id": draft.amazon_order_id,
        "kind": kind,
        "sent_by": sent_by,
        "auto_rule_id": auto_rule_id,
        "template_id": draft.template_id,
        "locale": draft.locale,
        "state": CLAIMED,
        "subject": draft.subject,
        "body": draft.body,
        "from_address": draft.from_address,
        "in_reply_to": draft.in_reply_to,
        "findings": [
            {
                "rule_id": f.rule_id,
                "severity": f.severity,
                "part": f.part,
                "line": f.line,
                "column": f.column,
                "message": f.message,
            }
            for f in draft.findings
        ],
        "similarity": draft.similarity,
        "is_low_quality": draft.is_low_quality,
        "ses_message_id": None,
        "message_id": None,
        "error": None,
        "created_at": now,
        "sent_at": None,
    }


def _settle(engine: Engine, reply_id: str, *, state: str, error: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(t.fct_replies)
            .where(t.fct_replies.c.reply_id == reply_id)
            .values(state=state, error=error)
        )


def _record_outbound_message(
    conn: Connection, draft: ReplyDraft, message_id: str, sent_by: str, now: datetime
) -> None:
    """The reply as the seller's message in its thread (the Sent folder never sees mail sent through SES)."""
    m = t.fct_buyer_messages.c
    exists = conn.execute(
        sa.select(m.message_id).where(m.account_id == draft.account_id, m.message_id == message_id)
    ).first()
    if exists:
        return
    buyer_id = conn.execute(
        sa.select(t.dim_threads.c.buyer_id).where(t.dim_threads.c.thread_id == draft.thread_id)
    ).scalar_one_or_none()
    conn.execute(
        sa.insert(t.fct_buyer_messages),
        {
            "account_id": draft.account_id,
            "message_id": message_id,
            "thread_id": draft.thread_id,
            "marketplace_id": draft.marketplace_id,
            "amazon_order_id": draft.amazon_order_id,
            "buyer_id": buyer_id,
            "relay_email": draft.to_address,
            "direction": "out",
            "sent_by": sent_by,
            "received_at": now,
            "sent_at": now,
            "subject": draft.subject,
            "body": draft.body,
            "language": draft.locale,
            "attachments": [],
            "in_reply_to": draft.in_reply_to,
            "mailbox_id": draft.mailbox_id,
            "folder": "(sent by sellerreach)",
            "loaded_at": now,
        },
    )


def _auto_reply_candidates(
    conn: Connection, now: datetime, account_ids: Sequence[str], except_accounts: Iterable[str]
) -> list[tuple[dict[str, Any], str]]:
    """(thread, the buyer's latest subject and text) of open threads a buyer wrote to recently, with no
    auto-reply yet, in the given accounts."""
    d, m, r = t.dim_threads.c, t.fct_buyer_messages.c, t.fct_replies.c
    accounts = sorted(set(account_ids) - set(except_accounts))
    if not accounts:
        return []
    threads = conn.execute(
        sa.select(t.dim_threads)
        .where(
            d.status == OPEN,
            d.last_inbound_at >= now - AUTO_REPLY_MAX_AGE,
            d.account_id.in_(accounts),
            ~sa.exists().where(r.thread_id == d.thread_id, r.kind == AUTO),
        )
        .order_by(d.last_inbound_at, d.thread_id)
    ).mappings()
    threads = [dict(thread) for thread in threads]
    if not threads:
        return []
    latest: dict[str, str] = {}
    for thread_id, subject, body in conn.execute(
        sa.select(m.thread_id, m.subject, m.body)
        .where(m.thread_id.in_([thread["thread_id"] for thread in threads]), m.direction == "in")
        .order_by(m.received_at)
    ):
        latest[thread_id] = f"{subject}\n{body}"  # the newest wins
    return [(thread, latest[thread["thread_id"]]) for thread in threads if thread["thread_id"] in latest]
