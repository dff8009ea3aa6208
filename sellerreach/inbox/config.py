"""Configuration of the inbox: `[[mailboxes]]` and the `[inbox]` section (SLA policies, alert rules, agents,
assignment rules).

The shapes are pydantic models (unknown keys refused); `parse_inbox_config` turns pydantic's findings into the
same one-line-per-problem messages as the rest of the configuration (file, key, what is wrong, a valid example),
and checks what needs the other sections: the account a mailbox belongs to, marketplace ids, agents named by
rules. Secrets (IMAP password or OAuth2 token) are references resolved later, never values.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time
from typing import Any, Literal, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sellerreach.inbox.alerts import DEFAULT_ALERT_RULES, AlertRule
from sellerreach.inbox.auto_reply import DEFAULT_AUTO_REPLY_RULES, AutoReplyRule
from sellerreach.inbox.sla import BusinessHours, SlaPolicy
from sellerreach.marketplaces import MARKETPLACES
from sellerreach.rendering import CONTEXT_VARIABLES
from sellerreach.secrets import SecretRef

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CHANNELS = ("relay", "direct")  # relay: Amazon buyer-seller messaging; direct: the seller's own address

MAILBOX_EXAMPLE = (
    '[[mailboxes]] id = "acme-na-relay", account = "acme-na", kind = "imap", host = "imap.example.com", '
    'username = "support@acme.example", password = "env:SELLERREACH_IMAP_PASSWORD", '
    'seller_addresses = ["support@acme.example"]'
)
_EXAMPLES = {
    "mailboxes": MAILBOX_EXAMPLE,
    "id": 'id = "acme-na-relay"',
    "account": 'account = "acme-na"',
    "kind": 'kind = "imap" (or "maildir")',
    "path": 'path = ".sellerreach/mail/acme-na"',
    "host": 'host = "imap.example.com"',
    "port": "port = 993",
    "tls": "tls = true",
    "username": 'username = "support@acme.example"',
    "password": 'password = "env:SELLERREACH_IMAP_PASSWORD"',
    "oauth2_token": 'oauth2_token = "prefect-secret:acme-imap-oauth-token"',
    "folders": 'folders = ["INBOX"]',
    "sent_folders": 'sent_folders = ["Sent"]',
    "seller_addresses": 'seller_addresses = ["support@acme.example"]',
    "reply_from": 'reply_from = "support@acme.example" (one of seller_addresses, approved in Seller Central)',
    "auto_replies": "[inbox] auto_replies = true",
    "default_auto_reply_rules": "[inbox] default_auto_reply_rules = true",
    "reply_templates": '[inbox] reply_templates = "templates/replies"',
    "auto_reply_rules": '[[inbox.auto_reply_rules]] id = "where-is-my-order", keywords = ["where is my order"], '
    'template = "where_is_my_order", requires = ["tracking_number"]',
    "template": 'template = "where_is_my_order" (a file templates/replies/where_is_my_order.<locale>.txt.j2)',
    "requires": 'requires = ["tracking_number"]',
    "near_breach_hours": "[inbox] near_breach_hours = 4",
    "default_alert_rules": "[inbox] default_alert_rules = true",
    "sla_policies": '[[inbox.sla_policies]] marketplaces = ["A1PA6795UKMFR9"], hours = 24',
    "channel": 'channel = "relay"',
    "marketplaces": 'marketplaces = ["A1PA6795UKMFR9"]',
    "hours": "hours = 24",
    "time_zone": 'time_zone = "Europe/Berlin"',
    "business_hours": 'business_hours = { weekdays = ["mon", "tue", "wed", "thu", "fri"], opens = 09:00:00, '
    "closes = 18:00:00 }",
    "weekdays": 'weekdays = ["mon", "tue", "wed", "thu", "fri"]',
    "opens": "opens = 09:00:00",
    "closes": "closes = 18:00:00",
    "holidays": "holidays = [2026-12-25, 2026-12-26]",
    "alert_rules": '[[inbox.alert_rules]] id = "chargeback", keywords = ["chargeback", "Rückbuchung"]',
    "keywords": 'keywords = ["chargeback", "Rückbuchung"]',
    "tag": 'tag = "chargeback"',
    "agents": '[[inbox.agents]] id = "mia", name = "Mia Weber", time_zone = "Europe/Berlin", languages = ["de"]',
    "name": 'name = "Mia Weber"',
    "languages": 'languages = ["de", "en"]',
    "assignment_rules": '[[inbox.assignment_rules]] languages = ["de"], agents = ["mia"]',
    "accounts": 'accounts = ["acme-eu"]',
    "tags": 'tags = ["complaint"]',
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_time_zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin") from None
    return value


def _check_marketplaces(values: list[str]) -> list[str]:
    unknown = [m for m in values if m not in MARKETPLACES]
    if unknown:
        raise ValueError(f"unknown marketplace id {unknown[0]!r}")
    return values


class BusinessHoursModel(_Model):
    weekdays: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(min_length=1)
    opens: time
    closes: time

    @model_validator(mode="after")
    def _opens_before_closes(self) -> BusinessHoursModel:
        if self.closes <= self.opens:
            raise ValueError("closes must be later than opens (no overnight shifts)")
        return self


class SlaPolicyModel(_Model):
    channel: Literal["relay", "direct"] = "relay"
    marketplaces: list[str] = []  # empty: every marketplace
    hours: float = Field(default=24.0, gt=0)
    time_zone: str | None = None  # default: the marketplace's time zone
    business_hours: BusinessHoursModel | None = None
    holidays: list[date] = []

    _zone = field_validator("time_zone")(_check_time_zone)
    _markets = field_validator("marketplaces")(_check_marketplaces)


class AlertRuleModel(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")
    keywords: list[str] = Field(min_length=1)
    tag: str | None = None


class AgentModel(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    name: str | None = None
    time_zone: str = "UTC"
    languages: list[str] = []

    _zone = field_validator("time_zone")(_check_time_zone)


class AssignmentRuleModel(_Model):
    agents: list[str] = Field(min_length=1)
    accounts: list[str] = []
    marketplaces: list[str] = []
    languages: list[str] = []
    tags: list[str] = []

    _markets = field_validator("marketplaces")(_check_marketplaces)


class AutoReplyRuleModel(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,47}$")
    keywords: list[str] = Field(min_length=1)
    template: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    requires: list[str] = []
    accounts: list[str] = []
    marketplaces: list[str] = []
    languages: list[str] = []

    _markets = field_validator("marketplaces")(_check_marketplaces)

    @field_validator("requires")
    @classmethod
    def _known_variables(cls, values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in CONTEXT_VARIABLES]
        if unknown:
            raise ValueError(f"unknown variable {unknown[0]!r}; known: {', '.join(CONTEXT_VARIABLES)}")
        return values


class InboxModel(_Model):
    near_breach_hours: float = Field(default=4.0, ge=0)
    default_alert_rules: bool = True
    auto_replies: bool = False
    default_auto_reply_rules: bool = True
    auto_reply_rules: list[AutoReplyRuleModel] = []
    reply_templates: str | None = None
    sla_policies: list[SlaPolicyModel] = []
    alert_rules: list[AlertRuleModel] = []
    agents: list[AgentModel] = []
    assignment_rules: list[AssignmentRuleModel] = []


class MailboxModel(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    account: str
    kind: Literal["maildir", "imap"]
    path: str | None = None
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    tls: bool = True
    username: str | None = None
    password: str | None = None
    oauth2_token: str | None = None
    folders: list[str] = Field(default=["INBOX"], min_length=1)
    sent_folders: list[str] = []
    seller_addresses: list[str] = Field(min_length=1)
    reply_from: str | None = None

    @field_validator("seller_addresses")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", value):
                raise ValueError(f"{value!r} is not an e-mail address")
        return [v.lower() for v in values]

    @model_validator(mode="after")
    def _kind_needs(self) -> MailboxModel:
        if self.kind == "maildir" and not self.path:
            raise ValueError('a maildir mailbox needs path = "<folder>"')
        if self.kind == "imap":
            missing = [k for k in ("host", "username") if not getattr(self, k)]
            if missing:
                raise ValueError(f"an imap mailbox needs {' and '.join(missing)}")
            if (self.password is None) == (self.oauth2_token is None):
                raise ValueError(
                    "an imap mailbox needs exactly one of password or oauth2_token (a secret reference)"
                )
        if self.reply_from is not None and self.reply_from.lower() not in self.seller_addresses:
            raise ValueError("reply_from must be one of seller_addresses")
        return self


# -- the validated configuration -------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailboxConfig:
    """One mailbox that receives an account's relay mail (and holds the seller's sent replies)."""

    mailbox_id: str
    account_id: str
    kind: str  # maildir | imap
    path: str | None
    host: str | None
    port: int | None
    tls: bool
    username: str | None
    password: SecretRef | None
    oauth2_token: SecretRef | None
    folders: tuple[str, ...]
    sent_folders: tuple[str, ...]
    seller_addresses: tuple[str, ...]
    reply_from: str  # the approved sender replies go out from (Amazon drops relay mail from any other)


@dataclass(frozen=True)
class SlaRule:
    channel: str
    marketplace_ids: tuple[str, ...]  # empty: every marketplace
    hours: float
    time_zone: str | None
    business_hours: BusinessHours | None
    holidays: frozenset[date]


@dataclass(frozen=True)
class Agent:
    agent_id: str
    name: str
    time_zone: str
    languages: tuple[str, ...]


@dataclass(frozen=True)
class AssignmentRule:
    agent_ids: tuple[str, ...]
    account_ids: tuple[str, ...] = ()
    marketplace_ids: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class InboxConfig:
    near_breach_hours: float = 4.0
    sla_rules: tuple[SlaRule, ...] = ()
    alert_rules: tuple[AlertRule, ...] = DEFAULT_ALERT_RULES
    agents: tuple[Agent, ...] = ()
    assignment_rules: tuple[AssignmentRule, ...] = ()
    auto_replies: bool = False  # off by default: nothing is sent without an agent unless this is on
    auto_reply_rules: tuple[AutoReplyRule, ...] = DEFAULT_AUTO_REPLY_RULES
    reply_templates: str | None = None  # a folder of <name>.<locale>.txt.j2; None: the shipped templates/replies

    def sla_policy(self, marketplace_id: str | None, channel: str = "relay") -> SlaPolicy:
        """The first SLA rule for this channel that lists the marketplace (or lists none), else Amazon's 24 h
        around the clock; the time zone defaults to the marketplace's."""
        marketplace = MARKETPLACES.get(marketplace_id or "")
        default_zone = marketplace.time_zone if marketplace else "UTC"
        for rule in self.sla_rules:
            if rule.channel == channel and (
                not rule.marketplace_ids or marketplace_id in rule.marketplace_ids
            ):
                return SlaPolicy(
                    hours=rule.hours,
                    time_zone=rule.time_zone or default_zone,
                    business_hours=rule.business_hours,
                    holidays=rule.holidays,
                    near_breach_hours=self.near_breach_hours,
                )
        return SlaPolicy(time_zone=default_zone, near_breach_hours=self.near_breach_hours)

    def agent(self, agent_id: str) -> Agent | None:
        return next((a for a in self.agents if a.agent_id == agent_id), None)


