"""Loads are upserts on natural keys, on SQLite and on real PostgreSQL (COPY + INSERT ... ON CONFLICT)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command

from schemas import tables as t
from schemas.migrations import alembic_config, upgrade
from sellerreach.amazon.mapping import map_order, payload_sha256
from sellerreach.buyers import buyer_id_for
from sellerreach.warehouse import (
    QuarantinedRecord,
    SyncKey,
    create_warehouse_engine,
    load_orders,
    quarantine,
    read_sync_state,
    save_sync_state,
)
from tests.support.payloads import iso, order_payload

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _rows(conn, table):
    return [dict(r) for r in conn.execute(sa.select(table)).mappings()]


def _snapshot(engine):
    with engine.connect() as conn:
        return {
            table.name: sorted(_rows(conn, table), key=repr)
            for table in (t.raw_spapi_orders, t.fct_orders, t.fct_order_items, t.dim_buyers)
        }


def test_load_then_reload_changes_nothing(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    batch = [map_order(order_payload(n), "acme-na") for n in range(250)]
    with engine.begin() as conn:
        counts = load_orders(conn, batch, NOW)
    assert (counts.inserted, counts.updated, counts.unchanged) == (250, 0, 0)
    before = _snapshot(engine)
    with engine.begin() as conn:
        again = load_orders(conn, batch, NOW + timedelta(hours=1))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 250)
    assert _snapshot(engine) == before
    assert len(before["fct_order_items"]) == 500  # the example order has two lines
    assert len(before["dim_buyers"]) == 250


def test_newer_version_updates_order_and_replaces_items(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    first = order_payload(1, status="UNSHIPPED")
    with engine.begin() as conn:
        load_orders(conn, [map_order(first, "acme-na")], NOW)
    newer = order_payload(1, status="SHIPPED", updated=datetime(2026, 11, 2, 9, 0, tzinfo=UTC))
    newer["orderItems"] = newer["orderItems"][:1]
    with engine.begin() as conn:
        counts = load_orders(conn, [map_order(newer, "acme-na")], NOW)
    assert counts.updated == 1
    with engine.connect() as conn:
        order = conn.execute(sa.select(t.fct_orders)).mappings().one()
        items = _rows(conn, t.fct_order_items)
    assert order["order_status"] == "SHIPPED"
    assert order["last_updated_at"] == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert [i["order_item_id"] for i in items] == [newer["orderItems"][0]["orderItemId"]]


def _mark_items(conn, order_id: str) -> None:
    # a value no load writes (the mapping leaves category empty): still there means the row was not rewritten
    items = t.fct_order_items
    conn.execute(sa.update(items).where(items.c.amazon_order_id == order_id).values(category="marked"))


def _items_of(conn, order_id: str) -> dict[str, tuple]:
    items = t.fct_order_items.c
    query = sa.select(items.order_item_id, items.quantity_shipped, items.category).where(
        items.amazon_order_id == order_id
    )
    return {item_id: (shipped, category) for item_id, shipped, category in conn.execute(query)}


def test_a_new_version_rewrites_the_items_only_when_they_changed(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    first = order_payload(5, status="UNSHIPPED")
    for item in first["orderItems"]:
        item["fulfillment"]["quantityFulfilled"] = 0
    order_id = first["orderId"]
    with engine.begin() as conn:
        load_orders(conn, [map_order(first, "acme-na")], NOW)
        _mark_items(conn, order_id)

    # a status move that leaves the items as they were: the order is rewritten, its item rows are not
    packed = order_payload(5, status="PENDING_PICKUP", updated=datetime(2026, 11, 2, tzinfo=UTC))
    for item in packed["orderItems"]:
        item["fulfillment"]["quantityFulfilled"] = 0
    with engine.begin() as conn:
        assert load_orders(conn, [map_order(packed, "acme-na")], NOW).updated == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(t.fct_orders.c.order_status)).scalar_one() == "PENDING_PICKUP"
        assert set(_items_of(conn, order_id).values()) == {(0, "marked")}

    # shipping changes every item's quantity shipped: the item rows are replaced
    shipped = order_payload(5, status="SHIPPED", updated=datetime(2026, 11, 3, tzinfo=UTC))
    with engine.begin() as conn:
        assert load_orders(conn, [map_order(shipped, "acme-na")], NOW).updated == 1
    with engine.connect() as conn:
        shipped_items = {i["orderItemId"]: i["fulfillment"]["quantityFulfilled"] for i in shipped["orderItems"]}
        assert _items_of(conn, order_id) == {item: (qty, None) for item, qty in shipped_items.items()}
        stored_hash = conn.execute(sa.select(t.fct_orders.c.items_sha256)).scalar_one()
    assert stored_hash == map_order(shipped, "acme-na").order["items_sha256"]


def test_items_loaded_without_a_hash_are_rewritten_once(warehouse_url):
    # rows loaded before migration 0008 have no items hash: the order's next new version rewrites its items
    engine = create_warehouse_engine(warehouse_url)
    first = order_payload(6)
    order_id = first["orderId"]

    def load_version_of(day: int) -> set[str | None]:
        with engine.begin() as conn:
            _mark_items(conn, order_id)
        newer = order_payload(6, updated=datetime(2026, 11, day, tzinfo=UTC))
        with engine.begin() as conn:
            assert load_orders(conn, [map_order(newer, "acme-na")], NOW).updated == 1
        with engine.connect() as conn:
            return {category for _, category in _items_of(conn, order_id).values()}

    with engine.begin() as conn:
        load_orders(conn, [map_order(first, "acme-na")], NOW)
        conn.execute(sa.update(t.fct_orders).values(items_sha256=None))
    assert load_version_of(2) == {None}  # rewritten
    assert load_version_of(3) == {"marked"}  # the hash is stored now: left alone


def test_an_older_version_never_overwrites_a_newer_one(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    newer = order_payload(2, status="SHIPPED", updated=datetime(2026, 11, 3, tzinfo=UTC))
    older = order_payload(2, status="UNSHIPPED", updated=datetime(2026, 11, 2, tzinfo=UTC))
    with engine.begin() as conn:
        load_orders(conn, [map_order(newer, "acme-na")], NOW)
        counts = load_orders(conn, [map_order(older, "acme-na")], NOW)
    assert counts.unchanged == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(t.fct_orders.c.order_status)).scalar_one() == "SHIPPED"


def test_same_order_twice_in_one_batch_keeps_the_newest(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    old = order_payload(3, status="PENDING", updated=datetime(2026, 11, 2, tzinfo=UTC))
    new = order_payload(3, status="UNSHIPPED", updated=datetime(2026, 11, 2, 1, tzinfo=UTC))
    with engine.begin() as conn:
        counts = load_orders(conn, [map_order(new, "acme-na"), map_order(old, "acme-na")], NOW)
    assert counts.inserted == 1
    with engine.connect() as conn:
        assert conn.execute(sa.select(t.fct_orders.c.order_status)).scalar_one() == "UNSHIPPED"


def test_buyers_merge_first_and_last_order_and_delivered_at_is_kept(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    email = "k2m9x7q4dz5v1w8@marketplace.amazon.com"
    early = order_payload(10, created=datetime(2026, 10, 1, tzinfo=UTC), buyer_email=email)
    late = order_payload(11, created=datetime(2026, 11, 5, tzinfo=UTC), buyer_email=email)
    with engine.begin() as conn:
        load_orders(conn, [map_order(late, "acme-na")], NOW)
        load_orders(conn, [map_order(early, "acme-na")], NOW)
    with engine.connect() as conn:
        buyer = conn.execute(sa.select(t.dim_buyers)).mappings().one()
    assert buyer["buyer_id"] == buyer_id_for(email)
    assert buyer["first_order_at"] == datetime(2026, 10, 1, tzinfo=UTC)
    assert buyer["last_order_at"] == datetime(2026, 11, 5, tzinfo=UTC)

    # the example order's packages are DELIVERED: delivered_at is the first version seen delivered, kept after
    delivered = order_payload(12, updated=datetime(2026, 11, 3, tzinfo=UTC))
    with engine.begin() as conn:
        load_orders(conn, [map_order(delivered, "acme-na")], NOW)
    later = order_payload(12, updated=datetime(2026, 11, 9, tzinfo=UTC))
    later["lastUpdatedTime"] = iso(datetime(2026, 11, 9, tzinfo=UTC))
    with engine.begin() as conn:
        load_orders(conn, [map_order(later, "acme-na")], NOW)
    with engine.connect() as conn:
        delivered_at = conn.execute(
            sa.select(t.fct_orders.c.delivered_at).where(t.fct_orders.c.amazon_order_id == later["orderId"])
        ).scalar_one()
    assert delivered_at == datetime(2026, 11, 3, tzinfo=UTC)


def test_quarantine_keeps_each_bad_payload_once(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    record = QuarantinedRecord(
        "spapi",
        "orders",
        "acme-na",
        "ATVPDKIKX0DER",
        "111-1111111-1111111",
        "orderItems[0].quantityOrdered: must be >= 1",
        '{"orderId": "111-1111111-1111111"}',
    )
    with engine.begin() as conn:
        assert quarantine(conn, [record, record], NOW) == 1
    with engine.begin() as conn:
        assert quarantine(conn, [record], NOW) == 0
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.quarantine_records)).scalar_one() == 1


def test_sync_state_round_trip(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    key = SyncKey("spapi", "orders", "acme-na", "ATVPDKIKX0DER")
    with engine.begin() as conn:
        assert read_sync_state(conn, key) is None
        save_sync_state(conn, key, NOW, cursor_at=NOW - timedelta(minutes=2), resume_token="abc")
        save_sync_state(conn, key, NOW, resume_token=None)
    with engine.connect() as conn:
        state = read_sync_state(conn, key)
    assert state["cursor_at"] == NOW - timedelta(minutes=2)
    assert state["resume_token"] is None


def test_a_changed_older_order_does_not_overwrite_the_buyers_latest_details(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    email = "k2m9x7q4dz5v1w8@marketplace.amazon.com"
    old = order_payload(20, created=datetime(2026, 10, 1, tzinfo=UTC), buyer_email=email)
    new = order_payload(21, created=datetime(2026, 11, 5, tzinfo=UTC), buyer_email=email)
    old["buyer"]["buyerName"], new["buyer"]["buyerName"] = "J. Smith", "John Smith"
    with engine.begin() as conn:
        load_orders(conn, [map_order(old, "acme-na"), map_order(new, "acme-na")], NOW)
    changed_old = order_payload(20, created=datetime(2026, 10, 1, tzinfo=UTC), buyer_email=email,
                                updated=datetime(2026, 11, 10, tzinfo=UTC))
    changed_old["buyer"]["buyerName"] = "J. Smith"
    with engine.begin() as conn:
        assert load_orders(conn, [map_order(changed_old, "acme-na")], NOW).updated == 1
    with engine.connect() as conn:
        buyer = conn.execute(sa.select(t.dim_buyers)).mappings().one()
    assert buyer["buyer_name"] == "John Smith"
    assert buyer["last_order_at"] == datetime(2026, 11, 5, tzinfo=UTC)


def _hashes(conn):
    """order id -> (fct_orders.payload_sha256, raw_spapi_orders.payload_sha256)."""
    o, r = t.fct_orders.c, t.raw_spapi_orders.c
    query = sa.select(o.amazon_order_id, o.payload_sha256, r.payload_sha256).join_from(
        t.fct_orders, t.raw_spapi_orders, r.amazon_order_id == o.amazon_order_id
    )
    return {order_id: (ours, raw) for order_id, ours, raw in conn.execute(query)}


def test_fct_orders_keeps_the_hash_of_the_payload_loaded(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    first = order_payload(30, status="UNSHIPPED")
    newer = order_payload(30, status="SHIPPED", updated=datetime(2026, 11, 4, tzinfo=UTC))
    for payload in (first, newer):
        with engine.begin() as conn:
            load_orders(conn, [map_order(payload, "acme-na")], NOW)
        with engine.connect() as conn:
            assert _hashes(conn) == {payload["orderId"]: (payload_sha256(payload),) * 2}


def test_an_order_without_a_stored_hash_is_reloaded_once(warehouse_url):
    # a row no load has written since migration 0007 (no raw payload to take the hash from) reads as changed
    engine = create_warehouse_engine(warehouse_url)
    batch = [map_order(order_payload(n), "acme-na") for n in (40, 41)]
    with engine.begin() as conn:
        load_orders(conn, batch, NOW)
        conn.execute(
            sa.update(t.fct_orders)
            .where(t.fct_orders.c.amazon_order_id == batch[0].amazon_order_id)
            .values(payload_sha256=None)
        )
    with engine.begin() as conn:
        counts = load_orders(conn, batch, NOW)
    assert (counts.inserted, counts.updated, counts.unchanged) == (0, 1, 1)
    with engine.begin() as conn:
        assert load_orders(conn, batch, NOW).unchanged == 2
        assert all(ours == raw for ours, raw in _hashes(conn).values())


def test_migration_0007_takes_the_hash_of_orders_loaded_before_it(warehouse_url):
    engine = create_warehouse_engine(warehouse_url)
    batch = [map_order(order_payload(n), "acme-na") for n in range(50, 55)]
    with engine.begin() as conn:
        load_orders(conn, batch, NOW)
    with engine.begin() as conn:
        command.downgrade(alembic_config(conn), "0006_segments")
        assert "payload_sha256" not in {c["name"] for c in sa.inspect(conn).get_columns("fct_orders")}
    upgrade(engine)
    with engine.connect() as conn:
        assert _hashes(conn) == {r.amazon_order_id: (r.raw["payload_sha256"],) * 2 for r in batch}


@pytest.mark.postgres
def test_a_new_version_of_an_order_leaves_its_unchanged_buyer_row_alone(pg_url):
    engine = create_warehouse_engine(pg_url)
    first = order_payload(60, status="UNSHIPPED")
    with engine.begin() as conn:
        load_orders(conn, [map_order(first, "acme-na")], NOW)
    version = sa.select(sa.column("xmin", sa.String)).select_from(t.dim_buyers)
    with engine.connect() as conn:
        before = conn.execute(version).scalar_one()
    newer = order_payload(60, status="SHIPPED", updated=datetime(2026, 11, 4, tzinfo=UTC))
    with engine.begin() as conn:
        assert load_orders(conn, [map_order(newer, "acme-na")], NOW).updated == 1
        # and the planner setting load_orders changes for its lookups is the session's again afterwards
        assert conn.exec_driver_sql("SHOW enable_seqscan").scalar_one() == "on"
    with engine.connect() as conn:
        assert conn.execute(version).scalar_one() == before
    renamed = order_payload(60, status="SHIPPED", updated=datetime(2026, 11, 5, tzinfo=UTC))
    renamed["buyer"]["buyerName"] = "Jane Q. Buyer"
    with engine.begin() as conn:
        load_orders(conn, [map_order(renamed, "acme-na")], NOW)
    with engine.connect() as conn:
        assert conn.execute(version).scalar_one() != before
        assert conn.execute(sa.select(t.dim_buyers.c.buyer_name)).scalar_one() == "Jane Q. Buyer"
