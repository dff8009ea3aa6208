"""Configuration: one TOML file, validated as a whole, turned into frozen dataclasses.

Where it comes from, first match wins: the `config_path` argument (the CLI's --config), env
SELLERREACH_CONFIG, ./sellerreach.toml, else the embedded demo defaults (sellerreach/demo.toml). A path given
explicitly that does not exist is an error, never a fallback. Env SELLERREACH_WAREHOUSE_URL overrides
`[warehouse] url`.

Every problem of a file is collected and raised as one ConfigError, one line per problem, each line naming the
file, the key, what is wrong and a valid example. Secrets are references (see secrets.py); a literal secret is
rejected without being echoed.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.engine.url import URL

from sellerreach.dispatch.ses import SesConfig
from sellerreach.errors import ConfigError
from sellerreach.inbox.config import InboxConfig, MailboxConfig, parse_inbox_config
from sellerreach.marketplaces import LWA_ENDPOINT, MARKETPLACES, REGION_ENDPOINTS
from sellerreach.secrets import NAME_PATTERN, NAME_PATTERNS, SecretRef, known_schemes
from sellerreach.segments.config import Segment, parse_segments

__all__ = [
    "AccountConfig",
    "InboxConfig",
    "MailboxConfig",
    "OrdersSyncConfig",
    "SecretRef",
    "SesConfig",
    "Settings",
    "demo_config",
    "example_config",
    "load_settings",
]

CONFIG_ENV = "SELLERREACH_CONFIG"
WAREHOUSE_URL_ENV = "SELLERREACH_WAREHOUSE_URL"
DEFAULT_CONFIG_FILE = "sellerreach.toml"
DEFAULT_WAREHOUSE_URL = "sqlite:///.sellerreach/warehouse.db"
DEMO_SOURCE = "embedded demo defaults"
LWA_TOKEN_PATH = "/auth/o2/token"

_SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "warehouse": ("url",),
    "orders": ("lookback_days", "overlap_minutes", "lag_minutes", "backfill_chunk_hours", "page_size"),
    "runtime": ("time_scale",),
    "ses": ("region", "endpoint", "configuration_set", "access_key_id", "secret_access_key"),
}
_ACCOUNT_REQUIRED = ("id", "region", "marketplaces", "client_id", "client_secret", "refresh_token")
_ACCOUNT_KEYS = _ACCOUNT_REQUIRED + ("endpoint", "lwa_endpoint")
_TOP_LEVEL = tuple(_SECTION_KEYS) + ("accounts", "inbox", "mailboxes", "segments")
_REGIONS = tuple(REGION_ENDPOINTS)
_SECRET_KEYS = ("client_id", "client_secret", "refresh_token")
_SECRET_EXAMPLES = {
    "client_id": 'client_id = "env:SELLERREACH_LWA_CLIENT_ID"',
    "client_secret": 'client_secret = "env:SELLERREACH_LWA_CLIENT_SECRET"',
    "refresh_token": 'refresh_token = "prefect-secret:acme-na-refresh-token"',
}
_ACCOUNT_EXAMPLES = {
    "id": 'id = "acme-na"',
    "region": 'region = "na"',
    "marketplaces": 'marketplaces = ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]',
    "endpoint": 'endpoint = "http://127.0.0.1:8765"',
    "lwa_endpoint": 'lwa_endpoint = "http://127.0.0.1:8765/auth/o2/token"',
    **_SECRET_EXAMPLES,
}
_ACCOUNT_EXAMPLE_TABLE = (
    '[[accounts]] id = "acme-na", region = "na", marketplaces = ["ATVPDKIKX0DER"], '
    'client_id = "env:SELLERREACH_LWA_CLIENT_ID", client_secret = "env:SELLERREACH_LWA_CLIENT_SECRET", '
    'refresh_token = "prefect-secret:acme-na-refresh-token"'
)
_SECTION_EXAMPLES = {
    "url": f'[warehouse] url = "{DEFAULT_WAREHOUSE_URL}"',
    "lookback_days": "[orders] lookback_days = 30",
    "overlap_minutes": "[orders] overlap_minutes = 15",
    "lag_minutes": "[orders] lag_minutes = 2",
    "backfill_chunk_hours": "[orders] backfill_chunk_hours = 24",
    "page_size": "[orders] page_size = 100",
    "time_scale": "[runtime] time_scale = 1",
    "region": '[ses] region = "eu-west-1"',
    "endpoint": '[ses] endpoint = "http://127.0.0.1:8765" (a stand-in; leave out for AWS)',
    "configuration_set": '[ses] configuration_set = "sellerreach-events"',
    "access_key_id": '[ses] access_key_id = "env:AWS_ACCESS_KEY_ID" (leave out for boto3\'s default chain)',
    "secret_access_key": '[ses] secret_access_key = "env:AWS_SECRET_ACCESS_KEY"',
}
_WAREHOUSE_EXAMPLE = f'url = "{DEFAULT_WAREHOUSE_URL}" or url = "postgresql+psycopg://sellerreach@db.internal:5432/sellerreach"'


# -- the settings -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountConfig:
    """One selling-partner account: its region, marketplaces, credential references and endpoints."""

    account_id: str
    region: str
    marketplace_ids: tuple[str, ...]
    client_id: SecretRef
    client_secret: SecretRef
    refresh_token: SecretRef
    endpoint: str  # override or REGION_ENDPOINTS[region]
    lwa_endpoint: str  # override or LWA_ENDPOINT


@dataclass(frozen=True)
class OrdersSyncConfig:
    """How the incremental order sync windows Amazon's order stream."""

    lookback_days: int = 30
    overlap_minutes: int = 15
    lag_minutes: int = 2
    backfill_chunk_hours: int = 24
    page_size: int = 100


