"""Benchmark data: the demo data plus one customer and order per benchmark session.

Runs in .venv/api (it uses the commerce API's own models and its demo-data reset,
so the rows are exactly what the API serves):

    .venv/api/bin/python -m bench.seed --database-url postgresql://... \
        --pool .data/bench/pool.json --counts track=2000,return=4000,cancel=2000,address=1500,refund=500

Every run wipes the whole commerce database (`commerce_api.seed.reset_demo_data`) and
adds the benchmark rows, so each run starts from the same data (dates relative to
now). Each order belongs to its own customer (`bench-c000123@example.com`, who verifies
with that email through `POST /customers/verify` and has this one order under
`GET /customers/{id}/orders`), with a default address (12 Harbour Lane, Portland, OR
97201) and the payment method on file that paid the order. The order is in the state
its scenario needs, its items are the demo catalogue's products and variants:

* track:   shipped, in transit with UPS, tracking number and scans
* return:  delivered 5 days ago (inside the 30-day window): Blue Denim Jacket (M) $89 + Striped Scarf $19, Visa 4242
* cancel:  processing, not shipped: Canvas Sneakers (9) $65, Visa 4242
* address: processing, not shipped: Canvas Sneakers (9) $65, Visa 4242
* refund:  cancelled and refunded: Rain Jacket $120, PayPal

The pool file lists them per scenario for the Locust file (bench/conversations.py
validates its shape).
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from sqlalchemy import insert

from commerce_api.db import Database
from commerce_api.formatting import utcnow
from commerce_api.models import Customer, Order, OrderItem, PaymentMethod, Shipment, TrackingEvent
from commerce_api.seed import reset_demo_data
from commerce_api.shopdata.demo import PRODUCTS

# The first digit of a benchmark order number says which pool it belongs to: 7-digit
# numbers, which the assistant's order-number regex (\d{4,8}) reads and the demo
# orders (4521-4526) never collide with.
ORDER_PREFIX = {"track": 1, "return": 2, "cancel": 3, "address": 4, "refund": 5}
MAX_PER_POOL = 999_999
BATCH = 5000
# Every benchmark customer's default address, and the address their order ships to.
HOME = {"street": "12 Harbour Lane", "city": "Portland", "state": "OR", "postal_code": "97201", "country": "US"}
# What paid each pool's orders: (method, brand, last4), also the customer's payment method on file.
PAYMENT = {
    "track": ("card", "Mastercard", "5454"),
    "return": ("card", "Visa", "4242"),
    "cancel": ("card", "Visa", "4242"),
    "address": ("card", "Visa", "4242"),
    "refund": ("paypal", "PayPal", None),
}
# Each pool's order lines: (demo product, size).
ITEMS: Dict[str, Tuple[Tuple[str, Optional[str]], ...]] = {
    "track": (("Wool Beanie", None),),
    "return": (("Blue Denim Jacket", "M"), ("Striped Scarf", None)),
    "cancel": (("Canvas Sneakers", "9"),),
    "address": (("Canvas Sneakers", "9"),),
    "refund": (("Rain Jacket", None),),
}
TABLES = ((Customer, "customers"), (PaymentMethod, "payment_methods"), (Order, "orders"), (OrderItem, "items"),
          (Shipment, "shipments"), (TrackingEvent, "events"))


def parse_counts(spec: str) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for part in spec.split(","):
        if not part.strip():
            continue
        name, _, value = part.strip().partition("=")
        if name not in ORDER_PREFIX:
            raise ValueError(f"unknown pool {name!r} (one of {', '.join(ORDER_PREFIX)})")
        count = int(value)
        if not 0 <= count <= MAX_PER_POOL:
            raise ValueError(f"{name}: count must be 0..{MAX_PER_POOL}")
        counts[name] = count
    return counts


def _customer_rows(n: int, pool: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """Customer number `n` of `pool` and the payment method on file that pays their order."""
    customer_id = f"cus_bench_{n:06d}"
    method, brand, last4 = PAYMENT[pool]
    customer = {"id": customer_id, "name": f"Bench Customer {n}", "email": f"bench-c{n:06d}@example.com",
                "address_street": HOME["street"], "address_line2": None, "address_city": HOME["city"],
                "address_state": HOME["state"], "address_postal_code": HOME["postal_code"],
                "address_country": HOME["country"]}
    payment = {"customer_id": customer_id, "id": f"pm_bench_{n:06d}", "position": 1, "method": method,
               "brand": brand, "last4": last4, "balance_cents": None}
    return customer, payment


def _order_row(order_id: str, customer: Dict[str, Any], payment: Dict[str, Any], now: datetime,
               **fields: Any) -> Dict[str, Any]:
    row = {
        "id": order_id, "customer_id": customer["id"], "currency": "USD",
        "placed_at": now - timedelta(days=2), "shipped_at": None, "delivered_at": None, "cancelled_at": None,
        "cancel_reason": None, "expected_ship_date": None,
        "payment_method": payment["method"], "payment_brand": payment["brand"], "payment_last4": payment["last4"],
        "payment_method_id": payment["id"],
        "ship_name": customer["name"], "ship_street": HOME["street"], "ship_address2": None,
        "ship_city": HOME["city"], "ship_state": HOME["state"], "ship_postal_code": HOME["postal_code"],
        "ship_country": HOME["country"],
        "refund_status": None, "refund_amount_cents": None, "refund_method": None, "refunded_at": None,
    }
    row.update(fields)
    return row


def _item(order_id: str, position: int, name: str, size: Optional[str] = None) -> Dict[str, Any]:
    """One order line of the demo catalogue's product `name` (its variant for `size`), at its price."""
    product = PRODUCTS[name]
    return {"order_id": order_id, "id": f"{order_id}-{position}", "position": position, "name": name,
            "product_id": product.id, "variant_id": product.variant_id(size),
            "options": {"size": size} if size else {}, "size": size, "price_cents": product.price_cents,
            "final_sale": False}


