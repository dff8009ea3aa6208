"""Mailbox folders into the warehouse: incremental by UID, re-scan by Message-ID after a UIDVALIDITY change,
threads, SLA clocks, keyword alerts, assignment and quarantine. Maildir on SQLite and PostgreSQL; IMAP against
a real Dovecot (including the 10,000-message folder)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from schemas import tables as t
from sellerreach.buyers import buyer_id_for
from sellerreach.inbox.config import Agent, AssignmentRule, InboxConfig, MailboxConfig
from sellerreach.inbox.mailbox import ImapLogin, ImapSource, MaildirSource
from sellerreach.inbox.queue import assign_thread, set_thread_status
from sellerreach.inbox.report import refresh_inbox_report
from sellerreach.inbox.sync import sync_folder
from sellerreach.inbox.threads import refresh_threads, running_thread_ids
from sellerreach.sandbox.relay_mail import (
    compose_buyer_message,
    compose_seller_reply,
    relay_address_for,
    write_maildir_message,
)
from sellerreach.warehouse import create_warehouse_engine

SELLER = "support@acme.example"
START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday
US, DE = "ATVPDKIKX0DER", "A1PA6795UKMFR9"
ACTOR = "test"


def mailbox_config(root: Path | None = None, **overrides) -> MailboxConfig:
    values = dict(
        mailbox_id="acme-relay",
        account_id="acme-na",
        kind="maildir",
        path=str(root) if root else None,
        host=None,
        port=None,
        tls=True,
        username=None,
        password=None,
        oauth2_token=None,
        folders=("INBOX",),
        sent_folders=("Sent",),
        seller_addresses=(SELLER,),
        reply_from=SELLER,
    )
    values.update(overrides)
    return MailboxConfig(**values)


INBOX = InboxConfig(
    agents=(
        Agent("emma", "Emma", "America/New_York", ("en",)),
        Agent("mia", "Mia", "Europe/Berlin", ("de",)),
    ),
    assignment_rules=(
        AssignmentRule(("emma",), tags=("complaint",)),
        AssignmentRule(("mia",), languages=("de",)),
        AssignmentRule(("emma", "mia")),
    ),
)


def buyer_mail(
    n: int, *, at: datetime, topic: str = "where_is_my_order", language: str = "en", marketplace=US, body=None
):
    order = f"112-{1000000 + n:07d}-{2000000 + n:07d}"
    relay = relay_address_for(f"buyer-{n}", marketplace)
    message_id = f"<buyer-{n}.{at:%H%M}@marketplace.amazon.com>"
    raw = compose_buyer_message(
        order_id=order,
        marketplace_id=marketplace,
        buyer_name=f"Buyer {n}",
        relay_address=relay,
        seller_address=SELLER,
        language=language,
        topic=topic,
        sent_at=at,
        message_id=message_id,
        body=body,
    )
    return order, relay, message_id, raw


def seller_reply(relay: str, order: str, in_reply_to: str, at: datetime) -> bytes:
    return compose_seller_reply(
        to_relay_address=relay,
        seller_address=SELLER,
        subject=f"Re: Inquiry from Amazon customer (Order: {order})",
        body=f"Your order {order} left our warehouse today.",
        sent_at=at,
        message_id=f"<reply.{order}.{at:%H%M}@acme.example>",
        in_reply_to=in_reply_to,
    )



@pytest.fixture
def maildir(tmp_path: Path) -> Path:
    """An empty Maildir++ with the seller's Sent folder."""
    root = tmp_path / "Maildir"
    for folder in (root, root / ".Sent"):
        for part in ("cur", "new", "tmp"):
            (folder / part).mkdir(parents=True)
    return root


def sync_all(engine, box: MailboxConfig, source, now: datetime, inbox: InboxConfig = INBOX) -> dict:
    totals: dict[str, int] = {}
    for folder in (*box.folders, *box.sent_folders):
        result = sync_folder(engine, box, source, folder, inbox, now, actor=ACTOR)
        for key, value in result.as_dict().items():
            if isinstance(value, bool | int) and not isinstance(value, str):
                totals[key] = totals.get(key, 0) + int(value)
    return totals


