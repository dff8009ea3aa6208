"""The SP-API stand-in over real HTTP: LWA, auth, quotas, pagination, RDTs, solicitations and faults.

Every SP-API response body any test sees is validated against the vendored model's schema for its status.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import httpx
import pytest

from sellerreach.amazon.models import validate_response
from sellerreach.clock import ManualClock
from sellerreach.sandbox import FaultPlan, OrderWorld, SandboxServer, demo_sellers

CLIENT_ID, CLIENT_SECRET = "amzn1.application-oa2-client.sandbox", "sandbox-secret"
TOKENS = {"acme-na": "Atzr|sandbox-na", "acme-eu": "Atzr|sandbox-eu"}
SEARCH = "/orders/2026-01-01/orders"
US, CA, DE = "ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1PA6795UKMFR9"


class Api:
    """An httpx client that checks every SP-API answer against the model."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.url, timeout=10)
        self.token = ""

    def login(self, account_id: str = "acme-na") -> str:
        reply = self.lwa(refresh_token=TOKENS[account_id])
        assert reply.status_code == 200, reply.text
        self.token = reply.json()["access_token"]
        return self.token

    def lwa(self, **form: str) -> httpx.Response:
        data = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form}
        return self.http.post(self.server.lwa_url, data=data)

    def call(self, op: str, method: str, path: str, *, token: str | None = None, **kwargs) -> httpx.Response:
        headers = {} if token == "" else {"x-amz-access-token": token or self.token}
        reply = self.http.request(method, path, headers=headers, **kwargs)
        assert validate_response(op, reply.status_code, reply.json()) == [], reply.text
        assert reply.headers["x-amzn-RequestId"]
        return reply

    def search(self, params: dict | list, **kwargs) -> httpx.Response:
        return self.call("searchOrders", "GET", SEARCH, params=params, **kwargs)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world(clock: ManualClock) -> OrderWorld:
    sellers = [replace(s, orders_per_day=20) for s in demo_sellers(TOKENS)]
    return OrderWorld(sellers, clock, history_days=40)


@pytest.fixture
def server(world: OrderWorld, clock: ManualClock):
    with SandboxServer(
        world, clock, client_id=CLIENT_ID, client_secret=CLIENT_SECRET, faults=FaultPlan()
    ) as running:
        yield running


@pytest.fixture
def api(server: SandboxServer) -> Api:
    client = Api(server)
    client.login()
    yield client
    client.http.close()


def window(clock: ManualClock, days: float = 2, **extra) -> dict:
    return {
        "lastUpdatedAfter": (clock.now() - timedelta(days=days)).isoformat(),
        "lastUpdatedBefore": (clock.now() - timedelta(minutes=5)).isoformat(),
        **extra,
    }


def test_lwa_grants_checks_the_client_and_refuses_revoked_grants(server: SandboxServer):
    api = Api(server)
    ok = api.lwa(refresh_token=TOKENS["acme-eu"])
    body = ok.json()
    assert ok.status_code == 200
    assert body["access_token"].startswith("Atza|") and body["token_type"] == "bearer"
    assert body["expires_in"] == 3600 and body["refresh_token"] == TOKENS["acme-eu"]
    assert api.lwa(refresh_token=TOKENS["acme-eu"]).json()["access_token"] != body["access_token"]
    wrong = api.lwa(refresh_token=TOKENS["acme-eu"], client_secret="guess")
    assert wrong.status_code == 401 and wrong.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
    }
    unknown = api.lwa(refresh_token="Atzr|never-issued")
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_grant"
    server.faults.revoke(TOKENS["acme-eu"])
    revoked = api.lwa(refresh_token=TOKENS["acme-eu"])
    assert revoked.status_code == 400 and revoked.json() == {
        "error": "invalid_grant",
        "error_description": "The request has an invalid grant parameter : refresh_token",
    }
    assert api.lwa(refresh_token=TOKENS["acme-na"]).status_code == 200  # other sellers are unaffected
    server.faults.reinstate(TOKENS["acme-eu"])
    assert api.lwa(refresh_token=TOKENS["acme-eu"]).status_code == 200


def test_access_tokens_are_required_and_expire(api: Api, clock: ManualClock):
    for token, detail in (("", "no x-amz-access-token"), ("Atza|forged", "invalid")):
        denied = api.search(window(clock), token=token)
        assert denied.status_code == 403
        assert (
            denied.json()["errors"][0]["code"] == "Unauthorized"
            and detail in denied.json()["errors"][0]["details"]
        )
    assert api.search(window(clock)).status_code == 200
    clock.advance(3600)
    expired = api.search(window(clock))
    assert expired.status_code == 403
    assert expired.json()["errors"][0]["details"] == "The access token you provided has expired."


