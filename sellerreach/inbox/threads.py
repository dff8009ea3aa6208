"""Threads: one conversation per (account, buyer, order), or per (account, buyer, normalised subject) for mail
without an order id. A thread's state (status, SLA clock, breaches, owner) is always recomputed from its messages
and the agents' recorded actions, never patched, so a re-run or a late message can only make it more right.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from schemas import tables as t
from sellerreach.inbox.config import InboxConfig
from sellerreach.inbox.relay import normalise_subject
from sellerreach.inbox.sla import MessageEvent, SlaState, replay_sla
from sellerreach.warehouse import audit_row, id_chunks, is_one_of, write_audit

OPEN, ANSWERED, CLOSED, NO_RESPONSE_NEEDED = "open", "answered", "closed", "no_response_needed"
STATUSES = (OPEN, ANSWERED, CLOSED, NO_RESPONSE_NEEDED)
# agents' actions that stop the SLA clock until the buyer writes again (kept in audit_log)
CLOCK_STOPPING_ACTIONS = ("thread.no_response_needed", "thread.close")
ASSIGN_ACTION = "thread.assign"
ASSIGNMENT_ACTIONS = (ASSIGN_ACTION, "thread.reassign")
# Alerts are for what needs attention now: a keyword in a message, or a due time, older than this is history
# (the first sync of a mailbox with years of mail in it must not page anyone).
ALERT_MAX_AGE = timedelta(hours=72)
# Clocks running longer than this (a buyer nobody ever answered) are left as they are, breached, by the
# every-run refresh of running clocks.
RUNNING_CLOCK_HORIZON = timedelta(days=35)


def thread_id_for(account_id: str, buyer_id: str | None, amazon_order_id: str | None, subject: str) -> str:
    """The stable id of the conversation a message belongs to."""
    topic = f"order:{amazon_order_id}" if amazon_order_id else f"subject:{normalise_subject(subject)}"
    return hashlib.sha256(f"{account_id}\0{buyer_id or ''}\0{topic}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ThreadRefresh:
    threads: int = 0
    assigned: int = 0
    breached: int = 0
    near_breach: int = 0


def refresh_threads(
    conn: Connection,
    thread_ids: Iterable[str],
    inbox: InboxConfig,
    now: datetime,
    *,
    actor: str,
    new_tags: Mapping[str, Iterable[str]] | None = None,
    sla_alerts: bool = True,
) -> ThreadRefresh:
    """Recompute the given threads from their messages and recorded actions; write dim_threads, add `new_tags`
    (keyword alerts), assign an owner to an unowned thread when a rule matches (audit-logged), and with
    `sla_alerts` record SLA alerts (near breach, breach) of running clocks in fct_inbox_alerts (once per clock
    period). A sync leaves SLA alerts to the end of its run: until every folder is read, a buyer's message may
    look unanswered only because the seller's reply in the Sent folder is not read yet."""
    new_tags = new_tags or {}
    ids = sorted(set(thread_ids))
    if not ids:
        return ThreadRefresh()
    messages = _messages_by_thread(conn, ids)
    marks = _clock_stops_by_thread(conn, ids)
    stored = {
        row["thread_id"]: row
        for row in conn.execute(sa.select(t.dim_threads).where(t.dim_threads.c.thread_id.in_(ids))).mappings()
    }
    turns = _assignment_turns(conn)
    ever_assigned = _ever_assigned(conn, ids)
    inserts: list[dict[str, Any]] = []
    audits: list[dict[str, Any]] = []
    alerts: list[dict[str, Any]] = []
    assigned = breached = near = 0
    for thread_id in ids:
        rows = messages.get(thread_id)
        if not rows:
            continue
        before = stored.get(thread_id)
        stops = marks.get(thread_id, [])
        values, state = _thread_values(rows, stops, before, inbox, now)
        if before is None:
            tags = sorted(set(new_tags.get(thread_id, ())))
            values.update(thread_id=thread_id, owner=None, tags=tags)
            if tags:
                audits.append(
                    audit_row(
                        now=now,
                        actor=actor,
                        action="thread.tag",
                        object_type="thread",
                        object_id=thread_id,
                        before={"tags": []},
                        after={"tags": tags},
                    )
                )
        else:
            changed = any(before[k] != v for k, v in values.items() if k != "updated_at")
            if changed:
                conn.execute(
                    sa.update(t.dim_threads).where(t.dim_threads.c.thread_id == thread_id).values(**values)
                )
            tags = list(before["tags"] or [])
            if new_tags.get(thread_id):
                tags = add_tags(conn, thread_id, new_tags[thread_id], now, actor=actor)
        # rules assign a thread once: an agent's later unassign or reassign is never undone by a rule
        unowned = before is None or (before["owner"] is None and thread_id not in ever_assigned)
        if unowned and (choice := _choose_owner(inbox, values, tags, turns)):
            rule_actor, owner = choice
            assigned += 1
            audits.append(
                audit_row(
                    now=now,
                    actor=rule_actor,
                    action=ASSIGN_ACTION,
                    object_type="thread",
                    object_id=thread_id,
                    before={"owner": None},
                    after={"owner": owner},
                    detail=f"by {actor}",
                )
            )
            if before is None:
                values["owner"] = owner
            else:
                conn.execute(
                    sa.update(t.dim_threads).where(t.dim_threads.c.thread_id == thread_id).values(owner=owner)
                )
        if before is None:
            inserts.append(values)
        if sla_alerts:
            alerts.extend(_sla_alerts(thread_id, values, state, now))
        breached += int(state.due_at is not None and now > state.due_at)
        near += int(state.is_near_breach)
    if inserts:
        conn.execute(sa.insert(t.dim_threads), inserts)
    if audits:
        conn.execute(sa.insert(t.audit_log), audits)
    record_alerts(conn, alerts)
    return ThreadRefresh(len(ids), assigned, breached, near)


