"""replies: the fct_replies ledger and low-quality replies in rpt_inbox_daily

Revision ID: 0004_replies
Revises: 0003_inbox
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_replies"
down_revision: str | None = "0003_inbox"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
JSON_DOC = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "fct_replies",
        sa.Column("reply_id", sa.String(32), nullable=False),
        sa.Column("thread_id", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("marketplace_id", sa.String(32)),
        sa.Column("amazon_order_id", sa.String(32)),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("sent_by", sa.String(64), nullable=False),
        sa.Column("auto_rule_id", sa.String(48)),
        sa.Column("template_id", sa.String(64)),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("from_address", sa.String(320), nullable=False),
        sa.Column("in_reply_to", sa.Text()),
        sa.Column("findings", JSON_DOC, nullable=False),
        sa.Column("similarity", sa.Float()),
        sa.Column("is_low_quality", sa.Boolean(), nullable=False),
        sa.Column("ses_message_id", sa.String(128)),
        sa.Column("message_id", sa.Text()),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("sent_at", UTC_DATETIME),
        sa.PrimaryKeyConstraint("reply_id", name="pk_fct_replies"),
    )
    op.create_index("ix_fct_replies_thread_id", "fct_replies", ["thread_id"])
    op.create_index("ix_fct_replies_sent_at", "fct_replies", ["sent_at"])
    with op.batch_alter_table("rpt_inbox_daily") as batch:
        batch.add_column(sa.Column("low_quality_replies", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("rpt_inbox_daily") as batch:
        batch.drop_column("low_quality_replies")
    op.drop_table("fct_replies")
