"""Configuration loading: where it comes from, what it accepts, and how it says what is wrong."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from sellerreach.errors import ConfigError
from sellerreach.marketplaces import LWA_ENDPOINT, REGION_ENDPOINTS
from sellerreach.settings import (
    DEFAULT_WAREHOUSE_URL,
    DEMO_SOURCE,
    AccountConfig,
    OrdersSyncConfig,
    SecretRef,
    Settings,
    demo_config,
    example_config,
    load_settings,
)

ACME_NA = """
[[accounts]]
id = "acme-na"
region = "na"
marketplaces = ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]
client_id = "env:SELLERREACH_LWA_CLIENT_ID"
client_secret = "env:SELLERREACH_LWA_CLIENT_SECRET"
refresh_token = "prefect-secret:acme-na-refresh-token"
"""

ACME_EU = """
[[accounts]]
id = "acme-eu"
region = "eu"
marketplaces = ["A1F83G8C2ARO7P", "A1PA6795UKMFR9"]
client_id = "env:SELLERREACH_LWA_CLIENT_ID"
client_secret = "env:SELLERREACH_LWA_CLIENT_SECRET"
refresh_token = "env:SELLERREACH_ACME_EU_REFRESH_TOKEN"
"""

# Shaped like real LWA values, so a test can prove they never reach a message.
# made-up secrets, written in two pieces so that secret scanners do not flag the source
LITERAL_REFRESH_TOKEN = "Atzr" + "|IwEBIDxU4tVp0j8mQk2Zr9cLwXyTe5sNnRfHhGgQ"
LITERAL_CLIENT_SECRET = "amzn1.oa2-cs.v1." + "3f9c1d2e4b5a6978c0d1e2f3a4b5c6d7e8f9"
DB_PASSWORD = "s3cr3t-hunter2"


def _account(**changes: str | None) -> str:
    """ACME_NA with keys replaced (a TOML value literal) or removed (None)."""
    lines = []
    for line in ACME_NA.strip().splitlines():
        key = line.split("=")[0].strip()
        if key in changes:
            if changes[key] is not None:
                lines.append(f"{key} = {changes[key]}")
            continue
        lines.append(line)
    extra = [f"{k} = {v}" for k, v in changes.items() if v is not None and not ACME_NA.count(f"\n{k} =")]
    return "\n".join(lines + extra) + "\n"


def _write(tmp_path: Path, text: str, name: str = "sellerreach.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No ./sellerreach.toml or SELLERREACH_* variable of the developer's machine leaks into a test.
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SELLERREACH_CONFIG", raising=False)
    monkeypatch.delenv("SELLERREACH_WAREHOUSE_URL", raising=False)


# -- bad configurations: file, key, problem, example ---------------------------------------------------------

BAD_CONFIGS = [
    pytest.param(
        "orders = \n[orders]\npage_size = 100\n" + ACME_NA,
        ["(TOML syntax)", "line 1, column", "example:"],
        id="toml-syntax",
    ),
    pytest.param(
        "[orderz]\npage_size = 50\n" + ACME_NA,
        [
            "orderz",
            "unknown top-level section",
            "did you mean 'orders'?",
            "example: [orders] page_size = 100",
        ],
        id="unknown-section",
    ),
    pytest.param(
        "time_scale = 60\n" + ACME_NA,
        ["time_scale", "belongs under [runtime]", "example: [runtime] time_scale = 1"],
        id="key-outside-its-section",
    ),
    pytest.param(
        "[orders]\npagesize = 50\n" + ACME_NA,
        ["orders.pagesize", "did you mean 'page_size'?", "example: [orders] page_size = 100"],
        id="unknown-orders-key",
    ),
    pytest.param(
        _account(regoin='"na"'),
        [
            "accounts[0].regoin",
            "unknown account key 'regoin'",
            "did you mean 'region'?",
            'example: region = "na"',
        ],
        id="unknown-account-key",
    ),
    pytest.param(
        _account(refresh_token=None),
        ["accounts[0].refresh_token", "missing required key", 'example: refresh_token = "prefect-secret:'],
        id="missing-required-key",
    ),
    pytest.param(
        ACME_NA + ACME_NA,
        ["accounts[1].id", "duplicate account id 'acme-na' (also accounts[0].id)", 'example: id = "acme-eu"'],
        id="duplicate-account-id",
    ),
    pytest.param(
        _account(marketplaces='["ATVPDKIKX0DER", "A2EUQ1WTGCTBG"]'),
        [
            "accounts[0].marketplaces[1]",
            "unknown marketplace id 'A2EUQ1WTGCTBG'",
            "did you mean A2EUQ1WTGCTBG2 (CA)?",
            "known ids in region na: ATVPDKIKX0DER (US), A2EUQ1WTGCTBG2 (CA), A1AM78C64UM0Y8 (MX)",
            "example: marketplaces = [",
        ],
        id="unknown-marketplace",
    ),
    pytest.param(
        _account(marketplaces='["ATVPDKIKX0DER", "DE"]'),
        ["accounts[0].marketplaces[1]", "'DE' is a country code", "A1PA6795UKMFR9"],
        id="country-code-instead-of-marketplace-id",
    ),
    pytest.param(
        _account(marketplaces='["ATVPDKIKX0DER", "A1PA6795UKMFR9"]'),
        [
            "accounts[0].marketplaces[1]",
            "A1PA6795UKMFR9 (DE) is in region eu, not na",
            'region = "eu"',
            'example: marketplaces = ["ATVPDKIKX0DER"]',
        ],
        id="marketplace-in-other-region",
    ),
    pytest.param(
        _account(marketplaces="[]"),
        ["accounts[0].marketplaces", "non-empty array", "example: marketplaces = ["],
        id="no-marketplaces",
    ),
    pytest.param(
        _account(region='"us"'),
        [
            "accounts[0].region",
            "'us' is not a region",
            "US is a country in region na",
            'example: region = "na"',
        ],
        id="region-not-na-eu-fe",
    ),
    pytest.param(
        _account(region='"EU"'),
        ["accounts[0].region", "write 'eu'", 'example: region = "na"'],
        id="region-uppercase",
    ),
    pytest.param(
        _account(refresh_token=f'"{LITERAL_REFRESH_TOKEN}"'),
        [
            "accounts[0].refresh_token",
            "literal secrets are not allowed in config",
            "prefect-secret:NAME",
            'example: refresh_token = "prefect-secret:acme-na-refresh-token"',
        ],
        id="literal-refresh-token",
    ),
    pytest.param(
        _account(client_secret=f'"{LITERAL_CLIENT_SECRET}"'),
        ["accounts[0].client_secret", "literal secrets are not allowed", 'example: client_secret = "env:'],
        id="literal-client-secret",
    ),
    pytest.param(
        _account(client_id='"evn:SELLERREACH_LWA_CLIENT_ID"'),
        [
            "accounts[0].client_id",
            "not a known secret scheme, did you mean env:?",
            'example: client_id = "env:',
        ],
        id="misspelt-secret-scheme",
    ),
    pytest.param(
        _account(client_id='"env:1BAD NAME"'),
        ["accounts[0].client_id", "the name after env: must be letters, digits and underscores"],
        id="bad-env-name",
    ),
    pytest.param(
        _account(refresh_token='"prefect-secret:Acme_NA"'),
        ["accounts[0].refresh_token", "lowercase letters, digits and dashes"],
        id="bad-prefect-block-name",
    ),
    pytest.param(
        _account(refresh_token="42"),
        ["accounts[0].refresh_token", "must be a string, not an integer", "example: refresh_token ="],
        id="secret-not-a-string",
    ),
    pytest.param(
        _account(endpoint='"ftp://127.0.0.1:8765"'),
        ["accounts[0].endpoint", "http(s)://host[:port]", 'example: endpoint = "http://127.0.0.1:8765"'],
        id="endpoint-wrong-scheme",
    ),
    pytest.param(
        _account(endpoint='"http://127.0.0.1:8765/orders"'),
        ["accounts[0].endpoint", "must not have a path", 'example: endpoint = "http://127.0.0.1:8765"'],
        id="endpoint-with-path",
    ),
    pytest.param(
        _account(endpoint='"http://127.0.0.1:99999"'),
        ["accounts[0].endpoint", "is not a URL of the form http(s)://host[:port]"],
        id="endpoint-bad-port",
    ),
    pytest.param(
        _account(lwa_endpoint='"http://127.0.0.1:8765"'),
        [
            "accounts[0].lwa_endpoint",
            "needs the token path",
            'example: lwa_endpoint = "http://127.0.0.1:8765/auth',
        ],
        id="lwa-endpoint-without-path",
    ),
    pytest.param(
        '[warehouse]\nurl = "just a file name"\n' + ACME_NA,
        ["warehouse.url", "is not a database URL", 'example: url = "sqlite:///.sellerreach/warehouse.db"'],
        id="warehouse-url-malformed",
    ),
    pytest.param(
        f'[warehouse]\nurl = "mysql://app:{DB_PASSWORD}@db.internal/sellerreach"\n' + ACME_NA,
        [
            "warehouse.url",
            "mysql://app:***@db.internal/sellerreach is not supported",
            "postgresql+psycopg://",
        ],
        id="warehouse-url-unsupported",
    ),
    pytest.param(
        f'[warehouse]\nurl = "postgresql+psycopg2://app:{DB_PASSWORD}@db.internal/sr"\n' + ACME_NA,
        ["warehouse.url", "only psycopg 3 is supported, write postgresql+psycopg://", "app:***@"],
        id="warehouse-url-psycopg2",
    ),
    pytest.param(
        "[orders]\npage_size = 500\n" + ACME_NA,
        ["orders.page_size", "500 is out of range (1..100)", "example: [orders] page_size = 100"],
        id="page-size-too-big",
    ),
    pytest.param(
        "[orders]\npage_size = 0\n" + ACME_NA,
        ["orders.page_size", "0 is out of range (1..100)"],
        id="page-size-zero",
    ),
    pytest.param(
        "[orders]\nlag_minutes = 1\n" + ACME_NA,
        [
            "orders.lag_minutes",
            "1 is out of range (>= 2)",
            "2 minutes before now",
            "example: [orders] lag_minutes = 2",
        ],
        id="lag-below-amazon-minimum",
    ),
    pytest.param(
        "[orders]\noverlap_minutes = -5\n" + ACME_NA,
        ["orders.overlap_minutes", "-5 is out of range (>= 0)", "example: [orders] overlap_minutes = 15"],
        id="negative-overlap",
    ),
    pytest.param(
        "[orders]\nlookback_days = 0\n" + ACME_NA,
        ["orders.lookback_days", "0 is out of range (>= 1)", "example: [orders] lookback_days = 30"],
        id="lookback-zero",
    ),
    pytest.param(
        '[orders]\nbackfill_chunk_hours = "24"\n' + ACME_NA,
        ["orders.backfill_chunk_hours", "must be a whole number, not a string", "backfill_chunk_hours = 24"],
        id="number-as-string",
    ),
    pytest.param(
        "[runtime]\ntime_scale = 0\n" + ACME_NA,
        ["runtime.time_scale", "0 is out of range (must be > 0)", "example: [runtime] time_scale = 1"],
        id="time-scale-zero",
    ),
    pytest.param(
        "[runtime]\ntime_scale = -3600.0\n",
        ["runtime.time_scale", "out of range (must be > 0)"],
        id="time-scale-negative",
    ),
    pytest.param(
        "[orders]\npage_size = 100\n",
        ["accounts", "no accounts configured", "example: [[accounts]] id = "],
        id="no-accounts",
    ),
    pytest.param(
        '[accounts]\nid = "acme-na"\n',
        ["accounts", "must be an array of tables ([[accounts]]), not a table", "example: [[accounts]]"],
        id="accounts-as-single-table",
    ),
    pytest.param(
        _account(id='"Acme NA"'),
        ["accounts[0].id", "'Acme NA' is not a valid account id", 'example: id = "acme-na"'],
        id="bad-account-id",
    ),
]


@pytest.mark.parametrize(("text", "fragments"), BAD_CONFIGS)
def test_bad_config_names_file_key_problem_and_example(
    tmp_path: Path, text: str, fragments: list[str]
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_settings(path, env={})
    message = str(raised.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    for secret in (LITERAL_REFRESH_TOKEN, LITERAL_CLIENT_SECRET, DB_PASSWORD):
        assert secret not in message
    # One line per problem, each naming the file; the exception chain carries no parser state.
    for line in message.splitlines()[1:] if message.count("\n") else [message]:
        assert str(path) in line
    assert raised.value.__cause__ is None


def test_all_problems_of_a_file_are_reported_together(tmp_path: Path) -> None:
    text = (
        "[orders]\npage_size = 500\nlag_minutes = 0\n"
        + _account(
            region='"na"', marketplaces='["A1PA6795UKMFR9"]', refresh_token=f'"{LITERAL_REFRESH_TOKEN}"'
        )
        + ACME_NA
    )
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_settings(path, env={})
    lines = str(raised.value).splitlines()
    assert lines[0] == f"{path}: 5 configuration problems:"
    assert [line.split(": ")[1] for line in lines[1:]] == [
        "orders.lag_minutes",
        "orders.page_size",
        "accounts[0].marketplaces[0]",
        "accounts[0].refresh_token",
        "accounts[1].id",
    ]
    assert LITERAL_REFRESH_TOKEN not in str(raised.value)


def test_a_single_problem_is_a_single_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "[orders]\npage_size = 101\n" + ACME_NA)
    with pytest.raises(ConfigError) as raised:
        load_settings(path, env={})
    assert str(raised.value).count("\n") == 0
    assert str(raised.value).startswith(f"{path}: orders.page_size: 101 is out of range")


def test_literal_secret_with_a_colon_is_not_echoed(tmp_path: Path) -> None:
    literal = "hunter2:Atzr|IwEBIDxU4tVp0j8mQk2"
    path = _write(tmp_path, _account(client_secret=f'"{literal}"'))
    with pytest.raises(ConfigError) as raised:
        load_settings(path, env={})
    message = str(raised.value)
    assert "literal secrets are not allowed" in message
    assert "hunter2" not in message and "Atzr" not in message


def test_syntax_error_reports_line_and_column(tmp_path: Path) -> None:
    path = _write(tmp_path, ACME_NA + "lag_minutes = 2\nrefresh_token = Atzr|IwEBIDxU4\n")
    with pytest.raises(ConfigError) as raised:
        load_settings(path, env={})
    message = str(raised.value)
    assert "(at line 10, column 17)" in message
    assert "Atzr" not in message


# -- where the config comes from -----------------------------------------------------------------------------


def _config_with_account(account_id: str) -> str:
    return ACME_NA.replace('"acme-na"', f'"{account_id}"')


def test_precedence_argument_over_env_over_cwd_over_embedded(tmp_path: Path) -> None:
    argument = _write(tmp_path, _config_with_account("from-argument"), "argument.toml")
    from_env = _write(tmp_path, _config_with_account("from-env"), "env.toml")
    env = {"SELLERREACH_CONFIG": str(from_env)}

    assert load_settings(env={}).source == DEMO_SOURCE

    _write(tmp_path, _config_with_account("from-cwd"))
    settings = load_settings(env={})
    assert (settings.source, settings.accounts[0].account_id) == ("sellerreach.toml", "from-cwd")

    settings = load_settings(env=env)
    assert (settings.source, settings.accounts[0].account_id) == (str(from_env), "from-env")

    settings = load_settings(argument, env=env)
    assert (settings.source, settings.accounts[0].account_id) == (str(argument), "from-argument")


def test_process_environment_is_the_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from_env = _write(tmp_path, _config_with_account("from-env"), "env.toml")
    monkeypatch.setenv("SELLERREACH_CONFIG", str(from_env))
    assert load_settings().accounts[0].account_id == "from-env"


def test_empty_config_variable_counts_as_unset() -> None:
    assert load_settings(env={"SELLERREACH_CONFIG": ""}).source == DEMO_SOURCE


@pytest.mark.parametrize("given_by", ["argument", "env"])
def test_explicit_path_that_does_not_exist_is_an_error_not_a_fallback(tmp_path: Path, given_by: str) -> None:
    _write(tmp_path, ACME_NA)  # a ./sellerreach.toml that must not be used instead
    missing = tmp_path / "prod.toml"
    with pytest.raises(ConfigError) as raised:
        if given_by == "argument":
            load_settings(missing, env={})
        else:
            load_settings(env={"SELLERREACH_CONFIG": str(missing)})
    message = str(raised.value)
    assert str(missing) in message
    assert "does not exist" in message
    assert ("--config" if given_by == "argument" else "SELLERREACH_CONFIG") in message
    assert "./sellerreach.toml" in message


def test_config_path_that_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        load_settings(tmp_path, env={})


def test_relative_config_path_is_read_from_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    _write(tmp_path / "conf", ACME_EU, "prod.toml")
    settings = load_settings("conf/prod.toml", env={})
    assert settings.source == "conf/prod.toml"
    assert settings.accounts[0].account_id == "acme-eu"


# -- the shipped files ---------------------------------------------------------------------------------------


def test_demo_defaults_load_and_validate() -> None:
    settings = load_settings(env={})
    assert settings.source == DEMO_SOURCE
    assert settings.time_scale == 1.0
    assert settings.warehouse_url == DEFAULT_WAREHOUSE_URL
    assert settings.orders == OrdersSyncConfig()
    na, eu = settings.accounts
    assert (na.account_id, na.region, na.marketplace_ids) == (
        "acme-na",
        "na",
        ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8"),
    )
    assert (eu.account_id, eu.region, eu.marketplace_ids) == (
        "acme-eu",
        "eu",
        ("A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH"),
    )
    for account in (na, eu):
        assert account.endpoint == "http://127.0.0.1:8765"
        assert account.lwa_endpoint == "http://127.0.0.1:8765/auth/o2/token"
        assert str(account.client_id) == "env:SELLERREACH_DEMO_CLIENT_ID"
        assert str(account.client_secret) == "env:SELLERREACH_DEMO_CLIENT_SECRET"
    assert na.refresh_token == SecretRef(
        "env", "SELLERREACH_DEMO_ACME_NA_REFRESH_TOKEN", "embedded demo defaults: accounts[0].refresh_token"
    )
    assert str(eu.refresh_token) == "env:SELLERREACH_DEMO_ACME_EU_REFRESH_TOKEN"
    assert tomllib.loads(demo_config())["runtime"]["time_scale"] == 1


def test_example_config_loads_and_validates(tmp_path: Path) -> None:
    path = _write(tmp_path, example_config())
    settings = load_settings(path, env={})
    (account,) = settings.accounts
    assert account == AccountConfig(
        account_id="acme-na",
        region="na",
        marketplace_ids=("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"),
        client_id=SecretRef("env", "SELLERREACH_LWA_CLIENT_ID", f"{path}: accounts[0].client_id"),
        client_secret=SecretRef("env", "SELLERREACH_LWA_CLIENT_SECRET", f"{path}: accounts[0].client_secret"),
        refresh_token=SecretRef(
            "prefect-secret", "acme-na-refresh-token", f"{path}: accounts[0].refresh_token"
        ),
        endpoint=REGION_ENDPOINTS["na"],
        lwa_endpoint=LWA_ENDPOINT,
    )
    assert settings.orders == OrdersSyncConfig()
    assert settings.warehouse_url == DEFAULT_WAREHOUSE_URL


def test_example_config_documents_every_key() -> None:
    text = example_config()
    lines = text.splitlines()
    keys = {"url", "lookback_days", "overlap_minutes", "lag_minutes", "backfill_chunk_hours", "page_size"}
    keys |= {"time_scale", "id", "region", "marketplaces", "client_id", "client_secret", "refresh_token"}
    keys |= {"endpoint", "lwa_endpoint"}
    keys |= {"account", "kind", "host", "port", "username", "password", "folders", "sent_folders"}
    keys |= {"seller_addresses", "near_breach_hours", "default_alert_rules"}
    for key in keys:
        # the first place the key is written (several sections share names such as id)
        index = next(i for i, line in enumerate(lines) if re.match(rf"#?\s*{key}\s*=", line.lstrip("# ")))
        documented = "#" in lines[index].lstrip("# ") or lines[index - 1].startswith("#")
        assert documented, f"{key} has no comment in config_example.toml"
    for section in ("[warehouse]", "[orders]", "[runtime]", "[[accounts]]", "[[mailboxes]]", "[inbox]"):
        assert section in text


# -- the warehouse URL ---------------------------------------------------------------------------------------


def test_warehouse_url_env_overrides_file(tmp_path: Path) -> None:
    path = _write(tmp_path, '[warehouse]\nurl = "sqlite:///from-file.db"\n' + ACME_NA)
    assert load_settings(path, env={}).warehouse_url == "sqlite:///from-file.db"
    env = {"SELLERREACH_WAREHOUSE_URL": "postgresql+psycopg://sellerreach@db.internal:5432/sellerreach"}
    assert load_settings(path, env=env).warehouse_url == env["SELLERREACH_WAREHOUSE_URL"]


def test_warehouse_env_override_applies_to_demo_defaults() -> None:
    env = {"SELLERREACH_WAREHOUSE_URL": "sqlite:////var/lib/sellerreach/warehouse.db"}
    assert load_settings(env=env).warehouse_url == "sqlite:////var/lib/sellerreach/warehouse.db"


def test_postgresql_without_driver_is_normalised_to_psycopg(tmp_path: Path) -> None:
    env = {"SELLERREACH_WAREHOUSE_URL": f"postgresql://app:{DB_PASSWORD}@db.internal:5432/sellerreach"}
    url = load_settings(env=env).warehouse_url
    assert url == f"postgresql+psycopg://app:{DB_PASSWORD}@db.internal:5432/sellerreach"


def test_password_with_special_characters_survives_normalisation() -> None:
    env = {"SELLERREACH_WAREHOUSE_URL": "postgresql://app:p%40ss%2Fw0rd@db.internal/sellerreach"}
    url = load_settings(env=env).warehouse_url
    from sqlalchemy.engine import make_url

    assert make_url(url).password == "p@ss/w0rd"
    assert make_url(url).drivername == "postgresql+psycopg"


def test_bad_warehouse_url_from_environment_names_the_environment(tmp_path: Path) -> None:
    env = {"SELLERREACH_WAREHOUSE_URL": f"mysql+pymysql://app:{DB_PASSWORD}@db.internal/sellerreach"}
    with pytest.raises(ConfigError) as raised:
        load_settings(env=env)
    message = str(raised.value)
    assert message.startswith("environment: SELLERREACH_WAREHOUSE_URL: mysql+pymysql://app:***@db.internal")
    assert "example: url = " in message
    assert DB_PASSWORD not in message


def test_unparseable_warehouse_url_is_not_echoed() -> None:
    env = {"SELLERREACH_WAREHOUSE_URL": f"postgresql://app:{DB_PASSWORD}@db.internal:notaport/sr"}
    with pytest.raises(ConfigError) as raised:
        load_settings(env=env)
    assert "is not a database URL" in str(raised.value)
    assert DB_PASSWORD not in str(raised.value)


# -- Settings methods ----------------------------------------------------------------------------------------


def _two_accounts(tmp_path: Path) -> Settings:
    return load_settings(_write(tmp_path, "[runtime]\ntime_scale = 3600\n" + ACME_NA + ACME_EU), env={})


def test_settings_from_file(tmp_path: Path) -> None:
    settings = _two_accounts(tmp_path)
    assert settings.time_scale == 3600.0
    assert [a.account_id for a in settings.accounts] == ["acme-na", "acme-eu"]
    assert settings.account("acme-eu").endpoint == REGION_ENDPOINTS["eu"]
    assert settings.account("acme-eu").lwa_endpoint == LWA_ENDPOINT


def test_account_lookup_error_lists_known_ids(tmp_path: Path) -> None:
    settings = _two_accounts(tmp_path)
    with pytest.raises(ConfigError) as raised:
        settings.account("acme-de")
    message = str(raised.value)
    assert str(tmp_path / "sellerreach.toml") in message
    assert "no account 'acme-de'" in message
    assert "known accounts: acme-na, acme-eu" in message
    assert "example: --account acme-na" in message


def test_with_endpoint_points_every_account_at_the_stand_in(tmp_path: Path) -> None:
    settings = _two_accounts(tmp_path)
    moved = settings.with_endpoint("http://127.0.0.1:9001/")
    for account in moved.accounts:
        assert account.endpoint == "http://127.0.0.1:9001"
        assert account.lwa_endpoint == "http://127.0.0.1:9001/auth/o2/token"
    assert [a.refresh_token for a in moved.accounts] == [a.refresh_token for a in settings.accounts]
    assert settings.accounts[0].endpoint == REGION_ENDPOINTS["na"]  # the original is untouched
    assert (moved.source, moved.warehouse_url, moved.time_scale) == (
        settings.source,
        settings.warehouse_url,
        settings.time_scale,
    )


@pytest.mark.parametrize("endpoint", ["127.0.0.1:8765", "ftp://stand-in", "http://127.0.0.1:8765/sp"])
def test_with_endpoint_rejects_malformed_urls(tmp_path: Path, endpoint: str) -> None:
    with pytest.raises(
        ConfigError, match=r"endpoint override: endpoint: .*example: http://127\.0\.0\.1:8765"
    ):
        _two_accounts(tmp_path).with_endpoint(endpoint)


def test_endpoint_override_in_file(tmp_path: Path) -> None:
    text = _account(endpoint='"https://sandbox.sellingpartnerapi-na.amazon.com/"')
    account = load_settings(_write(tmp_path, text), env={}).accounts[0]
    assert account.endpoint == "https://sandbox.sellingpartnerapi-na.amazon.com"
    assert account.lwa_endpoint == LWA_ENDPOINT


# -- [ses] ---------------------------------------------------------------------------------------------------


def test_ses_defaults_to_aws_with_the_default_credential_chain(tmp_path: Path) -> None:
    ses = _two_accounts(tmp_path).ses
    assert (ses.region, ses.endpoint, ses.configuration_set) == ("eu-west-1", None, None)
    assert ses.access_key_id is None and ses.secret_access_key is None


def test_ses_section(tmp_path: Path) -> None:
    text = ACME_NA + (
        '[ses]\nregion = "us-east-1"\nendpoint = "http://127.0.0.1:4566/"\nconfiguration_set = "sellerreach-events"\n'
        'access_key_id = "env:AWS_ACCESS_KEY_ID"\nsecret_access_key = "prefect-secret:ses-secret-key"\n'
    )
    ses = load_settings(_write(tmp_path, text), env={}).ses
    assert (ses.region, ses.endpoint, ses.configuration_set) == (
        "us-east-1",
        "http://127.0.0.1:4566",
        "sellerreach-events",
    )
    assert (str(ses.access_key_id), str(ses.secret_access_key)) == (
        "env:AWS_ACCESS_KEY_ID",
        "prefect-secret:ses-secret-key",
    )


@pytest.mark.parametrize(
    ("lines", "says"),
    [
        ('region = "Frankfurt"', "ses.region: 'Frankfurt' is not an AWS region"),
        ('endpoint = "localhost:4566"', "ses.endpoint: 'localhost:4566' is not a URL"),
        ('configuration_set = "my set"', "ses.configuration_set: must be an SES configuration set name"),
        ('access_key_id = "env:AWS_ACCESS_KEY_ID"', "ses.secret_access_key: access_key_id and secret_access_key go"),
        ('sending_rate = 14', "ses.sending_rate: unknown key 'sending_rate' in [ses]"),
    ],
)
def test_bad_ses_settings_are_named_with_an_example(tmp_path: Path, lines: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(_write(tmp_path, ACME_NA + "[ses]\n" + lines + "\n"), env={})
    assert says in str(raised.value) and "example: [ses]" in str(raised.value)


def test_a_literal_ses_secret_key_is_refused_unseen(tmp_path: Path) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    text = ACME_NA + f'[ses]\naccess_key_id = "env:AWS_ACCESS_KEY_ID"\nsecret_access_key = "{secret}"\n'
    with pytest.raises(ConfigError) as raised:
        load_settings(_write(tmp_path, text), env={})
    assert "ses.secret_access_key" in str(raised.value) and "literal secret" in str(raised.value)
    assert secret not in str(raised.value)
