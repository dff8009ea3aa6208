"""Load: upserting 200,000 orders with items into PostgreSQL, rows per second against a row-by-row insert
baseline measured in the same run. Goal: at least 10 times faster; peak memory under 1 GB.

Our path is `sellerreach.warehouse.load_orders` (new orders COPY straight into their tables; a changed order's
rows are deleted and COPYed again, its items only when they changed; buyers are merged through a staging table
and one INSERT ... SELECT ... ON CONFLICT), one transaction per batch. The baseline is one INSERT ... ON
CONFLICT DO UPDATE statement per row (raw payload, order, each item, buyer) for a sample of the orders (default
10,000), in a database of its own on the same server, committed per slice of the sample. The two take turns, a
batch of ours then a slice of the sample, so both are measured over the same minutes, each turn after a
CHECKPOINT (untimed) so that neither pays for writing out the other's pages. Three passes each:

- insert: every order is new;
- unchanged: the same orders again (the overlap of an incremental sync; ours compares payload hashes and
  writes nothing, the baseline rewrites every row);
- update: every order again with a newer lastUpdatedTime; the unshipped and partially shipped ones (a fifth)
  ship, so their items' quantity shipped changes, the others keep their items (ours rewrites the orders,
  replaces the items that changed, merges buyers; the baseline rewrites every row).

Rows per order = 1 raw + 1 order + its items (1-3) + 1 buyer, counted the same way for both paths. Seconds
are the time spent loading only; making and mapping the payloads (`map_order`, about 250 us an order here)
is reported apart. Payloads are made and mapped batch by batch in a generator, never all at once.

    .venv/bin/python bench/load.py --orders 200000

Prints a table and PASS/MISS against the goal; exits 0 either way (a measurement, not a test).
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from psycopg.types.json import Json  # noqa: E402
from sqlalchemy.dialects import postgresql  # noqa: E402
from sqlalchemy.engine import Connection  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from schemas import tables as t  # noqa: E402
from schemas.migrations import upgrade  # noqa: E402
from sellerreach.amazon.mapping import OrderRows, map_order  # noqa: E402
from sellerreach.warehouse import create_warehouse_engine, load_orders  # noqa: E402
from tests.support.payloads import iso, model_example_order  # noqa: E402
from tests.support.postgres import throwaway_postgres, with_database  # noqa: E402

ACCOUNT_ID = "acme-na"
FIRST_PURCHASE = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
LOADED_AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
STATUSES = ("SHIPPED",) * 6 + ("UNSHIPPED", "PARTIALLY_SHIPPED", "DELIVERED", "CANCELLED")
SHIPS_IN_UPDATE = frozenset({"UNSHIPPED", "PARTIALLY_SHIPPED"})  # the update pass ships these: items change
GOAL_RATIO = 10.0
GOAL_PEAK_MB = 1024.0
PASSES = ("insert", "unchanged", "update")


# -- payloads ------------------------------------------------------------------------------------------------


class OrderPayloads:
    """The vendored model's example order, varied like tests/support/payloads.order_payload: distinct ids and
    times, repeat buyers (about 1.3 orders each), 1-3 items, a mix of statuses.

    Built by shallow copies of one parsed example (deep-copying the example per order costs 280 us, more than
    loading it); `map_order` never mutates a payload, so the shared nested parts are safe."""

    def __init__(self, orders: int) -> None:
        self.example = model_example_order()
        self.example_items = self.example["orderItems"]
        self.buyer_pool = max(1, int(orders / 1.3))

    def payload(self, n: int, *, version: int) -> dict[str, Any]:
        example = self.example
        created = FIRST_PURCHASE + timedelta(minutes=n)
        updated = created + timedelta(hours=1, days=version)  # version 1: the "update" pass
        item_count = 1 + n % 3
        status = STATUSES[n % len(STATUSES)]
        items = [
            {**self.example_items[i % len(self.example_items)], "orderItemId": f"{n:012d}{i:02d}"}
            for i in range(item_count)
        ]
        if status in SHIPS_IN_UPDATE:
            if version:  # shipped now: the example's items, every unit fulfilled
                status = "SHIPPED"
            else:
                items = [{**item, "fulfillment": self.unfulfilled(item)} for item in items]
        buyer = (n * 2_654_435_761) % self.buyer_pool  # repeat buyers spread over the whole run
        return {
            **example,
            "orderId": f"{100 + n % 800:03d}-{n % 10_000_000:07d}-{(n * 7919) % 10_000_000:07d}",
            "createdTime": iso(created),
            "lastUpdatedTime": iso(updated),
            "fulfillment": {**example["fulfillment"], "fulfillmentStatus": status},
            "buyer": {**example["buyer"], "buyerEmail": f"buyer{buyer:07d}@marketplace.amazon.com"},
            "orderItems": items,
        }

    @staticmethod
    def unfulfilled(item: dict[str, Any]) -> dict[str, Any]:
        quantity = item["quantityOrdered"]
        return {**item["fulfillment"], "quantityFulfilled": 0, "quantityUnfulfilled": quantity}

    def batches(
        self, first: int, count: int, batch_size: int, *, version: int, timer: Timer
    ) -> Iterator[list[OrderRows]]:
        """Mapped batches of orders first .. first+count-1; making and mapping them is timed by `timer`."""
        for start in range(first, first + count, batch_size):
            with timer:
                batch = [
                    map_order(self.payload(n, version=version), ACCOUNT_ID)
                    for n in range(start, min(start + batch_size, first + count))
                ]
            yield batch


def rows_of(batch: list[OrderRows]) -> int:
    return sum(2 + len(r.items) + (1 if r.buyer else 0) for r in batch)


# -- the baseline: one statement per row ---------------------------------------------------------------------


def _upsert_sql(
    table: sa.Table,
    key: list[str],
    merge: dict[str, Callable] | None = None,
    skip: frozenset[str] = frozenset(),
) -> str:
    """INSERT ... ON CONFLICT (key) DO UPDATE for one row of every column but `skip`, as psycopg SQL text."""
    columns = [
        c.name
        for c in table.columns
        if not (c.primary_key and c.autoincrement is True) and c.name not in skip
    ]
    stmt = postgresql.insert(table).values({c: sa.bindparam(c) for c in columns})
    merge = merge or {}
    set_ = {
        c: merge[c](table.c[c], stmt.excluded[c]) if c in merge else stmt.excluded[c]
        for c in columns
        if c not in key
    }
    stmt = stmt.on_conflict_do_update(index_elements=key, set_=set_)
    return str(stmt.compile(dialect=postgresql.psycopg.dialect()))


class RowByRowLoader:
    """INSERT ... ON CONFLICT DO UPDATE, one statement (one round trip) per row.

    The strongest row-by-row version: SQL compiled once, sent through psycopg as a server-side prepared
    statement. (Executing the SQLAlchemy statement per row was 3-4 times slower again, about 1,000 rows/s: an
    ON CONFLICT DO UPDATE statement has no cache key in SQLAlchemy, so every row pays a compilation.)"""

    def __init__(self) -> None:
        self.raw = _upsert_sql(t.raw_spapi_orders, ["amazon_order_id"])
        self.order = _upsert_sql(
            t.fct_orders, ["amazon_order_id"], {"delivered_at": lambda cur, new: sa.func.coalesce(cur, new)}
        )
        self.item = _upsert_sql(t.fct_order_items, ["amazon_order_id", "order_item_id"])
        self.buyer = _upsert_sql(
            t.dim_buyers,
            ["buyer_id"],
            {"first_order_at": sa.func.least, "last_order_at": sa.func.greatest, "is_business_buyer": sa.or_},
            # the order mapping leaves the segmentation's columns to segment_buyers, as load_orders does
            skip=frozenset({c.name for c in t.FEATURE_COLUMNS} | {"segment", "features_computed_at"}),
        )

    def load(self, conn: Connection, batch: list[OrderRows], now: datetime) -> None:
        with conn.connection.dbapi_connection.cursor() as cursor:
            for rows in batch:
                raw = {**rows.raw, "payload": Json(rows.raw["payload"]), "loaded_at": now}
                cursor.execute(self.raw, raw, prepare=True)
                cursor.execute(self.order, {**rows.order, "loaded_at": now}, prepare=True)
                for item in rows.items:
                    cursor.execute(self.item, item, prepare=True)
                if rows.buyer:
                    cursor.execute(self.buyer, rows.buyer, prepare=True)


# -- measuring -----------------------------------------------------------------------------------------------


class Timer:
    """Accumulates wall time over `with` blocks."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> Timer:
        self._started = time.perf_counter()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.seconds += time.perf_counter() - self._started


