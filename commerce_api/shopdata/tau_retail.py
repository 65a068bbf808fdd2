"""The τ-bench retail shop (shops/tau-retail/db.json, MIT): 500 customers, 1,000 orders, 50 products.

The data has no dates and no carrier scans. They are derived here, deterministically: every number comes
from SHA-256 of "<field>:<order id>" (or of the tracking id, for the carrier), never from Python's hash()
or a random generator, and is counted back from the moment of seeding. Seeding twice at the same `now`
gives identical rows. shops/tau-retail/README.md states the rules; keep the two in step.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
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
from commerce_api.policy import RefundDays, ShopPolicy
from commerce_api.services.shop_policy import policy_row
from commerce_api.shopdata.demo import delivered_events

SHOP_DIR = "tau-retail"
DATA_FILE = "db.json"
BATCH = 1000

# τ-bench's own tools: a refund to a gift card is added to its balance immediately; one to any other
# payment method takes 5-7 business days. Returns may go back to the original payment method or to a
# gift card the customer already has (no store credit).
TAU_POLICY = ShopPolicy(
    shop="tau-retail",
    refund_methods=("original_payment", "gift_card"),
    refund_days={"original_payment": RefundDays(5, 7), "gift_card": RefundDays(0, 0)},
)

STATUS = {"pending": "processing", "processed": "shipped", "delivered": "delivered", "cancelled": "cancelled"}
PAYMENT_KIND = {"credit_card": "card", "paypal": "paypal", "gift_card": "gift_card"}
COUNTRY = {"USA": "US"}
CARRIERS = ("UPS", "FedEx", "USPS")
WAREHOUSES = ("Columbus, OH", "Reno, NV", "Memphis, TN", "Allentown, PA", "Fort Worth, TX")
HUBS = ("Louisville, KY", "Indianapolis, IN", "Chicago, IL", "Kansas City, MO", "Atlanta, GA", "Denver, CO")

DELIVERED_WITHIN_DAYS = 60
PENDING_WITHIN_HOURS = 47


def draw(field: str, key: str, modulo: int) -> int:
    """A stable number in [0, modulo) for `field` of `key` (an order or tracking id)."""
    digest = hashlib.sha256(f"{field}:{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % modulo


def cents(amount: float) -> int:
    return round(amount * 100)


def read_data(shops_dir: Path) -> dict[str, Any]:
    path = Path(shops_dir) / SHOP_DIR / DATA_FILE
    if not path.is_file():
        raise FileNotFoundError(f"τ-bench data not found at {path} (COMMERCE_SHOPS_DIR points at the shops/ folder)")
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def full_name(user: dict[str, Any]) -> str:
    return f"{user['name']['first_name']} {user['name']['last_name']}"


def payment_method_row(customer_id: str, position: int, raw: dict[str, Any]) -> dict[str, Any]:
    kind = PAYMENT_KIND[raw["source"]]
    brand = {"card": str(raw.get("brand", "")).title() or None, "paypal": "PayPal", "gift_card": "Gift Card"}[kind]
    return {
        "customer_id": customer_id,
        "id": raw["id"],
        "position": position,
        "method": kind,
        "brand": brand,
        "last4": raw.get("last_four") if kind == "card" else None,
        "balance_cents": cents(raw["balance"]) if kind == "gift_card" else None,
    }


def line_ids(items: list[dict[str, Any]]) -> list[str]:
    """One opaque id per order line: the variant id, suffixed -2, -3 … for repeats of it in the order."""
    seen: Counter[str] = Counter()
    ids = []
    for item in items:
        seen[item["item_id"]] += 1
        n = seen[item["item_id"]]
        ids.append(item["item_id"] if n == 1 else f"{item['item_id']}-{n}")
    return ids


def order_dates(order_id: str, status: str, now: datetime) -> dict[str, Any]:
    """placed/shipped/delivered/cancelled/refunded times and dates of one order (rules: the README)."""
    day, hour = timedelta(days=1), timedelta(hours=1)
    today = now.date()
    if status == "delivered":
        delivered = now - (1 + draw("delivered_days_ago", order_id, DELIVERED_WITHIN_DAYS)) * day
        delivered -= draw("delivered_hour", order_id, 12) * hour
        shipped = delivered - (2 + draw("transit_days", order_id, 4)) * day
        placed = shipped - (1 + draw("handling_days", order_id, 2)) * day - draw("placed_hour", order_id, 12) * hour
        return {"placed_at": placed, "shipped_at": shipped, "delivered_at": delivered, "eta": delivered.date()}
    if status == "processed":
        shipped = now - (1 + draw("shipped_days_ago", order_id, 3)) * day - draw("shipped_hour", order_id, 12) * hour
        placed = shipped - (1 + draw("handling_days", order_id, 2)) * day - draw("placed_hour", order_id, 12) * hour
        eta = today + (1 + draw("eta_days", order_id, 4)) * day
        return {"placed_at": placed, "shipped_at": shipped, "eta": eta}
    if status == "pending":
        placed = now - (1 + draw("placed_hours_ago", order_id, PENDING_WITHIN_HOURS)) * hour
        return {"placed_at": placed, "expected_ship_date": today + (1 + draw("ship_days", order_id, 2)) * day}
    if status == "cancelled":
        placed = now - (5 + draw("placed_days_ago", order_id, 26)) * day - draw("placed_hour", order_id, 12) * hour
        cancelled = placed + (1 + draw("cancelled_after_hours", order_id, 12)) * hour
        refunded = cancelled + (1 + draw("refunded_after_days", order_id, 3)) * day
        return {"placed_at": placed, "cancelled_at": cancelled, "refunded_at": refunded}
    raise ValueError(f"order {order_id}: unknown τ-bench status {status!r}")


def shipment_rows(
    order: dict[str, Any], dates: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The shipment and its scans for a delivered or processed (in transit) order."""
    order_id = order["order_id"]
    tracking = order["fulfillments"][0]["tracking_id"][0]
    origin = WAREHOUSES[draw("origin", order_id, len(WAREHOUSES))]
    hub = HUBS[draw("hub", order_id, len(HUBS))]
    dest = f"{order['address']['city']}, {order['address']['state']}"
    shipped = dates["shipped_at"]
    if order["status"] == "delivered":
        status = "delivered"
        scans = delivered_events(shipped=shipped, delivered=dates["delivered_at"], origin=origin, hub=hub, dest=dest)
    else:
        status = "in_transit"
        # The last scan is at the hub, at least an hour before seeding.
        arrived = min(shipped + timedelta(hours=18), now - timedelta(hours=1))
        scans = [
            (shipped - timedelta(hours=5), origin, "Shipping label created"),
            (shipped, origin, "Picked up by carrier"),
            (shipped + timedelta(hours=6), origin, "Departed facility"),
            (arrived, hub, "Arrived at sort facility"),
        ]
    shipment = {
        "tracking_number": tracking,
        "order_id": order_id,
        "carrier": CARRIERS[draw("carrier", tracking, len(CARRIERS))],
        "status": status,
        "estimated_delivery": dates["eta"],
    }
    events = [
        {"tracking_number": tracking, "occurred_at": at, "location": location, "description": description}
        for at, location, description in scans
    ]
    return shipment, events


