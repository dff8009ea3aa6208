"""sync_orders (hourly): incremental orders and items per account and marketplace.

Accounts run side by side; the marketplaces of one account run one after another, since they share the
account's searchOrders quota. An account whose authorisation is revoked is skipped and the others go on. With
`since` and `until` the flow backfills that range in bounded chunks and leaves the live cursor alone.
"""

from __future__ import annotations

from datetime import datetime

from prefect import allow_failure, flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.futures import wait

from sellerreach.accounts import NEEDS_REAUTH
from sellerreach.clock import shared_clock
from sellerreach.errors import RunFailed
from sellerreach.settings import load_settings
from tasks.amazon import accounts_to_run, authorise_account, failure_reason, sync_marketplace_orders

ACTOR = "flow:sync_orders"


@flow(name="sync_orders")
def sync_orders(
    config_path: str | None = None,
    account: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[dict]:
    """Sync every configured account (or only `account`); returns one summary row per (account, marketplace)."""
    if (since is None) != (until is None):
        raise ValueError("a backfill needs both since and until")
    logger = get_run_logger()
    settings = load_settings(config_path)
    clock = shared_clock(settings.time_scale)
    run_started_at = clock.now()
    accounts = accounts_to_run(settings, account, run_started_at)

    checks = [authorise_account.submit(settings.warehouse_url, a, clock, ACTOR) for a in accounts]
    wait(checks)
    summary: list[dict] = []
    failed: list[str] = []
    syncs = []
    for acc, check in zip(accounts, checks, strict=True):
        if not check.state.is_completed():
            failed.append(f"{acc.account_id}: {failure_reason(check)}")
            summary.append(_account_row(acc.account_id, "error: token exchange failed"))
            continue
        if check.result().status == NEEDS_REAUTH:
            summary.append(_account_row(acc.account_id, "skipped: needs re-authorisation"))
            continue
        previous = None
        for marketplace_id in acc.marketplace_ids:
            previous = sync_marketplace_orders.submit(
                settings.warehouse_url,
                acc,
                marketplace_id,
                settings.orders,
                clock,
                run_started_at,
                since,
                until,
                wait_for=[allow_failure(previous)] if previous else None,
            )
            syncs.append((acc.account_id, marketplace_id, previous))
    wait([future for _, _, future in syncs])
    for account_id, marketplace_id, future in syncs:
        if future.state.is_completed():
            summary.append({"status": "ok", **future.result().as_dict()})
        else:
            failed.append(f"{account_id}/{marketplace_id}: {failure_reason(future)}")
            summary.append({**_account_row(account_id, "failed"), "marketplace_id": marketplace_id})
    create_table_artifact(
        key="sync-orders", table=summary, description="Orders synced per account and marketplace"
    )
    quarantined = sum(int(row.get("quarantined") or 0) for row in summary)
    if quarantined:
        logger.warning("%d records quarantined in this run (table quarantine_records)", quarantined)
    if failed:
        raise RunFailed("order sync failed for " + "; ".join(failed))
    return summary


def _account_row(account_id: str, status: str) -> dict:
    return {
        "account_id": account_id,
        "marketplace_id": None,
        "status": status,
        "records": 0,
        "quarantined": 0,
    }