class Problems(Protocol):
    def add(self, key: str, problem: str, example: str) -> None: ...


SecretParser = Callable[[Any, str, str], "SecretRef | None"]  # (value, key path, example) -> ref or None


def parse_inbox_config(
    problems: Problems, inbox: Any, mailboxes: Any, account_ids: Sequence[str], parse_secret: SecretParser
) -> tuple[InboxConfig, tuple[MailboxConfig, ...]]:
    """Validate `[inbox]` and `[[mailboxes]]` (raw TOML values; None when absent). Every problem goes to
    `problems`; what could not be read is left out of the result."""
    inbox_model = _validate(problems, InboxModel, inbox if inbox is not None else {}, "inbox")
    config = _inbox_config(problems, inbox_model) if inbox_model else InboxConfig()
    if mailboxes is None:
        return config, ()
    if not isinstance(mailboxes, list):
        problems.add("mailboxes", "must be an array of tables ([[mailboxes]])", MAILBOX_EXAMPLE)
        return config, ()
    parsed: list[MailboxConfig] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(mailboxes):
        path = f"mailboxes[{index}]"
        model = _validate(problems, MailboxModel, raw, path)
        if model is None:
            continue
        if model.id in seen:
            problems.add(
                f"{path}.id",
                f"duplicate mailbox id {model.id!r} (also mailboxes[{seen[model.id]}])",
                'id = "acme-eu-relay" (each mailbox needs its own id)',
            )
            continue
        seen[model.id] = index
        if model.account not in account_ids:
            problems.add(
                f"{path}.account",
                f"no account {model.account!r}; known: {', '.join(account_ids)}",
                _EXAMPLES["account"],
            )
            continue
        parsed.append(
            MailboxConfig(
                mailbox_id=model.id,
                account_id=model.account,
                kind=model.kind,
                path=model.path,
                host=model.host,
                port=(model.port or (993 if model.tls else 143)) if model.kind == "imap" else None,
                tls=model.tls,
                username=model.username,
                password=parse_secret(model.password, f"{path}.password", _EXAMPLES["password"]),
                oauth2_token=parse_secret(
                    model.oauth2_token, f"{path}.oauth2_token", _EXAMPLES["oauth2_token"]
                ),
                folders=tuple(model.folders),
                sent_folders=tuple(model.sent_folders),
                seller_addresses=tuple(model.seller_addresses),
                reply_from=(model.reply_from or model.seller_addresses[0]).lower(),
            )
        )
    return config, tuple(parsed)


