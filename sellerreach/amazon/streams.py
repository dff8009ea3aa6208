"""SP-API streams as data, and the window arithmetic of incremental reads.

A stream is a frozen `StreamSpec` read by one generic reader (after Meltano's stream classes and dlt's resource
hints). A run fixes its upper bound when it starts (now minus Amazon's lag), reads from the mark minus the overlap,
and moves the mark to that upper bound when the window is done; a backfill is a list of bounded chunks that never
touches the live mark.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sellerreach.amazon.client import Page, RestrictedResource, SpApiClient


@dataclass(frozen=True)
class StreamSpec:
    name: str
    operation_id: str
    records_field: str
    primary_key: str
    cursor_field: str
    after_param: str
    before_param: str
    page_size: int
    included_data: tuple[str, ...] = ()
    restricted_resource: RestrictedResource | None = None  # PII datasets need a Restricted Data Token


ORDERS = StreamSpec(
    name="orders",
    operation_id="searchOrders",
    records_field="orders",
    primary_key="orderId",
    cursor_field="lastUpdatedTime",
    after_param="lastUpdatedAfter",
    before_param="lastUpdatedBefore",
    page_size=100,
    included_data=("BUYER", "FULFILLMENT", "PROCEEDS", "PACKAGES", "CANCELLATION", "PROMOTION"),
    restricted_resource=RestrictedResource("GET", "/orders/2026-01-01/orders", ("buyerInfo",)),
)


@dataclass(frozen=True)
class Window:
    """[start, end] in whole seconds, both bounds inclusive as Amazon's are."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"window starts after it ends: {self.start} > {self.end}")


def _floor_second(value: datetime) -> datetime:
    return value.replace(microsecond=0)


def live_window(
    cursor_at: datetime | None,
    run_started_at: datetime,
    *,
    overlap: timedelta,
    lag: timedelta,
    lookback: timedelta,
) -> Window | None:
    """The window of a live run: from the mark minus the overlap (or the look-back on a first run) up to the run
    start minus Amazon's lag. None when there is nothing new to read yet."""
    end = _floor_second(run_started_at - lag)
    start = _floor_second(cursor_at - overlap) if cursor_at else _floor_second(run_started_at - lookback)
    if start >= end:
        return None
    return Window(start, end)


def backfill_windows(
    since: datetime, until: datetime, *, chunk: timedelta, latest_allowed: datetime
) -> list[Window]:
    """Contiguous chunks of at most `chunk` covering [since, min(until, latest_allowed)]."""
    if chunk <= timedelta(0):
        raise ValueError("backfill chunk must be positive")
    start = _floor_second(since)
    end = _floor_second(min(until, latest_allowed))
    windows: list[Window] = []
    while start < end:
        chunk_end = min(start + chunk, end)
        windows.append(Window(start, chunk_end))
        start = chunk_end
    return windows


def read_window(
    client: SpApiClient,
    spec: StreamSpec,
    window: Window,
    marketplace_ids: Sequence[str],
    *,
    resume_token: str | None = None,
    page_size: int | None = None,
) -> Iterator[Page]:
    """Pages of one stream over one window, starting after `resume_token` when resuming an interrupted read."""
    query: dict[str, Any] = {
        spec.after_param: window.start,
        spec.before_param: window.end,
        "marketplaceIds": list(marketplace_ids),
        "maxResultsPerPage": page_size or spec.page_size,
    }
    if spec.included_data:
        query["includedData"] = list(spec.included_data)
    restricted = [spec.restricted_resource] if spec.restricted_resource else None
    yield from client.iter_pages(
        spec.operation_id,
        query=query,
        records_field=spec.records_field,
        start_token=resume_token,
        restricted=restricted,
    )
