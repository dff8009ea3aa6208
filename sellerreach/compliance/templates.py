"""Linting template files: what `sellerreach lint` and the lint_templates flow run on templates/.

A template file is `<name>.<locale>.txt.j2`; its channel comes from its folder (`replies/` and `relay_email/`:
relay_email, `direct_email/`, `solicitation/`) unless given. Each file is checked twice:

- its source: Jinja2 syntax, and every variable it uses must be one of CONTEXT_VARIABLES (a misspelt variable
  is an error with the closest known name);
- its renderings: with realistic sample values for its locale, once with everything known and once with what
  is often unknown left empty (no tracking number, no buyer name), each rendering linted with the channel's
  rules. A finding is placed at the line and column of its text in the source when the text is there
  literally, else at line 1.

A rule can be switched off for one template with a justified comment anywhere in it:
`{# sellerreach-lint: disable=external-link -- the carrier's tracking page is needed to complete the order #}`.
A suppression without a justification (text after "--") or naming an unknown rule is itself an error.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, UndefinedError

from sellerreach.compliance.lint import lint_message
from sellerreach.compliance.rules import RuleSet, check_channel, load_rules
from sellerreach.rendering import CONTEXT_VARIABLES, format_date, sandboxed_environment

TEMPLATE_FILE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9_-]{0,63})\.(?P<locale>[a-z]{2})\.txt\.j2$")
CHANNEL_OF_FOLDER = {
    "replies": "relay_email",
    "relay_email": "relay_email",
    "direct_email": "direct_email",
    "solicitation": "solicitation",
}
SAMPLE_ORDER_ID = "302-4471553-8820631"
_SUPPRESSION = re.compile(r"\{#-?\s*sellerreach-lint:\s*disable=(?P<body>.*?)-?#\}", re.DOTALL)
# findings about the template itself, not about a rule of the rules file
SOURCE_RULES = {
    "template-syntax": "Fix the Jinja2 syntax at this line.",
    "undefined-variable": "Use one of the variables `sellerreach inbox templates` lists.",
    "template-not-renderable": "Make the template render with every variable given (see the message).",
    "unjustified-suppression": 'Write why after "--": disable=rule-id -- the reason.',
    "unknown-rule-in-suppression": "Name a rule id of the rules file.",
    "bad-template-name": "Name the file <name>.<locale>.txt.j2, e.g. where_is_my_order.de.txt.j2.",
}

# realistic values per locale: a buyer's name, an item, a carrier, a marketplace and an agent
_SAMPLES = {
    "en": ("Sarah Miller", "Stainless steel water bottle 750 ml", "UPS", "Amazon.com", "Emma Johnson"),
    "de": ("Jana Krüger", "Edelstahl-Trinkflasche 750 ml", "DHL", "Amazon.de", "Mia Weber"),
    "fr": ("Camille Dubois", "Gourde en acier inoxydable 750 ml", "Colissimo", "Amazon.fr", "Lucas Martin"),
    "es": ("Lucía García", "Botella de acero inoxidable 750 ml", "Correos", "Amazon.es", "Ana López"),
    "it": ("Giulia Rossi", "Borraccia in acciaio inox 750 ml", "BRT", "Amazon.it", "Marco Bianchi"),
    "ja": ("佐藤 花子", "ステンレスボトル 750ml", "ヤマト運輸", "Amazon.co.jp", "鈴木 一郎"),
    "zh": ("王芳", "不锈钢保温杯 750毫升", "顺丰速运", "Amazon.com", "陈伟"),
}


@dataclass(frozen=True)
class TemplateFinding:
    path: str
    line: int
    column: int
    rule_id: str
    severity: str
    message: str
    fix: str
    where: str  # "source", or the sample it was found in: "rendered (all known)" / "rendered (sparse)"

    def as_text(self) -> str:
        return f"{self.path}:{self.line}:{self.column} {self.rule_id} {self.message}"


def sample_contexts(locale: str) -> dict[str, dict[str, Any]]:
    """Two renderings' worth of CONTEXT_VARIABLES for `locale`: everything known, and the usual gaps."""
    name, item, carrier, marketplace, agent = _SAMPLES.get(locale, _SAMPLES["en"])
    full = {
        "buyer_name": name,
        "order_id": SAMPLE_ORDER_ID,
        "item": item,
        "items": [item],
        "tracking_number": "1Z999AA10123456784",
        "carrier": carrier,
        "shipped_on": format_date(date(2026, 11, 20), locale),
        "delivery_by": format_date(date(2026, 11, 24), locale),
        "marketplace": marketplace,
        "agent_name": agent,
    }
    sparse = {**full, "buyer_name": "", "tracking_number": None, "carrier": None, "shipped_on": None}
    return {"all known": full, "sparse": sparse}


