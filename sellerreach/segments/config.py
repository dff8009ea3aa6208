"""`[[segments]]` in the configuration: named rules over the buyer features, in priority order (a buyer's primary
segment is the first one listed that selects them). Every rule is parsed and type-checked when the
configuration is read, so a bad rule stops `sellerreach` before any run, naming the rule, the column of the
problem and the known features."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

from sellerreach.segments.expressions import Rule, RuleError, parse_rule
from sellerreach.segments.features import FEATURE_KINDS

SEGMENT_EXAMPLE = '[[segments]] name = "high_value", rule = "aov_cents >= 5000 and orders_365d >= 2"'
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
_KEYS = ("name", "rule", "description")


@dataclass(frozen=True)
class Segment:
    name: str
    rule: Rule
    description: str = ""


class Problems(Protocol):
    def add(self, key: str, problem: str, example: str) -> None: ...


def parse_segments(problems: Problems, raw: Any) -> tuple[Segment, ...]:
    """Validate `[[segments]]` (the raw TOML value, None when absent); every problem goes to `problems`."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        problems.add("segments", "must be an array of tables ([[segments]])", SEGMENT_EXAMPLE)
        return ()
    segments: list[Segment] = []
    for index, entry in enumerate(raw):
        path = f"segments[{index}]"
        if not isinstance(entry, dict):
            problems.add(path, "must be a table with name and rule", SEGMENT_EXAMPLE)
            continue
        unknown = [k for k in entry if k not in _KEYS]
        if unknown:
            problems.add(
                f"{path}.{unknown[0]}",
                f"unknown key {unknown[0]!r}; known: {', '.join(_KEYS)}",
                SEGMENT_EXAMPLE,
            )
            continue
        name, source = entry.get("name"), entry.get("rule")
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            problems.add(
                f"{path}.name",
                "is required: lower-case letters, digits and '_', starting with a letter",
                'name = "high_value"',
            )
            continue
        if name in {s.name for s in segments}:
            problems.add(
                f"{path}.name", f"duplicate segment {name!r}", 'name = "high_value_eu" (each segment once)'
            )
            continue
        try:
            rule = parse_rule(name, source, FEATURE_KINDS)
        except RuleError as exc:
            detail = str(exc).split(": ", 1)[1]  # without the "segments.<name>" the key already says
            problems.add(f"{path}.rule ({name})", detail, SEGMENT_EXAMPLE)
            continue
        segments.append(Segment(name, rule, str(entry.get("description") or "")))
    return tuple(segments)
