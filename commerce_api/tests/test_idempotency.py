"""Idempotency-Key semantics on every write: replay, persistence across restarts, reuse, missing keys, in-progress."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from commerce_api import idempotency
from commerce_api.db import Database
from commerce_api.formatting import utcnow
from commerce_api.models import IdempotencyKey
from commerce_api.services import orders
from commerce_api.settings import Settings
from commerce_api.tests.conftest import assert_error, make_client, post_return

RETURN_BODY = {"order_id": "4521", "item_id": "4521-1", "reason": "wrong_size", "refund_method": "store_credit"}
ADDRESS = {"street": "7 Ocean Drive", "city": "Miami", "postal_code": "33139", "country": "US"}
WRITES = [
    ("POST", "/returns", RETURN_BODY, 201),
    ("POST", "/orders/4522/cancel", {"reason": "duplicate order"}, 200),
    ("PATCH", "/orders/4522/shipping-address", ADDRESS, 200),
    ("PATCH", "/customers/cus_jane_doe/address", ADDRESS, 200),
    ("POST", "/exchanges", {"order_id": "4521", "items": [{"item_id": "4521-1", "new_variant_id": "denim-jacket-l"}],
                            "payment_method_id": "pm_jane_gift_card_7310"}, 201),
    ("PATCH", "/orders/4522/items", {"items": [{"item_id": "4522-1", "new_variant_id": "canvas-sneakers-11"}],
                                     "payment_method_id": "pm_jane_gift_card_7310"}, 200),
    ("PATCH", "/orders/4522/payment", {"payment_method_id": "pm_jane_gift_card_7310"}, 200),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), WRITES)
def test_replay_returns_first_response(client: TestClient, method: str, path: str, body: dict, status: int) -> None:
    headers = {"Idempotency-Key": f"replay-{path}"}
    first = client.request(method, path, json=body, headers=headers)
    assert first.status_code == status, first.text
    assert "idempotent-replayed" not in first.headers
    second = client.request(method, path, json=body, headers=headers)
    assert second.status_code == status
    assert second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["content-type"] == "application/json"


def test_replay_with_reordered_keys_is_same_request(client: TestClient) -> None:
    first = client.post("/returns", json=RETURN_BODY, headers={"Idempotency-Key": "order"})
    reordered = dict(reversed(list(RETURN_BODY.items())))
    second = client.post("/returns", json=reordered, headers={"Idempotency-Key": "order"})
    assert second.content == first.content and second.headers["idempotent-replayed"] == "true"


@pytest.mark.parametrize(("method", "path", "body", "status"), WRITES)
def test_replay_survives_restart(
    client: TestClient, settings: Settings, db_url: str, method: str, path: str, body: dict, status: int
) -> None:
    headers = {"Idempotency-Key": f"restart-{path}"}
    first = client.request(method, path, json=body, headers=headers)
    assert first.status_code == status
    fresh_database = Database(db_url)  # a new process would build a new engine on the same database
    try:
        with make_client(settings, fresh_database) as restarted:
            again = restarted.request(method, path, json=body, headers=headers)
    finally:
        fresh_database.dispose()
    assert again.status_code == status
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"


def test_replay_does_not_redo_the_work(client: TestClient) -> None:
    first = client.post("/returns", json=RETURN_BODY, headers={"Idempotency-Key": "once"}).json()
    client.post("/returns", json=RETURN_BODY, headers={"Idempotency-Key": "once"})
    assert [r["return_id"] for r in client.get("/returns?order_id=4521").json()["returns"]] == [first["return_id"]]


def test_same_key_different_body_is_422(client: TestClient) -> None:
    assert client.post("/returns", json=RETURN_BODY, headers={"Idempotency-Key": "k"}).status_code == 201
    other = {**RETURN_BODY, "item_id": "4521-2"}
    assert_error(client.post("/returns", json=other, headers={"Idempotency-Key": "k"}), 422, "idempotency_key_reused")
    assert len(client.get("/returns?order_id=4521").json()["returns"]) == 1


def test_same_key_different_route_is_422(client: TestClient) -> None:
    assert client.post("/orders/4522/cancel", headers={"Idempotency-Key": "r"}).status_code == 200
    assert_error(client.post("/orders/4521/cancel", headers={"Idempotency-Key": "r"}), 422, "idempotency_key_reused")
    response = client.patch("/orders/4522/shipping-address", json=ADDRESS, headers={"Idempotency-Key": "r"})
    assert_error(response, 422, "idempotency_key_reused")


@pytest.mark.parametrize(("method", "path", "body", "status"), WRITES)
@pytest.mark.parametrize(
    ("key", "code"),
    [(None, "idempotency_key_required"), ("", "idempotency_key_required"), ("  ", "idempotency_key_required"),
     ("k" * 201, "invalid_idempotency_key"), ("has space", "invalid_idempotency_key")],
)  # fmt: skip
def test_key_required(
    client: TestClient, method: str, path: str, body: dict, status: int, key: str | None, code: str
) -> None:
    headers = {} if key is None else {"Idempotency-Key": key}
    assert_error(client.request(method, path, json=body, headers=headers), 400, code)
    assert client.get("/orders/4522").json()["status"] == "processing"
    assert client.get("/returns?order_id=4521").json() == {"returns": []}
    assert client.get("/exchanges?order_id=4521").json() == {"exchanges": []}
    assert client.get("/orders/4522").json()["payment"]["payment_method_id"] == "pm_jane_visa_4242"
    assert client.get("/orders/4522").json()["total"] == "65.00"


def test_key_of_200_chars_is_accepted(client: TestClient) -> None:
    assert client.post("/returns", json=RETURN_BODY, headers={"Idempotency-Key": "k" * 200}).status_code == 201


def test_in_progress_duplicate_is_409(client: TestClient, seeded: Database) -> None:
    # Hold the key as an unfinished request would: claimed, not completed.
    claimed = idempotency.claim(
        database=seeded,
        key="busy",
        method="POST",
        route="/returns",
        request_hash=idempotency.fingerprint(
            {"order_id": "4521", "item_id": "4521-1", "reason": "wrong_size", "refund_method": "store_credit"}
        ),
    )
    assert claimed is None
    response = client.post("/returns", json=RETURN_BODY, headers={"Idempotency-Key": "busy"})
    assert_error(response, 409, "idempotency_request_in_progress")
    assert client.get("/returns?order_id=4521").json() == {"returns": []}


def test_stale_claim_is_taken_over(client: TestClient, seeded: Database) -> None:
    body_hash = idempotency.fingerprint({"reason": None})
    idempotency.claim(database=seeded, key="stale", method="POST", route="/orders/4522/cancel", request_hash=body_hash)
    long_ago = utcnow() - idempotency.STALE_CLAIM_AFTER - timedelta(seconds=5)
    with seeded.transaction() as session:
        session.execute(update(IdempotencyKey).where(IdempotencyKey.key == "stale").values(created_at=long_ago))
    assert client.post("/orders/4522/cancel", headers={"Idempotency-Key": "stale"}).status_code == 200


def test_business_error_is_stored_and_replayed(client: TestClient) -> None:
    headers = {"Idempotency-Key": "final-sale"}
    body = {**RETURN_BODY, "order_id": "4526", "item_id": "4526-1"}
    first = client.post("/returns", json=body, headers=headers)
    assert_error(first, 409, "not_eligible")
    second = client.post("/returns", json=body, headers=headers)
    assert second.status_code == 409 and second.content == first.content
    assert second.headers["idempotent-replayed"] == "true"


def test_crash_releases_the_claim(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    real = orders.cancel_order

    def boom(*args, **kwargs):
        raise RuntimeError("simulated crash")

    monkeypatch.setattr(orders, "cancel_order", boom)
    crashed = client.post("/orders/4522/cancel", headers={"Idempotency-Key": "crash"})
    assert_error(crashed, 500, "internal_error")
    assert "Traceback" not in crashed.text and "simulated" not in crashed.text
    monkeypatch.setattr(orders, "cancel_order", real)
    retry = client.post("/orders/4522/cancel", headers={"Idempotency-Key": "crash"})
    assert retry.status_code == 200 and "idempotent-replayed" not in retry.headers


def test_work_and_key_commit_together(client: TestClient, seeded: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    # If completing the key fails, the work must roll back too (no return without a stored response).
    def broken_complete(*args, **kwargs):
        raise RuntimeError("cannot store response")

    monkeypatch.setattr(idempotency, "_complete", broken_complete)
    assert client.post("/returns", json=RETURN_BODY, headers={"Idempotency-Key": "atomic"}).status_code == 500
    monkeypatch.undo()
    assert client.get("/returns?order_id=4521").json() == {"returns": []}
    with seeded.transaction() as session:
        assert session.get(IdempotencyKey, "atomic") is None
    post_ok = post_return(client, item_id="4521-1", key="atomic", refund_method="store_credit")
    assert post_ok.status_code == 201
