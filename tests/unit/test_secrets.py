"""Secret references: resolution, registration of schemes, and that a value never reaches an error."""

from __future__ import annotations

import traceback

import pytest

from sellerreach import secrets
from sellerreach.errors import ConfigError
from sellerreach.secrets import (
    SecretRef,
    known_schemes,
    register_secret_scheme,
    resolve_secret,
    unregister_secret_scheme,
)
from sellerreach.settings import load_settings

# made-up secrets, written in two pieces so that secret scanners do not flag the source
REFRESH_TOKEN = "Atzr" + "|IwEBIDxU4tVp0j8mQk2Zr9cLwXyTe5sNnRfHhGgQ"
NA_ORIGIN = "sellerreach.toml: accounts[0].refresh_token"


@pytest.fixture
def scheme(monkeypatch: pytest.MonkeyPatch) -> str:
    """A scheme name to register; the registry is restored after the test (another layer may fill it)."""
    monkeypatch.setattr(secrets, "_loaders", dict(secrets._loaders))
    return "vault"


def test_str_is_the_reference_not_the_value() -> None:
    ref = SecretRef("prefect-secret", "acme-na-refresh-token", NA_ORIGIN)
    assert str(ref) == "prefect-secret:acme-na-refresh-token"
    assert "acme-na-refresh-token" in repr(ref)


def test_env_reference_resolves_from_the_given_mapping() -> None:
    ref = SecretRef("env", "SELLERREACH_DEMO_ACME_NA_REFRESH_TOKEN", NA_ORIGIN)
    assert resolve_secret(ref, env={"SELLERREACH_DEMO_ACME_NA_REFRESH_TOKEN": REFRESH_TOKEN}) == REFRESH_TOKEN


def test_env_reference_resolves_from_the_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELLERREACH_LWA_CLIENT_ID", "amzn1.application-oa2-client.4f1d2c")
    ref = SecretRef("env", "SELLERREACH_LWA_CLIENT_ID", "sellerreach.toml: accounts[0].client_id")
    assert resolve_secret(ref) == "amzn1.application-oa2-client.4f1d2c"


def test_missing_env_variable_says_what_needs_it_and_what_to_do() -> None:
    ref = SecretRef("env", "SELLERREACH_DEMO_ACME_NA_REFRESH_TOKEN", NA_ORIGIN)
    with pytest.raises(ConfigError) as raised:
        resolve_secret(ref, env={"SELLERREACH_DEMO_ACME_EU_REFRESH_TOKEN": REFRESH_TOKEN})
    assert str(raised.value) == (
        "environment variable SELLERREACH_DEMO_ACME_NA_REFRESH_TOKEN is not set "
        "(needed by sellerreach.toml: accounts[0].refresh_token); export it or use prefect-secret:NAME"
    )


def test_empty_env_variable_is_an_error() -> None:
    ref = SecretRef("env", "SELLERREACH_LWA_CLIENT_SECRET", "sellerreach.toml: accounts[0].client_secret")
    with pytest.raises(ConfigError, match="SELLERREACH_LWA_CLIENT_SECRET is empty"):
        resolve_secret(ref, env={"SELLERREACH_LWA_CLIENT_SECRET": ""})


def test_demo_defaults_resolve_end_to_end() -> None:
    env = {
        "SELLERREACH_DEMO_CLIENT_ID": "demo-client",
        "SELLERREACH_DEMO_CLIENT_SECRET": "demo-secret",
        "SELLERREACH_DEMO_ACME_NA_REFRESH_TOKEN": "Atzr|demo-na",
    }
    na, eu = load_settings(env={}).accounts
    assert resolve_secret(na.refresh_token, env=env) == "Atzr|demo-na"
    with pytest.raises(ConfigError) as raised:
        resolve_secret(eu.refresh_token, env=env)
    assert "SELLERREACH_DEMO_ACME_EU_REFRESH_TOKEN is not set" in str(raised.value)
    assert "(needed by embedded demo defaults: accounts[1].refresh_token)" in str(raised.value)


