"""One SP-API `Order` payload (Orders API 2026-01-01) -> the warehouse rows it feeds.

`map_order` is the only place that knows how Amazon's order shape becomes raw_spapi_orders, fct_orders,
fct_order_items and dim_buyers rows (schemas/tables.py). It decides nothing about validity beyond "can this
be read at all": a payload that cannot be mapped raises `SkippableRecord`, whose message names the field and
the problem and never carries buyer personal data; the batch-level rules live in the expectation suites
(sellerreach/validation.py).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa
from pydantic import ValidationError

from schemas import tables as t
from schemas.payloads import Money, Order
from sellerreach.buyers import buyer_id_for
from sellerreach.errors import SkippableRecord
from sellerreach.marketplaces import MARKETPLACES, minor_units

FULFILLMENT_CHANNELS = {"AMAZON": "AFN", "MERCHANT": "MFN"}
REPLACES_ASSOCIATION_TYPES = ("REPLACEMENT_ORIGINAL_ID", "EXCHANGE_ORIGINAL_ID")

# RFC 7159 number syntax, which the model's `Decimal` follows; stricter than Decimal() (no "1_000", "NaN").
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True)
class OrderRows:
    amazon_order_id: str
    raw: dict  # raw_spapi_orders row (no loaded_at)
    order: dict  # fct_orders row (no loaded_at)
    items: list[dict]  # fct_order_items rows
    buyer: dict | None  # dim_buyers row; None when the payload has no buyerEmail
    payload_json: str = ""  # the payload's canonical JSON text, made once for the hash and reused by COPY


def canonical_json(payload: dict | list) -> str:
    """A payload's (or rows') canonical JSON: sorted keys, no spaces, so key order does not change its hash."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def payload_sha256(payload: dict) -> str:
    """sha256 hex digest of a payload's canonical JSON (sorted keys, no spaces): key order does not count."""
    return _sha256(canonical_json(payload))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def money_to_cents(amount: str, currency: str) -> int:
    """An SP-API decimal amount -> integer minor units, exactly ("24.99" EUR -> 2499, "1500" JPY -> 1500).

    Raises ValueError for a malformed amount or currency code, and for an amount with more decimals than the
    currency has minor units: rounding would lose money silently.
    """
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise ValueError("currency code must be three upper-case letters (ISO 4217)")
    if not isinstance(amount, str) or not _DECIMAL.fullmatch(amount):
        raise ValueError("amount is not a decimal number")
    units = minor_units(currency)
    scaled = Decimal(amount).scaleb(units)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"amount has more than {units} decimal places, the minor units of {currency}")
    return int(scaled)


def map_order(payload: dict, account_id: str) -> OrderRows:
    """Map one `Order` payload, as received from searchOrders or getOrder, to its warehouse rows.

    Timestamps come out as aware UTC datetimes and money as integer minor units. Raises `SkippableRecord`
    when a required field is missing or a date, amount or currency code cannot be read.
    """
    try:
        order = Order.model_validate(payload)
    except ValidationError as exc:
        raise SkippableRecord(_describe(exc)) from None

    marketplace_id = order.sales_channel.marketplace_id
    if not marketplace_id:
        raise SkippableRecord("salesChannel.marketplaceId: missing")
    fulfillment = order.fulfillment
    if fulfillment is None:
        raise SkippableRecord("fulfillment: missing (request includedData=FULFILLMENT)")
    if fulfillment.fulfilled_by not in FULFILLMENT_CHANNELS:
        raise SkippableRecord(
            f"fulfillment.fulfilledBy: {fulfillment.fulfilled_by!r} is neither AMAZON nor MERCHANT"
        )

    purchased_at = _utc(order.created_time)
    last_updated_at = _utc(order.last_updated_time)
    total_cents, currency = None, None
    if order.proceeds is not None and order.proceeds.grand_total is not None:
        total_cents, currency = _cents(order.proceeds.grand_total, "proceeds.grandTotal")

    ship_times = [_utc(p.ship_time) for p in order.packages if p.ship_time is not None]
    all_delivered = bool(order.packages) and all(
        p.package_status is not None and p.package_status.status == "DELIVERED" for p in order.packages
    )
    is_business = "AMAZON_BUSINESS" in order.programs

    buyer_email = (order.buyer.buyer_email or "").strip() if order.buyer else ""
    buyer_row = None
    buyer_id = None
    if buyer_email:
        try:
            buyer_id = buyer_id_for(buyer_email)
        except ValueError:
            raise SkippableRecord("buyer.buyerEmail: not an e-mail address") from None
        marketplace = MARKETPLACES.get(marketplace_id)
        buyer_row = {
            "buyer_id": buyer_id,
            "relay_email": buyer_email.lower(),
            "buyer_name": order.buyer.buyer_name,
            "company_name": order.buyer.buyer_company_name,
            "preferred_language": marketplace.language if marketplace else None,
            "is_business_buyer": is_business,
            "first_order_at": purchased_at,
            "last_order_at": purchased_at,
        }

    ship_by = fulfillment.ship_by_window
    deliver_by = fulfillment.deliver_by_window
    payload_json = canonical_json(payload)
    sha = _sha256(payload_json)
    order_row = {
        "amazon_order_id": order.order_id,
        "account_id": account_id,
        "marketplace_id": marketplace_id,
        "order_status": fulfillment.fulfillment_status,
        "fulfillment_channel": FULFILLMENT_CHANNELS[fulfillment.fulfilled_by],
        "fulfillment_service_level": fulfillment.fulfillment_service_level,
        "purchased_at": purchased_at,
        "last_updated_at": last_updated_at,
        "latest_ship_at": _utc(ship_by.latest_date_time) if ship_by else None,
        "shipped_at": min(ship_times) if ship_times else None,
        "earliest_delivery_at": _utc(deliver_by.earliest_date_time) if deliver_by else None,
        "latest_delivery_at": _utc(deliver_by.latest_date_time) if deliver_by else None,
        "delivered_at": last_updated_at if all_delivered else None,
        "order_total_cents": total_cents,
        "currency": currency,
        "item_count": len(order.order_items),
        "units_ordered": sum(item.quantity_ordered for item in order.order_items),
        "is_business_order": is_business,
        "is_prime": "PRIME" in order.programs,
        "is_cancelled": fulfillment.fulfillment_status == "CANCELLED",
        "replaces_order_id": next(
            (a.order_id for a in order.associated_orders if a.association_type in REPLACES_ASSOCIATION_TYPES),
            None,
        ),
        "buyer_id": buyer_id,
        "payload_sha256": sha,  # the version's hash beside it, so a load compares versions on this row alone
    }
    items = [
        _item_row(item, index, order.order_id, account_id, marketplace_id)
        for index, item in enumerate(order.order_items)
    ]
    # a new version of an order whose item rows hash the same keeps the stored ones (most status moves)
    order_row["items_sha256"] = _sha256(canonical_json(items))
    raw_row = {
        "amazon_order_id": order.order_id,
        "account_id": account_id,
        "marketplace_id": marketplace_id,
        "last_updated_at": last_updated_at,
        "payload": payload,
        "payload_sha256": sha,
    }
    _check_fits(raw_row, t.raw_spapi_orders)
    _check_fits(order_row, t.fct_orders)
    for item in items:
        _check_fits(item, t.fct_order_items)
    if buyer_row is not None:
        _check_fits(buyer_row, t.dim_buyers)
    if len({item["order_item_id"] for item in items}) != len(items):
        raise SkippableRecord("orderItems: the same orderItemId appears more than once")
    return OrderRows(
        amazon_order_id=order.order_id,
        raw=raw_row,
        order=order_row,
        items=items,
        buyer=buyer_row,
        payload_json=payload_json,
    )