def _thread_values(
    rows: Sequence[Mapping[str, Any]],
    stops: Sequence[tuple[datetime, str]],
    before: Mapping[str, Any] | None,
    inbox: InboxConfig,
    now: datetime,
) -> tuple[dict[str, Any], SlaState]:
    """The dim_threads columns that follow from a thread's messages and clock-stopping actions."""
    first, last_in = rows[0], next((m for m in reversed(rows) if m["direction"] == "in"), None)
    events = [MessageEvent(m["received_at"], m["direction"]) for m in rows]
    state = replay_sla(events, inbox.sla_policy(first["marketplace_id"]), now, [at for at, _ in stops])
    status, status_changed_at = _status(rows, stops, before)
    values = {
        "account_id": first["account_id"],
        "marketplace_id": first["marketplace_id"],
        "amazon_order_id": first["amazon_order_id"],
        "buyer_id": next((m["buyer_id"] for m in rows if m["buyer_id"]), None),
        "subject": first["subject"],
        "language": (last_in or first)["language"],
        "status": status,
        "status_changed_at": status_changed_at,
        "message_count": len(rows),
        "opened_at": first["received_at"],
        "last_message_at": rows[-1]["received_at"],
        "last_inbound_at": last_in["received_at"] if last_in else None,
        "last_outbound_at": next((m["received_at"] for m in reversed(rows) if m["direction"] == "out"), None),
        "first_response_at": state.first_response_at,
        "sla_started_at": state.clock_started_at,
        "sla_due_at": state.due_at,
        "is_breached": state.is_breached,
        "is_near_breach": state.is_near_breach,
        "breaches": state.breaches,
        "updated_at": now,
    }
    return values, state