def test_paging_returns_each_order_once_even_while_orders_change(
    api: Api, world: OrderWorld, clock: ManualClock
):
    params = window(
        clock, days=1.5, marketplaceIds=US, includedData=["FULFILLMENT", "PROCEEDS"], maxResultsPerPage="20"
    )
    expected = [
        o["orderId"]
        for o in world.search(
            "acme-na",
            marketplace_ids=[US],
            last_updated_after=clock.now() - timedelta(days=1.5),
            last_updated_before=clock.now() - timedelta(minutes=5),
        )
    ]
    assert len(expected) > 60
    pages, seen, keys = 0, [], []
    token = None
    while True:
        reply = api.search({**params, **({"paginationToken": token} if token else {})})
        assert reply.status_code == 200, reply.text
        body = reply.json()
        pages += 1
        seen += [o["orderId"] for o in body["orders"]]
        keys += [(o["lastUpdatedTime"], o["orderId"]) for o in body["orders"]]
        assert body["lastUpdatedBefore"] == params["lastUpdatedBefore"].replace("+00:00", "Z")
        # Meanwhile orders on pages already read and on pages still to come change.
        for order in body["orders"][:2]:
            world.add_late_update("acme-na", order["orderId"], delay_seconds=0)
        world.corrupt_order("acme-na", expected[-1 - pages], "bad_amount")
        clock.advance(30)
        if "pagination" not in body:
            break
        token = body["pagination"]["nextToken"]
    assert pages == -(-len(expected) // 20)
    assert seen == expected  # each exactly once, in (lastUpdatedTime, orderId) order
    assert keys == sorted(keys)


def test_pagination_token_must_match_the_query(api: Api, clock: ManualClock):
    params = window(clock, maxResultsPerPage="5")
    token = api.search(params).json()["pagination"]["nextToken"]
    follow = api.search(
        {**params, "paginationToken": token, "maxResultsPerPage": "7", "includedData": "PROCEEDS"}
    )
    assert follow.status_code == 200 and len(follow.json()["orders"]) == 7
    assert api.search({"paginationToken": token}).status_code == 200  # a bare token carries its query
    other = api.search({**params, "marketplaceIds": US, "paginationToken": token})
    assert other.status_code == 400 and other.json()["errors"][0]["code"] == "InvalidInput"
    garbled = api.search({**params, "paginationToken": token[:-6] + "xx!!"})
    assert garbled.status_code == 400 and "paginationToken" in garbled.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "createdAfter"),
        (
            {"createdAfter": "2026-10-01T00:00:00Z", "lastUpdatedAfter": "2026-10-01T00:00:00Z"},
            "createdAfter",
        ),
        (
            {"createdAfter": "2026-10-01T00:00:00Z", "lastUpdatedBefore": "2026-10-02T00:00:00Z"},
            "lastUpdatedBefore",
        ),
        (
            {"lastUpdatedAfter": "2026-10-01T00:00:00Z", "createdBefore": "2026-10-02T00:00:00Z"},
            "createdBefore",
        ),
        (
            {"lastUpdatedAfter": "2026-11-01T00:00:00Z", "lastUpdatedBefore": "2026-11-02T11:59:00Z"},
            "lastUpdatedBefore",
        ),
        ({"createdAfter": "2026-11-01T00:00:00Z", "createdBefore": "2026-10-30T00:00:00Z"}, "createdBefore"),
        ({"createdAfter": "yesterday"}, "createdAfter"),
        ({"createdAfter": "2026-11-01T00:00:00Z", "maxResultsPerPage": "101"}, "maxResultsPerPage"),
        ({"createdAfter": "2026-11-01T00:00:00Z", "maxResultsPerPage": "0"}, "maxResultsPerPage"),
        ({"createdAfter": "2026-11-01T00:00:00Z", "marketplaceIds": DE}, "marketplaceIds"),
        ({"createdAfter": "2026-11-01T00:00:00Z", "fulfillmentStatuses": "LOST"}, "fulfillmentStatuses"),
        ({"createdAfter": "2026-11-01T00:00:00Z", "includedData": "EVERYTHING"}, "includedData"),
    ],
)
def test_search_parameter_rules_answer_invalid_input(api: Api, params: dict, named: str):
    reply = api.search(params)
    assert reply.status_code == 400
    error = reply.json()["errors"][0]
    assert error["code"] == "InvalidInput" and named in error["message"]
    assert reply.headers["x-amzn-RateLimit-Limit"] == "0.0056"


