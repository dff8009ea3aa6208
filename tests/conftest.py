"""Shared fixtures: warehouses on SQLite and on a throwaway PostgreSQL 15 (DESIGN.md, "Stack notes").

- `postgres_server` (session): a PostgreSQL started from initdb in /dev/shm, Unix socket only; yields the
  base URL of its `postgres` database.
- `pg_url` (function): a fresh, already migrated database per test, copied from a template migrated once.
- `sqlite_url` (function): a fresh, already migrated SQLite file per test, copied from a file migrated once.
- `warehouse_url` (function): either of the two; a test taking it runs once per backend (ids sqlite/postgres).

Without PostgreSQL binaries the postgres-backed tests skip, except under CI (env CI set), where they fail.
"""

from __future__ import annotations

import glob
import itertools
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from schemas.migrations import upgrade

TEMPLATE_DATABASE = "warehouse_template"
_PG_SERVER_SETTINGS = {
    "listen_addresses": "''",  # Unix socket only: no port to race for
    # a throwaway server: durability buys nothing and costs most of the start-up and write time
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
_database_numbers = itertools.count(1)


def _postgres_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl, if any."""
    candidates = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    candidates = [d for d in candidates if (d / "pg_ctl").exists()]
    if not candidates:
        return None
    return max(candidates, key=lambda d: int(re.sub(r"\D", "", d.parent.name) or 0))


def _as_postgres_user(argv: list[str]) -> list[str]:
    # initdb and pg_ctl refuse to run as root
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def _run(argv: list[str], what: str, log_file: Path | None = None) -> None:
    env = {**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"}  # only C locales exist on this machine kind
    result = subprocess.run(_as_postgres_user(argv), env=env, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        log = log_file.read_text(errors="replace") if log_file and log_file.exists() else ""
        raise RuntimeError(f"{what} failed ({result.returncode}):\n{result.stdout}{result.stderr}{log}")


def _wait_until_answering(url: str, timeout_s: float = 10.0) -> None:
    engine = sa.create_engine(url, poolclass=NullPool)
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            try:
                with engine.connect() as connection:
                    connection.execute(sa.text("SELECT 1"))
                return
            except sa.exc.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
    finally:
        engine.dispose()


def _with_database(url: str, database: str) -> str:
    return sa.make_url(url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Start a throwaway PostgreSQL; yield `postgresql+psycopg://postgres@/postgres?host=<socket dir>`."""
    bin_dir = _postgres_bin_dir()
    if bin_dir is None:
        message = "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must install them (apt-get install -y postgresql)", pytrace=False)
        pytest.skip(f"{message}: run `apt-get install -y postgresql` to run the PostgreSQL tests")

    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    root = Path(tempfile.mkdtemp(prefix="sellerreach-pg-", dir=shm))
    data_dir, socket_dir, log_file = root / "data", root / "socket", root / "postgres.log"
    data_dir.mkdir()
    socket_dir.mkdir()
    if os.geteuid() == 0:
        for path in (root, data_dir, socket_dir):
            shutil.chown(path, "postgres", "postgres")
    data_dir.chmod(0o700)

    initdb = [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust"]
    initdb += ["--locale=C.UTF-8", "--encoding=UTF8", "--no-sync", "--no-instructions"]
    options = " ".join(["-k", str(socket_dir)] + [f"-c {k}={v}" for k, v in _PG_SERVER_SETTINGS.items()])
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-w"]
    try:
        _run(initdb, "initdb")
        _run([*pg_ctl, "start", "-t", "30", "-l", str(log_file), "-o", options], "pg_ctl start", log_file)
        url = f"postgresql+psycopg://postgres@/postgres?host={socket_dir}"
        _wait_until_answering(url)
        yield url
    finally:
        if (data_dir / "postmaster.pid").exists():  # also after a start that timed out half-way
            subprocess.run(
                _as_postgres_user([*pg_ctl, "stop", "-m", "immediate"]), capture_output=True, timeout=60
            )
        shutil.rmtree(root, ignore_errors=True)


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
    engine = sa.create_engine(_with_database(postgres_server, TEMPLATE_DATABASE), poolclass=NullPool)
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
    yield _with_database(postgres_server, database)
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
