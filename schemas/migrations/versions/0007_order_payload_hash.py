"""fct_orders.payload_sha256: the hash of the raw payload each order row was made from

Revision ID: 0007_order_payload_hash
Revises: 0006_segments
Create Date: 2026-11-24

`load_orders` decides which orders changed by their payload hash, last-update time and first delivery time.
The hash lived only in raw_spapi_orders, so every batch joined that wide table (6-7 KB payloads) to fct_orders;
with the hash beside the other two the lookup reads fct_orders alone (bench/README.md, "Load"). The column is
nullable, so adding it changes only the catalogue; existing rows then take the hash from their raw payload in one
UPDATE. A row left without one reads as changed, and the next load of that order rewrites it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_order_payload_hash"
down_revision: str | None = "0006_segments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("fct_orders") as batch:
        batch.add_column(sa.Column("payload_sha256", sa.String(64)))
    op.execute(
        "UPDATE fct_orders SET payload_sha256 = (SELECT r.payload_sha256 FROM raw_spapi_orders AS r"
        " WHERE r.amazon_order_id = fct_orders.amazon_order_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("fct_orders") as batch:
        batch.drop_column("payload_sha256")
