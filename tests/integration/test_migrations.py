"""The Alembic migrations build exactly the warehouse in schemas/tables.py, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.pool import NullPool

from schemas.migrations import alembic_config, current_revision, head_revision, upgrade
from schemas.tables import metadata


def _schema_diff(engine: sa.Engine, target: sa.MetaData) -> list:
    """Alembic's autogenerate differences between the live database and `target` (empty when they match).

    Types and server defaults are compared too. UTCDateTime needs no exception: Alembic compares a
    TypeDecorator through its impl, DateTime(timezone=True), which is what the migration creates.
    """
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return compare_metadata(context, target)


def _snapshot(engine: sa.Engine) -> dict:
    inspector = sa.inspect(engine)
    return {
        table: (
            [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
            sorted(ix["name"] for ix in inspector.get_indexes(table)),
        )
        for table in inspector.get_table_names()
    }


def test_migrated_warehouse_matches_table_metadata(warehouse_url: str) -> None:
    engine = sa.create_engine(warehouse_url, poolclass=NullPool)
    assert _schema_diff(engine, metadata) == []
    assert set(sa.inspect(engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}


def test_schema_comparison_notices_a_drift(warehouse_url: str) -> None:
    # guards the test above against passing because the comparison sees nothing
    drifted = sa.MetaData(naming_convention=metadata.naming_convention)
    for table in metadata.tables.values():
        table.to_metadata(drifted)
    drifted.tables["dim_buyers"].append_column(sa.Column("loyalty_tier", sa.String(16)))
    sa.Index("ix_dim_buyers_preferred_language", drifted.tables["dim_buyers"].c.preferred_language)

    engine = sa.create_engine(warehouse_url, poolclass=NullPool)
    kinds = sorted(diff[0] for diff in _schema_diff(engine, drifted))
    assert kinds == ["add_column", "add_index"]


def test_upgrade_twice_is_a_no_op(warehouse_url: str) -> None:
    engine = sa.create_engine(warehouse_url, poolclass=NullPool)
    before = _snapshot(engine)
    upgrade(engine)
    upgrade(engine)
    assert _snapshot(engine) == before
    assert _schema_diff(engine, metadata) == []


def test_upgrade_leaves_the_warehouse_at_head(warehouse_url: str) -> None:
    engine = sa.create_engine(warehouse_url, poolclass=NullPool)
    upgrade(engine)
    assert current_revision(engine) == head_revision() == "0008_order_items_hash"


def test_upgrade_of_an_empty_database(tmp_path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.db'}", poolclass=NullPool)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    assert _schema_diff(engine, metadata) == []


def test_upgrade_of_an_empty_postgres_database(postgres_server: str, _postgres_admin: sa.Engine) -> None:
    with _postgres_admin.connect() as connection:
        connection.execute(sa.text("CREATE DATABASE migrate_from_empty"))
    url = sa.make_url(postgres_server).set(database="migrate_from_empty")
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        assert current_revision(engine) is None
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        assert _schema_diff(engine, metadata) == []
        with engine.begin() as connection:
            assert _payload_compression(connection) == "l"  # lz4 (bench/README.md)
            command.downgrade(alembic_config(connection), "0001_foundation")
            assert _payload_compression(connection) == "p"  # and back to pglz
    finally:
        with _postgres_admin.connect() as connection:
            connection.execute(sa.text("DROP DATABASE migrate_from_empty WITH (FORCE)"))


def _payload_compression(connection: sa.Connection) -> str:
    return connection.execute(
        sa.text(
            "SELECT attcompression FROM pg_attribute"
            " WHERE attrelid = 'raw_spapi_orders'::regclass AND attname = 'payload'"
        )
    ).scalar()