def find_templates(paths: Iterable[str | Path]) -> list[Path]:
    """The template files among `paths` (files, or folders searched recursively for *.j2), sorted."""
    found: set[Path] = set()
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.update(p for p in path.rglob("*.j2") if p.is_file())
        elif path.is_file():
            found.add(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or folder")
    return sorted(found)


def channel_of(path: Path, override: str | None = None) -> str:
    """The channel a template file is written for: `override`, else by its nearest folder that names one,
    else relay_email (the strictest rules). Raises ValueError for an unknown override."""
    if override is not None:
        check_channel(override)
        return override
    for folder in path.parents:
        if folder.name in CHANNEL_OF_FOLDER:
            return CHANNEL_OF_FOLDER[folder.name]
    return "relay_email"


def lint_template(
    path: Path, *, channel: str, subject: str | None = None, rules: RuleSet | None = None
) -> list[TemplateFinding]:
    """Every finding for one template file (source and renderings, suppressions applied), sorted by position.
    `subject` is linted with each rendering when given (reply templates have none)."""
    rule_set = rules if rules is not None else load_rules()
    shown = str(path)
    match = TEMPLATE_FILE.match(path.name)
    if match is None:
        return [
            _source_finding(shown, 1, 1, "bad-template-name", f"{path.name} is not <name>.<locale>.txt.j2")
        ]
    locale = match["locale"]
    source = path.read_text(encoding="utf-8")
    suppressed, findings = _suppressions(shown, source, rule_set)
    environment = sandboxed_environment(path.parent)
    try:
        parsed = environment.parse(source)
    except TemplateSyntaxError as exc:
        return findings + [_source_finding(shown, exc.lineno or 1, 1, "template-syntax", exc.message or "")]
    unknown = sorted(meta.find_undeclared_variables(parsed) - set(CONTEXT_VARIABLES))
    for name in unknown:
        line, column = _position(source, name)
        close = difflib.get_close_matches(name, list(CONTEXT_VARIABLES), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        findings.append(
            _source_finding(shown, line, column, "undefined-variable", f"unknown variable {name!r}{hint}")
        )
    if unknown:
        return findings
    seen: set[tuple[str, int, int]] = set()
    for sample, context in sample_contexts(locale).items():
        try:
            body = environment.from_string(source).render(**context)
        except (UndefinedError, SecurityError, TypeError, ValueError) as exc:
            findings.append(
                _source_finding(shown, 1, 1, "template-not-renderable", f"with {sample} values: {exc}")
            )
            continue
        rendered_subject = environment.from_string(subject).render(**context) if subject else None
        for finding in lint_message(
            body=body,
            subject=rendered_subject,
            channel=channel,
            locale=locale,
            order_id=SAMPLE_ORDER_ID,
            rules=rule_set,
        ):
            if finding.rule_id in suppressed:
                continue
            line, column = _position(source, finding.excerpt) if finding.excerpt else (1, 1)
            if finding.part == "subject":
                line, column = 1, 1
            key = (finding.rule_id, line, column)
            if key in seen:  # the same finding in both renderings is one finding
                continue
            seen.add(key)
            findings.append(
                TemplateFinding(
                    shown,
                    line,
                    column,
                    finding.rule_id,
                    finding.severity,
                    finding.message if finding.part == "body" else f"subject: {finding.message}",
                    finding.fix,
                    f"rendered ({sample})",
                )
            )
    return sorted(findings, key=lambda f: (f.line, f.column, f.rule_id))


def format_findings(findings: Sequence[TemplateFinding], style: str, rules: RuleSet | None = None) -> str:
    """The findings as text (one `path:line:col rule-id message` a line), JSON (a list of objects) or SARIF 2.1.0
    (for code scanning). Raises ValueError for another style."""
    if style == "text":
        return "\n".join(f.as_text() for f in findings)
    if style == "json":
        return json.dumps([asdict(f) for f in findings], ensure_ascii=False, indent=2)
    if style == "sarif":
        return json.dumps(
            _sarif(findings, rules if rules is not None else load_rules()), ensure_ascii=False, indent=2
        )
    raise ValueError(f"unknown format {style!r}; use text, json or sarif")


# -- internals --------------------------------------------------------------------------------------------------


def _source_finding(path: str, line: int, column: int, rule_id: str, message: str) -> TemplateFinding:
    return TemplateFinding(path, line, column, rule_id, "error", message, SOURCE_RULES[rule_id], "source")


def _position(source: str, text: str) -> tuple[int, int]:
    """1-based line and column of the first occurrence of `text` in `source`, else (1, 1)."""
    offset = source.find(text)
    if offset < 0:
        return 1, 1
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def _suppressions(path: str, source: str, rules: RuleSet) -> tuple[set[str], list[TemplateFinding]]:
    """The rule ids switched off by justified comments, and findings for the unjustified or unknown ones."""
    known = {rule.rule_id for rule in rules.rules}
    suppressed: set[str] = set()
    findings = []
    for match in _SUPPRESSION.finditer(source):
        ids, dashes, reason = match["body"].partition("--")
        line, column = _position(source, match.group(0))
        rule_ids = [r.strip() for r in ids.split(",") if r.strip()]
        if not dashes or not reason.strip():
            findings.append(
                _source_finding(
                    path,
                    line,
                    column,
                    "unjustified-suppression",
                    f"disable={','.join(rule_ids)} gives no reason",
                )
            )
            continue
        for rule_id in rule_ids:
            if rule_id in known:
                suppressed.add(rule_id)
            else:
                close = difflib.get_close_matches(rule_id, sorted(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                findings.append(
                    _source_finding(
                        path, line, column, "unknown-rule-in-suppression", f"no rule {rule_id!r}{hint}"
                    )
                )
    return suppressed, findings


def _sarif(findings: Sequence[TemplateFinding], rules: RuleSet) -> dict[str, Any]:
    """A SARIF 2.1.0 log with one run: every rule of the rules file and of the source checks, and the results."""
    descriptors: list[dict[str, Any]] = [
        {
            "id": rule.rule_id,
            "shortDescription": {"text": rule.message.replace("{", "").replace("}", "")},
            "help": {"text": rule.fix},
            "defaultConfiguration": {"level": rule.severity},
            "properties": {"channels": list(rule.channels)},
        }
        for rule in rules.rules
    ]
    descriptors += [
        {
            "id": rule_id,
            "shortDescription": {"text": fix},
            "help": {"text": fix},
            "defaultConfiguration": {"level": "error"},
        }
        for rule_id, fix in SOURCE_RULES.items()
    ]
    index = {d["id"]: n for n, d in enumerate(descriptors)}
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "sellerreach-lint",
                        "informationUri": "https://github.com/sellerreach/sellerreach",
                        "rules": descriptors,
                    }
                },
                "results": [
                    {
                        "ruleId": f.rule_id,
                        "ruleIndex": index.get(f.rule_id, -1),
                        "level": f.severity,
                        "message": {"text": f"{f.message}. {f.fix}"},
                        "locations": [
                            {
                                "physicalLocation": {
                                    "artifactLocation": {"uri": Path(f.path).as_posix()},
                                    "region": {"startLine": f.line, "startColumn": f.column},
                                }
                            }
                        ],
                    }
                    for f in findings
                ],
            }
        ],
    }


def lint_templates(
    paths: Iterable[str | Path], *, channel: str | None = None, rules: RuleSet | None = None
) -> tuple[list[Path], list[TemplateFinding]]:
    """Every template under `paths` and all their findings. Raises FileNotFoundError or ValueError."""
    rule_set = rules if rules is not None else load_rules()
    files = find_templates(paths)
    findings = [
        finding
        for path in files
        for finding in lint_template(path, channel=channel_of(path, channel), rules=rule_set)
    ]
    return files, findings


def count_by_severity(findings: Iterable[TemplateFinding]) -> Mapping[str, int]:
    counts = {"error": 0, "warning": 0}
    for finding in findings:
        counts[finding.severity] = counts.get(finding.severity, 0) + 1
    return counts
