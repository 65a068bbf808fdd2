"""The demo shop's catalogue (a product per demo item, with size variants) and its policy endpoint."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from commerce_api.db import Database
from commerce_api.models import ShopPolicyRow
from commerce_api.settings import Settings
from commerce_api.tests.conftest import assert_error, make_client


def test_every_demo_item_has_its_product_and_variant(client: TestClient) -> None:
    for order_id in ("4521", "4522", "4523", "4524", "4525", "4526"):
        for item in client.get(f"/orders/{order_id}").json()["items"]:
            product = client.get(f"/products/{item['product_id']}").json()
            assert product["name"] == item["name"]
            variant = next(v for v in product["variants"] if v["variant_id"] == item["variant_id"])
            assert variant["options"] == item["options"]
            assert variant["price"] == item["price"]


def test_product_with_size_variants(client: TestClient) -> None:
    jacket = client.get("/products/denim-jacket").json()
    assert jacket["product_id"] == "denim-jacket" and jacket["name"] == "Blue Denim Jacket"
    assert [(v["variant_id"], v["options"], v["available"], v["price"]) for v in jacket["variants"]] == [
        ("denim-jacket-s", {"size": "S"}, True, "84.00"),
        ("denim-jacket-m", {"size": "M"}, True, "89.00"),
        ("denim-jacket-l", {"size": "L"}, True, "95.00"),
        ("denim-jacket-xl", {"size": "XL"}, False, "95.00"),
    ]
    sneakers = client.get("/products/canvas-sneakers").json()["variants"]
    assert [(v["variant_id"], v["available"], v["price"]) for v in sneakers] == [
        ("canvas-sneakers-8", True, "62.00"),
        ("canvas-sneakers-9", True, "65.00"),
        ("canvas-sneakers-10", True, "65.00"),
        ("canvas-sneakers-11", True, "69.00"),
    ]


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("jacket", ["Blue Denim Jacket", "Rain Jacket"]),
        ("  JACKET ", ["Blue Denim Jacket", "Rain Jacket"]),
        ("denim jacket", ["Blue Denim Jacket"]),
        ("%", []),
        ("_", []),
        ("nothing like it", []),
    ],
)
def test_search_by_name(client: TestClient, query: str, names: list[str]) -> None:
    body = client.get("/products", params={"query": query}).json()
    assert [p["name"] for p in body["products"]] == names


def test_search_without_query_lists_by_name_up_to_limit(client: TestClient) -> None:
    names = [p["name"] for p in client.get("/products").json()["products"]]
    assert names == sorted(names) and len(names) == 8
    assert len(client.get("/products", params={"limit": 3}).json()["products"]) == 3


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 51}, {"query": "x" * 101}, {"query": "a\u0000b"}])
def test_search_parameters(client: TestClient, params: dict) -> None:
    assert_error(client.get("/products", params=params), 422, "validation_error")


@pytest.mark.parametrize("product_id", ["nope", "denim jacket", "x" * 65, "%23"])
def test_unknown_product(client: TestClient, product_id: str) -> None:
    assert_error(client.get(f"/products/{product_id}"), 404, "product_not_found")


def test_demo_policy(client: TestClient) -> None:
    assert client.get("/policy").json() == {
        "shop": "demo",
        "return_window_days": 30,
        "refund_methods": ["original_payment", "store_credit"],
        "refund_days": {"original_payment": {"min": 5, "max": 10}, "store_credit": {"min": 5, "max": 10}},
        "cancellable_statuses": ["processing"],
        "address_change_statuses": ["processing"],
        "currency": "USD",
    }


def test_policy_window_comes_from_settings(seeded: Database, settings: Settings) -> None:
    with make_client(Settings(**{**settings.__dict__, "return_window_days": 14}), seeded) as client:
        assert client.get("/policy").json()["return_window_days"] == 14
        assert client.get("/orders/4521/items/4521-1/return-eligibility").json()["eligible"] is True


def test_an_unseeded_database_answers_the_demo_policy(client: TestClient, seeded: Database) -> None:
    with seeded.transaction() as session:
        session.query(ShopPolicyRow).delete()
    assert client.get("/policy").json()["refund_methods"] == ["original_payment", "store_credit"]


def test_policy_statuses_drive_re_addressing(client: TestClient, seeded: Database) -> None:
    # The rules are the shop's data: a shop that lets shipped orders be re-addressed says so in its policy.
    with seeded.transaction() as session:
        row = session.get(ShopPolicyRow, "demo")
        row.address_change_statuses = ["processing", "shipped"]
    change = {"street": "7 Ocean Drive", "city": "Miami", "postal_code": "33139", "country": "US"}
    response = client.patch("/orders/4523/shipping-address", json=change, headers={"Idempotency-Key": "ship"})
    assert response.status_code == 200, response.text
    assert client.get("/policy").json()["address_change_statuses"] == ["processing", "shipped"]
