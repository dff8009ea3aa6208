"""Incremental order sync for one (account, marketplace): read windows page by page, validate, load, advance.

Each page is one transaction: its orders, its quarantined records and the sync state (the page to resume from,
or at the end of the window the new high-water mark) commit together. A run killed after page k resumes at page
k+1 of the same window; nothing is missed and, loads being upserts, nothing is doubled.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine

from sellerreach.amazon.client import Page, SpApiClient
from sellerreach.amazon.mapping import OrderRows, map_order
from sellerreach.amazon.streams import ORDERS, StreamSpec, Window, backfill_windows, live_window, read_window
from sellerreach.errors import FatalError, SkippableRecord
from sellerreach.settings import OrdersSyncConfig
from sellerreach.validation import validate_orders
from sellerreach.warehouse import (
    SYNC_SOURCE_SPAPI,
    LoadCounts,
    QuarantinedRecord,
    SyncKey,
    load_orders,
    quarantine,
    read_sync_state,
    save_sync_state,
)

BACKFILL_SUFFIX = ".backfill"


@dataclass(frozen=True)
class PageProgress:
    account_id: str
    marketplace_id: str
    window: Window
    pages: int
    records: int


@dataclass
class SyncResult:
    account_id: str
    marketplace_id: str
    mode: str  # live or backfill
    windows: list[Window] = field(default_factory=list)
    pages: int = 0
    records: int = 0
    loaded: LoadCounts = field(default_factory=LoadCounts)
    quarantined: int = 0
    resumed: bool = False
    cursor_at: datetime | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "account_id": self.account_id,
            "marketplace_id": self.marketplace_id,
            "mode": self.mode,
            "windows": len(self.windows),
            "read_from": self.windows[0].start.isoformat() if self.windows else None,
            "pages": self.pages,
            "records": self.records,
            "inserted": self.loaded.inserted,
            "updated": self.loaded.updated,
            "unchanged": self.loaded.unchanged,
            "quarantined": self.quarantined,
            "resumed": self.resumed,
            "cursor_at": self.cursor_at.isoformat() if self.cursor_at else None,
        }


ProgressCallback = Callable[[PageProgress], None]


def sync_orders_live(
    engine: Engine,
    client: SpApiClient,
    marketplace_id: str,
    config: OrdersSyncConfig,
    *,
    run_started_at: datetime,
    spec: StreamSpec = ORDERS,
    on_page: ProgressCallback | None = None,
) -> SyncResult:
    """Finish an interrupted window if there is one, then read from the mark minus the overlap up to the run
    start minus Amazon's lag, and move the mark there."""
    key = SyncKey(SYNC_SOURCE_SPAPI, spec.name, client.account_id, marketplace_id)
    result = SyncResult(client.account_id, marketplace_id, "live")
    with _recorded_run(engine, key, client, config, run_started_at, result):
        with engine.connect() as conn:
            state = read_sync_state(conn, key) or {}
        if state.get("window_start_at") and state.get("window_end_at"):
            result.resumed = True
            pending = Window(state["window_start_at"], state["window_end_at"])
            _read_and_load(
                engine, client, key, spec, pending, state.get("resume_token"), config, result, on_page
            )
            with engine.connect() as conn:
                state = read_sync_state(conn, key) or {}
        window = live_window(
            state.get("cursor_at"),
            run_started_at,
            overlap=timedelta(minutes=config.overlap_minutes),
            lag=timedelta(minutes=config.lag_minutes),
            lookback=timedelta(days=config.lookback_days),
        )
        if window is not None:
            _read_and_load(engine, client, key, spec, window, None, config, result, on_page)
    return result


def sync_orders_backfill(
    engine: Engine,
    client: SpApiClient,
    marketplace_id: str,
    config: OrdersSyncConfig,
    *,
    since: datetime,
    until: datetime,
    run_started_at: datetime,
    spec: StreamSpec = ORDERS,
    on_page: ProgressCallback | None = None,
) -> SyncResult:
    """Re-read [since, until] in chunks of `backfill_chunk_hours`; the live mark is never touched (the progress of
    the backfill is kept in its own sync_state row, stream `<stream>.backfill`)."""
    if since >= until:
        raise ValueError(f"--since ({since.isoformat()}) must be before --until ({until.isoformat()})")
    key = SyncKey(SYNC_SOURCE_SPAPI, spec.name + BACKFILL_SUFFIX, client.account_id, marketplace_id)
    result = SyncResult(client.account_id, marketplace_id, "backfill")
    windows = backfill_windows(
        since,
        until,
        chunk=timedelta(hours=config.backfill_chunk_hours),
        latest_allowed=run_started_at - timedelta(minutes=config.lag_minutes),
    )
    with _recorded_run(engine, key, client, config, run_started_at, result):
        for window in windows:
            _read_and_load(engine, client, key, spec, window, None, config, result, on_page)
    return result


