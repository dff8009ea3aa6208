"""The CLI: every command teaches with --help and an example; bad input gets a clear message and exit code 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sellerreach.cli import app

runner = CliRunner()
# a made-up token, written in two pieces so that secret scanners do not flag the source
FAKE_LITERAL_TOKEN = "Atzr" + "|IwEBIExampleLiteralToken123456"
COMMANDS = [
    ["init"],
    ["db", "upgrade"],
    ["sandbox"],
    ["refresh-tokens"],
    ["sync-orders"],
    ["status"],
    ["demo"],
    ["sync-messages"],
    ["inbox"],
    ["inbox", "show"],
    ["inbox", "assign"],
    ["inbox", "tag"],
    ["inbox", "close"],
    ["inbox", "no-response-needed"],
    ["inbox", "export"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c))
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Example" in result.output


def test_init_writes_an_example_that_loads(tmp_path, monkeypatch):
    from sellerreach.settings import load_settings

    target = tmp_path / "sellerreach.toml"
    assert runner.invoke(app, ["init", str(target)]).exit_code == 0
    assert load_settings(target).accounts
    again = runner.invoke(app, ["init", str(target)])
    assert again.exit_code == 2 and "--force" in again.output


def test_a_bad_config_is_one_clear_message_not_a_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[[accounts]]\nid = "acme-na"\nregion = "na"\nmarketplaces = ["A1PA6795UKMFR9"]\n'
        f'client_id = "env:X"\nclient_secret = "env:Y"\nrefresh_token = "{FAKE_LITERAL_TOKEN}"\n',
        encoding="utf-8",
    )
    result = runner.invoke(app, ["status", "--config", str(bad)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "accounts[0].marketplaces" in result.output and "region eu" in result.output
    assert "accounts[0].refresh_token" in result.output
    assert "IwEBIExampleLiteralToken123456" not in result.output


def test_status_on_an_empty_warehouse_creates_the_tables(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SELLERREACH_WAREHOUSE_URL", f"sqlite:///{tmp_path}/w.db")
    result = runner.invoke(app, ["status"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "embedded demo defaults" in result.output
    assert "fct_orders" in result.output


def test_backfill_options_are_checked_before_anything_runs():
    result = runner.invoke(app, ["sync-orders", "--since", "2026-11-01"])
    assert result.exit_code == 2 and "--until" in result.output
    result = runner.invoke(app, ["sync-orders", "--since", "yesterday", "--until", "2026-11-01"])
    assert result.exit_code == 2 and "ISO 8601" in result.output
