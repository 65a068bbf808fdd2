"""Exchanges of delivered items for other variants: eligibility as for returns, variant and payment rules, price
differences and gift card balances, one open request per item (also racing), idempotency; demo and τ-bench."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from commerce_api.db import Database
from commerce_api.services import orders as orders_service
from commerce_api.settings import DEFAULT_SHOPS_DIR
from commerce_api.shopdata import tau_retail
from commerce_api.tests.conftest import AUTH, assert_error, idem, post_return
from commerce_api.tests.test_concurrency import RACERS, _race

DATA = json.loads((Path(DEFAULT_SHOPS_DIR) / "tau-retail" / "db.json").read_text(encoding="utf-8"))
JANE_VISA, JANE_GIFT_100, JANE_GIFT_3 = "pm_jane_visa_4242", "pm_jane_gift_card_7310", "pm_jane_gift_card_2264"
SAM_AMEX = "pm_sam_amex_0005"


def exchange_body(order_id: str, *changes: tuple[str, str], payment_method_id: str | None = None) -> dict:
    return {
        "order_id": order_id,
        "items": [{"item_id": item_id, "new_variant_id": variant_id} for item_id, variant_id in changes],
        "payment_method_id": payment_method_id,
    }


def post_exchange(client: TestClient | httpx.Client, order_id: str, *changes: tuple[str, str],
                  payment_method_id: str | None = None, key: str | None = None):  # fmt: skip
    body = exchange_body(order_id, *changes, payment_method_id=payment_method_id)
    return client.post("/exchanges", json=body, headers=idem(key))


def balance(client: TestClient, customer_id: str, payment_method_id: str) -> str | None:
    methods = client.get(f"/customers/{customer_id}").json()["payment_methods"]
    return next(m["balance"] for m in methods if m["payment_method_id"] == payment_method_id)


def path_of(order_id: str) -> str:
    return order_id.replace("#", "%23")


def refused(response, code: str, reason: str, item_id: str | None = None) -> dict:
    err = assert_error(response, 409, code)
    assert err["reason"] == reason, err
    if item_id is not None:
        assert err["item_id"] == item_id, err
    return err


# ---- demo shop: price differences ----------------------------------------------------------------------


def test_an_exchange_for_a_cheaper_size_refunds_the_difference_to_a_gift_card(client: TestClient) -> None:
    response = post_exchange(client, "4521", ("4521-1", "denim-jacket-s"), payment_method_id=JANE_GIFT_3)
    assert response.status_code == 201, response.text
    exchange = response.json()
    assert re.fullmatch(r"EXC-[A-Z0-9]{8}", exchange["exchange_id"])
    assert re.fullmatch(r"LBL-[A-Z0-9]+", exchange["label_reference"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", exchange["created_at"])
    assert {k: v for k, v in exchange.items() if k not in ("exchange_id", "label_reference", "created_at")} == {
        "order_id": "4521",
        "status": "label_sent",
        "items": [{"item_id": "4521-1", "name": "Blue Denim Jacket", "old_options": {"size": "M"},
                   "new_variant_id": "denim-jacket-s", "new_options": {"size": "S"}, "old_price": "89.00",
                   "new_price": "84.00"}],
        "price_difference": "-5.00",
        "payment_method_id": JANE_GIFT_3,
    }  # fmt: skip
    assert balance(client, "cus_jane_doe", JANE_GIFT_3) == "8.00"  # 3.00 + the 5.00 refunded at once
    assert client.get(f"/exchanges/{exchange['exchange_id']}").json() == exchange
    assert client.get("/exchanges", params={"order_id": "4521"}).json() == {"exchanges": [exchange]}
    assert client.get("/returns", params={"order_id": "4521"}).json() == {"returns": []}  # returns only
    order = client.get("/orders/4521").json()
    jacket = order["items"][0]
    assert (jacket["exchange_id"], jacket["exchange_status"]) == (exchange["exchange_id"], "label_sent")
    assert (jacket["return_id"], jacket["return_status"]) == (None, None)
    # The delivered item stays what was delivered; the order's total is what was paid for it.
    assert (jacket["variant_id"], jacket["price"], order["total"]) == ("denim-jacket-m", "89.00", "108.00")
    assert order["items"][1]["exchange_id"] is None


def test_an_exchange_for_a_dearer_size_charges_the_difference(client: TestClient) -> None:
    response = post_exchange(client, "4521", ("4521-1", "denim-jacket-l"), payment_method_id=JANE_VISA)
    assert response.status_code == 201, response.text
    exchange = response.json()
    assert (exchange["price_difference"], exchange["payment_method_id"]) == ("6.00", JANE_VISA)
    assert exchange["items"][0]["new_price"] == "95.00"
    assert [balance(client, "cus_jane_doe", g) for g in (JANE_GIFT_100, JANE_GIFT_3)] == ["100.00", "3.00"]


def test_a_charge_to_a_gift_card_takes_it_off_the_balance(client: TestClient) -> None:
    response = post_exchange(client, "4521", ("4521-1", "denim-jacket-l"), payment_method_id=JANE_GIFT_100)
    assert response.status_code == 201, response.text
    assert balance(client, "cus_jane_doe", JANE_GIFT_100) == "94.00"


def test_a_gift_card_that_does_not_cover_the_charge_is_refused(client: TestClient) -> None:
    response = post_exchange(client, "4521", ("4521-1", "denim-jacket-l"), payment_method_id=JANE_GIFT_3)
    refused(response, "invalid_payment_method", "insufficient_balance")
    assert balance(client, "cus_jane_doe", JANE_GIFT_3) == "3.00"
    assert client.get("/exchanges", params={"order_id": "4521"}).json() == {"exchanges": []}


def test_the_same_price_needs_no_payment_method(client: TestClient) -> None:
    response = post_exchange(client, "4526", ("4526-2", "chino-shorts-34"))
    assert response.status_code == 201, response.text
    exchange = response.json()
    assert (exchange["price_difference"], exchange["payment_method_id"]) == ("0.00", None)
    assert exchange["items"][0]["old_options"] == {"size": "32"}
    assert exchange["items"][0]["new_options"] == {"size": "34"}


def test_the_same_price_with_a_payment_method_records_it_and_it_must_be_the_customers(client: TestClient) -> None:
    refused(post_exchange(client, "4526", ("4526-2", "chino-shorts-30"), payment_method_id=JANE_VISA),
            "invalid_payment_method", "not_customers")  # fmt: skip
    response = post_exchange(client, "4526", ("4526-2", "chino-shorts-30"), payment_method_id=SAM_AMEX)
    assert response.status_code == 201, response.text
    assert (response.json()["price_difference"], response.json()["payment_method_id"]) == ("0.00", SAM_AMEX)


def test_a_difference_needs_a_payment_method(client: TestClient) -> None:
    refused(post_exchange(client, "4521", ("4521-1", "denim-jacket-l")), "payment_required", "payment_method_required")
    refused(post_exchange(client, "4521", ("4521-1", "denim-jacket-s")), "payment_required", "payment_method_required")


@pytest.mark.parametrize("payment_method_id", [SAM_AMEX, "pm_nobody_visa_1111"])
def test_a_payment_method_of_another_customer_is_refused(client: TestClient, payment_method_id: str) -> None:
    refused(post_exchange(client, "4521", ("4521-1", "denim-jacket-l"), payment_method_id=payment_method_id),
            "invalid_payment_method", "not_customers")  # fmt: skip
    assert client.get("/exchanges", params={"order_id": "4521"}).json() == {"exchanges": []}


# ---- demo shop: variants and eligibility --------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("4521-1", "denim-jacket-xl"), "variant_unavailable"),
        (("4526-2", "chino-shorts-36"), "variant_unavailable"),
        (("4521-1", "chino-shorts-34"), "other_product"),
        (("4521-1", "denim-jacket-m"), "same_variant"),
        (("4521-2", "striped-scarf-one"), "same_variant"),
        (("4521-1", "denim-jacket-xxl"), "unknown_variant"),
    ],
)
def test_the_new_variant_must_be_another_one_of_the_same_product_in_stock(
    client: TestClient, change: tuple[str, str], reason: str
) -> None:
    order_id = change[0].split("-")[0]
    customer_method = JANE_VISA if order_id == "4521" else SAM_AMEX
    refused(post_exchange(client, order_id, change, payment_method_id=customer_method), "invalid_variant", reason,
            item_id=change[0])  # fmt: skip
    assert client.get("/exchanges", params={"order_id": order_id}).json() == {"exchanges": []}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (("4526-1", "linen-shirt-m"), "final_sale"),
        (("4524-1", "leather-belt-one"), "outside_return_window"),
        (("4522-1", "canvas-sneakers-10"), "not_delivered"),
        (("4523-1", "wool-beanie-one"), "not_delivered"),
        (("4525-1", "rain-jacket-one"), "order_cancelled"),
    ],
)
def test_only_items_that_could_be_returned_can_be_exchanged(
    client: TestClient, change: tuple[str, str], reason: str
) -> None:
    order_id = change[0].split("-")[0]
    refused(post_exchange(client, order_id, change), "not_eligible", reason, item_id=change[0])


def test_several_items_are_all_or_nothing_and_the_first_failing_item_is_named(client: TestClient) -> None:
    response = post_exchange(client, "4526", ("4526-2", "chino-shorts-34"), ("4526-1", "linen-shirt-m"))
    refused(response, "not_eligible", "final_sale", item_id="4526-1")
    response = post_exchange(client, "4521", ("4521-1", "denim-jacket-l"), ("4521-2", "denim-jacket-s"),
                             payment_method_id=JANE_VISA)  # fmt: skip
    refused(response, "invalid_variant", "other_product", item_id="4521-2")
    assert client.get("/exchanges", params={"order_id": "4521"}).json() == {"exchanges": []}
    assert client.get("/exchanges", params={"order_id": "4526"}).json() == {"exchanges": []}
    # nothing was taken: the jacket alone still goes through
    assert post_exchange(client, "4521", ("4521-1", "denim-jacket-l"), payment_method_id=JANE_VISA).status_code == 201


def test_an_exchanged_item_cannot_be_returned_or_exchanged_again(client: TestClient) -> None:
    exchange = post_exchange(client, "4526", ("4526-2", "chino-shorts-34")).json()
    err = refused(post_return(client, item_id="4526-2"), "not_eligible", "already_returned", item_id="4526-2")
    assert "exchange" in err["message"]
    refused(post_exchange(client, "4526", ("4526-2", "chino-shorts-30")), "not_eligible", "already_returned",
            item_id="4526-2")  # fmt: skip
    eligibility = client.get("/orders/4526/items/4526-2/return-eligibility").json()
    assert (eligibility["eligible"], eligibility["reason"]) == (False, "already_returned")
    assert client.get("/returns", params={"order_id": "4526"}).json() == {"returns": []}
    assert client.get("/exchanges", params={"order_id": "4526"}).json() == {"exchanges": [exchange]}


def test_a_returned_item_cannot_be_exchanged(client: TestClient) -> None:
    assert post_return(client, item_id="4526-2").status_code == 201
    err = refused(post_exchange(client, "4526", ("4526-2", "chino-shorts-34")), "not_eligible", "already_returned",
                  item_id="4526-2")  # fmt: skip
    assert "return" in err["message"]
    item = client.get("/orders/4526").json()["items"][1]
    assert item["return_id"] and item["exchange_id"] is None and item["exchange_status"] is None


def test_the_unique_item_constraint_settles_what_the_check_missed(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if a concurrent return had taken the item between the exchange's check and its insert.
    assert post_return(client, item_id="4526-2").status_code == 201
    real = orders_service.evaluate_return
    monkeypatch.setattr(orders_service, "evaluate_return", lambda **kw: real(**{**kw, "already_returned": False}))
    refused(post_exchange(client, "4526", ("4526-2", "chino-shorts-34")), "not_eligible", "already_returned",
            item_id="4526-2")  # fmt: skip
    assert client.get("/exchanges", params={"order_id": "4526"}).json() == {"exchanges": []}


def test_a_refused_exchange_moves_no_balance(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    # The charge comes after the insert; a lost race for the item rolls the whole exchange back.
    assert post_return(client, item_id="4521-1").status_code == 201
    real = orders_service.evaluate_return
    monkeypatch.setattr(orders_service, "evaluate_return", lambda **kw: real(**{**kw, "already_returned": False}))
    refused(post_exchange(client, "4521", ("4521-1", "denim-jacket-l"), payment_method_id=JANE_GIFT_100),
            "not_eligible", "already_returned")  # fmt: skip
    assert balance(client, "cus_jane_doe", JANE_GIFT_100) == "100.00"


# ---- look-ups, validation, idempotency ---------------------------------------------------------------


def test_look_up_errors(client: TestClient) -> None:
    assert_error(post_exchange(client, "9999", ("9999-1", "denim-jacket-s")), 404, "order_not_found")
    err = assert_error(post_exchange(client, "4521", ("4521-1", "denim-jacket-l"), ("4526-2", "chino-shorts-34"),
                                     payment_method_id=JANE_VISA), 404, "item_not_found")  # fmt: skip
    assert err["item_id"] == "4526-2"
    assert_error(client.get("/exchanges", params={"order_id": "9999"}), 404, "order_not_found")
    assert_error(client.get("/exchanges"), 422, "validation_error")
    assert_error(client.get("/exchanges/EXC-00000000"), 404, "exchange_not_found")
    assert_error(client.get("/exchanges/exc-1"), 404, "exchange_not_found")
    ret = post_return(client, item_id="4526-2").json()
    assert_error(client.get(f"/exchanges/{ret['return_id']}"), 404, "exchange_not_found")
    exchange = post_exchange(client, "4521", ("4521-1", "denim-jacket-s"), payment_method_id=JANE_VISA).json()
    assert_error(client.get(f"/returns/{exchange['exchange_id']}"), 404, "return_not_found")


@pytest.mark.parametrize(
    "patch",
    [
        {"items": []},
        {"items": [{"item_id": "4521-1", "new_variant_id": "denim-jacket-s"}] * 2},
        {"items": [{"item_id": f"4521-{n}", "new_variant_id": "denim-jacket-s"} for n in range(21)]},
        {"items": [{"item_id": "4521-1"}]},
        {"items": [{"item_id": "4521-1", "new_variant_id": "denim jacket"}]},
        {"items": [{"item_id": "4521-1", "new_variant_id": "denim-jacket-s", "size": "S"}]},
        {"payment_method_id": "bad id"},
        {"order_id": "45 21"},
        {"gift_card_id": JANE_GIFT_100},
    ],
)
def test_body_validation(client: TestClient, patch: dict) -> None:
    body = {**exchange_body("4521", ("4521-1", "denim-jacket-s"), payment_method_id=JANE_VISA), **patch}
    err = assert_error(client.post("/exchanges", json=body, headers=idem()), 422, "validation_error")
    assert err["fields"]


def test_an_idempotency_key_is_required(client: TestClient) -> None:
    body = exchange_body("4521", ("4521-1", "denim-jacket-s"), payment_method_id=JANE_VISA)
    assert_error(client.post("/exchanges", json=body), 400, "idempotency_key_required")


def test_a_retry_replays_the_first_answer_and_exchanges_once(client: TestClient) -> None:
    first = post_exchange(client, "4521", ("4521-1", "denim-jacket-s"), payment_method_id=JANE_GIFT_3, key="exc-1")
    again = post_exchange(client, "4521", ("4521-1", "denim-jacket-s"), payment_method_id=JANE_GIFT_3, key="exc-1")
    assert first.status_code == again.status_code == 201
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"
    assert balance(client, "cus_jane_doe", JANE_GIFT_3) == "8.00"  # refunded once
    assert len(client.get("/exchanges", params={"order_id": "4521"}).json()["exchanges"]) == 1
    other = post_exchange(client, "4521", ("4521-1", "denim-jacket-l"), payment_method_id=JANE_VISA, key="exc-1")
    assert_error(other, 422, "idempotency_key_reused")
    # an omitted payment_method_id is the same request as a null one
    body = {"order_id": "4526", "items": [{"item_id": "4526-2", "new_variant_id": "chino-shorts-34"}]}
    omitted = client.post("/exchanges", json=body, headers=idem("exc-2"))
    null = client.post("/exchanges", json={**body, "payment_method_id": None}, headers=idem("exc-2"))
    assert omitted.status_code == 201 and null.content == omitted.content


def test_a_refusal_is_replayed_too(client: TestClient) -> None:
    first = post_exchange(client, "4521", ("4521-1", "denim-jacket-xl"), payment_method_id=JANE_VISA, key="exc-r")
    again = post_exchange(client, "4521", ("4521-1", "denim-jacket-xl"), payment_method_id=JANE_VISA, key="exc-r")
    refused(first, "invalid_variant", "variant_unavailable")
    assert again.content == first.content and again.headers["idempotent-replayed"] == "true"


# ---- races ---------------------------------------------------------------------------------------------


def test_racing_exchanges_of_one_item_create_one(live_server: str) -> None:
    body = exchange_body("4521", ("4521-1", "denim-jacket-l"), payment_method_id=JANE_GIFT_100)
    responses = _race(live_server, [("POST", "/exchanges", body, idem(f"exc-race-{i}")) for i in range(RACERS)])
    assert Counter(r.status_code for r in responses) == {201: 1, 409: RACERS - 1}, [r.text for r in responses]
    for r in responses:
        if r.status_code == 409:
            assert (r.json()["error"]["code"], r.json()["error"]["reason"]) == ("not_eligible", "already_returned")
    with httpx.Client(base_url=live_server, headers=AUTH) as http:
        assert len(http.get("/exchanges", params={"order_id": "4521"}).json()["exchanges"]) == 1
        methods = http.get("/customers/cus_jane_doe").json()["payment_methods"]
    assert next(m["balance"] for m in methods if m["payment_method_id"] == JANE_GIFT_100) == "94.00"  # charged once


def test_racing_returns_and_exchanges_of_one_item_create_one_of_them(live_server: str) -> None:
    exchange = exchange_body("4526", ("4526-2", "chino-shorts-34"))
    ret = {"order_id": "4526", "item_id": "4526-2", "reason": "wrong_size", "refund_method": "original_payment"}
    requests = [("POST", "/exchanges" if i % 2 else "/returns", exchange if i % 2 else ret, idem(f"mixed-{i}"))
                for i in range(RACERS)]  # fmt: skip
    responses = _race(live_server, requests)
    assert Counter(r.status_code for r in responses) == {201: 1, 409: RACERS - 1}, [r.text for r in responses]
    with httpx.Client(base_url=live_server, headers=AUTH) as http:
        returns = http.get("/returns", params={"order_id": "4526"}).json()["returns"]
        exchanges = http.get("/exchanges", params={"order_id": "4526"}).json()["exchanges"]
    assert len(returns) + len(exchanges) == 1


# ---- τ-bench -------------------------------------------------------------------------------------------


def _alternatives(item: dict) -> dict[str, list[tuple[str, float]]]:
    """Other variants of the item's product: (id, price) by how they compare, the unavailable ones apart."""
    found: dict[str, list[tuple[str, float]]] = {"dearer": [], "cheaper": [], "same": [], "unavailable": []}
    for variant_id, variant in DATA["products"][item["product_id"]]["variants"].items():
        if variant_id == item["item_id"]:
            continue
        if not variant["available"]:
            found["unavailable"].append((variant_id, variant["price"]))
        elif variant["price"] > item["price"]:
            found["dearer"].append((variant_id, variant["price"]))
        elif variant["price"] < item["price"]:
            found["cheaper"].append((variant_id, variant["price"]))
        else:
            found["same"].append((variant_id, variant["price"]))
    return found