def _read_and_load(
    engine: Engine,
    client: SpApiClient,
    key: SyncKey,
    spec: StreamSpec,
    window: Window,
    resume_token: str | None,
    config: OrdersSyncConfig,
    result: SyncResult,
    on_page: ProgressCallback | None,
) -> None:
    now = client.clock.now()
    with engine.begin() as conn:
        save_sync_state(
            conn, key, now, window_start_at=window.start, window_end_at=window.end, resume_token=resume_token
        )
    result.windows.append(window)
    pages = read_window(
        client, spec, window, [key.marketplace_id], resume_token=resume_token, page_size=config.page_size
    )
    try:
        first = next(pages)
    except FatalError as exc:
        if resume_token is None or exc.status != 400:
            raise
        # the resume token expired (Amazon keeps them 24 h) or was refused: read the window again from its start
        pages = read_window(client, spec, window, [key.marketplace_id], page_size=config.page_size)
        first = next(pages)
    window_pages = 0
    for page in itertools.chain([first], pages):
        window_pages += 1
        _load_page(engine, client, key, spec, window, page, result)
        if on_page:
            on_page(PageProgress(key.account_id, key.marketplace_id, window, window_pages, len(page.records)))


def _load_page(
    engine: Engine,
    client: SpApiClient,
    key: SyncKey,
    spec: StreamSpec,
    window: Window,
    page: Page,
    result: SyncResult,
) -> None:
    mapped, bad = map_page(page.records, key, spec)
    validation = validate_orders(mapped)
    bad.extend(
        _quarantined(key, spec, rejected.rows.raw["payload"], "; ".join(rejected.reasons))
        for rejected in validation.rejected
    )
    now = client.clock.now()
    with engine.begin() as conn:
        counts = load_orders(conn, validation.valid, now)
        quarantined = quarantine(conn, bad, now)
        if page.next_token:
            save_sync_state(conn, key, now, resume_token=page.next_token)
        else:
            mark = (read_sync_state(conn, key) or {}).get("cursor_at")
            mark = window.end if mark is None else max(mark, window.end)  # a mark never goes back
            save_sync_state(
                conn, key, now, cursor_at=mark, window_start_at=None, window_end_at=None, resume_token=None
            )
            result.cursor_at = mark
    result.pages += 1
    result.records += len(page.records)
    result.loaded = result.loaded + counts
    result.quarantined += quarantined


def map_page(
    records: Sequence[dict], key: SyncKey, spec: StreamSpec = ORDERS
) -> tuple[list[OrderRows], list[QuarantinedRecord]]:
    """Map every payload of a page; the ones that cannot be mapped become quarantine records."""
    mapped: list[OrderRows] = []
    bad: list[QuarantinedRecord] = []
    for payload in records:
        try:
            mapped.append(map_order(payload, key.account_id))
        except SkippableRecord as exc:
            bad.append(_quarantined(key, spec, payload, str(exc)))
    return mapped, bad


def _quarantined(key: SyncKey, spec: StreamSpec, payload: object, reason: str) -> QuarantinedRecord:
    record_key = payload.get(spec.primary_key) if isinstance(payload, dict) else None
    return QuarantinedRecord(
        source=key.source,
        stream=key.stream,
        account_id=key.account_id,
        marketplace_id=key.marketplace_id,
        record_key=str(record_key) if record_key is not None else None,
        reason=reason,
        raw_payload=json.dumps(payload, ensure_ascii=False, sort_keys=True),
    )


@contextmanager
def _recorded_run(
    engine: Engine,
    key: SyncKey,
    client: SpApiClient,
    config: OrdersSyncConfig,
    started_at: datetime,
    result: SyncResult,
) -> Iterator[None]:
    """Mark the run as running in sync_state, and as ok or failed (with the records read) when it ends."""
    with engine.begin() as conn:
        save_sync_state(
            conn,
            key,
            started_at,
            overlap_seconds=config.overlap_minutes * 60,
            last_run_started_at=started_at,
            last_run_status="running",
        )
    status = "failed"
    try:
        yield
        status = "ok"
    finally:
        now = client.clock.now()
        with engine.begin() as conn:
            save_sync_state(
                conn, key, now, last_run_finished_at=now, last_run_status=status, last_run_records=result.records
            )
