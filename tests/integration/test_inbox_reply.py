"""Replies end to end on SQLite and PostgreSQL: a buyer's relay mail synced from a Maildir, the order (with its
tracking number) in the warehouse, the reply sent through the SES stand-in over HTTP with boto3, and what lands
in the warehouse. Also the compliance gate, the low-quality flag, SES refusing or not answering, and auto-replies
(at most one per thread, whatever runs twice)."""

from __future__ import annotations

import dataclasses
import email
import re
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

import pytest
import sqlalchemy as sa

from schemas import tables as t
from sellerreach.amazon.mapping import map_order
from sellerreach.dispatch.ses import SesSender
from sellerreach.errors import RetriableError
from sellerreach.inbox.mailbox import MaildirSource
from sellerreach.inbox.reply import (
    ReplyBlocked,
    ReplyFailed,
    auto_reply_id,
    draft_reply,
    send_auto_replies,
    send_reply,
)
from sellerreach.inbox.report import refresh_inbox_report
from sellerreach.inbox.sync import sync_folder
from sellerreach.inbox.templates import ReplyTemplates
from sellerreach.sandbox.relay_mail import compose_buyer_message, relay_address_for, write_maildir_message
from sellerreach.settings import load_settings
from sellerreach.warehouse import create_warehouse_engine, ensure_schema, load_orders
from tests.support.config import ACME_NA
from tests.support.payloads import order_payload
from tests.support.ses import ses_stand_in

NOW = datetime.now(UTC).replace(microsecond=0)
MARKETPLACE = "ATVPDKIKX0DER"  # the model's example order is an amazon.com order
TEMPLATES = ReplyTemplates.from_config(None)
CONFIG = (
    ACME_NA
    + """
[warehouse]
url = "{warehouse_url}"

[[mailboxes]]
id = "acme-na-relay"
account = "acme-na"
kind = "maildir"
path = "{maildir}"
seller_addresses = ["support@acme.example", "orders@acme.example"]
reply_from = "orders@acme.example"

[ses]
region = "us-east-1"
endpoint = "{endpoint}"
configuration_set = "sellerreach-test"
access_key_id = "env:TEST_SES_ACCESS_KEY_ID"
secret_access_key = "env:TEST_SES_SECRET_ACCESS_KEY"

[inbox]
auto_replies = true

[[inbox.agents]]
id = "emma"
name = "Emma Johnson"
"""
)


class Inbox:
    """A synced Maildir of buyer mail about orders in the warehouse, and the SES stand-in."""

    def __init__(self, tmp_path: Path, warehouse_url: str, ses, monkeypatch) -> None:
        monkeypatch.setenv("TEST_SES_ACCESS_KEY_ID", "stand-in-key-id-1")
        monkeypatch.setenv("TEST_SES_SECRET_ACCESS_KEY", "stand-in-secret-key-not-real")
        self.maildir = tmp_path / "mail"
        self.ses = ses
        config = tmp_path / "sellerreach.toml"
        config.write_text(
            CONFIG.format(warehouse_url=warehouse_url, maildir=self.maildir, endpoint=ses.url),
            encoding="utf-8",
        )
        self.config = config
        self.settings = load_settings(config, env={})
        self.engine = create_warehouse_engine(self.settings.warehouse_url)
        ensure_schema(self.engine)
        self.sender = SesSender.from_config(self.settings.ses)
        self.count = 0

    def buyer_writes(
        self, topic: str, *, hours_ago: float = 1, tracking: bool = True, body: str | None = None
    ) -> str:
        """A new order and its buyer's message; returns the thread id."""
        self.count += 1
        n = self.count
        relay = relay_address_for(f"reply-test-{n}", MARKETPLACE)
        payload = order_payload(n, buyer_email=relay, created=NOW - timedelta(days=3))
        if not tracking:
            payload.pop("packages", None)
        with self.engine.begin() as conn:
            load_orders(conn, [map_order(payload, "acme-na")], NOW)
        at = NOW - timedelta(hours=hours_ago)
        raw = compose_buyer_message(
            order_id=payload["orderId"],
            marketplace_id=MARKETPLACE,
            buyer_name=f"Buyer {n}",
            relay_address=relay,
            seller_address="support@acme.example",
            language="en",
            topic=topic,
            sent_at=at,
            message_id=f"<reply-test-{n}@marketplace.amazon.com>",
            body=body,
        )
        write_maildir_message(self.maildir, raw, delivered_at=at)
        sync_folder(
            self.engine,
            self.settings.mailboxes[0],
            MaildirSource(self.maildir),
            "INBOX",
            self.settings.inbox,
            NOW,
            actor="test",
        )
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(t.dim_threads.c.thread_id).where(
                    t.dim_threads.c.amazon_order_id == payload["orderId"]
                )
            ).scalar_one()

    def draft(self, thread_id: str, **kwargs):
        with self.engine.connect() as conn:
            return draft_reply(
                conn, thread_id, mailboxes=self.settings.mailboxes, templates=TEMPLATES, **kwargs
            )

    def send(self, draft, sender=None, sent_by: str = "emma", at: datetime = NOW):
        return send_reply(
            self.engine,
            draft,
            sender or self.sender,
            sent_by=sent_by,
            inbox=self.settings.inbox,
            now=at,
            actor=f"agent:{sent_by}",
        )

    def rows(self, table: sa.Table) -> list[dict]:
        with self.engine.connect() as conn:
            return [dict(row) for row in conn.execute(sa.select(table)).mappings()]


