"""The gate between templates and sends: every template version's lint verdict in the warehouse, and the rule that
only an approved version (one that passed the linter) may be sent.

A version is the SHA-256 of the file's bytes. Linting records the version's findings in fct_lint_findings (once:
a version linted again adds nothing) and its verdict in dim_templates; a version that passes becomes the
approved one (audit-logged). A file changed after its approval is linted again by `approved_template` before
the next send, and refused while it fails.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from schemas import tables as t
from sellerreach.compliance.rules import RuleSet
from sellerreach.compliance.templates import (
    TEMPLATE_FILE,
    TemplateFinding,
    channel_of,
    count_by_severity,
    find_templates,
    lint_template,
)
from sellerreach.errors import SellerreachError
from sellerreach.rendering import shipped_templates
from sellerreach.warehouse import write_audit

PASSED, FAILED = "passed", "failed"


class TemplateBlocked(SellerreachError):
    """The template's current content fails the compliance rules: nothing may be sent with it."""

    def __init__(self, template_key: str, findings: Sequence[TemplateFinding]) -> None:
        self.template_key = template_key
        self.findings = tuple(findings)
        errors = [f for f in findings if f.severity == "error"]
        listed = "; ".join(f"{f.rule_id} at {f.line}:{f.column}" for f in errors[:5])
        super().__init__(
            f"template {template_key} is blocked: {len(errors)} compliance errors ({listed}); "
            f"run `sellerreach lint {findings[0].path if findings else template_key}` to see them"
        )


@dataclass(frozen=True)
class TemplateVerdict:
    template_key: str
    content_sha256: str
    status: str  # passed | failed
    errors: int
    warnings: int
    approved: bool  # the current content is the approved version
    changed: bool  # this lint recorded something new (a new version, or a new verdict)
    findings: tuple[TemplateFinding, ...] = field(default=(), repr=False)

    def as_row(self) -> dict[str, object]:
        return {
            "template": self.template_key,
            "status": self.status,
            "errors": self.errors,
            "warnings": self.warnings,
            "approved": self.approved,
        }


def template_folders(reply_templates: str | None) -> dict[str, Path]:
    """The folders of templates sellerreach sends from, by label: the reply templates ([inbox] reply_templates,
    else the shipped ones). Invitation templates join here with the dispatch issue."""
    return {"replies": Path(reply_templates) if reply_templates else shipped_templates() / "replies"}


def template_key(path: Path, folder: Path, label: str) -> str:
    """How the warehouse names a template: `<label>/<path under its folder>`, the same on every machine."""
    return f"{label}/{path.relative_to(folder).as_posix()}"


def lint_folder(
    conn: Connection,
    label: str,
    folder: Path,
    now: datetime,
    *,
    actor: str,
    rules: RuleSet | None = None,
) -> list[TemplateVerdict]:
    """Lint every template under `folder` and record each verdict (see `record_lint`)."""
    return [
        record_lint(conn, template_key(path, folder, label), path, now, actor=actor, rules=rules)
        for path in find_templates([folder])
    ]


def record_lint(
    conn: Connection, key: str, path: Path, now: datetime, *, actor: str, rules: RuleSet | None = None
) -> TemplateVerdict:
    """Lint one template file and record it: its findings (new ones only), its verdict in dim_templates (only
    when the version or the verdict changed, so linting twice changes nothing), and its approval when it
    passes (audit-logged)."""
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    channel = channel_of(path)
    findings = lint_template(path, channel=channel, rules=rules)
    counts = count_by_severity(findings)
    status = FAILED if counts["error"] else PASSED
    stored = (
        conn.execute(sa.select(t.dim_templates).where(t.dim_templates.c.template_key == key))
        .mappings()
        .first()
    )
    _record_findings(conn, key, sha, findings, now)
    approved_sha = stored["approved_sha256"] if stored else None
    if stored is not None and stored["content_sha256"] == sha and stored["status"] == status:
        return TemplateVerdict(
            key, sha, status, counts["error"], counts["warning"], approved_sha == sha, False, tuple(findings)
        )
    match = TEMPLATE_FILE.match(path.name)
    values = {
        "name": match["name"] if match else path.name[:64],
        "locale": match["locale"] if match else "",
        "channel": channel,
        "content_sha256": sha,
        "status": status,
        "errors": counts["error"],
        "warnings": counts["warning"],
        "linted_at": now,
    }
    if status == PASSED and approved_sha != sha:
        values.update(approved_sha256=sha, approved_at=now)
        write_audit(
            conn,
            now=now,
            actor=actor,
            action="template.approve",
            object_type="template",
            object_id=key,
            before={"approved_sha256": approved_sha},
            after={"approved_sha256": sha, "warnings": counts["warning"]},
        )
        approved_sha = sha
    if stored is None:
        conn.execute(sa.insert(t.dim_templates).values(template_key=key, **values))
    else:
        conn.execute(sa.update(t.dim_templates).where(t.dim_templates.c.template_key == key).values(**values))
    return TemplateVerdict(
        key, sha, status, counts["error"], counts["warning"], approved_sha == sha, True, tuple(findings)
    )


def approved_template(
    engine: Engine, key: str, path: Path, now: datetime, *, actor: str, rules: RuleSet | None = None
) -> str:
    """The gate before a send: the SHA-256 of the file when its current content is the approved version,
    linting it first when it changed since (the verdict is recorded in its own transaction, so a refusal is
    on record too). Raises TemplateBlocked while it fails."""
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    with engine.connect() as conn:
        approved = conn.execute(
            sa.select(t.dim_templates.c.approved_sha256).where(t.dim_templates.c.template_key == key)
        ).scalar_one_or_none()
    if approved == sha:
        return sha
    with engine.begin() as conn:
        verdict = record_lint(conn, key, path, now, actor=actor, rules=rules)
    if not verdict.approved:
        raise TemplateBlocked(key, verdict.findings)
    return verdict.content_sha256


def _record_findings(
    conn: Connection, key: str, sha: str, findings: Sequence[TemplateFinding], now: datetime
) -> None:
    f = t.fct_lint_findings.c
    known = {
        (rule_id, line, column)
        for rule_id, line, column in conn.execute(
            sa.select(f.rule_id, f.line, f.column).where(f.template_key == key, f.content_sha256 == sha)
        )
    }
    rows: Mapping[tuple[str, int, int], dict[str, object]] = {
        (x.rule_id, x.line, x.column): {
            "template_key": key,
            "content_sha256": sha,
            "rule_id": x.rule_id,
            "line": x.line,
            "column": x.column,
            "severity": x.severity,
            "message": x.message,
            "found_at": now,
        }
        for x in findings
        if (x.rule_id, x.line, x.column) not in known
    }
    if rows:
        conn.execute(sa.insert(t.fct_lint_findings), list(rows.values()))