@dataclass
class PassResult:
    path: str
    name: str
    orders: int = 0
    rows: int = 0
    seconds: float = 0.0
    map_seconds: float = 0.0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


@dataclass
class LoadPath:
    """One way of loading: its database, its load function, how many orders it loads and how many a batch."""

    name: str
    engine: sa.Engine
    load: Callable[[Connection, list[OrderRows], datetime], Any]
    orders: int
    batch_size: int


class PassRun:
    """One pass of one path, batch by batch: loading timed per batch, making and mapping apart."""

    def __init__(self, path: LoadPath, name: str, payloads: OrderPayloads) -> None:
        self.path, self.result, self.mapping = path, PassResult(path.name, name), Timer()
        version = 1 if name == "update" else 0
        self.batches = payloads.batches(0, path.orders, path.batch_size, version=version, timer=self.mapping)

    def load_next(self) -> bool:
        """Load the next batch; False when there is none left."""
        batch = next(self.batches, None)
        if batch is None:
            return False
        result = self.result
        started = time.perf_counter()
        with self.path.engine.begin() as conn:
            counts = self.path.load(conn, batch, LOADED_AT)
        result.seconds += time.perf_counter() - started
        result.map_seconds = self.mapping.seconds
        result.orders += len(batch)
        result.rows += rows_of(batch)
        if counts is not None:
            result.inserted += counts.inserted
            result.updated += counts.updated
            result.unchanged += counts.unchanged
        return True


