"""Alembic migrations of the warehouse (schemas/tables.py), driven from code: no alembic.ini.

`upgrade(engine)` is what the CLI, the flows and the tests call before touching the warehouse; it is a no-op
on an up-to-date database. New revisions go in versions/ (for `alembic revision`, build the Config with
`alembic_config()`).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

__all__ = ["alembic_config", "current_revision", "head_revision", "upgrade"]

_SCRIPT_LOCATION = Path(__file__).resolve().parent
# any constant works: it only has to be the same in every process that migrates the same PostgreSQL database
_PG_MIGRATION_LOCK_KEY = 0x5E11E77EAC4


def alembic_config(connection: sa.Connection | None = None) -> Config:
    """An Alembic Config pointing at this package; env.py runs on `connection` when one is given."""
    config = Config()
    config.set_main_option("script_location", str(_SCRIPT_LOCATION))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def upgrade(engine: sa.engine.Engine, revision: str = "head") -> None:
    """Migrate the warehouse behind `engine` to `revision` (default: the newest).

    Safe on an empty database and a no-op on an up-to-date one. On PostgreSQL a transaction-level advisory
    lock serialises concurrent callers (two flows starting at once), so the second sees the first's result.
    Raises alembic.util.CommandError for an unknown revision.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY})
        command.upgrade(alembic_config(connection), revision)


def current_revision(engine: sa.engine.Engine) -> str | None:
    """The revision the warehouse is at, or None when it was never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision in versions/."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # only possible if versions/ were emptied
        raise RuntimeError(f"no migration revisions found under {_SCRIPT_LOCATION / 'versions'}")
    return head
