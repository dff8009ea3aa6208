"""Warehouse tasks: one engine per URL per process, the schema brought up to date before a flow writes."""

from __future__ import annotations

import threading

from prefect import get_run_logger, task
from prefect.cache_policies import NONE
from sqlalchemy.engine import Engine

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