def run_passes(
    ours: LoadPath, baseline: LoadPath, payloads: OrderPayloads
) -> tuple[list[PassResult], list[PassResult]]:
    """Each pass over both paths in turns: a batch of ours, then a slice of the baseline's sample (the next turn
    in the other order), so both are measured over the same minutes. This machine's speed was seen to drift by
    half within twenty minutes, which, measuring one path after the other, moved the ratio by as much."""
    ours_results, baseline_results = [], []
    for name in PASSES:
        runs = [PassRun(ours, name, payloads), PassRun(baseline, name, payloads)]
        for turn in itertools.count():
            loaded = []
            for run in runs if turn % 2 == 0 else runs[::-1]:
                checkpoint(ours.engine)  # neither path pays for writing out the other's dirty pages
                loaded.append(run.load_next())
            if not any(loaded):
                break
            mine, theirs = runs[0].result, runs[1].result
            print(
                f"  {name:9} ours {mine.orders:>9,} orders {mine.seconds:6.1f} s,"
                f"  row-by-row {theirs.orders:>7,} orders {theirs.seconds:6.1f} s",
                end="\r",
                flush=True,
            )
        print(" " * 90, end="\r")
        ours_results.append(runs[0].result)
        baseline_results.append(runs[1].result)
    return ours_results, baseline_results


