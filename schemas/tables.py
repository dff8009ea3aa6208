"""The warehouse contract (DESIGN.md): every table here is public and analysts query it with SQL.

Naming follows dbt style: raw_* keep the payload as received, dim_* are entities, fct_* facts/events.
Timestamps are UTC (`*_at`), money is integer minor units (`*_cents`, JPY has none) beside `currency`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB


class UTCDateTime(sa.types.TypeDecorator):
    """Stores UTC; always hands back timezone-aware UTC datetimes, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONDoc = sa.JSON().with_variant(JSONB(), "postgresql")
# raw payloads are kept as received: PostgreSQL's json keeps the text (and loads faster than jsonb);
# cast to jsonb when querying deeply: payload::jsonb @> '{"programs": ["PRIME"]}'
RawJSON = sa.JSON()

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("region", sa.String(8), nullable=False),
    sa.Column("marketplace_ids", JSONDoc, nullable=False),
    # unknown -> authorised | needs_reauth; needs_reauth is cleared by the next successful token exchange
    sa.Column("auth_status", sa.String(16), nullable=False, server_default="unknown"),
    sa.Column("auth_error", sa.Text),
    sa.Column("auth_checked_at", UTCDateTime),
    sa.Column("access_token_expires_at", UTCDateTime),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