def build_rows(data: dict[str, Any], *, now: datetime) -> dict[type, list[dict[str, Any]]]:
    """Every row of the τ shop, per table, in an order that satisfies the foreign keys."""
    users: dict[str, Any] = data["users"]
    rows: dict[type, list[dict[str, Any]]] = {
        model: [] for model in (Customer, PaymentMethod, Product, ProductVariant, Order, OrderItem, Shipment,
                                TrackingEvent)
    }  # fmt: skip
    payment_methods: dict[str, dict[str, Any]] = {}
    for user_id, user in users.items():
        address = user["address"]
        rows[Customer].append({
            "id": user_id, "name": full_name(user), "email": user["email"],
            "address_street": address["address1"], "address_line2": address["address2"] or None,
            "address_city": address["city"], "address_state": address["state"] or None,
            "address_postal_code": address["zip"],
            "address_country": COUNTRY.get(address["country"], address["country"]),
        })  # fmt: skip
        for n, raw in enumerate(user["payment_methods"].values(), start=1):
            row = payment_method_row(user_id, n, raw)
            rows[PaymentMethod].append(row)
            payment_methods[row["id"]] = row

    for product_id, product in data["products"].items():
        rows[Product].append({"id": product_id, "name": product["name"]})
        for n, (variant_id, variant) in enumerate(product["variants"].items(), start=1):
            rows[ProductVariant].append({
                "product_id": product_id, "id": variant_id, "position": n, "options": dict(variant["options"]),
                "available": bool(variant["available"]), "price_cents": cents(variant["price"]),
            })  # fmt: skip

    for order_id, order in data["orders"].items():
        dates = order_dates(order_id, order["status"], now)
        payment = next(p for p in order["payment_history"] if p["transaction_type"] == "payment")
        method = payment_methods[payment["payment_method_id"]]
        refund = next((p for p in order["payment_history"] if p["transaction_type"] == "refund"), None)
        address = order["address"]
        status = STATUS[order["status"]]
        rows[Order].append({
            "id": order_id, "customer_id": order["user_id"], "status": status,
            "placed_at": dates["placed_at"], "shipped_at": dates.get("shipped_at"),
            "delivered_at": dates.get("delivered_at"), "cancelled_at": dates.get("cancelled_at"),
            "cancel_reason": None, "expected_ship_date": dates.get("expected_ship_date"),
            "total_cents": sum(cents(i["price"]) for i in order["items"]), "currency": "USD",
            "payment_method": method["method"], "payment_brand": method["brand"], "payment_last4": method["last4"],
            "payment_method_id": method["id"],
            "ship_name": full_name(users[order["user_id"]]), "ship_street": address["address1"],
            "ship_address2": address["address2"] or None, "ship_city": address["city"],
            "ship_state": address["state"] or None, "ship_postal_code": address["zip"],
            "ship_country": COUNTRY.get(address["country"], address["country"]),
            "refund_status": "refunded" if refund else None,
            "refund_amount_cents": cents(refund["amount"]) if refund else None,
            "refund_method": "original_payment" if refund else None,
            "refunded_at": dates.get("refunded_at") if refund else None,
        })  # fmt: skip
        for position, (line_id, item) in enumerate(zip(line_ids(order["items"]), order["items"], strict=True), start=1):
            options = {str(k): str(v) for k, v in item["options"].items()}
            rows[OrderItem].append({
                "order_id": order_id, "id": line_id, "position": position, "name": item["name"],
                "product_id": item["product_id"], "variant_id": item["item_id"], "options": options,
                "size": options.get("size"), "price_cents": cents(item["price"]), "final_sale": False,
            })  # fmt: skip
        # Cancelled orders carry a fulfillment in the data too; a cancelled order never shipped here.
        if order["status"] in ("delivered", "processed") and order["fulfillments"]:
            shipment, events = shipment_rows(order, dates, now)
            rows[Shipment].append(shipment)
            rows[TrackingEvent].extend(events)
    return rows


def load(session: Session, *, now: datetime, shops_dir: Path) -> None:
    """Insert the τ shop (into empty tables) inside the caller's transaction."""
    rows = build_rows(read_data(shops_dir), now=now)
    session.add(policy_row(TAU_POLICY))
    session.flush()
    for model, table_rows in rows.items():
        # Core executemany (not the ORM's bulk insert, which sends rows one by one when it must fetch ids).
        for start in range(0, len(table_rows), BATCH):
            session.execute(insert(model.__table__), table_rows[start : start + BATCH])
