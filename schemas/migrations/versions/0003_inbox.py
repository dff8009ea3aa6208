"""inbox: buyer messages, threads, inbox alerts, the daily inbox report; position cursors in sync_state

Revision ID: 0003_inbox
Revises: 0002_raw_payload_lz4
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003_inbox"
down_revision: str | None = "0002_raw_payload_lz4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("sync_state") as batch:
        batch.add_column(sa.Column("cursor_epoch", sa.BigInteger()))
        batch.add_column(sa.Column("cursor_position", sa.BigInteger()))

    op.create_table(
        "fct_buyer_messages",
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("message_id", sa.Text(), nullable=False),
        sa.Column("thread_id", sa.String(32), nullable=False),
        sa.Column("marketplace_id", sa.String(32)),
        sa.Column("amazon_order_id", sa.String(32)),
        sa.Column("buyer_id", sa.String(64)),
        sa.Column("relay_email", sa.String(320)),
        sa.Column("direction", sa.String(3), nullable=False),
        sa.Column("sent_by", sa.String(64)),
        sa.Column("received_at", UTC_DATETIME, nullable=False),
        sa.Column("sent_at", UTC_DATETIME),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("language", sa.String(8)),
        sa.Column("attachments", JSON_DOC, nullable=False),
        sa.Column("in_reply_to", sa.Text()),
        sa.Column("mailbox_id", sa.String(64), nullable=False),
        sa.Column("folder", sa.String(128), nullable=False),
        sa.Column("loaded_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "message_id", name="pk_fct_buyer_messages"),
    )
    for column in ("thread_id", "amazon_order_id", "buyer_id", "received_at"):
        op.create_index(f"ix_fct_buyer_messages_{column}", "fct_buyer_messages", [column])

    op.create_table(
        "dim_threads",
        sa.Column("thread_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("marketplace_id", sa.String(32)),
        sa.Column("amazon_order_id", sa.String(32)),
        sa.Column("buyer_id", sa.String(64)),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("language", sa.String(8)),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("status_changed_at", UTC_DATETIME, nullable=False),
        sa.Column("owner", sa.String(64)),
        sa.Column("tags", JSON_DOC, nullable=False),
        sa.Column("message_count", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTC_DATETIME, nullable=False),
        sa.Column("last_message_at", UTC_DATETIME, nullable=False),
        sa.Column("last_inbound_at", UTC_DATETIME),
        sa.Column("last_outbound_at", UTC_DATETIME),
        sa.Column("first_response_at", UTC_DATETIME),
        sa.Column("sla_started_at", UTC_DATETIME),
        sa.Column("sla_due_at", UTC_DATETIME),
        sa.Column("is_breached", sa.Boolean(), nullable=False),
        sa.Column("is_near_breach", sa.Boolean(), nullable=False),
        sa.Column("breaches", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("thread_id", name="pk_dim_threads"),
    )
    op.create_index("ix_dim_threads_account_id", "dim_threads", ["account_id"])
    op.create_index("ix_dim_threads_sla_due_at", "dim_threads", ["sla_due_at"])

    op.create_table(
        "fct_inbox_alerts",
        sa.Column("alert_id", sa.String(32), nullable=False),
        sa.Column("thread_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("marketplace_id", sa.String(32)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("rule_id", sa.String(48)),
        sa.Column("message_id", sa.Text()),
        sa.Column("sla_due_at", UTC_DATETIME),
        sa.Column("raised_at", UTC_DATETIME, nullable=False),
        sa.Column("emitted_at", UTC_DATETIME),
        sa.PrimaryKeyConstraint("alert_id", name="pk_fct_inbox_alerts"),
    )
    op.create_index("ix_fct_inbox_alerts_thread_id", "fct_inbox_alerts", ["thread_id"])

    op.create_table(
        "rpt_inbox_daily",
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("marketplace_id", sa.String(32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("messages_in", sa.Integer(), nullable=False),
        sa.Column("messages_out", sa.Integer(), nullable=False),
        sa.Column("threads_opened", sa.Integer(), nullable=False),
        sa.Column("response_periods", sa.Integer(), nullable=False),
        sa.Column("responded", sa.Integer(), nullable=False),
        sa.Column("responded_within_sla", sa.Integer(), nullable=False),
        sa.Column("response_rate_within_sla", sa.Float()),
        sa.Column("first_response_avg_hours", sa.Float()),
        sa.Column("first_response_p50_hours", sa.Float()),
        sa.Column("first_response_p90_hours", sa.Float()),
        sa.Column("breaches", sa.Integer(), nullable=False),
        sa.Column("unanswered", sa.Integer(), nullable=False),
        sa.Column("computed_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("account_id", "marketplace_id", "day", name="pk_rpt_inbox_daily"),
    )


def downgrade() -> None:
    op.drop_table("rpt_inbox_daily")
    op.drop_table("fct_inbox_alerts")
    op.drop_table("dim_threads")
    op.drop_table("fct_buyer_messages")
    with op.batch_alter_table("sync_state") as batch:
        batch.drop_column("cursor_position")
        batch.drop_column("cursor_epoch")
