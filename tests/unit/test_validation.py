"""validate_orders with the expectation suites in schemas/expectations/.

Great Expectations takes seconds to import, so the whole module validates one mixed batch once and the
parametrised tests read that one result.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import timedelta
from importlib import resources

import pytest

from schemas.payloads import FULFILLMENT_STATUSES
from sellerreach.amazon.mapping import OrderRows, map_order
from sellerreach.marketplaces import MARKETPLACES
from sellerreach.validation import ValidationResult, load_suite_document, validate_orders

MODEL = json.loads(resources.files("schemas").joinpath("spapi", "orders_2026-01-01.json").read_text("utf-8"))
_SEARCH = MODEL["paths"]["/orders/2026-01-01/orders"]["get"]["responses"]["200"]
SEARCH_EXAMPLE = _SEARCH["examples"]["application/json"]["orders"][0]
GET_EXAMPLE = MODEL["paths"]["/orders/2026-01-01/orders/{orderId}"]["get"]["responses"]["200"]["examples"][
    "application/json"
]["order"]
JP_FBA_EXAMPLE = _SEARCH["x-amzn-api-sandbox"]["static"][0]["response"]["orders"][0]


def good_orders() -> list[OrderRows]:
    return [map_order(payload, "acct-1") for payload in (SEARCH_EXAMPLE, GET_EXAMPLE, JP_FBA_EXAMPLE)]


def broken(order_id: str, order: dict | None = None, item: dict | None = None, payload: dict = GET_EXAMPLE):
    """A payload mapped under another order id, with fct_orders or first fct_order_items values changed."""
    rows = map_order({**copy.deepcopy(payload), "orderId": order_id}, "acct-1")
    items = [dict(row) for row in rows.items]
    items[0].update(item or {})
    return replace(rows, order={**rows.order, **(order or {})}, items=items)


LAST_UPDATED = map_order(GET_EXAMPLE, "acct-1").order["last_updated_at"]
BROKEN = {
    "order id format": (
        broken("2021234567-8901235", {"amazon_order_id": "2021234567-8901235"}),
        "fct_orders.amazon_order_id: expect_column_values_to_match_regex",
    ),
    "order status outside the model's enum": (
        broken("202-0000000-0000002", {"order_status": "SHIPPED_LATE"}),
        "fct_orders.order_status: expect_column_values_to_be_in_set",
    ),
    "fulfillment channel": (
        broken("202-0000000-0000003", {"fulfillment_channel": "XFN"}),
        "fct_orders.fulfillment_channel: expect_column_values_to_be_in_set",
    ),
    "currency code format": (
        broken("202-0000000-0000004", {"currency": "gbp"}),
        "fct_orders.currency: expect_column_values_to_match_regex",
    ),
    "currency missing beside a total": (
        broken("202-0000000-0000005", {"currency": None}),
        "fct_orders.currency: expect_column_values_to_not_be_null "
        "(not null, where order_total_cents is not null)",
    ),
    "negative order total": (
        broken("202-0000000-0000006", {"order_total_cents": -1}),
        "fct_orders.order_total_cents: expect_column_values_to_be_between (min 0)",
    ),
    "purchased after last update": (
        broken("202-0000000-0000007", {"purchased_at": LAST_UPDATED + timedelta(seconds=1)}),
        "fct_orders.last_updated_at: expect_column_pair_values_a_to_be_greater_than_b "
        "(last_updated_at >= purchased_at)",
    ),
    "unknown marketplace": (
        broken("202-0000000-0000008", {"marketplace_id": "A0UNKNOWN00000"}),
        "fct_orders.marketplace_id: expect_column_values_to_be_in_set",
    ),
    "order without lines": (
        replace(broken("202-0000000-0000009", {"item_count": 0, "units_ordered": 0}), items=[]),
        "fct_orders.item_count: expect_column_values_to_be_between (min 1)",
    ),
    "item quantity 0": (
        broken("202-0000000-0000010", item={"quantity": 0}),
        "fct_order_items.quantity: expect_column_values_to_be_between (min 1, max 10000)",
    ),
    "item quantity above 10000": (
        broken("202-0000000-0000011", item={"quantity": 10001}),
        "fct_order_items.quantity: expect_column_values_to_be_between (min 1, max 10000)",
    ),
    "negative item price": (
        broken("202-0000000-0000012", item={"item_price_cents": -5}),
        "fct_order_items.item_price_cents: expect_column_values_to_be_between (min 0)",
    ),
    "asin format, on the second line": (
        replace(
            s := broken("123-0000000-0000013", payload=SEARCH_EXAMPLE),
            items=[s.items[0], {**s.items[1], "asin": "b07xj8c8f5"}],
        ),
        "fct_order_items.asin: expect_column_values_to_match_regex",
    ),
}

# Edges the suites must let through.
ALLOWED = [
    broken("202-0000000-0000101", {"order_total_cents": None, "currency": None}),  # no proceeds yet
    broken("202-0000000-0000102", item={"asin": None}),  # asin is nullable
    broken("202-0000000-0000103", {"purchased_at": LAST_UPDATED}),  # purchased and updated in the same second
    broken("202-0000000-0000104", item={"quantity": 10000, "item_price_cents": 0}),
]


@pytest.fixture(scope="module")
def mixed() -> tuple[list[OrderRows], ValidationResult]:
    batch = [*good_orders(), *ALLOWED]
    for rows, _ in BROKEN.values():
        batch.insert(len(batch) // 2, rows)  # interleave, so positions are not trivially in order
    return batch, validate_orders(batch)


def test_a_good_batch_passes() -> None:
    batch = good_orders() + ALLOWED

    result = validate_orders(batch)

    assert result.valid == batch
    assert result.rejected == []


def test_an_empty_batch_is_valid() -> None:
    assert validate_orders([]) == ValidationResult(valid=[], rejected=[])


@pytest.mark.parametrize(("rows", "reason"), BROKEN.values(), ids=BROKEN.keys())
def test_each_broken_rule_rejects_exactly_its_order(mixed, rows: OrderRows, reason: str) -> None:
    _, result = mixed

    rejected = [r for r in result.rejected if r.rows is rows]
    assert len(rejected) == 1
    assert len(rejected[0].reasons) == 1
    assert rejected[0].reasons[0].startswith(reason)
    assert rows not in result.valid


def test_a_mixed_batch_splits_into_valid_and_rejected_in_batch_order(mixed) -> None:
    batch, result = mixed
    broken_rows = [rows for rows, _ in BROKEN.values()]

    assert [id(r) for r in result.valid] == [id(r) for r in batch if all(r is not b for b in broken_rows)]
    assert [id(r.rows) for r in result.rejected] == [id(r) for r in batch if any(r is b for b in broken_rows)]
    assert len(result.valid) + len(result.rejected) == len(batch)


def test_an_order_failing_several_rules_lists_every_reason() -> None:
    rows = broken("202-0000000-0000201", {"order_status": "LOST"}, item={"quantity": 0, "asin": "short"})

    result = validate_orders([rows])

    assert result.valid == []
    assert [column.split(":")[0] for column in result.rejected[0].reasons] == [
        "fct_orders.order_status",
        "fct_order_items.quantity",
        "fct_order_items.asin",
    ]


def test_value_sets_in_the_suite_match_their_sources() -> None:
    def value_set(column: str) -> list[str]:
        (expectation,) = [
            e
            for e in load_suite_document("fct_orders")["expectations"]
            if e["type"] == "expect_column_values_to_be_in_set" and e["kwargs"]["column"] == column
        ]
        return expectation["kwargs"]["value_set"]

    assert (
        value_set("order_status")
        == MODEL["definitions"]["FulfillmentStatus"]["enum"]
        == list(FULFILLMENT_STATUSES)
    )
    assert sorted(value_set("marketplace_id")) == sorted(MARKETPLACES)