@dataclass(frozen=True)
class Settings:
    """A validated configuration. `source` is the file path, or "embedded demo defaults"."""

    source: str
    accounts: tuple[AccountConfig, ...]
    warehouse_url: str
    orders: OrdersSyncConfig = field(default_factory=OrdersSyncConfig)
    time_scale: float = 1.0
    mailboxes: tuple[MailboxConfig, ...] = ()
    inbox: InboxConfig = field(default_factory=InboxConfig)
    ses: SesConfig = field(default_factory=SesConfig)
    segments: tuple[Segment, ...] = ()  # in priority order

    def mailbox(self, mailbox_id: str) -> MailboxConfig:
        """The mailbox with this id; ConfigError naming the known ids otherwise."""
        for mailbox in self.mailboxes:
            if mailbox.mailbox_id == mailbox_id:
                return mailbox
        known = [m.mailbox_id for m in self.mailboxes]
        raise ConfigError(
            f"{self.source}: mailboxes[].id: no mailbox {mailbox_id!r}; {_closest(mailbox_id, known)}known "
            f"mailboxes: {', '.join(known) or '(none)'}; example: --mailbox {known[0] if known else 'acme-na-relay'}"
        )

    def account(self, account_id: str) -> AccountConfig:
        """The account with this id; ConfigError naming the known ids (and the closest one) otherwise."""
        for account in self.accounts:
            if account.account_id == account_id:
                return account
        known = [a.account_id for a in self.accounts]
        close = difflib.get_close_matches(account_id, known, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"{self.source}: accounts[].id: no account {account_id!r}; {hint}known accounts: "
            f"{', '.join(known) or '(none)'}; example: --account {known[0] if known else 'acme-na'}"
        )

    def with_endpoint(self, endpoint: str) -> Settings:
        """A copy where every account talks to `endpoint` (the stand-in): SP-API at endpoint, LWA at
        endpoint + "/auth/o2/token". Raises ConfigError when endpoint is not http(s)://host[:port]."""
        problem = _endpoint_problem(endpoint, allow_path=False)
        if problem is not None:
            raise ConfigError(f"endpoint override: endpoint: {problem}; example: http://127.0.0.1:8765")
        base = endpoint.rstrip("/")
        accounts = tuple(
            dataclasses.replace(a, endpoint=base, lwa_endpoint=base + LWA_TOKEN_PATH) for a in self.accounts
        )
        return dataclasses.replace(self, accounts=accounts)


