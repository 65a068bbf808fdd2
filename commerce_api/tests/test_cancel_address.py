"""Cancelling and re-addressing orders: allowed only before shipping, with 409 reasons otherwise."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from commerce_api.tests.conftest import assert_error, idem

NEW_ADDRESS = {"street": "7 Ocean Drive", "city": "Miami", "postal_code": "33139", "country": "us"}


def test_cancel_processing_order(client: TestClient) -> None:
    response = client.post("/orders/4522/cancel", json={"reason": "changed my mind"}, headers=idem())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["order_id"] == "4522" and body["status"] == "cancelled"
    assert body["refund"] == {"status": "pending", "amount": "65.00", "method": "original_payment"}
    order = client.get("/orders/4522").json()
    assert order["status"] == "cancelled"
    assert order["cancelled_at"] == body["cancelled_at"]
    assert order["refund"] == {
        "status": "pending",
        "amount": "65.00",
        "method": "original_payment",
        "refunded_at": None,
    }


def test_cancel_without_body(client: TestClient) -> None:
    assert client.post("/orders/4522/cancel", headers=idem()).status_code == 200


@pytest.mark.parametrize(
    ("order_id", "reason"), [("4523", "already_shipped"), ("4521", "already_delivered"), ("4525", "already_cancelled")]
)
def test_cannot_cancel_after_shipping(client: TestClient, order_id: str, reason: str) -> None:
    before = client.get(f"/orders/{order_id}").json()
    err = assert_error(client.post(f"/orders/{order_id}/cancel", headers=idem()), 409, "cannot_cancel")
    assert err["reason"] == reason
    assert client.get(f"/orders/{order_id}").json() == before


def test_cancel_twice_with_different_keys(client: TestClient) -> None:
    assert client.post("/orders/4522/cancel", headers=idem()).status_code == 200
    err = assert_error(client.post("/orders/4522/cancel", headers=idem()), 409, "cannot_cancel")
    assert err["reason"] == "already_cancelled"


def test_cancel_unknown_order(client: TestClient) -> None:
    assert_error(client.post("/orders/9999/cancel", headers=idem()), 404, "order_not_found")
    assert_error(client.post("/orders/abc/cancel", headers=idem()), 404, "order_not_found")


def test_cancel_reason_validation(client: TestClient) -> None:
    assert_error(
        client.post("/orders/4522/cancel", json={"reason": "x" * 501}, headers=idem()), 422, "validation_error"
    )
    assert_error(
        client.post("/orders/4522/cancel", json={"reason": "a\u0000b"}, headers=idem()), 422, "validation_error"
    )
    assert client.get("/orders/4522").json()["status"] == "processing"


def test_change_address_while_processing(client: TestClient) -> None:
    response = client.patch("/orders/4522/shipping-address", json=NEW_ADDRESS, headers=idem())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["order_id"] == "4522"
    assert body["shipping_address"] == {
        "name": "Jane Doe",
        "street": "7 Ocean Drive",
        "address2": None,
        "city": "Miami",
        "state": None,
        "postal_code": "33139",
        "country": "US",
    }
    assert body["previous_address"]["street"] == "12 Harbour Lane"
    assert client.get("/orders/4522").json()["shipping_address"] == body["shipping_address"]


def test_change_address_with_name_and_foreign_country(client: TestClient) -> None:
    address = {
        "name": "J. Doe",
        "street": "10 Downing Street",
        "city": "London",
        "postal_code": "sw1a 2aa",
        "country": "GB",
    }
    body = client.patch("/orders/4522/shipping-address", json=address, headers=idem()).json()
    assert body["shipping_address"] == {**address, "postal_code": "SW1A 2AA", "address2": None, "state": None}


@pytest.mark.parametrize(
    ("order_id", "reason"), [("4523", "already_shipped"), ("4524", "already_delivered"), ("4525", "already_cancelled")]
)
def test_cannot_change_address_after_shipping(client: TestClient, order_id: str, reason: str) -> None:
    response = client.patch(f"/orders/{order_id}/shipping-address", json=NEW_ADDRESS, headers=idem())
    err = assert_error(response, 409, "cannot_change_address")
    assert err["reason"] == reason


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"postal_code": "ABCDE"}, "postal_code"),
        ({"street": "12"}, "street"),
        ({"street": "123456"}, "street"),
        ({"city": "X"}, "city"),
        ({"country": "ZZ"}, "country"),
        ({"street": "1 Main\u0000St"}, "street"),
    ],
)
def test_invalid_address(client: TestClient, patch: dict, field: str) -> None:
    response = client.patch("/orders/4522/shipping-address", json={**NEW_ADDRESS, **patch}, headers=idem())
    err = assert_error(response, 422, "invalid_address")
    assert field in err["fields"]
    assert client.get("/orders/4522").json()["shipping_address"]["street"] == "12 Harbour Lane"


def test_address_missing_fields(client: TestClient) -> None:
    response = client.patch("/orders/4522/shipping-address", json={"street": "7 Ocean Drive"}, headers=idem())
    err = assert_error(response, 422, "validation_error")
    assert {f["field"] for f in err["fields"]} == {"body.city", "body.postal_code", "body.country"}


def test_change_address_unknown_order(client: TestClient) -> None:
    assert_error(
        client.patch("/orders/9999/shipping-address", json=NEW_ADDRESS, headers=idem()), 404, "order_not_found"
    )