def _cents(amount: float) -> int:
    return round(amount * 100)


def _money(cents: int) -> str:
    return f"{'-' if cents < 0 else ''}{abs(cents) // 100}.{abs(cents) % 100:02d}"


def _eligible(client: TestClient, order_id: str, line_id: str) -> bool:
    path = f"/orders/{path_of(order_id)}/items/{line_id}/return-eligibility"
    return client.get(path).json()["eligible"]


def _tau_order(client: TestClient, status: str, accept) -> tuple[str, dict, list[str]]:
    """The first τ order of `status` (τ-bench's own) that `accept(order_id, raw, line_ids)` takes."""
    for order_id, raw in DATA["orders"].items():
        if raw["status"] == status:
            lines = tau_retail.line_ids(raw["items"])
            if accept(order_id, raw, lines):
                return order_id, raw, lines
    raise AssertionError(f"no τ {status} order fits")


def _gift_cards(raw: dict) -> list[dict]:
    return [pm for pm in DATA["users"][raw["user_id"]]["payment_methods"].values() if pm["source"] == "gift_card"]


def test_tau_exchanges_with_a_charge_and_a_refund_move_the_gift_card_balance(
    tau_client: TestClient, tau_fresh: Database
) -> None:
    def cheapest_charge(item: dict) -> int | None:
        dearer = _alternatives(item)["dearer"]
        return min(_cents(price) for _, price in dearer) - _cents(item["price"]) if dearer else None

    def fits(order_id: str, raw: dict, lines: list[str]) -> bool:
        cards = _gift_cards(raw)
        charge = cheapest_charge(raw["items"][1]) if len(raw["items"]) >= 2 else None
        return (bool(cards) and charge is not None and _cents(cards[0]["balance"]) >= charge
                and bool(_alternatives(raw["items"][0])["cheaper"])
                and all(_eligible(tau_client, order_id, line) for line in lines[:2]))  # fmt: skip

    order_id, raw, lines = _tau_order(tau_client, "delivered", fits)
    card = _gift_cards(raw)[0]
    customer = raw["user_id"]
    before = _cents(card["balance"])

    cheaper_id, cheaper_price = min(_alternatives(raw["items"][0])["cheaper"], key=lambda v: v[1])
    refund = _cents(cheaper_price) - _cents(raw["items"][0]["price"])
    response = post_exchange(tau_client, order_id, (lines[0], cheaper_id), payment_method_id=card["id"])
    assert response.status_code == 201, response.text
    exchange = response.json()
    assert exchange["price_difference"] == _money(refund) and refund < 0
    assert exchange["items"][0]["old_options"] == {k: str(v) for k, v in raw["items"][0]["options"].items()}
    catalogue = DATA["products"][raw["items"][0]["product_id"]]["variants"][cheaper_id]
    assert exchange["items"][0]["new_options"] == {k: str(v) for k, v in catalogue["options"].items()}
    assert balance(tau_client, customer, card["id"]) == _money(before - refund)

    dearer_id, dearer_price = min(_alternatives(raw["items"][1])["dearer"], key=lambda v: v[1])
    charge = _cents(dearer_price) - _cents(raw["items"][1]["price"])
    response = post_exchange(tau_client, order_id, (lines[1], dearer_id), payment_method_id=card["id"])
    assert response.status_code == 201, response.text
    assert response.json()["price_difference"] == _money(charge) and charge > 0
    assert balance(tau_client, customer, card["id"]) == _money(before - refund - charge)
    listed = tau_client.get("/exchanges", params={"order_id": order_id}).json()["exchanges"]
    assert exchange in listed  # oldest first; both were made within the same second
    assert tau_client.get("/returns", params={"order_id": order_id}).json() == {"returns": []}
    items = tau_client.get(f"/orders/{path_of(order_id)}").json()["items"]
    assert items[0]["exchange_id"] == exchange["exchange_id"] and items[0]["return_id"] is None


