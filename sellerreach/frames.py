"""Whole tables as pandas frames, in and out of the warehouse, for jobs that read or write every buyer or order
at once (segment_buyers): never a Python object per row where the database can send or take a column at once.

- `read_frame(conn, query)`: one column of the frame per selected column. On PostgreSQL the server sends each
  column as one JSON array (`json_agg`) that orjson parses in C: a COPY would arrive as one message per row,
  read by one Python call each (1.8 us a row), and SQLAlchemy rows cost a Python object per row and a call per
  timestamp; at 200,000 buyers the segment job's reads took 5.4 s this way against 33 s through `fetchall`
  (bench/README.md). One array per column must stay under PostgreSQL's 1 GB limit on a value: about 40
  million ids. SQLite, the embedded warehouse, is read through SQLAlchemy. Text columns of few values can come
  back as categoricals.
- `read_frames_together(engine, queries)`: several queries as of one moment, side by side on PostgreSQL.
- `insert_frame(conn, table, frame)` and `staged_frame(conn, table, frame)`: binary COPY on PostgreSQL of
  tuples built column by column, one executemany on SQLite; the staged copy is a temporary table to UPDATE
  ... FROM or join against, dropped afterwards.

Columns come back as pandas infers them from the values (int64, float64 where an integer column has NULLs,
bool, object or str), timestamps as datetime64 in UTC, JSON columns as Python lists and dicts; missing values
go in as NULL.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np
import orjson
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from sellerreach.warehouse import copy_values

READERS = 2  # queries read at once: one core parses while the server prepares the next one on the other


def read_frame(conn: Connection, query: sa.Select, *, categorical: Collection[str] = ()) -> pd.DataFrame:
    """The rows of `query` as a frame with one column per selected column (named by their labels); the columns
    named in `categorical` as pandas categoricals (a code per row and each distinct value once: for text
    columns of few values, ten to a hundred times less memory than a Python string per row)."""
    columns = list(query.selected_columns)
    names = [column.key for column in columns]
    if conn.dialect.name == "postgresql":
        values = _json_columns(conn, query, names)
    else:
        rows = conn.execute(query).all()
        values = iter([list(column) for column in zip(*rows, strict=True)] if rows else [[] for _ in names])
    frame = {}
    # one column's Python values alive at a time
    for name, column, data in zip(names, columns, values, strict=True):
        frame[name] = pd.Series(pd.Categorical(data)) if name in categorical else _series(data, column.type)
    return pd.DataFrame(frame)


def read_frames_together(
    engine: Engine, queries: Mapping[str, sa.Select], *, categorical: Collection[str] = ()
) -> dict[str, pd.DataFrame]:
    """`read_frame` of each query, as of one moment: on PostgreSQL side by side on one connection each, all in
    one exported snapshot (as `pg_dump --jobs` does), so the server prepares one query's columns while this
    process parses another's; on SQLite one after the other in one transaction."""
    if engine.dialect.name != "postgresql" or len(queries) < 2:
        with engine.connect() as conn:
            return {name: read_frame(conn, query, categorical=categorical) for name, query in queries.items()}
    with engine.connect() as conn:
        conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
        snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
        if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot):  # SET takes no parameters: the id goes in as text
            raise RuntimeError(f"unexpected snapshot id from pg_export_snapshot(): {snapshot!r}")

        def read(query: sa.Select) -> pd.DataFrame:
            with engine.connect() as reader:
                reader.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
                reader.execute(sa.text(f"SET TRANSACTION SNAPSHOT '{snapshot}'"))
                return read_frame(reader, query, categorical=categorical)

        with ThreadPoolExecutor(max_workers=READERS, thread_name_prefix="read_frame") as pool:
            futures = {name: pool.submit(read, query) for name, query in queries.items()}
            return {name: future.result() for name, future in futures.items()}


def insert_frame(conn: Connection, table: sa.Table, frame: pd.DataFrame) -> None:
    """INSERT every row of `frame` (its columns are columns of `table`) into `table`."""
    if frame.empty:
        return
    if conn.dialect.name == "postgresql":
        copy_values(conn, table.name, table, list(frame.columns), zip(*_python_columns(frame), strict=True))
    else:
        conn.execute(sa.insert(table), _records(frame))


@contextmanager
def staged_frame(conn: Connection, table: sa.Table, frame: pd.DataFrame) -> Iterator[sa.Table]:
    """A temporary table with `frame`'s rows and columns, typed as the same columns of `table`, for one
    statement or more in this transaction; dropped on leaving."""
    stage = sa.Table(
        f"stage_{table.name}_{uuid.uuid4().hex[:8]}",
        sa.MetaData(),
        *(sa.Column(name, table.c[name].type) for name in frame.columns),
        prefixes=["TEMPORARY"],
    )
    stage.create(conn)
    try:
        insert_frame(conn, stage, frame)
        yield stage
    finally:
        stage.drop(conn)


# -- internals --------------------------------------------------------------------------------------------------


def _json_columns(conn: Connection, query: sa.Select, names: list[str]) -> Iterator[list[Any]]:
    inner = query.subquery()
    # as text: psycopg would parse JSON with the standard library, orjson is several times faster
    texts = list(
        conn.execute(sa.select(*(sa.cast(sa.func.json_agg(inner.c[name]), sa.Text) for name in names))).one()
    )
    for position, text in enumerate(texts):
        texts[position] = None  # each document is freed once parsed
        yield orjson.loads(text) if text is not None else []


def _series(values: list[Any], type_: sa.types.TypeEngine[Any]) -> pd.Series:
    if isinstance(type_, sa.types.TypeDecorator):
        type_ = type_.impl_instance
    if isinstance(type_, sa.DateTime):
        return pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="ISO8601")
    if values:
        return pd.Series(values)
    empty = {sa.Boolean: bool, sa.Integer: "int64", sa.Float: "float64"}
    return pd.Series([], dtype=next((d for t, d in empty.items() if isinstance(type_, t)), object))


def _python_columns(frame: pd.DataFrame) -> list[list[Any]]:
    """Each column as a list of plain Python values (int, float, bool, str, datetime), None where missing."""
    columns = []
    for _, column in frame.items():
        if isinstance(column.dtype, pd.DatetimeTZDtype) or column.dtype.kind == "M":
            values = np.array(column.dt.to_pydatetime(), dtype=object)
        else:
            values = column.to_numpy(dtype=object)
        missing = column.isna().to_numpy()
        if missing.any():
            values = values.copy()  # the column's own array may be read-only (copy on write)
            values[missing] = None
        columns.append(values.tolist())
    return columns


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    names = list(frame.columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*_python_columns(frame), strict=True)]
