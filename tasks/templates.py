"""Template tasks: one task run per template folder, linting every file and recording the verdicts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NONE

from sellerreach.compliance.gate import lint_folder
from tasks.warehouse import engine_for


@task(name="lint-template-folder", task_run_name="lint-{label}", cache_policy=NONE)
def lint_template_folder(
    warehouse_url: str, label: str, folder: Path, now: datetime, actor: str
) -> list[dict]:
    """Lint and record every template under `folder`; one summary row per template."""
    logger = get_run_logger()
    with engine_for(warehouse_url).begin() as conn:
        verdicts = lint_folder(conn, label, folder, now, actor=actor)
    for verdict in verdicts:
        if verdict.status == "failed":
            logger.error(
                "%s fails the compliance rules (%d errors): blocked until fixed; `sellerreach lint %s` shows where",
                verdict.template_key,
                verdict.errors,
                folder,
            )
        elif verdict.changed:
            logger.info("%s passed and is approved (%d warnings)", verdict.template_key, verdict.warnings)
    return [verdict.as_row() for verdict in verdicts]
