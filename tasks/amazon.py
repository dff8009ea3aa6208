"""Amazon tasks: token checks and order sync, one task run per account or per (account, marketplace)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from datetime import datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NONE
from prefect.events import emit_event
from prefect.futures import PrefectFuture
from sqlalchemy.engine import Engine

from sellerreach.accounts import (
    NEEDS_REAUTH,
    AuthCheck,
    build_client,
    check_authorisation,
    mark_needs_reauth,
    register_accounts,
    resolve_credentials,
)
from sellerreach.amazon.client import ClientStats, SpApiClient
from sellerreach.clock import Clock
from sellerreach.errors import AuthorizationRevoked
from sellerreach.order_sync import PageProgress, SyncResult, sync_orders_backfill, sync_orders_live
from sellerreach.progress import publish
from sellerreach.settings import AccountConfig, OrdersSyncConfig, Settings
from tasks.warehouse import engine_for, prepare_warehouse

ACTOR = "task:sync-marketplace-orders"
_CLIENTS: dict[tuple[object, ...], SpApiClient] = {}
_CLIENTS_LOCK = threading.Lock()


def client_for(account: AccountConfig, clock: Clock) -> SpApiClient:
    """One client per account and process, so its rate-limit buckets carry over from run to run."""
    credentials = resolve_credentials(account)
    # new credentials (a seller who authorised again) get a new client; the key holds a hash, not the secrets
    fingerprint = hashlib.sha256(
        "\0".join((credentials.client_id, credentials.client_secret, credentials.refresh_token)).encode()
    ).hexdigest()
    key = (account.account_id, account.endpoint, account.lwa_endpoint, id(clock), fingerprint)
    with _CLIENTS_LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = build_client(account, clock, credentials)
        return _CLIENTS[key]


def accounts_to_run(settings: Settings, account: str | None, now: datetime) -> list[AccountConfig]:
    """The accounts a flow run works on (all, or only `account`), with their secrets checked (a missing one is a
    configuration error, said before any work) and the warehouse migrated and knowing every account."""
    accounts = [settings.account(account)] if account else list(settings.accounts)
    for acc in accounts:
        resolve_credentials(acc)
    prepare_warehouse(settings.warehouse_url)
    register_accounts(engine_for(settings.warehouse_url), settings, now)
    return accounts


def failure_reason(future: PrefectFuture) -> str:
    """The message of the exception a failed task run raised (secrets never reach exception messages)."""
    outcome = future.state.result(raise_on_failure=False)
    return str(outcome) if isinstance(outcome, BaseException) else (future.state.message or "failed")


def client_stats() -> ClientStats:
    """What every client of this process did, added up (for the demo and benchmarks)."""
    with _CLIENTS_LOCK:
        clients = list(_CLIENTS.values())
    total = ClientStats()
    for client in clients:
        total.requests += client.stats.requests
        total.throttled += client.stats.throttled
        total.server_errors += client.stats.server_errors
        total.retries += client.stats.retries
    return total


@task(name="check-authorisation", task_run_name="check-authorisation-{account.account_id}", cache_policy=NONE)
def authorise_account(
    warehouse_url: str, account: AccountConfig, clock: Clock, actor: str, fresh: bool = False
) -> AuthCheck:
    """Exchange the refresh token; a revoked authorisation is marked, logged and announced as an event."""
    logger = get_run_logger()
    check = check_authorisation(
        engine_for(warehouse_url), client_for(account, clock), actor=actor, fresh=fresh
    )
    if check.status == NEEDS_REAUTH:
        _announce_needs_reauth(account.account_id, check.error, first_detected=check.status_changed)
    else:
        logger.info(
            "Account %s authorised; access token valid until %s",
            account.account_id,
            check.access_token_expires_at.isoformat() if check.access_token_expires_at else "?",
        )
    return check


def _announce_needs_reauth(account_id: str, error: str | None, *, first_detected: bool) -> None:
    get_run_logger().error(
        "Account %s needs re-authorisation: %s. Its syncs are skipped until the seller authorises again.",
        account_id,
        error,
    )
    emit_event(
        event="sellerreach.account.needs-reauth",
        resource={"prefect.resource.id": f"sellerreach.account.{account_id}", "prefect.resource.name": account_id},
        payload={"error": error, "first_detected": first_detected},
    )


@task(
    name="sync-marketplace-orders",
    task_run_name="sync-orders-{account.account_id}-{marketplace_id}",
    cache_policy=NONE,
)
def sync_marketplace_orders(
    warehouse_url: str,
    account: AccountConfig,
    marketplace_id: str,
    config: OrdersSyncConfig,
    clock: Clock,
    run_started_at: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> SyncResult:
    """Live sync of one (account, marketplace), or a backfill of [since, until] when both are given."""
    logger = get_run_logger()
    engine = engine_for(warehouse_url)
    client = client_for(account, clock)

    def on_page(progress: PageProgress) -> None:
        logger.info(
            "%s %s: window %s..%s page %d, %d orders",
            progress.account_id,
            progress.marketplace_id,
            progress.window.start.isoformat(),
            progress.window.end.isoformat(),
            progress.pages,
            progress.records,
        )
        publish(progress)

    try:
        result = _sync(engine, client, marketplace_id, config, run_started_at, since, until, on_page)
    except AuthorizationRevoked as exc:  # revoked between the check and this page: mark it, then fail the task
        changed = mark_needs_reauth(engine, account.account_id, exc, now=clock.now(), actor=ACTOR)
        _announce_needs_reauth(account.account_id, str(exc), first_detected=changed)
        raise
    logger.info(
        "%s %s: %d orders read (%d new, %d updated, %d unchanged), %d quarantined",
        account.account_id,
        marketplace_id,
        result.records,
        result.loaded.inserted,
        result.loaded.updated,
        result.loaded.unchanged,
        result.quarantined,
    )
    if result.quarantined:
        logger.warning(
            "%s %s: %d records quarantined; see table quarantine_records",
            account.account_id,
            marketplace_id,
            result.quarantined,
        )
    return result


def _sync(
    engine: Engine,
    client: SpApiClient,
    marketplace_id: str,
    config: OrdersSyncConfig,
    run_started_at: datetime,
    since: datetime | None,
    until: datetime | None,
    on_page: Callable[[PageProgress], None],
) -> SyncResult:
    if since is not None and until is not None:
        return sync_orders_backfill(
            engine, client, marketplace_id, config, since=since, until=until, run_started_at=run_started_at,
            on_page=on_page,
        )
    return sync_orders_live(engine, client, marketplace_id, config, run_started_at=run_started_at, on_page=on_page)
