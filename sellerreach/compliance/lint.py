"""The checks: a rendered message (subject and body as plain text, possibly with some HTML) against the rules of
its channel, giving findings with a position. One function per rule kind; the rules themselves are data.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sellerreach.compliance.rules import Rule, RulePattern, RuleSet, check_channel, for_language, load_rules
from sellerreach.language import detect_language

EXCERPT_CHARS = 60
MIN_PHONE_DIGITS = 7  # shorter is no number a buyer could call from abroad (area code + subscriber)
MAX_PHONE_DIGITS = 15  # E.164; also keeps order ids (17 digits) and long tracking numbers out
DETECTABLE_LANGUAGES = ("en", "de", "fr", "es", "it", "ja", "zh")  # what sellerreach.language can tell apart
LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "ja": "Japanese",
    "zh": "Chinese",
}
ORDER_ID_FORMAT = "format 123-1234567-1234567"

# Full-width ASCII (ＡＢＣ１２３％) and the ideographic space read as their ASCII forms; one character for one,
# so offsets in the normalised text are offsets in the original.
_FULLWIDTH = {0xFF01 + i: 0x21 + i for i in range(0x5E)} | {0x3000: 0x20}
# "?" and "!" end a sentence anywhere (Chinese and Japanese put no space after them); "." only before a space,
# so "4.5 stars" and "amazon.de" stay whole. A blank line or a list item also starts a new sentence.
_SENTENCE_END = re.compile(r"[!?。]+|[.…]+(?=\s|$)|\n[ \t]*\n|\n(?=[ \t]*(?:[-*•·]|\d+[.)])[ \t])")
_TRAILING_PUNCTUATION = ".,;:!?"


@dataclass(frozen=True)
class Finding:
    """One broken rule at one place in a message."""

    rule_id: str
    severity: str  # "error" | "warning"
    message: str  # what is wrong, one sentence
    fix: str  # how to fix it, one sentence
    part: str  # "subject" | "body"
    line: int  # 1-based, within the part
    column: int  # 1-based, in characters
    excerpt: str  # the offending text, at most 60 characters ("" when something is missing)

    def as_text(self, path: str = "<message>") -> str:
        """One line in the shape compilers use: "path:line:col rule-id message"."""
        return f"{path}:{self.line}:{self.column} {self.rule_id} {self.message}"


def lint_message(
    *,
    body: str,
    channel: str,
    locale: str,
    subject: str | None = None,
    order_id: str | None = None,
    rules: RuleSet | None = None,
) -> list[Finding]:
    """Check a rendered message against the rules of `channel`.

    `locale` is the buyer's language as an ISO 639-1 code ("de"; "de-DE" and "de_DE" are read as "de"; a
    language without patterns gets the language-neutral ones only). `order_id` is the Amazon order the message
    is about; without it any id of the form 123-1234567-1234567 satisfies the order-id rule. `rules` defaults to
    the packaged rules. Returns the findings sorted by (part, line, column, rule_id). Raises ValueError for an
    unknown channel.
    """
    check_channel(channel)
    rule_set = rules if rules is not None else load_rules()
    texts = {"subject": subject or "", "body": body}
    message = _Message(
        texts=texts,
        normalised={part: text.translate(_FULLWIDTH) for part, text in texts.items()},
        language=_language_of(locale),
        order_id=order_id.strip() if order_id else None,
    )
    findings = [
        finding for rule in rule_set.for_channel(channel) for finding in _CHECKS[rule.kind](rule, message)
    ]
    return sorted(findings, key=lambda f: (f.part, f.line, f.column, f.rule_id))


def errors_in(findings: Iterable[Finding]) -> list[Finding]:
    """The findings of severity "error": the ones that must stop a send."""
    return [f for f in findings if f.severity == "error"]


# -- the message being checked -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Message:
    texts: dict[str, str]  # part -> the text as written: excerpts come from here
    normalised: dict[str, str]  # part -> the text with full-width forms as ASCII: patterns run on this
    language: str
    order_id: str | None


def _language_of(locale: str) -> str:
    return re.split(r"[-_]", (locale or "").strip().lower(), maxsplit=1)[0]


Span = tuple[int, int]


def _spans(patterns: Iterable[RulePattern], text: str) -> list[Span]:
    return [m.span() for p in patterns for m in p.regex.finditer(text) if m.end() > m.start()]


def _overlaps(span: Span, others: list[Span]) -> bool:
    return any(span[0] < end and start < span[1] for start, end in others)


def _first_of_overlapping(spans: Iterable[Span]) -> list[Span]:
    """Of spans that overlap, the one starting first (the longest when two start together)."""
    kept: list[Span] = []
    for start, end in sorted(spans, key=lambda s: (s[0], -s[1])):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end))
    return kept


def _sentence_of(ends: list[int], offset: int) -> int:
    return bisect.bisect_right(ends, offset)


def _finding(rule: Rule, message: _Message, part: str, span: Span, **fields: str) -> Finding:
    text = message.texts[part]
    start, end = span
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    excerpt = " ".join(text[start:end].split())
    if len(excerpt) > EXCERPT_CHARS:
        excerpt = excerpt[: EXCERPT_CHARS - 1] + "…"
    fields.setdefault("match", excerpt)
    return Finding(
        rule_id=rule.rule_id,
        severity=rule.severity,
        message=rule.message.format_map(fields),
        fix=rule.fix.format_map(fields),
        part=part,
        line=line,
        column=column,
        excerpt=excerpt,
    )


def _missing(rule: Rule, **fields: str) -> Finding:
    # Nothing to point at: the finding sits at the start of the body.
    return Finding(
        rule_id=rule.rule_id,
        severity=rule.severity,
        message=rule.message.format_map(fields),
        fix=rule.fix.format_map(fields),
        part="body",
        line=1,
        column=1,
        excerpt="",
    )


# -- one check per kind --------------------------------------------------------------------------------------


def _matches(rule: Rule, message: _Message, part: str) -> list[Span]:
    """Spans in `part` matching the rule's patterns for the message's language, minus ignored ones, with the
    context condition applied; overlapping matches collapse to one."""
    text = message.normalised[part]
    language = message.language
    found = _spans(for_language(rule.patterns, language), text)
    always = _spans(for_language(rule.always, language), text)
    if not found and not always:
        return []  # the common case for a clean message: no need to look for context or ignored text
    ignored = _spans(for_language(rule.ignore, language), text)
    found = [s for s in found if not _overlaps(s, ignored)]
    if rule.context and found:
        ends = [m.end() for m in _SENTENCE_END.finditer(text)]
        context = [s for s in _spans(for_language(rule.context, language), text) if not _overlaps(s, ignored)]
        sentences = {_sentence_of(ends, start) for start, _ in context}
        found = [s for s in found if _sentence_of(ends, s[0]) in sentences]
    found += [s for s in always if not _overlaps(s, ignored)]
    return _first_of_overlapping(found)


def _check_pattern(rule: Rule, message: _Message) -> list[Finding]:
    return [
        _finding(rule, message, part, span) for part in rule.parts for span in _matches(rule, message, part)
    ]


def _check_phone(rule: Rule, message: _Message) -> list[Finding]:
    findings = []
    for part in rule.parts:
        text = message.texts[part]
        for start, end in _matches(rule, message, part):
            digits = sum(c.isdigit() for c in text[start:end])
            if MIN_PHONE_DIGITS <= digits <= MAX_PHONE_DIGITS:
                findings.append(_finding(rule, message, part, (start, end)))
    return findings


def _host(url: str) -> str:
    rest = url.split("://", 1)[-1]
    rest = re.split(r"[/?#\\]", rest, maxsplit=1)[0]
    rest = rest.rsplit("@", 1)[-1].split(":", 1)[0]
    return rest.rstrip(".").lower()


def _is_allowed(host: str, domains: tuple[str, ...]) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def _check_link(rule: Rule, message: _Message) -> list[Finding]:
    findings = []
    for part in rule.parts:
        text = message.normalised[part]
        for start, end in _matches(rule, message, part):
            # A sentence's full stop or a closing comma is not part of the link.
            while end > start and text[end - 1] in _TRAILING_PUNCTUATION:
                end -= 1
            host = _host(text[start:end])
            if host and not _is_allowed(host, rule.allow_domains):
                findings.append(_finding(rule, message, part, (start, end), domain=host))
    return findings


def _check_required(rule: Rule, message: _Message) -> list[Finding]:
    for part in rule.parts:
        if _spans(for_language(rule.patterns, message.language), message.normalised[part]):
            return []
    return [_missing(rule)]


def _check_order_id(rule: Rule, message: _Message) -> list[Finding]:
    texts = [message.normalised[part] for part in rule.parts]
    if message.order_id:
        if any(message.order_id in text for text in texts):
            return []
        return [_missing(rule, order_id=message.order_id)]
    patterns = for_language(rule.patterns, message.language)
    if any(_spans(patterns, text) for text in texts):
        return []
    return [_missing(rule, order_id=ORDER_ID_FORMAT)]


def _check_language(rule: Rule, message: _Message) -> list[Finding]:
    if message.language not in DETECTABLE_LANGUAGES:
        return []  # the detector knows seven languages: it cannot confirm or refute a Dutch text
    findings = []
    for part in rule.parts:
        text = message.texts[part]
        detected = detect_language(text)
        if detected is None or detected == message.language:
            continue  # None: too little text or no clear winner, which is no evidence of a wrong language
        first_line = re.search(r"\S[^\n]*", text)
        span = first_line.span() if first_line else (0, 0)
        findings.append(
            _finding(
                rule,
                message,
                part,
                span,
                language=f"{LANGUAGE_NAMES.get(detected, detected)} ({detected})",
                locale=f"{LANGUAGE_NAMES[message.language]} ({message.language})",
            )
        )
    return findings


def _check_repeat(rule: Rule, message: _Message) -> list[Finding]:
    """One finding at the second sentence that matches: the same request made twice in one message."""
    findings = []
    for part in rule.parts:
        text = message.normalised[part]
        ends = [m.end() for m in _SENTENCE_END.finditer(text)]
        sentences: dict[int, Span] = {}
        for span in _matches(rule, message, part):
            sentences.setdefault(_sentence_of(ends, span[0]), span)
        if len(sentences) > 1:
            findings.append(_finding(rule, message, part, sentences[sorted(sentences)[1]]))
    return findings


_CHECKS: dict[str, Callable[[Rule, _Message], list[Finding]]] = {
    "pattern": _check_pattern,
    "repeat": _check_repeat,
    "phone": _check_phone,
    "link": _check_link,
    "required": _check_required,
    "order-id": _check_order_id,
    "language": _check_language,
}