def add_tags(
    conn: Connection, thread_id: str, tags: Iterable[str], now: datetime, *, actor: str
) -> list[str]:
    """Add tags to a thread (audit-logged when anything changes); returns the thread's tags."""
    current = conn.execute(
        sa.select(t.dim_threads.c.tags).where(t.dim_threads.c.thread_id == thread_id)
    ).scalar_one_or_none()
    if current is None:
        raise KeyError(thread_id)
    merged = sorted(set(current) | set(tags))
    if merged != sorted(current):
        conn.execute(
            sa.update(t.dim_threads)
            .where(t.dim_threads.c.thread_id == thread_id)
            .values(tags=merged, updated_at=now)
        )
        write_audit(
            conn,
            now=now,
            actor=actor,
            action="thread.tag",
            object_type="thread",
            object_id=thread_id,
            before={"tags": sorted(current)},
            after={"tags": merged},
        )
    return merged


def running_thread_ids(conn: Connection, now: datetime, *, except_accounts: Sequence[str] = ()) -> list[str]:
    """Threads whose SLA clock runs (due within RUNNING_CLOCK_HORIZON): they can reach near-breach or breach
    without any new message. `except_accounts`: accounts whose mail was not fully read this run."""
    c = t.dim_threads.c
    query = sa.select(c.thread_id).where(c.sla_due_at >= now - RUNNING_CLOCK_HORIZON)
    if except_accounts:
        query = query.where(c.account_id.not_in(list(except_accounts)))
    return list(conn.execute(query).scalars())


# -- internals --------------------------------------------------------------------------------------------------------


def _messages_by_thread(conn: Connection, ids: Sequence[str]) -> dict[str, list[Mapping[str, Any]]]:
    m = t.fct_buyer_messages.c
    query = (
        sa.select(
            m.thread_id,
            m.account_id,
            m.marketplace_id,
            m.amazon_order_id,
            m.buyer_id,
            m.direction,
            m.received_at,
            m.subject,
            m.language,
        )
        .where(m.thread_id.in_(ids))
        # ties: the buyer's message before the seller's answer, as replay_sla orders them
        .order_by(m.thread_id, m.received_at, m.direction)
    )
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for row in conn.execute(query).mappings():
        grouped.setdefault(row["thread_id"], []).append(row)
    return grouped


def _clock_stops_by_thread(conn: Connection, ids: Sequence[str]) -> dict[str, list[tuple[datetime, str]]]:
    a = t.audit_log.c
    query = (
        sa.select(a.object_id, a.occurred_at, a.action)
        .where(a.object_type == "thread", a.object_id.in_(ids), a.action.in_(CLOCK_STOPPING_ACTIONS))
        .order_by(a.occurred_at)
    )
    grouped: dict[str, list[tuple[datetime, str]]] = {}
    for thread_id, at, action in conn.execute(query):
        grouped.setdefault(thread_id, []).append((at, action))
    return grouped


def _status(
    rows: Sequence[Mapping[str, Any]], stops: Sequence[tuple[datetime, str]], before: Mapping[str, Any] | None
) -> tuple[str, datetime]:
    """The latest of: a buyer message (open), a seller message (answered), an agent's close or no-response mark."""
    events = [(m["received_at"], OPEN if m["direction"] == "in" else ANSWERED) for m in rows]
    events += [(at, CLOSED if action == "thread.close" else NO_RESPONSE_NEEDED) for at, action in stops]
    at, status = max(events, key=lambda e: e[0])
    if before is not None and before["status"] == status:
        return status, before["status_changed_at"]
    return status, at


def _ever_assigned(conn: Connection, ids: Sequence[str]) -> set[str]:
    a = t.audit_log.c
    query = sa.select(a.object_id).where(
        a.object_type == "thread", a.action.in_(ASSIGNMENT_ACTIONS), a.object_id.in_(ids)
    )
    return set(conn.execute(query).scalars())


def _assignment_turns(conn: Connection) -> dict[str, int]:
    """How many threads each assignment rule has handed out so far (its round-robin position), from the audit log."""
    a = t.audit_log.c
    query = (
        sa.select(a.actor, sa.func.count())
        .where(a.action == ASSIGN_ACTION, a.actor.startswith(_RULE_ACTOR))
        .group_by(a.actor)
    )
    return dict(conn.execute(query).tuples().all())


_RULE_ACTOR = "rule:assignment"


