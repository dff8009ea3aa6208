"""Mailbox tasks: one task run per mailbox (its folders one after another over one connection), one for the SLA
clocks of every open thread, one for the auto-replies of the run, one that sends recorded inbox alerts out as
Prefect events."""

from __future__ import annotations

import uuid
from datetime import datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NONE
from prefect.events import emit_event
from sellerreach.dispatch.ses import SesConfig, SesSender

from sellerreach.inbox.config import InboxConfig, MailboxConfig
from sellerreach.inbox.reply import send_auto_replies
from sellerreach.inbox.report import refresh_inbox_report
from sellerreach.inbox.sync import FolderSyncResult, open_mail_source, sync_folder
from sellerreach.inbox.templates import ReplyTemplates
from sellerreach.inbox.threads import mark_alerts_emitted, pending_alerts, refresh_threads, running_thread_ids
from sellerreach.warehouse import lock_account
from tasks.warehouse import engine_for

ALERT_EVENTS = {
    "keyword": "sellerreach.inbox.keyword-alert",
    "near_breach": "sellerreach.inbox.sla-near-breach",
    "breach": "sellerreach.inbox.sla-breach",
}
_EVENT_NAMESPACE = uuid.UUID("5d0c2f6e-7a4b-4f1e-9a57-0c5a6f3b2e11")


@task(
    name="sync-mailbox",
    task_run_name="sync-mailbox-{mailbox.mailbox_id}",
    cache_policy=NONE,
    retries=2,
    retry_delay_seconds=30,
)
def sync_mailbox(
    warehouse_url: str, mailbox: MailboxConfig, inbox: InboxConfig, now: datetime, actor: str
) -> list[FolderSyncResult]:
    """Every folder of one mailbox (inbox folders, then sent folders). A dropped connection fails the task run
    and Prefect retries it; batches already committed are not read again."""
    logger = get_run_logger()
    engine = engine_for(warehouse_url)
    source = open_mail_source(mailbox)
    results = []
    try:
        for folder in (*mailbox.folders, *mailbox.sent_folders):

            def on_batch(progress: FolderSyncResult, folder: str = folder) -> None:
                logger.info(
                    "%s/%s: %d of the candidate UIDs read, %d new messages",
                    mailbox.mailbox_id,
                    folder,
                    progress.candidates,
                    progress.stored,
                )

            result = sync_folder(engine, mailbox, source, folder, inbox, now, actor=actor, on_batch=on_batch)
            logger.info(
                "%s/%s: %d fetched, %d new, %d already stored, %d not buyer mail, %d quarantined%s",
                mailbox.mailbox_id,
                folder,
                result.fetched,
                result.stored,
                result.known,
                result.ignored,
                result.quarantined,
                " (UIDVALIDITY changed: full re-scan)" if result.rescanned else "",
            )
            if result.quarantined:
                logger.warning(
                    "%s/%s: %d messages quarantined (%s); see table quarantine_records",
                    mailbox.mailbox_id,
                    folder,
                    result.quarantined,
                    "; ".join(sorted(set(result.quarantine_reasons))),
                )
            results.append(result)
    finally:
        source.close()
    return results


@task(name="refresh-sla-clocks", cache_policy=NONE)
def refresh_sla_clocks(
    warehouse_url: str, inbox: InboxConfig, now: datetime, actor: str, accounts: list[str], skipped: list[str]
) -> dict[str, int]:
    """Recompute every thread whose SLA clock runs: near-breach and breach happen with no new mail at all.
    The threads of `skipped` accounts (a mailbox of theirs failed this run) are left alone: a reply not read yet
    must not turn into a breach alert."""
    engine = engine_for(warehouse_url)
    with engine.begin() as conn:
        for account_id in sorted(set(accounts) - set(skipped)):
            lock_account(conn, "inbox", account_id)
        running = running_thread_ids(conn, now, except_accounts=skipped)
        refreshed = refresh_threads(conn, running, inbox, now, actor=actor)
    return {
        "running": refreshed.threads,
        "breached": refreshed.breached,
        "near_breach": refreshed.near_breach,
    }