def test_tau_exchange_of_several_items_at_once(tau_client: TestClient, tau_fresh: Database) -> None:
    def fits(order_id: str, raw: dict, lines: list[str]) -> bool:
        return (len(raw["items"]) >= 3 and len(_gift_cards(raw)) < len(DATA["users"][raw["user_id"]]["payment_methods"])
                and all(_alternatives(i)["cheaper"] or _alternatives(i)["dearer"] for i in raw["items"][:3])
                and all(_eligible(tau_client, order_id, line) for line in lines[:3]))  # fmt: skip

    order_id, raw, lines = _tau_order(tau_client, "delivered", fits)
    changes, difference = [], 0
    for line, item in zip(lines[:3], raw["items"][:3], strict=True):
        alternatives = _alternatives(item)
        variant_id, price = (alternatives["cheaper"] or alternatives["dearer"])[0]
        changes.append((line, variant_id))
        difference += _cents(price) - _cents(item["price"])
    method = next(pm for pm in DATA["users"][raw["user_id"]]["payment_methods"].values()
                  if pm["source"] != "gift_card")  # fmt: skip
    response = post_exchange(tau_client, order_id, *changes, payment_method_id=method["id"])
    assert response.status_code == 201, response.text
    exchange = response.json()
    assert [(i["item_id"], i["new_variant_id"]) for i in exchange["items"]] == changes
    assert exchange["price_difference"] == _money(difference)
    items = tau_client.get(f"/orders/{path_of(order_id)}").json()["items"]
    assert [i["exchange_id"] for i in items[:3]] == [exchange["exchange_id"]] * 3
    # and none of them can be returned now
    body = {"order_id": order_id, "item_ids": [lines[2]], "reason": "changed_mind", "refund_method": "original_payment"}
    refused(tau_client.post("/returns", json=body, headers=idem()), "not_eligible", "already_returned", lines[2])


