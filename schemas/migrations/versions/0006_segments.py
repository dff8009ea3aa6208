"""segments: buyer features and the primary segment on dim_buyers; fct_buyer_segments (membership history)

Revision ID: 0006_segments
Revises: 0005_template_lint
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_segments"
down_revision: str | None = "0005_template_lint"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
FEATURES = (
    ("orders_30d", sa.Integer()),
    ("orders_90d", sa.Integer()),
    ("orders_365d", sa.Integer()),
    ("orders_total", sa.Integer()),
    ("recency_days", sa.Float()),
    ("aov_cents", sa.Float()),
    ("lifetime_value_cents", sa.BigInteger()),
    ("currency", sa.String(3)),
    ("top_category", sa.String(64)),
    ("top_asin", sa.String(16)),
    ("distinct_asins", sa.Integer()),
    ("returns", sa.Integer()),
    ("refunds", sa.Integer()),
    ("cancellations", sa.Integer()),
    ("was_solicited", sa.Boolean()),
    ("was_invited", sa.Boolean()),
    ("has_negative_feedback", sa.Boolean()),
    ("has_a_to_z_claim", sa.Boolean()),
    ("open_complaint_threads", sa.Integer()),
)


def upgrade() -> None:
    with op.batch_alter_table("dim_buyers") as batch:
        for name, type_ in FEATURES:
            batch.add_column(sa.Column(name, type_))
        batch.add_column(sa.Column("segment", sa.String(64)))
        batch.add_column(sa.Column("features_computed_at", UTC_DATETIME))
    op.create_table(
        "fct_buyer_segments",
        sa.Column("buyer_id", sa.String(64), nullable=False),
        sa.Column("segment", sa.String(64), nullable=False),
        sa.Column("valid_from", UTC_DATETIME, nullable=False),
        sa.Column("valid_to", UTC_DATETIME),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("buyer_id", "segment", "valid_from", name="pk_fct_buyer_segments"),
    )


def downgrade() -> None:
    op.drop_table("fct_buyer_segments")
    with op.batch_alter_table("dim_buyers") as batch:
        batch.drop_column("features_computed_at")
        batch.drop_column("segment")
        for name, _type in reversed(FEATURES):
            batch.drop_column(name)