def test_search_filters_and_array_spellings(api: Api, clock: ManualClock):
    repeated = api.search(
        [
            *window(clock).items(),
            ("marketplaceIds", US),
            ("marketplaceIds", CA),
            ("fulfillmentStatuses", "SHIPPED"),
            ("includedData", "FULFILLMENT"),
        ]
    ).json()
    commas = api.search(
        window(clock, marketplaceIds=f"{US},{CA}", fulfillmentStatuses="SHIPPED", includedData="FULFILLMENT")
    ).json()
    assert repeated == commas and repeated["orders"]
    assert {o["fulfillment"]["fulfillmentStatus"] for o in commas["orders"]} == {"SHIPPED"}
    plain = api.search(window(clock, maxResultsPerPage="3")).json()["orders"]
    assert all(
        set(o) >= {"orderId", "createdTime", "lastUpdatedTime", "salesChannel", "orderItems"} for o in plain
    )
    assert all("fulfillment" not in o and "proceeds" not in o and "buyer" not in o for o in plain)
    created = api.search({"createdAfter": (clock.now() - timedelta(days=1)).isoformat()}).json()
    assert "createdBefore" in created and "lastUpdatedBefore" not in created


def test_quota_bursts_then_refuses_then_recovers(api: Api, clock: ManualClock, server: SandboxServer):
    params = window(clock, maxResultsPerPage="1")
    for _ in range(20):
        ok = api.search(params)
        assert ok.status_code == 200 and ok.headers["x-amzn-RateLimit-Limit"] == "0.0056"
    refused = api.search(params)
    assert refused.status_code == 429
    assert refused.headers["x-amzn-RateLimit-Limit"] == "0.0056"
    assert refused.json()["errors"][0] == {
        "code": "QuotaExceeded",
        "message": "You exceeded your quota for the requested resource.",
    }
    other_seller = Api(server)
    other_seller.login("acme-eu")
    assert other_seller.search(params).status_code == 200  # buckets are per seller
    clock.advance(1 / 0.0056 + 1)
    assert api.search(params).status_code == 200
    assert api.search(params).status_code == 429
    stats = server.stats()
    assert stats["requests"][("searchOrders", "acme-na")] == 23
    assert stats["throttled"][("searchOrders", "acme-na")] == 2
    server.reset_stats()
    assert server.stats()["requests"] == {}


def test_injected_faults_are_served_in_order_and_counted(api: Api, server: SandboxServer, world: OrderWorld):
    order_id = next(iter(world.ground_truth("acme-na")))
    path = f"{SEARCH}/{order_id}"
    server.faults.fail("getOrder", 2)
    server.faults.fail("getOrder", 1, status=503)
    server.faults.throttle("getOrder", 1)
    codes = [api.call("getOrder", "GET", path) for _ in range(5)]
    assert [r.status_code for r in codes] == [500, 500, 503, 429, 200]
    assert codes[0].json()["errors"][0]["code"] == "InternalFailure"
    assert codes[2].json()["errors"][0]["code"] == "ServiceUnavailable"
    assert codes[3].headers["x-amzn-RateLimit-Limit"] == "0.5"
    assert codes[4].json()["order"]["orderId"] == order_id
    assert server.stats()["errors_injected"] == 3
    assert server.stats()["throttled"][("getOrder", "acme-na")] == 1
    missing = api.call("getOrder", "GET", f"{SEARCH}/999-0000000-0000000")
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NotFound"
    eu_order = next(iter(world.ground_truth("acme-eu")))
    assert api.call("getOrder", "GET", f"{SEARCH}/{eu_order}").status_code == 404  # another seller's order


