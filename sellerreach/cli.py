"""The `sellerreach` command: thin typer commands that parse options and call one flow or one function.

Flows are imported inside the commands that run them (sellerreach/ itself never imports Prefect), and Prefect's
telemetry is off unless the user turned it on.
"""

from __future__ import annotations

import os
import signal
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from sellerreach.errors import RunFailed, SellerreachError

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
# the temporary local Prefect API takes 10-30 s to start on a small machine; Prefect's default wait is 20 s
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

# piped output (make demo | tee, CI logs) gets tables wide enough to read instead of rich's default 80 columns
console = Console(width=None if sys.stdout.isatty() else 150)
err_console = Console(stderr=True)

app = typer.Typer(
    help="sellerreach: the buyer-communication back office of Amazon sellers.\n\n"
    "Quick start: `sellerreach demo` runs everything against the local SP-API stand-in.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_show_locals=False,  # locals may hold tokens
)
db_app = typer.Typer(help="Warehouse schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")

ConfigOption = Annotated[
    str | None,
    typer.Option(
        "--config",
        "-c",
        help="TOML config file. Default: $SELLERREACH_CONFIG, else ./sellerreach.toml, else the demo defaults.",
    ),
]
AccountOption = Annotated[str | None, typer.Option("--account", "-a", help="Only this account id.")]