@pytest.fixture
def inbox(tmp_path: Path, warehouse_url: str, monkeypatch):
    with ses_stand_in(verified=["acme.example"]) as ses:
        box = Inbox(tmp_path, warehouse_url, ses, monkeypatch)
        yield box
        box.engine.dispose()


def test_a_template_reply_is_sent_threaded_from_the_approved_sender_and_recorded(inbox: Inbox):
    thread_id = inbox.buyer_writes("where_is_my_order", hours_ago=5)
    draft = inbox.draft(thread_id, sent_by="emma", agent_name="Emma Johnson", template_id="where_is_my_order")
    assert draft.locale == "en" and draft.findings == ()
    assert draft.context["tracking_number"] and draft.context["tracking_number"] in draft.body
    assert "Emma Johnson" in draft.body

    sent = inbox.send(draft)

    (mail,) = inbox.ses.sent()
    message = email.message_from_bytes(mail.raw, policy=policy.default)
    assert mail.from_address == "orders@acme.example" == message["From"]
    assert mail.to_addresses == (draft.to_address,) and draft.to_address.endswith("@marketplace.amazon.com")
    assert message["In-Reply-To"] == "<reply-test-1@marketplace.amazon.com>"
    assert message["Subject"].startswith("Re: ")
    assert mail.tags["reply_id"] == sent.reply_id and mail.tags["thread_id"] == thread_id
    assert mail.configuration_set == "sellerreach-test"

    (ledger,) = inbox.rows(t.fct_replies)
    assert (ledger["state"], ledger["kind"], ledger["sent_by"], ledger["template_id"]) == (
        "sent",
        "manual",
        "emma",
        "where_is_my_order",
    )
    assert ledger["ses_message_id"] == mail.ses_message_id
    assert ledger["message_id"] == sent.message_id == f"<{mail.ses_message_id}@email.amazonses.com>"
    outbound = [m for m in inbox.rows(t.fct_buyer_messages) if m["direction"] == "out"]
    assert [(m["message_id"], m["sent_by"], m["thread_id"]) for m in outbound] == [
        (sent.message_id, "emma", thread_id)
    ]
    (thread,) = inbox.rows(t.dim_threads)
    assert (
        thread["status"] == "answered" and thread["first_response_at"] == NOW and thread["sla_due_at"] is None
    )
    audit = [a for a in inbox.rows(t.audit_log) if a["action"] == "thread.reply"]
    assert [(a["actor"], a["object_id"], a["after"]["reply_id"]) for a in audit] == [
        ("agent:emma", thread_id, sent.reply_id)
    ]
    assert all(draft.to_address not in str(a) for a in inbox.rows(t.audit_log))


def test_a_reply_that_breaks_amazons_rules_is_not_sent(inbox: Inbox):
    thread_id = inbox.buyer_writes("question")
    draft = inbox.draft(
        thread_id,
        sent_by="emma",
        text="Leave us a 5-star review and we will send you a $10 gift card! More at www.acme-shop.example",
    )
    assert draft.is_blocked
    with pytest.raises(ReplyBlocked, match="nothing was sent") as blocked:
        inbox.send(draft)
    assert {f.rule_id for f in blocked.value.findings if f.severity == "error"} >= {"external-link"}
    assert inbox.ses.sent() == [] and inbox.rows(t.fct_replies) == []
    (thread,) = inbox.rows(t.dim_threads)
    assert thread["status"] == "open"


def test_the_third_canned_reply_is_flagged_low_quality_and_counted(inbox: Inbox):
    threads = [inbox.buyer_writes("question", hours_ago=3 - n) for n in range(3)]
    drafts = []
    for n, thread_id in enumerate(threads):
        draft = inbox.draft(thread_id, sent_by="emma", agent_name="Emma Johnson", template_id="acknowledge")
        drafts.append(draft)
        inbox.send(draft, at=NOW + timedelta(minutes=n))
    assert [d.is_low_quality for d in drafts] == [False, False, True]
    assert drafts[2].similarity > 0.85
    # an answer in the agent's own words is not
    own = inbox.draft(
        inbox.buyer_writes("damaged_item"),
        sent_by="emma",
        text="Sorry the bottle arrived dented! Order 111-0000004-0031676: a new one ships today by UPS, "
        "and there is no need to send the old one back.",
    )
    assert own.is_low_quality is False and own.similarity < 0.85

    with inbox.engine.begin() as conn:
        refresh_inbox_report(conn, inbox.settings.inbox, NOW + timedelta(minutes=5))
    report = inbox.rows(t.rpt_inbox_daily)
    assert sum(r["low_quality_replies"] for r in report) == 1


