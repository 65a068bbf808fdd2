"""The commerce API client against the real reference API."""

from __future__ import annotations

import pytest

from actions.api.commerce import CommerceClient, get_commerce_client
from actions.api.errors import CommerceUnavailable, Conflict, NotFound
from actions.config import Settings
from tests.processes import free_port


def test_reads_an_order_with_items_and_payment(configured) -> None:
    order = get_commerce_client().get_order("4521")
    assert order["status"] == "delivered"
    assert [i["name"] for i in order["items"]] == ["Blue Denim Jacket", "Striped Scarf"]
    assert order["payment"]["last4"] == "4242"


def test_verification_finds_the_customer_by_email_or_by_name_and_zip(configured) -> None:
    client = get_commerce_client()
    assert client.verify_customer(email=" Jane.Doe@Example.com ") == "cus_jane_doe"
    assert client.verify_customer(name="jane  doe", postal_code="97201") == "cus_jane_doe"
    assert client.verify_customer(email="nobody@example.com") is None
    assert client.verify_customer(name="Jane Doe", postal_code="78701") is None  # Sam's zip


def test_too_many_failures_are_a_lockout_not_an_outage(configured) -> None:
    from actions.api.errors import TooManyAttempts

    client = get_commerce_client()
    for _ in range(5):  # five wrong names for one email holder's name...
        assert client.verify_customer(name="Jane Doe", postal_code="10001", client_key="client-test") is None
    with pytest.raises(TooManyAttempts) as locked:  # ...and even the right zip is refused for a while
        client.verify_customer(name="Jane Doe", postal_code="97201", client_key="client-test")
    assert locked.value.retry_after > 0 and client.breaker.state == "closed"


def test_a_customers_orders_and_the_shops_policy(configured) -> None:
    client = get_commerce_client()
    assert [o["order_id"] for o in client.customer_orders("cus_jane_doe")] == ["4522", "4523", "4521"]
    policy = client.policy()
    assert policy["return_window_days"] == 30 and "store_credit" in policy["refund_methods"]


def test_unknown_order_is_not_found(configured) -> None:
    with pytest.raises(NotFound):
        get_commerce_client().get_order("999999")


def test_an_id_cannot_add_path_segments(configured, api_calls) -> None:
    with pytest.raises(NotFound):
        get_commerce_client().get_order("../returns")
    assert api_calls.count("/orders/..%2Freturns") == 1


def test_a_business_rule_refusal_is_a_conflict_with_its_reason(configured) -> None:
    with pytest.raises(Conflict) as refusal:
        get_commerce_client().cancel_order(order_id="4523", idempotency_key="test-cancel-shipped")
    assert refusal.value.reason == "already_shipped"


def test_a_write_retried_with_its_key_acts_once(configured) -> None:
    client = get_commerce_client()
    first = client.create_return(order_id="4521", item_ids=["4521-2"], reason="wrong_size",
                                 refund_method="store_credit", idempotency_key="same-key")
    again = client.create_return(order_id="4521", item_ids=["4521-2"], reason="wrong_size",
                                 refund_method="store_credit", idempotency_key="same-key")
    assert first["return_id"] == again["return_id"]
    assert len(client.list_returns("4521")) == 1


def test_the_saved_address_changes_once_per_key_and_never_for_a_stranger(configured) -> None:
    client = get_commerce_client()
    address = {"street": "3 Quarry Road", "city": "Boulder", "state": "CO", "postal_code": "80302", "country": "US"}
    first = client.change_default_address(customer_id="cus_jane_doe", address=address, idempotency_key="addr-key")
    again = client.change_default_address(customer_id="cus_jane_doe", address=address, idempotency_key="addr-key")
    assert first == again and first["previous_address"]["street"] == "12 Harbour Lane"
    assert client.get_customer("cus_jane_doe")["default_address"]["street"] == "3 Quarry Road"
    with pytest.raises(Conflict) as refusal:  # a new key: it already is the saved address
        client.change_default_address(customer_id="cus_jane_doe", address=address, idempotency_key="addr-key-2")
    assert refusal.value.reason == "unchanged"
    with pytest.raises(NotFound):
        client.change_default_address(customer_id="../orders", address=address, idempotency_key="addr-key-3")


def test_an_api_that_is_down_raises_unavailable_quickly() -> None:
    settings = Settings(
        commerce_api_url=f"http://127.0.0.1:{free_port()}", commerce_api_token="t", ledger_url="sqlite://",
        timeout_seconds=1, connect_timeout_seconds=0.5, read_retries=1, gate_ttl_minutes=15,
        max_verification_failures=3, max_failed_attempts=3,
    )
    with pytest.raises(CommerceUnavailable):
        CommerceClient(settings).get_order("4521")
