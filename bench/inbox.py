"""Inbox: the first sync of a 10,000-message IMAP folder in messages per second, against reading the same folder
raw in the same run; then 10 new messages, and the second sync must fetch only those. Goal: the second sync
fetches exactly the new messages (and a third, with nothing new, fetches none). The first sync's speed is
measured, with no goal set.

A throwaway Dovecot (tests/support/dovecot.py, the one the tests use; Maildir in /dev/shm) gets one folder of
relay mail: 30 templates composed by `sellerreach.sandbox.relay_mail` (en, de, fr, ja, zh; every topic; plain,
HTML-only and alternative bodies in UTF-8 or legacy charsets, quoted-printable or base64), copied with their own
Message-ID, Date, buyer relay address and order id each (composing 10,000 through the email package would take
longer than the sync). Where a template's body is base64 its copies keep the template's order id there; the
Message-IDs are always distinct, so each copy is one new message.

- baseline: a plain imapclient session (EXAMINE, UID SEARCH ALL, UID FETCH BODY.PEEK[] in batches of 200)
  that reads every message and does nothing else, twice; the faster pass is the ceiling of reading the folder.
- ours: `sync_folder` into a fresh warehouse (batches of 500): Message-ID headers first (a first sync treats
  every UID as a candidate), then bodies, parsing, threads, SLA clocks, keyword alerts, one transaction per
  batch. Seconds in the mail source (bodies, headers, the rest) are timed apart from everything else.
- then `--new` messages are appended and the folder synced again, then once more with nothing new.

The fetched count is the source's own (`SourceStats.body_fetches`); Dovecot's logout line of each session
(`body_count`, `hdr_count`) is printed beside it as an independent count kept by the server.

    .venv/bin/python bench/inbox.py
    .venv/bin/python bench/inbox.py --url postgresql+psycopg://postgres@localhost/postgres

The warehouse is a SQLite file in a temporary folder unless --url names a PostgreSQL server: then a database
`bench_inbox` is created on it for the run and dropped afterwards. Needs `dovecot` and `doveadm`
(apt-get install dovecot-imapd). Prints PASS/MISS against the goal; exits 0 either way (a measurement, not a test).
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa  # noqa: E402
from load import Timer, fresh_database, peak_memory_mb  # noqa: E402  (bench/load.py, beside this script)

from schemas import tables as t  # noqa: E402
from schemas.migrations import upgrade  # noqa: E402
from sellerreach.inbox.config import InboxConfig, MailboxConfig  # noqa: E402
from sellerreach.inbox.mailbox import FetchedMail, FolderState, ImapLogin, ImapSource, SourceStats  # noqa: E402
from sellerreach.inbox.sync import FolderSyncResult, sync_folder  # noqa: E402
from sellerreach.sandbox.relay_mail import TOPICS, compose_buyer_message, relay_address_for  # noqa: E402
from sellerreach.warehouse import create_warehouse_engine  # noqa: E402
from tests.support.dovecot import DovecotServer, throwaway_dovecot  # noqa: E402

USER = "seller"
FOLDER = "Relay"
SELLER = "support@acme.example"
ACCOUNT_ID = "acme-na"
ACTOR = "bench"
FIRST_SENT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
MESSAGE_SPACING = timedelta(minutes=1)  # 10,000 messages: about a week of relay mail
RELAY_DELAY = timedelta(seconds=40)  # from the buyer's Date to the mailbox's INTERNALDATE
BASELINE_BATCH = 200
BASELINE_PASSES = 2
APPEND_CHUNK = 1_000  # messages made and appended at a time, so they are never all in memory at once
# (buyer language, marketplace): Chinese-writing buyers on amazon.com get Amazon's English frame
TEMPLATE_LANGUAGES = (
    ("en", "ATVPDKIKX0DER"),
    ("de", "A1PA6795UKMFR9"),
    ("fr", "A13V1IB3VIYZZH"),
    ("ja", "A1VC38T7YXB528"),
    ("zh", "ATVPDKIKX0DER"),
)


# -- mail ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailTemplate:
    """One composed relay mail and the exact bytes in it that each copy replaces."""

    raw: bytes
    message_id: bytes
    date: bytes
    relay_address: bytes
    order_id: bytes
    marketplace_id: str
    order_id_in_plain_bytes: bool  # False: only in base64 (body) or encoded words (subject); copies keep it


class RelayMail:
    """Distinct relay mails from a few composed templates: copy n has its own Message-ID, Date, buyer and order.

    Every replaced value keeps its length (order ids, relay addresses and RFC 5322 dates have fixed widths), so
    quoted-printable lines stay within their limits."""

    def __init__(self) -> None:
        self.templates: list[MailTemplate] = []
        for language, marketplace_id in TEMPLATE_LANGUAGES:
            for topic in TOPICS:
                self.templates.append(self._template(len(self.templates), language, marketplace_id, topic))

    @staticmethod
    def _template(index: int, language: str, marketplace_id: str, topic: str) -> MailTemplate:
        order_id = f"{900 + index:03d}-9999999-{index:07d}"
        relay_address = relay_address_for(f"template-{index}", marketplace_id)
        message_id = f"<template-{index}@marketplace.amazon.com>"
        raw = compose_buyer_message(
            order_id=order_id,
            marketplace_id=marketplace_id,
            buyer_name=f"Buyer {index}",
            relay_address=relay_address,
            seller_address=SELLER,
            language=language,
            topic=topic,
            sent_at=FIRST_SENT,
            message_id=message_id,
        )
        template = MailTemplate(
            raw=raw,
            message_id=message_id.encode(),
            date=format_datetime(FIRST_SENT).encode(),
            relay_address=relay_address.encode(),
            order_id=order_id.encode(),
            marketplace_id=marketplace_id,
            order_id_in_plain_bytes=order_id.encode() in raw,
        )
        # a copy must differ from its template where it counts: fail loudly if the composer's output changed
        for name in ("message_id", "date", "relay_address"):
            if raw.count(getattr(template, name)) != 1:
                raise RuntimeError(
                    f"template {index} ({language}, {topic}): its {name} occurs {raw.count(getattr(template, name))}"
                    " times in the composed bytes instead of once; the copies would not be distinct"
                )
        return template

    def sent_at(self, n: int) -> datetime:
        return FIRST_SENT + n * MESSAGE_SPACING

    def message(self, n: int) -> bytes:
        template = self.templates[n % len(self.templates)]
        order_id = f"{100 + n % 800:03d}-{n % 10_000_000:07d}-{(n * 7919) % 10_000_000:07d}"
        raw = template.raw.replace(template.message_id, f"<buyer-{n}.bench@marketplace.amazon.com>".encode())
        raw = raw.replace(template.date, format_datetime(self.sent_at(n)).encode())
        raw = raw.replace(
            template.relay_address, relay_address_for(f"buyer-{n}", template.marketplace_id).encode()
        )
        return raw.replace(template.order_id, order_id.encode())

    def append(self, server: DovecotServer, first: int, count: int) -> int:
        """Append messages first .. first+count-1 to the folder; return their bytes."""
        size = 0
        for start in range(first, first + count, APPEND_CHUNK):
            numbers = range(start, min(start + APPEND_CHUNK, first + count))
            messages = [self.message(n) for n in numbers]
            size += sum(len(m) for m in messages)
            server.append(USER, FOLDER, messages, [self.sent_at(n) + RELAY_DELAY for n in numbers])
        return size


# -- measuring -----------------------------------------------------------------------------------------------


class TimedSource:
    """The mail source as sync_folder sees it, with the seconds spent in each kind of call counted apart."""

    def __init__(self, source: ImapSource) -> None:
        self.source = source
        self.bodies, self.headers, self.other = Timer(), Timer(), Timer()

    @property
    def stats(self) -> SourceStats:
        return self.source.stats

    def folder_state(self, folder: str) -> FolderState:
        with self.other:
            return self.source.folder_state(folder)

    def uids_after(self, folder: str, last_uid: int) -> list[int]:
        with self.other:
            return self.source.uids_after(folder, last_uid)

    def message_ids(self, folder: str, uids: Sequence[int]) -> dict[int, str | None]:
        with self.headers:
            return self.source.message_ids(folder, uids)

    def fetch(self, folder: str, uids: Sequence[int], batch_size: int = 200) -> Iterator[FetchedMail]:
        mails = self.source.fetch(folder, uids, batch_size=batch_size)
        while True:
            with self.bodies:
                mail = next(mails, None)
            if mail is None:
                return
            yield mail

    def close(self) -> None:
        self.source.close()

    def reset(self) -> None:
        self.bodies, self.headers, self.other = Timer(), Timer(), Timer()

    @property
    def seconds(self) -> float:
        return self.bodies.seconds + self.headers.seconds + self.other.seconds


_LOGGED_OUT = re.compile(rb"imap\(" + USER.encode() + rb"\).*: Logged out .*")
_LOGOUT_COUNT = re.compile(rb"(hdr_count|body_count)=(\d+)")


class ServerCounts:
    """What Dovecot says each IMAP session fetched, from the `Logged out ... hdr_count= body_count=` line it
    writes when a session ends (its default imap_logout_format)."""

    def __init__(self, server: DovecotServer) -> None:
        self.log = server.root / "dovecot.log"
        self.seen = self._lines()

    def _lines(self) -> list[bytes]:
        return _LOGGED_OUT.findall(self.log.read_bytes()) if self.log.exists() else []

    def settle(self) -> None:
        """Take note of every session ended so far (the log is written asynchronously: wait until it is still)."""
        lines, deadline = self._lines(), time.monotonic() + 5
        while time.monotonic() < deadline:
            time.sleep(0.2)
            again = self._lines()
            if again == lines:
                break
            lines = again
        self.seen = lines

    def next_session(self) -> dict[str, int] | None:
        """hdr_count and body_count of the one session ended since the last call; None when not exactly one."""
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            lines = self._lines()
            if len(lines) > len(self.seen):
                time.sleep(0.2)
                lines = self._lines()
                new, self.seen = lines[len(self.seen) :], lines
                if len(new) != 1:
                    return None
                return {k.decode(): int(v) for k, v in _LOGOUT_COUNT.findall(new[0])}
            time.sleep(0.05)
        return None


@dataclass
class RawRead:
    messages: int
    size: int
    seconds: float
    server: dict[str, int] | None

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def read_folder_raw(server: DovecotServer, counts: ServerCounts) -> RawRead:
    """The baseline: log in, EXAMINE, UID SEARCH ALL, UID FETCH BODY.PEEK[] in batches, log out; nothing else."""
    counts.settle()
    messages = size = 0
    started = time.perf_counter()
    with server.client(USER) as client:
        client.select_folder(FOLDER, readonly=True)
        uids = client.search(["ALL"])
        for start in range(0, len(uids), BASELINE_BATCH):
            response = client.fetch(uids[start : start + BASELINE_BATCH], ["BODY.PEEK[]"])
            for data in response.values():
                messages += 1
                size += len(data[b"BODY[]"])
    seconds = time.perf_counter() - started
    return RawRead(messages, size, seconds, counts.next_session())


@dataclass
class SyncRun:
    name: str
    result: FolderSyncResult
    seconds: float
    body_fetches: int  # the source's count for this sync
    header_fetches: int
    bodies_seconds: float
    headers_seconds: float
    other_source_seconds: float
    server: dict[str, int] | None

    @property
    def per_second(self) -> float:
        return self.result.fetched / self.seconds if self.seconds else 0.0


def run_sync(
    name: str,
    engine: sa.Engine,
    mailbox: MailboxConfig,
    source: TimedSource,
    counts: ServerCounts,
    now: datetime,
    batch_size: int,
) -> SyncRun:
    """One sync_folder in its own IMAP session (logged out afterwards, so Dovecot reports what it fetched)."""
    counts.settle()
    source.reset()
    bodies_before, headers_before = source.stats.body_fetches, source.stats.header_fetches

    def progress(result: FolderSyncResult) -> None:
        print(f"  {name}: {result.fetched:>7,} fetched, {result.stored:>7,} stored", end="\r", flush=True)

    started = time.perf_counter()
    result = sync_folder(
        engine,
        mailbox,
        source,
        FOLDER,
        InboxConfig(),
        now,
        actor=ACTOR,
        batch_size=batch_size,
        on_batch=progress,
    )
    seconds = time.perf_counter() - started
    print(" " * 70, end="\r")
    source.close()
    return SyncRun(
        name=name,
        result=result,
        seconds=seconds,
        body_fetches=source.stats.body_fetches - bodies_before,
        header_fetches=source.stats.header_fetches - headers_before,
        bodies_seconds=source.bodies.seconds,
        headers_seconds=source.headers.seconds,
        other_source_seconds=source.other.seconds,
        server=counts.next_session(),
    )


@contextmanager
def sqlite_warehouse() -> Iterator[sa.Engine]:
    """A migrated SQLite warehouse file in a temporary folder, deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="sellerreach-bench-inbox-") as folder:
        engine = create_warehouse_engine(f"sqlite:///{folder}/warehouse.db")
        try:
            upgrade(engine)
            yield engine
        finally:
            engine.dispose()