# -- loading ------------------------------------------------------------------------------------------------


def example_config() -> str:
    """Text of the commented example config that `sellerreach init` writes."""
    return resources.files("sellerreach").joinpath("config_example.toml").read_text(encoding="utf-8")


def demo_config() -> str:
    """Text of the embedded demo defaults (two accounts against the local stand-in)."""
    return resources.files("sellerreach").joinpath("demo.toml").read_text(encoding="utf-8")


def load_settings(
    config_path: str | os.PathLike[str] | None = None, *, env: Mapping[str, str] | None = None
) -> Settings:
    """Find, parse and validate the configuration.

    `config_path` wins over env SELLERREACH_CONFIG, which wins over ./sellerreach.toml, which wins over the
    embedded demo defaults; `env` replaces os.environ (an empty variable counts as unset). Raises ConfigError
    listing every problem found: a missing explicit path, unreadable file, TOML syntax, unknown or missing
    keys, bad values, literal secrets, a malformed warehouse URL (file or SELLERREACH_WAREHOUSE_URL).
    """
    environ = os.environ if env is None else env
    if config_path is not None:
        source, text = _read_explicit(os.fspath(config_path), "--config")
    elif environ.get(CONFIG_ENV):
        source, text = _read_explicit(environ[CONFIG_ENV], CONFIG_ENV)
    elif Path(DEFAULT_CONFIG_FILE).is_file():
        source, text = _read_file(DEFAULT_CONFIG_FILE)
    else:
        source, text = DEMO_SOURCE, demo_config()
    return _parse_settings(text, source, environ)


def _read_explicit(path: str, given_by: str) -> tuple[str, str]:
    if not Path(path).exists():
        raise ConfigError(
            f"{path}: (file): config file given by {given_by} does not exist; create it (`sellerreach init` "
            f"writes a commented one) or point {given_by} at an existing file, "
            f"e.g. {given_by}=./sellerreach.toml"
        )
    return _read_file(path)


def _read_file(path: str) -> tuple[str, str]:
    try:
        data = Path(path).read_bytes()
    except IsADirectoryError:
        raise ConfigError(
            f"{path}: (file): is a directory, not a TOML file; example: {path.rstrip('/')}/sellerreach.toml"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: (file): cannot be read ({exc.strerror or type(exc).__name__}); "
            "example: a readable file such as ./sellerreach.toml"
        ) from None
    try:
        return path, data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: (file): is not UTF-8 text (byte {exc.start}); save it as UTF-8, "
            "e.g. the file `sellerreach init` writes"
        ) from None