sync_state = sa.Table(
    "sync_state",
    metadata,
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("stream", sa.String(64), primary_key=True),
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("marketplace_id", sa.String(32), primary_key=True),
    # high-water mark: everything updated before it has been loaded
    sa.Column("cursor_at", UTCDateTime),
    sa.Column("overlap_seconds", sa.Integer, nullable=False, server_default="0"),
    # streams read by position instead of time (mailbox folders): the epoch (IMAP UIDVALIDITY) and the last
    # position read in it (the highest UID); a new epoch means every position is new
    sa.Column("cursor_epoch", sa.BigInteger),
    sa.Column("cursor_position", sa.BigInteger),
    # the window being read and the page to resume from, so a crash after page k resumes at page k+1
    sa.Column("window_start_at", UTCDateTime),
    sa.Column("window_end_at", UTCDateTime),
    sa.Column("resume_token", sa.Text),
    sa.Column("last_run_started_at", UTCDateTime),
    sa.Column("last_run_finished_at", UTCDateTime),
    sa.Column("last_run_status", sa.String(16)),
    sa.Column("last_run_records", sa.Integer),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

raw_spapi_orders = sa.Table(
    "raw_spapi_orders",
    metadata,
    sa.Column("amazon_order_id", sa.String(32), primary_key=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("marketplace_id", sa.String(32)),
    sa.Column("last_updated_at", UTCDateTime, nullable=False),
    sa.Column("payload", RawJSON, nullable=False),
    sa.Column("payload_sha256", sa.String(64), nullable=False),
    sa.Column("loaded_at", UTCDateTime, nullable=False),
)

fct_orders = sa.Table(
    "fct_orders",
    metadata,
    sa.Column("amazon_order_id", sa.String(32), primary_key=True),
    sa.Column("account_id", sa.String(64), nullable=False, index=True),
    sa.Column("marketplace_id", sa.String(32), nullable=False),
    sa.Column("order_status", sa.String(32), nullable=False),
    sa.Column("fulfillment_channel", sa.String(8), nullable=False),  # AFN (Amazon) or MFN (merchant)
    sa.Column("fulfillment_service_level", sa.String(32)),
    sa.Column("purchased_at", UTCDateTime, nullable=False),
    sa.Column("last_updated_at", UTCDateTime, nullable=False, index=True),
    sa.Column("latest_ship_at", UTCDateTime),
    sa.Column("shipped_at", UTCDateTime),
    sa.Column("earliest_delivery_at", UTCDateTime),
    sa.Column("latest_delivery_at", UTCDateTime),
    # the model has no delivery timestamp: the last-update time of the first version whose packages all show
    # DELIVERED, kept from then on
    sa.Column("delivered_at", UTCDateTime),
    sa.Column("order_total_cents", sa.BigInteger),
    sa.Column("currency", sa.String(3)),
    sa.Column("item_count", sa.Integer, nullable=False),
    sa.Column("units_ordered", sa.Integer, nullable=False),
    sa.Column("is_business_order", sa.Boolean, nullable=False),
    sa.Column("is_prime", sa.Boolean, nullable=False),
    sa.Column("is_cancelled", sa.Boolean, nullable=False),
    sa.Column("replaces_order_id", sa.String(32)),  # replacement or exchange of an earlier order
    sa.Column("buyer_id", sa.String(64), index=True),
    sa.Column("loaded_at", UTCDateTime, nullable=False),
    # raw_spapi_orders.payload_sha256 of the version loaded, so a load compares versions without reading the raw
    # table; null only where migration 0007 found no raw payload (the order's next load rewrites the row)
    sa.Column("payload_sha256", sa.String(64)),
    # hash of the order's fct_order_items rows as mapped: a new version whose items hash the same leaves the
    # stored item rows alone; null for rows loaded before migration 0008 (their next new version rewrites them)
    sa.Column("items_sha256", sa.String(64)),
)

fct_order_items = sa.Table(
    "fct_order_items",
    metadata,
    sa.Column("amazon_order_id", sa.String(32), primary_key=True),
    sa.Column("order_item_id", sa.String(32), primary_key=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("marketplace_id", sa.String(32), nullable=False),
    sa.Column("asin", sa.String(16)),
    sa.Column("seller_sku", sa.String(64)),
    sa.Column("title", sa.Text),
    sa.Column("category", sa.String(64)),  # not in the Orders model; filled from the catalogue when known
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("quantity_shipped", sa.Integer),
    sa.Column("item_price_cents", sa.BigInteger),  # unit price
    sa.Column("item_proceeds_cents", sa.BigInteger),  # what the seller receives for the line
    sa.Column("currency", sa.String(3)),
    sa.Column("condition", sa.String(32)),
    sa.Column("is_cancelled", sa.Boolean, nullable=False),
    sa.Column("promotion_ids", sa.Text),
)

# Buyer features (sellerreach/segments/features.py), columns of dim_buyers named as segment rules use them.
FEATURE_COLUMNS = (
    sa.Column("orders_30d", sa.Integer),
    sa.Column("orders_90d", sa.Integer),
    sa.Column("orders_365d", sa.Integer),
    sa.Column("orders_total", sa.Integer),
    sa.Column("recency_days", sa.Float),
    sa.Column("aov_cents", sa.Float),  # in `currency`, the one most of the buyer's orders are in
    sa.Column("lifetime_value_cents", sa.BigInteger),
    sa.Column("currency", sa.String(3)),
    sa.Column("top_category", sa.String(64)),
    sa.Column("top_asin", sa.String(16)),
    sa.Column("distinct_asins", sa.Integer),
    sa.Column("returns", sa.Integer),  # replacement orders
    sa.Column("refunds", sa.Integer),  # inbox threads tagged refund
    sa.Column("cancellations", sa.Integer),
    sa.Column("was_solicited", sa.Boolean),
    sa.Column("was_invited", sa.Boolean),
    sa.Column("has_negative_feedback", sa.Boolean),
    sa.Column("has_a_to_z_claim", sa.Boolean),
    sa.Column("open_complaint_threads", sa.Integer),
)

dim_buyers = sa.Table(
    "dim_buyers",
    metadata,
    sa.Column("buyer_id", sa.String(64), primary_key=True),  # stable hash of the relay address
    # personal data: kept in the warehouse only (here, fct_buyer_messages, and inside quarantined raw records),
    # never in logs, events or artifacts
    sa.Column("relay_email", sa.String(320)),
    sa.Column("buyer_name", sa.Text),
    sa.Column("company_name", sa.Text),
    sa.Column("preferred_language", sa.String(16)),
    sa.Column("is_business_buyer", sa.Boolean, nullable=False),
    sa.Column("first_order_at", UTCDateTime, nullable=False),
    sa.Column("last_order_at", UTCDateTime, nullable=False),
    # features and the primary segment, computed nightly by segment_buyers (null until its first run)
    *FEATURE_COLUMNS,
    sa.Column("segment", sa.String(64)),  # the first configured segment the buyer belongs to ("" none)
    sa.Column("features_computed_at", UTCDateTime),
)

quarantine_records = sa.Table(
    "quarantine_records",
    metadata,
    sa.Column("quarantine_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("stream", sa.String(64), nullable=False),
    sa.Column("account_id", sa.String(64)),
    sa.Column("marketplace_id", sa.String(32)),
    sa.Column("record_key", sa.String(128)),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("raw_payload", sa.Text, nullable=False),
    sa.Column("payload_sha256", sa.String(64), nullable=False),
    sa.Column("quarantined_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("source", "stream", "payload_sha256"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("audit_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("occurred_at", UTCDateTime, nullable=False),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("object_type", sa.String(32), nullable=False),
    sa.Column("object_id", sa.String(128), nullable=False),
    sa.Column("before", JSONDoc),
    sa.Column("after", JSONDoc),
    sa.Column("detail", sa.Text),
)

# -- the inbox (buyer messages arrive as relay mail; sellerreach/inbox) ------------------------------------------

fct_buyer_messages = sa.Table(
    "fct_buyer_messages",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("message_id", sa.Text, primary_key=True),  # the Message-ID header (synthesised when missing)
    sa.Column("thread_id", sa.String(32), nullable=False, index=True),
    sa.Column("marketplace_id", sa.String(32)),
    sa.Column("amazon_order_id", sa.String(32), index=True),
    sa.Column("buyer_id", sa.String(64), index=True),
    sa.Column("relay_email", sa.String(320)),  # personal data: only in the warehouse, never in logs or artifacts
    sa.Column("direction", sa.String(3), nullable=False),  # in (buyer) | out (seller)
    sa.Column("sent_by", sa.String(64)),  # out: the agent or rule that sent it through sellerreach, else null
    sa.Column("received_at", UTCDateTime, nullable=False, index=True),  # IMAP INTERNALDATE / Maildir delivery
    sa.Column("sent_at", UTCDateTime),  # the Date header as written by the sender
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # the author's text, without relay boilerplate or quoted history
    sa.Column("language", sa.String(8)),
    sa.Column("attachments", JSONDoc, nullable=False),  # [{filename, content_type, size_bytes}]; never stored
    sa.Column("in_reply_to", sa.Text),
    sa.Column("mailbox_id", sa.String(64), nullable=False),
    sa.Column("folder", sa.String(128), nullable=False),
    sa.Column("loaded_at", UTCDateTime, nullable=False),
)

dim_threads = sa.Table(
    "dim_threads",
    metadata,
    sa.Column("thread_id", sa.String(32), primary_key=True),  # hash of (account, buyer, order or subject)
    sa.Column("account_id", sa.String(64), nullable=False, index=True),
    sa.Column("marketplace_id", sa.String(32)),
    sa.Column("amazon_order_id", sa.String(32)),
    sa.Column("buyer_id", sa.String(64)),
    sa.Column("subject", sa.Text, nullable=False),  # of the first message
    sa.Column("language", sa.String(8)),  # of the buyer's latest message
    # open | answered | closed | no_response_needed; a new buyer message reopens a closed thread
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("status_changed_at", UTCDateTime, nullable=False),
    sa.Column("owner", sa.String(64)),  # agent id
    sa.Column("tags", JSONDoc, nullable=False),  # sorted list of strings
    sa.Column("message_count", sa.Integer, nullable=False),
    sa.Column("opened_at", UTCDateTime, nullable=False),
    sa.Column("last_message_at", UTCDateTime, nullable=False),
    sa.Column("last_inbound_at", UTCDateTime),
    sa.Column("last_outbound_at", UTCDateTime),
    sa.Column("first_response_at", UTCDateTime),
    # the SLA clock: started by the oldest unanswered buyer message, stopped by a reply or "no response needed"
    sa.Column("sla_started_at", UTCDateTime),
    sa.Column("sla_due_at", UTCDateTime, index=True),
    sa.Column("is_breached", sa.Boolean, nullable=False),
    sa.Column("is_near_breach", sa.Boolean, nullable=False),
    sa.Column("breaches", sa.Integer, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

fct_inbox_alerts = sa.Table(
    "fct_inbox_alerts",
    metadata,
    sa.Column("alert_id", sa.String(32), primary_key=True),  # hash of what raised it: one alert, one row
    sa.Column("thread_id", sa.String(32), nullable=False, index=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("marketplace_id", sa.String(32)),
    sa.Column("kind", sa.String(16), nullable=False),  # keyword | near_breach | breach
    sa.Column("rule_id", sa.String(48)),  # keyword alerts: the rule that matched
    sa.Column("message_id", sa.Text),  # keyword alerts: the message that matched
    sa.Column("sla_due_at", UTCDateTime),  # SLA alerts: the due time of the clock period
    sa.Column("raised_at", UTCDateTime, nullable=False),
    sa.Column("emitted_at", UTCDateTime),  # when the Prefect event went out (null: not yet)
)

rpt_inbox_daily = sa.Table(
    "rpt_inbox_daily",
    metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("marketplace_id", sa.String(32), primary_key=True),  # "" when the marketplace is not known
    sa.Column("day", sa.Date, primary_key=True),  # UTC day of the buyer's message
    sa.Column("messages_in", sa.Integer, nullable=False),
    sa.Column("messages_out", sa.Integer, nullable=False),
    sa.Column("threads_opened", sa.Integer, nullable=False),
    # response periods (a run of the SLA clock) started this day that were answered or are past due by now
    sa.Column("response_periods", sa.Integer, nullable=False),
    sa.Column("responded", sa.Integer, nullable=False),
    sa.Column("responded_within_sla", sa.Integer, nullable=False),
    sa.Column("response_rate_within_sla", sa.Float),  # Amazon's target: 0.9 or more; null: nothing due yet
    sa.Column("first_response_avg_hours", sa.Float),  # Amazon's target: 12 h or less
    sa.Column("first_response_p50_hours", sa.Float),
    sa.Column("first_response_p90_hours", sa.Float),
    sa.Column("breaches", sa.Integer, nullable=False),
    sa.Column("unanswered", sa.Integer, nullable=False),  # periods still waiting for a reply
    # replies sent through sellerreach this day that were over 85% like each of the agent's previous two
    sa.Column("low_quality_replies", sa.Integer, nullable=False, server_default="0"),
    sa.Column("computed_at", UTCDateTime, nullable=False),
)

fct_replies = sa.Table(
    # one row per reply sellerreach sent or tried to send (an agent's `inbox reply` or an auto-reply): the
    # ledger that makes a second auto-reply impossible and joins SES events back (every mail is tagged reply_id)
    "fct_replies",
    metadata,
    sa.Column("reply_id", sa.String(32), primary_key=True),  # auto-replies: a hash of the thread (one each)
    sa.Column("thread_id", sa.String(32), nullable=False, index=True),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("marketplace_id", sa.String(32)),
    sa.Column("amazon_order_id", sa.String(32)),
    sa.Column("kind", sa.String(8), nullable=False),  # manual | auto
    sa.Column("sent_by", sa.String(64), nullable=False),  # agent id, or auto:<rule id>
    sa.Column("auto_rule_id", sa.String(48)),
    sa.Column("template_id", sa.String(64)),  # null: the agent's own text
    sa.Column("locale", sa.String(8), nullable=False),
    # claimed (SES not yet confirmed; one left claimed after a crash is reconciled from SES events, never
    # re-sent) -> sent | failed; blocked: the compliance rules found an error and nothing was sent
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("subject", sa.Text, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("from_address", sa.String(320), nullable=False),
    sa.Column("in_reply_to", sa.Text),
    sa.Column("findings", JSONDoc, nullable=False),  # compliance findings [{rule_id, severity, ...}]
    sa.Column("similarity", sa.Float),  # to the least similar of the agent's previous two replies
    sa.Column("is_low_quality", sa.Boolean, nullable=False),
    sa.Column("ses_message_id", sa.String(128)),
    sa.Column("message_id", sa.Text),  # the Message-ID the buyer sees (SES's), also in fct_buyer_messages
    sa.Column("error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime, index=True),
)

dim_templates = sa.Table(
    # one row per message template file: its current content's lint verdict and the version last approved
    "dim_templates",
    metadata,
    sa.Column("template_key", sa.String(200), primary_key=True),  # <folder>/<name>.<locale>.txt.j2
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("locale", sa.String(8), nullable=False),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("content_sha256", sa.String(64), nullable=False),  # of the file as last linted
    sa.Column("status", sa.String(8), nullable=False),  # passed | failed (any error)
    sa.Column("errors", sa.Integer, nullable=False),
    sa.Column("warnings", sa.Integer, nullable=False),
    sa.Column("linted_at", UTCDateTime, nullable=False),
    # the last version that passed: what may be sent; a changed file is linted again before any send
    sa.Column("approved_sha256", sa.String(64)),
    sa.Column("approved_at", UTCDateTime),
)

fct_lint_findings = sa.Table(
    # one row per finding per template version (a version is its content hash): linting it again adds nothing
    "fct_lint_findings",
    metadata,
    sa.Column("template_key", sa.String(200), primary_key=True),
    sa.Column("content_sha256", sa.String(64), primary_key=True),
    sa.Column("rule_id", sa.String(48), primary_key=True),
    sa.Column("line", sa.Integer, primary_key=True),
    sa.Column("column", sa.Integer, primary_key=True),
    sa.Column("severity", sa.String(8), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("found_at", UTCDateTime, nullable=False),
)

fct_buyer_segments = sa.Table(
    # segment membership history: a buyer is in every segment whose rule matches; valid_to null = still in it
    "fct_buyer_segments",
    metadata,
    sa.Column("buyer_id", sa.String(64), primary_key=True),
    sa.Column("segment", sa.String(64), primary_key=True),
    sa.Column("valid_from", UTCDateTime, primary_key=True),
    sa.Column("valid_to", UTCDateTime),
    sa.Column("is_primary", sa.Boolean, nullable=False),  # the buyer's primary segment when it was entered
)
