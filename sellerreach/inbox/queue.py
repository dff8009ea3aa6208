"""The agents' queue: listing threads, one thread with its messages, and the actions agents take on a thread
(assign, tag, close, no response needed). Every action is audit-logged and the thread is recomputed at once,
so its SLA clock reflects the action."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from schemas import tables as t
from sellerreach.errors import SellerreachError
from sellerreach.inbox.config import InboxConfig
from sellerreach.inbox.threads import (
    ANSWERED,
    CLOSED,
    NO_RESPONSE_NEEDED,
    OPEN,
    add_tags,
    refresh_threads,
)
from sellerreach.warehouse import id_chunks, is_one_of, write_audit

ACTIVE = (OPEN, ANSWERED)


class ThreadNotFound(SellerreachError):
    """No thread with that id (or id prefix); the message says how to find one."""


@dataclass(frozen=True)
class QueueFilter:
    owner: str | None = None  # "none" lists unassigned threads
    tag: str | None = None
    overdue: bool = False  # only threads past their SLA due time
    account_id: str | None = None
    marketplace_id: str | None = None
    statuses: tuple[str, ...] = (OPEN,)  # empty: every status


def list_threads(
    conn: Connection, where: QueueFilter, now: datetime, *, limit: int = 200
) -> list[dict[str, Any]]:
    """Threads matching the filter, the most urgent first (earliest SLA due time; threads without a running
    clock after them, newest message first)."""
    c = t.dim_threads.c
    query = sa.select(t.dim_threads)
    if where.statuses:
        query = query.where(c.status.in_(where.statuses))
    if where.owner == "none":
        query = query.where(c.owner.is_(None))
    elif where.owner:
        query = query.where(c.owner == where.owner)
    if where.overdue:
        query = query.where(c.sla_due_at.is_not(None), c.sla_due_at < now)
    if where.account_id:
        query = query.where(c.account_id == where.account_id)
    if where.marketplace_id:
        query = query.where(c.marketplace_id == where.marketplace_id)
    query = query.order_by(c.sla_due_at.is_(None), c.sla_due_at, c.last_message_at.desc(), c.thread_id)
    rows = [dict(row) for row in conn.execute(query).mappings()]
    if where.tag:  # tags are a JSON list: filtered here, the same way on SQLite and PostgreSQL
        rows = [row for row in rows if where.tag in (row["tags"] or [])]
    return rows[:limit]


def resolve_thread_id(conn: Connection, given: str) -> str:
    """The full id of a thread given by its id or a unique prefix of at least 6 characters (as `inbox` shows)."""
    c = t.dim_threads.c
    given = given.strip().lower()
    if len(given) < 6:
        raise ThreadNotFound(
            f"thread id {given!r} is too short: give at least 6 characters, as `sellerreach inbox` shows"
        )
    matches = list(
        conn.execute(sa.select(c.thread_id).where(c.thread_id.startswith(given)).limit(2)).scalars()
    )
    if not matches:
        raise ThreadNotFound(f"no thread {given!r}; `sellerreach inbox --status all` lists every thread")
    if len(matches) > 1:
        raise ThreadNotFound(f"thread id {given!r} is ambiguous: give more characters")
    return matches[0]


def thread_messages(conn: Connection, thread_id: str) -> list[dict[str, Any]]:
    m = t.fct_buyer_messages.c
    query = (
        sa.select(t.fct_buyer_messages).where(m.thread_id == thread_id).order_by(m.received_at, m.direction)
    )
    return [dict(row) for row in conn.execute(query).mappings()]


def thread_row(conn: Connection, thread_id: str) -> dict[str, Any]:
    row = (
        conn.execute(sa.select(t.dim_threads).where(t.dim_threads.c.thread_id == thread_id))
        .mappings()
        .first()
    )
    if row is None:
        raise ThreadNotFound(f"no thread {thread_id!r}")
    return dict(row)


def assign_thread(
    conn: Connection, thread_id: str, agent_id: str | None, inbox: InboxConfig, now: datetime, *, actor: str
) -> bool:
    """Give the thread to an agent (None: unassign). Audit-logged; returns False when nothing changed."""
    if agent_id is not None and inbox.agent(agent_id) is None:
        known = ", ".join(a.agent_id for a in inbox.agents) or "(none configured)"
        raise SellerreachError(f"no agent {agent_id!r} in [[inbox.agents]]; known: {known}")
    before = thread_row(conn, thread_id)["owner"]
    if before == agent_id:
        return False
    conn.execute(
        sa.update(t.dim_threads)
        .where(t.dim_threads.c.thread_id == thread_id)
        .values(owner=agent_id, updated_at=now)
    )
    write_audit(
        conn,
        now=now,
        actor=actor,
        action="thread.reassign" if before else "thread.assign",
        object_type="thread",
        object_id=thread_id,
        before={"owner": before},
        after={"owner": agent_id},
    )
    return True


def tag_thread(
    conn: Connection, thread_id: str, tags: Sequence[str], now: datetime, *, actor: str
) -> list[str]:
    thread_row(conn, thread_id)
    return add_tags(conn, thread_id, tags, now, actor=actor)


def set_thread_status(
    conn: Connection, thread_id: str, status: str, inbox: InboxConfig, now: datetime, *, actor: str
) -> dict[str, Any]:
    """Close a thread or mark it as needing no response: both stop its SLA clock until the buyer writes again.
    Returns the recomputed thread."""
    if status not in (CLOSED, NO_RESPONSE_NEEDED):
        raise ValueError(f"agents set {CLOSED} or {NO_RESPONSE_NEEDED}, not {status!r}")
    before = thread_row(conn, thread_id)
    action = "thread.close" if status == CLOSED else "thread.no_response_needed"
    write_audit(
        conn,
        now=now,
        actor=actor,
        action=action,
        object_type="thread",
        object_id=thread_id,
        before={"status": before["status"]},
        after={"status": status},
    )
    refresh_threads(conn, [thread_id], inbox, now, actor=actor, sla_alerts=False)  # alerts: the flow's job
    return thread_row(conn, thread_id)


def inbox_summary(engine: Engine) -> list[dict[str, Any]]:
    """Per account: threads by state, messages each way, alerts raised."""
    c, m, a = t.dim_threads.c, t.fct_buyer_messages.c, t.fct_inbox_alerts.c
    with engine.connect() as conn:
        threads = conn.execute(
            sa.select(
                c.account_id,
                sa.func.count().label("threads"),
                sa.func.sum(sa.case((c.status == OPEN, 1), else_=0)).label("open"),
                sa.func.sum(sa.case((c.status == ANSWERED, 1), else_=0)).label("answered"),
                sa.func.sum(sa.case((c.is_breached, 1), else_=0)).label("breached"),
                sa.func.sum(sa.case((c.is_near_breach, 1), else_=0)).label("near_breach"),
                sa.func.sum(sa.case((c.owner.is_not(None), 1), else_=0)).label("assigned"),
            ).group_by(c.account_id)
        ).mappings()
        rows = {r["account_id"]: {**r} for r in threads}
        for account_id, direction, count in conn.execute(
            sa.select(m.account_id, m.direction, sa.func.count()).group_by(m.account_id, m.direction)
        ):
            rows.setdefault(account_id, {"account_id": account_id})[f"messages_{direction}"] = count
        for account_id, count in conn.execute(
            sa.select(a.account_id, sa.func.count()).group_by(a.account_id)
        ):
            rows.setdefault(account_id, {"account_id": account_id})["alerts"] = count
    return [rows[k] for k in sorted(rows)]


# what an export leaves out: the buyer's relay address is personal data that stays in the warehouse
_NOT_EXPORTED = frozenset({"relay_email"})
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_threads(
    conn: Connection, where: QueueFilter, now: datetime, path: Path, zone: ZoneInfo, *, limit: int = 100_000
) -> tuple[int, int]:
    """Write the filtered threads and their messages to `path`: `.xlsx` as two sheets (threads, messages),
    `.csv` as one row per message with its thread's columns in front. Times are in `zone`, without offset (what
    spreadsheets understand); buyers appear as `buyer_id` only. Returns (threads, messages) written."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise SellerreachError(f"{path}: export to .csv or .xlsx, not {suffix or 'a file without a suffix'}")
    threads = list_threads(conn, where, now, limit=limit)
    ids = [row["thread_id"] for row in threads]
    m = t.fct_buyer_messages.c
    messages: list[dict[str, Any]] = []
    for chunk in id_chunks(conn, ids):
        query = (
            sa.select(t.fct_buyer_messages)
            .where(is_one_of(conn, m.thread_id, chunk))
            .order_by(m.thread_id, m.received_at, m.direction)
        )
        messages.extend(dict(row) for row in conn.execute(query).mappings())
    thread_frame = _frame(threads, zone)
    message_frame = _frame(messages, zone)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".xlsx":
        with pd.ExcelWriter(path, engine="openpyxl") as workbook:
            thread_frame.to_excel(workbook, sheet_name="threads", index=False)
            message_frame.to_excel(workbook, sheet_name="messages", index=False)
    else:
        thread_columns = ["thread_id", "status", "owner", "tags", "sla_due_at", "is_breached"]
        flat = message_frame.merge(
            thread_frame[thread_columns] if len(thread_frame) else pd.DataFrame(columns=thread_columns),
            on="thread_id",
            how="left",
        )
        flat[thread_columns + [c for c in flat.columns if c not in thread_columns]].to_csv(path, index=False)
    return len(threads), len(messages)


def _frame(rows: list[dict[str, Any]], zone: ZoneInfo) -> pd.DataFrame:
    def cell(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
            return "'" + value  # buyers write the text: a spreadsheet must show it, never run it as a formula
        if isinstance(value, datetime):
            return value.astimezone(zone).replace(tzinfo=None)
        if isinstance(value, list):
            return ", ".join(
                str(v.get("filename") or v.get("content_type")) if isinstance(v, dict) else str(v)
                for v in value
            )
        return value

    return pd.DataFrame([{k: cell(v) for k, v in row.items() if k not in _NOT_EXPORTED} for row in rows])