def _choose_owner(
    inbox: InboxConfig, thread: Mapping[str, Any], tags: Sequence[str], turns: dict[str, int]
) -> tuple[str, str] | None:
    """(rule actor, agent) by the first matching rule, round-robin over its agents; `turns` is advanced."""
    for index, rule in enumerate(inbox.assignment_rules):
        if _rule_matches(rule, thread, tags):
            rule_actor = f"{_RULE_ACTOR}[{index}]"
            turn = turns.get(rule_actor, 0)
            turns[rule_actor] = turn + 1
            return rule_actor, rule.agent_ids[turn % len(rule.agent_ids)]
    return None


def _rule_matches(rule: Any, thread: Mapping[str, Any], tags: Sequence[str]) -> bool:
    return (
        (not rule.account_ids or thread["account_id"] in rule.account_ids)
        and (not rule.marketplace_ids or thread["marketplace_id"] in rule.marketplace_ids)
        and (not rule.languages or thread["language"] in rule.languages)
        and (not rule.tags or bool(set(rule.tags) & set(tags)))
    )


def _sla_alerts(
    thread_id: str, thread: Mapping[str, Any], state: SlaState, now: datetime
) -> list[dict[str, Any]]:
    """Near-breach and breach alerts of the running clock period (keyed by its due time: raised once each)."""
    if state.due_at is None or state.due_at < now - ALERT_MAX_AGE:
        return []
    kinds = ["near_breach"] if state.is_near_breach else []
    if now > state.due_at:
        kinds.append("breach")
    return [
        alert_row(
            kind=kind,
            key=(thread_id, state.due_at.isoformat()),
            thread_id=thread_id,
            thread=thread,
            now=now,
            sla_due_at=state.due_at,
        )
        for kind in kinds
    ]


def alert_row(
    *,
    kind: str,
    key: Sequence[str],
    thread_id: str,
    thread: Mapping[str, Any],
    now: datetime,
    rule_id: str | None = None,
    message_id: str | None = None,
    sla_due_at: datetime | None = None,
) -> dict[str, Any]:
    """A fct_inbox_alerts row; its id is a hash of `kind` and `key` (what raised it), so raising it again is
    recognised."""
    return {
        "alert_id": hashlib.sha256("\0".join((kind, *key)).encode()).hexdigest()[:32],
        "thread_id": thread_id,
        "account_id": thread["account_id"],
        "marketplace_id": thread["marketplace_id"],
        "kind": kind,
        "rule_id": rule_id,
        "message_id": message_id,
        "sla_due_at": sla_due_at,
        "raised_at": now,
        "emitted_at": None,
    }


def record_alerts(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
    """Insert the alerts not raised before (by id), in one statement. Returns how many were new."""
    a = t.fct_inbox_alerts.c
    ids = list({row["alert_id"] for row in rows})
    known: set[str] = set()
    for chunk in id_chunks(conn, ids):
        known.update(conn.execute(sa.select(a.alert_id).where(is_one_of(conn, a.alert_id, chunk))).scalars())
    new = list({row["alert_id"]: row for row in rows if row["alert_id"] not in known}.values())
    if new:
        conn.execute(sa.insert(t.fct_inbox_alerts), new)
    return len(new)


def pending_alerts(conn: Connection) -> list[dict[str, Any]]:
    """Alerts recorded but not yet sent out as events, oldest first."""
    a = t.fct_inbox_alerts.c
    query = sa.select(t.fct_inbox_alerts).where(a.emitted_at.is_(None)).order_by(a.raised_at, a.alert_id)
    return [dict(row) for row in conn.execute(query).mappings()]


def mark_alerts_emitted(conn: Connection, alert_ids: Sequence[str], now: datetime) -> None:
    a = t.fct_inbox_alerts.c
    for chunk in id_chunks(conn, alert_ids):
        conn.execute(
            sa.update(t.fct_inbox_alerts).where(is_one_of(conn, a.alert_id, chunk)).values(emitted_at=now)
        )
