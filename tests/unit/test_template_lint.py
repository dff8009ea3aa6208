"""The template linter: sources (syntax, variables), renderings with sample values, positions back in the source,
justified suppressions, channels by folder, the three report formats, and `sellerreach lint`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sellerreach.cli import app
from sellerreach.compliance.templates import (
    channel_of,
    find_templates,
    format_findings,
    lint_template,
    lint_templates,
    sample_contexts,
)
from sellerreach.rendering import CONTEXT_VARIABLES, shipped_templates

CLEAN_DE = """{% if buyer_name %}Hallo {{ buyer_name }},{% else %}Hallo,{% endif %}

vielen Dank für Ihre Bestellung {{ order_id }} bei {{ marketplace }}. Wir hoffen, dass Ihnen der Artikel gefällt.
Wenn Sie eine Frage haben, antworten Sie bitte einfach auf diese Nachricht.

Mit freundlichen Grüßen
{{ agent_name }}
"""
INCENTIVE_EN = """Hello {{ buyer_name }},

thank you for order {{ order_id }}!
Leave us a 5-star review and we will send you a $10 gift card.
Shop more at www.acme-shop.example

{{ agent_name }}
"""


def _write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_templates_are_clean():
    files, findings = lint_templates([shipped_templates()])
    assert len(files) >= 21
    assert [f.as_text() for f in findings] == []


def test_a_clean_template_has_no_findings(tmp_path: Path):
    path = _write(tmp_path / "replies", "thanks.de.txt.j2", CLEAN_DE)
    assert lint_template(path, channel="relay_email") == []


def test_rendered_findings_point_at_their_line_in_the_source(tmp_path: Path):
    path = _write(tmp_path / "replies", "review.en.txt.j2", INCENTIVE_EN)
    findings = lint_template(path, channel="relay_email")
    by_rule = {f.rule_id: f for f in findings}
    assert {"review-incentive", "external-link"} <= set(by_rule)
    assert by_rule["external-link"].line == 5 and by_rule["external-link"].column == 14
    assert by_rule["review-incentive"].line == 4
    assert all(f.where.startswith("rendered") for f in findings)
    # one finding, although both sample renderings contain it
    assert len([f for f in findings if f.rule_id == "external-link"]) == 1


def test_a_misspelt_variable_names_the_closest_known_one(tmp_path: Path):
    path = _write(
        tmp_path, "ship.en.txt.j2", "Order {{ order_id }}: your tracking number is {{ tracking_numbr }}."
    )
    (finding,) = lint_template(path, channel="relay_email")
    assert (finding.rule_id, finding.line, finding.column) == ("undefined-variable", 1, 50)
    assert "did you mean 'tracking_number'" in finding.message


def test_a_syntax_error_names_its_line(tmp_path: Path):
    path = _write(tmp_path, "broken.en.txt.j2", "Order {{ order_id }}\n{% if buyer_name %}Hello\n")
    (finding,) = lint_template(path, channel="relay_email")
    assert finding.rule_id == "template-syntax" and finding.line == 2 and "endif" in finding.message


def test_a_justified_suppression_switches_one_rule_off(tmp_path: Path):
    text = (
        "{# sellerreach-lint: disable=external-link -- Amazon asks for the carrier's page to complete the order #}\n"
        "Order {{ order_id }} is with the carrier: https://www.dhl.de/track. Kind regards, {{ agent_name }}\n"
    )
    path = _write(tmp_path, "tracking.en.txt.j2", text)
    assert [f.rule_id for f in lint_template(path, channel="relay_email")] == []


@pytest.mark.parametrize(
    ("comment", "rule_id", "says"),
    [
        ("{# sellerreach-lint: disable=external-link #}", "unjustified-suppression", "gives no reason"),
        ("{# sellerreach-lint: disable=external-link -- #}", "unjustified-suppression", "gives no reason"),
        (
            "{# sellerreach-lint: disable=externl-link -- needed #}",
            "unknown-rule-in-suppression",
            "'external-link'",
        ),
    ],
)
def test_a_bad_suppression_is_an_error_and_suppresses_nothing(tmp_path: Path, comment, rule_id, says):
    path = _write(tmp_path, "t.en.txt.j2", comment + "\nOrder {{ order_id }}: see https://shop.example/x\n")
    findings = lint_template(path, channel="relay_email")
    assert {f.rule_id for f in findings} == {rule_id, "external-link"}
    assert says in next(f.message for f in findings if f.rule_id == rule_id)


def test_a_file_name_without_a_locale_is_refused(tmp_path: Path):
    (finding,) = lint_template(_write(tmp_path, "thanks.txt.j2", CLEAN_DE), channel="relay_email")
    assert finding.rule_id == "bad-template-name"


def test_the_channel_comes_from_the_folder(tmp_path: Path):
    assert channel_of(tmp_path / "templates" / "replies" / "a.de.txt.j2") == "relay_email"
    assert channel_of(tmp_path / "direct_email" / "news" / "a.de.txt.j2") == "direct_email"
    assert channel_of(tmp_path / "elsewhere" / "a.de.txt.j2") == "relay_email"  # the strictest
    assert channel_of(tmp_path / "a.de.txt.j2", "solicitation") == "solicitation"
    with pytest.raises(ValueError, match="unknown channel 'sms'"):
        channel_of(tmp_path / "a.de.txt.j2", "sms")


def test_direct_mail_needs_an_unsubscribe_link_and_a_postal_address(tmp_path: Path):
    text = "Hallo {{ buyer_name }}, danke für Ihre Bestellung {{ order_id }}. Ihr {{ agent_name }}\n"
    path = _write(tmp_path / "direct_email", "thanks.de.txt.j2", text)
    rule_ids = {f.rule_id for f in lint_template(path, channel=channel_of(path))}
    assert {"missing-unsubscribe", "missing-postal-address"} <= rule_ids


@pytest.mark.parametrize("locale", ["en", "de", "fr", "es", "it", "ja", "zh", "pt"])
def test_sample_values_cover_every_variable(locale):
    for context in sample_contexts(locale).values():
        assert set(context) == set(CONTEXT_VARIABLES)
    sparse = sample_contexts(locale)["sparse"]
    assert sparse["tracking_number"] is None and sparse["buyer_name"] == ""


def test_find_templates_searches_folders_and_refuses_what_is_not_there(tmp_path: Path):
    a = _write(tmp_path / "replies", "a.de.txt.j2", CLEAN_DE)
    b = _write(tmp_path / "replies" / "old", "b.en.txt.j2", CLEAN_DE)
    _write(tmp_path / "replies", "README.md", "not a template")
    assert find_templates([tmp_path]) == [a, b]
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        find_templates([tmp_path / "nowhere"])


def test_json_and_sarif_reports(tmp_path: Path):
    path = _write(tmp_path / "replies", "review.en.txt.j2", INCENTIVE_EN)
    findings = lint_template(path, channel="relay_email")
    as_json = json.loads(format_findings(findings, "json"))
    assert {row["rule_id"] for row in as_json} == {f.rule_id for f in findings}
    assert set(as_json[0]) == {"path", "line", "column", "rule_id", "severity", "message", "fix", "where"}

    sarif = json.loads(format_findings(findings, "sarif"))
    assert sarif["version"] == "2.1.0"
    (run,) = sarif["runs"]
    rule_ids = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert {"external-link", "review-incentive", "undefined-variable"} <= set(rule_ids)
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning")
        region = result["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1 and region["startColumn"] >= 1
    with pytest.raises(ValueError, match="unknown format 'xml'"):
        format_findings(findings, "xml")


def test_sellerreach_lint_exit_codes_and_formats(tmp_path: Path):
    runner = CliRunner()
    clean = runner.invoke(app, ["lint", str(shipped_templates())])
    assert clean.exit_code == 0, clean.output

    bad = _write(tmp_path / "replies", "review.en.txt.j2", INCENTIVE_EN)
    result = runner.invoke(app, ["lint", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{bad}:5:14 external-link " in result.output

    report = tmp_path / "lint.sarif"
    result = runner.invoke(app, ["lint", str(tmp_path), "--format", "sarif", "--output", str(report)])
    assert result.exit_code == 1
    assert json.loads(report.read_text(encoding="utf-8"))["runs"][0]["results"]

    assert runner.invoke(app, ["lint", str(tmp_path / "nowhere")]).exit_code == 2
    assert runner.invoke(app, ["lint", str(tmp_path), "--format", "xml"]).exit_code == 2