def stored_counts(engine: sa.Engine) -> dict[str, int]:
    m = t.fct_buyer_messages.c
    with engine.connect() as conn:
        return {
            "messages": conn.execute(
                sa.select(sa.func.count()).select_from(t.fct_buyer_messages)
            ).scalar_one(),
            "distinct Message-IDs": conn.execute(
                sa.select(sa.func.count(sa.distinct(m.message_id)))
            ).scalar_one(),
            "distinct order ids": conn.execute(
                sa.select(sa.func.count(sa.distinct(m.amazon_order_id)))
            ).scalar_one(),
            "threads": conn.execute(sa.select(sa.func.count()).select_from(t.dim_threads)).scalar_one(),
            "keyword alerts": conn.execute(
                sa.select(sa.func.count()).select_from(t.fct_inbox_alerts)
            ).scalar_one(),
        }


def mailbox_config(server: DovecotServer) -> MailboxConfig:
    return MailboxConfig(
        mailbox_id="acme-relay",
        account_id=ACCOUNT_ID,
        kind="imap",
        path=None,
        host=server.host,
        port=server.port,
        tls=False,
        username=USER,
        password=None,  # a secret reference in real configuration; the source below gets the password itself
        oauth2_token=None,
        folders=(FOLDER,),
        sent_folders=(),
        seller_addresses=(SELLER,),
        reply_from=SELLER,
    )


