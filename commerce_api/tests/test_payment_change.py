"""Changing the payment method of an order that has not shipped: whose methods, gift card balances moved both ways,
unchanged and other refusals, idempotency, a race on one gift card; demo and τ-bench."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from fastapi.testclient import TestClient

from commerce_api.db import Database
from commerce_api.tests.conftest import AUTH, assert_error, idem
from commerce_api.tests.test_concurrency import RACERS, _race
from commerce_api.tests.test_exchanges import (
    DATA,
    JANE_GIFT_3,
    JANE_GIFT_100,
    JANE_VISA,
    SAM_AMEX,
    _cents,
    _money,
    _tau_order,
    balance,
    path_of,
    refused,
)

JANE_MASTERCARD = "pm_jane_mastercard_5454"


def patch_payment(client: TestClient | httpx.Client, order_id: str, payment_method_id: str, key: str | None = None):
    return client.patch(f"/orders/{path_of(order_id)}/payment", json={"payment_method_id": payment_method_id},
                        headers=idem(key))  # fmt: skip


def test_a_gift_card_that_covers_the_total_pays_it_and_the_card_back_returns_it(client: TestClient) -> None:
    response = patch_payment(client, "4522", JANE_GIFT_100)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "order_id": "4522",
        "payment": {"method": "gift_card", "brand": "Gift Card", "last4": None, "payment_method_id": JANE_GIFT_100},
        "total": "65.00",
    }
    assert client.get("/orders/4522").json()["payment"] == response.json()["payment"]
    assert balance(client, "cus_jane_doe", JANE_GIFT_100) == "35.00"
    # Back to a card: the gift card gets the total back.
    response = patch_payment(client, "4522", JANE_MASTERCARD)
    assert response.status_code == 200, response.text
    assert response.json()["payment"] == {"method": "card", "brand": "Mastercard", "last4": "5454",
                                          "payment_method_id": JANE_MASTERCARD}  # fmt: skip
    assert balance(client, "cus_jane_doe", JANE_GIFT_100) == "100.00"


def test_a_card_for_a_card_moves_no_balance(client: TestClient) -> None:
    response = patch_payment(client, "4522", JANE_MASTERCARD)
    assert response.status_code == 200, response.text
    assert response.json()["payment"]["last4"] == "5454"
    assert [balance(client, "cus_jane_doe", g) for g in (JANE_GIFT_100, JANE_GIFT_3)] == ["100.00", "3.00"]


def test_a_gift_card_that_does_not_cover_the_total_is_refused(client: TestClient) -> None:
    refused(patch_payment(client, "4522", JANE_GIFT_3), "invalid_payment_method", "insufficient_balance")
    assert balance(client, "cus_jane_doe", JANE_GIFT_3) == "3.00"
    assert client.get("/orders/4522").json()["payment"]["payment_method_id"] == JANE_VISA


def test_the_method_already_paying_is_unchanged(client: TestClient) -> None:
    refused(patch_payment(client, "4522", JANE_VISA), "invalid_payment_method", "unchanged")


@pytest.mark.parametrize("payment_method_id", [SAM_AMEX, "pm_sam_paypal", "pm_nobody_visa_1111"])
def test_a_method_that_is_not_the_customers_is_refused(client: TestClient, payment_method_id: str) -> None:
    refused(patch_payment(client, "4522", payment_method_id), "invalid_payment_method", "not_customers")
    assert client.get("/orders/4522").json()["payment"]["payment_method_id"] == JANE_VISA


@pytest.mark.parametrize(
    ("order_id", "method", "reason"),
    [("4523", JANE_VISA, "already_shipped"), ("4521", JANE_MASTERCARD, "already_delivered"),
     ("4525", SAM_AMEX, "already_cancelled")],
)  # fmt: skip
def test_only_orders_that_have_not_shipped_change(client: TestClient, order_id: str, method: str, reason: str) -> None:
    before = client.get(f"/orders/{order_id}").json()["payment"]
    refused(patch_payment(client, order_id, method), "cannot_change_payment", reason)
    assert client.get(f"/orders/{order_id}").json()["payment"] == before


def test_look_up_and_body_errors(client: TestClient) -> None:
    assert_error(patch_payment(client, "9999", JANE_VISA), 404, "order_not_found")
    assert_error(patch_payment(client, "45 22", JANE_VISA), 404, "order_not_found")
    for body in ({}, {"payment_method_id": None}, {"payment_method_id": "bad id"},
                 {"payment_method_id": JANE_MASTERCARD, "total": "1.00"}):  # fmt: skip
        assert_error(client.patch("/orders/4522/payment", json=body, headers=idem()), 422, "validation_error")
    assert_error(client.patch("/orders/4522/payment", json={"payment_method_id": JANE_MASTERCARD}), 400,
                 "idempotency_key_required")  # fmt: skip


def test_a_retry_replays_the_first_answer_and_charges_once(client: TestClient) -> None:
    first = patch_payment(client, "4522", JANE_GIFT_100, key="pay-1")
    again = patch_payment(client, "4522", JANE_GIFT_100, key="pay-1")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert balance(client, "cus_jane_doe", JANE_GIFT_100) == "35.00"
    assert_error(patch_payment(client, "4522", JANE_MASTERCARD, key="pay-1"), 422, "idempotency_key_reused")
    refused(patch_payment(client, "4522", JANE_GIFT_100), "invalid_payment_method", "unchanged")


def test_after_an_item_change_the_new_total_moves(client: TestClient) -> None:
    body = {"items": [{"item_id": "4522-1", "new_variant_id": "canvas-sneakers-11"}], "payment_method_id": JANE_VISA}
    assert client.patch("/orders/4522/items", json=body, headers=idem()).status_code == 200
    response = patch_payment(client, "4522", JANE_GIFT_100)
    assert response.json()["total"] == "69.00"
    assert balance(client, "cus_jane_doe", JANE_GIFT_100) == "31.00"


def test_racing_changes_to_one_gift_card_charge_it_once(live_server: str) -> None:
    requests = [("PATCH", "/orders/4522/payment", {"payment_method_id": JANE_GIFT_100}, idem(f"pay-race-{i}"))
                for i in range(RACERS)]  # fmt: skip
    responses = _race(live_server, requests)
    assert Counter(r.status_code for r in responses) == {200: 1, 409: RACERS - 1}, [r.text for r in responses]
    assert all(r.json()["error"]["reason"] == "unchanged" for r in responses if r.status_code == 409)
    with httpx.Client(base_url=live_server, headers=AUTH) as http:
        methods = http.get("/customers/cus_jane_doe").json()["payment_methods"]
    assert next(m["balance"] for m in methods if m["payment_method_id"] == JANE_GIFT_100) == "35.00"


# ---- τ-bench -----------------------------------------------------------------------------------------


def _methods(raw: dict) -> list[dict]:
    return list(DATA["users"][raw["user_id"]]["payment_methods"].values())


def _paid_with(raw: dict) -> str:
    return next(p["payment_method_id"] for p in raw["payment_history"] if p["transaction_type"] == "payment")


def _total(raw: dict) -> int:
    return sum(_cents(i["price"]) for i in raw["items"])


def test_a_pending_tau_order_moves_to_a_gift_card_that_covers_it(tau_client: TestClient, tau_fresh: Database) -> None:
    order_id, raw, _ = _tau_order(tau_client, "pending", lambda o, r, ls: not _paid_with(r).startswith("gift_card")
                                  and any(m["source"] == "gift_card" and _cents(m["balance"]) >= _total(r)
                                          for m in _methods(r)))  # fmt: skip
    card = next(m for m in _methods(raw) if m["source"] == "gift_card" and _cents(m["balance"]) >= _total(raw))
    response = patch_payment(tau_client, order_id, card["id"])
    assert response.status_code == 200, response.text
    assert response.json() == {
        "order_id": order_id,
        "payment": {"method": "gift_card", "brand": "Gift Card", "last4": None, "payment_method_id": card["id"]},
        "total": _money(_total(raw)),
    }
    assert balance(tau_client, raw["user_id"], card["id"]) == _money(_cents(card["balance"]) - _total(raw))


def test_a_pending_tau_order_paid_by_gift_card_gets_its_balance_back(
    tau_client: TestClient, tau_fresh: Database
) -> None:
    order_id, raw, _ = _tau_order(tau_client, "pending", lambda o, r, ls: _paid_with(r).startswith("gift_card")
                                  and any(m["id"] != _paid_with(r) and m["source"] != "gift_card"
                                          for m in _methods(r)))  # fmt: skip
    old = next(m for m in _methods(raw) if m["id"] == _paid_with(raw))
    new = next(m for m in _methods(raw) if m["id"] != old["id"] and m["source"] != "gift_card")
    response = patch_payment(tau_client, order_id, new["id"])
    assert response.status_code == 200, response.text
    assert response.json()["payment"]["payment_method_id"] == new["id"]
    assert balance(tau_client, raw["user_id"], old["id"]) == _money(_cents(old["balance"]) + _total(raw))


def test_tau_refusals(tau_client: TestClient) -> None:
    order_id, raw, _ = _tau_order(tau_client, "pending", lambda o, r, ls: any(
        m["source"] == "gift_card" and _cents(m["balance"]) < _total(r) and m["id"] != _paid_with(r)
        for m in _methods(r)))  # fmt: skip
    poor = next(m for m in _methods(raw) if m["source"] == "gift_card" and _cents(m["balance"]) < _total(raw)
                and m["id"] != _paid_with(raw))  # fmt: skip
    refused(patch_payment(tau_client, order_id, poor["id"]), "invalid_payment_method", "insufficient_balance")
    refused(patch_payment(tau_client, order_id, _paid_with(raw)), "invalid_payment_method", "unchanged")
    stranger = next(pm for uid, u in DATA["users"].items() if uid != raw["user_id"] for pm in u["payment_methods"])
    refused(patch_payment(tau_client, order_id, stranger), "invalid_payment_method", "not_customers")
    shipped_id, shipped, _ = _tau_order(tau_client, "processed", lambda o, r, ls: len(_methods(r)) > 1)
    other = next(m["id"] for m in _methods(shipped) if m["id"] != _paid_with(shipped))
    refused(patch_payment(tau_client, shipped_id, other), "cannot_change_payment", "already_shipped")
