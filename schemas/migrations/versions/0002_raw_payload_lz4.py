"""raw payloads compressed with lz4 on PostgreSQL

Revision ID: 0002_raw_payload_lz4
Revises: 0001_foundation
Create Date: 2026-11-23

PostgreSQL compresses large values with pglz unless told otherwise; for the 5-7 KB order payloads pglz is about
half of what a COPY of raw_spapi_orders costs, lz4 about a quarter, for 9% more space (bench/README.md). lz4
needs PostgreSQL 14+ built with it (Debian's and the official images are); elsewhere, and on SQLite, this is a
no-op. It changes how new values are stored, never what is read back.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002_raw_payload_lz4"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LZ4_AVAILABLE = """
SELECT current_setting('server_version_num')::int >= 140000
   AND EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals))
"""


def _set_compression(method: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not bind.exec_driver_sql(_LZ4_AVAILABLE).scalar():
        return
    op.execute(f"ALTER TABLE raw_spapi_orders ALTER COLUMN payload SET COMPRESSION {method}")


def upgrade() -> None:
    _set_compression("lz4")


def downgrade() -> None:
    _set_compression("pglz")
