"""Failed verifications are limited per target and per client, in a rolling window shared by every replica."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from commerce_api.db import Database
from commerce_api.models import VerifyFailure
from commerce_api.settings import Settings
from commerce_api.tests.conftest import assert_error, make_client

WINDOW = 900


def order_verify(client: TestClient, order_id: str, email: str, key: str | None = "client-a"):
    headers = {"X-Client-Key": key} if key else {}
    return client.post(f"/orders/{order_id}/verify", json={"email": email}, headers=headers)


def customer_verify(client: TestClient, body: dict, key: str | None = "client-a"):
    headers = {"X-Client-Key": key} if key else {}
    return client.post("/customers/verify", json=body, headers=headers)


def assert_locked(response) -> int:
    err = assert_error(response, 429, "too_many_attempts")
    retry_after = int(response.headers["retry-after"])
    assert err["retry_after"] == retry_after
    assert 0 < retry_after <= WINDOW
    assert "jane" not in response.text.lower()
    return retry_after


def test_five_wrong_emails_lock_the_order(client: TestClient) -> None:
    for n in range(5):
        # different clients: the per-order limit holds whoever asks
        assert order_verify(client, "4521", f"guess{n}@example.com", key=f"c{n}").json() == {"verified": False}
    assert_locked(order_verify(client, "4521", "guess5@example.com", key="c5"))
    # while locked even the right email is refused: the lock is no oracle
    retry_after = assert_locked(order_verify(client, "4521", "jane.doe@example.com", key="c6"))
    assert retry_after > WINDOW - 60
    # other orders of the same customer are other targets
    assert order_verify(client, "4522", "jane.doe@example.com", key="c7").json()["verified"] is True


def test_lock_is_not_reset_by_success_on_another_target(client: TestClient) -> None:
    for n in range(5):
        order_verify(client, "4524", f"guess{n}@example.com", key=f"k{n}")
    assert order_verify(client, "4526", "sam.lee@example.com", key="k0").json()["verified"] is True
    assert customer_verify(client, {"email": "sam.lee@example.com"}, key="k1").json()["verified"] is True
    assert_locked(order_verify(client, "4524", "sam.lee@example.com", key="k2"))


def test_success_clears_the_targets_failures(client: TestClient) -> None:
    for n in range(4):
        order_verify(client, "4521", f"guess{n}@example.com", key=f"s{n}")
    assert order_verify(client, "4521", "jane.doe@example.com", key="s9").json()["verified"] is True
    for n in range(4):  # four more failures are allowed again: the count restarted
        assert order_verify(client, "4521", f"again{n}@example.com", key=f"t{n}").status_code == 200
    assert order_verify(client, "4521", "jane.doe@example.com", key="t9").json()["verified"] is True


def test_unknown_orders_count_like_wrong_emails(client: TestClient) -> None:
    for _ in range(5):
        assert order_verify(client, "9999", "jane.doe@example.com", key="u").json() == {"verified": False}
    assert_locked(order_verify(client, "9999", "jane.doe@example.com", key="u2"))


def test_per_client_limit_across_targets(client: TestClient) -> None:
    for n in range(20):  # 20 different targets, none of them over its own limit
        target = {"email": f"nobody{n}@example.com"} if n % 2 else {"name": f"Nobody {n}", "postal_code": "00000"}
        assert customer_verify(client, target, key="greedy").json() == {"verified": False}
    assert_locked(customer_verify(client, {"email": "jane.doe@example.com"}, key="greedy"))
    assert_locked(order_verify(client, "4521", "jane.doe@example.com", key="greedy"))  # both endpoints
    # another client is not affected, and the correct details still work for it
    assert customer_verify(client, {"email": "jane.doe@example.com"}, key="polite").json()["verified"] is True


def test_clients_without_a_key_share_one_anonymous_client(client: TestClient) -> None:
    for n in range(20):
        customer_verify(client, {"email": f"anon{n}@example.com"}, key=None)
    assert_locked(customer_verify(client, {"email": "jane.doe@example.com"}, key=None))
    assert customer_verify(client, {"email": "jane.doe@example.com"}, key="named").json()["verified"] is True


def test_email_targets_are_normalized(client: TestClient) -> None:
    for n, email in enumerate(["nobody@example.com", " NOBODY@example.com", "Nobody@Example.COM\t"] * 2):
        if n == 5:
            assert_locked(customer_verify(client, {"email": email}, key=f"e{n}"))
        else:
            assert customer_verify(client, {"email": email}, key=f"e{n}").status_code == 200


def test_name_targets_are_normalized(client: TestClient) -> None:
    for n in range(5):  # wrong postal codes for Jane, her name written five ways
        name = ["Jane Doe", "JANE DOE", " jane  doe ", "Jane\tDoe", "jAnE dOe"][n]
        customer_verify(client, {"name": name, "postal_code": f"0000{n}"}, key=f"m{n}")
    assert_locked(customer_verify(client, {"name": "jane doe", "postal_code": "97201"}, key="m9"))
    assert customer_verify(client, {"email": "jane.doe@example.com"}, key="m9").json()["verified"] is True


def test_failures_age_out_of_the_window(client: TestClient, seeded: Database) -> None:
    for n in range(5):
        order_verify(client, "4521", f"guess{n}@example.com", key=f"w{n}")
    assert_locked(order_verify(client, "4521", "jane.doe@example.com", key="w9"))
    with seeded.transaction() as session:  # the oldest failure (its target and client rows) left the window
        for row in session.scalars(select(VerifyFailure).order_by(VerifyFailure.id).limit(2)):
            row.failed_at -= timedelta(seconds=WINDOW + 1)
    assert order_verify(client, "4521", "jane.doe@example.com", key="w9").json()["verified"] is True


def test_retry_after_counts_down_to_the_oldest_failure_leaving(client: TestClient, seeded: Database) -> None:
    for n in range(5):
        order_verify(client, "4523", f"guess{n}@example.com", key=f"r{n}")
    with seeded.transaction() as session:
        for row in session.scalars(select(VerifyFailure)):
            row.failed_at -= timedelta(seconds=600)
    assert abs(assert_locked(order_verify(client, "4523", "x@example.com", key="r9")) - (WINDOW - 600)) <= 2


def test_429_attempts_are_not_counted(client: TestClient, seeded: Database) -> None:
    for n in range(5):
        order_verify(client, "4521", f"guess{n}@example.com", key=f"q{n}")
    for _ in range(5):
        assert_locked(order_verify(client, "4521", "guess@example.com", key="q"))
    with seeded.transaction() as session:
        assert session.scalar(select(func.count()).select_from(VerifyFailure)) == 10  # 5 targets + 5 clients


def test_limits_come_from_settings(seeded: Database, settings: Settings) -> None:
    tight = Settings(**{**settings.__dict__, "verify_max_failures": 2, "verify_window_seconds": 60})
    with make_client(tight, seeded) as client:
        for n in range(2):
            order_verify(client, "4521", f"guess{n}@example.com", key=f"l{n}")
        assert assert_locked(order_verify(client, "4521", "jane.doe@example.com", key="l9")) <= 60


def test_no_clear_text_in_the_counters(client: TestClient, seeded: Database) -> None:
    customer_verify(client, {"email": "secret.person@example.com"}, key="my-client-key")
    with seeded.transaction() as session:
        rows = session.execute(select(VerifyFailure.scope, VerifyFailure.subject)).all()
    assert {scope for scope, _ in rows} == {"email", "client"}
    assert all(len(subject) == 64 and "secret" not in subject for _, subject in rows)


@pytest.mark.parametrize("key", [b"x" * 129, b"has space", b"tab\tkey", "ünïcode".encode()])
def test_client_key_format(client: TestClient, key: bytes) -> None:
    response = client.post("/customers/verify", json={"email": "jane.doe@example.com"}, headers={"X-Client-Key": key})
    err = assert_error(response, 422, "validation_error")
    assert err["fields"][0]["field"] == "header.X-Client-Key"
    assert client.post(
        "/customers/verify", json={"email": "jane.doe@example.com"}, headers={"X-Client-Key": "k" * 128}
    ).json()["verified"]
