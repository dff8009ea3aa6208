"""The labelled template corpus (tests/fixtures/template_corpus: templates written the way sellers write them,
good and bad, in seven languages, labelled by Amazon's rules and marketing-mail law) through `lint_template`, the
same code `sellerreach lint` runs: precision and recall per rule, printed, against the goal of 95% for both."""

from __future__ import annotations

import tomllib
from collections import Counter
from pathlib import Path

import pytest

from sellerreach.compliance.templates import lint_template

CORPUS = Path(__file__).parents[1] / "fixtures" / "template_corpus"
GOAL = 0.95


def _measure() -> tuple[Counter, Counter, Counter, list[str]]:
    labels = tomllib.loads((CORPUS / "labels.toml").read_text(encoding="utf-8"))["files"]
    tp, fp, fn = Counter(), Counter(), Counter()
    disagreements = []
    for name, label in sorted(labels.items()):
        expected = {(r, "error") for r in label["errors"]} | {(r, "warning") for r in label["warnings"]}
        findings = lint_template(CORPUS / name, channel=label["channel"], subject=label["subject"])
        found = {(f.rule_id, f.severity) for f in findings}
        for rule in expected & found:
            tp[rule[0]] += 1
        for rule in found - expected:
            fp[rule[0]] += 1
            disagreements.append(f"{name}: unexpected {rule[0]} ({rule[1]})")
        for rule in expected - found:
            fn[rule[0]] += 1
            disagreements.append(f"{name}: missed {rule[0]} ({rule[1]}) - {label['why']}")
    return tp, fp, fn, disagreements


def test_the_corpus_is_big_and_varied_enough():
    labels = tomllib.loads((CORPUS / "labels.toml").read_text(encoding="utf-8"))["files"]
    files = {p.name for p in CORPUS.glob("*.j2")}
    assert set(labels) == files and len(files) >= 80
    locales = Counter(name.split(".")[-3] for name in files)
    assert len([locale for locale, n in locales.items() if n >= 8]) >= 5
    clean = [name for name, label in labels.items() if not label["errors"]]
    assert 0.3 <= len(clean) / len(files) <= 0.6


def test_precision_and_recall_per_rule(capsys: pytest.CaptureFixture[str]):
    tp, fp, fn, disagreements = _measure()
    rows = []
    misses = []
    for rule in sorted(set(tp) | set(fp) | set(fn)):
        precision = tp[rule] / (tp[rule] + fp[rule]) if tp[rule] + fp[rule] else 1.0
        recall = tp[rule] / (tp[rule] + fn[rule]) if tp[rule] + fn[rule] else 1.0
        rows.append(f"{rule:26} tp {tp[rule]:3} fp {fp[rule]:3} fn {fn[rule]:3}  {precision:5.2f}  {recall:5.2f}")
        if precision < GOAL or recall < GOAL:
            misses.append(rule)
    with capsys.disabled():
        print("\nrule                       counts                precision recall")
        print("\n".join(rows))
        print("\n".join(disagreements))
    assert misses == [], f"below {GOAL:.0%}: {misses}"
