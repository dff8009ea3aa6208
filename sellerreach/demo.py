"""The end-to-end demo: the stand-in, the embedded demo accounts, hourly syncs in virtual time, and a check of the
warehouse against the stand-in's own record of its orders.

The demo runs the production flows; only the endpoints (the stand-in on a free port), the credentials (the
stand-in's, passed through environment variables like real ones) and the clock (scaled) differ.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from schemas import tables as t
from sellerreach.clock import Clock, shared_clock, use_clock
from sellerreach.errors import ConfigError
from sellerreach.inbox.queue import inbox_summary
from sellerreach.settings import WAREHOUSE_URL_ENV, demo_config
from sellerreach.status import WarehouseStatus

DEMO_ENDPOINT = "http://127.0.0.1:8765"
DEMO_CONFIG_PATH = Path(".sellerreach/demo.toml")
DEMO_WAREHOUSE = Path(".sellerreach/warehouse.db")  # what the embedded demo config names
DEMO_ACCOUNTS = frozenset({"acme-na", "acme-eu"})
DEMO_MAILDIRS = (Path(".sellerreach/mail/acme-na"), Path(".sellerreach/mail/acme-eu"))  # as demo.toml names
CLIENT_ID_ENV = "SELLERREACH_DEMO_CLIENT_ID"
CLIENT_SECRET_ENV = "SELLERREACH_DEMO_CLIENT_SECRET"
REFRESH_TOKEN_ENV = {
    "acme-na": "SELLERREACH_DEMO_ACME_NA_REFRESH_TOKEN",
    "acme-eu": "SELLERREACH_DEMO_ACME_EU_REFRESH_TOKEN",
}
SES_KEY_ENV = ("SELLERREACH_DEMO_SES_ACCESS_KEY_ID", "SELLERREACH_DEMO_SES_SECRET_ACCESS_KEY")
DEMO_SENDER_DOMAIN = "acme.example"  # verified in the SES stand-in, as a seller verifies its domain in SES


@dataclass
class RunningSandbox:
    server: Any  # sellerreach.sandbox.SandboxServer
    world: Any  # sellerreach.sandbox.OrderWorld
    clock: Clock
    env: dict[str, str]


def demo_credentials(environ: dict[str, str] | os._Environ[str] = os.environ) -> dict[str, str]:
    """The stand-in's credentials: taken from the environment when set, else made up for this run."""
    names = [CLIENT_ID_ENV, CLIENT_SECRET_ENV, *REFRESH_TOKEN_ENV.values(), *SES_KEY_ENV]
    return {name: environ.get(name) or f"demo-{secrets.token_hex(12)}" for name in names}


@contextmanager
def start_demo_sandbox(
    *,
    port: int = 0,
    time_scale: float = 1.0,
    orders_per_day: float = 120.0,
    seed: int = 7,
    env_file: Path | None = None,
) -> Iterator[RunningSandbox]:
    """Start the stand-in for the demo accounts and put its credentials into this process's environment (and
    into `env_file`, mode 600, for other shells)."""
    from sellerreach.sandbox import OrderWorld, SandboxServer, demo_sellers

    env = demo_credentials()
    os.environ.update(env)
    if env_file is not None:
        env_file.parent.mkdir(parents=True, exist_ok=True)
        env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
        env_file.chmod(0o600)
    clock = shared_clock(time_scale)
    sellers = [
        replace(s, orders_per_day=orders_per_day)
        for s in demo_sellers({account: env[name] for account, name in REFRESH_TOKEN_ENV.items()})
    ]
    world = OrderWorld(sellers, clock, seed=seed)
    server = SandboxServer(
        world, clock, client_id=env[CLIENT_ID_ENV], client_secret=env[CLIENT_SECRET_ENV], port=port
    )
    server.ses.verify(DEMO_SENDER_DOMAIN)
    with server:
        yield RunningSandbox(server=server, world=world, clock=clock, env=env)


