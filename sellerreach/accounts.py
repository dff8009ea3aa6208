"""Seller accounts: an SP-API client per configured account, and what we know of its authorisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from sellerreach.amazon.client import SpApiClient
from sellerreach.amazon.lwa import LwaCredentials
from sellerreach.clock import Clock
from sellerreach.errors import AuthorizationRevoked
from sellerreach.secrets import resolve_secret
from sellerreach.settings import AccountConfig, Settings
from sellerreach.warehouse import record_authorisation, upsert_accounts

AUTHORISED = "authorised"
NEEDS_REAUTH = "needs_reauth"


def resolve_credentials(account: AccountConfig) -> LwaCredentials:
    """The account's LWA credentials from their secret references (ConfigError when one is missing)."""
    return LwaCredentials(
        client_id=resolve_secret(account.client_id),
        client_secret=resolve_secret(account.client_secret),
        refresh_token=resolve_secret(account.refresh_token),
    )


def build_client(account: AccountConfig, clock: Clock, credentials: LwaCredentials | None = None) -> SpApiClient:
    """A client for one account, with its credentials resolved from the references unless given."""
    credentials = credentials or resolve_credentials(account)
    return SpApiClient(
        account_id=account.account_id,
        endpoint=account.endpoint,
        lwa_endpoint=account.lwa_endpoint,
        credentials=credentials,
        clock=clock,
    )


def register_accounts(engine: Engine, settings: Settings, now: datetime) -> None:
    with engine.begin() as conn:
        upsert_accounts(conn, ((a.account_id, a.region, a.marketplace_ids) for a in settings.accounts), now)


@dataclass(frozen=True)
class AuthCheck:
    account_id: str
    status: str  # authorised or needs_reauth
    access_token_expires_at: datetime | None
    error: str | None
    status_changed: bool


def check_authorisation(engine: Engine, client: SpApiClient, *, actor: str, fresh: bool = False) -> AuthCheck:
    """Exchange the account's refresh token (`fresh`: even when a cached access token is still valid).
    `invalid_grant` marks the account needs_reauth (audit-logged) and is returned, not raised, so the caller
    can go on with the other accounts; other errors propagate."""
    now = client.clock.now()
    try:
        expires_at = client.access_token_expires_at(fresh=fresh)
    except AuthorizationRevoked as exc:
        changed = mark_needs_reauth(engine, client.account_id, exc, now=now, actor=actor)
        return AuthCheck(client.account_id, NEEDS_REAUTH, None, str(exc), changed)
    with engine.begin() as conn:
        changed = record_authorisation(
            conn,
            client.account_id,
            status=AUTHORISED,
            now=now,
            actor=actor,
            access_token_expires_at=expires_at,
        )
    return AuthCheck(client.account_id, AUTHORISED, expires_at, None, changed)


def mark_needs_reauth(
    engine: Engine, account_id: str, error: AuthorizationRevoked, *, now: datetime, actor: str
) -> bool:
    """Record that the seller must authorise again (audit-logged when the status changes); True if it changed."""
    with engine.begin() as conn:
        return record_authorisation(conn, account_id, status=NEEDS_REAUTH, now=now, actor=actor, error=str(error))