def test_ses_refusing_the_sender_is_recorded_as_failed_without_the_buyer_address(inbox: Inbox):
    thread_id = inbox.buyer_writes("question")
    draft = inbox.draft(thread_id, sent_by="emma", template_id="acknowledge")
    unverified = dataclasses.replace(draft, from_address="support@unverified.example")
    with pytest.raises(ReplyFailed, match="MessageRejected") as failed:
        inbox.send(unverified)
    assert unverified.to_address not in str(failed.value)
    (ledger,) = inbox.rows(t.fct_replies)
    assert ledger["state"] == "failed" and "MessageRejected" in ledger["error"]
    assert unverified.to_address not in ledger["error"]
    assert [m for m in inbox.rows(t.fct_buyer_messages) if m["direction"] == "out"] == []


class _Unanswered:
    """SES that throttles (answered: not taken) or times out (no answer: maybe taken)."""

    def __init__(self, status: int | None) -> None:
        self.status = status
        self.calls = 0

    def send_raw(self, raw, *, from_address, to_addresses, tags=None):
        self.calls += 1
        raise RetriableError("SES did not take the mail", status=self.status)


def test_a_throttled_reply_is_released_and_a_timed_out_one_stays_claimed(inbox: Inbox):
    throttled = inbox.draft(inbox.buyer_writes("question"), sent_by="emma", template_id="acknowledge")
    with pytest.raises(RetriableError):
        inbox.send(throttled, sender=_Unanswered(429))
    assert inbox.rows(t.fct_replies) == []  # SES answered 429: it has nothing, so a retry may send

    timed_out = inbox.draft(inbox.buyer_writes("question"), sent_by="emma", template_id="acknowledge")
    with pytest.raises(RetriableError):
        inbox.send(timed_out, sender=_Unanswered(None))
    (ledger,) = inbox.rows(t.fct_replies)
    assert ledger["state"] == "claimed" and "no answer from SES" in ledger["error"]


def _auto_reply(inbox: Inbox, sender=None, at: datetime = NOW):
    return send_auto_replies(
        inbox.engine,
        mailboxes=inbox.settings.mailboxes,
        inbox=inbox.settings.inbox,
        templates=TEMPLATES,
        sender=sender or inbox.sender,
        now=at,
        actor="flow:sync_messages",
    )


def test_auto_replies_answer_where_is_my_order_once_per_thread(inbox: Inbox):
    wismo = inbox.buyer_writes("where_is_my_order", hours_ago=2)
    no_tracking = inbox.buyer_writes("where_is_my_order", hours_ago=2, tracking=False)
    too_old = inbox.buyer_writes("where_is_my_order", hours_ago=30)
    other = inbox.buyer_writes("return_request", hours_ago=1)

    stats = _auto_reply(inbox)
    assert (stats.sent, stats.skipped, stats.blocked, stats.failed) == (1, 1, 0, 0)
    (mail,) = inbox.ses.sent()
    assert mail.tags["kind"] == "auto" and mail.tags["thread_id"] == wismo
    (ledger,) = inbox.rows(t.fct_replies)
    assert (ledger["reply_id"], ledger["sent_by"], ledger["auto_rule_id"]) == (
        auto_reply_id(wismo),
        "auto:where-is-my-order",
        "where-is-my-order",
    )
    statuses = {th["thread_id"]: th["status"] for th in inbox.rows(t.dim_threads)}
    assert statuses == {wismo: "answered", no_tracking: "open", too_old: "open", other: "open"}

    # the buyer writes again: the thread is open again, but it had its auto-reply
    before = inbox.rows(t.fct_replies)
    assert _auto_reply(inbox, at=NOW + timedelta(minutes=15)).sent == 0
    assert len(inbox.ses.sent()) == 1 and inbox.rows(t.fct_replies) == before