def checkpoint(engine: sa.Engine) -> None:
    """Write every dirty page of the server out (untimed), so the next batch starts from clean buffers."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("CHECKPOINT")


def table_counts(engine: sa.Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in (t.raw_spapi_orders, t.fct_orders, t.fct_order_items, t.dim_buyers)
        }


@contextmanager
def fresh_database(server_url: str, name: str) -> Iterator[sa.Engine]:
    """A new database on the server, migrated to head; dropped afterwards."""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(sa.text(f"CREATE DATABASE {name}"))
    engine = create_warehouse_engine(with_database(server_url, name))
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


def peak_memory_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--orders", type=int, default=200_000, help="orders loaded by our path (default 200000)"
    )
    parser.add_argument(
        "--batch", type=int, default=5_000, help="orders per batch and transaction (default 5000)"
    )
    parser.add_argument(
        "--baseline-orders", type=int, default=10_000, help="orders of the row-by-row sample (default 10000)"
    )
    parser.add_argument(
        "--url",
        help="URL of an existing PostgreSQL server, as a superuser: the bench creates databases and runs"
        " CHECKPOINT (default: a throwaway server in /dev/shm)",
    )
    args = parser.parse_args(argv)
    baseline_orders = min(args.baseline_orders, args.orders)

    print(
        f"load bench: {args.orders:,} orders, batches of {args.batch:,}; baseline sample {baseline_orders:,}"
    )
    with ExitStack() as stack:
        if args.url:
            server_url = args.url
        else:
            started = time.perf_counter()
            server_url = stack.enter_context(throwaway_postgres())
            print(f"throwaway PostgreSQL up in {time.perf_counter() - started:.1f} s")
        payloads = OrderPayloads(args.orders)
        ours_engine = stack.enter_context(fresh_database(server_url, "bench_load_ours"))
        baseline_engine = stack.enter_context(fresh_database(server_url, "bench_load_baseline"))
        batches = -(-args.orders // args.batch)
        # the baseline's sample in as many slices as ours has batches, one slice a turn
        slice_size = max(1, -(-baseline_orders // batches))
        ours, baseline = run_passes(
            LoadPath("ours", ours_engine, load_orders, args.orders, args.batch),
            LoadPath("row-by-row", baseline_engine, RowByRowLoader().load, baseline_orders, slice_size),
            payloads,
        )
        stored = table_counts(ours_engine)

    report(args.orders, baseline, ours, stored)
    return 0


def report(orders: int, baseline: list[PassResult], ours: list[PassResult], stored: dict[str, int]) -> None:
    base_rate = {r.name: r.rows_per_second for r in baseline}
    print()
    header = f"{'path':11} {'pass':9} {'orders':>9} {'rows':>10} {'seconds':>8} {'rows/s':>10} {'vs base':>8}"
    print(header)
    print("-" * len(header))
    for r in [*baseline, *ours]:
        ratio = r.rows_per_second / base_rate[r.name] if base_rate[r.name] else 0.0
        print(
            f"{r.path:11} {r.name:9} {r.orders:>9,} {r.rows:>10,} {r.seconds:>8.2f}"
            f" {r.rows_per_second:>10,.0f} {ratio:>7.1f}x"
        )
    print()
    for r in ours:
        print(
            f"ours {r.name:9}: inserted {r.inserted:,}, updated {r.updated:,}, unchanged {r.unchanged:,};"
            f" making+mapping the payloads took {r.map_seconds:.1f} s (not counted above)"
        )
    print("stored: " + ", ".join(f"{name} {count:,}" for name, count in stored.items()))
    shipping = sum(STATUSES[n % len(STATUSES)] in SHIPS_IN_UPDATE for n in range(orders))
    print(f"update pass: {shipping:,} of the {orders:,} orders ship, so their items change")

    insert_ratio = ours[0].rows_per_second / base_rate["insert"] if base_rate["insert"] else 0.0
    worst_ratio = min(r.rows_per_second / base_rate[r.name] for r in ours if base_rate[r.name])
    peak = peak_memory_mb()
    print()
    verdict = "PASS" if insert_ratio >= GOAL_RATIO else "MISS"
    print(f"insert pass vs row-by-row:  {insert_ratio:7.1f}x     goal >= {GOAL_RATIO:.0f}x      {verdict}")
    verdict = "PASS" if worst_ratio >= GOAL_RATIO else "MISS"
    print(f"slowest pass vs row-by-row: {worst_ratio:7.1f}x     goal >= {GOAL_RATIO:.0f}x      {verdict}")
    verdict = "PASS" if peak < GOAL_PEAK_MB else "MISS"
    print(
        f"peak memory (ru_maxrss):    {peak:7,.0f} MB    goal < {GOAL_PEAK_MB:,.0f} MB  {verdict}"
        "  (this process; the PostgreSQL server's memory is not included)"
    )


if __name__ == "__main__":
    sys.exit(main())