# -- the run -------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--messages",
        type=int,
        default=10_000,
        help="messages in the folder at the first sync (default 10000)",
    )
    parser.add_argument(
        "--new", type=int, default=10, help="messages added before the second sync (default 10)"
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=500,
        help="sync_folder batch size: UIDs per FETCH and transaction (default 500)",
    )
    parser.add_argument(
        "--url",
        help="URL of a PostgreSQL server: a database bench_inbox is created on it and dropped afterwards\n"
        "(default: a SQLite file in a temporary folder)",
    )
    args = parser.parse_args(argv)

    print(
        f"inbox bench: {args.messages:,} messages, then {args.new:,} new; sync batches of {args.batch:,},"
        f" baseline batches of {BASELINE_BATCH}; warehouse {'PostgreSQL' if args.url else 'SQLite'}"
    )
    with ExitStack() as stack:
        started = time.perf_counter()
        server = stack.enter_context(throwaway_dovecot(users=(USER,)))
        server.create_folder(USER, FOLDER)
        mail = RelayMail()
        size = mail.append(server, 0, args.messages)
        print(
            f"Dovecot up and {args.messages:,} messages ({size / 2**20:,.1f} MB) appended in"
            f" {time.perf_counter() - started:.1f} s; {len(mail.templates)} templates, order id in plain bytes"
            f" in {sum(template.order_id_in_plain_bytes for template in mail.templates)} of them"
        )
        counts = ServerCounts(server)
        baseline = [read_folder_raw(server, counts) for _ in range(BASELINE_PASSES)]

        if args.url:
            engine = stack.enter_context(fresh_database(args.url, "bench_inbox"))
        else:
            engine = stack.enter_context(sqlite_warehouse())
        mailbox = mailbox_config(server)
        login = ImapLogin(server.host, server.port, USER, password=server.password_for(USER), tls=False)
        source = TimedSource(stack.enter_context(ImapSource(login)))
        # the clock the SLA sees: an hour after the last message arrived
        now = mail.sent_at(args.messages + args.new) + timedelta(hours=1)

        first = run_sync("first sync", engine, mailbox, source, counts, now, args.batch)
        stored_first = stored_counts(engine)
        mail.append(server, args.messages, args.new)
        second = run_sync("second sync", engine, mailbox, source, counts, now, args.batch)
        third = run_sync("third sync", engine, mailbox, source, counts, now, args.batch)
        stored_last = stored_counts(engine)

    report(args, baseline, [first, second, third], stored_first, stored_last)
    return 0


