"""Warehouse tasks: one engine per URL per process, the schema brought up to date before a flow writes, and the
nightly buyer segmentation (it reads and writes nothing but the warehouse)."""

from __future__ import annotations

import threading
from datetime import datetime

from prefect import get_run_logger, task
from prefect.cache_policies import NONE
from sqlalchemy.engine import Engine

from sellerreach.segments.membership import segment_buyers
from sellerreach.warehouse import create_warehouse_engine, ensure_schema

_ENGINES: dict[str, Engine] = {}
_LOCK = threading.Lock()


def engine_for(url: str) -> Engine:
    """The process's engine for a warehouse URL (engines pool connections; make one per URL, not per task)."""
    with _LOCK:
        if url not in _ENGINES:
            _ENGINES[url] = create_warehouse_engine(url)
        return _ENGINES[url]


@task(name="prepare-warehouse", cache_policy=NONE)
def prepare_warehouse(url: str) -> bool:
    """Run pending migrations (an empty warehouse gets every table). Returns True when any were applied."""
    applied = ensure_schema(engine_for(url))
    if applied:
        get_run_logger().info("Warehouse schema upgraded to the newest migration")
    return applied


@task(name="segment-buyers", cache_policy=NONE)
def compute_segments(url: str, segments: tuple, now: datetime, dry_run: bool) -> list[dict]:
    """Features and segments for every buyer, recorded unless `dry_run`; one row per segment (and "(none)")."""
    logger = get_run_logger()
    run = segment_buyers(engine_for(url), segments, now, dry_run=dry_run)
    logger.info(
        "%d buyers, %d with changed features or segment%s",
        run.buyers,
        run.buyers_updated,
        " (dry run: nothing written)" if dry_run else "",
    )
    return run.as_rows(segments)
