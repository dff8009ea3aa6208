"""Compliance rules as data: a rules TOML file (the packaged one is rules.toml next to this module) read,
validated and compiled into frozen dataclasses. The file's header comment documents its format.

Every problem in a rules file is reported at once as a ConfigError, one line each: the file, the rule (index and
id) and key, what is wrong and a valid example. Regular expressions are compiled here, once per load.
"""

from __future__ import annotations

import functools
import os
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sellerreach.errors import ConfigError

CHANNELS = ("solicitation", "relay_email", "direct_email")
PARTS = ("subject", "body")
SEVERITIES = ("error", "warning")
FORMAT_VERSION = 1
REGEX_PREFIX = "re:"
ANY_LANGUAGE = "*"
PATTERN_FIELDS = ("patterns", "context", "always", "ignore")


@dataclass(frozen=True)
class KindSpec:
    """What a rule of one kind must and may say; lint.py holds the check that runs for each kind."""

    required: tuple[str, ...]  # fields besides id, kind, severity, channels, message, fix
    optional: tuple[str, ...]
    default_parts: tuple[str, ...]
    placeholders: tuple[str, ...]  # allowed in message and fix


KINDS: dict[str, KindSpec] = {
    "pattern": KindSpec(("patterns",), ("context", "always", "ignore"), PARTS, ("match",)),
    "phone": KindSpec(("patterns",), ("ignore",), PARTS, ("match",)),
    "link": KindSpec(("patterns", "allow_domains"), ("ignore",), PARTS, ("match", "domain")),
    "required": KindSpec(("patterns",), (), ("body",), ()),
    "order-id": KindSpec(("patterns",), (), PARTS, ("order_id",)),
    "language": KindSpec((), (), ("body",), ("language", "locale")),
    "repeat": KindSpec(("patterns",), ("ignore",), ("body",), ("match",)),
}
_COMMON_REQUIRED = ("id", "kind", "severity", "channels", "message", "fix")
_RULE_KEYS = (*_COMMON_REQUIRED, "parts", *PATTERN_FIELDS, "allow_domains")
_TOP_LEVEL_KEYS = ("version", "lists", "rules")

_RULE_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_LIST_NAME = _RULE_ID
_LANGUAGE_KEY = re.compile(r"^(?:\*|[a-z]{2})$")
_DOMAIN = re.compile(r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\uac00-\ud7af]")

_EXAMPLES = {
    "id": 'id = "external-link"',
    "kind": 'kind = "pattern" (one of ' + ", ".join(KINDS) + ")",
    "severity": 'severity = "error"',
    "channels": 'channels = ["relay_email"]',
    "parts": 'parts = ["subject", "body"]',
    "message": 'message = "Link to a non-Amazon domain ({domain})"',
    "fix": 'fix = "Remove the link."',
    "patterns": """[rules.patterns] en = ["coupon", 're:\\d+ ?% off'], "*" = ["Instagram"]""",
    "context": 'context = "review-words" (a [lists.NAME]) or [rules.context] en = ["review"]',
    "always": '[rules.always] en = ["coupon code"]',
    "ignore": """[rules.ignore] "*" = ['re:\\d{3}-\\d{7}-\\d{7}']""",
    "allow_domains": 'allow_domains = ["amazon.com", "amazon.de"]',
    "version": f"version = {FORMAT_VERSION}",
    "lists": '[lists.review-words] en = ["review", "rating"]',
    "rules": '[[rules]] id = "email-address", kind = "pattern", severity = "error", channels = ["relay_email"], ...',
}


@dataclass(frozen=True)
class RulePattern:
    """One compiled pattern of a rule, for one language ("*": every language)."""

    language: str
    source: str  # as written in the rules file: "re:..." or the keywords it was built from
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Rule:
    rule_id: str
    kind: str
    severity: str
    channels: tuple[str, ...]
    parts: tuple[str, ...]
    message: str
    fix: str
    patterns: tuple[RulePattern, ...] = ()
    context: tuple[RulePattern, ...] = ()
    always: tuple[RulePattern, ...] = ()
    ignore: tuple[RulePattern, ...] = ()
    allow_domains: tuple[str, ...] = ()

    def languages(self) -> frozenset[str]:
        """The languages this rule has patterns for ("*" included)."""
        return frozenset(p.language for p in (*self.patterns, *self.always))


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]
    source: str = "<rules>"

    def for_channel(self, channel: str) -> tuple[Rule, ...]:
        """The rules applied to `channel`, in file order. Raises ValueError for an unknown channel."""
        check_channel(channel)
        return tuple(rule for rule in self.rules if channel in rule.channels)

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id. Raises KeyError naming the known ids."""
        for rule in self.rules:
            if rule.rule_id == rule_id:
                return rule
        raise KeyError(f"no rule {rule_id!r}; known: {', '.join(r.rule_id for r in self.rules)}")


def check_channel(channel: str) -> None:
    """Raises ValueError naming the known channels when `channel` is not one of them."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; known channels: {', '.join(CHANNELS)}")


