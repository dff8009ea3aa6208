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
from sellerreach.frames import insert_frame, read_frames_together, staged_frame
from sellerreach.segments.config import Segment
from sellerreach.segments.features import compute_features

NO_SEGMENT = ""
# text columns of few distinct values, read as categoricals: a fraction of the memory at a million buyers
CATEGORICAL = ("currency", "asin", "category", "preferred_language", "status", "segment")
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


def read_frames(engine: Engine) -> dict[str, pd.DataFrame]:
    """The warehouse rows features are computed from, as frames (the argument names of compute_features), read
    as of one moment, with the open memberships under "open_memberships"."""
    o, i, b, d, m = (
        t.fct_orders.c,
        t.fct_order_items.c,
        t.dim_buyers.c,
        t.dim_threads.c,
        t.fct_buyer_segments.c,
    )
    queries = {
        "orders": sa.select(
            o.amazon_order_id,
            o.buyer_id,
            o.purchased_at,
            o.order_total_cents,
            o.currency,
            o.is_cancelled,
            o.replaces_order_id,
        ).where(o.buyer_id.is_not(None)),
        "items": sa.select(i.amazon_order_id, i.asin, i.category, i.quantity),
        "buyers": sa.select(b.buyer_id, b.is_business_buyer, b.preferred_language),
        "threads": sa.select(d.buyer_id, d.status, d.tags).where(d.buyer_id.is_not(None)),
        "open_memberships": sa.select(m.buyer_id, m.segment, m.valid_from).where(m.valid_to.is_(None)),
    }
    return {
        **read_frames_together(engine, queries, categorical=CATEGORICAL),
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
    frames = read_frames(engine)
    open_rows = frames.pop("open_memberships")
    features = compute_features(**frames, now=now)
    del frames  # the largest objects of the run: gone before the writes
    members, primary = evaluate_segments(features, segments)
    moves = members.merge(open_rows, on=["buyer_id", "segment"], how="outer", indicator=True)
    entered = moves[moves["_merge"] == "left_only"]
    left = moves[moves["_merge"] == "right_only"]
    current = features.assign(segment=primary)[WRITTEN].reset_index()
    with engine.connect() as conn, conn.begin() as transaction:
        buyers_updated = _update_buyers(conn, current, now, count_only=dry_run)
        if dry_run:
            transaction.rollback()
        else:
            is_primary = entered["segment"].to_numpy() == primary.reindex(entered["buyer_id"]).to_numpy()
            insert_frame(
                conn,
                t.fct_buyer_segments,
                entered[["buyer_id", "segment"]].assign(valid_from=now, valid_to=None, is_primary=is_primary),
            )
            _close_memberships(conn, left[["buyer_id", "segment", "valid_from"]], now)
    return SegmentRun(
        buyers=len(features),
        members=members["segment"].value_counts().to_dict(),
        primary=primary.value_counts().to_dict(),
        entered=entered["segment"].value_counts().to_dict(),
        left=left["segment"].value_counts().to_dict(),
        buyers_updated=buyers_updated,
    )


# -- internals --------------------------------------------------------------------------------------------------


def _update_buyers(conn: Connection, current: pd.DataFrame, now: datetime, *, count_only: bool) -> int:
    """Write the features and primary segment of the buyers whose stored ones differ (the database compares: a
    NULL on both sides is no difference); returns how many differ. With `count_only`, count them only."""
    buyers = t.dim_buyers
    with staged_frame(conn, buyers, current) as stage:
        match = buyers.c.buyer_id == stage.c.buyer_id
        differs = sa.or_(*(buyers.c[column].is_distinct_from(stage.c[column]) for column in WRITTEN))
        if count_only:
            counted = sa.select(sa.func.count()).select_from(buyers.join(stage, match)).where(differs)
            return conn.execute(counted).scalar_one()
        update = (
            sa.update(buyers)
            .where(match, differs)
            .values({**{column: stage.c[column] for column in WRITTEN}, "features_computed_at": now})
        )
        return conn.execute(update).rowcount


def _close_memberships(conn: Connection, left: pd.DataFrame, now: datetime) -> None:
    """Set valid_to on the open membership rows of `left` (buyer_id, segment, valid_from)."""
    if left.empty:
        return
    history = t.fct_buyer_segments
    with staged_frame(conn, history, left) as stage:
        keys = [history.c[column] == stage.c[column] for column in left.columns]
        conn.execute(sa.update(history).where(*keys).values(valid_to=now))
