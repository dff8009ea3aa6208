"""rpt_inbox_daily: per account, marketplace and UTC day of the buyer's message, how the inbox did.

A "response period" is one run of a thread's SLA clock: it starts with a buyer message that finds the clock
stopped and ends with the seller's reply. Periods stopped by "no response needed" or closing are not responses
and are left out of the rates, as Amazon leaves them out of its response rate. A period counts as responded in
time when the reply came by its due time; one still running past its due time counts as a breach.
Low-quality replies (fct_replies.is_low_quality) count on the UTC day they were sent.
Figures are recomputed for the last `days` days on every run, so late replies and re-runs correct them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schemas import tables as t
from sellerreach.inbox.config import InboxConfig
from sellerreach.inbox.sla import MessageEvent, add_sla_time, replay_sla
from sellerreach.inbox.threads import CLOCK_STOPPING_ACTIONS

DEFAULT_DAYS = 35


@dataclass
class _Day:
    messages_in: int = 0
    messages_out: int = 0
    threads_opened: int = 0
    periods: int = 0  # response periods started this day that were answered or are due by now
    responded: int = 0
    responded_within_sla: int = 0
    breaches: int = 0
    unanswered: int = 0  # periods still running (due or not)
    low_quality_replies: int = 0
    response_hours: list[float] = field(default_factory=list)


def refresh_inbox_report(
    conn: Connection, inbox: InboxConfig, now: datetime, *, days: int = DEFAULT_DAYS
) -> int:
    """Recompute rpt_inbox_daily for the UTC days from `days` ago to today; returns the rows written."""
    first_day = (now - timedelta(days=days)).date()
    since = datetime.combine(first_day, datetime.min.time(), tzinfo=now.tzinfo)
    m, a = t.fct_buyer_messages.c, t.audit_log.c
    thread_ids = sa.select(m.thread_id).where(m.received_at >= since).distinct().scalar_subquery()
    messages = conn.execute(
        sa.select(m.thread_id, m.account_id, m.marketplace_id, m.direction, m.received_at)
        .where(m.thread_id.in_(thread_ids))
        .order_by(m.thread_id, m.received_at, m.direction)
    ).all()
    stops: dict[str, list[datetime]] = defaultdict(list)
    for thread_id, at in conn.execute(
        sa.select(a.object_id, a.occurred_at).where(
            a.object_type == "thread", a.action.in_(CLOCK_STOPPING_ACTIONS), a.object_id.in_(thread_ids)
        )
    ):
        stops[thread_id].append(at)

    by_thread: dict[str, list[Any]] = defaultdict(list)
    for row in messages:
        by_thread[row.thread_id].append(row)
    figures: dict[tuple[str, str, date], _Day] = defaultdict(_Day)
    for thread_id, rows in by_thread.items():
        account_id, marketplace_id = rows[0].account_id, rows[0].marketplace_id or ""
        for row in rows:
            day = figures[(account_id, marketplace_id, row.received_at.date())]
            if row.direction == "in":
                day.messages_in += 1
            else:
                day.messages_out += 1
        first_in = next((r for r in rows if r.direction == "in"), None)
        if first_in is not None:
            figures[(account_id, marketplace_id, first_in.received_at.date())].threads_opened += 1
        _add_periods(figures, account_id, marketplace_id, rows, stops.get(thread_id, []), inbox, now)
    r = t.fct_replies.c
    for account_id, marketplace_id, sent_at in conn.execute(
        sa.select(r.account_id, r.marketplace_id, r.sent_at).where(
            r.state == "sent", r.is_low_quality.is_(True), r.sent_at >= since
        )
    ):
        figures[(account_id, marketplace_id or "", sent_at.date())].low_quality_replies += 1

    report_rows = [
        _report_row(account_id, marketplace_id, day, figure, now)
        for (account_id, marketplace_id, day), figure in sorted(figures.items())
        if day >= first_day
    ]
    conn.execute(sa.delete(t.rpt_inbox_daily).where(t.rpt_inbox_daily.c.day >= first_day))
    if report_rows:
        conn.execute(sa.insert(t.rpt_inbox_daily), report_rows)
    return len(report_rows)


def _add_periods(
    figures: dict[tuple[str, str, date], _Day],
    account_id: str,
    marketplace_id: str,
    rows: list[Any],
    stops: list[datetime],
    inbox: InboxConfig,
    now: datetime,
) -> None:
    policy = inbox.sla_policy(marketplace_id or None)
    state = replay_sla([MessageEvent(r.received_at, r.direction) for r in rows], policy, now, stops)
    for started, answered, _taken in state.responses:
        day = figures[(account_id, marketplace_id, started.date())]
        day.periods += 1
        day.responded += 1
        day.response_hours.append((answered - started).total_seconds() / 3600)
        if answered <= add_sla_time(started, policy.hours, policy):
            day.responded_within_sla += 1
        else:
            day.breaches += 1
    if state.clock_started_at is not None and state.due_at is not None:
        day = figures[(account_id, marketplace_id, state.clock_started_at.date())]
        day.unanswered += 1
        if now > state.due_at:  # due and unanswered: a miss in the rate and a breach
            day.periods += 1
            day.breaches += 1


def _report_row(
    account_id: str, marketplace_id: str, day: date, figure: _Day, now: datetime
) -> dict[str, Any]:
    hours = np.array(figure.response_hours)
    return {
        "account_id": account_id,
        "marketplace_id": marketplace_id,
        "day": day,
        "messages_in": figure.messages_in,
        "messages_out": figure.messages_out,
        "threads_opened": figure.threads_opened,
        "response_periods": figure.periods,
        "responded": figure.responded,
        "responded_within_sla": figure.responded_within_sla,
        "response_rate_within_sla": (
            round(figure.responded_within_sla / figure.periods, 4) if figure.periods else None
        ),
        "first_response_avg_hours": round(float(hours.mean()), 2) if hours.size else None,
        "first_response_p50_hours": round(float(np.percentile(hours, 50)), 2) if hours.size else None,
        "first_response_p90_hours": round(float(np.percentile(hours, 90)), 2) if hours.size else None,
        "breaches": figure.breaches,
        "unanswered": figure.unanswered,
        "low_quality_replies": figure.low_quality_replies,
        "computed_at": now,
    }
