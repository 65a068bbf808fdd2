"""Return eligibility, creating returns (one per item), listing and fetching them, and refund status."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from commerce_api.db import Database
from commerce_api.formatting import utcnow
from commerce_api.services.returns import receive_return
from commerce_api.tests.conftest import assert_error, post_return


def _eligibility(client: TestClient, item_id: str):
    return client.get(f"/orders/{item_id.split('-')[0]}/items/{item_id}/return-eligibility")


def test_eligible_item(client: TestClient) -> None:
    response = _eligibility(client, "4521-1")
    assert response.status_code == 200
    body = response.json()
    delivered = datetime.strptime(client.get("/orders/4521").json()["delivered_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert body == {
        "eligible": True,
        "reason": None,
        "message": body["message"],
        "refund_amount": "89.00",
        "currency": "USD",
        "deadline": (delivered.date() + timedelta(days=30)).isoformat(),
        "refund_methods": ["original_payment", "store_credit"],
    }
    assert body["deadline"] in body["message"]


@pytest.mark.parametrize(
    ("item_id", "reason"),
    [
        ("4524-1", "outside_return_window"),
        ("4526-1", "final_sale"),
        ("4522-1", "not_delivered"),
        ("4523-1", "not_delivered"),
        ("4525-1", "order_cancelled"),
    ],
)
def test_ineligible_reasons(client: TestClient, item_id: str, reason: str) -> None:
    body = _eligibility(client, item_id).json()
    assert body["eligible"] is False
    assert body["reason"] == reason
    assert body["message"]
    assert re.fullmatch(r"\d+\.\d{2}", body["refund_amount"])


def test_already_returned_reason(client: TestClient) -> None:
    assert post_return(client, item_id="4526-2").status_code == 201
    body = _eligibility(client, "4526-2").json()
    assert (body["eligible"], body["reason"]) == (False, "already_returned")


def test_not_delivered_has_no_deadline(client: TestClient) -> None:
    assert _eligibility(client, "4522-1").json()["deadline"] is None


@pytest.mark.parametrize(
    "path",
    [
        "/orders/4521/items/4522-1/return-eligibility",
        "/orders/4521/items/4521-9/return-eligibility",
        "/orders/4521/items/abc/return-eligibility",
    ],
)
def test_item_must_belong_to_order(client: TestClient, path: str) -> None:
    assert_error(client.get(path), 404, "item_not_found")


def test_eligibility_unknown_order(client: TestClient) -> None:
    assert_error(client.get("/orders/9999/items/9999-1/return-eligibility"), 404, "order_not_found")


def test_create_return(client: TestClient) -> None:
    response = post_return(client, item_id="4521-1", reason="damaged", refund_method="store_credit")
    assert response.status_code == 201, response.text
    ret = response.json()
    assert re.fullmatch(r"RMA-[A-Z0-9]{8}", ret["return_id"])
    assert re.fullmatch(r"LBL-[A-Z0-9]+", ret["label_reference"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", ret["created_at"])
    assert {k: ret[k] for k in ret if k not in ("return_id", "label_reference", "created_at")} == {
        "order_id": "4521",
        "item_id": "4521-1",
        "item_name": "Blue Denim Jacket",
        "items": [{"item_id": "4521-1", "name": "Blue Denim Jacket", "refund_amount": "89.00"}],
        "reason": "damaged",
        "refund_method": "store_credit",
        "gift_card_id": None,
        "refund_amount": "89.00",
        "currency": "USD",
        "status": "label_sent",
        "refund_status": "pending",
        "refunded_at": None,
    }
    item = client.get("/orders/4521").json()["items"][0]
    assert (item["return_status"], item["return_id"]) == ("label_sent", ret["return_id"])
    assert client.get(f"/returns/{ret['return_id']}").json() == ret
    assert client.get("/returns", params={"order_id": "4521"}).json() == {"returns": [ret]}


def test_one_return_per_item(client: TestClient) -> None:
    assert post_return(client, item_id="4521-2").status_code == 201
    err = assert_error(post_return(client, item_id="4521-2", reason="other"), 409, "not_eligible")
    assert err["reason"] == "already_returned"
    assert len(client.get("/returns?order_id=4521").json()["returns"]) == 1


@pytest.mark.parametrize(
    ("item_id", "reason"),
    [
        ("4524-1", "outside_return_window"),
        ("4526-1", "final_sale"),
        ("4522-1", "not_delivered"),
        ("4525-1", "order_cancelled"),
    ],
)
def test_api_enforces_policy(client: TestClient, item_id: str, reason: str) -> None:
    err = assert_error(post_return(client, item_id=item_id), 409, "not_eligible")
    assert err["reason"] == reason
    assert client.get(f"/returns?order_id={item_id.split('-')[0]}").json() == {"returns": []}


def test_return_item_from_other_order_is_404(client: TestClient) -> None:
    body = {"order_id": "4521", "item_id": "4526-2", "reason": "other", "refund_method": "store_credit"}
    assert_error(client.post("/returns", json=body, headers={"Idempotency-Key": "x-order"}), 404, "item_not_found")


@pytest.mark.parametrize(
    "patch",
    [
        {"reason": "because"},
        {"refund_method": "cash"},
        {"order_id": "45 21"},
        {"item_id": "4521 1"},
        {"item_id": "x" * 65},
        {"order_id": 4521},
    ],
)
def test_return_body_validation(client: TestClient, patch: dict) -> None:
    body = {"order_id": "4521", "item_id": "4521-1", "reason": "damaged", "refund_method": "store_credit", **patch}
    err = assert_error(client.post("/returns", json=body, headers={"Idempotency-Key": "v"}), 422, "validation_error")
    assert err["fields"]


def test_return_missing_fields(client: TestClient) -> None:
    err = assert_error(
        client.post("/returns", json={"order_id": "4521"}, headers={"Idempotency-Key": "m"}), 422, "validation_error"
    )
    assert {f["field"] for f in err["fields"]} == {"body.reason", "body.refund_method"}


def test_returns_list_and_lookup_errors(client: TestClient) -> None:
    assert_error(client.get("/returns?order_id=9999"), 404, "order_not_found")
    assert_error(client.get("/returns?order_id=abc"), 404, "order_not_found")
    assert_error(client.get("/returns"), 422, "validation_error")
    assert_error(client.get("/returns/RMA-00000000"), 404, "return_not_found")
    assert_error(client.get("/returns/rma-1"), 404, "return_not_found")


def test_refund_status_after_warehouse_receipt(client: TestClient, seeded: Database) -> None:
    ret = post_return(client, item_id="4526-2").json()
    assert client.get(f"/returns/{ret['return_id']}").json()["refund_status"] == "pending"
    with seeded.transaction() as session:
        receive_return(session=session, return_id=ret["return_id"], now=utcnow())
    later = client.get(f"/returns/{ret['return_id']}").json()
    assert later["refund_status"] == "refunded"
    assert later["status"] == "received"
    refunded_at = datetime.strptime(later["refunded_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert abs((datetime.now(timezone.utc) - refunded_at).total_seconds()) < 60