def for_language(patterns: tuple[RulePattern, ...], language: str) -> tuple[RulePattern, ...]:
    """The patterns that apply to text in `language`: its own and the language-neutral ("*") ones."""
    return tuple(p for p in patterns if p.language == ANY_LANGUAGE or p.language == language)


def keywords_regex(keywords: list[str]) -> str:
    """Regex source finding any of `keywords`: whole words in Latin script, anywhere in CJK script; spaces and
    hyphens inside a keyword match any run of spaces or hyphens, an apostrophe matches ' and ’."""
    # Longest first: an alternation takes the first alternative that matches ("gift card for" before "gift
    # card"). The Latin words share one pair of lookarounds, which is several times faster than one pair each.
    ordered = sorted(set(keywords), key=lambda k: (-len(k), k))
    latin = [_keyword_body(k) for k in ordered if not _CJK.search(k)]
    cjk = [_keyword_body(k) for k in ordered if _CJK.search(k)]
    alternatives = ([rf"(?<!\w)(?:{'|'.join(latin)})(?!\w)"] if latin else []) + cjk
    return "|".join(alternatives)


def _keyword_body(keyword: str) -> str:
    words = [re.escape(w) for w in re.split(r"[\s-]+", keyword.strip()) if w]
    return re.sub("['’]", "['’]", r"[\s-]+".join(words))


# -- loading -------------------------------------------------------------------------------------------------


def load_rules(path: str | os.PathLike[str] | None = None) -> RuleSet:
    """Read, validate and compile a rules file; None: the packaged rules.toml (parsed once per process).

    Raises ConfigError naming the file, the rule and key, and what is wrong (every problem at once).
    """
    if path is None:
        return _packaged_rules()
    source = os.fspath(path)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{source}: (file): rules file does not exist; example: {_packaged_path()}"
        ) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{source}: (file): is not UTF-8 text (byte {exc.start}); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{source}: (file): cannot be read ({exc.strerror or type(exc).__name__})"
        ) from None
    return parse_rules(text, source)


@functools.cache
def _packaged_rules() -> RuleSet:
    return parse_rules(_packaged_path().read_text(encoding="utf-8"), "sellerreach/compliance/rules.toml")


def _packaged_path() -> Path:
    return Path(str(resources.files("sellerreach.compliance").joinpath("rules.toml")))


def parse_rules(text: str, source: str = "<rules>") -> RuleSet:
    """Validate and compile the rules in TOML `text`; `source` names it in errors. Raises ConfigError."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{source}: (TOML syntax): {exc}; example: regexes in single quotes, re:'\\d+' as 're:\\d+'"
        ) from None
    problems = _Problems(source)
    for key in raw:
        if key not in _TOP_LEVEL_KEYS:
            problems.add(key, f"unknown key; known: {', '.join(_TOP_LEVEL_KEYS)}", _EXAMPLES["rules"])
    version = raw.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        problems.add("version", f"unsupported format version {version!r}", _EXAMPLES["version"])
    lists = _parse_lists(raw.get("lists", {}), problems)
    rules_raw = raw.get("rules")
    rules: list[Rule] = []
    if not isinstance(rules_raw, list) or not rules_raw:
        problems.add("rules", "no [[rules]] entries", _EXAMPLES["rules"])
    else:
        seen: dict[str, int] = {}
        for index, entry in enumerate(rules_raw):
            rule = _parse_rule(entry, index, lists, problems)
            if rule is None:
                continue
            if rule.rule_id in seen:
                problems.add(
                    f"rules[{index}] ({rule.rule_id}): id",
                    f"duplicate id, also rules[{seen[rule.rule_id]}]",
                    _EXAMPLES["id"],
                )
            seen[rule.rule_id] = index
            rules.append(rule)
    problems.raise_if_any()
    return RuleSet(tuple(rules), source)


class _Problems:
    """Problems found in one rules file, reported together."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []

    def add(self, key: str, problem: str, example: str) -> None:
        self.lines.append(f"{self.source}: {key}: {problem}; example: {example}")

    def raise_if_any(self) -> None:
        if len(self.lines) == 1:
            raise ConfigError(self.lines[0])
        if self.lines:
            header = f"{self.source}: {len(self.lines)} problems in the compliance rules:"
            raise ConfigError("\n".join([header, *("  " + line for line in self.lines)]))


