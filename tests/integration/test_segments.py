"""segment_buyers on SQLite and PostgreSQL: features and the primary segment on dim_buyers, membership history in
fct_buyer_segments, nothing changed by a second run, moves recorded when the data changes, a dry run writing
nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from schemas import tables as t
from sellerreach.amazon.mapping import map_order
from sellerreach.buyers import buyer_id_for
from sellerreach.segments.membership import segment_buyers
from sellerreach.settings import load_settings
from sellerreach.warehouse import load_orders
from tests.flows.test_sync_orders import snapshot
from tests.support.config import ACME_NA
from tests.support.payloads import order_payload

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
SEGMENTS = (
    ACME_NA
    + """
[[segments]]
name = "at_risk"
rule = "open_complaint_threads > 0"

[[segments]]
name = "repeat"
rule = "orders_365d >= 2"

[[segments]]
name = "recent"
rule = "recency_days <= 30"
"""
)
ALICE, BOB, CARA = (f"{name}@marketplace.amazon.com" for name in ("alice7k2", "bob9x1", "cara3m8"))



@pytest.fixture
def segments(tmp_path: Path):
    path = tmp_path / "sellerreach.toml"
    path.write_text(SEGMENTS, encoding="utf-8")
    return load_settings(path, env={}).segments


def _order(engine, n: int, email: str, days_ago: float) -> None:
    created = NOW - timedelta(days=days_ago)
    with engine.begin() as conn:
        load_orders(conn, [map_order(order_payload(n, created=created, buyer_email=email), "acme-na")], NOW)


def _complaint(engine, email: str, status: str = "open") -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(t.dim_threads),
            {
                "thread_id": f"thread-{email[:6]}",
                "account_id": "acme-na",
                "buyer_id": buyer_id_for(email),
                "subject": "Complaint",
                "status": status,
                "status_changed_at": NOW,
                "tags": ["complaint"],
                "message_count": 1,
                "opened_at": NOW - timedelta(hours=5),
                "last_message_at": NOW - timedelta(hours=5),
                "is_breached": False,
                "is_near_breach": False,
                "breaches": 0,
                "updated_at": NOW,
            },
        )


def _buyers(engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {row["buyer_id"]: dict(row) for row in conn.execute(sa.select(t.dim_buyers)).mappings()}


def _history(engine) -> set[tuple]:
    c = t.fct_buyer_segments.c
    with engine.connect() as conn:
        return set(
            conn.execute(sa.select(c.buyer_id, c.segment, c.valid_from, c.valid_to, c.is_primary)).tuples()
        )


def test_features_segments_and_history(engine, segments):
    _order(engine, 1, ALICE, days_ago=200)
    _order(engine, 2, ALICE, days_ago=10)
    _order(engine, 3, BOB, days_ago=100)
    _order(engine, 4, CARA, days_ago=5)
    _complaint(engine, CARA)

    run = segment_buyers(engine, segments, NOW)

    assert run.buyers == 3 and run.buyers_updated == 3
    assert run.members == {"repeat": 1, "recent": 2, "at_risk": 1}
    assert run.primary == {"repeat": 1, "": 1, "at_risk": 1}
    buyers = _buyers(engine)
    alice, bob, cara = (buyers[buyer_id_for(e)] for e in (ALICE, BOB, CARA))
    assert (alice["orders_365d"], alice["orders_30d"], alice["segment"]) == (2, 1, "repeat")
    assert alice["recency_days"] == pytest.approx(10.0)
    assert (bob["orders_total"], bob["segment"]) == (1, "")
    assert (cara["open_complaint_threads"], cara["segment"]) == (1, "at_risk")
    assert all(b["features_computed_at"] == NOW for b in buyers.values())
    assert _history(engine) == {
        (buyer_id_for(ALICE), "repeat", NOW, None, True),
        (buyer_id_for(ALICE), "recent", NOW, None, False),
        (buyer_id_for(CARA), "at_risk", NOW, None, True),
        (buyer_id_for(CARA), "recent", NOW, None, False),
    }

    before = snapshot(engine)
    again = segment_buyers(engine, segments, NOW)
    assert (again.buyers_updated, again.entered, again.left) == (0, {}, {})
    assert snapshot(engine) == before


def test_moves_between_runs_close_and_open_history_rows(engine, segments):
    _order(engine, 1, ALICE, days_ago=20)
    _order(engine, 3, BOB, days_ago=100)
    segment_buyers(engine, segments, NOW)

    later = NOW + timedelta(days=15)  # Alice's order is now 35 days old; Bob orders again
    _order(engine, 5, BOB, days_ago=-14)
    run = segment_buyers(engine, segments, later)

    assert run.left == {"recent": 1} and run.entered == {"repeat": 1, "recent": 1}
    history = _history(engine)
    assert (buyer_id_for(ALICE), "recent", NOW, later, True) in history
    assert (buyer_id_for(BOB), "repeat", later, None, True) in history
    assert (buyer_id_for(BOB), "recent", later, None, False) in history
    assert _buyers(engine)[buyer_id_for(ALICE)]["segment"] == ""


def test_a_dry_run_writes_nothing(engine, segments):
    _order(engine, 1, ALICE, days_ago=3)
    before = snapshot(engine)
    run = segment_buyers(engine, segments, NOW, dry_run=True)
    assert run.members == {"recent": 1} and run.buyers_updated == 1
    assert snapshot(engine) == before
