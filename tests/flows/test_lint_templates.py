"""lint_templates under prefect_test_harness: the shipped templates pass and are approved, a second run changes
nothing, and a failing template fails the run, naming it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from flows.lint_templates import lint_templates
from sellerreach.errors import RunFailed
from sellerreach.rendering import shipped_templates
from sellerreach.warehouse import create_warehouse_engine
from tests.flows.test_sync_orders import snapshot
from tests.support.config import ACME_EU

pytestmark = pytest.mark.flow

CONFIG = (
    ACME_EU
    + """
[inbox]
reply_templates = "{folder}"
"""
)


@pytest.fixture
def config(tmp_path: Path, warehouse_url: str, monkeypatch) -> Path:
    monkeypatch.setenv("SELLERREACH_WAREHOUSE_URL", warehouse_url)
    folder = tmp_path / "replies"
    shutil.copytree(shipped_templates() / "replies", folder)
    path = tmp_path / "sellerreach.toml"
    path.write_text(CONFIG.format(folder=folder), encoding="utf-8")
    return path


def test_lint_templates_twice_approves_once_and_changes_nothing(config: Path, warehouse_url: str):
    rows = lint_templates(config_path=str(config))
    assert len(rows) == 21 and all(r["status"] == "passed" and r["approved"] for r in rows)
    engine = create_warehouse_engine(warehouse_url)
    try:
        before = snapshot(engine)
        assert lint_templates(config_path=str(config)) == rows
        assert snapshot(engine) == before
    finally:
        engine.dispose()


def test_a_failing_template_fails_the_run_and_is_named(config: Path):
    bad = config.parent / "replies" / "review_bonus.de.txt.j2"
    bad.write_text(
        "Hallo {{ buyer_name }}, für eine 5-Sterne-Bewertung zu Bestellung {{ order_id }} erhalten Sie einen "
        "Gutschein über 10 Euro. {{ agent_name }}",
        encoding="utf-8",
    )
    with pytest.raises(
        RunFailed, match=r"1 templates fail the compliance rules and are blocked: replies/review_bonus"
    ):
        lint_templates(config_path=str(config))
