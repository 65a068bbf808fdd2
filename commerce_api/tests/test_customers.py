"""Customer verification (email, or full name + postal code), profiles and order history on the demo shop."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from commerce_api.tests.conftest import assert_error

JANE_ADDRESS = {
    "name": "Jane Doe",
    "street": "12 Harbour Lane",
    "address2": None,
    "city": "Portland",
    "state": "OR",
    "postal_code": "97201",
    "country": "US",
}


@pytest.mark.parametrize("email", ["jane.doe@example.com", "  JANE.Doe@Example.com\t"])
def test_verify_by_email(client: TestClient, email: str) -> None:
    response = client.post("/customers/verify", json={"email": email})
    assert response.status_code == 200
    assert response.json() == {"verified": True, "customer_id": "cus_jane_doe"}


@pytest.mark.parametrize(
    ("name", "postal_code"),
    [("Jane Doe", "97201"), ("  jane   DOE ", " 972 01 "), ("SAM LEE", "78701")],
)
def test_verify_by_name_and_postal_code(client: TestClient, name: str, postal_code: str) -> None:
    body = client.post("/customers/verify", json={"name": name, "postal_code": postal_code}).json()
    assert body["verified"] is True
    assert body["customer_id"] == ("cus_sam_lee" if "sam" in name.lower() else "cus_jane_doe")


@pytest.mark.parametrize(
    "body",
    [
        {"email": "nobody@example.com"},
        {"email": "jane.doe@example.co"},
        {"name": "Jane Doe", "postal_code": "78701"},  # Sam's postal code
        {"name": "Jane Dough", "postal_code": "97201"},
        {"name": "Nobody At All", "postal_code": "00000"},
    ],
)
def test_unknown_and_wrong_details_get_the_same_answer(client: TestClient, body: dict) -> None:
    response = client.post("/customers/verify", json=body)
    assert response.status_code == 200
    assert response.content == b'{"verified":false}'


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"email": "jane.doe@example.com", "name": "Jane Doe", "postal_code": "97201"},
        {"email": "jane.doe@example.com", "name": "Jane Doe"},
        {"name": "Jane Doe"},
        {"postal_code": "97201"},
        {"email": ""},
        {"email": "a\u0000b@example.com"},
        {"name": "Jane Doe", "postal_code": ""},
        {"email": "x" * 321},
        {"email": 5},
        {"email": "jane.doe@example.com", "extra": 1},
    ],
)
def test_verify_needs_exactly_one_shape(client: TestClient, body: dict) -> None:
    err = assert_error(client.post("/customers/verify", json=body), 422, "validation_error")
    assert err["fields"]


def test_customer_profile(client: TestClient) -> None:
    assert client.get("/customers/cus_jane_doe").json() == {
        "id": "cus_jane_doe",
        "name": "Jane Doe",
        "email": "jane.doe@example.com",
        "default_address": JANE_ADDRESS,
        "payment_methods": [
            {"payment_method_id": "pm_jane_visa_4242", "method": "card", "brand": "Visa", "last4": "4242",
             "balance": None},
            {"payment_method_id": "pm_jane_mastercard_5454", "method": "card", "brand": "Mastercard",
             "last4": "5454", "balance": None},
            {"payment_method_id": "pm_jane_gift_card_7310", "method": "gift_card", "brand": "Gift Card",
             "last4": None, "balance": "100.00"},
            {"payment_method_id": "pm_jane_gift_card_2264", "method": "gift_card", "brand": "Gift Card",
             "last4": None, "balance": "3.00"},
        ],
    }  # fmt: skip
    sam = client.get("/customers/cus_sam_lee").json()
    assert [(m["method"], m["brand"], m["last4"]) for m in sam["payment_methods"]] == [
        ("paypal", "PayPal", None),
        ("card", "Amex", "0005"),
    ]
    assert sam["default_address"]["city"] == "Austin"


@pytest.mark.parametrize("customer_id", ["cus_nobody", "cus jane", "x" * 65, "cus_jane_doe%00", "%23x", "jane@doe"])
def test_unknown_customer_is_404(client: TestClient, customer_id: str) -> None:
    assert_error(client.get(f"/customers/{customer_id}"), 404, "customer_not_found")
    assert_error(client.get(f"/customers/{customer_id}/orders"), 404, "customer_not_found")


def test_customer_orders_newest_placed_first(client: TestClient) -> None:
    orders = client.get("/customers/cus_jane_doe/orders").json()["orders"]
    # 4522 was placed 20 hours ago, 4523 about two days ago, 4521 nine days ago
    assert [o["order_id"] for o in orders] == ["4522", "4523", "4521"]
    assert orders[2] == client.get("/orders/4521").json()
    sam = client.get("/customers/cus_sam_lee/orders", params={"limit": 2}).json()["orders"]
    assert [o["order_id"] for o in sam] == ["4526", "4525"]


@pytest.mark.parametrize("limit", ["0", "51", "-1", "x", "2.5"])
def test_customer_orders_limit_is_1_to_50(client: TestClient, limit: str) -> None:
    err = assert_error(client.get(f"/customers/cus_jane_doe/orders?limit={limit}"), 422, "validation_error")
    assert err["fields"][0]["field"] == "query.limit"
    assert client.get("/customers/cus_jane_doe/orders?limit=50").status_code == 200
