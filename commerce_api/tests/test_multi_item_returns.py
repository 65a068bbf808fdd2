"""Returns of several items of one order: all or nothing, one return per item, refund destinations."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from commerce_api.services import orders as orders_service
from commerce_api.tests.conftest import assert_error, idem


def post(client: TestClient, **body):
    payload = {"order_id": "4521", "reason": "wrong_size", "refund_method": "original_payment", **body}
    return client.post("/returns", json=payload, headers=idem())


def test_return_two_items_at_once(client: TestClient) -> None:
    response = post(client, item_ids=["4521-2", "4521-1"])
    assert response.status_code == 201, response.text
    ret = response.json()
    assert ret["items"] == [
        {"item_id": "4521-2", "name": "Striped Scarf", "refund_amount": "19.00"},
        {"item_id": "4521-1", "name": "Blue Denim Jacket", "refund_amount": "89.00"},
    ]
    # the single-item fields describe the first item; the amount is the total
    assert (ret["item_id"], ret["item_name"], ret["refund_amount"]) == ("4521-2", "Striped Scarf", "108.00")
    assert ret["gift_card_id"] is None
    items = client.get("/orders/4521").json()["items"]
    assert {i["item_id"]: i["return_id"] for i in items} == {"4521-1": ret["return_id"], "4521-2": ret["return_id"]}
    assert client.get(f"/returns/{ret['return_id']}").json() == ret
    assert client.get("/returns", params={"order_id": "4521"}).json() == {"returns": [ret]}
    for item_id in ("4521-1", "4521-2"):
        body = client.get(f"/orders/4521/items/{item_id}/return-eligibility").json()
        assert body["reason"] == "already_returned"


def test_one_ineligible_item_refuses_the_whole_return(client: TestClient) -> None:
    err = assert_error(
        post(client, order_id="4526", item_ids=["4526-2", "4526-1"]), 409, "not_eligible"
    )  # 4526-1 is final sale
    assert (err["reason"], err["item_id"]) == ("final_sale", "4526-1")
    assert client.get("/returns", params={"order_id": "4526"}).json() == {"returns": []}
    assert post(client, order_id="4526", item_ids=["4526-2"]).status_code == 201


def test_an_item_already_returned_refuses_the_whole_return(client: TestClient) -> None:
    assert post(client, item_id="4521-1").status_code == 201
    err = assert_error(post(client, item_ids=["4521-2", "4521-1"]), 409, "not_eligible")
    assert (err["reason"], err["item_id"]) == ("already_returned", "4521-1")
    assert len(client.get("/returns", params={"order_id": "4521"}).json()["returns"]) == 1


def test_unknown_item_is_404_naming_it(client: TestClient) -> None:
    err = assert_error(post(client, item_ids=["4521-1", "4526-2"]), 404, "item_not_found")
    assert err["item_id"] == "4526-2"
    assert client.get("/returns", params={"order_id": "4521"}).json() == {"returns": []}


def test_unique_item_constraint_settles_what_the_check_missed(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if a concurrent request had created its return between our check and our insert.
    assert post(client, item_id="4521-2").status_code == 201
    real = orders_service.evaluate_return  # what every return's and exchange's eligibility check calls
    monkeypatch.setattr(orders_service, "evaluate_return", lambda **kw: real(**{**kw, "already_returned": False}))
    err = assert_error(post(client, item_ids=["4521-1", "4521-2"]), 409, "not_eligible")
    assert (err["reason"], err["item_id"]) == ("already_returned", "4521-2")
    returns = client.get("/returns", params={"order_id": "4521"}).json()["returns"]
    assert [r["item_id"] for r in returns] == ["4521-2"]  # nothing of the refused return was kept


@pytest.mark.parametrize(
    "body",
    [
        {"item_ids": []},
        {"item_ids": ["4521-1", "4521-1"]},
        {"item_ids": [f"4521-{n}" for n in range(21)]},
        {"item_ids": ["4521-1"], "item_id": "4521-1"},
        {},
        {"item_ids": ["4521 1"]},
        {"item_ids": "4521-1"},
        {"item_ids": ["4521-1"], "refund_method": "gift_card"},  # a gift card refund needs gift_card_id
        {"item_ids": ["4521-1"], "gift_card_id": "gift_card_1"},  # …and nothing else takes one
        {"item_ids": ["4521-1"], "refund_method": "gift_card", "gift_card_id": "bad id"},
    ],
)
def test_body_validation(client: TestClient, body: dict) -> None:
    err = assert_error(post(client, **body), 422, "validation_error")
    assert err["fields"]


def test_twenty_items_is_the_limit(client: TestClient) -> None:
    err = assert_error(post(client, item_ids=[f"4521-{n}" for n in range(1, 21)]), 404, "item_not_found")
    assert err["item_id"] == "4521-3"


def test_demo_shop_refuses_gift_card_refunds(client: TestClient) -> None:
    err = assert_error(
        post(client, item_ids=["4521-1"], refund_method="gift_card", gift_card_id="pm_jane_visa_4242"),
        409,
        "not_eligible",
    )
    assert err["reason"] == "refund_method_not_allowed"
    assert "original_payment" in err["message"]


def test_multi_item_replay(client: TestClient) -> None:
    body = {"order_id": "4521", "item_ids": ["4521-1", "4521-2"], "reason": "damaged", "refund_method": "store_credit"}
    first = client.post("/returns", json=body, headers={"Idempotency-Key": "multi"})
    second = client.post("/returns", json=body, headers={"Idempotency-Key": "multi"})
    assert first.status_code == second.status_code == 201
    assert second.content == first.content and second.headers["idempotent-replayed"] == "true"
    other = {**body, "item_ids": ["4521-2", "4521-1"]}  # another order of items is another request
    assert_error(client.post("/returns", json=other, headers={"Idempotency-Key": "multi"}), 422,
                 "idempotency_key_reused")  # fmt: skip
