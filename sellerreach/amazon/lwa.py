"""Login with Amazon: exchange a seller's refresh token for one-hour access tokens, cached and renewed early."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx

from sellerreach.clock import Clock
from sellerreach.errors import AuthorizationRevoked, FatalError, RetriableError

# Renew this long before Amazon's expiry, so a token never dies in the middle of a page of requests.
RENEW_MARGIN = timedelta(minutes=5)


@dataclass(frozen=True)
class LwaCredentials:
    client_id: str
    client_secret: str
    refresh_token: str

    def __repr__(self) -> str:  # never show the values, not even in a traceback's locals
        return "LwaCredentials(<redacted>)"


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: datetime

    def __repr__(self) -> str:
        return f"AccessToken(<redacted>, expires_at={self.expires_at.isoformat()})"


def exchange_refresh_token(
    http: httpx.Client, lwa_endpoint: str, credentials: LwaCredentials, now: datetime
) -> AccessToken:
    """One LWA token exchange.

    Raises AuthorizationRevoked on `invalid_grant`, FatalError on other refusals (`invalid_client` ...),
    RetriableError on 5xx, 429 and transport errors.
    """
    try:
        response = http.post(
            lwa_endpoint,
            data={
                "grant_type": "refresh_token",
                "refresh_token": credentials.refresh_token,
                "client_id": credentials.client_id,
                "client_secret": credentials.client_secret,
            },
        )
    except httpx.TransportError as exc:
        raise RetriableError(
            f"LWA token endpoint {lwa_endpoint} unreachable ({type(exc).__name__}); check the account's "
            "lwa_endpoint, and with the demo defaults that `sellerreach sandbox` is running"
        ) from None
    if response.status_code == 429 or response.status_code >= 500:
        raise RetriableError(f"LWA token endpoint answered HTTP {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code != 200:
        error = str(body.get("error", "unknown_error"))
        description = str(body.get("error_description", ""))[:200]
        message = f"LWA refused the token exchange: {error}" + (f" ({description})" if description else "")
        if error == "invalid_grant":
            raise AuthorizationRevoked(
                message + "; the seller must authorise the application again in Seller Central",
                status=response.status_code,
                code=error,
            )
        raise FatalError(message, status=response.status_code, code=error)
    try:
        return AccessToken(
            value=body["access_token"], expires_at=now + timedelta(seconds=int(body["expires_in"]))
        )
    except (KeyError, TypeError, ValueError):
        raise FatalError("LWA answered 200 without access_token/expires_in", status=200) from None


class TokenCache:
    """The current access token of one account; exchanges anew when it is within RENEW_MARGIN of expiry."""

    def __init__(
        self, http: httpx.Client, lwa_endpoint: str, credentials: LwaCredentials, clock: Clock
    ) -> None:
        self._http = http
        self._endpoint = lwa_endpoint
        self._credentials = credentials
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = threading.Lock()
        self.exchanges = 0

    def get(self) -> AccessToken:
        with self._lock:
            now = self._clock.now()
            if self._token is None or self._token.expires_at - RENEW_MARGIN <= now:
                self._token = exchange_refresh_token(self._http, self._endpoint, self._credentials, now)
                self.exchanges += 1
            return self._token

    def invalidate(self) -> None:
        with self._lock:
            self._token = None
