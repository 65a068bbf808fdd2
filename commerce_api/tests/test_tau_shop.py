"""The τ-bench retail shop: what seeding loads, how dates and scans are derived, and the API serving it."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from commerce_api.db import Database
from commerce_api.formatting import utcnow
from commerce_api.models import Customer, Order, OrderItem, PaymentMethod, Product, ProductVariant, Shipment
from commerce_api.seed import reset
from commerce_api.settings import DEFAULT_SHOPS_DIR
from commerce_api.shopdata import tau_retail
from commerce_api.tests.conftest import assert_error, idem

DATA = json.loads((Path(DEFAULT_SHOPS_DIR) / "tau-retail" / "db.json").read_text(encoding="utf-8"))
NOW = datetime(2026, 6, 15, 12, 0, 0)


def _count(database: Database, model) -> int:
    with database.transaction() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _orders(status: str) -> list[str]:
    return [oid for oid, o in DATA["orders"].items() if o["status"] == status]


def _age_days(stamp: str) -> float:
    return (utcnow() - datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")).total_seconds() / 86400


def test_seed_loads_every_row(tau: Database) -> None:
    assert _count(tau, Customer) == 500
    assert _count(tau, Order) == 1000
    assert _count(tau, Product) == 50
    assert _count(tau, ProductVariant) == 591
    assert _count(tau, PaymentMethod) == 695
    assert _count(tau, OrderItem) == sum(len(o["items"]) for o in DATA["orders"].values())
    # delivered and processed orders ship; pending and cancelled ones have no shipment
    assert _count(tau, Shipment) == 373 + 102


def test_status_mapping(tau: Database) -> None:
    with tau.transaction() as session:
        statuses = Counter(session.scalars(select(Order.status)))
    assert statuses == {"processing": 423, "delivered": 373, "shipped": 102, "cancelled": 102}


def test_rows_are_deterministic_for_the_same_now() -> None:
    first = tau_retail.build_rows(DATA, now=NOW)
    second = tau_retail.build_rows(DATA, now=NOW)
    assert first == second
    later = tau_retail.build_rows(DATA, now=NOW + timedelta(days=1))
    shifted = {r["id"]: r["placed_at"] for r in later[Order]}
    assert all(shifted[r["id"]] - r["placed_at"] == timedelta(days=1) for r in first[Order])


def test_seeding_twice_at_the_same_now_gives_identical_dates(database: Database) -> None:
    def dates() -> list[tuple]:
        with database.transaction() as session:
            return list(
                session.execute(
                    select(
                        Order.id, Order.placed_at, Order.shipped_at, Order.delivered_at, Order.cancelled_at
                    ).order_by(Order.id)
                )
            )

    try:
        reset(database=database, shop="tau-retail", now=NOW)
        first = dates()
        reset(database=database, shop="tau-retail", now=NOW)
        assert dates() == first
        assert first[0][1] < NOW
    finally:
        reset(database=database)  # leave the demo shop behind, as the other tests expect


def test_derivation_rules() -> None:
    rows = tau_retail.build_rows(DATA, now=NOW)
    orders = {r["id"]: r for r in rows[Order]}
    for order_id, raw in DATA["orders"].items():
        row = orders[order_id]
        if raw["status"] == "delivered":
            assert NOW - timedelta(days=61) < row["delivered_at"] <= NOW - timedelta(days=1)
            assert row["placed_at"] < row["shipped_at"] < row["delivered_at"]
        elif raw["status"] == "processed":
            assert NOW - timedelta(days=4) < row["shipped_at"] < NOW - timedelta(hours=23)
            assert row["delivered_at"] is None
        elif raw["status"] == "pending":
            assert NOW - timedelta(days=2) < row["placed_at"] < NOW
            assert row["shipped_at"] is None and row["expected_ship_date"] > NOW.date()
        else:
            assert row["placed_at"] < row["cancelled_at"] < row["refunded_at"] < NOW
            refund = next(p for p in raw["payment_history"] if p["transaction_type"] == "refund")
            assert row["refund_amount_cents"] == round(refund["amount"] * 100)
            assert row["refund_status"] == "refunded"
    delivered_ages = [(NOW - orders[o]["delivered_at"]).days for o in _orders("delivered")]
    assert min(delivered_ages) < 30 < max(delivered_ages)  # both sides of the return window


def test_shipments_and_carriers_are_derived_from_tracking_ids() -> None:
    rows = tau_retail.build_rows(DATA, now=NOW)
    shipments = rows[Shipment]
    assert {s["carrier"] for s in shipments} == {"UPS", "FedEx", "USPS"}
    for shipment in shipments:
        assert shipment["carrier"] == tau_retail.CARRIERS[tau_retail.draw("carrier", shipment["tracking_number"], 3)]
    in_transit = [s for s in shipments if s["status"] == "in_transit"]
    assert len(in_transit) == 102
    assert all(NOW.date() < s["estimated_delivery"] <= NOW.date() + timedelta(days=4) for s in in_transit)
    events = rows[tau_retail.TrackingEvent]
    assert all(e["occurred_at"] < NOW for e in events)


def test_repeated_variants_get_their_own_line_ids(tau_client: TestClient) -> None:
    repeated = [oid for oid, o in DATA["orders"].items() if len(o["items"]) != len({i["item_id"] for i in o["items"]})]
    assert len(repeated) == 7
    order = tau_client.get("/orders/%23W4316152").json()  # the same variant twice
    assert [i["item_id"] for i in order["items"]] == ["7292993796", "7292993796-2"]
    assert {i["variant_id"] for i in order["items"]} == {"7292993796"}
    for order_id in repeated:
        items = tau_client.get(f"/orders/{order_id.replace('#', '%23')}").json()["items"]
        assert len({i["item_id"] for i in items}) == len(items)


def test_order_view_of_a_tau_order(tau_client: TestClient) -> None:
    raw = DATA["orders"]["#W2611340"]
    response = tau_client.get("/orders/%23W2611340")
    assert response.status_code == 200, response.text
    order = response.json()
    assert order["order_id"] == "#W2611340"
    assert order["status"] == "shipped"
    assert order["shipment"]["tracking_number"] == raw["fulfillments"][0]["tracking_id"][0]
    assert order["payment"] == {
        "method": "gift_card",
        "brand": "Gift Card",
        "last4": None,
        "payment_method_id": "gift_card_1725971",
    }
    assert order["shipping_address"] == {
        "name": "James Li",
        "street": "215 River Road",
        "address2": "Suite 991",
        "city": "New York",
        "state": "NY",
        "postal_code": "10083",
        "country": "US",
    }
    first = order["items"][0]
    assert first == {
        "item_id": "6469567736",
        "name": "Water Bottle",
        "product_id": "8310926033",
        "variant_id": "6469567736",
        "options": {"capacity": "1000ml", "material": "glass", "color": "blue"},
        "size": None,
        "price": "47.84",
        "final_sale": False,
        "return_status": None,
        "return_id": None,
        "exchange_status": None,
        "exchange_id": None,
    }
    assert order["total"] == "536.65"
    tracking = tau_client.get(f"/track/{order['shipment']['tracking_number']}").json()
    assert tracking["status"] == "in_transit" and tracking["last_scan"]["location"]


def test_sizes_come_from_options(tau_client: TestClient) -> None:
    order_id, raw = next(
        (oid, o) for oid, o in DATA["orders"].items() if any("size" in i["options"] for i in o["items"])
    )
    items = tau_client.get(f"/orders/{order_id.replace('#', '%23')}").json()["items"]
    assert [i["size"] for i in items] == [i["options"].get("size") for i in raw["items"]]


def test_window_has_orders_inside_and_outside(tau_client: TestClient) -> None:
    verdicts = set()
    for order_id in _orders("delivered")[:80]:
        path = order_id.replace("#", "%23")
        item = DATA["orders"][order_id]["items"][0]["item_id"]
        body = tau_client.get(f"/orders/{path}/items/{item}/return-eligibility").json()
        verdicts.add(body["reason"])
        if body["eligible"]:
            assert body["refund_methods"] == ["original_payment", "gift_card"]
    assert {None, "outside_return_window"} <= verdicts


def test_pending_is_processing_and_recent(tau_client: TestClient) -> None:
    order = tau_client.get("/orders/" + _orders("pending")[0].replace("#", "%23")).json()
    assert order["status"] == "processing" and order["shipment"] is None
    assert 0 < _age_days(order["placed_at"]) < 2


def test_cancelled_orders_are_refunded_to_the_original_payment(tau_client: TestClient) -> None:
    order_id = _orders("cancelled")[0]
    order = tau_client.get("/orders/" + order_id.replace("#", "%23")).json()
    assert order["status"] == "cancelled" and order["shipment"] is None
    assert order["refund"]["status"] == "refunded" and order["refund"]["method"] == "original_payment"
    assert order["refund"]["amount"] == order["total"]


def test_customer_profile(tau_client: TestClient) -> None:
    body = tau_client.get("/customers/noah_brown_6181").json()
    assert body == {
        "id": "noah_brown_6181",
        "name": "Noah Brown",
        "email": "noah.brown7922@example.com",
        "default_address": {
            "name": "Noah Brown",
            "street": "986 Sunset Drive",
            "address2": "Suite 259",
            "city": "Denver",
            "state": "CO",
            "postal_code": "80279",
            "country": "US",
        },
        "payment_methods": [
            {"payment_method_id": "paypal_5727330", "method": "paypal", "brand": "PayPal", "last4": None,
             "balance": None},
            {"payment_method_id": "credit_card_7815826", "method": "card", "brand": "Mastercard", "last4": "9212",
             "balance": None},
        ],
    }  # fmt: skip
    gift = next(
        (uid, pm) for uid, u in DATA["users"].items() for pm in u["payment_methods"].values()
        if pm["source"] == "gift_card"
    )  # fmt: skip
    methods = tau_client.get(f"/customers/{gift[0]}").json()["payment_methods"]
    card = next(m for m in methods if m["payment_method_id"] == gift[1]["id"])
    assert card["method"] == "gift_card" and card["balance"] == f"{gift[1]['balance']:.2f}"


def test_customer_orders_newest_first(tau_client: TestClient) -> None:
    user_id, user = max(DATA["users"].items(), key=lambda kv: len(kv[1]["orders"]))
    orders = tau_client.get(f"/customers/{user_id}/orders", params={"limit": 50}).json()["orders"]
    assert sorted(o["order_id"] for o in orders) == sorted(user["orders"])
    placed = [o["placed_at"] for o in orders]
    assert placed == sorted(placed, reverse=True)
    assert len(tau_client.get(f"/customers/{user_id}/orders", params={"limit": 2}).json()["orders"]) == 2


def test_verify_tau_customers(tau_client: TestClient) -> None:
    assert tau_client.post("/customers/verify", json={"email": " Noah.Brown7922@example.com"}).json() == {
        "verified": True,
        "customer_id": "noah_brown_6181",
    }
    assert tau_client.post("/customers/verify", json={"name": "noah  brown", "postal_code": "80279"}).json() == {
        "verified": True,
        "customer_id": "noah_brown_6181",
    }
    assert tau_client.post("/customers/verify", json={"name": "Noah Brown", "postal_code": "80280"}).json() == {
        "verified": False
    }
    response = tau_client.post("/orders/%23W7678072/verify", json={"email": "noah.brown7922@example.com"})
    assert response.json() == {"verified": True, "customer_id": "noah_brown_6181"}


def test_namesakes_are_told_apart_by_postal_code(tau_client: TestClient) -> None:
    by_name: dict[str, list[tuple[str, str]]] = {}
    for uid, u in DATA["users"].items():
        name = f"{u['name']['first_name']} {u['name']['last_name']}"
        by_name.setdefault(name, []).append((uid, u["address"]["zip"]))
    name, people = next((n, p) for n, p in by_name.items() if len(p) > 1)
    for uid, postal in people:
        body = tau_client.post("/customers/verify", json={"name": name, "postal_code": postal}).json()
        assert body == {"verified": True, "customer_id": uid}


def test_tau_policy(tau_client: TestClient) -> None:
    assert tau_client.get("/policy").json() == {
        "shop": "tau-retail",
        "return_window_days": 30,
        "refund_methods": ["original_payment", "gift_card"],
        "refund_days": {"original_payment": {"min": 5, "max": 7}, "gift_card": {"min": 0, "max": 0}},
        "cancellable_statuses": ["processing"],
        "address_change_statuses": ["processing"],
        "currency": "USD",
    }


def test_tau_products(tau_client: TestClient) -> None:
    shirts = tau_client.get("/products", params={"query": "t-SHIRT"}).json()["products"]
    assert [p["product_id"] for p in shirts] == ["9523456873"]
    assert len(shirts[0]["variants"]) == 12
    variant = shirts[0]["variants"][0]
    assert variant == {
        "variant_id": "9612497925",
        "options": {"color": "blue", "size": "M", "material": "cotton", "style": "crew neck"},
        "available": True,
        "price": "50.88",
    }
    assert len(tau_client.get("/products", params={"limit": 50}).json()["products"]) == 50
    assert tau_client.get("/products/9523456873").json() == shirts[0]


def _delivered_in_window(client: TestClient) -> tuple[str, dict]:
    for order_id in _orders("delivered"):
        raw = DATA["orders"][order_id]
        path = order_id.replace("#", "%23")
        item = raw["items"][0]["item_id"]
        if client.get(f"/orders/{path}/items/{item}/return-eligibility").json()["eligible"]:
            methods = list(DATA["users"][raw["user_id"]]["payment_methods"])
            gift_cards = [pm for pm in methods if pm.startswith("gift_card")]
            if gift_cards and len(gift_cards) < len(methods) and len(raw["items"]) > 1:
                return order_id, raw
    raise AssertionError("no returnable τ order with a gift card")


def test_gift_card_refund_to_the_customers_own_card(tau_client: TestClient, tau_fresh: Database) -> None:
    order_id, raw = _delivered_in_window(tau_client)
    own = next(pm for pm in DATA["users"][raw["user_id"]]["payment_methods"] if pm.startswith("gift_card"))
    other = next(
        pm for uid, u in DATA["users"].items() if uid != raw["user_id"]
        for pm in u["payment_methods"] if pm.startswith("gift_card")
    )  # fmt: skip
    lines = [i["item_id"] for i in tau_client.get("/orders/" + order_id.replace("#", "%23")).json()["items"]]
    body = {"order_id": order_id, "item_ids": lines[:2], "reason": "changed_mind", "refund_method": "gift_card"}

    err = assert_error(tau_client.post("/returns", json={**body, "gift_card_id": other}, headers=idem()), 409,
                       "not_eligible")  # fmt: skip
    assert err["reason"] == "gift_card_not_customers"
    not_a_gift_card = next(pm for pm in DATA["users"][raw["user_id"]]["payment_methods"] if "gift" not in pm)
    err = assert_error(
        tau_client.post("/returns", json={**body, "gift_card_id": not_a_gift_card}, headers=idem()),
        409,
        "not_eligible",
    )
    assert err["reason"] == "gift_card_not_customers"  # the customer's own, but not a gift card
    store_credit = {**body, "refund_method": "store_credit"}
    err = assert_error(tau_client.post("/returns", json=store_credit, headers=idem()), 409, "not_eligible")
    assert err["reason"] == "refund_method_not_allowed"
    assert tau_client.get("/returns", params={"order_id": order_id}).json() == {"returns": []}

    created = tau_client.post("/returns", json={**body, "gift_card_id": own}, headers=idem())
    assert created.status_code == 201, created.text
    ret = created.json()
    assert ret["gift_card_id"] == own and ret["refund_method"] == "gift_card"
    assert [i["item_id"] for i in ret["items"]] == lines[:2]
    prices = [round(i["price"] * 100) for i in raw["items"][:2]]
    assert ret["refund_amount"] == f"{sum(prices) // 100}.{sum(prices) % 100:02d}"


@pytest.mark.parametrize("order_id", ["%23W0000000", "W2611340", "%23w2611340"])
def test_unknown_tau_order_numbers(tau_client: TestClient, order_id: str) -> None:
    assert_error(tau_client.get(f"/orders/{order_id}"), 404, "order_not_found")