def test_buyer_data_needs_a_restricted_data_token(api: Api, clock: ManualClock, world: OrderWorld):
    params = window(clock, includedData="BUYER,FULFILLMENT", maxResultsPerPage="50")
    denied = api.search(params)
    assert denied.status_code == 403
    assert denied.json()["errors"][0]["details"] == (
        "Buyer and recipient data need a Restricted Data Token (createRestrictedDataToken, dataElements "
        "buyerInfo/shippingAddress)"
    )
    bad = api.call(
        "createRestrictedDataToken",
        "POST",
        "/tokens/2021-03-01/restrictedDataToken",
        json={"restrictedResources": [{"method": "GET", "path": "/reports/2021-06-30/reports"}]},
    )
    assert bad.status_code == 400
    created = api.call(
        "createRestrictedDataToken",
        "POST",
        "/tokens/2021-03-01/restrictedDataToken",
        json={"restrictedResources": [{"method": "GET", "path": SEARCH, "dataElements": ["buyerInfo"]}]},
    )
    assert created.status_code == 200
    rdt = created.json()["restrictedDataToken"]
    assert rdt.startswith("Atz.sprdt|") and created.json()["expiresIn"] == 3600
    orders = api.search(params, token=rdt).json()["orders"]
    assert orders and all(o["buyer"]["buyerName"] and "recipient" not in o for o in orders)
    merchant = [o for o in orders if o["fulfillment"]["fulfilledBy"] == "MERCHANT"]
    assert merchant and all(
        o["buyer"]["buyerEmail"].endswith(
            ("@marketplace.amazon.com", "@marketplace.amazon.ca", "@marketplace.amazon.com.mx")
        )
        for o in merchant
    )
    assert api.search({**params, "includedData": "RECIPIENT"}, token=rdt).status_code == 403
    order_id = orders[0]["orderId"]
    assert (
        api.call("getOrder", "GET", f"{SEARCH}/{order_id}", token=rdt).status_code == 200
    )  # plain use is fine
    assert (
        api.call(
            "getOrder", "GET", f"{SEARCH}/{order_id}", params={"includedData": "BUYER"}, token=rdt
        ).status_code
        == 403
    )
    single = api.call(
        "createRestrictedDataToken",
        "POST",
        "/tokens/2021-03-01/restrictedDataToken",
        json={
            "restrictedResources": [
                {
                    "method": "GET",
                    "path": f"{SEARCH}/{order_id}",
                    "dataElements": ["buyerInfo", "shippingAddress"],
                }
            ]
        },
    ).json()["restrictedDataToken"]
    full = api.call(
        "getOrder", "GET", f"{SEARCH}/{order_id}", params={"includedData": "BUYER,RECIPIENT"}, token=single
    )
    assert full.status_code == 200 and full.json()["order"]["recipient"]["deliveryAddress"]["countryCode"]
    assert (
        api.call(
            "getOrder",
            "GET",
            f"{SEARCH}/{orders[1]['orderId']}",
            params={"includedData": "BUYER"},
            token=single,
        ).status_code
        == 403
    )
    clock.advance(3601)
    assert api.search(params, token=rdt).status_code == 403


def test_solicitation_window_and_single_request(api: Api, world: OrderWorld, clock: ManualClock):
    def delivered_days_ago(low: float, high: float) -> tuple[str, str]:
        for order_id in world.ground_truth("acme-na"):
            delivered = world.delivered_at("acme-na", order_id)
            if delivered and timedelta(days=low) < clock.now() - delivered < timedelta(days=high):
                return order_id, world.marketplace_of("acme-na", order_id)
        raise AssertionError("no such order in the sandbox")

    def actions(order_id: str, market: str) -> httpx.Response:
        return api.call(
            "getSolicitationActionsForOrder",
            "GET",
            f"/solicitations/v1/orders/{order_id}",
            params={"marketplaceIds": market},
        )

    def solicit(order_id: str, market: str) -> httpx.Response:
        return api.call(
            "createProductReviewAndSellerFeedbackSolicitation",
            "POST",
            f"/solicitations/v1/orders/{order_id}/solicitations/productReviewAndSellerFeedback",
            params={"marketplaceIds": market},
        )

    order_id, market = delivered_days_ago(6, 29)
    offered = actions(order_id, market)
    assert offered.status_code == 200 and offered.headers["content-type"] == "application/hal+json"
    assert [a["name"] for a in offered.json()["_links"]["actions"]] == ["productReviewAndSellerFeedback"]
    first = solicit(order_id, market)
    assert first.status_code == 201 and first.json() == {}
    again = solicit(order_id, market)
    assert again.status_code == 403
    assert (
        again.json()["errors"][0]["message"]
        == "The requested solicitation is not available for this amazonOrderId."
    )
    assert actions(order_id, market).json()["_links"]["actions"] == []
    assert order_id in world.solicited_orders("acme-na")
    clock.advance(5)  # the solicitation quota is 1 request/s, burst 5

    early_id, early_market = delivered_days_ago(0.5, 4)
    assert actions(early_id, early_market).json()["_links"]["actions"] == []
    early = solicit(early_id, early_market)
    assert early.status_code == 403 and "5-30 day" in early.json()["errors"][0]["message"]
    unknown = solicit("999-0000000-0000000", US)
    assert unknown.status_code == 404
    no_market = api.call("getSolicitationActionsForOrder", "GET", f"/solicitations/v1/orders/{order_id}")
    assert no_market.status_code == 400 and "marketplaceIds" in no_market.json()["errors"][0]["message"]


def test_unknown_paths_and_wrong_methods(api: Api):
    missing = api.http.get("/orders/v0/orders", headers={"x-amz-access-token": api.token})
    assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NotFound"
    wrong = api.http.delete(SEARCH, headers={"x-amz-access-token": api.token})
    assert wrong.status_code == 405 and wrong.json()["errors"]
    assert api.http.get("/auth/o2/token").status_code == 405