def test_tau_refusals(tau_client: TestClient) -> None:
    order_id, raw, lines = _tau_order(tau_client, "delivered", lambda o, r, ls: (
        _alternatives(r["items"][0])["unavailable"] and _alternatives(r["items"][0])["dearer"]
        and _eligible(tau_client, o, ls[0])))  # fmt: skip
    other_products = next(vid for pid, p in DATA["products"].items() if pid != raw["items"][0]["product_id"]
                          for vid in p["variants"])  # fmt: skip
    unavailable = _alternatives(raw["items"][0])["unavailable"][0][0]
    dearer = _alternatives(raw["items"][0])["dearer"][0][0]
    refused(post_exchange(tau_client, order_id, (lines[0], unavailable)), "invalid_variant", "variant_unavailable")
    refused(post_exchange(tau_client, order_id, (lines[0], other_products)), "invalid_variant", "other_product")
    refused(post_exchange(tau_client, order_id, (lines[0], raw["items"][0]["item_id"])), "invalid_variant",
            "same_variant")  # fmt: skip
    refused(post_exchange(tau_client, order_id, (lines[0], dearer)), "payment_required", "payment_method_required")
    stranger = next(pm for uid, u in DATA["users"].items() if uid != raw["user_id"] for pm in u["payment_methods"])
    refused(post_exchange(tau_client, order_id, (lines[0], dearer), payment_method_id=stranger),
            "invalid_payment_method", "not_customers")  # fmt: skip

    def poor(order_id: str, raw: dict, lines: list[str]) -> bool:  # a gift card below the cheapest charge
        dearer = _alternatives(raw["items"][0])["dearer"]
        charge = min((_cents(p) for _, p in dearer), default=0) - _cents(raw["items"][0]["price"])
        return bool(dearer) and any(_cents(c["balance"]) < charge for c in _gift_cards(raw)) and _eligible(
            tau_client, order_id, lines[0])

    poor_id, poor_raw, poor_lines = _tau_order(tau_client, "delivered", poor)
    dearer = min(_alternatives(poor_raw["items"][0])["dearer"], key=lambda v: v[1])
    card = min(_gift_cards(poor_raw), key=lambda c: c["balance"])
    refused(post_exchange(tau_client, poor_id, (poor_lines[0], dearer[0]), payment_method_id=card["id"]),
            "invalid_payment_method", "insufficient_balance")  # fmt: skip
    assert balance(tau_client, poor_raw["user_id"], card["id"]) == f"{card['balance']:.2f}"

    old_id, old_raw, old_lines = _tau_order(tau_client, "delivered", lambda o, r, ls: (
        not _eligible(tau_client, o, ls[0]) and (_alternatives(r["items"][0])["dearer"]
                                                 or _alternatives(r["items"][0])["cheaper"])))  # fmt: skip
    alternatives = _alternatives(old_raw["items"][0])
    variant = (alternatives["dearer"] or alternatives["cheaper"])[0][0]
    refused(post_exchange(tau_client, old_id, (old_lines[0], variant)), "not_eligible", "outside_return_window")
    pending_id, pending_raw, pending_lines = _tau_order(tau_client, "pending", lambda o, r, ls: bool(
        _alternatives(r["items"][0])["dearer"]))
    variant = _alternatives(pending_raw["items"][0])["dearer"][0][0]
    refused(post_exchange(tau_client, pending_id, (pending_lines[0], variant)), "not_eligible", "not_delivered")
