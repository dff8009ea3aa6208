"""sync_messages (every 15 minutes): buyer messages from each configured mailbox into the warehouse, threads
and their SLA clocks recomputed, auto-replies sent (when switched on), rpt_inbox_daily refreshed, keyword /
near-breach / breach alerts raised as Prefect events.

Mailboxes run side by side; one that fails (server down, login refused) does not stop the others, and the run
fails at the end naming it. Re-running changes nothing: the cursor of each folder moves with its messages.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.futures import wait

from sellerreach.clock import shared_clock
from sellerreach.errors import RunFailed
from sellerreach.settings import load_settings
from tasks.amazon import failure_reason
from tasks.mailbox import auto_reply, emit_inbox_alerts, refresh_sla_clocks, report_inbox_daily, sync_mailbox
from tasks.warehouse import prepare_warehouse

ACTOR = "flow:sync_messages"


@flow(name="sync_messages")
def sync_messages(config_path: str | None = None, mailbox: str | None = None) -> list[dict]:
    """Sync every configured mailbox (or only `mailbox`); returns one summary row per folder."""
    logger = get_run_logger()
    settings = load_settings(config_path)
    now = shared_clock(settings.time_scale).now()
    mailboxes = [settings.mailbox(mailbox)] if mailbox else list(settings.mailboxes)
    if not mailboxes:
        logger.warning("No [[mailboxes]] configured: nothing to sync (see `sellerreach init` for an example)")
        return []
    prepare_warehouse(settings.warehouse_url)
    futures = [sync_mailbox.submit(settings.warehouse_url, m, settings.inbox, now, ACTOR) for m in mailboxes]
    wait(futures)
    summary: list[dict] = []
    failed: list[str] = []
    for box, future in zip(mailboxes, futures, strict=True):
        if future.state.is_completed():
            summary.extend({"status": "ok", **r.as_dict()} for r in future.result())
        else:
            failed.append(f"{box.mailbox_id}: {failure_reason(future)}")
            summary.append({"status": "failed", "account_id": box.account_id, "mailbox_id": box.mailbox_id})
    skipped = sorted(
        {box.account_id for box, f in zip(mailboxes, futures, strict=True) if not f.state.is_completed()}
    )
    accounts = sorted({box.account_id for box in mailboxes})
    clocks = refresh_sla_clocks(settings.warehouse_url, settings.inbox, now, ACTOR, accounts, skipped)
    replies = auto_reply(settings.warehouse_url, mailboxes, settings.inbox, settings.ses, now, ACTOR, skipped)
    report_inbox_daily(settings.warehouse_url, settings.inbox, now)
    alerts = emit_inbox_alerts(settings.warehouse_url, now)
    logger.info(
        "%d threads with a running SLA clock (%d breached, %d near breach); %d auto-replies sent; %d alerts sent",
        clocks["running"],
        clocks["breached"],
        clocks["near_breach"],
        replies["sent"],
        alerts,
    )
    create_table_artifact(
        key="sync-messages", table=summary, description="Messages synced per mailbox folder"
    )
    if replies["failed"]:
        failed.append(f"{replies['failed']} auto-replies refused or unanswered by SES (see fct_replies.error)")
    if failed:
        raise RunFailed("message sync failed for " + "; ".join(failed))
    return summary
