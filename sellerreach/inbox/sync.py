"""Incremental sync of one mailbox folder into the warehouse.

The cursor of a folder is (UIDVALIDITY, highest UID read), a row in sync_state written in the same transaction
as the messages of each batch. Same UIDVALIDITY: only UIDs above the cursor are fetched. New UIDVALIDITY (or a
first run): every UID is a candidate, but only the Message-ID headers are fetched first and a full message
only when the warehouse does not have that Message-ID yet, so a mailbox reset doubles nothing and loses
nothing (an account with no stored messages yet skips the Message-ID pass). Messages are keyed by (account,
Message-ID): the same mail in two folders, or moved between them, is stored once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from schemas import tables as t
from sellerreach.buyers import buyer_id_for
from sellerreach.inbox.alerts import matching_rules
from sellerreach.inbox.config import InboxConfig, MailboxConfig
from sellerreach.inbox.mailbox import FetchedMail, ImapLogin, ImapSource, MaildirSource, MailSource
from sellerreach.inbox.relay import MalformedMail, ParsedMail, is_relay_address, parse_mail
from sellerreach.inbox.threads import ALERT_MAX_AGE, alert_row, record_alerts, refresh_threads, thread_id_for
from sellerreach.secrets import resolve_secret
from sellerreach.warehouse import (
    QuarantinedRecord,
    SyncKey,
    id_chunks,
    is_one_of,
    lock_account,
    quarantine,
    read_sync_state,
    save_sync_state,
)

SYNC_SOURCE_MAILBOX = "mailbox"
DEFAULT_BATCH = 200


@dataclass
class FolderSyncResult:
    account_id: str
    mailbox_id: str
    folder: str
    rescanned: bool = False  # UIDVALIDITY changed: every UID was a candidate
    candidates: int = 0  # UIDs looked at
    fetched: int = 0  # full messages fetched
    stored: int = 0  # new messages in fct_buyer_messages
    known: int = 0  # already in the warehouse (Message-ID), not stored again
    ignored: int = 0  # not a buyer conversation (e.g. Amazon's notifications, mail to non-relay addresses)
    quarantined: int = 0
    threads: int = 0  # threads recomputed
    keyword_alerts: int = 0
    quarantine_reasons: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row.pop("quarantine_reasons")
        return row


BatchCallback = Callable[[FolderSyncResult], None]


def open_mail_source(mailbox: MailboxConfig, *, env: Mapping[str, str] | None = None) -> MailSource:
    """The mail source of a configured mailbox; its secret is resolved here (ConfigError when missing)."""
    if mailbox.kind == "maildir":
        return MaildirSource(Path(mailbox.path or "."))
    password = resolve_secret(mailbox.password, env=env) if mailbox.password else None
    token = resolve_secret(mailbox.oauth2_token, env=env) if mailbox.oauth2_token else None
    return ImapSource(
        ImapLogin(
            host=mailbox.host or "",
            port=mailbox.port or 993,
            username=mailbox.username or "",
            password=password,
            oauth2_token=token,
            tls=mailbox.tls,
        )
    )


def folder_sync_key(mailbox: MailboxConfig, folder: str) -> SyncKey:
    return SyncKey(SYNC_SOURCE_MAILBOX, f"{mailbox.mailbox_id}/{folder}", mailbox.account_id, "")


def sync_folder(
    engine: Engine,
    mailbox: MailboxConfig,
    source: MailSource,
    folder: str,
    inbox: InboxConfig,
    now: datetime,
    *,
    actor: str,
    batch_size: int = DEFAULT_BATCH,
    on_batch: BatchCallback | None = None,
) -> FolderSyncResult:
    """Read what is new in one folder into fct_buyer_messages and dim_threads; see the module docstring.

    Raises the source's errors (MailboxUnavailable: retry later; FolderNotFound, MailboxAuthFailed: fix the
    configuration). Batches already committed stay committed: the next run goes on after them."""
    key = folder_sync_key(mailbox, folder)
    result = FolderSyncResult(mailbox.account_id, mailbox.mailbox_id, folder)
    state = source.folder_state(folder)
    with engine.connect() as conn:
        stored_state = read_sync_state(conn, key) or {}
    same_epoch = stored_state.get("cursor_epoch") == state.uid_validity
    result.rescanned = not same_epoch and stored_state.get("cursor_epoch") is not None
    last_uid = int(stored_state.get("cursor_position") or 0) if same_epoch else 0
    uids = source.uids_after(folder, last_uid)
    # Message-IDs first only when some of these UIDs may be stored already: not for an account with no messages
    with engine.connect() as conn:
        prefilter = not same_epoch and _has_messages(conn, mailbox.account_id)
    position = last_uid
    for start in range(0, len(uids), batch_size):
        chunk = uids[start : start + batch_size]
        result.candidates += len(chunk)
        wanted = _not_yet_stored(engine, source, mailbox, folder, chunk) if prefilter else chunk
        result.known += len(chunk) - len(wanted)
        mails = list(source.fetch(folder, wanted, batch_size=batch_size))
        result.fetched += len(mails)
        position = _safe_position(source, folder, chunk, wanted, mails)
        with engine.begin() as conn:
            lock_account(conn, "inbox", mailbox.account_id)
            _load_batch(conn, mailbox, folder, mails, inbox, now, result, actor=actor)
            save_sync_state(
                conn,
                key,
                now,
                cursor_epoch=state.uid_validity,
                cursor_position=position,
                last_run_status="running",
            )
        if on_batch:
            on_batch(result)
        if position < chunk[-1]:  # a message the server listed but did not hand over: read it next run
            break
    with engine.begin() as conn:
        save_sync_state(
            conn,
            key,
            now,
            cursor_epoch=state.uid_validity,
            cursor_position=position,
            last_run_started_at=now,
            last_run_finished_at=now,
            last_run_status="ok",
            last_run_records=result.stored,
        )
    return result


def _safe_position(
    source: MailSource, folder: str, chunk: Sequence[int], wanted: Sequence[int], mails: Sequence[FetchedMail]
) -> int:
    """How far the cursor may move after this chunk: to its end, unless a UID asked for came back without a body
    and still exists (a server whose view was not synced yet); then to just before it, to be read next run."""
    missing = sorted(set(wanted) - {mail.uid for mail in mails})
    if not missing:
        return chunk[-1]
    still_there = set(source.uids_after(folder, missing[0] - 1)) & set(missing)
    return min(still_there) - 1 if still_there else chunk[-1]


def _not_yet_stored(
    engine: Engine, source: MailSource, mailbox: MailboxConfig, folder: str, uids: Sequence[int]
) -> list[int]:
    """The UIDs whose Message-ID the warehouse does not have (mail without a Message-ID is always fetched)."""
    headers = source.message_ids(folder, uids)
    with engine.connect() as conn:
        known = _stored_message_ids(conn, mailbox.account_id, [m for m in headers.values() if m])
    return [uid for uid in uids if headers.get(uid) is None or headers[uid] not in known]


def _has_messages(conn: Connection, account_id: str) -> bool:
    m = t.fct_buyer_messages.c
    return (
        conn.execute(sa.select(m.message_id).where(m.account_id == account_id).limit(1)).first() is not None
    )


def _stored_message_ids(conn: Connection, account_id: str, message_ids: Iterable[str]) -> set[str]:
    ids = list(set(message_ids))
    m = t.fct_buyer_messages.c
    found: set[str] = set()
    for chunk in id_chunks(conn, ids):
        found.update(
            conn.execute(
                sa.select(m.message_id).where(m.account_id == account_id, is_one_of(conn, m.message_id, chunk))
            ).scalars()
        )
    return found


def _load_batch(
    conn: Connection,
    mailbox: MailboxConfig,
    folder: str,
    mails: Sequence[FetchedMail],
    inbox: InboxConfig,
    now: datetime,
    result: FolderSyncResult,
    *,
    actor: str,
) -> None:
    parsed: list[tuple[FetchedMail, ParsedMail]] = []
    bad: list[QuarantinedRecord] = []
    for mail in mails:
        try:
            parsed.append((mail, parse_mail(mail.raw)))
        except MalformedMail as exc:
            bad.append(
                QuarantinedRecord(
                    source=SYNC_SOURCE_MAILBOX,
                    stream=f"{mailbox.mailbox_id}/{folder}",
                    account_id=mailbox.account_id,
                    marketplace_id=None,
                    record_key=f"{folder}/{mail.uid}",
                    reason=exc.reason,
                    raw_payload=_as_text(mail.raw),
                )
            )
            result.quarantine_reasons.append(exc.reason)
    result.quarantined += quarantine(conn, bad, now) if bad else 0

    known = _stored_message_ids(conn, mailbox.account_id, [p.message_id for _, p in parsed])
    order_marketplaces = _order_marketplaces(
        conn, [p.amazon_order_id for _, p in parsed if p.amazon_order_id]
    )
    threads_by_message = _threads_of(conn, mailbox.account_id, parsed)
    rows: dict[str, dict[str, Any]] = {}
    new_tags: dict[str, set[str]] = {}
    keyword_alerts: list[dict[str, Any]] = []
    for mail, message in parsed:
        if message.message_id in known or message.message_id in rows:
            result.known += 1
            continue
        row = _message_row(mailbox, folder, mail, message, order_marketplaces, threads_by_message, now)
        if row is None:
            result.ignored += 1
            continue
        rows[message.message_id] = row
        threads_by_message[message.message_id] = row["thread_id"]
        if row["direction"] != "in":
            continue
        for rule in matching_rules(f"{message.subject}\n{message.body_text}", inbox.alert_rules):
            new_tags.setdefault(row["thread_id"], set()).add(rule.tag)
            if row["received_at"] >= now - ALERT_MAX_AGE:  # old mail is tagged, but pages nobody
                keyword_alerts.append(
                    alert_row(
                        kind="keyword",
                        key=(mailbox.account_id, message.message_id, rule.rule_id),
                        thread_id=row["thread_id"],
                        thread=row,
                        now=now,
                        rule_id=rule.rule_id,
                        message_id=message.message_id,
                    )
                )
    if rows:
        conn.execute(sa.insert(t.fct_buyer_messages), list(rows.values()))
    result.stored += len(rows)
    touched = {row["thread_id"] for row in rows.values()}
    refreshed = refresh_threads(conn, touched, inbox, now, actor=actor, new_tags=new_tags, sla_alerts=False)
    result.threads += refreshed.threads
    result.keyword_alerts += record_alerts(conn, keyword_alerts)


def _message_row(
    mailbox: MailboxConfig,
    folder: str,
    mail: FetchedMail,
    message: ParsedMail,
    order_marketplaces: Mapping[str, str],
    threads_by_message: Mapping[str, str],
    now: datetime,
) -> dict[str, Any] | None:
    """The fct_buyer_messages row of one mail, or None when it is not part of a buyer conversation."""
    outbound = folder in mailbox.sent_folders or message.from_address in mailbox.seller_addresses
    if not outbound and not is_relay_address(message.from_address):
        return (
            None  # inbound but not from a buyer: Amazon's notifications, newsletters, the seller's own mail
        )
    if message.relay_address is None:
        return None  # the seller wrote to someone who is not a buyer
    buyer_id = buyer_id_for(message.relay_address)
    replied_to = [message.in_reply_to, *reversed(message.references)]
    thread_id = next((threads_by_message[r] for r in replied_to if r and r in threads_by_message), None)
    if thread_id is None:
        thread_id = thread_id_for(mailbox.account_id, buyer_id, message.amazon_order_id, message.subject)
    marketplace_id = order_marketplaces.get(message.amazon_order_id or "") or message.marketplace_id
    return {
        "account_id": mailbox.account_id,
        "message_id": message.message_id,
        "thread_id": thread_id,
        "marketplace_id": marketplace_id,
        "amazon_order_id": message.amazon_order_id,
        "buyer_id": buyer_id,
        "relay_email": message.relay_address,
        "direction": "out" if outbound else "in",
        "sent_by": None,
        "received_at": mail.internal_date,
        "sent_at": message.sent_at,
        "subject": _clean(message.subject),
        "body": _clean(message.body_text),
        "language": message.language,
        "attachments": [
            {
                "filename": a.filename and _clean(a.filename),
                "content_type": a.content_type,
                "size_bytes": a.size_bytes,
            }
            for a in message.attachments
        ],
        "in_reply_to": message.in_reply_to,
        "mailbox_id": mailbox.mailbox_id,
        "folder": folder,
        "loaded_at": now,
    }


def _order_marketplaces(conn: Connection, order_ids: Sequence[str]) -> dict[str, str]:
    """Where the order was placed: the relay domain cannot tell amazon.com's US, CA and MX buyers apart."""
    if not order_ids:
        return {}
    o = t.fct_orders.c
    query = sa.select(o.amazon_order_id, o.marketplace_id).where(
        o.amazon_order_id.in_(sorted(set(order_ids)))
    )
    return dict(conn.execute(query).tuples().all())


def _threads_of(
    conn: Connection, account_id: str, parsed: Sequence[tuple[FetchedMail, ParsedMail]]
) -> dict[str, str]:
    """Thread ids of the stored messages this batch replies to (In-Reply-To, References)."""
    referenced = {r for _, p in parsed for r in (p.in_reply_to, *p.references) if r}
    if not referenced:
        return {}
    m = t.fct_buyer_messages.c
    query = sa.select(m.message_id, m.thread_id).where(
        m.account_id == account_id, m.message_id.in_(sorted(referenced))
    )
    return dict(conn.execute(query).tuples().all())


def _as_text(raw: bytes) -> str:
    """Mail bytes as text for quarantine_records.raw_payload: undecodable bytes and NULs (which PostgreSQL text
    cannot hold) as backslash escapes, so the evidence stays complete."""
    return raw.decode("utf-8", errors="backslashreplace").replace("\x00", "\\x00")


def _clean(text: str) -> str:
    """Text as PostgreSQL can store it: NULs (mail can smuggle them in through quoted-printable) dropped."""
    return text.replace("\x00", "")
