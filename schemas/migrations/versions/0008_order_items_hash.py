"""fct_orders.items_sha256: the hash of the item rows each order row was loaded with

Revision ID: 0008_order_items_hash
Revises: 0007_order_payload_hash
Create Date: 2026-11-24

A new version of an order replaced all of its fct_order_items rows, although most new versions (a status move,
a delivery) leave the items as they were. With the hash of the mapped item rows beside the order, `load_orders`
rewrites an order's items only when they differ (bench/README.md, "Load"). The hash is of the rows the mapping
makes, which SQL cannot recompute, so existing rows keep a null: their order's next new version rewrites the
items once and stores the hash.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008_order_items_hash"
down_revision: str | None = "0007_order_payload_hash"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fct_orders") as batch:
        batch.add_column(sa.Column("items_sha256", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("fct_orders") as batch:
        batch.drop_column("items_sha256")
