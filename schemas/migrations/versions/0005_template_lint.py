"""template lint: dim_templates (verdict and approved version per template) and fct_lint_findings

Revision ID: 0005_template_lint
Revises: 0004_replies
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_template_lint"
down_revision: str | None = "0004_replies"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dim_templates",
        sa.Column("template_key", sa.String(200), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("linted_at", UTC_DATETIME, nullable=False),
        sa.Column("approved_sha256", sa.String(64)),
        sa.Column("approved_at", UTC_DATETIME),
        sa.PrimaryKeyConstraint("template_key", name="pk_dim_templates"),
    )
    op.create_table(
        "fct_lint_findings",
        sa.Column("template_key", sa.String(200), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(48), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("column", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("found_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint(
            "template_key", "content_sha256", "rule_id", "line", "column", name="pk_fct_lint_findings"
        ),
    )


def downgrade() -> None:
    op.drop_table("fct_lint_findings")
    op.drop_table("dim_templates")
