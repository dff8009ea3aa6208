"""Realistic order payloads for tests: the vendored model's own example order, varied."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from sellerreach.amazon.models import load_model


def model_example_order() -> dict[str, Any]:
    model = load_model("orders_2026-01-01.json")
    response = model["paths"]["/orders/2026-01-01/orders"]["get"]["responses"]["200"]
    return copy.deepcopy(response["examples"]["application/json"]["orders"][0])


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def order_payload(
    n: int,
    *,
    created: datetime | None = None,
    updated: datetime | None = None,
    status: str = "SHIPPED",
    buyer_email: str | None = None,
) -> dict[str, Any]:
    """The model's example order under a new id, with its times, status and buyer changed."""
    payload = model_example_order()
    created = created or datetime(2026, 11, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=n)
    updated = updated or created + timedelta(hours=1)
    payload["orderId"] = f"{100 + n % 800:03d}-{n % 10_000_000:07d}-{(n * 7919) % 10_000_000:07d}"
    payload["createdTime"] = iso(created)
    payload["lastUpdatedTime"] = iso(updated)
    payload["fulfillment"]["fulfillmentStatus"] = status
    payload["buyer"]["buyerEmail"] = buyer_email or f"buyer{n:06d}@marketplace.amazon.com"
    return payload