def report(
    args: argparse.Namespace,
    baseline: list[RawRead],
    runs: list[SyncRun],
    stored_first: dict[str, int],
    stored_last: dict[str, int],
) -> None:
    first, second, third = runs
    ceiling = max(b.per_second for b in baseline)
    print()
    header = (
        f"{'path':28} {'messages':>9} {'MB':>7} {'seconds':>8} {'messages/s':>11} {'vs ceiling':>10}"
        f"  {'server: bodies / headers':>24}"
    )
    print(header)
    print("-" * len(header))
    for n, b in enumerate(baseline, 1):
        server = f"{b.server['body_count']:,} / {b.server['hdr_count']:,}" if b.server else "n/a"
        print(
            f"{f'raw FETCH BODY.PEEK[], pass {n}':28} {b.messages:>9,} {b.size / 2**20:>7.1f} {b.seconds:>8.2f}"
            f" {b.per_second:>11,.0f} {b.per_second / ceiling:>9.2f}x  {server:>24}"
        )
    for r in runs:
        server = f"{r.server['body_count']:,} / {r.server['hdr_count']:,}" if r.server else "n/a"
        rate = (
            f"{r.per_second:>11,.0f} {r.per_second / ceiling:>9.2f}x" if r is first else f"{'':>11} {'':>10}"
        )
        print(
            f"{f'sync_folder, {r.name}':28} {r.result.fetched:>9,} {'':>7} {r.seconds:>8.2f} {rate}  {server:>24}"
        )

    print()
    source_seconds = first.bodies_seconds + first.headers_seconds + first.other_source_seconds
    rest = first.seconds - source_seconds
    print(
        f"first sync, where the {first.seconds:.1f} s went: IMAP bodies {first.bodies_seconds:.2f} s,"
        f" IMAP Message-ID headers {first.headers_seconds:.2f} s,"
        f" IMAP select/search {first.other_source_seconds:.2f} s;"
        f" parsing, threads, SLA and storing {rest:.1f} s ({rest / first.seconds:.0%})"
    )
    for r in runs:
        x = r.result
        print(
            f"{r.name:12}: candidates {x.candidates:,}, known {x.known:,}, bodies fetched {r.body_fetches:,}"
            f" (headers {r.header_fetches:,}), stored {x.stored:,}, ignored {x.ignored:,},"
            f" quarantined {x.quarantined:,}, threads {x.threads:,}, keyword alerts {x.keyword_alerts:,}"
        )
    print("stored after the first sync: " + ", ".join(f"{k} {v:,}" for k, v in stored_first.items()))
    print("stored at the end:           " + ", ".join(f"{k} {v:,}" for k, v in stored_last.items()))

    print()
    ratio = first.per_second / ceiling if ceiling else 0.0
    print(
        f"first sync:   {first.per_second:7,.0f} messages/s, {ratio:.2f}x the raw read"
        f" ({ceiling:,.0f} messages/s)   measured, no goal"
    )
    complete = first.result.stored == stored_first["distinct Message-IDs"] == args.messages
    print(
        f"first sync stored every message:  {first.result.stored:,} of {args.messages:,}"
        f"                  {'PASS' if complete else 'MISS'}"
    )
    new = second.result.stored
    verdict = "PASS" if second.body_fetches == second.result.fetched == new == args.new else "MISS"
    print(
        f"second sync fetched only the new: {second.body_fetches:,} fetched, {new:,} new stored"
        f"    goal fetched == new == {args.new:,}  {verdict}"
    )
    verdict = "PASS" if third.body_fetches == third.result.fetched == 0 else "MISS"
    print(
        f"third sync, nothing new:          {third.body_fetches:,} fetched              goal 0          {verdict}"
    )
    print(
        f"peak memory (ru_maxrss):          {peak_memory_mb():,.0f} MB"
        "  (this process; Dovecot and the database server are not included)"
    )


if __name__ == "__main__":
    sys.exit(main())