class _Problems:
    """Problems found in one source, reported together."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: list[str] = []

    def add(self, key: str, problem: str, example: str, *, source: str | None = None) -> None:
        self.lines.append(f"{source or self.source}: {key}: {problem}; example: {example}")

    def raise_if_any(self) -> None:
        if not self.lines:
            return
        if len(self.lines) == 1:
            raise ConfigError(self.lines[0])
        header = f"{self.source}: {len(self.lines)} configuration problems:"
        raise ConfigError("\n".join([header, *("  " + line for line in self.lines)]))


def _parse_settings(text: str, source: str, environ: Mapping[str, str]) -> Settings:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # tomllib's message ends with "(at line L, column C)" and quotes no values.
        raise ConfigError(
            f'{source}: (TOML syntax): {exc}; example: key = "value" with strings in double quotes, '
            "[section] headers and [[accounts]] for each account"
        ) from None

    problems = _Problems(source)
    for key, value in raw.items():
        if key not in _TOP_LEVEL:
            _unknown_top_level(problems, key, value)

    sections = {name: _section(problems, raw, name) for name in _SECTION_KEYS}
    orders = _parse_orders(problems, sections["orders"])
    time_scale = _parse_time_scale(problems, sections["runtime"])
    warehouse_url = _parse_warehouse_url(problems, sections["warehouse"], environ)
    accounts = _parse_accounts(problems, raw.get("accounts"), source)

    def parse_secret(value: Any, key: str, example: str) -> SecretRef | None:
        return _parse_secret_ref(problems, value, key, key.rsplit(".", 1)[-1], source, example=example)

    inbox, mailboxes = parse_inbox_config(
        problems, raw.get("inbox"), raw.get("mailboxes"), [a.account_id for a in accounts], parse_secret
    )
    ses = _parse_ses(problems, sections["ses"], parse_secret)
    segments = parse_segments(problems, raw.get("segments"))
    problems.raise_if_any()
    return Settings(
        source=source,
        accounts=accounts,
        warehouse_url=warehouse_url,
        orders=orders,
        time_scale=time_scale,
        mailboxes=mailboxes,
        inbox=inbox,
        ses=ses,
        segments=segments,
    )


def _closest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}? " if close else ""


def _unknown_top_level(problems: _Problems, key: str, value: Any) -> None:
    owner = next((s for s, keys in _SECTION_KEYS.items() if key in keys), None)
    if owner is not None:
        problems.add(key, f"{key!r} belongs under [{owner}], not at the top level", _SECTION_EXAMPLES[key])
        return
    kind = "section" if isinstance(value, dict | list) else "key"
    problems.add(
        key,
        f"unknown top-level {kind} {key!r}; {_closest(key, _TOP_LEVEL)}known: "
        + ", ".join(f"[{s}]" for s in _SECTION_KEYS)
        + ", [inbox], [[accounts]], [[mailboxes]]",
        "[orders] page_size = 100",
    )


def _section(problems: _Problems, raw: dict[str, Any], name: str) -> dict[str, Any]:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        problems.add(name, f"must be a table ([{name}]), not {_a_toml_type(value)}", f"[{name}]")
        return {}
    known = _SECTION_KEYS[name]
    for key in value:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            problems.add(
                f"{name}.{key}",
                f"unknown key {key!r} in [{name}]; {_closest(key, known)}known: {', '.join(known)}",
                _SECTION_EXAMPLES[close[0] if close else known[0]],
            )
    return value


def _a_toml_type(value: Any) -> str:
    """'an integer', 'a string', ...: the TOML type of a value, for messages that must not show the value."""
    name = _toml_type(value)
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def _toml_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "table"
    return type(value).__name__


# -- [orders] and [runtime] ---------------------------------------------------------------------------------

_ORDER_LIMITS: dict[str, tuple[int, int | None, str]] = {
    # key: (minimum, maximum, why)
    "lookback_days": (1, None, "the first run must read at least one day back"),
    "overlap_minutes": (0, None, "a negative overlap would skip orders"),
    "lag_minutes": (2, None, "Amazon asks that windows end at least 2 minutes before now"),
    "backfill_chunk_hours": (1, None, "a backfill chunk is at least one hour"),
    "page_size": (1, 100, "searchOrders returns at most 100 orders a page"),
}


def _parse_orders(problems: _Problems, section: dict[str, Any]) -> OrdersSyncConfig:
    defaults = OrdersSyncConfig()
    values: dict[str, int] = {}
    for key, (low, high, why) in _ORDER_LIMITS.items():
        if key not in section:
            continue
        value = section[key]
        example = f"[orders] {key} = {getattr(defaults, key)}"
        if isinstance(value, bool) or not isinstance(value, int):
            problems.add(f"orders.{key}", f"must be a whole number, not {_a_toml_type(value)}", example)
        elif value < low or (high is not None and value > high):
            allowed = f"{low}..{high}" if high is not None else f">= {low}"
            problems.add(f"orders.{key}", f"{value} is out of range ({allowed}): {why}", example)
        else:
            values[key] = value
    return dataclasses.replace(defaults, **values)


def _parse_time_scale(problems: _Problems, section: dict[str, Any]) -> float:
    value = section.get("time_scale", 1.0)
    example = "[runtime] time_scale = 1 (or 3600 with the stand-in: an hour of order flow per second)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.add("runtime.time_scale", f"must be a number, not {_a_toml_type(value)}", example)
        return 1.0
    if not math.isfinite(value) or value <= 0:
        problems.add("runtime.time_scale", f"{value} is out of range (must be > 0)", example)
        return 1.0
    return float(value)


# -- [ses] ------------------------------------------------------------------------------------------------------

_SES_REGION = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-[0-9]")
_SES_CONFIGURATION_SET = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _parse_ses(problems: _Problems, section: dict[str, Any], parse_secret: Any) -> SesConfig:
    """[ses]: where replies and invitations are sent. Every key is optional (AWS in eu-west-1 with boto3's
    default credential chain); access keys come as a pair of secret references."""
    defaults = SesConfig()
    region = section.get("region", defaults.region)
    if not isinstance(region, str) or not _SES_REGION.fullmatch(region):
        shown = repr(region) if isinstance(region, str) else _a_toml_type(region)
        problems.add("ses.region", f"{shown} is not an AWS region", _SECTION_EXAMPLES["region"])
        region = defaults.region
    endpoint = section.get("endpoint")
    if endpoint is not None:
        problem = _endpoint_problem(endpoint, allow_path=False)
        if problem is not None:
            problems.add("ses.endpoint", problem, _SECTION_EXAMPLES["endpoint"])
            endpoint = None
        else:
            endpoint = endpoint.rstrip("/")
    configuration_set = section.get("configuration_set")
    if configuration_set is not None and (
        not isinstance(configuration_set, str) or not _SES_CONFIGURATION_SET.fullmatch(configuration_set)
    ):
        problems.add(
            "ses.configuration_set",
            "must be an SES configuration set name (letters, digits, '_' and '-', at most 64)",
            _SECTION_EXAMPLES["configuration_set"],
        )
        configuration_set = None
    keys = {
        key: parse_secret(section.get(key), f"ses.{key}", _SECTION_EXAMPLES[key])
        for key in ("access_key_id", "secret_access_key")
    }
    if ("access_key_id" in section) != ("secret_access_key" in section):
        missing = "secret_access_key" if "access_key_id" in section else "access_key_id"
        problems.add(
            f"ses.{missing}",
            "access_key_id and secret_access_key go together (or leave both out for boto3's default chain)",
            _SECTION_EXAMPLES[missing],
        )
    return SesConfig(
        region=region,
        endpoint=endpoint,
        configuration_set=configuration_set,
        access_key_id=keys["access_key_id"],
        secret_access_key=keys["secret_access_key"],
    )


# -- [warehouse] --------------------------------------------------------------------------------

_SQLITE_DRIVERS = ("sqlite", "sqlite+pysqlite")
_POSTGRES_DRIVERS = ("postgresql", "postgresql+psycopg")


def _parse_warehouse_url(problems: _Problems, section: dict[str, Any], environ: Mapping[str, str]) -> str:
    if environ.get(WAREHOUSE_URL_ENV):
        value: Any = environ[WAREHOUSE_URL_ENV]
        key, source = WAREHOUSE_URL_ENV, "environment"
    else:
        value = section.get("url", DEFAULT_WAREHOUSE_URL)
        key, source = "warehouse.url", None
    if not isinstance(value, str) or not value.strip():
        what = "empty" if isinstance(value, str) else f"{_a_toml_type(value)}"
        problems.add(key, f"must be a database URL string, not {what}", _WAREHOUSE_EXAMPLE, source=source)
        return DEFAULT_WAREHOUSE_URL
    normalised, problem = normalise_warehouse_url(value)
    if problem is not None:
        problems.add(key, problem, _WAREHOUSE_EXAMPLE, source=source)
        return DEFAULT_WAREHOUSE_URL
    return normalised


def normalise_warehouse_url(value: str) -> tuple[str, str | None]:
    """(url, None) for a supported warehouse URL, with `postgresql://` made `postgresql+psycopg://`; else
    (value, problem) where the problem never shows the password."""
    try:
        url: URL = make_url(value)
    except Exception:  # noqa: BLE001 - sqlalchemy raises ArgumentError or ValueError; neither may echo the URL
        return value, "is not a database URL (expected dialect+driver://user@host:port/database)"
    shown = url.render_as_string(hide_password=True)
    driver = url.drivername
    if driver in _SQLITE_DRIVERS:
        return value, None
    if driver in _POSTGRES_DRIVERS:
        if driver == "postgresql":
            return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False), None
        return value, None
    if driver.split("+")[0] in ("postgresql", "postgres"):
        return value, (
            f"{shown} uses driver {driver!r}; only psycopg 3 is supported, write postgresql+psycopg://"
        )
    return value, f"{shown} is not supported; the warehouse is SQLite or PostgreSQL (psycopg 3)"


# -- [[accounts]] --------------------------------------------------------------------------------


def _parse_accounts(problems: _Problems, value: Any, source: str) -> tuple[AccountConfig, ...]:
    if value is None:
        problems.add(
            "accounts",
            "no accounts configured; add one [[accounts]] table per seller account",
            _ACCOUNT_EXAMPLE_TABLE,
        )
        return ()
    if not isinstance(value, list):
        problems.add(
            "accounts",
            f"must be an array of tables ([[accounts]]), not {_a_toml_type(value)}",
            _ACCOUNT_EXAMPLE_TABLE,
        )
        return ()
    if not value:
        problems.add(
            "accounts",
            "no accounts configured; add one [[accounts]] table per seller account",
            _ACCOUNT_EXAMPLE_TABLE,
        )
        return ()
    accounts: list[AccountConfig] = []
    first_index: dict[str, int] = {}
    for index, raw in enumerate(value):
        path = f"accounts[{index}]"
        if not isinstance(raw, dict):
            problems.add(
                path, f"must be a table ([[accounts]]), not {_a_toml_type(raw)}", _ACCOUNT_EXAMPLE_TABLE
            )
            continue
        account_id = raw.get("id")
        if isinstance(account_id, str):
            if account_id in first_index:
                problems.add(
                    f"{path}.id",
                    f"duplicate account id {account_id!r} (also accounts[{first_index[account_id]}].id)",
                    'id = "acme-eu" (each account needs its own id)',
                )
            else:
                first_index[account_id] = index
        account = _parse_account(problems, raw, path, source)
        if account is not None:
            accounts.append(account)
    return tuple(accounts)


def _parse_account(problems: _Problems, raw: dict[str, Any], path: str, source: str) -> AccountConfig | None:
    before = len(problems.lines)
    for key in raw:
        if key not in _ACCOUNT_KEYS:
            problems.add(
                f"{path}.{key}",
                f"unknown account key {key!r}; {_closest(key, _ACCOUNT_KEYS)}"
                f"known: {', '.join(_ACCOUNT_KEYS)}",
                _ACCOUNT_EXAMPLES[difflib.get_close_matches(key, _ACCOUNT_KEYS, n=1, cutoff=0.0)[0]],
            )
    for key in _ACCOUNT_REQUIRED:
        if key not in raw:
            problems.add(f"{path}.{key}", f"missing required key {key!r}", _ACCOUNT_EXAMPLES[key])

    account_id = _parse_account_id(problems, raw.get("id"), path)
    region = _parse_region(problems, raw.get("region"), path)
    marketplace_ids = _parse_marketplaces(problems, raw.get("marketplaces"), region, path)
    secrets = {
        key: _parse_secret_ref(problems, raw.get(key), f"{path}.{key}", key, source) for key in _SECRET_KEYS
    }
    endpoint = _parse_endpoint(problems, raw, path, "endpoint", region)
    lwa_endpoint = _parse_endpoint(problems, raw, path, "lwa_endpoint", region)

    if len(problems.lines) > before:
        return None
    assert account_id and region and marketplace_ids and endpoint and lwa_endpoint
    return AccountConfig(
        account_id=account_id,
        region=region,
        marketplace_ids=marketplace_ids,
        client_id=secrets["client_id"],  # type: ignore[arg-type]
        client_secret=secrets["client_secret"],  # type: ignore[arg-type]
        refresh_token=secrets["refresh_token"],  # type: ignore[arg-type]
        endpoint=endpoint,
        lwa_endpoint=lwa_endpoint,
    )


def _parse_account_id(problems: _Problems, value: Any, path: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,62}", value):
        shown = repr(value) if isinstance(value, str) and len(value) <= 64 else f"{_a_toml_type(value)}"
        problems.add(
            f"{path}.id",
            f"{shown} is not a valid account id (lowercase letters, digits, '-' and '_', at most 63 "
            "characters; it names Prefect secrets, sync cursors and flow runs)",
            _ACCOUNT_EXAMPLES["id"],
        )
        return None
    return value


def _parse_region(problems: _Problems, value: Any, path: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value in REGION_ENDPOINTS:
        return value
    shown = repr(value) if isinstance(value, str) else f"{_a_toml_type(value)}"
    hint = ""
    if isinstance(value, str) and value.lower() in REGION_ENDPOINTS:
        hint = f"regions are lowercase, write {value.lower()!r}; "
    elif isinstance(value, str):
        country = next((m for m in MARKETPLACES.values() if m.country == value.upper()), None)
        if country is not None:
            hint = f"{country.country} is a country in region {country.region}; "
    problems.add(
        f"{path}.region",
        f"{shown} is not a region; {hint}use na (Americas), eu (Europe, Middle East, India) or fe (Far East)",
        _ACCOUNT_EXAMPLES["region"],
    )
    return None


def _marketplace_list(region: str | None) -> str:
    return ", ".join(
        f"{m.marketplace_id} ({m.country})"
        for m in MARKETPLACES.values()
        if region is None or m.region == region
    )


def _parse_marketplaces(
    problems: _Problems, value: Any, region: str | None, path: str
) -> tuple[str, ...] | None:
    if value is None:
        return None
    key = f"{path}.marketplaces"
    example = _ACCOUNT_EXAMPLES["marketplaces"]
    if not isinstance(value, list) or not value:
        what = "empty" if isinstance(value, list) else f"{_a_toml_type(value)}"
        problems.add(key, f"must be a non-empty array of marketplace ids, not {what}", example)
        return None
    ok = True
    seen: set[str] = set()
    by_country = {m.country: m for m in MARKETPLACES.values()}
    for position, marketplace_id in enumerate(value):
        item = f"{key}[{position}]"
        if not isinstance(marketplace_id, str):
            problems.add(
                item, f"must be a marketplace id string, not {_a_toml_type(marketplace_id)}", example
            )
            ok = False
            continue
        if marketplace_id in seen:
            problems.add(item, f"{marketplace_id} is listed twice", example)
            ok = False
            continue
        seen.add(marketplace_id)
        marketplace = MARKETPLACES.get(marketplace_id)
        if marketplace is None:
            ok = False
            country = by_country.get(marketplace_id.upper())
            if country is not None:
                hint = (
                    f"{marketplace_id!r} is a country code; the {country.country} marketplace id is "
                    f"{country.marketplace_id}"
                )
            else:
                close = difflib.get_close_matches(marketplace_id, list(MARKETPLACES), n=1, cutoff=0.8)
                hint = f"unknown marketplace id {marketplace_id!r}"
                if close:
                    match = MARKETPLACES[close[0]]
                    in_region = "" if match.region == region else f", region {match.region}"
                    hint += f"; did you mean {close[0]} ({match.country}{in_region})?"
            where = f"in region {region}" if region else "in all regions"
            problems.add(item, f"{hint}; known ids {where}: {_marketplace_list(region)}", example)
            continue
        if region is not None and marketplace.region != region:
            ok = False
            problems.add(
                item,
                f"{marketplace_id} ({marketplace.country}) is in region {marketplace.region}, not {region}; "
                f'list it under an account with region = "{marketplace.region}"',
                f'marketplaces = ["{next(m for m in MARKETPLACES if MARKETPLACES[m].region == region)}"]',
            )
    return tuple(value) if ok else None


def _parse_secret_ref(
    problems: _Problems, value: Any, key: str, name: str, source: str, *, example: str | None = None
) -> SecretRef | None:
    """A reference `scheme:NAME`. Nothing of a rejected value is ever echoed: it may be the secret itself."""
    if value is None:
        return None
    example = example or _SECRET_EXAMPLES[name]
    reference_form = (
        "write a reference: env:NAME (an environment variable) or prefect-secret:NAME (a Prefect Secret "
        "block)"
    )
    if not isinstance(value, str):
        problems.add(key, f"must be a string, not {_a_toml_type(value)}; {reference_form}", example)
        return None
    scheme, colon, ref_name = value.partition(":")
    schemes = known_schemes()
    if colon and scheme in schemes:
        pattern = NAME_PATTERNS.get(scheme, NAME_PATTERN)
        if pattern.fullmatch(ref_name):
            return SecretRef(scheme=scheme, name=ref_name, origin=f"{source}: {key}")
        rule = {
            "env": "letters, digits and underscores, not starting with a digit",
            "prefect-secret": "lowercase letters, digits and dashes (a Prefect block name)",
        }.get(scheme, "letters, digits, '_', '.', '/' and '-'")
        problems.add(key, f"the name after {scheme}: must be {rule} (value not shown)", example)
        return None
    if not value:
        problems.add(key, f"is empty; {reference_form}", example)
        return None
    if colon and scheme.lower() in schemes:
        problems.add(key, f"secret schemes are lowercase (value not shown); {reference_form}", example)
        return None
    if colon and re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]{0,31}", scheme):
        close = difflib.get_close_matches(scheme.lower().replace("_", "-"), schemes, n=1, cutoff=0.6)
        if close:
            # A misspelt scheme; only the known scheme is named, nothing of the value.
            problems.add(
                key,
                f"the part before ':' is not a known secret scheme, did you mean {close[0]}:? "
                f"(value not shown); known schemes: {', '.join(schemes)}",
                example,
            )
            return None
    problems.add(
        key,
        "looks like a literal secret (value not shown): literal secrets are not allowed in config; store it "
        f"in an environment variable or a Prefect Secret block and {reference_form}; known schemes: "
        f"{', '.join(schemes)}",
        example,
    )
    return None


def _endpoint_problem(value: Any, *, allow_path: bool) -> str | None:
    """None when value is http(s)://host[:port] (plus a path when allow_path); else what is wrong."""
    form = "http(s)://host[:port]/path" if allow_path else "http(s)://host[:port]"
    if not isinstance(value, str):
        return f"must be a URL string ({form}), not {_a_toml_type(value)}"
    # A URL with user:password@ may carry a credential: describe it without echoing it.
    shown = repr(value) if "@" not in value else "the URL (not shown: it contains '@')"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0..65535
    except ValueError:
        return f"{shown} is not a URL of the form {form}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{shown} is not a URL of the form {form}"
    if parts.username is not None or parts.password is not None:
        return f"{shown} must not contain user:password@; credentials come from client_id/client_secret"
    if parts.query or parts.fragment:
        return f"{shown} must not have a query or fragment; use the form {form}"
    if not allow_path and parts.path not in ("", "/"):
        return f"{shown} must not have a path; use the form {form}"
    if allow_path and parts.path in ("", "/"):
        return f"{shown} needs the token path; use the form {form}"
    return None


def _parse_endpoint(
    problems: _Problems, raw: dict[str, Any], path: str, key: str, region: str | None
) -> str | None:
    if key not in raw:
        if key == "lwa_endpoint":
            return LWA_ENDPOINT
        return REGION_ENDPOINTS.get(region or "")
    value = raw[key]
    problem = _endpoint_problem(value, allow_path=(key == "lwa_endpoint"))
    if problem is not None:
        problems.add(f"{path}.{key}", problem, _ACCOUNT_EXAMPLES[key])
        return None
    return value.rstrip("/") if key == "endpoint" else value
