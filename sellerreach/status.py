"""What the warehouse knows right now: accounts and their authorisation, cursors and last runs, row counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from schemas import tables as t

COUNTED_TABLES = (
    t.raw_spapi_orders,
    t.fct_orders,
    t.fct_order_items,
    t.dim_buyers,
    t.fct_buyer_messages,
    t.dim_threads,
    t.fct_inbox_alerts,
    t.fct_replies,
    t.dim_templates,
    t.fct_lint_findings,
    t.fct_buyer_segments,
    t.rpt_inbox_daily,
    t.quarantine_records,
    t.audit_log,
)


@dataclass(frozen=True)
class WarehouseStatus:
    accounts: list[dict[str, Any]]
    sync_state: list[dict[str, Any]]
    row_counts: dict[str, int]
    orders_by_marketplace: list[dict[str, Any]]


def read_status(engine: Engine) -> WarehouseStatus:
    with engine.connect() as conn:
        accounts = [
            dict(r) for r in conn.execute(sa.select(t.accounts).order_by(t.accounts.c.account_id)).mappings()
        ]
        s = t.sync_state.c
        state = [
            dict(r)
            for r in conn.execute(
                sa.select(t.sync_state).order_by(s.account_id, s.marketplace_id, s.stream)
            ).mappings()
        ]
        counts = {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in COUNTED_TABLES
        }
        o = t.fct_orders.c
        by_marketplace = [
            dict(r)
            for r in conn.execute(
                sa.select(
                    o.account_id,
                    o.marketplace_id,
                    sa.func.count().label("orders"),
                    sa.func.count(o.buyer_id.distinct()).label("buyers"),
                    sa.func.sum(sa.case((o.is_cancelled, 1), else_=0)).label("cancelled"),
                    sa.func.sum(sa.case((o.delivered_at.is_not(None), 1), else_=0)).label("delivered"),
                    sa.func.max(o.last_updated_at).label("newest_update_at"),
                )
                .group_by(o.account_id, o.marketplace_id)
                .order_by(o.account_id, o.marketplace_id)
            ).mappings()
        ]
    return WarehouseStatus(accounts, state, counts, by_marketplace)
