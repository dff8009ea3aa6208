"""segment_buyers: read the warehouse into frames, compute every buyer's features (features.py), evaluate the
configured segments over them, and record the result: the features and the primary segment on dim_buyers, and
membership history in fct_buyer_segments (a row opens when a buyer enters a segment and closes when they leave).

Only what changed is written, so a second run with the same data changes nothing. Whole frames, never a loop
per buyer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from schemas import tables as t
from sellerreach.segments.config import Segment
from sellerreach.segments.features import FEATURE_KINDS, compute_features
from sellerreach.warehouse import insert_rows, update_rows

NO_SEGMENT = ""
# what dim_buyers gets: the computed features (is_business_buyer and preferred_language are its own columns,
# read from it) and the primary segment
WRITTEN = [column.name for column in t.FEATURE_COLUMNS] + ["segment"]


@dataclass(frozen=True)
class SegmentRun:
    """What a run found: members per segment now, buyers per primary segment, and the moves since the last run."""

    buyers: int
    members: dict[str, int] = field(default_factory=dict)
    primary: dict[str, int] = field(default_factory=dict)
    entered: dict[str, int] = field(default_factory=dict)
    left: dict[str, int] = field(default_factory=dict)
    buyers_updated: int = 0

    def as_rows(self, segments: Sequence[Segment]) -> list[dict[str, Any]]:
        names = [s.name for s in segments]
        return [
            {
                "segment": name or "(none)",
                "members": self.members.get(name, 0) if name else self.primary.get(NO_SEGMENT, 0),
                "primary": self.primary.get(name, 0),
                "entered": self.entered.get(name, 0),
                "left": self.left.get(name, 0),
            }
            for name in [*names, NO_SEGMENT]
        ]


def read_frames(conn: Connection) -> dict[str, pd.DataFrame]:
    """The warehouse rows features are computed from, as frames (the argument names of compute_features)."""
    o, i, b, d = t.fct_orders.c, t.fct_order_items.c, t.dim_buyers.c, t.dim_threads.c
    orders = _frame(
        conn,
        sa.select(
            o.amazon_order_id,
            o.buyer_id,
            o.purchased_at,
            o.order_total_cents,
            o.currency,
            o.is_cancelled,
            o.replaces_order_id,
        ).where(o.buyer_id.is_not(None)),
    )
    orders["purchased_at"] = pd.to_datetime(orders["purchased_at"], utc=True)
    orders["is_cancelled"] = orders["is_cancelled"].astype(bool)
    orders["order_total_cents"] = orders["order_total_cents"].astype("Float64")
    threads = _frame(conn, sa.select(d.buyer_id, d.status, d.tags).where(d.buyer_id.is_not(None)))
    return {
        "buyers": _frame(conn, sa.select(b.buyer_id, b.is_business_buyer, b.preferred_language)),
        "orders": orders,
        "items": _frame(conn, sa.select(i.amazon_order_id, i.asin, i.category, i.quantity)),
        "threads": threads,
        # Solicitations and invitations are recorded by the dispatch issue (fct_invitations); until then nobody
        # has been contacted, and was_solicited / was_invited are false.
        "contacted": pd.DataFrame({"buyer_id": pd.Series(dtype=object), "channel": pd.Series(dtype=object)}),
    }


def evaluate_segments(features: pd.DataFrame, segments: Sequence[Segment]) -> tuple[pd.DataFrame, pd.Series]:
    """(every (buyer_id, segment) a rule selects, each buyer's primary segment: the first listed that selects
    them, "" for none). Vectorised: one boolean column per segment."""
    selected = pd.DataFrame(
        {s.name: s.rule.evaluate(features).to_numpy(bool) for s in segments}, index=features.index
    )
    if not segments:
        empty = pd.DataFrame({"buyer_id": pd.Series(dtype=object), "segment": pd.Series(dtype=object)})
        return empty, pd.Series(NO_SEGMENT, index=features.index, name="segment")
    matrix = selected.to_numpy()
    names = np.array([s.name for s in segments], dtype=object)
    first = matrix.argmax(axis=1)
    primary = pd.Series(
        np.where(matrix.any(axis=1), names[first], NO_SEGMENT), index=features.index, name="segment"
    )
    buyers, columns = np.nonzero(matrix)
    members = pd.DataFrame({"buyer_id": features.index.to_numpy()[buyers], "segment": names[columns]})
    return members, primary


def segment_buyers(
    engine: Engine, segments: Sequence[Segment], now: datetime, *, dry_run: bool = False
) -> SegmentRun:
    """Compute features and segments for every buyer and record what changed (nothing with `dry_run`)."""
    with engine.connect() as conn:
        frames = read_frames(conn)
        stored = _frame(
            conn,
            sa.select(t.dim_buyers.c.buyer_id, *(t.dim_buyers.c[c] for c in WRITTEN)),
        )
        open_rows = _frame(
            conn,
            sa.select(
                t.fct_buyer_segments.c.buyer_id,
                t.fct_buyer_segments.c.segment,
                t.fct_buyer_segments.c.valid_from,
            ).where(t.fct_buyer_segments.c.valid_to.is_(None)),
        )
    features = compute_features(**frames, now=now)
    members, primary = evaluate_segments(features, segments)
    moves = members.merge(open_rows, on=["buyer_id", "segment"], how="outer", indicator=True)
    entered = moves[moves["_merge"] == "left_only"]
    left = moves[moves["_merge"] == "right_only"]
    current = features.assign(segment=primary)[WRITTEN]
    changed = _changed_buyers(current, stored.set_index("buyer_id"))
    run = SegmentRun(
        buyers=len(features),
        members=members["segment"].value_counts().to_dict(),
        primary=primary.value_counts().to_dict(),
        entered=entered["segment"].value_counts().to_dict(),
        left=left["segment"].value_counts().to_dict(),
        buyers_updated=len(changed),
    )
    if dry_run:
        return run
    with engine.begin() as conn:
        update_rows(
            conn,
            t.dim_buyers,
            ["buyer_id"],
            _records(current.loc[changed].assign(features_computed_at=now).reset_index()),
        )
        insert_rows(
            conn,
            t.fct_buyer_segments,
            _records(
                entered[["buyer_id", "segment"]].assign(
                    valid_from=now,
                    valid_to=None,
                    is_primary=(
                        entered["segment"].to_numpy() == primary.reindex(entered["buyer_id"]).to_numpy()
                    ),
                )
            ),
        )
        update_rows(
            conn,
            t.fct_buyer_segments,
            ["buyer_id", "segment", "valid_from"],
            _records(left[["buyer_id", "segment", "valid_from"]].assign(valid_to=now)),
        )
    return run


# -- internals --------------------------------------------------------------------------------------------------


def _frame(conn: Connection, query: sa.Select) -> pd.DataFrame:
    result = conn.execute(query)
    return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def _changed_buyers(current: pd.DataFrame, stored: pd.DataFrame) -> pd.Index:
    """The buyers whose features or primary segment differ from what dim_buyers holds (a missing value on both
    sides is no difference)."""
    stored = stored.reindex(index=current.index, columns=current.columns)
    differs = np.zeros(len(current), dtype=bool)
    for column in current.columns:
        new, old = current[column], stored[column]
        both_missing = new.isna().to_numpy() & old.isna().to_numpy()
        if FEATURE_KINDS.get(column) == "float":
            same = np.isclose(
                pd.to_numeric(new, errors="coerce"), pd.to_numeric(old, errors="coerce"), equal_nan=True
            )
        else:
            same = (new.astype(object).to_numpy() == old.astype(object).to_numpy()) | both_missing
        differs |= ~same
    return current.index[differs]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Plain Python values (None for missing) for the database drivers."""
    if frame.empty:
        return []
    plain = frame.astype(object).where(frame.notna(), None)
    return [
        {key: value.item() if isinstance(value, np.generic) else value for key, value in row.items()}
        for row in plain.to_dict("records")
    ]
