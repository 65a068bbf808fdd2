"""Changing a customer's saved (default) address: validated like an order's, idempotent, never the name."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from commerce_api.db import Database
from commerce_api.tests.conftest import assert_error, idem

NEW = {"street": "7 Ocean Drive", "city": "Miami", "state": "fl", "postal_code": "33139", "country": "us"}
SAVED = {"name": "Jane Doe", "street": "7 Ocean Drive", "address2": None, "city": "Miami", "state": "FL",
         "postal_code": "33139", "country": "US"}


def shipping_addresses(client: TestClient, customer_id: str) -> dict:
    orders = client.get(f"/customers/{customer_id}/orders").json()["orders"]
    return {order["order_id"]: order["shipping_address"] for order in orders}


def test_the_saved_address_is_replaced_and_the_orders_keep_theirs(client: TestClient) -> None:
    orders_before = shipping_addresses(client, "cus_jane_doe")
    response = client.patch("/customers/cus_jane_doe/address", json=NEW, headers=idem())
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["customer_id"] == "cus_jane_doe"
    assert body["default_address"] == SAVED
    assert body["previous_address"]["street"] == "12 Harbour Lane"
    assert client.get("/customers/cus_jane_doe").json()["default_address"] == SAVED
    # The processing order 4522 too: only its own endpoint re-addresses an order.
    assert shipping_addresses(client, "cus_jane_doe") == orders_before


def test_the_name_cannot_be_changed_through_the_address(client: TestClient) -> None:
    err = assert_error(client.patch("/customers/cus_jane_doe/address", json={**NEW, "name": "Someone Else"},
                                    headers=idem()), 422, "validation_error")
    assert any(f["field"].endswith("name") for f in err["fields"])
    assert client.get("/customers/cus_jane_doe").json()["default_address"]["street"] == "12 Harbour Lane"


@pytest.mark.parametrize(
    ("patch", "field"),
    [({"postal_code": "ABCDE"}, "postal_code"), ({"street": "12"}, "street"), ({"city": "X"}, "city"),
     ({"country": "ZZ"}, "country"), ({"street": "1 Main\u0000St"}, "street")],
)  # fmt: skip
def test_an_invalid_address_is_refused_field_by_field(client: TestClient, patch: dict, field: str) -> None:
    err = assert_error(client.patch("/customers/cus_jane_doe/address", json={**NEW, **patch}, headers=idem()),
                       422, "invalid_address")  # fmt: skip
    assert field in err["fields"]
    assert client.get("/customers/cus_jane_doe").json()["default_address"]["street"] == "12 Harbour Lane"


def test_the_same_address_again_is_a_conflict_with_a_reason(client: TestClient) -> None:
    same = {"street": "12 harbour lane", "city": "Portland", "state": "OR", "postal_code": "97201", "country": "US"}
    err = assert_error(client.patch("/customers/cus_jane_doe/address", json=same, headers=idem()), 409,
                       "cannot_change_default_address")  # fmt: skip
    assert err["reason"] == "unchanged"


@pytest.mark.parametrize("customer_id", ["cus_nobody", "x" * 500, "cus_jane_doe'--"])
def test_an_unknown_customer_is_not_found(client: TestClient, customer_id: str) -> None:
    assert_error(client.patch(f"/customers/{customer_id}/address", json=NEW, headers=idem()), 404,
                 "customer_not_found")  # fmt: skip


def test_a_retry_with_the_same_key_changes_it_once(client: TestClient) -> None:
    first = client.patch("/customers/cus_jane_doe/address", json=NEW, headers=idem("default-address-1"))
    second = client.patch("/customers/cus_jane_doe/address", json=NEW, headers=idem("default-address-1"))
    assert first.status_code == second.status_code == 200
    assert second.content == first.content and second.headers["idempotent-replayed"] == "true"
    # A new key for the same address finds it already saved: the first change happened exactly once.
    assert json.loads(first.content)["previous_address"]["street"] == "12 Harbour Lane"
    assert_error(client.patch("/customers/cus_jane_doe/address", json=NEW, headers=idem()), 409,
                 "cannot_change_default_address")  # fmt: skip


def test_verification_by_name_uses_the_new_postal_code(client: TestClient) -> None:
    assert client.patch("/customers/cus_jane_doe/address", json=NEW, headers=idem()).status_code == 200
    by_new = client.post("/customers/verify", json={"name": "Jane Doe", "postal_code": "33139"}).json()
    by_old = client.post("/customers/verify", json={"name": "Jane Doe", "postal_code": "97201"}).json()
    assert by_new == {"verified": True, "customer_id": "cus_jane_doe"} and by_old == {"verified": False}


def test_a_tau_customer_changes_their_saved_address(tau_client: TestClient, tau_fresh: Database) -> None:
    before = tau_client.get("/customers/noah_brown_6181").json()["default_address"]
    address = {"street": "3 Quarry Road", "address2": "Apt 4", "city": "Boulder", "state": "CO",
               "postal_code": "80302", "country": "US"}
    body = tau_client.patch("/customers/noah_brown_6181/address", json=address, headers=idem()).json()
    assert body["previous_address"] == before
    assert body["default_address"] == {"name": "Noah Brown", **address}
    assert tau_client.get("/customers/noah_brown_6181").json()["default_address"] == {"name": "Noah Brown", **address}
