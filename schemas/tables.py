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

dim_buyers = sa.Table(
    "dim_buyers",
    metadata,
    sa.Column("buyer_id", sa.String(64), primary_key=True),  # stable hash of the relay address
    sa.Column("relay_email", sa.String(320)),  # personal data: only ever here, never in logs or artifacts
    sa.Column("buyer_name", sa.Text),
    sa.Column("company_name", sa.Text),
    sa.Column("preferred_language", sa.String(16)),
    sa.Column("is_business_buyer", sa.Boolean, nullable=False),
    sa.Column("first_order_at", UTCDateTime, nullable=False),
    sa.Column("last_order_at", UTCDateTime, nullable=False),
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