_Lists = Mapping[str, tuple[RulePattern, ...]]


def _parse_lists(raw: Any, problems: _Problems) -> _Lists:
    if not isinstance(raw, dict):
        problems.add("lists", "must be a table of named lists", _EXAMPLES["lists"])
        return {}
    lists = {}
    for name, table in raw.items():
        if not _LIST_NAME.match(name):
            problems.add(f"lists.{name}", "list names are kebab-case", _EXAMPLES["lists"])
        lists[name] = _compile_table(table, f"lists.{name}", "lists", problems)
    return lists


def _parse_rule(entry: Any, index: int, lists: _Lists, problems: _Problems) -> Rule | None:
    if not isinstance(entry, dict):
        problems.add(f"rules[{index}]", "each [[rules]] entry must be a table", _EXAMPLES["rules"])
        return None
    rule_id = entry.get("id")
    where = f"rules[{index}] ({rule_id})" if isinstance(rule_id, str) else f"rules[{index}]"
    problem_count = len(problems.lines)

    for key in entry:
        if key not in _RULE_KEYS:
            problems.add(f"{where}: {key}", f"unknown key; known: {', '.join(_RULE_KEYS)}", _EXAMPLES["id"])
    for key in _COMMON_REQUIRED:
        if key not in entry:
            problems.add(f"{where}: {key}", "missing", _EXAMPLES[key])
    if isinstance(rule_id, str) and not _RULE_ID.match(rule_id):
        problems.add(f"{where}: id", f"{rule_id!r} is not kebab-case", _EXAMPLES["id"])
    elif "id" in entry and not isinstance(rule_id, str):
        problems.add(f"{where}: id", "must be a string", _EXAMPLES["id"])

    kind = entry.get("kind")
    spec = KINDS.get(kind) if isinstance(kind, str) else None
    if "kind" in entry and spec is None:
        problems.add(f"{where}: kind", f"unknown kind {kind!r}; known: {', '.join(KINDS)}", _EXAMPLES["kind"])
    if spec is not None:
        for key in spec.required:
            if key not in entry:
                problems.add(f"{where}: {key}", f"missing (kind {kind} needs it)", _EXAMPLES[key])
        for key in (*PATTERN_FIELDS, "allow_domains"):
            if key in entry and key not in spec.required + spec.optional:
                problems.add(f"{where}: {key}", f"not read by kind {kind}", _EXAMPLES["kind"])

    severity = entry.get("severity")
    if "severity" in entry and severity not in SEVERITIES:
        problems.add(
            f"{where}: severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}", _EXAMPLES["severity"]
        )
    channels = _string_list(entry, "channels", where, CHANNELS, problems)
    parts = _string_list(entry, "parts", where, PARTS, problems) if "parts" in entry else None
    texts = {}
    for key in ("message", "fix"):
        value = entry.get(key)
        if key in entry and (not isinstance(value, str) or not value.strip()):
            problems.add(f"{where}: {key}", "must be a non-empty string", _EXAMPLES[key])
        elif isinstance(value, str) and spec is not None:
            _check_placeholders(value, key, where, spec, problems)
        texts[key] = value if isinstance(value, str) else ""

    compiled = {}
    for key in PATTERN_FIELDS:
        if key in entry:
            compiled[key] = _pattern_field(entry[key], f"{where}: {key}", key, lists, problems)
    domains = _allow_domains(entry, where, problems) if "allow_domains" in entry else ()

    if len(problems.lines) > problem_count or spec is None:
        return None
    return Rule(
        rule_id=rule_id,
        kind=kind,
        severity=severity,
        channels=channels,
        parts=parts or spec.default_parts,
        message=texts["message"],
        fix=texts["fix"],
        allow_domains=domains,
        **compiled,
    )