def table(engine, table: sa.Table, *order_by: str) -> list[dict]:
    with engine.connect() as conn:
        query = sa.select(table).order_by(*(table.c[c] for c in order_by))
        return [dict(row) for row in conn.execute(query).mappings()]


def test_first_sync_then_only_new_mail(engine, maildir: Path) -> None:
    box = mailbox_config(maildir)
    write_maildir_message(maildir, b"", delivered_at=START, folder="Sent")  # an empty file: malformed
    conversations = [buyer_mail(n, at=START + timedelta(minutes=n)) for n in range(5)]
    for n, (_, _, _, raw) in enumerate(conversations):
        write_maildir_message(maildir, raw, delivered_at=START + timedelta(minutes=n))
    order0, relay0, first0, _ = conversations[0]
    write_maildir_message(
        maildir,
        seller_reply(relay0, order0, first0, START + timedelta(hours=2)),
        delivered_at=START + timedelta(hours=2),
        folder="Sent",
    )
    source = MaildirSource(maildir)

    first = sync_all(engine, box, source, START + timedelta(hours=3))
    assert (first["stored"], first["quarantined"], first["rescanned"]) == (6, 1, 0)
    messages = table(engine, t.fct_buyer_messages, "received_at", "direction")
    assert [m["direction"] for m in messages].count("out") == 1
    assert {m["buyer_id"] for m in messages} == {buyer_id_for(c[1]) for c in conversations}
    assert all(m["relay_email"] and m["amazon_order_id"] and m["body"] for m in messages)
    threads = {row["amazon_order_id"]: row for row in table(engine, t.dim_threads, "thread_id")}
    assert len(threads) == 5
    assert threads[order0]["status"] == "answered"
    assert threads[order0]["first_response_at"] == START + timedelta(hours=2)
    assert threads[order0]["sla_due_at"] is None  # answered: the clock stopped
    waiting = threads[conversations[1][0]]
    assert waiting["status"] == "open" and waiting["sla_due_at"] == START + timedelta(minutes=1, hours=24)
    assert all(row["owner"] for row in threads.values())  # the catch-all rule assigns every thread

    state = {
        row["stream"]: row for row in table(engine, t.sync_state, "stream") if row["source"] == "mailbox"
    }
    assert (
        state["acme-relay/INBOX"]["cursor_position"] == 5 and state["acme-relay/Sent"]["cursor_position"] == 2
    )

    before = source.stats.body_fetches
    again = sync_all(engine, box, source, START + timedelta(hours=3))
    assert again["stored"] == again["fetched"] == 0 and source.stats.body_fetches == before
    assert table(engine, t.fct_buyer_messages, "received_at", "direction") == messages

    for n in (5, 6):
        write_maildir_message(
            maildir, buyer_mail(n, at=START + timedelta(hours=4))[3], delivered_at=START + timedelta(hours=4)
        )
    newer = sync_all(engine, box, source, START + timedelta(hours=5))
    assert (newer["candidates"], newer["fetched"], newer["stored"]) == (2, 2, 2)
    assert source.stats.body_fetches == before + 2


def test_a_uidvalidity_change_rescans_by_message_id_and_doubles_nothing(engine, maildir: Path) -> None:
    box = mailbox_config(maildir)
    for n in range(4):
        write_maildir_message(maildir, buyer_mail(n, at=START)[3], delivered_at=START)
    source = MaildirSource(maildir)
    sync_all(engine, box, source, START + timedelta(hours=1))
    (source.folder_dir("INBOX") / "sellerreach-uidlist").unlink()  # the folder's UIDs are no longer valid
    write_maildir_message(maildir, buyer_mail(9, at=START)[3], delivered_at=START + timedelta(minutes=30))
    fetched_before = source.stats.body_fetches

    result = sync_folder(engine, box, source, "INBOX", INBOX, START + timedelta(hours=1), actor=ACTOR)
    assert result.rescanned and result.candidates == 5
    assert (result.known, result.fetched, result.stored) == (4, 1, 1)  # headers for all, a body for one
    assert source.stats.body_fetches == fetched_before + 1
    assert len(table(engine, t.fct_buyer_messages, "message_id")) == 5