def _inbox_config(problems: Problems, model: InboxModel) -> InboxConfig:
    agent_ids = [a.id for a in model.agents]
    for index, rule in enumerate(model.assignment_rules):
        unknown = [a for a in rule.agents if a not in agent_ids]
        if unknown:
            problems.add(
                f"inbox.assignment_rules[{index}].agents",
                f"no agent {unknown[0]!r} in [[inbox.agents]]; known: {', '.join(agent_ids) or '(none)'}",
                _EXAMPLES["agents"],
            )
    custom = tuple(AlertRule(r.id, tuple(r.keywords), r.tag or r.id) for r in model.alert_rules)
    defaults = tuple(r for r in DEFAULT_ALERT_RULES if r.rule_id not in {c.rule_id for c in custom})
    own_replies = tuple(
        AutoReplyRule(
            r.id,
            tuple(r.keywords),
            r.template,
            requires=tuple(r.requires),
            account_ids=tuple(r.accounts),
            marketplace_ids=tuple(r.marketplaces),
            languages=tuple(r.languages),
        )
        for r in model.auto_reply_rules
    )
    default_replies = tuple(
        r for r in DEFAULT_AUTO_REPLY_RULES if r.rule_id not in {c.rule_id for c in own_replies}
    )
    return InboxConfig(
        near_breach_hours=model.near_breach_hours,
        sla_rules=tuple(
            SlaRule(
                channel=p.channel,
                marketplace_ids=tuple(p.marketplaces),
                hours=p.hours,
                time_zone=p.time_zone,
                business_hours=(
                    BusinessHours(
                        frozenset(WEEKDAYS.index(d) for d in p.business_hours.weekdays),
                        p.business_hours.opens,
                        p.business_hours.closes,
                    )
                    if p.business_hours
                    else None
                ),
                holidays=frozenset(p.holidays),
            )
            for p in model.sla_policies
        ),
        alert_rules=(defaults if model.default_alert_rules else ()) + custom,
        auto_replies=model.auto_replies,
        auto_reply_rules=(default_replies if model.default_auto_reply_rules else ()) + own_replies,
        reply_templates=model.reply_templates,
        agents=tuple(Agent(a.id, a.name or a.id, a.time_zone, tuple(a.languages)) for a in model.agents),
        assignment_rules=tuple(
            AssignmentRule(
                tuple(r.agents), tuple(r.accounts), tuple(r.marketplaces), tuple(r.languages), tuple(r.tags)
            )
            for r in model.assignment_rules
        ),
    )


def _validate(problems: Problems, model: type[_Model], raw: Any, path: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_input=False):
            problems.add(*_describe(path, error))
        return None


def _describe(path: str, error: Mapping[str, Any]) -> tuple[str, str, str]:
    """(key path, problem, example) for one pydantic error; values are never echoed (they may be secrets)."""
    loc = [str(part) for part in error["loc"]]
    key = path
    for part in loc:
        key += f"[{part}]" if part.isdigit() else f".{part}"
    named = [p for p in loc if not p.isdigit() and p in _EXAMPLES]
    example = _EXAMPLES[named[-1]] if named else _EXAMPLES.get(path.split("[")[0], MAILBOX_EXAMPLE)
    kind = error["type"]
    if kind == "extra_forbidden":
        return key, f"unknown key {loc[-1]!r}", example
    if kind == "missing":
        return key, "is required", example
    message = error["msg"].removeprefix("Value error, ")
    return key, message[0].lower() + message[1:], example
