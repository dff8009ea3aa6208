"""The demo starts from an empty warehouse, but never deletes one that holds a real seller's accounts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sellerreach.demo import reset_demo_warehouse
from sellerreach.errors import ConfigError
from sellerreach.warehouse import create_warehouse_engine, ensure_schema, upsert_accounts

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def _warehouse_with(path, accounts):
    engine = create_warehouse_engine(f"sqlite:///{path}")
    ensure_schema(engine)
    with engine.begin() as conn:
        upsert_accounts(conn, [(a, "na", ["ATVPDKIKX0DER"]) for a in accounts], NOW)
    engine.dispose()


def test_a_previous_demo_warehouse_is_removed(tmp_path):
    path = tmp_path / "warehouse.db"
    _warehouse_with(path, ["acme-na", "acme-eu"])
    reset_demo_warehouse(path)
    assert not path.exists()
    assert not list(tmp_path.glob("warehouse.db*"))


def test_a_warehouse_with_other_accounts_is_left_alone(tmp_path):
    path = tmp_path / "warehouse.db"
    _warehouse_with(path, ["acme-na", "contoso-us"])
    with pytest.raises(ConfigError, match="contoso-us"):
        reset_demo_warehouse(path)
    assert path.exists()


def test_no_warehouse_yet_is_fine(tmp_path):
    reset_demo_warehouse(tmp_path / "warehouse.db")