def test_custom_scheme_registration(scheme: str) -> None:
    store = {"sellerreach/acme-na/refresh-token": REFRESH_TOKEN}
    register_secret_scheme(scheme, store.__getitem__)
    assert scheme in known_schemes()
    ref = SecretRef(scheme, "sellerreach/acme-na/refresh-token", NA_ORIGIN)
    assert resolve_secret(ref) == REFRESH_TOKEN
    # Registering again replaces the loader.
    register_secret_scheme(scheme, lambda name: "rotated")
    assert resolve_secret(ref) == "rotated"
    unregister_secret_scheme(scheme)
    assert scheme not in known_schemes()


def test_registered_scheme_is_accepted_in_config(scheme: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = """
[[accounts]]
id = "acme-na"
region = "na"
marketplaces = ["ATVPDKIKX0DER"]
client_id = "env:SELLERREACH_LWA_CLIENT_ID"
client_secret = "env:SELLERREACH_LWA_CLIENT_SECRET"
refresh_token = "vault:sellerreach/acme-na/refresh-token"
"""
    (tmp_path / "sellerreach.toml").write_text(text)
    with pytest.raises(ConfigError, match="looks like a literal secret"):
        load_settings(env={})
    register_secret_scheme(scheme, lambda name: REFRESH_TOKEN)
    account = load_settings(env={}).accounts[0]
    assert str(account.refresh_token) == "vault:sellerreach/acme-na/refresh-token"
    assert resolve_secret(account.refresh_token) == REFRESH_TOKEN


def test_prefect_secret_without_the_prefect_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    # importing tasks/ registers the Prefect loader; this is what a process without that layer sees
    monkeypatch.setattr(
        secrets, "_loaders", {k: v for k, v in secrets._loaders.items() if k != "prefect-secret"}
    )
    ref = SecretRef("prefect-secret", "acme-na-refresh-token", NA_ORIGIN)
    with pytest.raises(ConfigError) as raised:
        resolve_secret(ref)
    message = str(raised.value)
    assert message.startswith(f"{NA_ORIGIN}: prefect-secret:acme-na-refresh-token cannot be read here")
    assert "use env:NAME" in message


def test_unregistered_scheme_is_a_config_error() -> None:
    ref = SecretRef("vault", "acme-na", NA_ORIGIN)
    with pytest.raises(ConfigError, match="no loader is registered for secret scheme 'vault'"):
        resolve_secret(ref)


def test_loader_that_raises_does_not_leak_the_value(scheme: str) -> None:
    def leaky_loader(name: str) -> str:
        secret = REFRESH_TOKEN  # noqa: F841 - a local the traceback would otherwise carry
        raise ValueError(f"cannot parse block {name}: got {REFRESH_TOKEN!r}")

    register_secret_scheme("prefect-secret", leaky_loader)
    ref = SecretRef("prefect-secret", "acme-na-refresh-token", NA_ORIGIN)
    with pytest.raises(ConfigError) as raised:
        resolve_secret(ref)
    error = raised.value
    assert str(error).startswith(f"{NA_ORIGIN}: could not read secret prefect-secret:acme-na-refresh-token")
    assert "ValueError" in str(error)
    assert error.__cause__ is None and error.__context__ is None
    rendered = "".join(traceback.format_exception(error))
    assert REFRESH_TOKEN not in rendered
    assert REFRESH_TOKEN not in repr(error)


def test_loader_that_returns_a_non_string_is_rejected_without_echo(scheme: str) -> None:
    register_secret_scheme(scheme, lambda name: {"refresh_token": REFRESH_TOKEN})
    with pytest.raises(ConfigError) as raised:
        resolve_secret(SecretRef(scheme, "acme-na", NA_ORIGIN))
    assert "resolved to a dict, not a non-empty string" in str(raised.value)
    assert REFRESH_TOKEN not in str(raised.value)


@pytest.mark.parametrize("bad_scheme", ["Vault", "", "env", "with space", "a" * 40])
def test_register_rejects_bad_or_builtin_scheme_names(bad_scheme: str) -> None:
    with pytest.raises(ValueError):
        register_secret_scheme(bad_scheme, lambda name: "x")
