"""`sellerreach inbox` on a synced Maildir: the queue, one thread, and the agents' actions (audit-logged), with
times in the agent's time zone and no buyer address on the screen."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from schemas import tables as t
from sellerreach.cli import app
from sellerreach.inbox.mailbox import MaildirSource
from sellerreach.inbox.sync import sync_folder
from sellerreach.sandbox.relay_mail import compose_buyer_message, relay_address_for, write_maildir_message
from sellerreach.settings import load_settings
from sellerreach.warehouse import create_warehouse_engine, ensure_schema

runner = CliRunner()
NOW = datetime.now(UTC).replace(microsecond=0)
CONFIG = """
[[accounts]]
id = "acme-eu"
region = "eu"
marketplaces = ["A1PA6795UKMFR9"]
client_id = "env:SELLERREACH_LWA_CLIENT_ID"
client_secret = "env:SELLERREACH_LWA_CLIENT_SECRET"
refresh_token = "env:SELLERREACH_ACME_EU_REFRESH_TOKEN"

[warehouse]
url = "sqlite:///{db}"

[[mailboxes]]
id = "acme-eu-relay"
account = "acme-eu"
kind = "maildir"
path = "{maildir}"
seller_addresses = ["support@acme.example"]

[[inbox.agents]]
id = "mia"
time_zone = "Asia/Tokyo"

[[inbox.agents]]
id = "lucas"
time_zone = "Europe/Paris"
"""


@pytest.fixture
def inbox(tmp_path: Path):
    """Two German buyers: one wrote 30 hours ago (overdue), one 2 hours ago."""
    maildir = tmp_path / "mail"
    config = tmp_path / "sellerreach.toml"
    config.write_text(CONFIG.format(db=tmp_path / "w.db", maildir=maildir), encoding="utf-8")
    relays = []
    for n, hours_ago in enumerate((30, 2)):
        at = NOW - timedelta(hours=hours_ago)
        relay = relay_address_for(f"cli-{n}", "A1PA6795UKMFR9")
        relays.append(relay)
        raw = compose_buyer_message(
            order_id=f"302-{1000000 + n:07d}-{2000000 + n:07d}",
            marketplace_id="A1PA6795UKMFR9",
            buyer_name=f"Käufer {n}",
            relay_address=relay,
            seller_address="support@acme.example",
            language="de",
            topic="where_is_my_order",
            sent_at=at,
            message_id=f"<cli-{n}@marketplace.amazon.de>",
        )
        write_maildir_message(maildir, raw, delivered_at=at)
    settings = load_settings(config, env={})
    engine = create_warehouse_engine(settings.warehouse_url)
    ensure_schema(engine)
    sync_folder(
        engine, settings.mailboxes[0], MaildirSource(maildir), "INBOX", settings.inbox, NOW, actor="test"
    )
    with engine.connect() as conn:
        threads = (
            conn.execute(sa.select(t.dim_threads.c.thread_id).order_by(t.dim_threads.c.opened_at))
            .scalars()
            .all()
        )
    yield config, engine, threads, relays
    engine.dispose()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "220"})


def test_the_queue_most_urgent_first_in_the_agents_time_zone(inbox) -> None:
    config, _, (overdue, recent), relays = inbox
    result = invoke("inbox", "--config", str(config), "--agent", "mia")
    assert result.exit_code == 0, result.output
    assert result.output.index(overdue[:8]) < result.output.index(recent[:8])
    assert "BREACHED" in result.output and "Asia/Tokyo" in result.output
    due_in_tokyo = (NOW - timedelta(hours=6)).astimezone(ZoneInfo("Asia/Tokyo"))
    assert due_in_tokyo.strftime("%Y-%m-%d %H:%M") in result.output
    only_overdue = invoke("inbox", "--config", str(config), "--overdue")
    assert overdue[:8] in only_overdue.output and recent[:8] not in only_overdue.output
    assert not any(relay in result.output for relay in relays)


def test_show_assign_tag_and_close(inbox) -> None:
    config, engine, (overdue, _), relays = inbox
    shown = invoke("inbox", "--config", str(config), "show", overdue[:8])
    assert shown.exit_code == 0, shown.output
    assert overdue in shown.output and "buyer ->" in shown.output
    assert not any(relay in shown.output for relay in relays)

    assert (
        invoke("inbox", "--config", str(config), "--agent", "lucas", "assign", overdue[:8], "mia").exit_code
        == 0
    )
    assert invoke("inbox", "--config", str(config), "tag", overdue[:8], "vip", "damaged").exit_code == 0
    closed = invoke("inbox", "--config", str(config), "--agent", "mia", "close", overdue[:8])
    assert closed.exit_code == 0 and "closed" in closed.output and "stopped" in closed.output
    with engine.connect() as conn:
        thread = (
            conn.execute(sa.select(t.dim_threads).where(t.dim_threads.c.thread_id == overdue))
            .mappings()
            .one()
        )
        actions = conn.execute(
            sa.select(t.audit_log.c.actor, t.audit_log.c.action).where(t.audit_log.c.object_id == overdue)
        ).all()
    assert (thread["owner"], thread["tags"], thread["status"]) == ("mia", ["damaged", "vip"], "closed")
    assert thread["sla_due_at"] is None
    assert set(actions) >= {
        ("agent:lucas", "thread.assign"),
        ("cli", "thread.tag"),
        ("agent:mia", "thread.close"),
    }
    assert (
        overdue[:8] not in invoke("inbox", "--config", str(config)).output
    )  # the default queue: open threads


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("show", "zz"), "too short"),
        (("show", "ffffffffff"), "no thread"),
        (("assign", "{thread}", "nobody"), "no agent 'nobody'"),
    ],
)
def test_clear_errors(inbox, args, says) -> None:
    config, _, (thread, _), _ = inbox
    result = invoke("inbox", "--config", str(config), *(a.format(thread=thread[:8]) for a in args))
    assert result.exit_code == 2 and says in result.output


def test_an_unknown_agent_and_status(inbox) -> None:
    config, *_ = inbox
    assert "no such agent" in invoke("inbox", "--config", str(config), "--agent", "mai").output
    assert invoke("inbox", "--config", str(config), "--status", "pending").exit_code == 2


@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_export(inbox, tmp_path: Path, suffix: str) -> None:
    import pandas as pd

    config, _, (overdue, recent), relays = inbox
    target = tmp_path / f"queue{suffix}"
    result = invoke("inbox", "--config", str(config), "--overdue", "--agent", "mia", "export", str(target))
    assert result.exit_code == 0, result.output
    assert "Wrote 1 threads and 1 messages" in result.output
    if suffix == ".xlsx":
        threads = pd.read_excel(target, sheet_name="threads")
        messages = pd.read_excel(target, sheet_name="messages")
        assert list(threads["thread_id"]) == [overdue] and list(messages["thread_id"]) == [overdue]
        assert "relay_email" not in messages.columns and messages["buyer_id"].notna().all()
    else:
        flat = pd.read_csv(target)
        assert list(flat["thread_id"]) == [overdue] and flat["status"].tolist() == ["open"]
        assert "relay_email" not in flat.columns
    assert not any(relay.encode() in target.read_bytes() for relay in relays)
    bad = invoke("inbox", "--config", str(config), "export", str(tmp_path / "queue.json"))
    assert bad.exit_code == 2 and ".csv or .xlsx" in bad.output
