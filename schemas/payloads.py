"""Pydantic models of the parts of an SP-API Orders 2026-01-01 `Order` payload that sellerreach reads.

Shapes only (schemas/spapi/orders_2026-01-01.json is the source): every model keeps the fields it does not
declare (`extra="allow"`), so a payload round-trips and a field Amazon adds later is not an error. Fields the
model marks required are required here; everything else is optional because `includedData` decides what
Amazon sends. Status strings stay plain `str`: a value Amazon adds later is the expectation suites' business,
not a parse error.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

# The model's `FulfillmentStatus` enum (the expectation suite for fct_orders holds the same list as data).
FULFILLMENT_STATUSES = (
    "PENDING_AVAILABILITY",
    "PENDING",
    "UNSHIPPED",
    "PARTIALLY_SHIPPED",
    "SHIPPED",
    "CANCELLED",
    "UNFULFILLABLE",
)


class PayloadModel(BaseModel):
    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True, frozen=True)


class Money(PayloadModel):
    amount: str  # the model's `Decimal`: a string, so no precision is lost on the way in
    currency_code: str


class DateTimeRange(PayloadModel):
    earliest_date_time: AwareDatetime | None = None
    latest_date_time: AwareDatetime | None = None


class SalesChannel(PayloadModel):
    channel_name: str
    marketplace_id: str | None = None
    marketplace_name: str | None = None


class Buyer(PayloadModel):
    # personal data: these values never go into messages or logs
    buyer_name: str | None = None
    buyer_email: str | None = None
    buyer_company_name: str | None = None


class AssociatedOrder(PayloadModel):
    order_id: str | None = None
    association_type: str | None = None


class OrderProceeds(PayloadModel):
    grand_total: Money | None = None


class OrderFulfillment(PayloadModel):
    fulfillment_status: str
    fulfilled_by: str | None = None  # AMAZON or MERCHANT
    fulfillment_service_level: str | None = None
    ship_by_window: DateTimeRange | None = None
    deliver_by_window: DateTimeRange | None = None


class ItemCondition(PayloadModel):
    condition_type: str | None = None


class ItemPrice(PayloadModel):
    unit_price: Money | None = None


class ItemProduct(PayloadModel):
    asin: str | None = None
    title: str | None = None
    seller_sku: str | None = None
    condition: ItemCondition | None = None
    price: ItemPrice | None = None


class ItemProceeds(PayloadModel):
    proceeds_total: Money | None = None


class ItemPromotionBreakdown(PayloadModel):
    promotion_id: str | None = None


class ItemPromotion(PayloadModel):
    breakdowns: list[ItemPromotionBreakdown] = Field(default_factory=list)


class ItemCancellation(PayloadModel):
    cancellation_request: dict | None = None
    cancellation_execution: dict | None = None


class ItemFulfillment(PayloadModel):
    quantity_fulfilled: int | None = None
    quantity_unfulfilled: int | None = None


class OrderItem(PayloadModel):
    order_item_id: str
    quantity_ordered: int
    product: ItemProduct
    proceeds: ItemProceeds | None = None
    promotion: ItemPromotion | None = None
    cancellation: ItemCancellation | None = None
    fulfillment: ItemFulfillment | None = None


class PackageStatus(PayloadModel):
    status: str
    detailed_status: str | None = None


class OrderPackage(PayloadModel):
    package_reference_id: str
    package_status: PackageStatus | None = None
    ship_time: AwareDatetime | None = None


class Order(PayloadModel):
    order_id: str
    created_time: AwareDatetime
    last_updated_time: AwareDatetime
    programs: list[str] = Field(default_factory=list)
    associated_orders: list[AssociatedOrder] = Field(default_factory=list)
    sales_channel: SalesChannel
    buyer: Buyer | None = None
    proceeds: OrderProceeds | None = None
    fulfillment: OrderFulfillment | None = None
    order_items: list[OrderItem]
    packages: list[OrderPackage] = Field(default_factory=list)
