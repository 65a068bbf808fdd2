"""Pydantic request/response bodies of the API (kept separate from the database tables).

docs/commerce-api.md describes every field for a shop that implements the same contract.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from commerce_api.ids import (
    ITEM_ID_PATTERN,
    ORDER_ID_PATTERN,
    PAYMENT_METHOD_ID_PATTERN,
    VARIANT_ID_PATTERN,
)

ReturnReason = Literal["wrong_size", "damaged", "not_as_described", "changed_mind", "arrived_late", "other"]
RefundMethod = Literal["original_payment", "store_credit", "gift_card"]
OrderStatus = Literal["processing", "shipped", "delivered", "cancelled"]
PaymentKind = Literal["card", "paypal", "gift_card"]
IneligibleReason = Literal[
    "outside_return_window", "final_sale", "not_delivered", "already_returned", "order_cancelled"
]
MAX_RETURN_ITEMS = 20
MAX_CHANGED_ITEMS = 20  # per exchange or item change

ItemId = Annotated[str, StringConstraints(pattern=ITEM_ID_PATTERN)]
Money = Annotated[str, Field(pattern=r"^-?[0-9]+\.[0-9]{2}$", examples=["89.00"])]


def _no_control_chars(value: str) -> str:
    # NUL and other control characters are never meaningful here and PostgreSQL rejects NUL in text.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _no_control_chars_but_whitespace(value: str) -> str:
    # Tabs and line breaks are whitespace that normalization trims or collapses; other controls are refused.
    _no_control_chars(value.translate({ord("\t"): " ", ord("\n"): " ", ord("\r"): " "}))
    return value


# ---- requests -------------------------------------------------------------------------------------


class VerifyRequest(BaseModel):
    email: str = Field(max_length=320)


class CustomerVerifyByEmail(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"email": "jane.doe@example.com"}]})

    email: str = Field(min_length=1, max_length=320)

    @field_validator("email")
    @classmethod
    def email_has_no_control_chars(cls, value: str) -> str:
        return _no_control_chars_but_whitespace(value)


class CustomerVerifyByName(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"name": "Jane Doe", "postal_code": "97201"}]}
    )

    name: str = Field(min_length=1, max_length=200)
    postal_code: str = Field(min_length=1, max_length=32)

    @field_validator("name", "postal_code")
    @classmethod
    def has_no_control_chars(cls, value: str) -> str:
        return _no_control_chars_but_whitespace(value)


CustomerVerifyRequest = CustomerVerifyByEmail | CustomerVerifyByName


class ReturnCreate(BaseModel):
    order_id: str = Field(pattern=ORDER_ID_PATTERN)
    item_ids: list[ItemId] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_RETURN_ITEMS,
        description="The items to return, 1-20 distinct ids of this order. Give this or item_id.",
    )
    item_id: str | None = Field(
        default=None, pattern=ITEM_ID_PATTERN, description="One item to return (the original shape of this call)."
    )
    reason: ReturnReason
    refund_method: RefundMethod
    gift_card_id: str | None = Field(
        default=None,
        pattern=PAYMENT_METHOD_ID_PATTERN,
        description="Required with refund_method gift_card (one of the order's customer's gift cards); else absent.",
    )

    @model_validator(mode="after")
    def one_item_shape_and_gift_card(self) -> ReturnCreate:
        if (self.item_ids is None) == (self.item_id is None):
            raise ValueError("give either item_ids or item_id")
        if self.item_ids is not None and len(set(self.item_ids)) != len(self.item_ids):
            raise ValueError("item_ids must be distinct")
        if self.refund_method == "gift_card" and self.gift_card_id is None:
            raise ValueError("gift_card_id is required when refund_method is gift_card")
        if self.refund_method != "gift_card" and self.gift_card_id is not None:
            raise ValueError("gift_card_id is only allowed when refund_method is gift_card")
        return self

    @property
    def requested_items(self) -> list[str]:
        return list(self.item_ids) if self.item_ids is not None else [self.item_id or ""]

    def fingerprint_payload(self) -> dict[str, object]:
        # Absent fields left out, so a retry of the original single-item shape hashes as it always did.
        return self.model_dump(mode="json", exclude_none=True)


class VariantChange(BaseModel):
    """One item of the order and the variant (of the same product) it should become."""

    model_config = ConfigDict(extra="forbid")

    item_id: str = Field(pattern=ITEM_ID_PATTERN)
    new_variant_id: str = Field(
        pattern=VARIANT_ID_PATTERN, description="A variant of the item's own product (GET /products/{product_id})."
    )


class _VariantChanges(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[VariantChange] = Field(
        min_length=1, max_length=MAX_CHANGED_ITEMS, description="1-20 items of the order, distinct item_ids."
    )
    payment_method_id: str | None = Field(
        default=None,
        pattern=PAYMENT_METHOD_ID_PATTERN,
        description=(
            "One of the order's customer's payment methods: charged a positive price difference, refunded a "
            "negative one. Required unless the new variants cost exactly what the items did."
        ),
    )

    @field_validator("items")
    @classmethod
    def distinct_items(cls, items: list[VariantChange]) -> list[VariantChange]:
        if len({i.item_id for i in items}) != len(items):
            raise ValueError("item_ids must be distinct")
        return items


class ExchangeCreate(_VariantChanges):
    """Exchange delivered items of an order for other variants of the same products."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"order_id": "4521", "items": [{"item_id": "4521-1", "new_variant_id": "denim-jacket-l"}],
                 "payment_method_id": "pm_jane_visa_4242"}
            ]
        },
    )

    order_id: str = Field(pattern=ORDER_ID_PATTERN)