def _item_row(item, index: int, amazon_order_id: str, account_id: str, marketplace_id: str) -> dict:
    where = f"orderItems[{index}]"
    unit_price = item.product.price.unit_price if item.product.price else None
    proceeds = item.proceeds.proceeds_total if item.proceeds else None
    price_cents, price_currency = (
        _cents(unit_price, f"{where}.product.price.unitPrice") if unit_price else (None, None)
    )
    proceeds_cents, proceeds_currency = (
        _cents(proceeds, f"{where}.proceeds.proceedsTotal") if proceeds else (None, None)
    )
    if price_currency and proceeds_currency and price_currency != proceeds_currency:
        raise SkippableRecord(
            f"{where}: unit price currency {price_currency} differs from proceeds currency "
            f"{proceeds_currency}"
        )
    promotion_ids = (
        [b.promotion_id for b in item.promotion.breakdowns if b.promotion_id] if item.promotion else []
    )
    return {
        "amazon_order_id": amazon_order_id,
        "order_item_id": item.order_item_id,
        "account_id": account_id,
        "marketplace_id": marketplace_id,
        "asin": item.product.asin,
        "seller_sku": item.product.seller_sku,
        "title": item.product.title,
        "category": None,  # not in the Orders model; filled from the catalogue later
        "quantity": item.quantity_ordered,
        "quantity_shipped": item.fulfillment.quantity_fulfilled if item.fulfillment else None,
        "item_price_cents": price_cents,
        "item_proceeds_cents": proceeds_cents,
        "currency": price_currency or proceeds_currency,
        "condition": item.product.condition.condition_type if item.product.condition else None,
        "is_cancelled": bool(item.cancellation and item.cancellation.cancellation_execution is not None),
        "promotion_ids": ",".join(promotion_ids) or None,
    }


def _cents(money: Money, field: str) -> tuple[int, str]:
    try:
        return money_to_cents(money.amount, money.currency_code), money.currency_code
    except ValueError as exc:
        raise SkippableRecord(f"{field}: {exc}") from None


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _describe(exc: ValidationError) -> str:
    """Field paths and problems of a pydantic error in the payload's spelling, without the input values."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"])
        path = path.lstrip(".")
        problems.append(f"{path or 'payload'}: {error['msg']}")
    return "; ".join(problems)


def _check_fits(row: dict, table: sa.Table) -> None:
    """A value longer than its column would fail the whole page's transaction; set the one record aside."""
    for column in table.columns:
        value = row.get(column.name)
        length = getattr(column.type, "length", None)
        if length and isinstance(value, str) and len(value) > length:
            raise SkippableRecord(f"{table.name}.{column.name}: longer than the column's {length} characters")