def test_a_mail_in_two_folders_is_one_message(engine, maildir: Path) -> None:
    box = mailbox_config(maildir, folders=("INBOX", "Archive"))
    raw = buyer_mail(1, at=START)[3]
    write_maildir_message(maildir, raw, delivered_at=START)
    write_maildir_message(maildir, raw, delivered_at=START, folder="Archive")
    result = sync_all(engine, box, MaildirSource(maildir), START + timedelta(hours=1))
    assert (result["stored"], result["known"]) == (1, 1)


def test_non_buyer_mail_is_ignored_and_malformed_mail_quarantined(engine, maildir: Path) -> None:
    box = mailbox_config(maildir, sent_folders=())
    notification = (
        b"From: Amazon Seller Central <seller-notification@amazon.com>\r\nTo: support@acme.example\r\n"
        b"Subject: Your payout is on its way\r\nMessage-ID: <payout-1@amazon.com>\r\n"
        b"Date: Mon, 16 Nov 2026 09:00:00 +0000\r\n\r\nYour payout of $1,234.56 was sent.\r\n"
    )
    write_maildir_message(maildir, notification, delivered_at=START)
    write_maildir_message(maildir, b"\x00\x01 this is not a message", delivered_at=START)
    write_maildir_message(maildir, buyer_mail(1, at=START)[3], delivered_at=START)
    result = sync_folder(engine, box, MaildirSource(maildir), "INBOX", INBOX, START, actor=ACTOR)
    assert (result.stored, result.ignored, result.quarantined) == (1, 1, 1)
    (bad,) = table(engine, t.quarantine_records, "quarantine_id")
    assert bad["source"] == "mailbox" and bad["stream"] == "acme-relay/INBOX" and bad["reason"]
    again = sync_folder(engine, box, MaildirSource(maildir), "INBOX", INBOX, START, actor=ACTOR)
    assert again.fetched == 0 and len(table(engine, t.quarantine_records, "quarantine_id")) == 1


def test_keyword_alert_tags_assigns_and_is_raised_once(engine, maildir: Path) -> None:
    box = mailbox_config(maildir, sent_folders=())
    order, *_ = buyer_mail(1, at=START)
    angry = "Second message and still no parcel. I am filing a complaint and an A-to-z claim today."
    raw = buyer_mail(1, at=START, topic="complaint", body=angry)[3]
    write_maildir_message(maildir, raw, delivered_at=START)
    write_maildir_message(
        maildir, buyer_mail(2, at=START, language="de", marketplace=DE)[3], delivered_at=START
    )
    sync_folder(engine, box, MaildirSource(maildir), "INBOX", INBOX, START, actor=ACTOR)

    threads = {row["amazon_order_id"]: row for row in table(engine, t.dim_threads, "thread_id")}
    assert "complaint" in threads[order]["tags"] and threads[order]["owner"] == "emma"  # the tag rule
    german = next(row for key, row in threads.items() if key != order)
    assert german["language"] == "de" and german["owner"] == "mia"  # the language rule
    alerts = table(engine, t.fct_inbox_alerts, "alert_id")
    assert sorted((a["kind"], a["rule_id"]) for a in alerts) == [
        ("keyword", "a_to_z"),
        ("keyword", "complaint"),
    ]
    with engine.connect() as conn:
        assigned = conn.execute(
            sa.select(sa.func.count()).where(t.audit_log.c.action == "thread.assign")
        ).scalar_one()
    assert assigned == 2

    (source_uidlist := MaildirSource(maildir).folder_dir("INBOX") / "sellerreach-uidlist").unlink()
    assert not source_uidlist.exists()
    sync_folder(engine, box, MaildirSource(maildir), "INBOX", INBOX, START, actor=ACTOR)  # a full re-scan
    assert table(engine, t.fct_inbox_alerts, "alert_id") == alerts


