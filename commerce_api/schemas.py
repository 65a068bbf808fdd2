"""Pydantic request/response bodies of the API (kept separate from the database tables)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ReturnReason = Literal["wrong_size", "damaged", "not_as_described", "changed_mind", "arrived_late", "other"]
RefundMethod = Literal["original_payment", "store_credit"]
IneligibleReason = Literal[
    "outside_return_window", "final_sale", "not_delivered", "already_returned", "order_cancelled"
]

ORDER_ID_PATTERN = r"^[0-9]{1,12}$"
ITEM_ID_PATTERN = r"^[0-9]{1,12}-[0-9]{1,4}$"


def _no_control_chars(value: str) -> str:
    # NUL and other control characters are never meaningful here and PostgreSQL rejects NUL in text.
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise ValueError("must not contain control characters")
    return value


# ---- requests -------------------------------------------------------------------------------------


class VerifyRequest(BaseModel):
    email: str = Field(max_length=320)


class ReturnCreate(BaseModel):
    order_id: str = Field(pattern=ORDER_ID_PATTERN)
    item_id: str = Field(pattern=ITEM_ID_PATTERN)
    reason: ReturnReason
    refund_method: RefundMethod


class CancelRequest(BaseModel):
    reason: str | None = Field(default=None, max_length=500)

    @field_validator("reason")
    @classmethod
    def reason_has_no_control_chars(cls, value: str | None) -> str | None:
        return value if value is None else _no_control_chars(value)


class AddressChange(BaseModel):
    # Lengths here only bound the payload; the real rules live in commerce_api.addresses.
    name: str | None = Field(default=None, max_length=1000)
    street: str = Field(max_length=1000)
    city: str = Field(max_length=1000)
    postal_code: str = Field(max_length=1000)
    country: str = Field(max_length=1000)


# ---- responses ------------------------------------------------------------------------------------


class CustomerOut(BaseModel):
    id: str
    name: str
    email: str


class ItemOut(BaseModel):
    item_id: str
    name: str
    size: str | None
    price: str
    final_sale: bool
    return_status: str | None
    return_id: str | None


class PaymentOut(BaseModel):
    method: Literal["card", "paypal"]
    brand: str
    last4: str | None


class AddressOut(BaseModel):
    name: str
    street: str
    city: str
    postal_code: str
    country: str


class ShipmentOut(BaseModel):
    carrier: str
    tracking_number: str


class OrderRefundOut(BaseModel):
    status: Literal["pending", "refunded"]
    amount: str
    method: str
    refunded_at: str | None


class OrderOut(BaseModel):
    order_id: str
    status: Literal["processing", "shipped", "delivered", "cancelled"]
    placed_at: str
    shipped_at: str | None
    delivered_at: str | None
    cancelled_at: str | None
    expected_ship_date: str | None
    customer: CustomerOut
    items: list[ItemOut]
    total: str
    currency: str
    payment: PaymentOut
    shipping_address: AddressOut
    shipment: ShipmentOut | None
    refund: OrderRefundOut | None


class VerifyOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"verified": True, "customer_id": "cus_jane_doe"}]})

    verified: bool
    customer_id: str | None = Field(default=None, description="Present only when verified is true.")


class EligibilityOut(BaseModel):
    eligible: bool
    reason: IneligibleReason | None
    message: str
    refund_amount: str
    currency: str
    deadline: str | None
    refund_methods: list[RefundMethod]


class ReturnOut(BaseModel):
    return_id: str
    order_id: str
    item_id: str
    item_name: str
    reason: ReturnReason
    refund_method: RefundMethod
    refund_amount: str
    currency: str
    status: str
    refund_status: Literal["pending", "refunded"]
    label_reference: str
    created_at: str
    refunded_at: str | None


class ReturnList(BaseModel):
    returns: list[ReturnOut]


class CancelRefundOut(BaseModel):
    status: Literal["pending", "refunded"]
    amount: str
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


class HealthOut(BaseModel):
    status: Literal["ok"]
    database: Literal["ok"]


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow")

    code: str
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
