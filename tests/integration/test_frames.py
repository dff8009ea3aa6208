"""sellerreach.frames on SQLite and PostgreSQL: what goes in by insert_frame / staged_frame comes back from
read_frame value for value (NULLs, empty and awkward strings, timestamps to the microsecond, booleans, JSON
lists), the same frame whichever database, and read_frames_together reads several queries as of one moment."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from schemas import tables as t
from sellerreach.frames import insert_frame, read_frame, read_frames_together, staged_frame
from sellerreach.warehouse import create_warehouse_engine

FIRST = datetime(2026, 3, 29, 0, 59, 59, 999_999, tzinfo=UTC)  # the night European clocks go forward
LAST = datetime(2026, 11, 23, 3, 0, 0, 1, tzinfo=UTC)
# buyer names as sellers really get them, and the characters a text format or a CSV would trip over
NAMES = [
    "Zoë O'Brien",
    'Jean "JJ" Dupont, Lyon',
    "山田 太郎",
    "line one\nline two",
    "tab\there",
    "C:\\path\\",
    "",
]



def _buyers() -> pd.DataFrame:
    n = len(NAMES) + 1
    return pd.DataFrame(
        {
            "buyer_id": [f"{i:032x}" for i in range(n)],
            "buyer_name": [*NAMES, None],
            "is_business_buyer": [i % 2 == 0 for i in range(n)],
            "first_order_at": [FIRST] * n,
            "last_order_at": [LAST] * (n - 1) + [FIRST],
            "orders_total": pd.array([*range(n - 1), None], dtype="Int64"),
            "aov_cents": [1234.5, 0.1 + 0.2, 1e-7, 5000.0, 2**53 + 0.0, 42.0, 7.25, np.nan],
            "currency": ["EUR", "JPY", "USD", "GBP", "CAD", "MXN", "EUR", None],
        }
    )


def _read_buyers(conn) -> pd.DataFrame:
    b = t.dim_buyers.c
    query = sa.select(*(b[c] for c in _buyers().columns)).order_by(b.buyer_id)
    return read_frame(conn, query)


def test_what_goes_in_comes_back(engine) -> None:
    written = _buyers()
    with engine.begin() as conn:
        insert_frame(conn, t.dim_buyers, written)
        read = _read_buyers(conn)
    assert list(read.columns) == list(written.columns)
    assert read["buyer_name"].tolist()[:-1] == NAMES  # the empty string stays empty, not NULL
    assert read["buyer_name"].isna().tolist() == [False] * len(NAMES) + [True]
    assert read["is_business_buyer"].tolist() == written["is_business_buyer"].tolist()
    assert read["first_order_at"].tolist() == [pd.Timestamp(FIRST)] * len(written)
    assert str(read["last_order_at"].dtype) in ("datetime64[us, UTC]", "datetime64[ns, UTC]")
    assert read["last_order_at"].iloc[0] == pd.Timestamp(LAST)  # to the microsecond
    assert read["orders_total"].tolist()[:-1] == list(range(len(NAMES)))
    assert pd.isna(read["orders_total"].iloc[-1])
    assert read["aov_cents"].tolist()[:-1] == written["aov_cents"].tolist()[:-1]  # exactly, not nearly
    assert pd.isna(read["aov_cents"].iloc[-1])
    assert read["currency"].tolist()[:-1] == written["currency"].tolist()[:-1]


def test_json_columns_come_back_as_lists(engine) -> None:
    d = t.dim_threads.c
    tags = [["complaint", "refund"], [], ["a-to-z"]]
    rows = [
        {
            "thread_id": f"t{i}",
            "account_id": "acme-na",
            "buyer_id": f"{i:032x}",
            "subject": "Wo ist meine Bestellung?",
            "status": "open",
            "status_changed_at": LAST,
            "tags": tag,
            "message_count": 1,
            "opened_at": FIRST,
            "last_message_at": LAST,
            "is_breached": False,
            "is_near_breach": False,
            "breaches": 0,
            "updated_at": LAST,
        }
        for i, tag in enumerate(tags)
    ]
    with engine.begin() as conn:
        conn.execute(sa.insert(t.dim_threads), rows)
        read = read_frame(conn, sa.select(d.thread_id, d.tags, d.last_inbound_at).order_by(d.thread_id))
    assert read["tags"].tolist() == tags
    assert read["last_inbound_at"].isna().all()


def test_an_empty_result_has_the_columns_and_their_kinds(engine) -> None:
    b = t.dim_buyers.c
    query = sa.select(b.buyer_id, b.is_business_buyer, b.orders_total, b.aov_cents, b.last_order_at)
    with engine.connect() as conn:
        read = read_frame(conn, query.where(b.buyer_id == "nobody"))
    assert read.empty
    assert list(read.columns) == [
        "buyer_id",
        "is_business_buyer",
        "orders_total",
        "aov_cents",
        "last_order_at",
    ]
    assert read["is_business_buyer"].dtype == bool
    assert read["orders_total"].dtype == "int64"
    assert read["aov_cents"].dtype == "float64"
    assert isinstance(read["last_order_at"].dtype, pd.DatetimeTZDtype)


def test_a_staged_frame_joins_and_is_gone_afterwards(engine) -> None:
    buyers = t.dim_buyers
    with engine.begin() as conn:
        insert_frame(conn, buyers, _buyers())
        changes = pd.DataFrame({"buyer_id": [f"{i:032x}" for i in (1, 3)], "segment": ["repeat", "new"]})
        with staged_frame(conn, buyers, changes) as stage:
            updated = conn.execute(
                sa.update(buyers).where(buyers.c.buyer_id == stage.c.buyer_id).values(segment=stage.c.segment)
            ).rowcount
            stage_name = stage.name
        segments = dict(conn.execute(sa.select(buyers.c.buyer_id, buyers.c.segment)).tuples().all())
        assert not sa.inspect(conn).has_table(stage_name)
    assert updated == 2
    assert segments[f"{1:032x}"] == "repeat" and segments[f"{3:032x}"] == "new"
    assert segments[f"{0:032x}"] is None


def test_an_empty_frame_inserts_nothing(engine) -> None:
    with engine.begin() as conn:
        insert_frame(conn, t.dim_buyers, _buyers().iloc[:0])
        assert conn.execute(sa.select(sa.func.count()).select_from(t.dim_buyers)).scalar_one() == 0


def test_read_together_is_read_one_by_one(engine) -> None:
    with engine.begin() as conn:
        insert_frame(conn, t.dim_buyers, _buyers())
    b = t.dim_buyers.c
    queries = {
        "names": sa.select(b.buyer_id, b.buyer_name).order_by(b.buyer_id),
        "business": sa.select(b.buyer_id).where(b.is_business_buyer).order_by(b.buyer_id),
        "nobody": sa.select(b.buyer_id).where(b.buyer_id == "nobody"),
    }
    together = read_frames_together(engine, queries)
    with engine.connect() as conn:
        one_by_one = {name: read_frame(conn, query) for name, query in queries.items()}
    assert list(together) == list(queries)
    for name in queries:
        pd.testing.assert_frame_equal(together[name], one_by_one[name])
    assert len(together["business"]) == 4


@pytest.mark.postgres
def test_read_together_sees_one_moment(pg_url: str) -> None:
    """A buyer committed after the reads began, just before the first query runs, is in none of the frames:
    every query reads the one exported snapshot (each on its own connection, it would see the buyer)."""
    engine = create_warehouse_engine(pg_url)
    try:
        with engine.begin() as conn:
            insert_frame(conn, t.dim_buyers, _buyers())
        late = _buyers().iloc[:1].assign(buyer_id="f" * 32)
        sneaked: list[bool] = []

        def sneak_in(conn, cursor, statement, parameters, context, executemany) -> None:
            if "json_agg" in statement and not sneaked:
                sneaked.append(True)
                with engine.begin() as other:
                    insert_frame(other, t.dim_buyers, late)

        sa.event.listen(engine, "before_cursor_execute", sneak_in)
        b = t.dim_buyers.c
        queries = {"ids": sa.select(b.buyer_id), "names": sa.select(b.buyer_id, b.buyer_name)}
        frames = read_frames_together(engine, queries)
        sa.event.remove(engine, "before_cursor_execute", sneak_in)
        with engine.connect() as conn:
            now_stored = conn.execute(sa.select(sa.func.count()).select_from(t.dim_buyers)).scalar_one()
    finally:
        engine.dispose()
    assert sneaked and now_stored == len(_buyers()) + 1
    assert len(frames["ids"]) == len(frames["names"]) == len(_buyers())
