"""foundation: accounts, sync state, raw and fact orders, buyers, quarantine, audit log

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-23

Written by hand to match schemas/tables.py exactly (tests/integration/test_migrations.py proves it on SQLite
and PostgreSQL). Migrations never import schemas.tables: a revision must keep describing the schema as it was.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_foundation"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# what schemas.tables.UTCDateTime and JSONDoc store: the type decorator only converts values in Python
UTC_DATETIME = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "accounts",
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("region", sa.String(8), nullable=False),
        sa.Column("marketplace_ids", JSON_DOC, nullable=False),
        sa.Column("auth_status", sa.String(16), nullable=False, server_default="unknown"),
        sa.Column("auth_error", sa.Text()),
        sa.Column("auth_checked_at", UTC_DATETIME),
        sa.Column("access_token_expires_at", UTC_DATETIME),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("account_id", name="pk_accounts"),
    )

    op.create_table(
        "sync_state",
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("marketplace_id", sa.String(32), nullable=False),
        sa.Column("cursor_at", UTC_DATETIME),
        sa.Column("overlap_seconds", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("window_start_at", UTC_DATETIME),
        sa.Column("window_end_at", UTC_DATETIME),
        sa.Column("resume_token", sa.Text()),
        sa.Column("last_run_started_at", UTC_DATETIME),
        sa.Column("last_run_finished_at", UTC_DATETIME),
        sa.Column("last_run_status", sa.String(16)),
        sa.Column("last_run_records", sa.Integer()),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("source", "stream", "account_id", "marketplace_id", name="pk_sync_state"),
    )

    op.create_table(
        "raw_spapi_orders",
        sa.Column("amazon_order_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("marketplace_id", sa.String(32)),
        sa.Column("last_updated_at", UTC_DATETIME, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),  # json, not jsonb: kept as received
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("loaded_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("amazon_order_id", name="pk_raw_spapi_orders"),
    )

    op.create_table(
        "fct_orders",
        sa.Column("amazon_order_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("marketplace_id", sa.String(32), nullable=False),
        sa.Column("order_status", sa.String(32), nullable=False),
        sa.Column("fulfillment_channel", sa.String(8), nullable=False),
        sa.Column("fulfillment_service_level", sa.String(32)),
        sa.Column("purchased_at", UTC_DATETIME, nullable=False),
        sa.Column("last_updated_at", UTC_DATETIME, nullable=False),
        sa.Column("latest_ship_at", UTC_DATETIME),
        sa.Column("shipped_at", UTC_DATETIME),
        sa.Column("earliest_delivery_at", UTC_DATETIME),
        sa.Column("latest_delivery_at", UTC_DATETIME),
        sa.Column("delivered_at", UTC_DATETIME),
        sa.Column("order_total_cents", sa.BigInteger()),
        sa.Column("currency", sa.String(3)),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("units_ordered", sa.Integer(), nullable=False),
        sa.Column("is_business_order", sa.Boolean(), nullable=False),
        sa.Column("is_prime", sa.Boolean(), nullable=False),
        sa.Column("is_cancelled", sa.Boolean(), nullable=False),
        sa.Column("replaces_order_id", sa.String(32)),
        sa.Column("buyer_id", sa.String(64)),
        sa.Column("loaded_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("amazon_order_id", name="pk_fct_orders"),
    )
    op.create_index("ix_fct_orders_account_id", "fct_orders", ["account_id"])
    op.create_index("ix_fct_orders_last_updated_at", "fct_orders", ["last_updated_at"])
    op.create_index("ix_fct_orders_buyer_id", "fct_orders", ["buyer_id"])

    op.create_table(
        "fct_order_items",
        sa.Column("amazon_order_id", sa.String(32), nullable=False),
        sa.Column("order_item_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("marketplace_id", sa.String(32), nullable=False),
        sa.Column("asin", sa.String(16)),
        sa.Column("seller_sku", sa.String(64)),
        sa.Column("title", sa.Text()),
        sa.Column("category", sa.String(64)),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("quantity_shipped", sa.Integer()),
        sa.Column("item_price_cents", sa.BigInteger()),
        sa.Column("item_proceeds_cents", sa.BigInteger()),
        sa.Column("currency", sa.String(3)),
        sa.Column("condition", sa.String(32)),
        sa.Column("is_cancelled", sa.Boolean(), nullable=False),
        sa.Column("promotion_ids", sa.Text()),
        sa.PrimaryKeyConstraint("amazon_order_id", "order_item_id", name="pk_fct_order_items"),
    )

    op.create_table(
        "dim_buyers",
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("relay_email", sa.String(320)),
        sa.Column("buyer_name", sa.Text()),
        sa.Column("company_name", sa.Text()),
        sa.Column("preferred_language", sa.String(16)),
        sa.Column("is_business_buyer", sa.Boolean(), nullable=False),
        sa.Column("first_order_at", UTC_DATETIME, nullable=False),
        sa.Column("last_order_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("buyer_id", name="pk_dim_buyers"),
    )

    op.create_table(
        "quarantine_records",
        sa.Column("quarantine_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(64)),
        sa.Column("marketplace_id", sa.String(32)),
        sa.Column("record_key", sa.String(128)),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw_payload", sa.Text(), nullable=False),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("quarantined_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("quarantine_id", name="pk_quarantine_records"),
        sa.UniqueConstraint(
            "source", "stream", "payload_sha256", name="uq_quarantine_records_source_stream_payload_sha256"
        ),
    )

    op.create_table(
        "audit_log",
        sa.Column("audit_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("occurred_at", UTC_DATETIME, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("object_type", sa.String(32), nullable=False),
        sa.Column("object_id", sa.String(128), nullable=False),
        sa.Column("before", JSON_DOC),
        sa.Column("after", JSON_DOC),
        sa.Column("detail", sa.Text()),
        sa.PrimaryKeyConstraint("audit_id", name="pk_audit_log"),
    )


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("quarantine_records")
    op.drop_table("dim_buyers")
    op.drop_table("fct_order_items")
    op.drop_index("ix_fct_orders_buyer_id", table_name="fct_orders")
    op.drop_index("ix_fct_orders_last_updated_at", table_name="fct_orders")
    op.drop_index("ix_fct_orders_account_id", table_name="fct_orders")
    op.drop_table("fct_orders")
    op.drop_table("raw_spapi_orders")
    op.drop_table("sync_state")
    op.drop_table("accounts")
