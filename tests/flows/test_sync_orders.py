"""sync_orders and refresh_tokens under prefect_test_harness, against the stand-in, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from flows.refresh_tokens import refresh_tokens
from flows.sync_orders import sync_orders
from schemas import tables as t
from sellerreach import order_sync
from sellerreach.demo import compare_with_ground_truth
from sellerreach.errors import RunFailed
from sellerreach.warehouse import create_warehouse_engine
from tests.support.standin import running_stand_in

pytestmark = pytest.mark.flow

US, CA, MX = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"


class SimulatedCrash(Exception):
    pass


# what says when and how much a run last looked, not what the warehouse holds
RUN_BOOKKEEPING = {
    "updated_at",
    "last_run_started_at",
    "last_run_finished_at",
    "last_run_records",
    "auth_checked_at",
    "computed_at",  # rpt_* rows: when the figures were last computed
}


@pytest.fixture
def stand_in(monkeypatch, tmp_path, warehouse_url):
    # 10 orders a day: a month is three pages a marketplace, so a run fits in the searchOrders burst and the
    # manual clock only moves when a test moves it
    with running_stand_in(monkeypatch, tmp_path, warehouse_url=warehouse_url, orders_per_day=10) as running:
        running.engine = create_warehouse_engine(warehouse_url)
        yield running
        running.engine.dispose()


def snapshot(engine) -> dict[str, list]:
    """Every warehouse row, without the columns that only say when a run last looked."""
    with engine.connect() as conn:
        return {
            table.name: sorted(
                (
                    repr({k: v for k, v in row.items() if k not in RUN_BOOKKEEPING})
                    for row in conn.execute(sa.select(table)).mappings()
                ),
            )
            for table in t.metadata.sorted_tables
        }


def assert_matches_ground_truth(stand_in, account_id: str, settle: timedelta = timedelta(minutes=15)) -> int:
    """The warehouse holds exactly the stand-in's orders from the first run's look-back up to each cursor minus
    `settle`, each in its current version (the demo's own check). Updates Amazon shows late (up to ten minutes
    in the stand-in) and stamped just before the cursor may legitimately wait for the next run's overlap."""
    with stand_in.engine.connect() as conn:
        cursors = {
            (account_id, marketplace_id): cursor
            for marketplace_id, cursor in conn.execute(
                sa.select(t.sync_state.c.marketplace_id, t.sync_state.c.cursor_at).where(
                    t.sync_state.c.account_id == account_id, t.sync_state.c.stream == "orders"
                )
            ).all()
        }
    looked_back_to = stand_in.started_at - timedelta(days=30)
    rows = compare_with_ground_truth(
        stand_in.engine, stand_in.world, cursors, since=dict.fromkeys(cursors, looked_back_to), settle=settle
    )
    assert rows, f"{account_id}: no cursor to check against"
    for row in rows:
        assert row["missing_or_stale"] == 0, row
        assert row["unknown"] == 0, row
    return sum(row["stand_in_orders"] for row in rows)


def order_count(engine, account_id=None) -> int:
    query = sa.select(sa.func.count()).select_from(t.fct_orders)
    if account_id:
        query = query.where(t.fct_orders.c.account_id == account_id)
    with engine.connect() as conn:
        return conn.execute(query).scalar_one()


def test_sync_loads_everything_and_a_second_run_changes_nothing(stand_in):
    first = sync_orders(config_path=str(stand_in.config_path))
    assert {(row["account_id"], row["marketplace_id"]) for row in first} == {
        ("acme-na", US),
        ("acme-na", CA),
        ("acme-na", MX),
        ("acme-eu", "A1F83G8C2ARO7P"),
        ("acme-eu", "A1PA6795UKMFR9"),
        ("acme-eu", "A13V1IB3VIYZZH"),
    }
    assert all(row["status"] == "ok" and row["inserted"] > 0 for row in first)
    assert assert_matches_ground_truth(stand_in, "acme-na") > 0
    assert assert_matches_ground_truth(stand_in, "acme-eu") > 0
    before = snapshot(stand_in.engine)

    second = sync_orders(config_path=str(stand_in.config_path))
    assert all(row["inserted"] == 0 and row["updated"] == 0 for row in second)
    assert snapshot(stand_in.engine) == before


def test_hourly_runs_pick_up_new_orders_and_status_changes(stand_in):
    sync_orders(config_path=str(stand_in.config_path))
    for _ in range(3):
        stand_in.clock.advance(3600)
        rows = sync_orders(config_path=str(stand_in.config_path), account="acme-na")
        assert sum(row["inserted"] + row["updated"] for row in rows) > 0
    assert_matches_ground_truth(stand_in, "acme-na")