def test_sla_clock_near_breach_breach_and_no_response_needed(engine, maildir: Path) -> None:
    box = mailbox_config(maildir, sent_folders=())
    write_maildir_message(maildir, buyer_mail(1, at=START)[3], delivered_at=START)
    sync_folder(engine, box, MaildirSource(maildir), "INBOX", INBOX, START, actor=ACTOR)

    def refresh(now: datetime):
        with engine.begin() as conn:
            return refresh_threads(conn, running_thread_ids(conn, now), INBOX, now, actor=ACTOR)

    assert refresh(START + timedelta(hours=10)).near_breach == 0
    assert refresh(START + timedelta(hours=21)).near_breach == 1  # 3 h left, under the 4 h default
    assert refresh(START + timedelta(hours=25)).breached == 1
    refresh(START + timedelta(hours=26))  # the same breach again: recorded once
    kinds = sorted(a["kind"] for a in table(engine, t.fct_inbox_alerts, "alert_id"))
    assert kinds == ["breach", "near_breach"]
    (thread,) = table(engine, t.dim_threads, "thread_id")
    assert thread["is_breached"] and thread["breaches"] == 1

    with engine.begin() as conn:
        after = set_thread_status(
            conn,
            thread["thread_id"],
            "no_response_needed",
            INBOX,
            START + timedelta(hours=27),
            actor="agent:emma",
        )
    assert after["status"] == "no_response_needed" and after["sla_due_at"] is None
    with engine.connect() as conn:
        assert running_thread_ids(conn, START + timedelta(hours=27)) == []

    write_maildir_message(
        maildir, buyer_mail(1, at=START + timedelta(hours=30))[3], delivered_at=START + timedelta(hours=30)
    )  # the buyer writes again: reopened
    sync_folder(engine, box, MaildirSource(maildir), "INBOX", INBOX, START + timedelta(hours=30), actor=ACTOR)
    (thread,) = table(engine, t.dim_threads, "thread_id")
    assert thread["status"] == "open" and thread["sla_due_at"] == START + timedelta(hours=54)


# --- IMAP, against a real Dovecot ---------------------------------------------------------------------------------

_folders = iter(range(1, 1000))


@pytest.fixture
def imap_folder(dovecot_server) -> str:
    name = f"Relay{next(_folders)}"
    dovecot_server.create_folder("seller", name)
    return name


def imap_source(server) -> ImapSource:
    return ImapSource(
        ImapLogin(server.host, server.port, "seller", password=server.password_for("seller"), tls=False)
    )


def test_imap_incremental_reset_delete_and_move(engine, dovecot_server, imap_folder: str) -> None:
    box = mailbox_config(kind="imap", folders=(imap_folder,), sent_folders=())
    mails = [buyer_mail(n, at=START + timedelta(minutes=n))[3] for n in range(6)]
    uids = dovecot_server.append("seller", imap_folder, mails[:4])
    with imap_source(dovecot_server) as source:
        first = sync_folder(engine, box, source, imap_folder, INBOX, START, actor=ACTOR)
        assert (first.fetched, first.stored) == (4, 4)

        dovecot_server.delete("seller", imap_folder, uids[:1])  # deleted on the server: kept in the warehouse
        dovecot_server.append("seller", imap_folder, mails[4:])
        second = sync_folder(engine, box, source, imap_folder, INBOX, START, actor=ACTOR)
        assert (second.candidates, second.fetched, second.stored) == (2, 2, 2)

        dovecot_server.create_folder("seller", imap_folder + "Done")
        dovecot_server.move(
            "seller", imap_folder, imap_folder + "Done", uids[1:2]
        )  # moved away: nothing lost
        dovecot_server.reset_uid_validity("seller", imap_folder, 4242)
        third = sync_folder(engine, box, source, imap_folder, INBOX, START, actor=ACTOR)
        assert third.rescanned and (third.candidates, third.known, third.fetched, third.stored) == (
            4,
            4,
            0,
            0,
        )
    assert len(table(engine, t.fct_buyer_messages, "message_id")) == 6