class ItemChange(_VariantChanges):
    """Change items of an order that has not shipped to other variants of the same products."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"items": [{"item_id": "4522-1", "new_variant_id": "canvas-sneakers-10"}],
                          "payment_method_id": None}]
        },
    )


class PaymentChange(BaseModel):
    """Pay an order that has not shipped with another of the customer's payment methods."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"payment_method_id": "pm_jane_mastercard_5454"}]}
    )

    payment_method_id: str = Field(pattern=PAYMENT_METHOD_ID_PATTERN)


class CancelRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=500)

    @field_validator("reason")
    @classmethod
    def reason_has_no_control_chars(cls, value: str | None) -> str | None:
        return value if value is None else _no_control_chars(value)


class AddressFields(BaseModel):
    """The parts of a new address every address write takes (the whole address: nothing is kept)."""

    # Lengths here only bound the payload; the real rules live in commerce_api.addresses.
    street: str = Field(max_length=1000)
    address2: str | None = Field(default=None, max_length=1000, description="Apartment, suite, unit (optional).")
    city: str = Field(max_length=1000)
    state: str | None = Field(default=None, max_length=1000, description="State, province or region (optional).")
    postal_code: str = Field(max_length=1000)
    country: str = Field(max_length=1000)


class AddressChange(AddressFields):
    name: str | None = Field(default=None, max_length=1000)


