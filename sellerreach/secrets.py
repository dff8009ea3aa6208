"""Secrets by reference: config says where a secret lives (`env:NAME`, `prefect-secret:NAME`), not what it is.

`env` is built in. Other schemes are registered by the layer that can read them: the Prefect tasks register
`prefect-secret` with a loader that reads a Secret block, so sellerreach/ never imports prefect. A resolved
value never appears in an error message, an exception chain or a repr.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sellerreach.errors import ConfigError

BUILTIN_SCHEMES = ("env", "prefect-secret")

_SCHEME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
# Names a reference may carry, per scheme; a scheme registered later accepts any NAME_PATTERN name.
NAME_PATTERNS = {
    "env": re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$"),
    # Prefect block names: lowercase letters, digits and dashes.
    "prefect-secret": re.compile(r"^[a-z0-9][a-z0-9-]*$"),
}
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*$")

_loaders: dict[str, Callable[[str], str]] = {}
_lock = threading.Lock()


@dataclass(frozen=True)
class SecretRef:
    """Where a secret lives. Safe to print: it holds the reference, never the value."""

    scheme: str  # "env" or "prefect-secret" (or a registered scheme)
    name: str
    origin: str  # where it was written, e.g. "sellerreach.toml: accounts[0].refresh_token"

    def __str__(self) -> str:
        return f"{self.scheme}:{self.name}"


def register_secret_scheme(scheme: str, loader: Callable[[str], str]) -> None:
    """Make `scheme:NAME` references resolvable through `loader(NAME) -> value`.

    Registering a scheme again replaces its loader. `env` is built in and cannot be replaced (resolve_secret
    takes the environment as an argument). Raises ValueError for a malformed scheme name.
    """
    if not _SCHEME_PATTERN.match(scheme):
        raise ValueError(
            f"secret scheme {scheme!r} must be lowercase letters, digits and dashes, e.g. 'vault'"
        )
    if scheme == "env":
        raise ValueError("the env scheme is built in and cannot be replaced")
    with _lock:
        _loaders[scheme] = loader


def unregister_secret_scheme(scheme: str) -> None:
    """Forget a registered scheme (tests, or a layer shutting down). Unknown schemes are ignored."""
    with _lock:
        _loaders.pop(scheme, None)


def known_schemes() -> tuple[str, ...]:
    """Schemes a config may use: the built-in ones plus every registered one."""
    with _lock:
        registered = tuple(sorted(s for s in _loaders if s not in BUILTIN_SCHEMES))
    return BUILTIN_SCHEMES + registered


def resolve_secret(ref: SecretRef, *, env: Mapping[str, str] | None = None) -> str:
    """Return the value `ref` points at.

    `env` replaces os.environ for `env:` references. Raises ConfigError when the variable is unset or empty,
    the scheme has no loader, or the loader fails or returns something other than a non-empty string; the
    message names the reference and where it was written, never the value, and the loader's exception is not
    chained.
    """
    if ref.scheme == "env":
        environ = os.environ if env is None else env
        value = environ.get(ref.name)
        if value is None:
            raise ConfigError(
                f"environment variable {ref.name} is not set (needed by {ref.origin}); "
                "export it or use prefect-secret:NAME"
            )
        if value == "":
            raise ConfigError(
                f"environment variable {ref.name} is empty (needed by {ref.origin}); "
                "export it with the real value or use prefect-secret:NAME"
            )
        return value

    with _lock:
        loader = _loaders.get(ref.scheme)
    if loader is None:
        if ref.scheme == "prefect-secret":
            raise ConfigError(
                f"{ref.origin}: {ref} cannot be read here: prefect-secret references are resolved by the "
                "Prefect layer (tasks/), which registers the scheme; run it through a flow, or use env:NAME"
            )
        raise ConfigError(
            f"{ref.origin}: no loader is registered for secret scheme {ref.scheme!r}; "
            f"use one of {', '.join(known_schemes())}, e.g. env:NAME"
        )

    # The loader's exception is reduced to its type outside the except block, so neither its message nor its
    # traceback (which may hold the value) travels with the ConfigError.
    failure: str | None = None
    value = None
    try:
        value = loader(ref.name)
    except Exception as exc:  # noqa: BLE001 - any loader failure becomes one ConfigError
        failure = type(exc).__name__
    if failure is not None:
        raise ConfigError(
            f"{ref.origin}: could not read secret {ref} ({failure}; the loader's message is withheld because "
            f"it may contain the secret); check that the {ref.scheme} secret {ref.name!r} exists and is "
            "readable, or use env:NAME"
        )
    if not isinstance(value, str) or value == "":
        kind = "an empty string" if value == "" else f"a {type(value).__name__}"
        value = None
        raise ConfigError(
            f"{ref.origin}: secret {ref} resolved to {kind}, not a non-empty string; "
            f"store the value as plain text in {ref.scheme} secret {ref.name!r}"
        )
    return value