def many_buyer_mails(numbers: range) -> list[bytes]:
    """Distinct relay mails (own Message-ID and order id each) from one composed template: composing 10,000
    through the email package would take longer than the sync under test."""
    template_order, _, template_id, template = buyer_mail(0, at=START)
    mails = []
    for n in numbers:
        order = f"112-{1000000 + n:07d}-{2000000 + n:07d}"
        raw = template.replace(template_order.encode(), order.encode())
        mails.append(raw.replace(template_id.encode(), f"<buyer-{n}.bulk@marketplace.amazon.com>".encode()))
    return mails


def test_imap_ten_thousand_messages_then_ten_new(sqlite_url: str, dovecot_server, imap_folder: str) -> None:
    engine = create_warehouse_engine(sqlite_url)
    box = mailbox_config(kind="imap", folders=(imap_folder,), sent_folders=())
    dovecot_server.append("seller", imap_folder, many_buyer_mails(range(10_000)))
    with imap_source(dovecot_server) as source:
        started = time.perf_counter()
        first = sync_folder(engine, box, source, imap_folder, INBOX, START, actor=ACTOR, batch_size=500)
        seconds = time.perf_counter() - started
        assert (first.fetched, first.stored) == (10_000, 10_000)
        print(f"\nfirst sync of 10,000 messages: {seconds:.1f} s, {10_000 / seconds:,.0f} messages/s")
        dovecot_server.append("seller", imap_folder, many_buyer_mails(range(10_000, 10_010)))
        fetched_before = source.stats.body_fetches
        second = sync_folder(engine, box, source, imap_folder, INBOX, START, actor=ACTOR)
        assert (second.fetched, second.stored) == (10, 10)
        assert source.stats.body_fetches - fetched_before == 10  # the IMAP FETCHes equal the new mail
    engine.dispose()


def test_rpt_inbox_daily(engine, maildir: Path) -> None:
    """Day 1: four buyers; replies after 2 h, 10 h and 30 h (late); one unanswered. Day 2: one buyer answered in
    1 h, then a thank-you marked no-response-needed (not a response period)."""
    box = mailbox_config(maildir)
    day1, day2 = START, START + timedelta(days=1)
    plan = [(1, day1, 2), (2, day1, 10), (3, day1, 30), (4, day1, None), (5, day2, 1)]
    for n, at, reply_after in plan:
        order, relay, message_id, raw = buyer_mail(n, at=at)
        write_maildir_message(maildir, raw, delivered_at=at)
        if reply_after is not None:
            replied = at + timedelta(hours=reply_after)
            write_maildir_message(
                maildir, seller_reply(relay, order, message_id, replied), delivered_at=replied, folder="Sent"
            )
    now = START + timedelta(days=2, hours=12)
    sync_all(engine, box, MaildirSource(maildir), now)
    thanks_at = day2 + timedelta(hours=5)
    write_maildir_message(maildir, buyer_mail(5, at=thanks_at, topic="thanks")[3], delivered_at=thanks_at)
    sync_all(engine, box, MaildirSource(maildir), now)
    (thread_5,) = [r for r in table(engine, t.dim_threads, "thread_id") if r["message_count"] == 3]
    with engine.begin() as conn:
        set_thread_status(conn, thread_5["thread_id"], "no_response_needed", INBOX, now, actor="agent:emma")
        assert refresh_inbox_report(conn, INBOX, now) == 2  # day 1 and day 2
    rows = {row["day"]: row for row in table(engine, t.rpt_inbox_daily, "day")}
    first = rows[day1.date()]
    assert (first["messages_in"], first["threads_opened"], first["response_periods"]) == (4, 4, 4)
    assert (first["responded"], first["responded_within_sla"], first["breaches"]) == (3, 2, 2)
    assert first["response_rate_within_sla"] == 0.5
    assert first["first_response_avg_hours"] == 14.0 and first["first_response_p50_hours"] == 10.0
    assert first["first_response_p90_hours"] == pytest.approx(26.0)
    assert first["messages_out"] == 2  # the 2 h and 10 h replies; the 30 h one is on day 2
    second = rows[day2.date()]
    assert (second["messages_in"], second["response_periods"], second["responded_within_sla"]) == (2, 1, 1)
    assert second["unanswered"] == 0 and second["response_rate_within_sla"] == 1.0


