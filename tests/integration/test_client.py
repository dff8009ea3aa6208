"""The SP-API client against the running stand-in: pagination, 429 and 5xx recovery, fatal 4xx, invalid_grant,
token renewal, Restricted Data Tokens. All on a manual clock: waits advance it instead of sleeping."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sellerreach.amazon.client import SpApiClient
from sellerreach.amazon.lwa import LwaCredentials
from sellerreach.amazon.streams import ORDERS, live_window, read_window
from sellerreach.errors import AuthorizationRevoked, FatalError, RetriableError
from tests.support.standin import running_stand_in

US = "ATVPDKIKX0DER"


@pytest.fixture
def stand_in(monkeypatch, tmp_path):
    with running_stand_in(monkeypatch, tmp_path, orders_per_day=40) as running:
        yield running


def make_client(stand_in, account="acme-na", **kwargs) -> SpApiClient:
    return SpApiClient(
        account_id=account,
        endpoint=stand_in.server.url,
        lwa_endpoint=stand_in.server.lwa_url,
        credentials=LwaCredentials(stand_in.client_id, stand_in.client_secret, stand_in.tokens[account]),
        clock=stand_in.clock,
        **kwargs,
    )


def month_window(stand_in):
    return live_window(
        None,
        stand_in.clock.now(),
        overlap=timedelta(0),
        lag=timedelta(minutes=2),
        lookback=timedelta(days=30),
    )


def test_pages_cover_the_window_exactly_once(stand_in):
    window = month_window(stand_in)
    with make_client(stand_in) as client:
        pages = list(read_window(client, ORDERS, window, [US], page_size=50))
    ids = [order["orderId"] for page in pages for order in page.records]
    assert len(pages) > 10
    assert len(ids) == len(set(ids))
    expected = {
        order_id
        for order_id, updated in stand_in.world.ground_truth("acme-na", US).items()
        if window.start <= updated <= window.end
    }
    assert set(ids) == expected
    assert pages[-1].next_token is None and all(p.next_token for p in pages[:-1])
    # buyer PII came through the Restricted Data Token: merchant-fulfilled orders carry the relay address
    merchant = [o for p in pages for o in p.records if o["fulfillment"]["fulfilledBy"] == "MERCHANT"]
    assert merchant and all(o["buyer"]["buyerEmail"].endswith("@marketplace.amazon.com") for o in merchant)


def test_pacing_follows_the_usage_plan_so_no_429_is_seen(stand_in):
    window = month_window(stand_in)
    with make_client(stand_in) as client:
        pages = list(read_window(client, ORDERS, window, [US], page_size=20))
    assert len(pages) > 20  # more than the burst: the client had to wait for tokens
    assert client.stats.throttled == 0
    assert client.stats.rate_limit_wait_seconds == pytest.approx((len(pages) - 20) / 0.0056, rel=0.05)


def test_429_storm_is_retried_until_it_passes(stand_in):
    stand_in.server.faults.throttle("searchOrders", 4)
    with make_client(stand_in) as client:
        pages = list(read_window(client, ORDERS, month_window(stand_in), [US]))
    assert pages
    assert client.stats.throttled == 4
    assert client.stats.retries == 4
    assert sum(stand_in.server.stats()["throttled"].values()) == 4


def test_server_errors_are_retried_with_backoff(stand_in):
    stand_in.server.faults.fail("searchOrders", 2, status=503)
    before = stand_in.clock.monotonic()
    with make_client(stand_in) as client:
        pages = list(read_window(client, ORDERS, month_window(stand_in), [US]))
    assert pages and client.stats.server_errors == 2 and client.stats.retries == 2
    assert stand_in.clock.monotonic() > before  # it backed off on the clock


def test_retries_stop_at_the_cap(stand_in):
    stand_in.server.faults.fail("searchOrders", 100)
    with make_client(stand_in, max_attempts=3) as client, pytest.raises(RetriableError):
        list(read_window(client, ORDERS, month_window(stand_in), [US]))
    assert client.stats.by_operation["searchOrders"] == 3


def test_other_4xx_is_fatal_with_amazons_code_and_not_retried(stand_in):
    with make_client(stand_in) as client, pytest.raises(FatalError) as caught:
        list(read_window(client, ORDERS, month_window(stand_in), ["A1PA6795UKMFR9"]))  # not this seller's
    assert caught.value.status == 400
    assert caught.value.code == "InvalidInput"
    assert client.stats.by_operation["searchOrders"] == 1
    assert client.stats.retries == 0


def test_revoked_refresh_token_raises_authorization_revoked(stand_in):
    stand_in.server.faults.revoke(stand_in.tokens["acme-na"])
    with make_client(stand_in) as client, pytest.raises(AuthorizationRevoked) as caught:
        client.access_token_expires_at()
    assert caught.value.code == "invalid_grant"
    assert stand_in.tokens["acme-na"] not in str(caught.value)


def test_wrong_client_secret_is_fatal_and_not_echoed(stand_in):
    client = SpApiClient(
        account_id="acme-na",
        endpoint=stand_in.server.url,
        lwa_endpoint=stand_in.server.lwa_url,
        credentials=LwaCredentials(stand_in.client_id, "not-the-secret", stand_in.tokens["acme-na"]),
        clock=stand_in.clock,
    )
    with client, pytest.raises(FatalError) as caught:
        client.access_token_expires_at()
    assert caught.value.code == "invalid_client"
    assert "not-the-secret" not in str(caught.value) and "not-the-secret" not in repr(
        client._tokens._credentials
    )


def test_access_token_is_renewed_before_its_hour_is_up(stand_in):
    with make_client(stand_in) as client:
        first = client.access_token_expires_at()
        stand_in.clock.advance(50 * 60)
        assert client.access_token_expires_at() == first
        stand_in.clock.advance(6 * 60)  # inside the five-minute renewal margin
        assert client.access_token_expires_at() > first
        assert client._tokens.exchanges == 2
        # the renewed token works
        assert list(read_window(client, ORDERS, month_window(stand_in), [US]))