class DefaultAddressChange(AddressFields):
    """The customer's saved (default) address. Its name is always the customer's own: `name` is refused."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"street": "7 Ocean Drive", "city": "Miami", "state": "FL", "postal_code": "33139",
                          "country": "US"}]
        },
    )


# ---- responses ------------------------------------------------------------------------------------


class CustomerOut(BaseModel):
    id: str
    name: str
    email: str


class ItemOut(BaseModel):
    item_id: str
    name: str
    product_id: str | None
    variant_id: str | None
    options: dict[str, str]
    size: str | None
    price: Money
    final_sale: bool
    return_status: str | None
    return_id: str | None
    exchange_status: str | None = Field(description="Status of the exchange this line is in (label_sent), else null.")
    exchange_id: str | None


class PaymentOut(BaseModel):
    method: PaymentKind
    brand: str
    last4: str | None
    payment_method_id: str | None


class AddressOut(BaseModel):
    name: str
    street: str
    address2: str | None
    city: str
    state: str | None
    postal_code: str
    country: str


class ShipmentOut(BaseModel):
    carrier: str
    tracking_number: str


class OrderRefundOut(BaseModel):
    status: Literal["pending", "refunded"]
    amount: Money
    method: str
    refunded_at: str | None


class OrderOut(BaseModel):
    order_id: str
    status: OrderStatus
    placed_at: str
    shipped_at: str | None
    delivered_at: str | None
    cancelled_at: str | None
    expected_ship_date: str | None
    customer: CustomerOut
    items: list[ItemOut]
    total: Money
    currency: str
    payment: PaymentOut
    shipping_address: AddressOut
    shipment: ShipmentOut | None
    refund: OrderRefundOut | None


class OrderList(BaseModel):
    orders: list[OrderOut]


class VerifyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"verified": True, "customer_id": "cus_jane_doe"}]})

    verified: bool
    customer_id: str | None = Field(default=None, description="Present only when verified is true.")


class PaymentMethodOut(BaseModel):
    payment_method_id: str
    method: PaymentKind
    brand: str | None
    last4: str | None
    balance: Money | None = Field(description="Remaining balance of a gift card; null for other methods.")


class CustomerDetailOut(BaseModel):
    id: str
    name: str
    email: str
    default_address: AddressOut | None = Field(description="Null when the shop has no address on file.")
    payment_methods: list[PaymentMethodOut]


class EligibilityOut(BaseModel):
    eligible: bool
    reason: IneligibleReason | None
    message: str
    refund_amount: Money
    currency: str
    deadline: str | None
    refund_methods: list[RefundMethod]


class ReturnItemOut(BaseModel):
    item_id: str
    name: str
    refund_amount: Money


class ReturnOut(BaseModel):
    return_id: str
    order_id: str
    item_id: str = Field(description="The first returned item (kept from the single-item shape).")
    item_name: str = Field(description="The first returned item's name.")
    items: list[ReturnItemOut]
    reason: ReturnReason
    refund_method: RefundMethod
    gift_card_id: str | None
    refund_amount: Money = Field(description="The total of every returned item.")
    currency: str
    status: str
    refund_status: Literal["pending", "refunded"]
    label_reference: str
    created_at: str
    refunded_at: str | None


class ReturnList(BaseModel):
    returns: list[ReturnOut]


class VariantChangeOut(BaseModel):
    """One exchanged or changed item: what it was and what it becomes."""

    item_id: str
    name: str
    old_options: dict[str, str]
    new_variant_id: str
    new_options: dict[str, str]
    old_price: Money
    new_price: Money


class ExchangeOut(BaseModel):
    exchange_id: str
    order_id: str
    status: str = Field(description="label_sent: the prepaid label for sending the items back was emailed.")
    items: list[VariantChangeOut]
    price_difference: Money = Field(
        description="Sum of new minus old prices: positive was charged to the customer, negative refunded."
    )
    payment_method_id: str | None = Field(description="What the difference was charged or refunded to.")
    label_reference: str
    created_at: str


class ExchangeList(BaseModel):
    exchanges: list[ExchangeOut]


class ItemChangeOut(BaseModel):
    order_id: str
    items: list[VariantChangeOut]
    price_difference: Money = Field(
        description="Sum of new minus old prices: positive was charged to the customer, negative refunded."
    )
    payment_method_id: str | None
    total: Money = Field(description="The order's new total.")


class PaymentChangeOut(BaseModel):
    order_id: str
    payment: PaymentOut
    total: Money


class CancelRefundOut(BaseModel):
    status: Literal["pending", "refunded"]
    amount: Money
    method: str


class CancelOut(BaseModel):
    order_id: str
    status: Literal["cancelled"]
    cancelled_at: str
    refund: CancelRefundOut
    currency: str


class AddressChangeOut(BaseModel):
    order_id: str
    shipping_address: AddressOut
    previous_address: AddressOut


class DefaultAddressChangeOut(BaseModel):
    customer_id: str
    default_address: AddressOut
    previous_address: AddressOut | None = Field(description="Null when the shop had no address on file.")


class ScanOut(BaseModel):
    location: str
    time: str


class TrackingEventOut(BaseModel):
    location: str
    time: str
    description: str


class TrackingOut(BaseModel):
    tracking_number: str
    carrier: str
    status: Literal["label_created", "in_transit", "delivered"]
    last_scan: ScanOut | None
    estimated_delivery: str | None
    events: list[TrackingEventOut]


class RefundDaysOut(BaseModel):
    min: int = Field(ge=0, description="Fewest business days until the refund arrives.")
    max: int = Field(ge=0, description="Most business days until the refund arrives.")


class PolicyOut(BaseModel):
    shop: str
    return_window_days: int
    refund_methods: list[RefundMethod]
    refund_days: dict[str, RefundDaysOut]
    cancellable_statuses: list[OrderStatus]
    address_change_statuses: list[OrderStatus]
    currency: str


class VariantOut(BaseModel):
    variant_id: str
    options: dict[str, str]
    available: bool
    price: Money


class ProductOut(BaseModel):
    product_id: str
    name: str
    variants: list[VariantOut]


class ProductList(BaseModel):
    products: list[ProductOut]


class HealthOut(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