@contextmanager
def _clear_errors():
    """Our own errors are for people: print the message, not a traceback, and exit 2."""
    try:
        yield
    except SellerreachError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not an ISO 8601 time; example: 2026-11-01 or 2026-11-01T06:00:00Z",
            param_hint=option,
        ) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Where to write the example config.")] = Path(
        "sellerreach.toml"
    ),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented example configuration to edit.

    Example: `sellerreach init && $EDITOR sellerreach.toml`
    """
    from sellerreach.settings import example_config

    if path.exists() and not force:
        err_console.print(f"[bold red]error:[/] {path} exists; pass --force to overwrite it")
        raise typer.Exit(2)
    path.write_text(example_config(), encoding="utf-8")
    console.print(f"Wrote {path}. Edit the accounts, then run `sellerreach refresh-tokens --config {path}`.")


@db_app.command("upgrade")
def db_upgrade(config: ConfigOption = None) -> None:
    """Create or upgrade the warehouse tables (flows also do this on an empty warehouse).

    Example: `SELLERREACH_WAREHOUSE_URL=postgresql+psycopg://etl@db/warehouse sellerreach db upgrade`
    """
    from sellerreach.settings import load_settings
    from sellerreach.warehouse import create_warehouse_engine, ensure_schema

    with _clear_errors():
        settings = load_settings(config)
        applied = ensure_schema(create_warehouse_engine(settings.warehouse_url))
    console.print(
        "Warehouse upgraded to the newest schema." if applied else "Warehouse schema is up to date."
    )


@app.command()
def sandbox(
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 8765,
    time_scale: Annotated[float, typer.Option(help="Virtual seconds per real second.")] = 1.0,
    orders_per_day: Annotated[float, typer.Option(help="Orders a day per marketplace.")] = 120.0,
    seed: Annotated[int, typer.Option(help="Seed of the generated order world.")] = 7,
) -> None:
    """Run the local SP-API stand-in (LWA, searchOrders, getOrder, RDT, Solicitations) in the foreground.

    It serves the demo accounts acme-na and acme-eu. Their stand-in credentials are written to
    .sellerreach/sandbox.env (they are the stand-in's own, not Amazon's).

    Example: `sellerreach sandbox --time-scale 60` then, in another shell,
    `set -a; . .sellerreach/sandbox.env; set +a; sellerreach sync-orders`
    """
    from sellerreach.demo import start_demo_sandbox

    with (
        _clear_errors(),
        start_demo_sandbox(
            port=port,
            time_scale=time_scale,
            orders_per_day=orders_per_day,
            seed=seed,
            env_file=Path(".sellerreach/sandbox.env"),
        ) as running,
    ):
        console.print(
            f"SP-API stand-in listening on {running.server.url} (time scale {time_scale}); Ctrl-C stops it."
        )
        console.print("Credentials for the demo accounts: .sellerreach/sandbox.env")
        # Piped output is block-buffered: flush so a supervisor or `| tee` sees the address now, and treat
        # SIGTERM like Ctrl-C so the server shuts down cleanly instead of dying with its output unflushed.
        sys.stdout.flush()
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            while True:
                running.clock.sleep(3600 * time_scale)
        except KeyboardInterrupt:
            console.print("Stopped.")


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


@app.command("refresh-tokens")
def refresh_tokens_command(config: ConfigOption = None, account: AccountOption = None) -> None:
    """Exchange each account's refresh token; mark revoked authorisations as needing re-authorisation.

    Example: `sellerreach refresh-tokens --config sellerreach.toml`
    """
    from flows.refresh_tokens import refresh_tokens

    with _clear_errors():
        summary = refresh_tokens(config_path=config, account=account)
    _print_rows("Authorisation", summary)


@app.command("sync-orders")
def sync_orders_command(
    config: ConfigOption = None,
    account: AccountOption = None,
    since: Annotated[str | None, typer.Option(help="Backfill from this UTC time (with --until).")] = None,
    until: Annotated[str | None, typer.Option(help="Backfill up to this UTC time (with --since).")] = None,
) -> None:
    """Sync orders incrementally (or backfill a range, which never moves the live cursor).

    Examples: `sellerreach sync-orders` (hourly-style incremental run);
    `sellerreach sync-orders --account acme-eu --since 2026-10-01 --until 2026-10-08` (backfill a week)
    """
    since_at, until_at = _parse_time(since, "--since"), _parse_time(until, "--until")
    if (since_at is None) != (until_at is None):
        raise typer.BadParameter("give both --since and --until, or neither", param_hint="--since/--until")
    if since_at and until_at and since_at >= until_at:
        raise typer.BadParameter("--since must be before --until", param_hint="--since/--until")
    from flows.sync_orders import sync_orders

    with _clear_errors(), order_progress():
        summary = sync_orders(config_path=config, account=account, since=since_at, until=until_at)
    _print_rows("Orders synced", summary, columns=SYNC_COLUMNS)


@app.command()
def status(config: ConfigOption = None) -> None:
    """Show accounts and their authorisation, sync cursors and last runs, and warehouse row counts.

    Example: `sellerreach status`
    """
    from sellerreach.settings import load_settings
    from sellerreach.status import read_status
    from sellerreach.warehouse import create_warehouse_engine, ensure_schema

    with _clear_errors():
        settings = load_settings(config)
        engine = create_warehouse_engine(settings.warehouse_url)
        ensure_schema(engine)
        current = read_status(engine)
    console.print(f"Config: {settings.source}")
    print_status(current)


@app.command()
def demo(
    time_scale: Annotated[float, typer.Option(help="Virtual seconds per real second.")] = 600.0,
    syncs: Annotated[int, typer.Option(help="Hourly syncs to run after the first one.")] = 2,
    orders_per_day: Annotated[float, typer.Option(help="Orders a day per marketplace.")] = 40.0,
) -> None:
    """Run the system end to end on the embedded defaults and show what it did.

    Starts the SP-API stand-in on a free port, refreshes the tokens of 2 accounts, syncs 3 marketplaces each
    (30 days of history first, then hourly syncs in virtual time, with throttling and server errors injected
    into the second), and compares the warehouse
    (.sellerreach/warehouse.db) with the stand-in's own record of its orders.

    Example: `sellerreach demo --time-scale 600 --syncs 2`
    """
    from sellerreach.demo import run_demo

    with _clear_errors(), order_progress():
        report = run_demo(
            time_scale=time_scale, hourly_syncs=syncs, orders_per_day=orders_per_day, console=console
        )
    print_status(report.status)
    _print_rows("Warehouse against the stand-in's ground truth", report.comparison)
    console.print(
        f"Stand-in served {report.requests} SP-API requests, throttled {report.throttled}; "
        f"the client retried {report.retries} and lost none."
    )
    _print_rows("Message syncs (the second reads only what arrived since the first)", report.inbox_runs)
    _print_rows("Inbox per account", report.inbox)
    _print_rows("An agent's replies (through the compliance rules and SES)", report.replies)
    _print_rows("Buyer segments (segment_buyers: features from the warehouse, rules in demo.toml)", report.segments)
    console.print(
        f"The SES stand-in accepted {report.ses_sent} mails ({report.auto_replies} where-is-my-order auto-replies "
        f"with the tracking number, the rest the agent's) and published {report.ses_events} SES events; "
        "fct_replies holds each one."
    )
    console.print("See the queue: `sellerreach inbox --config .sellerreach/demo.toml --status all`")


@app.command("sync-messages")
def sync_messages_command(
    config: ConfigOption = None,
    mailbox: Annotated[str | None, typer.Option("--mailbox", "-m", help="Only this mailbox id.")] = None,
) -> None:
    """Read new buyer messages from every configured mailbox (IMAP or Maildir) into threads with SLA clocks.

    Only mail above each folder's cursor is fetched; a mailbox whose UIDVALIDITY changed is re-scanned by
    Message-ID, so nothing is doubled. Alerts (keywords, near breach, breach) go out as Prefect events.

    Example: `sellerreach sync-messages --mailbox acme-eu-relay`
    """
    from flows.sync_messages import sync_messages

    with _clear_errors():
        rows = sync_messages(config_path=config, mailbox=mailbox)
    _print_rows("Messages synced", rows, MESSAGE_SYNC_COLUMNS)


MESSAGE_SYNC_COLUMNS = (
    "mailbox_id",
    "folder",
    "status",
    "rescanned",
    "candidates",
    "fetched",
    "stored",
    "known",
    "ignored",
    "quarantined",
    "threads",
    "keyword_alerts",
)

@app.command()
def lint(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Template files or folders (searched for *.j2). Default: the shipped templates/."),
    ] = None,
    output_format: Annotated[str, typer.Option("--format", "-f", help="text, json or sarif.")] = "text",
    channel: Annotated[
        str | None,
        typer.Option(help="relay_email, direct_email or solicitation. Default: by folder (replies/: relay_email)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write the report here instead.")] = None,
) -> None:
    """Check message templates against Amazon's messaging rules (and marketing-mail law for direct mail).

    Each `<name>.<locale>.txt.j2` is checked as written (Jinja2 syntax, known variables) and rendered with sample
    values for its locale, then linted with its channel's rules. Prints `path:line:col rule-id message`; exits 1
    when any finding is an error. Switch a rule off for one template with a reason:
    `{# sellerreach-lint: disable=external-link -- the carrier's page is needed to complete the order #}`.

    Example: `sellerreach lint templates/ --format sarif -o lint.sarif`
    """
    from sellerreach.compliance.templates import count_by_severity, format_findings, lint_templates
    from sellerreach.rendering import shipped_templates

    if output_format not in ("text", "json", "sarif"):
        raise typer.BadParameter(f"{output_format!r}: use text, json or sarif", param_hint="--format")
    try:
        files, findings = lint_templates(paths or [shipped_templates()], channel=channel)
    except (FileNotFoundError, ValueError) as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from None
    report = format_findings(findings, output_format)
    if output is not None:
        output.write_text(report + "\n", encoding="utf-8")
    elif report:
        print(report)
    counts = count_by_severity(findings)
    err_console.print(
        f"{len(files)} templates checked: {counts['error']} errors, {counts['warning']} warnings", highlight=False
    )
    if counts["error"]:
        raise typer.Exit(1)


@app.command()
def segment(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Compute and show the segments without writing anything.")
    ] = False,
) -> None:
    """Compute every buyer's features and the configured [[segments]]; print each segment's size and how many
    buyers entered or left it since the last run (the segment_buyers flow, run now).

    Example: `sellerreach segment --dry-run`
    """
    from flows.segment_buyers import segment_buyers

    with _clear_errors():
        rows = segment_buyers(config_path=config, dry_run=dry_run)
    _print_rows("Segments" + (" (dry run: nothing written)" if dry_run else ""), rows)


@app.command("lint-templates")
def lint_templates_command(config: ConfigOption = None) -> None:
    """Run the lint_templates flow: lint every template folder and record findings and approvals in the
    warehouse (dim_templates, fct_lint_findings). A failing template is blocked from sending; exits 1 then.

    Example: `sellerreach lint-templates --config sellerreach.toml`
    """
    from flows.lint_templates import lint_templates

    with _clear_errors():
        try:
            rows = lint_templates(config_path=config)
        except RunFailed as exc:
            err_console.print(f"[bold red]blocked:[/] {exc}", highlight=False)
            raise typer.Exit(1) from None
    _print_rows("Templates", rows)


inbox_app = typer.Typer(
    help="The agents' queue: threads with owner, tags and SLA clock.\n\n"
    "Without a command it lists the queue, most urgent first. Example: `sellerreach inbox --overdue --owner mia`",
    invoke_without_command=True,
)
app.add_typer(inbox_app, name="inbox")
AgentOption = Annotated[
    str | None,
    typer.Option(
        "--agent",
        envvar="SELLERREACH_AGENT",
        help="You, an agent id from [[inbox.agents]]: times are shown in "
        "your time zone and your actions are audit-logged under your name.",
    ),
]
ThreadArgument = Annotated[
    str, typer.Argument(help="Thread id, or its first 6+ characters as `inbox` shows.")
]


@inbox_app.callback()
def inbox_list(
    ctx: typer.Context,
    config: ConfigOption = None,
    owner: Annotated[
        str | None, typer.Option(help="Only this agent's threads; 'none' for unassigned.")
    ] = None,
    tag: Annotated[str | None, typer.Option(help="Only threads with this tag, e.g. complaint.")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only threads past their SLA due time.")] = False,
    account: AccountOption = None,
    marketplace: Annotated[str | None, typer.Option(help="Only this marketplace id.")] = None,
    status: Annotated[str, typer.Option(help="open, answered, closed, no_response_needed, or all.")] = "open",
    agent: AgentOption = None,
    limit: Annotated[int, typer.Option(help="At most this many threads.")] = 50,
) -> None:
    """List the queue (open threads, most urgent first), or run one of the commands below on a thread.

    Example: `sellerreach inbox --tag complaint --agent mia`
    """
    from sellerreach.inbox.queue import QueueFilter, list_threads
    from sellerreach.inbox.threads import STATUSES

    if status != "all" and status not in STATUSES:
        raise typer.BadParameter(
            f"{status!r}: use one of {', '.join(STATUSES)} or all", param_hint="--status"
        )
    where = QueueFilter(
        owner=owner,
        tag=tag,
        overdue=overdue,
        account_id=account,
        marketplace_id=marketplace,
        statuses=() if status == "all" else (status,),
    )
    if ctx.invoked_subcommand is not None:  # the filters and --agent apply to the command (export uses them)
        ctx.obj = {"config": config, "agent": agent, "where": where}
        return
    with _clear_errors():
        settings, engine = _inbox_warehouse(config)
        zone = _agent_zone(settings, agent)
        with engine.connect() as conn:
            rows = list_threads(conn, where, _now(settings), limit=limit)
    table = Table(title=f"Inbox: {len(rows)} threads ({status}), times in {zone.key}")
    for column in (
        "thread",
        "account",
        "market",
        "order",
        "lang",
        "status",
        "owner",
        "tags",
        "msgs",
        "last message",
        "SLA due",
        "",
    ):
        table.add_column(column)
    now = _now(settings)
    for row in rows:
        due = row["sla_due_at"]
        flag = "BREACHED" if due and due < now else ("near" if row["is_near_breach"] else "")
        table.add_row(
            row["thread_id"][:8],
            row["account_id"],
            _market(row["marketplace_id"]),
            row["amazon_order_id"] or "-",
            row["language"] or "-",
            row["status"],
            row["owner"] or "-",
            ",".join(row["tags"]) or "-",
            str(row["message_count"]),
            _local(row["last_message_at"], zone),
            _local(due, zone),
            flag,
        )
    console.print(table)


@inbox_app.command("show")
def inbox_show(ctx: typer.Context, thread: ThreadArgument) -> None:
    """Show one thread: its state, SLA clock and every message (buyer addresses are not shown).

    Example: `sellerreach inbox show 3f9a2c`
    """
    from sellerreach.inbox.queue import resolve_thread_id, thread_messages, thread_row

    with _clear_errors():
        settings, engine = _inbox_warehouse(ctx.obj["config"])
        zone = _agent_zone(settings, ctx.obj["agent"])
        with engine.connect() as conn:
            row = thread_row(conn, resolve_thread_id(conn, thread))
            messages = thread_messages(conn, row["thread_id"])
    console.print(
        f"[bold]{escape(row['subject'])}[/]\nthread {row['thread_id']}  account {row['account_id']}  "
        f"marketplace {_market(row['marketplace_id'])}  order {row['amazon_order_id'] or '-'}\n"
        f"status {row['status']}  owner {row['owner'] or '-'}  tags {', '.join(row['tags']) or '-'}\n"
        f"SLA due {_local(row['sla_due_at'], zone)}  first response {_local(row['first_response_at'], zone)}  "
        f"breaches {row['breaches']}  (times in {zone.key})",
        highlight=False,
    )
    for message in messages:
        arrow = "buyer ->" if message["direction"] == "in" else "seller <-"
        attachments = ", ".join(a["filename"] or a["content_type"] for a in message["attachments"])
        console.print(
            f"\n[bold]{arrow}[/] {_local(message['received_at'], zone)}  {message['language'] or ''}"
            + (f"  attachments: {attachments}" if attachments else ""),
            highlight=False,
        )
        console.print(message["body"], highlight=False, markup=False)


@inbox_app.command("export")
def inbox_export(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="Where to write: a .xlsx (sheets threads, messages) or a .csv file.")],
) -> None:
    """Write the queue's threads (with the same filters as `inbox`) and their messages to Excel or CSV.

    Times are in the agent's time zone; buyers appear as buyer_id only, never their address.

    Example: `sellerreach inbox --status all --tag complaint export complaints.xlsx`
    """
    from sellerreach.inbox.queue import export_threads

    with _clear_errors():
        settings, engine = _inbox_warehouse(ctx.obj["config"])
        zone = _agent_zone(settings, ctx.obj["agent"])
        with engine.connect() as conn:
            threads, messages = export_threads(conn, ctx.obj["where"], _now(settings), path, zone, limit=100_000)
    console.print(f"Wrote {threads} threads and {messages} messages to {path} (times in {zone.key}).")


@inbox_app.command("assign")
def inbox_assign(
    ctx: typer.Context,
    thread: ThreadArgument,
    to: Annotated[str, typer.Argument(help="Agent id from [[inbox.agents]], or 'none' to unassign.")],
) -> None:
    """Give a thread to an agent (audit-logged).

    Example: `sellerreach inbox assign 3f9a2c mia`
    """
    from sellerreach.inbox.queue import assign_thread, resolve_thread_id

    with _clear_errors():
        settings, engine = _inbox_warehouse(ctx.obj["config"])
        with engine.begin() as conn:
            thread_id = resolve_thread_id(conn, thread)
            changed = assign_thread(
                conn,
                thread_id,
                None if to == "none" else to,
                settings.inbox,
                _now(settings),
                actor=_actor(ctx.obj["agent"]),
            )
    console.print(f"Thread {thread_id[:8]} " + (f"assigned to {to}." if changed else f"already with {to}."))


@inbox_app.command("tag")
def inbox_tag(
    ctx: typer.Context,
    thread: ThreadArgument,
    tags: Annotated[list[str], typer.Argument(help="One or more tags.")],
) -> None:
    """Add tags to a thread (audit-logged).

    Example: `sellerreach inbox tag 3f9a2c damaged-item vip`
    """
    from sellerreach.inbox.queue import resolve_thread_id, tag_thread

    with _clear_errors():
        settings, engine = _inbox_warehouse(ctx.obj["config"])
        with engine.begin() as conn:
            thread_id = resolve_thread_id(conn, thread)
            current = tag_thread(conn, thread_id, tags, _now(settings), actor=_actor(ctx.obj["agent"]))
    console.print(f"Thread {thread_id[:8]} tags: {', '.join(current)}")


@inbox_app.command("reply")
def inbox_reply(
    ctx: typer.Context,
    thread: ThreadArgument,
    template: Annotated[
        str | None,
        typer.Option("--template", "-t", help="A reply template, e.g. where_is_my_order (see `inbox templates`)."),
    ] = None,
    text: Annotated[str | None, typer.Option(help="Your own text instead of a template.")] = None,
    text_file: Annotated[
        Path | None, typer.Option("--text-file", help="Your own text from a UTF-8 file (- for stdin).")
    ] = None,
    variables: Annotated[
        list[str] | None,
        typer.Option("--set", help="Set or override a template variable: name=value (repeatable)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Render and check the reply, print it, send nothing.")
    ] = False,
) -> None:
    """Answer the buyer: render a template in the buyer's language (or take your text), check it against
    Amazon's messaging rules, and send it through SES from the mailbox's approved sender address, threaded under
    the buyer's message. A reply that breaks a rule is not sent; one more than 85% like each of your previous
    two replies is sent but flagged as low quality.

    Example: `sellerreach inbox --agent mia reply 3f9a2c --template where_is_my_order`
    """
    from sellerreach.dispatch.ses import SesSender
    from sellerreach.inbox.queue import resolve_thread_id
    from sellerreach.inbox.reply import ReplyBlocked, draft_reply, send_reply
    from sellerreach.inbox.templates import ReplyTemplates

    agent_id = ctx.obj["agent"]
    given = [name for name, value in (("--template", template), ("--text", text), ("--text-file", text_file)) if value]
    if len(given) != 1:
        raise typer.BadParameter("give exactly one of --template, --text or --text-file", param_hint="reply")
    if text_file is not None:
        text = sys.stdin.read() if str(text_file) == "-" else _read_text_file(text_file)
    with _clear_errors():
        if agent_id is None:
            raise SellerreachError(
                "inbox reply needs --agent (or SELLERREACH_AGENT): replies are sent, signed and measured per agent; "
                "example: sellerreach inbox --agent mia reply 3f9a2c --template where_is_my_order"
            )
        settings, engine = _inbox_warehouse(ctx.obj["config"])
        agent = settings.inbox.agent(agent_id)
        _agent_zone(settings, agent_id)  # an unknown agent is refused here
        templates = ReplyTemplates.from_config(settings.inbox.reply_templates)
        with engine.connect() as conn:
            thread_id = resolve_thread_id(conn, thread)
            draft = draft_reply(
                conn,
                thread_id,
                mailboxes=settings.mailboxes,
                templates=templates,
                sent_by=agent_id,
                agent_name=agent.name if agent else agent_id,
                template_id=template,
                text=text,
                variables=_parse_variables(variables or []),
            )
        console.print(
            f"[bold]{escape(draft.subject)}[/]  ({draft.locale}, from {draft.from_address}, "
            f"in reply to the buyer's latest message)",
            highlight=False,
        )
        console.print(draft.body, highlight=False, markup=False)
        for finding in draft.findings:
            colour = "red" if finding.severity == "error" else "yellow"
            console.print(
                f"[{colour}]{finding.severity}[/] {finding.rule_id} ({finding.part} {finding.line}:{finding.column}): "
                f"{escape(finding.message)}. {escape(finding.fix)}",
                highlight=False,
            )
        if draft.is_low_quality:
            console.print(
                f"[yellow]low quality[/]: {draft.similarity:.0%} like each of your previous two replies; "
                "answer this buyer's question in your own words where you can.",
                highlight=False,
            )
        if dry_run:
            verdict = "would be blocked" if draft.is_blocked else "would be sent"
            console.print(f"Dry run: nothing sent; this reply {verdict}.")
            if draft.is_blocked:
                raise typer.Exit(1)
            return
        try:
            sent = send_reply(
                engine,
                draft,
                SesSender.from_config(settings.ses),
                sent_by=agent_id,
                inbox=settings.inbox,
                now=_now(settings),
                actor=_actor(agent_id),
            )
        except ReplyBlocked:
            err_console.print("[bold red]Not sent[/]: fix the errors above (Amazon drops or penalises such mail).")
            raise typer.Exit(1) from None
    console.print(f"Sent: reply {sent.reply_id[:12]} on thread {thread_id[:8]}; the thread's SLA clock has stopped.")


@inbox_app.command("templates")
def inbox_templates(ctx: typer.Context) -> None:
    """List the reply templates and the languages each is written in, and the variables they may use.

    Example: `sellerreach inbox templates`
    """
    from sellerreach.inbox.templates import ReplyTemplates
    from sellerreach.rendering import CONTEXT_VARIABLES

    with _clear_errors():
        settings, _engine = _inbox_warehouse(ctx.obj["config"])
        templates = ReplyTemplates.from_config(settings.inbox.reply_templates)
        catalogue = templates.catalogue()
    table = Table(title=f"Reply templates in {templates.folder}")
    table.add_column("template")
    table.add_column("languages")
    for name, locales in catalogue.items():
        table.add_row(name, " ".join(locales))
    console.print(table)
    console.print("Variables: " + ", ".join(CONTEXT_VARIABLES), highlight=False)


def _parse_variables(pairs: list[str]) -> dict[str, str]:
    from sellerreach.rendering import CONTEXT_VARIABLES

    parsed = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or name.strip() not in CONTEXT_VARIABLES:
            raise typer.BadParameter(
                f"{pair!r}: use name=value with name one of {', '.join(CONTEXT_VARIABLES)}", param_hint="--set"
            )
        parsed[name.strip()] = value
    return parsed


def _read_text_file(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise typer.BadParameter(f"{path}: cannot be read as UTF-8 text ({exc})", param_hint="--text-file") from None


@inbox_app.command("close")
def inbox_close(ctx: typer.Context, thread: ThreadArgument) -> None:
    """Close a thread: its SLA clock stops until the buyer writes again (which reopens it).

    Example: `sellerreach inbox close 3f9a2c`
    """
    _set_status(ctx, thread, "closed")


@inbox_app.command("no-response-needed")
def inbox_no_response_needed(ctx: typer.Context, thread: ThreadArgument) -> None:
    """Mark a thread as needing no answer (e.g. a buyer's thank-you): the SLA clock stops, not counted as missed.

    Example: `sellerreach inbox no-response-needed 3f9a2c`
    """
    _set_status(ctx, thread, "no_response_needed")


def _set_status(ctx: typer.Context, thread: str, status: str) -> None:
    from sellerreach.inbox.queue import resolve_thread_id, set_thread_status

    with _clear_errors():
        settings, engine = _inbox_warehouse(ctx.obj["config"])
        with engine.begin() as conn:
            thread_id = resolve_thread_id(conn, thread)
            row = set_thread_status(
                conn, thread_id, status, settings.inbox, _now(settings), actor=_actor(ctx.obj["agent"])
            )
    clock = "running" if row["sla_due_at"] else "stopped"
    console.print(f"Thread {thread_id[:8]} is now {row['status']}; SLA clock {clock}.")


def _inbox_warehouse(config: str | None) -> tuple[Any, Any]:
    from sellerreach.settings import load_settings
    from sellerreach.warehouse import create_warehouse_engine, ensure_schema

    settings = load_settings(config)
    engine = create_warehouse_engine(settings.warehouse_url)
    ensure_schema(engine)
    return settings, engine


def _now(settings: Any) -> datetime:
    from sellerreach.clock import shared_clock

    return shared_clock(settings.time_scale).now()


def _agent_zone(settings: Any, agent_id: str | None) -> Any:
    from zoneinfo import ZoneInfo

    if agent_id is None:
        return ZoneInfo("UTC")
    agent = settings.inbox.agent(agent_id)
    if agent is None:
        known = ", ".join(a.agent_id for a in settings.inbox.agents) or "(none configured)"
        raise SellerreachError(f"--agent {agent_id!r}: no such agent in [[inbox.agents]]; known: {known}")
    return ZoneInfo(agent.time_zone)


def _actor(agent_id: str | None) -> str:
    return f"agent:{agent_id}" if agent_id else "cli"


def _local(value: datetime | None, zone: Any) -> str:
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else "-"


def _market(marketplace_id: str | None) -> str:
    from sellerreach.marketplaces import MARKETPLACES

    marketplace = MARKETPLACES.get(marketplace_id or "")
    return marketplace.country if marketplace else (marketplace_id or "-")


SYNC_COLUMNS = (
    "account_id",
    "marketplace_id",
    "status",
    "mode",
    "pages",
    "records",
    "inserted",
    "updated",
    "unchanged",
    "quarantined",
    "cursor_at",
)


@contextmanager
def order_progress():
    """A live progress display of orders read per (account, marketplace), fed by sellerreach.progress."""
    from sellerreach.order_sync import PageProgress
    from sellerreach.progress import subscribe

    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.completed:>7.0f} orders"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        bars: dict[tuple[str, str], Any] = {}

        def show(event: object) -> None:
            if isinstance(event, PageProgress):
                key = (event.account_id, event.marketplace_id)
                if key not in bars:
                    bars[key] = progress.add_task(f"{event.account_id} {event.marketplace_id}", total=None)
                progress.advance(bars[key], event.records)

        unsubscribe = subscribe(show)
        try:
            yield
        finally:
            unsubscribe()


def _print_rows(title: str, rows: list[dict], columns: tuple[str, ...] | None = None) -> None:
    if not rows:
        console.print(f"{title}: nothing")
        return
    columns = columns or tuple(rows[0])
    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*(_cell(row.get(c)) for c in columns))
    console.print(table)


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def print_status(current: Any) -> None:
    _print_rows(
        "Accounts",
        current.accounts,
        ("account_id", "region", "auth_status", "auth_checked_at", "access_token_expires_at"),
    )
    _print_rows(
        "Sync state",
        current.sync_state,
        (
            "account_id",
            "marketplace_id",
            "stream",
            "cursor_at",
            "cursor_position",
            "last_run_status",
            "last_run_finished_at",
            "last_run_records",
        ),
    )
    _print_rows("Orders by marketplace", current.orders_by_marketplace)
    _print_rows("Row counts", [{"table": k, "rows": v} for k, v in current.row_counts.items()])


if __name__ == "__main__":
    app()