def test_run_killed_after_page_k_resumes_without_gaps_or_doubles(monkeypatch, tmp_path, warehouse_url):
    real_quarantine = order_sync.quarantine
    calls = {"n": 0}

    def crash_on_page_4(conn, records, now):
        calls["n"] += 1
        if calls["n"] == 4:  # inside page 4's transaction: its orders and state roll back together
            raise SimulatedCrash("process killed between load and commit")
        return real_quarantine(conn, records, now)

    with running_stand_in(monkeypatch, tmp_path, warehouse_url=warehouse_url, orders_per_day=20) as stand_in:
        stand_in.engine = engine = create_warehouse_engine(warehouse_url)
        config = str(stand_in.config_path)
        monkeypatch.setattr(order_sync, "quarantine", crash_on_page_4)
        with pytest.raises(RunFailed, match="acme-na/ATVPDKIKX0DER: process killed between load and commit"):
            sync_orders(config_path=config, account="acme-na")
        monkeypatch.setattr(order_sync, "quarantine", real_quarantine)

        with engine.connect() as conn:
            state = (
                conn.execute(
                    sa.select(t.sync_state).where(
                        t.sync_state.c.account_id == "acme-na",
                        t.sync_state.c.stream == "orders",
                        t.sync_state.c.marketplace_id == US,
                    )
                )
                .mappings()
                .one()
            )
            us_orders = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.fct_orders)
                .where(t.fct_orders.c.marketplace_id == US)
            ).scalar_one()
        assert state["resume_token"] and state["cursor_at"] is None  # three pages in, mark not moved yet
        assert state["last_run_status"] == "failed"
        assert us_orders == 300

        searches_before = stand_in.server.stats()["requests"][("searchOrders", "acme-na")]
        rows = sync_orders(config_path=config, account="acme-na")
        us = next(row for row in rows if row["marketplace_id"] == US)
        assert us["resumed"] is True
        assert_matches_ground_truth(stand_in, "acme-na")
        # nothing before page 4 of the interrupted window was read again
        searches = stand_in.server.stats()["requests"][("searchOrders", "acme-na")] - searches_before
        assert searches == sum(row["pages"] for row in rows)
        with engine.connect() as conn:
            us_orders_after = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.fct_orders)
                .where(t.fct_orders.c.marketplace_id == US)
            ).scalar_one()
        assert us_orders_after > 300
        engine.dispose()


@pytest.mark.parametrize(("overlap_minutes", "caught"), [(15, True), (0, False)])
def test_a_late_update_inside_the_overlap_is_caught(
    monkeypatch, tmp_path, warehouse_url, overlap_minutes, caught
):
    with running_stand_in(
        monkeypatch,
        tmp_path,
        warehouse_url=warehouse_url,
        overlap_minutes=overlap_minutes,
        late_update_share=0,
    ) as stand_in:
        engine = create_warehouse_engine(warehouse_url)
        config = str(stand_in.config_path)
        sync_orders(config_path=config, account="acme-na")
        with engine.connect() as conn:
            order_id, old_update = conn.execute(
                sa.select(t.fct_orders.c.amazon_order_id, t.fct_orders.c.last_updated_at)
                .where(t.fct_orders.c.marketplace_id == US)
                .order_by(t.fct_orders.c.last_updated_at.desc())
                .limit(1)
            ).one()
        # an update stamped now that Amazon shows only ten minutes later; the next run starts five minutes on,
        # so its window (ending two minutes before the run) covers the stamp but the update is not visible yet
        stamped = stand_in.world.add_late_update("acme-na", order_id, delay_seconds=600)
        stand_in.clock.advance(300)
        sync_orders(config_path=config, account="acme-na")
        stand_in.clock.advance(3600)
        sync_orders(config_path=config, account="acme-na")
        with engine.connect() as conn:
            stored = conn.execute(
                sa.select(t.fct_orders.c.last_updated_at).where(t.fct_orders.c.amazon_order_id == order_id)
            ).scalar_one()
        engine.dispose()
    assert stamped > old_update
    assert (stored == stamped) is caught


def test_a_revoked_account_is_skipped_and_the_others_go_on(stand_in, monkeypatch, caplog):
    caplog.set_level("DEBUG")
    events = []
    monkeypatch.setattr("tasks.amazon.emit_event", lambda **event: events.append(event))
    stand_in.server.faults.revoke(stand_in.tokens["acme-eu"])
    rows = sync_orders(config_path=str(stand_in.config_path))
    assert {row["account_id"]: row["status"] for row in rows if row["account_id"] == "acme-eu"} == {
        "acme-eu": "skipped: needs re-authorisation"
    }
    assert order_count(stand_in.engine, "acme-na") > 0
    assert order_count(stand_in.engine, "acme-eu") == 0
    assert_matches_ground_truth(stand_in, "acme-na")
    with stand_in.engine.connect() as conn:
        statuses = dict(conn.execute(sa.select(t.accounts.c.account_id, t.accounts.c.auth_status)).all())
        audit = conn.execute(sa.select(t.audit_log.c.action, t.audit_log.c.object_id)).tuples().all()
    assert statuses == {"acme-na": "authorised", "acme-eu": "needs_reauth"}
    assert ("account.needs_reauth", "acme-eu") in audit
    assert [e["event"] for e in events] == ["sellerreach.account.needs-reauth"]
    assert events[0]["resource"]["prefect.resource.id"] == "sellerreach.account.acme-eu"
    assert stand_in.tokens["acme-eu"] not in repr(events)
    # secrets never reach the logs, and neither do buyer addresses
    assert "needs re-authorisation" in caplog.text
    for secret in (*stand_in.tokens.values(), stand_in.client_secret):
        assert secret not in caplog.text
    assert "@marketplace.amazon" not in caplog.text


