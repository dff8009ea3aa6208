"""refresh_tokens (every 30 minutes): exchange each account's refresh token; detect revoked authorisations.

A revoked account is marked needs_reauth, audit-logged, logged as an error and announced with the Prefect event
`sellerreach.account.needs-reauth`; the other accounts go on.
"""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import create_table_artifact
from prefect.futures import wait

from sellerreach.accounts import NEEDS_REAUTH
from sellerreach.clock import shared_clock
from sellerreach.errors import RunFailed
from sellerreach.settings import load_settings
from tasks.amazon import accounts_to_run, authorise_account, failure_reason

ACTOR = "flow:refresh_tokens"


@flow(name="refresh_tokens")
def refresh_tokens(config_path: str | None = None, account: str | None = None) -> list[dict]:
    """Check every configured account (or only `account`); returns each account's authorisation state."""
    settings = load_settings(config_path)
    clock = shared_clock(settings.time_scale)
    accounts = accounts_to_run(settings, account, clock.now())
    futures = [
        authorise_account.submit(settings.warehouse_url, a, clock, ACTOR, fresh=True) for a in accounts
    ]
    wait(futures)
    summary: list[dict] = []
    failed: list[str] = []
    for acc, future in zip(accounts, futures, strict=True):
        if future.state.is_completed():
            check = future.result()
            expires = check.access_token_expires_at
            summary.append(
                {
                    "account_id": acc.account_id,
                    "status": check.status,
                    "access_token_expires_at": expires.isoformat() if expires else None,
                }
            )
        else:
            failed.append(f"{acc.account_id}: {failure_reason(future)}")
            summary.append({"account_id": acc.account_id, "status": "error", "access_token_expires_at": None})
    create_table_artifact(key="refresh-tokens", table=summary, description="Authorisation state per account")
    revoked = [row["account_id"] for row in summary if row["status"] == NEEDS_REAUTH]
    if revoked:
        get_run_logger().error("Accounts needing re-authorisation: %s", ", ".join(revoked))
    if failed:
        raise RunFailed("token exchange failed for " + "; ".join(failed))
    return summary
