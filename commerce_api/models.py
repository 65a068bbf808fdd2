"""SQLAlchemy tables of the commerce API. Times are stored as naive UTC; money as integer cents."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from commerce_api.normalize import email_key, name_key


class Base(DeclarativeBase):
    pass


def _email_key_default(context: DefaultExecutionContext) -> str:
    return email_key(context.get_current_parameters()["email"])


def _name_key_default(context: DefaultExecutionContext) -> str:
    return name_key(context.get_current_parameters()["name"])


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(320))
    # Normalized look-up keys for POST /customers/verify, derived on insert (also for bulk inserts that
    # only give name and email, like bench/seed.py).
    email_key: Mapped[str] = mapped_column(String(320), index=True, default=_email_key_default)
    name_key: Mapped[str] = mapped_column(String(120), index=True, default=_name_key_default)

    # The default address (all null when the shop has none on file). Its name is the customer's.
    address_street: Mapped[str | None] = mapped_column(String(120))
    address_line2: Mapped[str | None] = mapped_column(String(120))
    address_city: Mapped[str | None] = mapped_column(String(80))
    address_state: Mapped[str | None] = mapped_column(String(80))
    address_postal_code: Mapped[str | None] = mapped_column(String(16))
    address_country: Mapped[str | None] = mapped_column(String(2))

    orders: Mapped[list[Order]] = relationship(back_populates="customer")
    payment_methods: Mapped[list[PaymentMethod]] = relationship(
        back_populates="customer", order_by="PaymentMethod.position"
    )


class PaymentMethod(Base):
    """A payment method on file: a card, a PayPal account or a gift card (which has a balance)."""

    __tablename__ = "payment_methods"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    method: Mapped[str] = mapped_column(String(16))  # card | paypal | gift_card
    brand: Mapped[str | None] = mapped_column(String(32))
    last4: Mapped[str | None] = mapped_column(String(4))
    balance_cents: Mapped[int | None] = mapped_column(Integer)  # gift cards only

    customer: Mapped[Customer] = relationship(back_populates="payment_methods")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_customer_placed", "customer_id", "placed_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # processing | shipped | delivered | cancelled
    placed_at: Mapped[datetime] = mapped_column(DateTime)
    shipped_at: Mapped[datetime | None] = mapped_column(DateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime)
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    expected_ship_date: Mapped[date | None] = mapped_column(Date)
    total_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="USD")

    # What paid, as it was at purchase time; payment_method_id points at the customer's payment method.
    payment_method: Mapped[str] = mapped_column(String(16))  # card | paypal | gift_card
    payment_brand: Mapped[str] = mapped_column(String(32))
    payment_last4: Mapped[str | None] = mapped_column(String(4))
    payment_method_id: Mapped[str | None] = mapped_column(String(64))

    ship_name: Mapped[str] = mapped_column(String(120))
    ship_street: Mapped[str] = mapped_column(String(120))
    ship_address2: Mapped[str | None] = mapped_column(String(120))
    ship_city: Mapped[str] = mapped_column(String(80))
    ship_state: Mapped[str | None] = mapped_column(String(80))
    ship_postal_code: Mapped[str] = mapped_column(String(16))
    ship_country: Mapped[str] = mapped_column(String(2))

    refund_status: Mapped[str | None] = mapped_column(String(16))  # pending | refunded
    refund_amount_cents: Mapped[int | None] = mapped_column(Integer)
    refund_method: Mapped[str | None] = mapped_column(String(32))
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime)

    customer: Mapped[Customer] = relationship(back_populates="orders")
    items: Mapped[list[OrderItem]] = relationship(back_populates="order", order_by="OrderItem.position")
    shipment: Mapped[Shipment | None] = relationship(back_populates="order")
    returns: Mapped[list[Return]] = relationship(back_populates="order", order_by="Return.created_at")


class OrderItem(Base):
    """One order line. Its id is opaque and unique only within its order (τ-bench reuses variant ids)."""

    __tablename__ = "order_items"

    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    product_id: Mapped[str | None] = mapped_column(String(64))
    variant_id: Mapped[str | None] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    size: Mapped[str | None] = mapped_column(String(32))
    price_cents: Mapped[int] = mapped_column(Integer)
    final_sale: Mapped[bool] = mapped_column(Boolean, default=False)

    order: Mapped[Order] = relationship(back_populates="items")
    return_line: Mapped[ReturnItem | None] = relationship(back_populates="item")


# Return.kind. An exchange also keeps "exchange" in the return-only columns reason and refund_method.
RETURN, EXCHANGE = "return", "exchange"


class Return(Base):
    """A return or an exchange of one or more items of one order; the items are its ReturnItem lines.

    Exchanges live here too, so that the unique (order_id, item_id) of `return_items` allows one open
    request per item whatever its kind. An exchange (kind "exchange", id EXC-XXXXXXXX) has `reason` and
    `refund_method` "exchange", `refund_status` "none", `refund_amount_cents` the value of the items sent
    back (its lines' old prices), and the price difference in `price_difference_cents`, settled on
    `payment_method_id` when the exchange was created.
    """

    __tablename__ = "returns"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # RMA-XXXXXXXX | EXC-XXXXXXXX
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default=RETURN, server_default=RETURN)  # return | exchange
    reason: Mapped[str] = mapped_column(String(32))
    refund_method: Mapped[str] = mapped_column(String(32))  # original_payment | store_credit | gift_card
    gift_card_id: Mapped[str | None] = mapped_column(String(64))
    refund_amount_cents: Mapped[int] = mapped_column(Integer)  # the sum of its lines
    status: Mapped[str] = mapped_column(String(16))  # label_sent | received
    refund_status: Mapped[str] = mapped_column(String(16))  # pending | refunded
    label_reference: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime)
    # Exchanges only: what paid (or was refunded) the price difference, and that difference (positive:
    # charged to the customer; the sum of its lines' new minus old prices).
    payment_method_id: Mapped[str | None] = mapped_column(String(64))
    price_difference_cents: Mapped[int | None] = mapped_column(Integer)

    order: Mapped[Order] = relationship(back_populates="returns")
    lines: Mapped[list[ReturnItem]] = relationship(back_populates="ret", order_by="ReturnItem.position")


class ReturnItem(Base):
    __tablename__ = "return_items"
    __table_args__ = (
        ForeignKeyConstraint(["order_id", "item_id"], ["order_items.order_id", "order_items.id"]),
        # What guarantees one return per item, even for racing requests and multi-item returns.
        UniqueConstraint("order_id", "item_id", name="uq_return_items_order_item"),
    )

    return_id: Mapped[str] = mapped_column(ForeignKey("returns.id"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(32))
    item_id: Mapped[str] = mapped_column(String(64))
    refund_amount_cents: Mapped[int] = mapped_column(Integer)  # an exchange's line: the item's (old) price
    # Exchange lines only: the variant sent instead, as it was in the catalogue when the exchange was made.
    new_variant_id: Mapped[str | None] = mapped_column(String(64))
    new_options: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new_price_cents: Mapped[int | None] = mapped_column(Integer)

    ret: Mapped[Return] = relationship(back_populates="lines")
    item: Mapped[OrderItem] = relationship(back_populates="return_line")


class Shipment(Base):
    __tablename__ = "shipments"

    tracking_number: Mapped[str] = mapped_column(String(40), primary_key=True)
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), unique=True)
    carrier: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))  # label_created | in_transit | delivered
    estimated_delivery: Mapped[date | None] = mapped_column(Date)

    order: Mapped[Order] = relationship(back_populates="shipment")
    events: Mapped[list[TrackingEvent]] = relationship(
        back_populates="shipment", order_by="TrackingEvent.occurred_at.desc()"
    )


class TrackingEvent(Base):
    __tablename__ = "tracking_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tracking_number: Mapped[str] = mapped_column(ForeignKey("shipments.tracking_number"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime)
    location: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(200))

    shipment: Mapped[Shipment] = relationship(back_populates="events")


class Product(Base):
    __tablename__ = "products"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(120), index=True)

    variants: Mapped[list[ProductVariant]] = relationship(back_populates="product", order_by="ProductVariant.position")


class ProductVariant(Base):
    __tablename__ = "product_variants"

    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), primary_key=True)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    price_cents: Mapped[int] = mapped_column(Integer)

    product: Mapped[Product] = relationship(back_populates="variants")


class ShopPolicyRow(Base):
    """The seeded shop's policy (one row): refund destinations and timings, which statuses allow what."""

    __tablename__ = "shop_policy"

    shop: Mapped[str] = mapped_column(String(32), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3))
    refund_methods: Mapped[list[str]] = mapped_column(JSON)
    refund_days: Mapped[dict[str, dict[str, int]]] = mapped_column(JSON)  # method -> {"min", "max"}
    cancellable_statuses: Mapped[list[str]] = mapped_column(JSON)
    address_change_statuses: Mapped[list[str]] = mapped_column(JSON)
    # Where items and the payment method may change; null (a row from before revision 0003): ["processing"].
    item_change_statuses: Mapped[list[str] | None] = mapped_column(JSON)


class VerifyFailure(Base):
    """One failed verification, counted against its target and its client in a rolling window.

    `subject` is a SHA-256 of "<scope>:<normalized value>", so emails, names and client keys never sit
    here in clear text.
    """

    __tablename__ = "verify_failures"
    __table_args__ = (Index("ix_verify_failures_subject_time", "subject", "failed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(16))  # order | email | name | client
    subject: Mapped[str] = mapped_column(String(64))
    failed_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class IdempotencyKey(Base):
    """One claimed Idempotency-Key and, once done, the exact response it produced."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # PK makes claiming atomic
    method: Mapped[str] = mapped_column(String(8))
    route: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # in_progress | completed
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime)
