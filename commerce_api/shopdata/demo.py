"""The demo shop of ARCHITECTURE.md: two customers, six orders, shipments with tracking events, a product
(with size variants) per demo item, and the demo policy. Dates are relative to the moment of seeding.

Some sizes cost more or less than the size sold (the jacket's S and L, the sneakers' 8 and 11) and Jane has
two gift cards, one that covers her open order and one that covers almost nothing, so exchanges and item
changes with a charge, a refund and no difference, and every payment refusal, all happen on demo data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy.orm import Session

from commerce_api.models import (
    Customer,
    Order,
    OrderItem,
    PaymentMethod,
    Product,
    ProductVariant,
    Shipment,
    TrackingEvent,
)
from commerce_api.policy import DEMO_POLICY
from commerce_api.services.shop_policy import policy_row


@dataclass(frozen=True)
class Address:
    street: str
    city: str
    state: str
    postal_code: str
    country: str = "US"


@dataclass(frozen=True)
class CustomerSpec:
    id: str
    name: str
    email: str
    address: Address
    payment_methods: tuple[str, ...]  # keys of PAYMENTS, in the order the customer keeps them


JANE = CustomerSpec(
    id="cus_jane_doe",
    name="Jane Doe",
    email="jane.doe@example.com",
    address=Address("12 Harbour Lane", "Portland", "OR", "97201"),
    payment_methods=("visa", "mastercard", "gift_card_large", "gift_card_small"),
)
SAM = CustomerSpec(
    id="cus_sam_lee",
    name="Sam Lee",
    email="sam.lee@example.com",
    address=Address("48 Elm Street", "Austin", "TX", "78701"),
    payment_methods=("paypal", "amex"),
)
CUSTOMERS = {c.id: c for c in (JANE, SAM)}

# key -> (payment method id, method, brand, last4)
PAYMENTS = {
    "visa": ("pm_jane_visa_4242", "card", "Visa", "4242"),
    "mastercard": ("pm_jane_mastercard_5454", "card", "Mastercard", "5454"),
    "gift_card_large": ("pm_jane_gift_card_7310", "gift_card", "Gift Card", None),
    "gift_card_small": ("pm_jane_gift_card_2264", "gift_card", "Gift Card", None),
    "paypal": ("pm_sam_paypal", "paypal", "PayPal", None),
    "amex": ("pm_sam_amex_0005", "card", "Amex", "0005"),
}
# Gift card balances at seeding: 100.00 covers order 4522 (65.00) and every charge of a demo exchange or item
# change; 3.00 covers none of them (4522's total, the jacket's +6.00 to size L, the sneakers' +4.00 to size 11).
BALANCES = {"gift_card_large": 10000, "gift_card_small": 300}
TRACKING_4521 = "1Z999AA10123456709"
TRACKING_4523 = "1Z999AA10123456784"
TRACKING_4524 = "9400111899223197428490"
TRACKING_4526 = "771234567890"


@dataclass(frozen=True)
class ProductSpec:
    id: str
    name: str
    price_cents: int  # every variant's price, but for the sizes in `prices`
    sizes: tuple[str, ...] = ()  # none: one variant without options
    unavailable: frozenset[str] = field(default_factory=frozenset)
    prices: dict[str, int] = field(default_factory=dict)  # size -> its own price

    def variant_id(self, size: str | None) -> str:
        return f"{self.id}-{size.lower()}" if size else f"{self.id}-one"

    def price_of(self, size: str | None) -> int:
        return self.prices.get(size or "", self.price_cents)


PRODUCTS = {
    p.name: p
    for p in (
        # The sizes sold in the demo orders (jacket M, sneakers 9) cost the base price.
        ProductSpec("denim-jacket", "Blue Denim Jacket", 8900, ("S", "M", "L", "XL"), frozenset({"XL"}),
                    prices={"S": 8400, "L": 9500, "XL": 9500}),
        ProductSpec("striped-scarf", "Striped Scarf", 1900),
        ProductSpec("canvas-sneakers", "Canvas Sneakers", 6500, ("8", "9", "10", "11"), prices={"8": 6200, "11": 6900}),
        ProductSpec("wool-beanie", "Wool Beanie", 2400),
        ProductSpec("leather-belt", "Leather Belt", 4500),
        ProductSpec("rain-jacket", "Rain Jacket", 12000, (), frozenset({""})),  # sold out since
        ProductSpec("linen-shirt", "Linen Shirt", 5500, ("S", "M", "L", "XL")),
        ProductSpec("chino-shorts", "Chino Shorts", 4800, ("30", "32", "34", "36"), frozenset({"36"})),
    )
}


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
    payment_method_id, method, brand, last4 = PAYMENTS[payment]
    customer = CUSTOMERS[customer_id]
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
        payment_method_id=payment_method_id,
        ship_name=customer.name,
        ship_street=customer.address.street,
        ship_address2=None,
        ship_city=customer.address.city,
        ship_state=customer.address.state,
        ship_postal_code=customer.address.postal_code,
        ship_country=customer.address.country,
    )
    order.items = [_item(order_id, n, spec) for n, spec in enumerate(items, start=1)]
    return order


def _item(order_id: str, position: int, spec: ItemSpec) -> OrderItem:
    product = PRODUCTS[spec.name]
    return OrderItem(
        id=f"{order_id}-{position}",
        position=position,
        name=spec.name,
        product_id=product.id,
        variant_id=product.variant_id(spec.size),
        options={"size": spec.size} if spec.size else {},
        size=spec.size,
        price_cents=spec.price_cents,
        final_sale=spec.final_sale,
    )


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


def delivered_events(
    *, shipped: datetime, delivered: datetime, origin: str, hub: str, dest: str
) -> list[tuple[datetime, str, str]]:
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
        events=delivered_events(shipped=now - 7 * day, delivered=now - 5 * day,
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
        events=delivered_events(shipped=now - 49 * day, delivered=now - 45 * day,
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
        events=delivered_events(shipped=now - 5 * day, delivered=now - 3 * day,
                                origin="Memphis, TN", hub="Fort Worth, TX", dest="Austin, TX"),
    )  # fmt: skip
    return [o4521, o4522, o4523, o4524, o4525, o4526]


def build_customers() -> list[Customer]:
    customers = []
    for spec in CUSTOMERS.values():
        customer = Customer(
            id=spec.id,
            name=spec.name,
            email=spec.email,
            address_street=spec.address.street,
            address_city=spec.address.city,
            address_state=spec.address.state,
            address_postal_code=spec.address.postal_code,
            address_country=spec.address.country,
        )
        customer.payment_methods = [
            PaymentMethod(id=PAYMENTS[key][0], position=n, method=PAYMENTS[key][1], brand=PAYMENTS[key][2],
                          last4=PAYMENTS[key][3], balance_cents=BALANCES.get(key))
            for n, key in enumerate(spec.payment_methods, start=1)
        ]  # fmt: skip
        customers.append(customer)
    return customers


def build_products() -> list[Product]:
    products = []
    for spec in PRODUCTS.values():
        product = Product(id=spec.id, name=spec.name)
        sizes: tuple[str | None, ...] = spec.sizes or (None,)
        product.variants = [
            ProductVariant(
                id=spec.variant_id(size),
                position=n,
                options={"size": size} if size else {},
                available=(size or "") not in spec.unavailable,
                price_cents=spec.price_of(size),
            )
            for n, size in enumerate(sizes, start=1)
        ]
        products.append(product)
    return products


def load(session: Session, *, now: datetime, shops_dir: Path | None = None) -> None:
    """Insert the demo shop (into empty tables) inside the caller's transaction."""
    del shops_dir  # the demo's data is this module
    session.add(policy_row(DEMO_POLICY))
    session.add_all(build_customers())
    session.add_all(build_products())
    session.flush()
    session.add_all(build_demo_orders(now))
    session.flush()
