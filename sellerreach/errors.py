"""The error vocabulary every module speaks (after meltano/sdk): retry it, stop, or set one record aside."""

from __future__ import annotations


class SellerreachError(Exception):
    """Base of every error sellerreach raises on purpose."""


class ConfigError(SellerreachError):
    """The configuration is wrong; the message names the file, the key, the problem and a valid example."""


class RetriableError(SellerreachError):
    """Worth another try later: 429, 5xx, time-outs, dropped connections."""

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class FatalError(SellerreachError):
    """Retrying will not help: authorisation refused or another 4xx. Carries Amazon's error code and message."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class AuthorizationRevoked(FatalError):
    """LWA answered `invalid_grant`: the seller must authorise the application again."""


class SkippableRecord(SellerreachError):
    """One payload cannot be loaded; quarantine it with its raw JSON and go on with the rest."""


class RunFailed(SellerreachError):
    """A flow finished its other work but some of its units failed; the message says which and why."""
