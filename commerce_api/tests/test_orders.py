"""Order look-up and customer verification against the seeded demo data."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from commerce_api.tests.conftest import assert_error

ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _age_days(stamp: str) -> float:
    when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return (datetime.now(timezone.utc) - when).total_seconds() / 86400


def test_delivered_order_4521(client: TestClient) -> None:
    response = client.get("/orders/4521")
    assert response.status_code == 200
    order = response.json()
    assert order["order_id"] == "4521"
    assert order["status"] == "delivered"
    assert round(_age_days(order["delivered_at"])) == 5
    assert order["cancelled_at"] is None and order["expected_ship_date"] is None
    for field in ("placed_at", "shipped_at", "delivered_at"):
        assert ISO_Z.fullmatch(order[field])
    assert order["customer"] == {"id": "cus_jane_doe", "name": "Jane Doe", "email": "jane.doe@example.com"}
    assert order["items"] == [
        {
            "item_id": "4521-1",
            "name": "Blue Denim Jacket",
            "product_id": "denim-jacket",
            "variant_id": "denim-jacket-m",
            "options": {"size": "M"},
            "size": "M",
            "price": "89.00",
            "final_sale": False,
            "return_status": None,
            "return_id": None,
            "exchange_status": None,
            "exchange_id": None,
        },
        {
            "item_id": "4521-2",
            "name": "Striped Scarf",
            "product_id": "striped-scarf",
            "variant_id": "striped-scarf-one",
            "options": {},
            "size": None,
            "price": "19.00",
            "final_sale": False,
            "return_status": None,
            "return_id": None,
            "exchange_status": None,
            "exchange_id": None,
        },
    ]
    assert order["total"] == "108.00" and order["currency"] == "USD"
    assert order["payment"] == {
        "method": "card",
        "brand": "Visa",
        "last4": "4242",
        "payment_method_id": "pm_jane_visa_4242",
    }
    assert order["shipping_address"] == {
        "name": "Jane Doe",
        "street": "12 Harbour Lane",
        "address2": None,
        "city": "Portland",
        "state": "OR",
        "postal_code": "97201",
        "country": "US",
    }
    assert order["shipment"]["carrier"] == "UPS"
    assert order["refund"] is None


def test_processing_order_4522_ships_tomorrow(client: TestClient) -> None:
    order = client.get("/orders/4522").json()
    assert order["status"] == "processing"
    assert order["shipped_at"] is None and order["shipment"] is None
    assert order["expected_ship_date"] == (datetime.now(timezone.utc).date() + timedelta(days=1)).isoformat()
    assert order["items"][0]["name"] == "Canvas Sneakers" and order["items"][0]["size"] == "9"
    assert order["total"] == "65.00"


def test_shipped_order_4523(client: TestClient) -> None:
    order = client.get("/orders/4523").json()
    assert order["status"] == "shipped" and order["delivered_at"] is None
    assert order["shipment"] == {"carrier": "UPS", "tracking_number": "1Z999AA10123456784"}
    assert order["payment"] == {
        "method": "card",
        "brand": "Mastercard",
        "last4": "5454",
        "payment_method_id": "pm_jane_mastercard_5454",
    }
    assert 0 < _age_days(order["shipped_at"]) < 2


def test_sam_lee_orders(client: TestClient) -> None:
    o4524 = client.get("/orders/4524").json()
    assert o4524["customer"]["id"] == "cus_sam_lee"
    assert o4524["payment"] == {
        "method": "paypal",
        "brand": "PayPal",
        "last4": None,
        "payment_method_id": "pm_sam_paypal",
    }
    assert round(_age_days(o4524["delivered_at"])) == 45
    assert o4524["shipping_address"]["city"] == "Austin"

    o4525 = client.get("/orders/4525").json()
    assert o4525["status"] == "cancelled" and o4525["cancelled_at"]
    assert o4525["refund"]["status"] == "refunded"
    assert o4525["refund"]["amount"] == "120.00"
    assert o4525["refund"]["method"] == "original_payment"
    assert ISO_Z.fullmatch(o4525["refund"]["refunded_at"])

    o4526 = client.get("/orders/4526").json()
    assert [(i["item_id"], i["final_sale"], i["size"]) for i in o4526["items"]] == [
        ("4526-1", True, "L"),
        ("4526-2", False, "32"),
    ]
    assert o4526["payment"] == {
        "method": "card",
        "brand": "Amex",
        "last4": "0005",
        "payment_method_id": "pm_sam_amex_0005",
    }
    assert o4526["total"] == "103.00"


@pytest.mark.parametrize("order_id", ["9999", "0", "000000004521", "4521 ", "abc", "4521x", "1234567890123"])
def test_unknown_order_is_404(client: TestClient, order_id: str) -> None:
    assert_error(client.get(f"/orders/{order_id}"), 404, "order_not_found")


@pytest.mark.parametrize("email", ["jane.doe@example.com", "  Jane.Doe@Example.COM  ", "JANE.DOE@EXAMPLE.COM"])
def test_verify_matches_trimmed_case_insensitive(client: TestClient, email: str) -> None:
    response = client.post("/orders/4521/verify", json={"email": email})
    assert response.status_code == 200
    assert response.json() == {"verified": True, "customer_id": "cus_jane_doe"}


@pytest.mark.parametrize("email", ["sam.lee@example.com", "jane.doe@example.co", "", "jane.doe@example.com\u200b"])
def test_verify_mismatch_never_echoes_real_email(client: TestClient, email: str) -> None:
    response = client.post("/orders/4521/verify", json={"email": email})
    assert response.status_code == 200
    assert response.json() == {"verified": False}
    assert "jane" not in response.text.lower()


def test_verify_unknown_order_answers_like_a_wrong_email(client: TestClient) -> None:
    # A 404 here would let anyone enumerate order numbers.
    unknown = client.post("/orders/9999/verify", json={"email": "jane.doe@example.com"})
    wrong = client.post("/orders/4521/verify", json={"email": "someone@example.com"})
    assert (unknown.status_code, unknown.content) == (wrong.status_code, wrong.content) == (200, b'{"verified":false}')


def test_verify_malformed_order_is_404(client: TestClient) -> None:
    assert_error(client.post("/orders/45%2021/verify", json={"email": "a@b.c"}), 404, "order_not_found")


def test_verify_missing_email_is_422(client: TestClient) -> None:
    err = assert_error(client.post("/orders/4521/verify", json={}), 422, "validation_error")
    assert err["fields"][0]["field"] == "body.email"


def test_dates_are_relative_to_seeding(client: TestClient) -> None:
    today = date.today()
    placed = datetime.strptime(client.get("/orders/4522").json()["placed_at"], "%Y-%m-%dT%H:%M:%SZ").date()
    assert abs((today - placed).days) <= 2
