"""The sandbox order world: deterministic, growing with the clock, realistic, always in the model's shape."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest

from sellerreach.amazon.models import validate_response
from sellerreach.clock import ManualClock
from sellerreach.marketplaces import MARKETPLACES, get_marketplace
from sellerreach.sandbox import CORRUPTIONS, OrderWorld, SandboxSeller, demo_sellers, project_order

ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")
STATUS_RANK = {"PENDING": 0, "UNSHIPPED": 1, "SHIPPED": 2, "CANCELLED": 3}


def make_world(clock: ManualClock | None = None, **kwargs) -> OrderWorld:
    sellers = (
        SandboxSeller(
            "acme-na", "A3DEMOSELLERNA", "Atzr|na", ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"), orders_per_day=40
        ),
        SandboxSeller("acme-eu", "A3DEMOSELLEREU", "Atzr|eu", ("A1PA6795UKMFR9",), orders_per_day=40),
    )
    kwargs.setdefault("history_days", 12)
    return OrderWorld(sellers, clock or ManualClock(), **kwargs)


def everything(world: OrderWorld, account_id: str = "acme-na", **kwargs) -> list[dict]:
    start = world.clock.now() - timedelta(days=60)
    return world.search(
        account_id, marketplace_ids=None, last_updated_after=start, include_pii=True, **kwargs
    )


def test_same_seed_and_times_give_the_same_orders_however_queried():
    first = make_world()
    second = make_world()
    # Query the second world in another order and at other times; the answer now must not depend on it.
    second.ground_truth("acme-eu")
    second.clock.advance(3 * 3600)
    first.clock.advance(3 * 3600)
    assert everything(first) == everything(second)
    assert everything(first, "acme-eu") == everything(second, "acme-eu")
    other_seed = make_world(seed=8)
    other_seed.clock.advance(3 * 3600)
    assert set(first.ground_truth("acme-na")).isdisjoint(other_seed.ground_truth("acme-na"))


def test_order_ids_have_amazons_shape_and_are_unique_across_sellers():
    world = make_world()
    ids = list(world.ground_truth("acme-na")) + list(world.ground_truth("acme-eu"))
    assert len(ids) == len(set(ids)) > 500
    assert all(ORDER_ID.match(order_id) for order_id in ids)


def test_orders_appear_as_the_clock_advances():
    world = make_world()
    before = world.ground_truth("acme-na")
    start = world.clock.now()
    assert all(updated <= start for updated in before.values())
    world.clock.advance(6 * 3600)
    after = world.ground_truth("acme-na")
    new = set(after) - set(before)
    assert 5 < len(new) < 60  # 2 marketplaces x 40/day x 6 h = 20 expected
    for order_id in new:
        created = world.get("acme-na", order_id)["createdTime"]
        assert start.strftime("%Y-%m-%dT%H:%M:%SZ") < created
    # History reaches back `history_days`, not further.
    oldest = min(o["createdTime"] for o in everything(world))
    assert oldest >= (start - timedelta(days=12)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_lifecycle_moves_forward_and_mfn_packages_follow_it():
    clock = ManualClock()
    world = make_world(clock, late_update_share=0.0)
    start = clock.now()
    seen: dict[str, list[dict]] = {}
    for step in range(48 + 7 * 12):  # 8 hours in 10-minute steps, then a week in 2-hour steps
        clock.advance(600 if step < 48 else 7200)
        if step < 36:
            for order in world.search("acme-na", marketplace_ids=None, created_after=start):
                seen.setdefault(order["orderId"], [])
        for order_id, versions in seen.items():
            versions.append(world.get("acme-na", order_id))
    assert len(seen) > 3
    for versions in seen.values():
        statuses = [v["fulfillment"]["fulfillmentStatus"] for v in versions]
        updated = [v["lastUpdatedTime"] for v in versions]
        assert statuses[0] == "PENDING"
        assert updated == sorted(updated)
        assert [STATUS_RANK[s] for s in statuses] == sorted(STATUS_RANK[s] for s in statuses)
        final = versions[-1]
        assert statuses[-1] in ("SHIPPED", "CANCELLED")
        if final["fulfillment"]["fulfilledBy"] == "MERCHANT" and statuses[-1] == "SHIPPED":
            package_states = [
                v["packages"][0]["packageStatus"]["status"] for v in versions if "packages" in v
            ]
            assert package_states[0] == "IN_TRANSIT" and package_states[-1] == "DELIVERED"
            assert final["packages"][0]["trackingNumber"] and final["packages"][0]["carrier"]
        if statuses[-1] == "CANCELLED":
            assert all("cancellation" in item for item in final["orderItems"])
        # Each status change is a version with a later lastUpdatedTime.
        assert len(set(updated)) >= len(set(statuses))


def test_search_filters_by_time_and_marketplace_and_sorts_by_update():
    world = make_world()
    now = world.clock.now()
    after, before = now - timedelta(days=3), now - timedelta(days=1)
    hits = world.search(
        "acme-na", marketplace_ids=["A2EUQ1WTGCTBG2"], last_updated_after=after, last_updated_before=before
    )
    assert hits
    keys = [(o["lastUpdatedTime"], o["orderId"]) for o in hits]
    assert keys == sorted(keys)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    assert all(after.strftime(fmt) <= o["lastUpdatedTime"] <= before.strftime(fmt) for o in hits)
    assert {o["salesChannel"]["marketplaceId"] for o in hits} == {"A2EUQ1WTGCTBG2"}
    truth = world.ground_truth("acme-na", "A2EUQ1WTGCTBG2")
    expected = {oid for oid, updated in truth.items() if after <= updated <= before}
    assert {o["orderId"] for o in hits} == expected
    created = world.search("acme-na", marketplace_ids=None, created_after=after, created_before=before)
    assert created and all(after.strftime(fmt) <= o["createdTime"] <= before.strftime(fmt) for o in created)
    shipped_fba = world.search(
        "acme-na",
        marketplace_ids=None,
        last_updated_after=after,
        fulfillment_statuses=["SHIPPED"],
        fulfilled_by=["AMAZON"],
    )
    assert shipped_fba and all(
        o["fulfillment"]["fulfillmentStatus"] == "SHIPPED" and o["fulfillment"]["fulfilledBy"] == "AMAZON"
        for o in shipped_fba
    )
    assert world.search("acme-na", marketplace_ids=["A1PA6795UKMFR9"], last_updated_after=after) == []
    with pytest.raises(KeyError):
        world.search("nobody", marketplace_ids=None, last_updated_after=after)


def test_late_update_is_invisible_until_its_delay_then_keeps_its_old_timestamp():
    clock = ManualClock()
    world = make_world(clock)
    order_id = next(iter(world.ground_truth("acme-na")))
    old = world.get("acme-na", order_id)["lastUpdatedTime"]
    clock.advance(30)
    updated_at = world.add_late_update("acme-na", order_id, delay_seconds=300)
    assert updated_at <= clock.now()
    window = {"marketplace_ids": None, "last_updated_after": updated_at - timedelta(seconds=1)}
    clock.advance(299)
    assert world.get("acme-na", order_id)["lastUpdatedTime"] == old
    assert order_id not in {o["orderId"] for o in world.search("acme-na", **window)}
    clock.advance(2)
    assert world.get("acme-na", order_id)["lastUpdatedTime"] == updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert order_id in {o["orderId"] for o in world.search("acme-na", **window)}
    assert world.ground_truth("acme-na")[order_id] == updated_at
    # A reader that already passed that time would miss it; only a window overlapping it finds it.
    late_reader = world.search(
        "acme-na", marketplace_ids=None, last_updated_after=clock.now() - timedelta(seconds=60)
    )
    assert order_id not in {o["orderId"] for o in late_reader}


def test_generated_late_updates_show_up_only_after_their_delay():
    clock = ManualClock()
    always_late = make_world(clock, late_update_share=1.0)
    now = clock.now()
    recent = always_late.search(
        "acme-na", marketplace_ids=None, last_updated_after=now - timedelta(seconds=239)
    )
    # Every status change arrives 4..10 minutes late, so the last 239 s can only show brand-new orders.
    assert all(o["lastUpdatedTime"] == o["createdTime"] for o in recent)
    on_time = make_world(ManualClock(), late_update_share=0.0)
    changes = [
        o
        for o in on_time.search("acme-na", marketplace_ids=None, last_updated_after=now - timedelta(hours=6))
        if o["lastUpdatedTime"] != o["createdTime"]
    ]
    assert changes


def test_buyer_email_only_on_merchant_orders_with_the_marketplace_relay_domain():
    world = make_world()
    orders = everything(world) + everything(world, "acme-eu")
    emails = Counter()
    for order in orders:
        buyer = order["buyer"]
        assert buyer["buyerName"]
        market = get_marketplace(order["salesChannel"]["marketplaceId"])
        if order["fulfillment"]["fulfilledBy"] == "MERCHANT":
            local, domain = buyer["buyerEmail"].split("@")
            assert re.fullmatch(r"[a-z0-9]{15}", local)
            assert domain == "marketplace." + market.name.lower()
            emails[buyer["buyerEmail"]] += 1
        else:
            assert "buyerEmail" not in buyer
    assert any(n > 1 for n in emails.values()), "some buyers come back"
    channels = Counter(o["fulfillment"]["fulfilledBy"] for o in orders)
    assert 0.5 < channels["AMAZON"] / len(orders) < 0.7
    business = [o for o in orders if "AMAZON_BUSINESS" in o["programs"]]
    assert business and all(o["buyer"].get("buyerCompanyName") for o in business)
    assert 0.03 < len(business) / len(orders) < 0.15
    # Without PII the buyer and recipient are absent.
    plain = world.search(
        "acme-na", marketplace_ids=None, last_updated_after=world.clock.now() - timedelta(days=2)
    )
    assert plain and all("buyer" not in o and "recipient" not in o for o in plain)


@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
def test_corrupt_order_breaks_business_rules_but_not_the_shape(how):
    clock = ManualClock()
    world = make_world(clock)
    order_id = max(world.ground_truth("acme-na").items(), key=lambda kv: kv[1])[0]
    healthy = world.get("acme-na", order_id)
    clock.advance(10)
    world.corrupt_order("acme-na", order_id, how)
    broken = world.get("acme-na", order_id)
    assert (
        broken["lastUpdatedTime"] == clock.now().strftime("%Y-%m-%dT%H:%M:%SZ") > healthy["lastUpdatedTime"]
    )
    assert validate_response("getOrder", 200, {"order": broken}) == []
    if how == "negative_quantity":
        assert broken["orderItems"][0]["quantityOrdered"] < 0
    elif how == "bad_amount":
        assert "," in broken["orderItems"][0]["product"]["price"]["unitPrice"]["amount"]
        assert "," in broken["proceeds"]["grandTotal"]["amount"]
    elif how == "missing_items":
        assert broken["orderItems"] == []
    elif how == "bad_currency":
        assert broken["proceeds"]["grandTotal"]["currencyCode"] not in {
            m.currency for m in MARKETPLACES.values()
        }
    with pytest.raises(ValueError):
        world.corrupt_order("acme-na", order_id, "upside_down")


def test_payloads_validate_and_add_up_in_every_marketplace():
    every = tuple(MARKETPLACES)
    world = OrderWorld(
        [SandboxSeller("global", "A3GLOBAL", "Atzr|g", every, orders_per_day=2.5)],
        ManualClock(),
        history_days=6,
    )
    orders = everything(world, "global")
    assert len(orders) > 250
    assert {o["salesChannel"]["marketplaceId"] for o in orders} == set(every)
    assert validate_response("searchOrders", 200, {"orders": orders}) == []
    for order in orders:
        market = get_marketplace(order["salesChannel"]["marketplaceId"])
        grand = order["proceeds"]["grandTotal"]
        assert grand["currencyCode"] == market.currency
        if market.currency == "JPY":
            assert "." not in grand["amount"]
        else:
            assert re.fullmatch(r"-?\d+\.\d{2}", grand["amount"])
        items = sum(Decimal(i["proceeds"]["proceedsTotal"]["amount"]) for i in order["orderItems"])
        parts = sum(Decimal(b["subtotal"]["amount"]) for b in order["proceeds"]["breakdowns"])
        assert Decimal(grand["amount"]) == items == parts
        assert 1 <= len(order["orderItems"]) <= 4
        assert all(1 <= i["quantityOrdered"] <= 3 for i in order["orderItems"])
        assert all(i["product"]["asin"].startswith("B0") for i in order["orderItems"])
    german = [o for o in orders if o["salesChannel"]["marketplaceId"] == "A1PA6795UKMFR9"]
    assert any(
        "Edelstahl" in i["product"]["title"] or "Bambus" in i["product"]["title"]
        for o in german
        for i in o["orderItems"]
    )


def test_replacements_point_to_their_original_and_cancellations_are_rare():
    sellers = [replace(s, orders_per_day=30) for s in demo_sellers({"acme-na": "a", "acme-eu": "b"})]
    world = OrderWorld(sellers, ManualClock())
    orders = everything(world)
    by_id = {o["orderId"]: o for o in orders}
    replacements = [o for o in orders if o["associatedOrders"]]
    assert replacements
    for order in replacements:
        (link,) = order["associatedOrders"]
        assert link["associationType"] == "REPLACEMENT_ORIGINAL_ID"
        original = by_id[link["orderId"]]
        assert original["createdTime"] < order["createdTime"]
        assert original["salesChannel"] == order["salesChannel"]
    cancelled = [o for o in orders if o["fulfillment"]["fulfillmentStatus"] == "CANCELLED"]
    assert 0.01 < len(cancelled) / len(orders) < 0.06
    assert 0.005 < len(replacements) / len(orders) < 0.04


def test_project_order_keeps_only_the_requested_datasets():
    world = make_world()
    order = everything(world)[0]
    slim = project_order(order, ["FULFILLMENT"])
    assert {"orderId", "createdTime", "lastUpdatedTime", "salesChannel", "orderItems", "fulfillment"} <= set(
        slim
    )
    assert "buyer" not in slim and "proceeds" not in slim and "recipient" not in slim
    assert all("proceeds" not in item and "fulfillment" in item for item in slim["orderItems"])
    assert project_order(order, ["BUYER", "PROCEEDS"])["buyer"] == order["buyer"]
