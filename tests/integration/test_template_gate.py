"""The gate between templates and sends, on SQLite and PostgreSQL: verdicts and findings recorded once per template
version, the passing version approved (audit-logged), a file changed after approval linted again before a send
and refused while it fails."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from schemas import tables as t
from sellerreach.compliance.gate import TemplateBlocked, approved_template, lint_folder, template_key
from tests.flows.test_sync_orders import snapshot

NOW = datetime(2026, 11, 23, 2, 30, tzinfo=UTC)
GOOD = """{% if buyer_name %}Hello {{ buyer_name }},{% else %}Hello,{% endif %}

thank you for your message about order {{ order_id }}. We are looking into it and will answer you within a day.

Kind regards,
{{ agent_name }}
"""
BAD = """Hello {{ buyer_name }},

thank you for order {{ order_id }}! Leave us a 5-star review and we will send you a $10 gift card.

{{ agent_name }}
"""



@pytest.fixture
def folder(tmp_path: Path) -> Path:
    replies = tmp_path / "replies"
    replies.mkdir()
    (replies / "ack.en.txt.j2").write_text(GOOD, encoding="utf-8")
    (replies / "review.en.txt.j2").write_text(BAD, encoding="utf-8")
    return replies


def _rows(engine, table):
    with engine.connect() as conn:
        return {row[0]: dict(row._mapping) for row in conn.execute(sa.select(table))}


def test_verdicts_findings_and_approvals_are_recorded_once(engine, folder: Path):
    with engine.begin() as conn:
        verdicts = lint_folder(conn, "replies", folder, NOW, actor="flow:lint_templates")
    assert [(v.template_key, v.status, v.approved) for v in verdicts] == [
        ("replies/ack.en.txt.j2", "passed", True),
        ("replies/review.en.txt.j2", "failed", False),
    ]
    templates = _rows(engine, t.dim_templates)
    good_sha = hashlib.sha256(GOOD.encode()).hexdigest()
    assert templates["replies/ack.en.txt.j2"]["approved_sha256"] == good_sha
    assert templates["replies/review.en.txt.j2"]["approved_sha256"] is None
    with engine.connect() as conn:
        findings = conn.execute(sa.select(t.fct_lint_findings)).mappings().all()
        approvals = (
            conn.execute(sa.select(t.audit_log).where(t.audit_log.c.action == "template.approve"))
            .mappings()
            .all()
        )
    assert {f["template_key"] for f in findings} == {"replies/review.en.txt.j2"}
    assert {"review-incentive", "review-positive-only"} <= {f["rule_id"] for f in findings}
    assert [(a["object_id"], a["after"]["approved_sha256"]) for a in approvals] == [
        ("replies/ack.en.txt.j2", good_sha)
    ]

    before = snapshot(engine)
    with engine.begin() as conn:
        again = lint_folder(conn, "replies", folder, NOW + timedelta(days=1), actor="flow:lint_templates")
    assert not any(v.changed for v in again)
    assert snapshot(engine) == before


def test_a_template_changed_after_approval_is_linted_again_before_a_send(engine, folder: Path):
    path = folder / "ack.en.txt.j2"
    key = template_key(path, folder, "replies")
    with engine.begin() as conn:
        lint_folder(conn, "replies", folder, NOW, actor="flow:lint_templates")
    assert (
        approved_template(engine, key, path, NOW, actor="dispatch")
        == hashlib.sha256(GOOD.encode()).hexdigest()
    )

    path.write_text(GOOD + "\nFollow us on Instagram: @acme.bottles\n", encoding="utf-8")
    with pytest.raises(
        TemplateBlocked, match=r"replies/ack.en.txt.j2 is blocked: \d+ compliance errors \(marketing"
    ):
        approved_template(engine, key, path, NOW + timedelta(hours=1), actor="dispatch")
    row = _rows(engine, t.dim_templates)[key]
    assert row["status"] == "failed" and row["approved_sha256"] == hashlib.sha256(GOOD.encode()).hexdigest()

    fixed = GOOD.replace("within a day", "within 24 hours")
    path.write_text(fixed, encoding="utf-8")
    sha = approved_template(engine, key, path, NOW + timedelta(hours=2), actor="dispatch")
    assert sha == hashlib.sha256(fixed.encode()).hexdigest()
    row = _rows(engine, t.dim_templates)[key]
    assert (row["status"], row["approved_sha256"], row["approved_at"]) == (
        "passed",
        sha,
        NOW + timedelta(hours=2),
    )