def test_a_nul_in_the_body_and_a_long_message_id_are_stored(engine, maildir: Path) -> None:
    long_id = "<" + "x" * 300 + "@marketplace.amazon.com>"
    raw = (
        "From: Buyer <nul0buyer0abc12@marketplace.amazon.com>\r\nTo: support@acme.example\r\n"
        f"Subject: Question (Order: 112-7777777-7777777)\r\nMessage-ID: {long_id}\r\n"
        "Date: Mon, 16 Nov 2026 09:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n\r\nIs this=00 still in stock?\r\n"
    ).encode()
    write_maildir_message(maildir, raw, delivered_at=START)
    result = sync_folder(
        engine,
        mailbox_config(maildir, sent_folders=()),
        MaildirSource(maildir),
        "INBOX",
        INBOX,
        START,
        actor=ACTOR,
    )
    assert result.stored == 1
    (message,) = table(engine, t.fct_buyer_messages, "message_id")
    assert (
        message["message_id"] == long_id
        and "\x00" not in message["body"]
        and "still in stock" in message["body"]
    )


def test_old_mail_raises_no_alerts(engine, maildir: Path) -> None:
    """The first sync of a mailbox with history: old complaints and long-unanswered buyers are not paged."""
    box = mailbox_config(maildir, sent_folders=())
    old = START - timedelta(days=20)
    write_maildir_message(maildir, buyer_mail(1, at=old, body="This is a complaint.")[3], delivered_at=old)
    sync_folder(engine, box, MaildirSource(maildir), "INBOX", INBOX, START, actor=ACTOR)
    with engine.begin() as conn:
        refreshed = refresh_threads(conn, running_thread_ids(conn, START), INBOX, START, actor=ACTOR)
    assert refreshed.breached == 1  # it is breached, and dim_threads says so
    assert table(engine, t.fct_inbox_alerts, "alert_id") == []  # but nobody is paged about it
    (thread,) = table(engine, t.dim_threads, "thread_id")
    assert thread["is_breached"] and "complaint" in thread["tags"]  # tagged all the same


def test_an_agents_unassign_is_not_undone_by_the_rules(engine, maildir: Path) -> None:
    box = mailbox_config(maildir, sent_folders=())
    write_maildir_message(maildir, buyer_mail(1, at=START)[3], delivered_at=START)
    sync_folder(engine, box, MaildirSource(maildir), "INBOX", INBOX, START, actor=ACTOR)
    (thread,) = table(engine, t.dim_threads, "thread_id")
    assert thread["owner"] == "emma"
    with engine.begin() as conn:
        assert assign_thread(conn, thread["thread_id"], None, INBOX, START, actor="agent:emma")
    write_maildir_message(
        maildir, buyer_mail(1, at=START + timedelta(hours=1))[3], delivered_at=START + timedelta(hours=1)
    )  # the buyer writes again
    sync_folder(engine, box, MaildirSource(maildir), "INBOX", INBOX, START + timedelta(hours=1), actor=ACTOR)
    with engine.begin() as conn:
        refresh_threads(conn, running_thread_ids(conn, START), INBOX, START + timedelta(hours=2), actor=ACTOR)
    (thread,) = table(engine, t.dim_threads, "thread_id")
    assert thread["owner"] is None and thread["message_count"] == 2
