"""Changing items of an order that has not shipped (a size, a colour): the policy's statuses, variant and payment
rules, the total and gift card balances, all or nothing, idempotency, a race on one order; demo and τ-bench."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from commerce_api.db import Database
from commerce_api.models import ProductVariant, ShopPolicyRow
from commerce_api.tests.conftest import AUTH, assert_error, idem
from commerce_api.tests.test_concurrency import RACERS, _race
from commerce_api.tests.test_exchanges import (
    DATA,
    JANE_GIFT_3,
    JANE_GIFT_100,
    JANE_VISA,
    SAM_AMEX,
    _alternatives,
    _cents,
    _gift_cards,
    _money,
    _tau_order,
    balance,
    path_of,
    refused,
)


def change_body(*changes: tuple[str, str], payment_method_id: str | None = None) -> dict:
    return {"items": [{"item_id": i, "new_variant_id": v} for i, v in changes], "payment_method_id": payment_method_id}


def patch_items(client: TestClient | httpx.Client, order_id: str, *changes: tuple[str, str],
                payment_method_id: str | None = None, key: str | None = None):  # fmt: skip
    body = change_body(*changes, payment_method_id=payment_method_id)
    return client.patch(f"/orders/{path_of(order_id)}/items", json=body, headers=idem(key))


# ---- demo shop ---------------------------------------------------------------------------------------


def test_a_bigger_size_costs_more_the_total_grows_and_the_gift_card_pays(client: TestClient) -> None:
    response = patch_items(client, "4522", ("4522-1", "canvas-sneakers-11"), payment_method_id=JANE_GIFT_100)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "order_id": "4522",
        "items": [{"item_id": "4522-1", "name": "Canvas Sneakers", "old_options": {"size": "9"},
                   "new_variant_id": "canvas-sneakers-11", "new_options": {"size": "11"}, "old_price": "65.00",
                   "new_price": "69.00"}],
        "price_difference": "4.00",
        "payment_method_id": JANE_GIFT_100,
        "total": "69.00",
    }  # fmt: skip
    order = client.get("/orders/4522").json()
    assert order["total"] == "69.00"
    item = order["items"][0]
    assert {k: item[k] for k in ("item_id", "variant_id", "options", "size", "price")} == {
        "item_id": "4522-1", "variant_id": "canvas-sneakers-11", "options": {"size": "11"}, "size": "11",
        "price": "69.00"}  # fmt: skip
    assert balance(client, "cus_jane_doe", JANE_GIFT_100) == "96.00"
    assert order["payment"]["payment_method_id"] == JANE_VISA  # what paid the order is unchanged


def test_a_cheaper_size_refunds_the_difference(client: TestClient) -> None:
    response = patch_items(client, "4522", ("4522-1", "canvas-sneakers-8"), payment_method_id=JANE_GIFT_3)
    assert response.status_code == 200, response.text
    assert (response.json()["price_difference"], response.json()["total"]) == ("-3.00", "62.00")
    assert balance(client, "cus_jane_doe", JANE_GIFT_3) == "6.00"
    assert client.get("/orders/4522").json()["total"] == "62.00"


def test_the_same_price_needs_no_payment_method(client: TestClient) -> None:
    response = patch_items(client, "4522", ("4522-1", "canvas-sneakers-10"))
    assert response.status_code == 200, response.text
    assert (response.json()["price_difference"], response.json()["payment_method_id"]) == ("0.00", None)
    assert response.json()["total"] == "65.00"
    assert client.get("/orders/4522").json()["items"][0]["size"] == "10"


def test_a_card_pays_the_difference_and_no_balance_moves(client: TestClient) -> None:
    response = patch_items(client, "4522", ("4522-1", "canvas-sneakers-11"), payment_method_id=JANE_VISA)
    assert response.status_code == 200, response.text
    assert [balance(client, "cus_jane_doe", g) for g in (JANE_GIFT_100, JANE_GIFT_3)] == ["100.00", "3.00"]


@pytest.mark.parametrize(
    ("order_id", "reason"), [("4523", "already_shipped"), ("4521", "already_delivered"), ("4525", "already_cancelled")]
)
def test_only_orders_that_have_not_shipped_change(client: TestClient, order_id: str, reason: str) -> None:
    item = f"{order_id}-1"
    variant = {"4523": "wool-beanie-one", "4521": "denim-jacket-l", "4525": "rain-jacket-one"}[order_id]
    refused(patch_items(client, order_id, (item, variant), payment_method_id=JANE_VISA), "cannot_change_items", reason)
    assert client.get(f"/orders/{order_id}").json()["items"][0]["variant_id"] != "denim-jacket-l"


@pytest.mark.parametrize(
    ("variant", "reason"),
    [
        ("canvas-sneakers-9", "same_variant"),
        ("denim-jacket-l", "other_product"),
        ("canvas-sneakers-12", "unknown_variant"),
    ],
)
def test_variant_rules(client: TestClient, variant: str, reason: str) -> None:
    refused(patch_items(client, "4522", ("4522-1", variant), payment_method_id=JANE_VISA), "invalid_variant", reason,
            item_id="4522-1")  # fmt: skip
    assert client.get("/orders/4522").json()["items"][0]["variant_id"] == "canvas-sneakers-9"


def test_an_unavailable_variant_is_refused(client: TestClient, seeded: Database) -> None:
    with seeded.transaction() as session:  # the demo's sneakers are all in stock: sell size 11 out
        session.execute(update(ProductVariant).where(ProductVariant.id == "canvas-sneakers-11").values(available=False))
    refused(patch_items(client, "4522", ("4522-1", "canvas-sneakers-11"), payment_method_id=JANE_VISA),
            "invalid_variant", "variant_unavailable", item_id="4522-1")  # fmt: skip


def test_payment_rules(client: TestClient) -> None:
    refused(patch_items(client, "4522", ("4522-1", "canvas-sneakers-11")), "payment_required",
            "payment_method_required")  # fmt: skip
    refused(patch_items(client, "4522", ("4522-1", "canvas-sneakers-11"), payment_method_id=SAM_AMEX),
            "invalid_payment_method", "not_customers")  # fmt: skip
    refused(patch_items(client, "4522", ("4522-1", "canvas-sneakers-10"), payment_method_id=SAM_AMEX),
            "invalid_payment_method", "not_customers")  # fmt: skip
    refused(patch_items(client, "4522", ("4522-1", "canvas-sneakers-11"), payment_method_id=JANE_GIFT_3),
            "invalid_payment_method", "insufficient_balance")  # fmt: skip
    assert balance(client, "cus_jane_doe", JANE_GIFT_3) == "3.00"
    assert client.get("/orders/4522").json()["total"] == "65.00"


def test_look_up_and_body_errors(client: TestClient) -> None:
    assert_error(patch_items(client, "9999", ("9999-1", "canvas-sneakers-10")), 404, "order_not_found")
    assert_error(patch_items(client, "x" * 40, ("9999-1", "canvas-sneakers-10")), 404, "order_not_found")
    err = assert_error(patch_items(client, "4522", ("4521-1", "canvas-sneakers-10")), 404, "item_not_found")
    assert err["item_id"] == "4521-1"
    for body in ({"items": []}, {"items": [{"item_id": "4522-1", "new_variant_id": "canvas-sneakers-10"}] * 2},
                 {**change_body(("4522-1", "canvas-sneakers-10")), "order_id": "4522"}, {}):  # fmt: skip
        assert_error(client.patch("/orders/4522/items", json=body, headers=idem()), 422, "validation_error")
    assert_error(client.patch("/orders/4522/items", json=change_body(("4522-1", "canvas-sneakers-10"))), 400,
                 "idempotency_key_required")  # fmt: skip


def test_a_retry_replays_the_first_answer_and_changes_once(client: TestClient) -> None:
    first = patch_items(client, "4522", ("4522-1", "canvas-sneakers-11"), payment_method_id=JANE_GIFT_100, key="ic")
    again = patch_items(client, "4522", ("4522-1", "canvas-sneakers-11"), payment_method_id=JANE_GIFT_100, key="ic")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert client.get("/orders/4522").json()["total"] == "69.00"
    assert balance(client, "cus_jane_doe", JANE_GIFT_100) == "96.00"
    other = patch_items(client, "4522", ("4522-1", "canvas-sneakers-8"), payment_method_id=JANE_GIFT_100, key="ic")
    assert_error(other, 422, "idempotency_key_reused")
    # a new key for the same change finds it made already
    refused(patch_items(client, "4522", ("4522-1", "canvas-sneakers-11"), payment_method_id=JANE_GIFT_100),
            "invalid_variant", "same_variant")  # fmt: skip


def test_the_policy_decides_which_statuses_allow_it(client: TestClient, seeded: Database) -> None:
    with seeded.transaction() as session:  # a row from before the setting existed: processing only
        session.execute(update(ShopPolicyRow).values(item_change_statuses=None))
    assert patch_items(client, "4522", ("4522-1", "canvas-sneakers-10")).status_code == 200
    refused(patch_items(client, "4523", ("4523-1", "wool-beanie-one")), "cannot_change_items", "already_shipped")
    with seeded.transaction() as session:
        session.execute(update(ShopPolicyRow).values(item_change_statuses=["processing", "shipped"]))
    # now the shipped order passes the status check and reaches the variant rules
    refused(patch_items(client, "4523", ("4523-1", "wool-beanie-one")), "invalid_variant", "same_variant")


def test_racing_changes_of_one_order_apply_once(live_server: str) -> None:
    body = change_body(("4522-1", "canvas-sneakers-11"), payment_method_id=JANE_GIFT_100)
    responses = _race(live_server, [("PATCH", "/orders/4522/items", body, idem(f"ic-race-{i}")) for i in range(RACERS)])
    assert Counter(r.status_code for r in responses) == {200: 1, 409: RACERS - 1}, [r.text for r in responses]
    assert all(r.json()["error"]["reason"] == "same_variant" for r in responses if r.status_code == 409)
    with httpx.Client(base_url=live_server, headers=AUTH) as http:
        assert http.get("/orders/4522").json()["total"] == "69.00"
        methods = http.get("/customers/cus_jane_doe").json()["payment_methods"]
    assert next(m["balance"] for m in methods if m["payment_method_id"] == JANE_GIFT_100) == "96.00"


# ---- τ-bench -----------------------------------------------------------------------------------------


def test_a_pending_tau_order_changes_a_size_and_its_gift_card_pays(tau_client: TestClient, tau_fresh: Database) -> None:
    def fits(order_id: str, raw: dict, lines: list[str]) -> bool:
        dearer = _alternatives(raw["items"][0])["dearer"]
        cards = _gift_cards(raw)
        return bool(dearer and cards) and _cents(cards[0]["balance"]) >= min(
            _cents(p) for _, p in dearer) - _cents(raw["items"][0]["price"])

    order_id, raw, lines = _tau_order(tau_client, "pending", fits)
    order = tau_client.get(f"/orders/{path_of(order_id)}").json()
    assert order["status"] == "processing"
    card = _gift_cards(raw)[0]
    variant_id, price = min(_alternatives(raw["items"][0])["dearer"], key=lambda v: v[1])
    difference = _cents(price) - _cents(raw["items"][0]["price"])
    response = patch_items(tau_client, order_id, (lines[0], variant_id), payment_method_id=card["id"])
    assert response.status_code == 200, response.text
    total = _cents(float(order["total"])) + difference
    assert response.json()["price_difference"] == _money(difference)
    assert response.json()["total"] == _money(total)
    after = tau_client.get(f"/orders/{path_of(order_id)}").json()
    assert after["total"] == _money(total)
    options = {k: str(v) for k, v in DATA["products"][raw["items"][0]["product_id"]]["variants"][variant_id][
        "options"].items()}  # fmt: skip
    assert (after["items"][0]["item_id"], after["items"][0]["variant_id"]) == (lines[0], variant_id)
    assert (after["items"][0]["options"], after["items"][0]["size"]) == (options, options.get("size"))
    assert balance(tau_client, raw["user_id"], card["id"]) == _money(_cents(card["balance"]) - difference)


def test_a_shipped_tau_order_cannot_change(tau_client: TestClient) -> None:
    order_id, raw, lines = _tau_order(tau_client, "processed", lambda o, r, ls: bool(
        _alternatives(r["items"][0])["dearer"] or _alternatives(r["items"][0])["cheaper"]))
    alternatives = _alternatives(raw["items"][0])
    variant = (alternatives["dearer"] or alternatives["cheaper"])[0][0]
    method = next(iter(DATA["users"][raw["user_id"]]["payment_methods"]))
    refused(patch_items(tau_client, order_id, (lines[0], variant), payment_method_id=method), "cannot_change_items",
            "already_shipped")  # fmt: skip