def test_an_auto_reply_the_rules_refuse_is_recorded_once_and_never_sent(inbox: Inbox, tmp_path: Path):
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "where_is_my_order.en.txt.j2").write_text(
        "Your order {{ order_id }} ships soon. Track it at https://track.acme-shop.example/{{ order_id }}",
        encoding="utf-8",
    )
    thread_id = inbox.buyer_writes("where_is_my_order", hours_ago=1)
    stats = send_auto_replies(
        inbox.engine,
        mailboxes=inbox.settings.mailboxes,
        inbox=inbox.settings.inbox,
        templates=ReplyTemplates(folder),
        sender=inbox.sender,
        now=NOW,
        actor="flow:sync_messages",
    )
    assert (stats.sent, stats.blocked) == (0, 1)
    (ledger,) = inbox.rows(t.fct_replies)
    assert ledger["thread_id"] == thread_id and ledger["state"] == "blocked"
    assert "external-link" in {f["rule_id"] for f in ledger["findings"]}
    assert inbox.ses.sent() == []
    assert _auto_reply(inbox).blocked == 0  # not tried again


# -- the command ------------------------------------------------------------------------------------------------


def _cli(inbox: Inbox, *args: str, agent: str | None = "emma"):
    from typer.testing import CliRunner

    from sellerreach.cli import app

    options = ["inbox", "--config", str(inbox.config)] + (["--agent", agent] if agent else [])
    return CliRunner().invoke(app, [*options, *args], catch_exceptions=False)


def test_inbox_reply_dry_run_shows_the_reply_and_sends_nothing(inbox: Inbox):
    thread_id = inbox.buyer_writes("where_is_my_order")
    result = _cli(inbox, "reply", thread_id[:8], "--template", "where_is_my_order", "--dry-run")
    assert result.exit_code == 0, result.output
    assert (
        "Emma Johnson" in result.output
        and "Dry run: nothing sent; this reply would be sent." in result.output
    )
    assert "tracking number is" in result.output
    assert inbox.ses.sent() == [] and inbox.rows(t.fct_replies) == []
    assert "@marketplace.amazon" not in result.output  # the buyer's address stays in the warehouse


def test_inbox_reply_sends_and_the_thread_is_answered(inbox: Inbox):
    thread_id = inbox.buyer_writes("question")
    result = _cli(inbox, "reply", thread_id[:8], "--template", "acknowledge", "--set", "buyer_name=Sam")
    assert result.exit_code == 0, result.output
    assert "Sent: reply" in result.output and "SLA clock has stopped" in result.output
    (mail,) = inbox.ses.sent()
    assert "Hello Sam," in email.message_from_bytes(mail.raw, policy=policy.default).get_content()
    (thread,) = inbox.rows(t.dim_threads)
    assert thread["status"] == "answered"


def test_inbox_reply_refuses_a_non_compliant_text_with_each_finding(inbox: Inbox, tmp_path: Path):
    thread_id = inbox.buyer_writes("question")
    draft = tmp_path / "draft.txt"
    draft.write_text(
        "Thanks! Call us on +1 (555) 010-4477 or write to help@acme-shop.example about your review.",
        encoding="utf-8",
    )
    result = _cli(inbox, "reply", thread_id[:8], "--text-file", str(draft))
    assert result.exit_code == 1
    assert "phone-number" in result.output and "email-address" in result.output
    assert "Not sent" in result.output
    assert inbox.ses.sent() == []


@pytest.mark.parametrize(
    ("args", "agent", "says"),
    [
        (["--template", "acknowledge"], None, "inbox reply needs --agent"),
        (["--template", "acknowledge"], "nobody", "--agent 'nobody': no such agent"),
        ([], "emma", "give exactly one of --template, --text or --text-file"),
        (["--template", "acknowledge", "--set", "tracking=1Z"], "emma", "use name=value with name one of"),
        (["--template", "thank_you_note"], "emma", "no reply template 'thank_you_note'"),
    ],
)
def test_inbox_reply_says_what_is_wrong(inbox: Inbox, args, agent, says):
    thread_id = inbox.buyer_writes("question")
    result = _cli(inbox, "reply", thread_id[:8], *args, agent=agent)
    assert result.exit_code == 2
    assert says in " ".join(re.sub(r"[│╭╮╰╯─]", " ", result.output).split())  # rich boxes wrap the message
    assert inbox.ses.sent() == []


def test_inbox_templates_lists_templates_languages_and_variables(inbox: Inbox):
    result = _cli(inbox, "templates", agent=None)
    assert result.exit_code == 0, result.output
    assert "where_is_my_order" in result.output and "de en es fr it ja zh" in result.output
    assert "tracking_number" in result.output


def test_an_own_text_must_be_in_the_buyers_language(inbox: Inbox):
    thread_id = inbox.buyer_writes("question")  # the buyer wrote in English
    draft = inbox.draft(
        thread_id,
        sent_by="emma",
        text="Vielen Dank für Ihre Nachricht zur Bestellung. Wir kümmern uns darum und melden uns bei Ihnen.",
    )
    assert draft.locale == "en"
    assert "wrong-language" in {f.rule_id for f in draft.findings if f.severity == "error"}