def reset_demo_warehouse(path: Path) -> None:
    """Start the demo from an empty warehouse (its stand-in is new each time, so old demo rows would not match
    it). A warehouse holding any account other than the demo's is never touched: ConfigError instead."""
    if not path.exists():
        return
    engine = sa.create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            has_accounts = sa.inspect(conn).has_table(t.accounts.name)
            accounts = {a for (a,) in conn.execute(sa.select(t.accounts.c.account_id))} if has_accounts else set()
    finally:
        engine.dispose()
    foreign = sorted(accounts - DEMO_ACCOUNTS)
    if foreign:
        raise ConfigError(
            f"{path}: holds accounts that are not the demo's ({', '.join(foreign)}); the demo starts from an empty "
            f"warehouse at this path and will not delete yours. Move it, or run the demo in another folder."
        )
    for leftover in path.parent.glob(path.name + "*"):  # the database and its -wal/-shm files
        leftover.unlink()


def write_demo_config(path: Path, *, endpoint: str, time_scale: float) -> Path:
    """The embedded demo config pointed at a running stand-in and its clock's scale."""
    text = demo_config()
    if DEMO_ENDPOINT not in text or not re.search(r"(?m)^time_scale = ", text):
        raise RuntimeError(
            "the embedded demo config no longer has the endpoint and time_scale lines to adjust"
        )
    text = text.replace(DEMO_ENDPOINT, endpoint)
    text = re.sub(r"(?m)^time_scale = \S+", f"time_scale = {time_scale}", text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def compare_with_ground_truth(
    engine: sa.Engine,
    world: Any,
    cursors: dict[tuple[str, str], Any],
    *,
    since: dict[tuple[str, str], datetime],
    settle: timedelta,
) -> list[dict]:
    """Per (account, marketplace): the stand-in's orders last updated between `since` (where the first sync
    started reading) and the sync cursor minus `settle` (the overlap: an update Amazon shows late is caught by
    the next run, by design), against the warehouse. `missing_or_stale` counts orders the warehouse lacks or
    holds in an older version; `unknown` counts orders the warehouse has and the stand-in does not know."""
    rows = []
    with engine.connect() as conn:
        for (account_id, marketplace_id), cursor in sorted(cursors.items()):
            truth = world.ground_truth(account_id, marketplace_id)
            start = since.get((account_id, marketplace_id))
            if start is None or cursor is None:  # never read: nothing to compare
                continue
            due = {
                o: updated for o, updated in truth.items() if start <= updated <= cursor - settle
            }
            stored = dict(
                conn.execute(
                    sa.select(t.fct_orders.c.amazon_order_id, t.fct_orders.c.last_updated_at).where(
                        t.fct_orders.c.account_id == account_id,
                        t.fct_orders.c.marketplace_id == marketplace_id,
                    )
                ).all()
            )
            missing = sum(1 for order_id, updated in due.items() if stored.get(order_id) != updated)
            extra = sum(1 for order_id in stored if order_id not in truth)
            rows.append(
                {
                    "account_id": account_id,
                    "marketplace_id": marketplace_id,
                    "stand_in_orders": len(due),
                    "warehouse_orders": len(stored),
                    "missing_or_stale": missing,
                    "unknown": extra,
                }
            )
    return rows


@dataclass(frozen=True)
class DemoReport:
    status: WarehouseStatus
    comparison: list[dict]
    requests: int
    throttled: int
    retries: int
    inbox_runs: list[dict]
    inbox: list[dict]
    replies: list[dict]
    segments: list[dict]
    auto_replies: int
    ses_sent: int
    ses_events: int


def run_demo(
    *, time_scale: float, hourly_syncs: int, orders_per_day: float, console: Any = None
) -> DemoReport:
    """Start the stand-in, run refresh_tokens and sync_orders (then `hourly_syncs` more hourly syncs in virtual
    time) through the production flows, and report what landed in the warehouse."""
    from flows.lint_templates import lint_templates
    from flows.refresh_tokens import refresh_tokens
    from flows.segment_buyers import segment_buyers
    from flows.sync_orders import sync_orders
    from sellerreach.settings import load_settings
    from sellerreach.status import read_status
    from sellerreach.warehouse import create_warehouse_engine

    say = console.print if console is not None else (lambda *_: None)
    if os.environ.pop(WAREHOUSE_URL_ENV, None):
        say(f"The demo ignores {WAREHOUSE_URL_ENV}: it writes only to {DEMO_WAREHOUSE}")
    reset_demo_warehouse(DEMO_WAREHOUSE)
    for mailbox in DEMO_MAILDIRS:  # the stand-in's relay mail is made anew each run, like its orders
        shutil.rmtree(mailbox, ignore_errors=True)
    _start_prefect_api()
    with (
        start_demo_sandbox(time_scale=time_scale, orders_per_day=orders_per_day) as running,
        use_clock(running.clock),
    ):
        config = str(write_demo_config(DEMO_CONFIG_PATH, endpoint=running.server.url, time_scale=time_scale))
        say(
            f"SP-API stand-in on {running.server.url}, one virtual hour every {3600 / time_scale:g} s; config {config}"
        )
        refresh_tokens(config_path=config)
        templates = lint_templates(config_path=config)
        say(f"lint_templates: {sum(r['approved'] for r in templates)} of {len(templates)} templates approved")
        read_from: dict[tuple[str, str], datetime] = {}
        for n in range(hourly_syncs + 1):
            if n:
                running.clock.sleep(3600)  # an hour of virtual time: new orders, status changes, late updates
            if n == 1:
                # Amazon has bad moments too: the client must ride out throttling and server errors
                running.server.faults.throttle("searchOrders", 3)
                running.server.faults.fail("searchOrders", 2, status=503)
                say("Injected 3 throttled (429) and 2 failed (503) searchOrders answers before this sync")
            say(
                f"Sync {n + 1} of {hourly_syncs + 1} at virtual time {running.clock.now():%Y-%m-%d %H:%M} UTC"
            )
            rows = sync_orders(config_path=config)
            for row in rows:
                if row.get("read_from"):  # where each marketplace's first read started
                    key = (row["account_id"], row["marketplace_id"])
                    read_from.setdefault(key, datetime.fromisoformat(row["read_from"]))
        settings = load_settings(config)
        inbox_runs = _run_inbox(running, settings, config, say)
        engine = create_warehouse_engine(settings.warehouse_url)
        replies = _agent_replies(settings, engine, running.clock.now(), say)
        segments = segment_buyers(config_path=config)
        status = read_status(engine)
        cursors = {
            (row["account_id"], row["marketplace_id"]): row["cursor_at"]
            for row in status.sync_state
            if row["stream"] == "orders"
        }
        comparison = compare_with_ground_truth(
            engine,
            running.world,
            cursors,
            since=read_from,
            settle=timedelta(minutes=settings.orders.overlap_minutes),
        )
        stats = running.server.stats()
    from tasks.amazon import client_stats

    client = client_stats()
    return DemoReport(
        status=status,
        comparison=comparison,
        requests=sum(stats["requests"].values()),
        throttled=sum(stats["throttled"].values()),
        retries=client.retries,
        inbox_runs=inbox_runs,
        inbox=inbox_summary(engine),
        replies=replies,
        segments=segments,
        auto_replies=_count_auto_replies(engine),
        ses_sent=len(running.server.ses.sent()),
        ses_events=len(running.server.ses.events()),
    )


def _run_inbox(running: RunningSandbox, settings: Any, config: str, say: Any) -> list[dict]:
    """Relay mail up to the present, a message sync; an hour later the new mail and a second sync, which reads
    only what is new. Returns one row per sync."""
    from flows.sync_messages import sync_messages
    from sellerreach.sandbox.conversations import BuyerConversations

    conversations = [BuyerConversations(running.world, m.account_id, Path(m.path)) for m in settings.mailboxes]
    runs = []
    for n in range(2):
        if n:
            running.clock.sleep(3600)
        delivered = sum(c.deliver_until(running.clock.now()) for c in conversations)
        say(f"Message sync {n + 1} of 2: the stand-in delivered {delivered} relay mails since the last one")
        rows = sync_messages(config_path=config)
        runs.append(
            {
                "sync": n + 1,
                "delivered": delivered,
                "fetched": sum(r.get("fetched", 0) for r in rows),
                "stored": sum(r.get("stored", 0) for r in rows),
                "quarantined": sum(r.get("quarantined", 0) for r in rows),
            }
        )
    return runs


# What an agent must not write: an incentive for a good review, and a link to the shop (both against Amazon's rules).
_NON_COMPLIANT_DRAFT = (
    "Thank you for your order {order}! Leave us a 5-star review and we will send you a $10 gift card. "
    "More deals at www.acme-shop.example"
)
_AGENT_REPLIES = 3  # the third reply of the same canned text is flagged as low quality


def _agent_replies(settings: Any, engine: sa.Engine, now: datetime, say: Any) -> list[dict]:
    """An agent works their queue the way `sellerreach inbox reply` does: a draft offering a gift card for a
    5-star review is refused by the compliance rules; then the acknowledge template goes to their most urgent
    threads, and the third such canned reply is flagged as low quality. Returns one row per attempt."""
    from sellerreach.dispatch.ses import SesSender
    from sellerreach.inbox.queue import QueueFilter, list_threads
    from sellerreach.inbox.reply import draft_reply, send_reply
    from sellerreach.inbox.templates import ReplyTemplates

    with engine.connect() as conn:
        queue = [row for row in list_threads(conn, QueueFilter(), now, limit=1000) if row["owner"]]
    if not queue:
        return []
    # the agent with the most open threads in one language: the same canned text three times
    (agent_id, language), _ = Counter((row["owner"], row["language"]) for row in queue).most_common(1)[0]
    agent = settings.inbox.agent(agent_id)
    threads = [row for row in queue if (row["owner"], row["language"]) == (agent_id, language)][:_AGENT_REPLIES]
    templates = ReplyTemplates.from_config(settings.inbox.reply_templates)
    sender = SesSender.from_config(settings.ses)
    rows = []
    with engine.connect() as conn:
        blocked = draft_reply(
            conn,
            threads[0]["thread_id"],
            mailboxes=settings.mailboxes,
            templates=templates,
            sent_by=agent_id,
            text=_NON_COMPLIANT_DRAFT.format(order=threads[0]["amazon_order_id"]),
        )
    rows.append(
        {
            "agent": agent_id,
            "thread": threads[0]["thread_id"][:8],
            "reply": "own text",
            "result": "refused: " + ", ".join(sorted({f.rule_id for f in blocked.findings if f.severity == "error"})),
        }
    )
    for thread in threads:
        with engine.connect() as conn:
            draft = draft_reply(
                conn,
                thread["thread_id"],
                mailboxes=settings.mailboxes,
                templates=templates,
                sent_by=agent_id,
                agent_name=agent.name if agent else agent_id,
                template_id="acknowledge",
            )
        sent = send_reply(
            engine, draft, sender, sent_by=agent_id, inbox=settings.inbox, now=now, actor=f"agent:{agent_id}"
        )
        quality = f", flagged low quality ({draft.similarity:.0%} alike)" if draft.is_low_quality else ""
        rows.append(
            {
                "agent": agent_id,
                "thread": thread["thread_id"][:8],
                "reply": f"acknowledge.{draft.locale}",
                "result": f"sent as {sent.message_id[:20]}...{quality}",
            }
        )
    say(f"Agent {agent_id} answered {len(threads)} threads; one non-compliant draft was refused")
    return rows


def _count_auto_replies(engine: sa.Engine) -> int:
    r = t.fct_replies.c
    with engine.connect() as conn:
        query = sa.select(sa.func.count()).where(r.kind == "auto", r.state == "sent")
        return conn.execute(query).scalar_one()


def _start_prefect_api() -> None:
    """Start the temporary local Prefect API (10-30 s) before virtual time starts running, so the demo's first
    sync happens at the start of its virtual day, not a day of virtual time later."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.api_healthcheck()
