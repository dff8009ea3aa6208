"""map_order on the Orders API 2026-01-01 model's own examples (schemas/spapi/orders_2026-01-01.json)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from importlib import resources

import pytest

from schemas import tables
from sellerreach.amazon.mapping import OrderRows, map_order, money_to_cents, payload_sha256
from sellerreach.buyers import buyer_id_for
from sellerreach.errors import SkippableRecord

ACCOUNT = "acct-eu-1"
PII = ("buyer-email@", "John Smith", "James Wilson", "123 Main Street", "Smith Industries")


def _model() -> dict:
    return json.loads(
        resources.files("schemas").joinpath("spapi", "orders_2026-01-01.json").read_text("utf-8")
    )


MODEL = _model()
_SEARCH = MODEL["paths"]["/orders/2026-01-01/orders"]["get"]["responses"]["200"]
_GET = MODEL["paths"]["/orders/2026-01-01/orders/{orderId}"]["get"]["responses"]["200"]
# searchOrders' documented example: US, MFN, Prime + Business, a replacement, every package delivered
SEARCH_EXAMPLE = _SEARCH["examples"]["application/json"]["orders"][0]
# getOrder's documented example: UK, MFN, one package in transit
GET_EXAMPLE = _GET["examples"]["application/json"]["order"]
# searchOrders' sandbox case for the JP marketplace: FBA, JPY (no minor units)
JP_FBA_EXAMPLE = _SEARCH["x-amzn-api-sandbox"]["static"][0]["response"]["orders"][0]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def variant(payload: dict, change) -> dict:
    changed = copy.deepcopy(payload)
    change(changed)
    return changed


def _cancel(p: dict) -> None:
    p["fulfillment"]["fulfillmentStatus"] = "CANCELLED"
    p["packages"] = []
    del p["proceeds"]


def _without_buyer(p: dict) -> None:
    del p["buyer"]


def _exchange(p: dict) -> None:
    p["associatedOrders"] = [{"orderId": "202-1111111-2222222", "associationType": "EXCHANGE_ORIGINAL_ID"}]


def _delivered(p: dict) -> None:
    p["packages"][0]["packageStatus"] = {"status": "DELIVERED", "detailedStatus": "DELIVERED"}


CASES = {
    "search example: MFN replacement, delivered, business prime": (
        SEARCH_EXAMPLE,
        {
            "amazon_order_id": "123-4567890-1234567",
            "account_id": ACCOUNT,
            "marketplace_id": "ATVPDKIKX0DER",
            "order_status": "SHIPPED",
            "fulfillment_channel": "MFN",
            "fulfillment_service_level": "STANDARD",
            "purchased_at": at("2024-12-25T10:30:00"),
            "last_updated_at": at("2024-12-25T14:45:00"),
            "latest_ship_at": at("2024-12-27T23:59:59"),
            "shipped_at": at("2024-12-25T14:00:00"),
            "earliest_delivery_at": at("2024-12-28T00:00:00"),
            "latest_delivery_at": at("2024-12-30T23:59:59"),
            "delivered_at": at("2024-12-25T14:45:00"),
            "order_total_cents": 15499,
            "currency": "USD",
            "item_count": 2,
            "units_ordered": 3,
            "is_business_order": True,
            "is_prime": True,
            "is_cancelled": False,
            "replaces_order_id": "123-4567890-1234566",
            "buyer_id": buyer_id_for("buyer-email@marketplace.amazon.com"),
        },
        [
            {
                "order_item_id": "12345678901234",
                "asin": "B08N5WRWNW",
                "seller_sku": "ECHO-DOT-4-CHARCOAL",
                "title": "Echo Dot (4th Gen) | Smart speaker with Alexa | Charcoal",
                "category": None,
                "quantity": 2,
                "quantity_shipped": 2,
                "item_price_cents": 4999,
                "item_proceeds_cents": 10000,
                "currency": "USD",
                "condition": "NEW",
                "is_cancelled": True,  # the example carries a cancellationExecution
                "promotion_ids": "PROMO-HOLIDAY-2024",
            },
            {
                "order_item_id": "12345678901235",
                "asin": "B07XJ8C8F5",
                "seller_sku": "FIRE-TV-4K-2021",
                "title": "Fire TV Stick 4K with Alexa Voice Remote",
                "category": None,
                "quantity": 1,
                "quantity_shipped": 1,
                "item_price_cents": 4999,
                "item_proceeds_cents": 4999,
                "currency": "USD",
                "condition": "NEW",
                "is_cancelled": False,
                "promotion_ids": None,
            },
        ],
        {
            "buyer_id": buyer_id_for("buyer-email@marketplace.amazon.com"),
            "relay_email": "buyer-email@marketplace.amazon.com",
            "buyer_name": "John Smith",
            "company_name": "Smith Industries LLC",
            "preferred_language": "en-US",
            "is_business_buyer": True,
            "first_order_at": at("2024-12-25T10:30:00"),
            "last_order_at": at("2024-12-25T10:30:00"),
        },
    ),
    "getOrder example: MFN in transit, not delivered": (
        GET_EXAMPLE,
        {
            "amazon_order_id": "202-1234567-8901234",
            "account_id": ACCOUNT,
            "marketplace_id": "A1F83G8C2ARO7P",
            "order_status": "SHIPPED",
            "fulfillment_channel": "MFN",
            "fulfillment_service_level": "STANDARD",
            "purchased_at": at("2024-12-25T09:15:00"),
            "last_updated_at": at("2024-12-25T16:30:00"),
            "latest_ship_at": at("2024-12-26T23:59:59"),
            "shipped_at": at("2024-12-26T14:00:00"),
            "earliest_delivery_at": at("2024-12-27T00:00:00"),
            "latest_delivery_at": at("2024-12-30T23:59:59"),
            "delivered_at": None,
            "order_total_cents": 10397,
            "currency": "GBP",
            "item_count": 1,
            "units_ordered": 3,
            "is_business_order": False,
            "is_prime": True,
            "is_cancelled": False,
            "replaces_order_id": None,
            "buyer_id": buyer_id_for("buyer-email@marketplace.amazon.co.uk"),
        },
        [
            {
                "order_item_id": "20212345678901",
                "asin": "B08DFPV54V",
                "seller_sku": "ECHO-DOT-4-UK-CHARCOAL-3PACK",
                "title": "Echo Dot (4th Gen) | Smart speaker with Alexa | Charcoal",
                "category": None,
                "quantity": 3,
                "quantity_shipped": 3,
                "item_price_cents": 2999,
                "item_proceeds_cents": 10397,
                "currency": "GBP",
                "condition": "NEW",
                "is_cancelled": False,
                "promotion_ids": "UK-BOXING-DAY-2024",
            }
        ],
        {
            "buyer_id": buyer_id_for("buyer-email@marketplace.amazon.co.uk"),
            "relay_email": "buyer-email@marketplace.amazon.co.uk",
            "buyer_name": "James Wilson",
            "company_name": None,
            "preferred_language": "en-GB",
            "is_business_buyer": False,
            "first_order_at": at("2024-12-25T09:15:00"),
            "last_order_at": at("2024-12-25T09:15:00"),
        },
    ),
    "JP sandbox: FBA without buyer, JPY": (
        variant(JP_FBA_EXAMPLE, _without_buyer),
        {
            "amazon_order_id": "250-1234567-8901234",
            "account_id": ACCOUNT,
            "marketplace_id": "A1VC38T7YXB528",
            "order_status": "SHIPPED",
            "fulfillment_channel": "AFN",
            "fulfillment_service_level": "STANDARD",
            "purchased_at": at("2024-12-25T02:30:00"),
            "last_updated_at": at("2024-12-25T06:45:00"),
            "latest_ship_at": at("2024-12-25T23:59:59"),
            "shipped_at": None,
            "earliest_delivery_at": None,
            "latest_delivery_at": None,
            "delivered_at": None,
            "order_total_cents": 19940,
            "currency": "JPY",
            "item_count": 2,
            "units_ordered": 3,
            "is_business_order": False,
            "is_prime": True,
            "is_cancelled": False,
            "replaces_order_id": None,
            "buyer_id": None,
        },
        [
            {
                "order_item_id": "25012345678901",
                "asin": "B08C1W5N87",
                "seller_sku": "ECHO-DOT-4-JP-CHARCOAL",
                "title": JP_FBA_EXAMPLE["orderItems"][0]["product"]["title"],
                "category": None,
                "quantity": 1,
                "quantity_shipped": 1,
                "item_price_cents": 5980,
                "item_proceeds_cents": 5980,
                "currency": "JPY",
                "condition": "NEW",
                "is_cancelled": False,
                "promotion_ids": "JP-WINTER-SALE-2024",
            },
            {
                "order_item_id": "25012345678902",
                "asin": "B07PFFMP9P",
                "seller_sku": "FIRE-TV-4K-MAX-JP",
                "title": JP_FBA_EXAMPLE["orderItems"][1]["product"]["title"],
                "category": None,
                "quantity": 2,
                "quantity_shipped": JP_FBA_EXAMPLE["orderItems"][1]["fulfillment"]["quantityFulfilled"],
                "item_price_cents": 6980,
                "item_proceeds_cents": 13960,
                "currency": "JPY",
                "condition": "NEW",
                "is_cancelled": False,
                "promotion_ids": None,
            },
        ],
        None,
    ),
}


@pytest.mark.parametrize(("payload", "order", "items", "buyer"), CASES.values(), ids=CASES.keys())
def test_maps_every_column(payload: dict, order: dict, items: list[dict], buyer: dict | None) -> None:
    rows = map_order(payload, ACCOUNT)

    assert isinstance(rows, OrderRows)
    assert rows.amazon_order_id == order["amazon_order_id"]
    # items_sha256's own rules: test_items_hash_changes_with_the_item_rows_only
    items_sha256 = rows.order["items_sha256"]
    assert rows.order == {**order, "payload_sha256": payload_sha256(payload), "items_sha256": items_sha256}
    common = {
        "amazon_order_id": order["amazon_order_id"],
        "account_id": ACCOUNT,
        "marketplace_id": order["marketplace_id"],
    }
    assert rows.items == [{**common, **item} for item in items]
    assert rows.buyer == buyer
    assert rows.raw == {
        "amazon_order_id": order["amazon_order_id"],
        "account_id": ACCOUNT,
        "marketplace_id": order["marketplace_id"],
        "last_updated_at": order["last_updated_at"],
        "payload": payload,
        "payload_sha256": payload_sha256(payload),
    }


@pytest.mark.parametrize(
    "payload", [SEARCH_EXAMPLE, GET_EXAMPLE, JP_FBA_EXAMPLE], ids=["search", "get", "jp"]
)
def test_rows_use_exactly_the_warehouse_columns(payload: dict) -> None:
    rows = map_order(payload, ACCOUNT)

    def columns(table) -> set[str]:
        return {c.name for c in table.columns} - {"loaded_at"}

    assert set(rows.raw) == columns(tables.raw_spapi_orders)
    assert set(rows.order) == columns(tables.fct_orders)
    assert all(set(item) == columns(tables.fct_order_items) for item in rows.items)
    # the segmentation's columns of dim_buyers are written by segment_buyers, not by the order mapping
    segmentation = {c.name for c in tables.FEATURE_COLUMNS} | {"segment", "features_computed_at"}
    assert rows.buyer is None or set(rows.buyer) == columns(tables.dim_buyers) - segmentation
    stamps = [v for v in (*rows.order.values(), rows.raw["last_updated_at"]) if isinstance(v, datetime)]
    assert stamps and all(v.utcoffset() is not None and v.utcoffset().total_seconds() == 0 for v in stamps)


VARIANTS = {
    "cancelled order, no proceeds": (
        variant(GET_EXAMPLE, _cancel),
        {
            "order_status": "CANCELLED",
            "is_cancelled": True,
            "order_total_cents": None,
            "currency": None,
            "shipped_at": None,
            "delivered_at": None,
        },
    ),
    "exchange replaces the original order": (
        variant(GET_EXAMPLE, _exchange),
        {"replaces_order_id": "202-1111111-2222222"},
    ),
    "delivered MFN: every package DELIVERED": (
        variant(GET_EXAMPLE, _delivered),
        {"fulfillment_channel": "MFN", "delivered_at": at("2024-12-25T16:30:00")},
    ),
    "one of two packages still in transit": (
        variant(
            SEARCH_EXAMPLE,
            lambda p: p["packages"].append(
                {
                    **p["packages"][0],
                    "packageReferenceId": "PKG-2",
                    "shipTime": "2024-12-25T13:00:00Z",
                    "packageStatus": {"status": "IN_TRANSIT"},
                }
            ),
        ),
        {"delivered_at": None, "shipped_at": at("2024-12-25T13:00:00")},
    ),
    "blank buyer e-mail counts as no buyer": (
        variant(GET_EXAMPLE, lambda p: p["buyer"].update(buyerEmail="")),
        {"buyer_id": None},
    ),
    "offsets are converted to UTC": (
        variant(GET_EXAMPLE, lambda p: p.update(createdTime="2024-12-25T18:15:00+09:00")),
        {"purchased_at": at("2024-12-25T09:15:00")},
    ),
}


@pytest.mark.parametrize(("payload", "expected"), VARIANTS.values(), ids=VARIANTS.keys())
def test_order_variants(payload: dict, expected: dict) -> None:
    rows = map_order(payload, ACCOUNT)

    assert {column: rows.order[column] for column in expected} == expected


def test_mixed_case_relay_address_is_lower_cased_and_hashed_alike() -> None:
    payload = variant(
        GET_EXAMPLE, lambda p: p["buyer"].update(buyerEmail="Buyer-Email@Marketplace.Amazon.co.uk")
    )

    rows = map_order(payload, ACCOUNT)

    assert rows.buyer["relay_email"] == "buyer-email@marketplace.amazon.co.uk"
    assert (
        rows.order["buyer_id"]
        == rows.buyer["buyer_id"]
        == buyer_id_for("buyer-email@marketplace.amazon.co.uk")
    )


def _set(path: str, value):
    def change(p: dict) -> None:
        *parents, last = path.split(".")
        node = p
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is _DELETE:
            del node[last]
        else:
            node[last] = value

    return change


_DELETE = object()

UNMAPPABLE = {
    "unparseable createdTime": ("createdTime", "not a date", "createdTime"),
    "createdTime without a zone": ("createdTime", "2024-12-25T10:30:00", "createdTime"),
    "unparseable ship time": ("packages.0.shipTime", "25/12/2024", "packages[0].shipTime"),
    "unparseable grand total": ("proceeds.grandTotal.amount", "154,99", "proceeds.grandTotal"),
    "amount with too many decimals": (
        "orderItems.1.product.price.unitPrice.amount",
        "49.999",
        "orderItems[1].product.price.unitPrice",
    ),
    "lower-case currency code": ("proceeds.grandTotal.currencyCode", "usd", "proceeds.grandTotal"),
    "missing orderId": ("orderId", _DELETE, "orderId"),
    "missing quantityOrdered": ("orderItems.0.quantityOrdered", _DELETE, "orderItems[0].quantityOrdered"),
    "missing marketplace id": ("salesChannel.marketplaceId", _DELETE, "salesChannel.marketplaceId"),
    "missing fulfillment": ("fulfillment", _DELETE, "fulfillment"),
    "unknown fulfilledBy": ("fulfillment.fulfilledBy", "PARTNER", "fulfillment.fulfilledBy"),
    "buyer e-mail without @": ("buyer.buyerEmail", "John Smith", "buyer.buyerEmail"),
}


@pytest.mark.parametrize(("path", "value", "field"), UNMAPPABLE.values(), ids=UNMAPPABLE.keys())
def test_unmappable_payload_is_skippable_naming_the_field_not_the_buyer(path: str, value, field: str) -> None:
    payload = variant(SEARCH_EXAMPLE, _set(path, value))

    with pytest.raises(SkippableRecord) as raised:
        map_order(payload, ACCOUNT)

    message = str(raised.value)
    assert message.startswith(field) or f"; {field}" in message
    assert not any(pii in message for pii in PII)


@pytest.mark.parametrize(
    ("amount", "currency", "cents"),
    [
        ("24.99", "EUR", 2499),
        ("1500", "JPY", 1500),
        ("0.10", "USD", 10),
        ("24.990", "EUR", 2499),
        ("-3.50", "GBP", -350),
        ("0", "USD", 0),
        ("19940", "JPY", 19940),
        ("1e2", "USD", 10000),
        ("123456789012.34", "USD", 12345678901234),
    ],
)
def test_money_to_cents_is_exact(amount: str, currency: str, cents: int) -> None:
    assert money_to_cents(amount, currency) == cents


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("24.999", "EUR"),
        ("1500.5", "JPY"),
        ("abc", "USD"),
        ("", "USD"),
        ("NaN", "USD"),
        ("Infinity", "USD"),
        ("1_000", "USD"),
        ("12,50", "EUR"),
        ("24.99", "EURO"),
        ("24.99", "eur"),
    ],
)
def test_money_to_cents_refuses_to_lose_or_guess_money(amount: str, currency: str) -> None:
    with pytest.raises(ValueError):
        money_to_cents(amount, currency)


def test_payload_hash_is_stable_under_key_order() -> None:
    reordered = json.loads(json.dumps(SEARCH_EXAMPLE, sort_keys=True))
    reversed_keys = _reverse_keys(SEARCH_EXAMPLE)

    assert list(reversed_keys) != list(SEARCH_EXAMPLE)
    assert payload_sha256(SEARCH_EXAMPLE) == payload_sha256(reordered) == payload_sha256(reversed_keys)
    assert payload_sha256(SEARCH_EXAMPLE) != payload_sha256(variant(SEARCH_EXAMPLE, _exchange))
    assert len(payload_sha256(SEARCH_EXAMPLE)) == 64


def _ship_first_item_again(p: dict) -> None:
    p["orderItems"][0]["fulfillment"]["quantityFulfilled"] += 1


def _new_status_and_time(p: dict) -> None:
    p["fulfillment"]["fulfillmentStatus"] = "DELIVERED"
    p["lastUpdatedTime"] = "2025-01-10T00:00:00Z"


def test_items_hash_changes_with_the_item_rows_only() -> None:
    def items_hash(payload: dict) -> str:
        return map_order(payload, ACCOUNT).order["items_sha256"]

    same_items = [variant(SEARCH_EXAMPLE, change) for change in (_new_status_and_time, _exchange, _delivered)]
    assert {items_hash(p) for p in same_items} == {items_hash(SEARCH_EXAMPLE)}
    assert items_hash(_reverse_keys(SEARCH_EXAMPLE)) == items_hash(SEARCH_EXAMPLE)
    assert items_hash(variant(SEARCH_EXAMPLE, _ship_first_item_again)) != items_hash(SEARCH_EXAMPLE)
    one_item = variant(SEARCH_EXAMPLE, lambda p: p["orderItems"].pop())
    assert items_hash(one_item) != items_hash(SEARCH_EXAMPLE)
    # the rows carry the account: the same order under another account is another set of rows
    assert map_order(SEARCH_EXAMPLE, "acme-eu").order["items_sha256"] != items_hash(SEARCH_EXAMPLE)
    assert len(items_hash(SEARCH_EXAMPLE)) == 64


def _reverse_keys(value):
    if isinstance(value, dict):
        return {key: _reverse_keys(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reverse_keys(v) for v in value]
    return value


def test_mapping_does_not_change_the_payload() -> None:
    payload = copy.deepcopy(SEARCH_EXAMPLE)

    rows = map_order(payload, ACCOUNT)

    assert payload == SEARCH_EXAMPLE
    assert rows.raw["payload"] is payload


def test_a_duplicate_order_item_id_is_set_aside_not_loaded():
    payload = copy.deepcopy(SEARCH_EXAMPLE)
    payload["orderItems"][1]["orderItemId"] = payload["orderItems"][0]["orderItemId"]
    with pytest.raises(SkippableRecord, match="orderItemId appears more than once"):
        map_order(payload, "acme-na")


def test_a_value_longer_than_its_column_is_set_aside_without_showing_it():
    payload = copy.deepcopy(SEARCH_EXAMPLE)
    payload["orderItems"][0]["product"]["sellerSku"] = "SKU-" + "X" * 80
    with pytest.raises(SkippableRecord) as raised:
        map_order(payload, "acme-na")
    assert "fct_order_items.seller_sku" in str(raised.value) and "XXXX" not in str(raised.value)
