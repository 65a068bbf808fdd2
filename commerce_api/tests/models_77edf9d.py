# The commerce API's models as the last release before migrations shipped them:
# `git show 77edf9d:commerce_api/models.py`, verbatim. test_migrations.py builds "a database that release made"
# with its create_all.
"""SQLAlchemy tables of the commerce API. Times are stored as naive UTC; money as integer cents."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    email: Mapped[str] = mapped_column(String(320))

    orders: Mapped[list[Order]] = relationship(back_populates="customer")


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[str] = mapped_column(String(12), primary_key=True)
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

    payment_method: Mapped[str] = mapped_column(String(16))  # card | paypal
    payment_brand: Mapped[str] = mapped_column(String(32))
    payment_last4: Mapped[str | None] = mapped_column(String(4))

    ship_name: Mapped[str] = mapped_column(String(120))
    ship_street: Mapped[str] = mapped_column(String(120))
    ship_city: Mapped[str] = mapped_column(String(80))
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
    __tablename__ = "order_items"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)  # "<order id>-<n>"
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(120))
    size: Mapped[str | None] = mapped_column(String(16))
    price_cents: Mapped[int] = mapped_column(Integer)
    final_sale: Mapped[bool] = mapped_column(Boolean, default=False)

    order: Mapped[Order] = relationship(back_populates="items")
    return_request: Mapped[Return | None] = relationship(back_populates="item")


class Return(Base):
    __tablename__ = "returns"

    id: Mapped[str] = mapped_column(String(16), primary_key=True)  # RMA-XXXXXXXX
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    # unique=True is what guarantees one return per item, even for racing requests.
    item_id: Mapped[str] = mapped_column(ForeignKey("order_items.id"), unique=True)
    reason: Mapped[str] = mapped_column(String(32))
    refund_method: Mapped[str] = mapped_column(String(32))
    refund_amount_cents: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))  # label_sent | received
    refund_status: Mapped[str] = mapped_column(String(16))  # pending | refunded
    label_reference: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(DateTime)

    order: Mapped[Order] = relationship(back_populates="returns")
    item: Mapped[OrderItem] = relationship(back_populates="return_request")


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
