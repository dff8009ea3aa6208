"""A throwaway PostgreSQL 15 for tests and benchmarks (DESIGN.md, "Stack notes").

`throwaway_postgres()` runs initdb in /dev/shm, starts the server on a Unix socket only (no port to race for)
with durability off, yields the base URL of its `postgres` database, and stops and deletes it on exit, also
after a start that failed half-way. initdb and pg_ctl refuse to run as root: as root they run as `postgres`.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

SERVER_SETTINGS = {
    "listen_addresses": "''",  # Unix socket only: no port to race for
    # a throwaway server: durability buys nothing and costs most of the start-up and write time
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


class PostgresNotInstalled(RuntimeError):
    """No PostgreSQL server binaries (initdb, pg_ctl) under /usr/lib/postgresql/*/bin."""


def postgres_bin_dir() -> Path | None:
    """The newest /usr/lib/postgresql/<version>/bin that has initdb and pg_ctl, if any."""
    candidates = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    candidates = [d for d in candidates if (d / "pg_ctl").exists()]
    if not candidates:
        return None
    return max(candidates, key=lambda d: int(re.sub(r"\D", "", d.parent.name) or 0))


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database."""
    return sa.make_url(url).set(database=database).render_as_string(hide_password=False)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a throwaway PostgreSQL; yield `postgresql+psycopg://postgres@/postgres?host=<socket dir>`.

    Raises `PostgresNotInstalled` when the server binaries are missing, RuntimeError when initdb or pg_ctl
    fails (with their output and the server log)."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        raise PostgresNotInstalled(
            "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin: "
            "run `apt-get install -y postgresql`"
        )

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
    options = " ".join(["-k", str(socket_dir)] + [f"-c {k}={v}" for k, v in SERVER_SETTINGS.items()])
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
