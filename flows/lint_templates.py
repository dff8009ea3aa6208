"""lint_templates (nightly, and on demand after a change): every template checked against the compliance rules of
its channel, findings into fct_lint_findings, verdicts and approved versions into dim_templates.

A template that fails is blocked (nothing is sent with it) and fails the run, naming it, so operations see it in
the Prefect UI. Re-running changes nothing: a version (the file's hash) is linted and recorded once.
"""

from __future__ import annotations

from prefect import flow
from prefect.artifacts import create_table_artifact

from sellerreach.clock import shared_clock
from sellerreach.compliance.gate import template_folders
from sellerreach.errors import RunFailed
from sellerreach.settings import load_settings
from tasks.templates import lint_template_folder
from tasks.warehouse import prepare_warehouse

ACTOR = "flow:lint_templates"


@flow(name="lint_templates")
def lint_templates(config_path: str | None = None) -> list[dict]:
    """Lint every template folder; returns one row per template (status, errors, warnings, approved)."""
    settings = load_settings(config_path)
    now = shared_clock(settings.time_scale).now()
    prepare_warehouse(settings.warehouse_url)
    rows: list[dict] = []
    for label, folder in template_folders(settings.inbox.reply_templates).items():
        rows.extend(lint_template_folder(settings.warehouse_url, label, folder, now, ACTOR))
    create_table_artifact(key="lint-templates", table=rows, description="Compliance verdict per template")
    failed = [row["template"] for row in rows if row["status"] == "failed"]
    if failed:
        raise RunFailed(
            f"{len(failed)} templates fail the compliance rules and are blocked: {', '.join(failed)}"
        )
    return rows