def build(counts: Dict[str, int], now: datetime) -> Dict[str, Any]:
    """The rows to insert (per table) and the pool, for `counts` customers per pool."""
    day = timedelta(days=1)
    today = now.date()
    rows: Dict[str, List[Dict[str, Any]]] = {key: [] for _, key in TABLES}
    pool: Dict[str, List[Dict[str, Any]]] = {}
    n = 0
    for name in ORDER_PREFIX:  # a fixed order, so the same counts give the same customers
        entries = pool.setdefault(name, [])
        for i in range(counts.get(name, 0)):
            n += 1
            customer, payment = _customer_rows(n, name)
            order_id = f"{ORDER_PREFIX[name]}{i:06d}"
            entry: Dict[str, Any] = {"order_id": order_id, "email": customer["email"], "customer_id": customer["id"]}
            rows["customers"].append(customer)
            rows["payment_methods"].append(payment)
            lines = [_item(order_id, position, *spec) for position, spec in enumerate(ITEMS[name], start=1)]
            rows["items"] += lines
            order = functools.partial(_order_row, order_id, customer, payment, now,
                                      total_cents=sum(line["price_cents"] for line in lines))

            if name == "track":
                shipped = now - day
                tracking = f"1ZBENCH{order_id}"
                rows["orders"].append(order(status="shipped", placed_at=shipped - day, shipped_at=shipped))
                rows["shipments"].append({"tracking_number": tracking, "order_id": order_id, "carrier": "UPS",
                                          "status": "in_transit", "estimated_delivery": today + 2 * day})
                for offset, location, description in (
                    (timedelta(hours=-6), "Reno, NV", "Shipping label created"),
                    (timedelta(0), "Reno, NV", "Picked up by carrier"),
                    (timedelta(hours=8), "Louisville, KY", "Arrived at UPS Worldport hub"),
                ):
                    rows["events"].append({"tracking_number": tracking, "occurred_at": shipped + offset,
                                           "location": location, "description": description})
                entry.update(carrier="UPS", tracking_number=tracking)
            elif name == "return":
                delivered = now - 5 * day
                tracking = f"1ZBENCH{order_id}"
                rows["orders"].append(order(status="delivered", placed_at=delivered - 4 * day,
                                            shipped_at=delivered - 2 * day, delivered_at=delivered))
                rows["shipments"].append({"tracking_number": tracking, "order_id": order_id, "carrier": "UPS",
                                          "status": "delivered", "estimated_delivery": delivered.date()})
                rows["events"].append({"tracking_number": tracking, "occurred_at": delivered,
                                       "location": "Portland, OR", "description": "Delivered, left at front door"})
                entry["items"] = [f"{product} (Size {size})" if size else product for product, size in ITEMS[name]]
            elif name in ("cancel", "address"):
                rows["orders"].append(order(status="processing", placed_at=now - timedelta(hours=20),
                                            expected_ship_date=today + day))
            elif name == "refund":
                rows["orders"].append(order(status="cancelled", placed_at=now - 20 * day,
                                            cancelled_at=now - 19 * day, cancel_reason="Ordered by mistake",
                                            refund_status="refunded", refund_amount_cents=12000,
                                            refund_method="original_payment", refunded_at=now - 17 * day))
            entries.append(entry)
    return {"rows": rows, "pool": pool}


def seed(database_url: str, counts: Dict[str, int], now: datetime | None = None) -> Dict[str, Any]:
    """Resets the database to the demo data plus the benchmark rows; returns the pool document."""
    now = now or utcnow()
    built = build(counts, now)
    rows = built["rows"]
    database = Database(database_url)
    try:
        database.create_schema()
        with database.transaction() as session:
            reset_demo_data(session, now=now)
            for model, key in TABLES:
                for start in range(0, len(rows[key]), BATCH):
                    session.execute(insert(model), rows[key][start:start + BATCH])
    finally:
        database.dispose()
    return {
        "seeded_at": now.isoformat() + "Z",
        "counts": {name: len(entries) for name, entries in built["pool"].items()},
        "sessions": built["pool"],
    }


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="the commerce API's database (COMMERCE_DATABASE_URL)")
    parser.add_argument("--pool", required=True, type=Path, help="where to write the pool (JSON)")
    parser.add_argument("--counts", default="track=200,return=200,cancel=100,address=100,refund=50",
                        help="customers per pool, e.g. track=2000,return=4000,cancel=2000,address=1500,refund=500")
    args = parser.parse_args(argv)
    began = time.monotonic()
    document = seed(args.database_url, parse_counts(args.counts))
    args.pool.parent.mkdir(parents=True, exist_ok=True)
    args.pool.write_text(json.dumps(document))
    print(f"seeded {sum(document['counts'].values())} benchmark orders {document['counts']} "
          f"in {time.monotonic() - began:.1f}s → {args.pool}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