@task(name="auto-reply", cache_policy=NONE)
def auto_reply(
    warehouse_url: str,
    mailboxes: list[MailboxConfig],
    inbox: InboxConfig,
    ses: SesConfig,
    now: datetime,
    actor: str,
    skipped: list[str],
) -> dict[str, int]:
    """Send the auto-replies due (rules in [inbox]; off unless auto_replies = true), each at most once per
    thread and only when the compliance rules pass. Accounts in `skipped` wait: an agent's reply may not be read
    yet."""
    logger = get_run_logger()
    if not inbox.auto_replies:
        return {"sent": 0, "blocked": 0, "failed": 0, "skipped": 0}
    stats = send_auto_replies(
        engine_for(warehouse_url),
        mailboxes=mailboxes,
        inbox=inbox,
        templates=ReplyTemplates.from_config(inbox.reply_templates),
        sender=SesSender.from_config(ses),
        now=now,
        actor=actor,
        except_accounts=skipped,
    )
    if stats.blocked:
        logger.warning(
            "%d auto-replies blocked by the compliance rules (not sent; see fct_replies.findings)", stats.blocked
        )
    if stats.failed:
        logger.error("%d auto-replies failed (see fct_replies.error)", stats.failed)
    logger.info(
        "%d auto-replies sent %s; %d skipped (a variable the rule requires is unknown)",
        stats.sent,
        stats.rules,
        stats.skipped,
    )
    return {"sent": stats.sent, "blocked": stats.blocked, "failed": stats.failed, "skipped": stats.skipped}


@task(name="report-inbox-daily", cache_policy=NONE)
def report_inbox_daily(warehouse_url: str, inbox: InboxConfig, now: datetime) -> int:
    """Recompute rpt_inbox_daily for the recent days (late replies change past days' figures)."""
    with engine_for(warehouse_url).begin() as conn:
        return refresh_inbox_report(conn, inbox, now)


@task(name="emit-inbox-alerts", cache_policy=NONE)
def emit_inbox_alerts(warehouse_url: str, now: datetime) -> int:
    """Send each recorded alert once as a Prefect event (the deployment wires events to notifications).

    The event id is derived from the alert id, so an alert sent again after a crash before it was marked is
    the same event. Events carry ids, never buyer addresses or message text."""
    engine = engine_for(warehouse_url)
    logger = get_run_logger()
    with engine.connect() as conn:
        alerts = pending_alerts(conn)
    emitted = []
    for alert in alerts:
        event = emit_event(
            event=ALERT_EVENTS[alert["kind"]],
            resource={
                "prefect.resource.id": f"sellerreach.thread.{alert['thread_id']}",
                "sellerreach.account": alert["account_id"],
                "sellerreach.marketplace": alert["marketplace_id"] or "",
            },
            payload={
                "rule_id": alert["rule_id"],
                "sla_due_at": alert["sla_due_at"].isoformat() if alert["sla_due_at"] else None,
            },
            id=uuid.uuid5(_EVENT_NAMESPACE, alert["alert_id"]),
        )
        if event is None:  # no events client in this process: the alert stays pending for the next run
            logger.warning(
                "Could not send inbox alert %s as an event; it is sent by the next run", alert["alert_id"]
            )
            continue
        emitted.append(alert["alert_id"])
        log = logger.error if alert["kind"] == "breach" else logger.warning
        log(
            "Inbox alert %s on thread %s (account %s%s)",
            alert["kind"] if alert["kind"] != "keyword" else f"keyword:{alert['rule_id']}",
            alert["thread_id"],
            alert["account_id"],
            f", due {alert['sla_due_at'].isoformat()}" if alert["sla_due_at"] else "",
        )
    if emitted:
        with engine.begin() as conn:
            mark_alerts_emitted(conn, emitted, now)
    return len(emitted)
