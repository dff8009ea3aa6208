"""Shared fixtures: warehouses on SQLite and on a throwaway PostgreSQL 15 (DESIGN.md, "Stack notes").

- `postgres_server` (session): a PostgreSQL started from initdb in /dev/shm, Unix socket only; yields the
  base URL of its `postgres` database.
- `pg_url` (function): a fresh, already migrated database per test, copied from a template migrated once.
- `sqlite_url` (function): a fresh, already migrated SQLite file per test, copied from a file migrated once.
- `warehouse_url` (function): either of the two; a test taking it runs once per backend (ids sqlite/postgres).
- `dovecot_server` (session): a throwaway Dovecot IMAP server with the user `seller`.

Without PostgreSQL binaries the postgres-backed tests skip, except under CI (env CI set), where they fail.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# no telemetry from the temporary Prefect servers of the flow tests (there is no network to send it to)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from schemas.migrations import upgrade
from sellerreach.warehouse import create_warehouse_engine
from tests.support.dovecot import DovecotServer, dovecot_binaries, throwaway_dovecot
from tests.support.postgres import postgres_bin_dir, throwaway_postgres, with_database

TEMPLATE_DATABASE = "warehouse_template"
_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Start a throwaway PostgreSQL; yield `postgresql+psycopg://postgres@/postgres?host=<socket dir>`."""
    if postgres_bin_dir() is None:
        message = "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must install them (apt-get install -y postgresql)", pytrace=False)
        pytest.skip(f"{message}: run `apt-get install -y postgresql` to run the PostgreSQL tests")
    with throwaway_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[DovecotServer]:
    """A throwaway Dovecot 2.3 (tests/support/dovecot.py) with the user `seller`, for the session; each test
    works in folders of its own."""
    if dovecot_binaries() is None:
        message = "dovecot/doveadm not installed"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must install them (apt-get install -y dovecot-imapd)", pytrace=False)
        pytest.skip(f"{message}: run `apt-get install -y dovecot-imapd` to run the IMAP tests")
    with throwaway_dovecot(("seller",)) as server:
        yield server


@pytest.fixture(scope="session")
def _postgres_admin(postgres_server: str) -> Iterator[sa.Engine]:
    """An autocommit engine on the server's `postgres` database, for CREATE/DROP DATABASE."""
    engine = sa.create_engine(postgres_server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _postgres_template(postgres_server: str, _postgres_admin: sa.Engine) -> str:
    """Name of a database migrated to head once per session; tests get copies of it."""
    with _postgres_admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {TEMPLATE_DATABASE}"))
    # NullPool: CREATE DATABASE ... TEMPLATE refuses while anyone is connected to the template
    engine = sa.create_engine(with_database(postgres_server, TEMPLATE_DATABASE), poolclass=NullPool)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return TEMPLATE_DATABASE


@pytest.fixture
def pg_url(postgres_server: str, _postgres_admin: sa.Engine, _postgres_template: str) -> Iterator[str]:
    """URL of a fresh PostgreSQL database, migrated to head, dropped after the test."""
    database = f"test_{next(_database_numbers)}"
    with _postgres_admin.connect() as connection:
        # FILE_COPY: copies the template's files instead of WAL-logging every block (10-16 ms here)
        connection.execute(
            sa.text(f"CREATE DATABASE {database} TEMPLATE {_postgres_template} STRATEGY FILE_COPY")
        )
    yield with_database(postgres_server, database)
    with _postgres_admin.connect() as connection:
        # FORCE: a test that left an engine undisposed must not make the next ones fail
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite warehouse file migrated to head once per session."""
    path = tmp_path_factory.mktemp("sqlite-template") / "warehouse.db"
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return path


@pytest.fixture
def sqlite_url(tmp_path: Path, _sqlite_template: Path) -> str:
    """URL of a fresh SQLite warehouse file under tmp_path, migrated to head."""
    path = tmp_path / "warehouse.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def warehouse_url(request: pytest.FixtureRequest) -> str:
    """URL of a fresh migrated warehouse; tests taking it run on SQLite and on PostgreSQL."""
    # looked up lazily so that `-k sqlite` never starts PostgreSQL
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def engine(warehouse_url: str) -> Iterator[sa.Engine]:
    """An engine on the fresh migrated warehouse of `warehouse_url`, disposed after the test."""
    engine = create_warehouse_engine(warehouse_url)
    yield engine
    engine.dispose()