def test_refresh_tokens_twice_changes_nothing_and_notices_a_revocation(stand_in, monkeypatch):
    monkeypatch.setattr("tasks.amazon.emit_event", lambda **event: None)
    assert {r["status"] for r in refresh_tokens(config_path=str(stand_in.config_path))} == {"authorised"}
    before = snapshot(stand_in.engine)
    refresh_tokens(config_path=str(stand_in.config_path))
    assert snapshot(stand_in.engine) == before

    stand_in.server.faults.revoke(stand_in.tokens["acme-na"])
    rows = {r["account_id"]: r["status"] for r in refresh_tokens(config_path=str(stand_in.config_path))}
    assert rows == {"acme-na": "needs_reauth", "acme-eu": "authorised"}
    stand_in.server.faults.reinstate(stand_in.tokens["acme-na"])
    rows = {r["account_id"]: r["status"] for r in refresh_tokens(config_path=str(stand_in.config_path))}
    assert rows == {"acme-na": "authorised", "acme-eu": "authorised"}
    with stand_in.engine.connect() as conn:
        actions = [
            a for (a,) in conn.execute(sa.select(t.audit_log.c.action).order_by(t.audit_log.c.audit_id))
        ]
    assert actions.count("account.needs_reauth") == 1 and actions.count("account.authorised") == 3


def test_backfill_reads_the_range_in_chunks_and_leaves_the_live_cursor(monkeypatch, tmp_path, warehouse_url):
    with running_stand_in(
        monkeypatch, tmp_path, warehouse_url=warehouse_url, orders_per_day=10, history_days=50
    ) as stand_in:
        engine = create_warehouse_engine(warehouse_url)
        config = str(stand_in.config_path)
        sync_orders(config_path=config, account="acme-na")
        live_cursors = _live_cursors(engine)
        until = stand_in.clock.now() - timedelta(days=31)
        since = until - timedelta(days=8)
        rows = sync_orders(config_path=config, account="acme-na", since=since, until=until)
        assert all(row["mode"] == "backfill" and row["windows"] == 8 for row in rows)
        # last updated before the 30-day look-back: new to the warehouse
        assert all(row["inserted"] > 0 for row in rows)
        assert _live_cursors(engine) == live_cursors
        with engine.connect() as conn:
            backfilled = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.fct_orders)
                .where(t.fct_orders.c.last_updated_at.between(since, until))
            ).scalar_one()
        truth = sum(
            1
            for marketplace_id in (US, CA, MX)
            for updated in stand_in.world.ground_truth("acme-na", marketplace_id).values()
            if since <= updated <= until
        )
        engine.dispose()
    assert backfilled == truth


def _live_cursors(engine):
    with engine.connect() as conn:
        return sorted(
            conn.execute(
                sa.select(t.sync_state.c.marketplace_id, t.sync_state.c.cursor_at).where(
                    t.sync_state.c.stream == "orders"
                )
            ).all()
        )


def test_bad_payloads_are_quarantined_and_the_rest_loads(stand_in):
    config = str(stand_in.config_path)
    sync_orders(config_path=config, account="acme-na")
    with stand_in.engine.connect() as conn:
        victims = [
            o
            for (o,) in conn.execute(
                sa.select(t.fct_orders.c.amazon_order_id).where(t.fct_orders.c.marketplace_id == US).limit(2)
            )
        ]
    stand_in.world.corrupt_order("acme-na", victims[0], "negative_quantity")
    stand_in.world.corrupt_order("acme-na", victims[1], "bad_amount")
    stand_in.clock.advance(600)
    rows = sync_orders(config_path=config, account="acme-na")
    assert sum(row["quarantined"] for row in rows) == 2
    with stand_in.engine.connect() as conn:
        quarantined = conn.execute(sa.select(t.quarantine_records)).mappings().all()
    assert {q["record_key"] for q in quarantined} == set(victims)
    reasons = " ".join(q["reason"] for q in quarantined)
    assert "quantity" in reasons and "amount" in reasons
    assert all(victims[0] in q["raw_payload"] or victims[1] in q["raw_payload"] for q in quarantined)
    # a re-run does not quarantine the same payloads again
    rows = sync_orders(config_path=config, account="acme-na")
    with stand_in.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.quarantine_records)).scalar_one() == 2
