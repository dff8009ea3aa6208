"""sync_messages under prefect_test_harness, on SQLite and PostgreSQL: a Maildir mailbox of relay mail, run twice
(nothing changes, no alert twice), and a mailbox whose server is down failing the run without stopping the others."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from flows.sync_messages import sync_messages
from schemas import tables as t
from sellerreach.errors import RunFailed
from sellerreach.sandbox.relay_mail import (
    compose_buyer_message,
    compose_seller_reply,
    relay_address_for,
    write_maildir_message,
)
from sellerreach.warehouse import create_warehouse_engine
from tests.flows.test_sync_orders import snapshot

pytestmark = pytest.mark.flow

ACCOUNTS = """
[[accounts]]
id = "acme-na"
region = "na"
marketplaces = ["ATVPDKIKX0DER"]
client_id = "env:SELLERREACH_LWA_CLIENT_ID"
client_secret = "env:SELLERREACH_LWA_CLIENT_SECRET"
refresh_token = "env:SELLERREACH_ACME_NA_REFRESH_TOKEN"
"""


def maildir_mailbox(path: Path) -> str:
    return f"""
[[mailboxes]]
id = "acme-na-relay"
account = "acme-na"
kind = "maildir"
path = "{path}"
sent_folders = ["Sent"]
seller_addresses = ["support@acme.example"]
"""


def unreachable_imap_mailbox() -> str:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"""
[[mailboxes]]
id = "acme-na-down"
account = "acme-na"
kind = "imap"
host = "127.0.0.1"
port = {port}
tls = false
username = "seller"
password = "env:SELLERREACH_TEST_IMAP_PASSWORD"
seller_addresses = ["support@acme.example"]
"""


def fill_maildir(root: Path, now: datetime) -> None:
    """Three buyers: one answered in time, one waiting 30 hours (breached), one who complains."""
    for folder in (root, root / ".Sent"):
        for part in ("cur", "new", "tmp"):
            (folder / part).mkdir(parents=True, exist_ok=True)
    stories = [
        ("where_is_my_order", None, 3),
        ("question", None, None),
        ("complaint", "I want a refund now", None),
    ]
    for n, (topic, body, answered_after) in enumerate(stories):
        order = f"113-{4000000 + n:07d}-{5000000 + n:07d}"
        relay = relay_address_for(f"flow-buyer-{n}", "ATVPDKIKX0DER")
        asked = now - timedelta(hours=30 - n)
        message_id = f"<flow-{n}@marketplace.amazon.com>"
        write_maildir_message(
            root,
            compose_buyer_message(
                order_id=order,
                marketplace_id="ATVPDKIKX0DER",
                buyer_name=f"Buyer {n}",
                relay_address=relay,
                seller_address="support@acme.example",
                language="en",
                topic=topic,
                sent_at=asked,
                message_id=message_id,
                body=body,
            ),
            delivered_at=asked,
        )
        if answered_after:
            answered = asked + timedelta(hours=answered_after)
            write_maildir_message(
                root,
                compose_seller_reply(
                    to_relay_address=relay,
                    seller_address="support@acme.example",
                    subject=f"Re: Your order {order}",
                    body=f"Order {order} is on its way.",
                    sent_at=answered,
                    message_id=f"<flow-reply-{n}@acme.example>",
                    in_reply_to=message_id,
                ),
                delivered_at=answered,
                folder="Sent",
            )


@pytest.fixture
def config(tmp_path: Path, warehouse_url: str, monkeypatch) -> Path:
    monkeypatch.setenv("SELLERREACH_WAREHOUSE_URL", warehouse_url)
    maildir = tmp_path / "mail"
    fill_maildir(maildir, datetime.now(UTC))
    path = tmp_path / "sellerreach.toml"
    path.write_text(ACCOUNTS + maildir_mailbox(maildir), encoding="utf-8")
    return path


def test_sync_messages_twice_changes_nothing_and_alerts_once(config: Path, warehouse_url: str) -> None:
    first = sync_messages(config_path=str(config))
    assert {(r["folder"], r["stored"]) for r in first} == {("INBOX", 3), ("Sent", 1)}
    engine = create_warehouse_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            threads = (
                conn.execute(sa.select(t.dim_threads).order_by(t.dim_threads.c.opened_at)).mappings().all()
            )
            alerts = conn.execute(sa.select(t.fct_inbox_alerts)).mappings().all()
        assert [th["status"] for th in threads] == ["answered", "open", "open"]
        assert [th["is_breached"] for th in threads] == [False, True, True]
        assert "refund" in threads[2]["tags"]
        kinds = sorted((a["kind"], a["rule_id"]) for a in alerts)
        assert kinds == [("breach", None), ("breach", None), ("keyword", "refund")]
        assert all(a["emitted_at"] is not None for a in alerts)  # sent out as events, and marked

        before = snapshot(engine)
        second = sync_messages(config_path=str(config))
        assert sum(r["fetched"] for r in second) == 0
        assert snapshot(engine) == before  # same messages, threads, alerts (none emitted again), cursors
    finally:
        engine.dispose()


def test_a_mailbox_that_is_down_fails_the_run_but_not_the_others(
    config: Path, warehouse_url: str, monkeypatch
):
    monkeypatch.setenv("SELLERREACH_TEST_IMAP_PASSWORD", "not-a-real-password")
    config.write_text(config.read_text(encoding="utf-8") + unreachable_imap_mailbox(), encoding="utf-8")
    monkeypatch.setattr("tasks.mailbox.sync_mailbox.retries", 0)
    with pytest.raises(RunFailed, match="acme-na-down") as failure:
        sync_messages(config_path=str(config))
    assert "not-a-real-password" not in str(failure.value)
    engine = create_warehouse_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            assert (
                conn.execute(sa.select(sa.func.count()).select_from(t.fct_buyer_messages)).scalar_one() == 4
            )
    finally:
        engine.dispose()


def test_auto_replies_go_out_once_through_ses_whatever_runs_twice(
    config: Path, warehouse_url: str, monkeypatch
) -> None:
    """A buyer asks where the order is; the flow answers through SES (the stand-in), once, and the thread is
    answered; the second run sends nothing."""
    from tests.support.ses import ses_stand_in

    now = datetime.now(UTC)
    maildir = config.parent / "mail"
    write_maildir_message(
        maildir,
        compose_buyer_message(
            order_id="113-4000009-5000009",
            marketplace_id="ATVPDKIKX0DER",
            buyer_name="Buyer 9",
            relay_address=relay_address_for("flow-buyer-9", "ATVPDKIKX0DER"),
            seller_address="support@acme.example",
            language="en",
            topic="where_is_my_order",
            sent_at=now - timedelta(hours=1),
            message_id="<flow-9@marketplace.amazon.com>",
        ),
        delivered_at=now - timedelta(hours=1),
    )
    monkeypatch.setenv("TEST_SES_KEY_ID", "stand-in-key-id-2")
    monkeypatch.setenv("TEST_SES_SECRET", "stand-in-secret-not-real")
    with ses_stand_in(verified=["acme.example"]) as ses:
        config.write_text(
            config.read_text(encoding="utf-8")
            + f'[ses]\nendpoint = "{ses.url}"\nconfiguration_set = "flows"\n'
            + 'access_key_id = "env:TEST_SES_KEY_ID"\nsecret_access_key = "env:TEST_SES_SECRET"\n'
            + "[inbox]\nauto_replies = true\n"
            # no orders in this warehouse, so no tracking number: a rule that answers without one
            + '[[inbox.auto_reply_rules]]\nid = "where-is-my-order"\nkeywords = ["where my parcel is"]\n'
            + 'template = "where_is_my_order"\n',
            encoding="utf-8",
        )
        sync_messages(config_path=str(config))
        engine = create_warehouse_engine(warehouse_url)
        try:
            (mail,) = ses.sent()
            assert mail.tags["kind"] == "auto" and mail.configuration_set == "flows"
            with engine.connect() as conn:
                replies = conn.execute(sa.select(t.fct_replies)).mappings().all()
                thread = conn.execute(
                    sa.select(t.dim_threads).where(t.dim_threads.c.amazon_order_id == "113-4000009-5000009")
                ).mappings().one()
            assert [(r["state"], r["sent_by"]) for r in replies] == [("sent", "auto:where-is-my-order")]
            assert thread["status"] == "answered"

            before = snapshot(engine)
            sync_messages(config_path=str(config))
            assert len(ses.sent()) == 1
            assert snapshot(engine) == before
        finally:
            engine.dispose()