def _string_list(
    entry: dict[str, Any], key: str, where: str, allowed: tuple[str, ...], problems: _Problems
) -> tuple[str, ...]:
    value = entry.get(key)
    if key not in entry:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        problems.add(f"{where}: {key}", "must be a non-empty list of strings", _EXAMPLES[key])
        return ()
    unknown = [v for v in value if v not in allowed]
    if unknown:
        problems.add(
            f"{where}: {key}",
            f"unknown {key[:-1]} {unknown[0]!r}; known: {', '.join(allowed)}",
            _EXAMPLES[key],
        )
    return tuple(value)


def _check_placeholders(text: str, key: str, where: str, spec: KindSpec, problems: _Problems) -> None:
    try:
        names = [name for _, name, _, _ in string.Formatter().parse(text) if name is not None]
    except ValueError as exc:
        problems.add(
            f"{where}: {key}", f"bad placeholder ({exc}); write {{{{ for a literal brace", _EXAMPLES[key]
        )
        return
    unknown = [name for name in names if name not in spec.placeholders]
    if unknown:
        allowed = ", ".join("{" + p + "}" for p in spec.placeholders) or "none"
        problems.add(
            f"{where}: {key}", f"unknown placeholder {{{unknown[0]}}}; allowed: {allowed}", _EXAMPLES[key]
        )


def _pattern_field(
    value: Any, key: str, field: str, lists: _Lists, problems: _Problems
) -> tuple[RulePattern, ...]:
    if isinstance(value, str):
        if value not in lists:
            known = ", ".join(lists) or "(none)"
            problems.add(key, f"no list {value!r} in [lists]; known: {known}", _EXAMPLES[field])
            return ()
        return lists[value]
    return _compile_table(value, key, field, problems)


def _compile_table(table: Any, key: str, field: str, problems: _Problems) -> tuple[RulePattern, ...]:
    """Compile {language: [keyword or "re:regex", ...]}; all keywords of a language become one regex."""
    if not isinstance(table, dict) or not table:
        problems.add(key, "must be a table of language = [patterns]", _EXAMPLES[field])
        return ()
    compiled: list[RulePattern] = []
    for language, entries in table.items():
        if not _LANGUAGE_KEY.match(language):
            problems.add(f"{key}.{language}", 'language must be an ISO 639-1 code or "*"', _EXAMPLES[field])
            continue
        if not isinstance(entries, list) or not entries:
            problems.add(f"{key}.{language}", "must be a non-empty list of strings", _EXAMPLES[field])
            continue
        keywords = []
        for position, item in enumerate(entries):
            where = f"{key}.{language}[{position}]"
            if not isinstance(item, str) or not item.strip() or item.strip() == REGEX_PREFIX:
                problems.add(where, "must be a non-empty string", _EXAMPLES[field])
            elif item.startswith(REGEX_PREFIX):
                regex = _compile(item[len(REGEX_PREFIX) :], where, field, problems)
                if regex is not None:
                    compiled.append(RulePattern(language, item, regex))
            else:
                keywords.append(item)
        if keywords:
            regex = re.compile(keywords_regex(keywords), re.IGNORECASE)
            compiled.append(RulePattern(language, ", ".join(keywords), regex))
    return tuple(compiled)


def _compile(source: str, where: str, field: str, problems: _Problems) -> re.Pattern[str] | None:
    try:
        regex = re.compile(source, re.IGNORECASE)
    except re.error as exc:
        problems.add(where, f"invalid regular expression '{source}' ({exc})", _EXAMPLES[field])
        return None
    if regex.match(""):
        # A pattern that matches nothing-at-all matches everywhere (or, for `required`, always passes).
        problems.add(where, f"regular expression '{source}' matches the empty string", _EXAMPLES[field])
        return None
    return regex


def _allow_domains(entry: dict[str, Any], where: str, problems: _Problems) -> tuple[str, ...]:
    value = entry["allow_domains"]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.add(f"{where}: allow_domains", "must be a list of domain names", _EXAMPLES["allow_domains"])
        return ()
    bad = [v for v in value if not _DOMAIN.match(v)]
    if bad:
        problems.add(
            f"{where}: allow_domains",
            f"{bad[0]!r} is not a lower-case domain name (no scheme, no path)",
            _EXAMPLES["allow_domains"],
        )
    return tuple(value)
