"""Demo data (customers, six orders, shipments with tracking events), dated relative to the moment of seeding.

`python -m commerce_api.seed` wipes every row of COMMERCE_DATABASE_URL and loads the demo data again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from commerce_api.db import Database
from commerce_api.formatting import utcnow
from commerce_api.models import (
    Customer,
    IdempotencyKey,
    Order,
    OrderItem,
    Return,
    Shipment,
    TrackingEvent,
)

log = logging.getLogger(__name__)

JANE = {"id": "cus_jane_doe", "name": "Jane Doe", "email": "jane.doe@example.com"}
SAM = {"id": "cus_sam_lee", "name": "Sam Lee", "email": "sam.lee@example.com"}
ADDRESSES = {
    "cus_jane_doe": ("Jane Doe", "12 Harbour Lane", "Portland", "97201", "US"),
    "cus_sam_lee": ("Sam Lee", "48 Elm Street", "Austin", "78701", "US"),
}
PAYMENTS = {
    "visa": ("card", "Visa", "4242"),
    "mastercard": ("card", "Mastercard", "5454"),
    "amex": ("card", "Amex", "0005"),
    "paypal": ("paypal", "PayPal", None),
}
TRACKING_4521 = "1Z999AA10123456709"
TRACKING_4523 = "1Z999AA10123456784"
TRACKING_4524 = "9400111899223197428490"
TRACKING_4526 = "771234567890"


@dataclass(frozen=True)
class ItemSpec:
    name: str
    price_cents: int
    size: str | None = None
    final_sale: bool = False


def _order(
    *,
    order_id: str,
    customer_id: str,
    status: str,
    placed_at: datetime,
    items: list[ItemSpec],
    payment: str,
    shipped_at: datetime | None = None,
    delivered_at: datetime | None = None,
    cancelled_at: datetime | None = None,
    expected_ship_date: date | None = None,
) -> Order:
    method, brand, last4 = PAYMENTS[payment]
    name, street, city, postal_code, country = ADDRESSES[customer_id]
    order = Order(
        id=order_id,
        customer_id=customer_id,
        status=status,
        placed_at=placed_at,
        shipped_at=shipped_at,
        delivered_at=delivered_at,
        cancelled_at=cancelled_at,
        expected_ship_date=expected_ship_date,
        total_cents=sum(i.price_cents for i in items),
        currency="USD",
        payment_method=method,
        payment_brand=brand,
        payment_last4=last4,
        ship_name=name,
        ship_street=street,
        ship_city=city,
        ship_postal_code=postal_code,
        ship_country=country,
    )
    order.items = [
        OrderItem(
            id=f"{order_id}-{n}",
            position=n,
            name=spec.name,
            size=spec.size,
            price_cents=spec.price_cents,
            final_sale=spec.final_sale,
        )
        for n, spec in enumerate(items, start=1)
    ]
    return order


def _shipment(
    *,
    tracking_number: str,
    carrier: str,
    status: str,
    estimated_delivery: date | None,
    events: list[tuple[datetime, str, str]],
) -> Shipment:
    shipment = Shipment(
        tracking_number=tracking_number, carrier=carrier, status=status, estimated_delivery=estimated_delivery
    )
    shipment.events = [TrackingEvent(occurred_at=t, location=loc, description=desc) for t, loc, desc in events]
    return shipment


def _delivered_events(*, shipped: datetime, delivered: datetime, origin: str, hub: str, dest: str) -> list:
    return [
        (shipped - timedelta(hours=5), origin, "Shipping label created"),
        (shipped, origin, "Picked up by carrier"),
        (shipped + (delivered - shipped) / 2, hub, "Arrived at sort facility"),
        (delivered - timedelta(hours=4), dest, "Out for delivery"),
        (delivered, dest, "Delivered, left at front door"),
    ]


def build_demo_orders(now: datetime) -> list[Order]:
    """The six demo orders as unsaved rows, with all dates computed from `now` (naive UTC)."""
    today = now.date()
    day = timedelta(days=1)
    # 4523 is anchored to calendar days so its last scan always falls on "yesterday" whatever the hour.
    yesterday0 = datetime.combine(today - day, time(0, 0))

    o4521 = _order(
        order_id="4521", customer_id="cus_jane_doe", status="delivered", payment="visa",
        placed_at=now - 9 * day, shipped_at=now - 7 * day, delivered_at=now - 5 * day,
        items=[ItemSpec("Blue Denim Jacket", 8900, size="M"), ItemSpec("Striped Scarf", 1900)],
    )  # fmt: skip
    o4521.shipment = _shipment(
        tracking_number=TRACKING_4521, carrier="UPS", status="delivered", estimated_delivery=(now - 5 * day).date(),
        events=_delivered_events(shipped=now - 7 * day, delivered=now - 5 * day,
                                 origin="Reno, NV", hub="Sacramento, CA", dest="Portland, OR"),
    )  # fmt: skip

    o4522 = _order(
        order_id="4522", customer_id="cus_jane_doe", status="processing", payment="visa",
        placed_at=now - timedelta(hours=20), expected_ship_date=today + day,
        items=[ItemSpec("Canvas Sneakers", 6500, size="9")],
    )  # fmt: skip

    shipped_4523 = yesterday0 + timedelta(hours=2)
    o4523 = _order(
        order_id="4523", customer_id="cus_jane_doe", status="shipped", payment="mastercard",
        placed_at=yesterday0 - timedelta(hours=30), shipped_at=shipped_4523,
        items=[ItemSpec("Wool Beanie", 2400)],
    )  # fmt: skip
    o4523.shipment = _shipment(
        tracking_number=TRACKING_4523, carrier="UPS", status="in_transit", estimated_delivery=today + 2 * day,
        events=[
            (shipped_4523 - timedelta(hours=6), "Reno, NV", "Shipping label created"),
            (shipped_4523, "Reno, NV", "Picked up by carrier"),
            (shipped_4523 + timedelta(hours=6), "Salt Lake City, UT", "Departed facility"),
            (yesterday0 + timedelta(hours=21, minutes=40), "Louisville, KY", "Arrived at UPS Worldport hub"),
        ],
    )  # fmt: skip

    o4524 = _order(
        order_id="4524", customer_id="cus_sam_lee", status="delivered", payment="paypal",
        placed_at=now - 52 * day, shipped_at=now - 49 * day, delivered_at=now - 45 * day,
        items=[ItemSpec("Leather Belt", 4500)],
    )  # fmt: skip
    o4524.shipment = _shipment(
        tracking_number=TRACKING_4524, carrier="USPS", status="delivered", estimated_delivery=(now - 45 * day).date(),
        events=_delivered_events(shipped=now - 49 * day, delivered=now - 45 * day,
                                 origin="Memphis, TN", hub="Dallas, TX", dest="Austin, TX"),
    )  # fmt: skip

    o4525 = _order(
        order_id="4525", customer_id="cus_sam_lee", status="cancelled", payment="paypal",
        placed_at=now - 20 * day, cancelled_at=now - 19 * day,
        items=[ItemSpec("Rain Jacket", 12000)],
    )  # fmt: skip
    o4525.cancel_reason = "Ordered by mistake"
    o4525.refund_status, o4525.refund_amount_cents = "refunded", 12000
    o4525.refund_method, o4525.refunded_at = "original_payment", now - 17 * day

    o4526 = _order(
        order_id="4526", customer_id="cus_sam_lee", status="delivered", payment="amex",
        placed_at=now - 7 * day, shipped_at=now - 5 * day, delivered_at=now - 3 * day,
        items=[ItemSpec("Linen Shirt", 5500, size="L", final_sale=True), ItemSpec("Chino Shorts", 4800, size="32")],
    )  # fmt: skip
    o4526.shipment = _shipment(
        tracking_number=TRACKING_4526, carrier="FedEx", status="delivered", estimated_delivery=(now - 3 * day).date(),
        events=_delivered_events(shipped=now - 5 * day, delivered=now - 3 * day,
                                 origin="Memphis, TN", hub="Fort Worth, TX", dest="Austin, TX"),
    )  # fmt: skip
    return [o4521, o4522, o4523, o4524, o4525, o4526]


def reset_demo_data(session: Session, *, now: datetime) -> None:
    """Delete every row (children first) and insert the demo data, inside the caller's transaction."""
    for table in (TrackingEvent, Shipment, Return, IdempotencyKey, OrderItem, Order, Customer):
        session.execute(delete(table))
    session.add_all([Customer(**JANE), Customer(**SAM)])
    session.flush()
    session.add_all(build_demo_orders(now))
    session.flush()


def reset(*, database: Database, now: datetime | None = None) -> None:
    database.create_schema()
    with database.transaction() as session:
        reset_demo_data(session, now=now or utcnow())


def seed_on_start(*, database: Database, mode: str) -> None:
    """Apply COMMERCE_SEED_ON_START: 'always' reseeds, 'if_empty' seeds only a database without orders."""
    if mode == "never":
        return
    if mode == "if_empty":
        with database.transaction() as session:
            if session.scalar(select(func.count()).select_from(Order)):
                return
    log.info("seeding demo data (%s)", mode)
    reset(database=database)


def main() -> None:
    from commerce_api.settings import Settings

    logging.basicConfig(level=logging.INFO)
    settings = Settings.from_env()
    database = Database(settings.database_url)
    try:
        reset(database=database)
    finally:
        database.dispose()
    print("demo data loaded")


if __name__ == "__main__":
    main()
