"""segment_buyers under prefect_test_harness: twice changes nothing, and the dry run writes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from flows.segment_buyers import segment_buyers
from sellerreach.amazon.mapping import map_order
from sellerreach.clock import ManualClock, use_clock
from sellerreach.warehouse import create_warehouse_engine, ensure_schema, load_orders
from tests.flows.test_sync_orders import snapshot
from tests.integration.test_segments import SEGMENTS
from tests.support.payloads import order_payload

pytestmark = pytest.mark.flow


@pytest.fixture
def config(tmp_path: Path, warehouse_url: str, monkeypatch) -> Path:
    monkeypatch.setenv("SELLERREACH_WAREHOUSE_URL", warehouse_url)
    engine = create_warehouse_engine(warehouse_url)
    ensure_schema(engine)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        batch = [
            map_order(
                order_payload(
                    n, created=now - timedelta(days=n * 9), buyer_email=f"b{n % 5}@marketplace.amazon.com"
                ),
                "acme-na",
            )
            for n in range(1, 30)
        ]
        load_orders(conn, batch, now)
    engine.dispose()
    path = tmp_path / "sellerreach.toml"
    path.write_text(SEGMENTS, encoding="utf-8")
    return path


def test_segment_buyers_twice_changes_nothing(config: Path, warehouse_url: str):
    engine = create_warehouse_engine(warehouse_url)
    # one instant for every run: recency_days moves with the clock, and the runs must be comparable
    with use_clock(ManualClock(datetime.now(UTC))):
        _run_twice(config, engine)


def _run_twice(config: Path, engine) -> None:
    try:
        dry = segment_buyers(config_path=str(config), dry_run=True)
        empty = snapshot(engine)
        first = segment_buyers(config_path=str(config))
        assert first == dry  # the dry run showed what the run did
        assert empty != snapshot(engine)
        assert sum(row["primary"] for row in first) == 5
        before = snapshot(engine)
        second = segment_buyers(config_path=str(config))
        assert all(row["entered"] == row["left"] == 0 for row in second)
        assert snapshot(engine) == before
    finally:
        engine.dispose()
