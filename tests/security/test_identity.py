"""Nobody sees an order or stages an action before being verified, and a conversation is its client's.

Verification is once per conversation, for the customer's own orders and nobody else's: by the
email on the account, by full name and zip, or by a login token the channel checks (and never
stores). Failures are limited per identity and per client at the commerce API, so a new
conversation does not reset them.
"""

from __future__ import annotations

import requests

from tests import processes
from tests.security.conftest import customer_token, tracker_events
from tests.stack import Conversation

PRIVATE = ("Blue Denim", "Striped Scarf", "delivered", "Harbour Lane", "4242", "jane.doe", "$89.00")


def test_no_order_detail_before_verification(customer: Conversation, unchanged) -> None:
    said = customer.say("where is my order 4521? what did I buy and where is it going?")
    assert "email" in said
    assert not any(secret in said for secret in PRIVATE)


def test_asking_for_the_saved_address_then_for_an_order_shows_nothing_before_verification(
        customer: Conversation, unchanged) -> None:
    """The property test's counterexample of issue 17: this conversation was told order 4523's tracking number."""
    assert "verify you" in customer.say("I moved, update my saved address")
    said = customer.say("where is order 4523?")
    assert "email address on your account" in said
    assert not any(secret in said for secret in PRIVATE + ("1Z999AA10123456784", "Wool Beanie", "UPS", "$24.00"))
    said = customer.say("where is order 4523?")  # asked again, still unverified
    assert not any(secret in said for secret in PRIVATE + ("1Z999AA10123456784", "Wool Beanie", "UPS", "$24.00"))
    assert "UPS" in customer.say("jane.doe@example.com")  # verified: now it may be told


def test_a_wrong_identity_reveals_nothing_and_three_stop_verification(customer: Conversation, unchanged) -> None:
    customer.say("track order 4521")
    replies = [customer.say(guess) for guess in ("guess0@example.com", "Jane Doe 10001", "guess2@example.com")]
    assert "couldn't verify you" in replies[0] and "stopped verification" in replies[2]
    assert not any(secret in reply for reply in replies for secret in PRIVATE)
    assert "stopped verification" in customer.say("track order 4521")
    assert "delivered" not in customer.say("jane.doe@example.com")


def test_a_name_and_zip_verify_like_the_email(customer: Conversation, unchanged) -> None:
    customer.say("where is my order 4523?")
    assert "zip" in customer.say("my name is Jane Doe")
    assert "UPS" in customer.say("97201")


def test_someone_elses_order_gets_the_answer_of_an_unknown_one(customer: Conversation, unchanged) -> None:
    customer.say("track order 4521")
    customer.say("jane.doe@example.com")
    sams = customer.say("please cancel order 4524")  # Sam's order
    unknown = customer.say("please cancel order 4599")  # nobody's
    assert "Leather Belt" not in sams
    assert sams.replace("4524", "N") == unknown.replace("4599", "N")
    assert "yes" not in " ".join(customer.buttons()).lower()


def test_failed_verifications_are_limited_across_conversations(stack, reseed) -> None:
    """A new conversation does not reset the limit: the API counts failures per identity."""
    reseed()
    said = ""
    for attempt in range(3):  # three conversations, two wrong names each for the same email holder
        conversation = Conversation(stack)
        conversation.say("track my order")
        said = conversation.say(f"Jane Doe 1000{attempt}") + conversation.say(f"Jane Doe 2000{attempt}")
    assert "too many verification attempts" in said
    fresh = Conversation(stack)
    fresh.say("track my order")
    assert "too many verification attempts" in fresh.say("Jane Doe 97201")  # even the right details, for now


def test_the_rest_channel_needs_the_shop_backends_credential(stack, unchanged) -> None:
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    body = {"sender": "someone-elses-conversation", "message": "yes"}
    for headers in ({}, {"Authorization": "Bearer guess"}, {"Authorization": f"Basic {processes.REST_CHANNEL_TOKEN}"}):
        response = requests.post(url, json=body, headers=headers, timeout=30)
        assert response.status_code == 401 and "REST_CHANNEL_TOKEN" in response.text
    assert requests.post(url, json=body, params={"token": processes.REST_CHANNEL_TOKEN}, timeout=30).ok


def test_a_signed_token_verifies_its_customer_only(customer: Conversation, unchanged) -> None:
    token = customer_token("cus_jane_doe")
    said = customer.say_with_metadata("track order 4521", {"customer_token": token})
    assert "delivered" in said and "email address on your account" not in said
    other = customer.say_with_metadata("track order 4524", {"customer_token": token})  # Sam's order
    assert "Leather Belt" not in other and "couldn't find order #4524 on your account" in other


def test_the_token_is_not_stored_and_logging_out_starts_afresh(customer: Conversation, stack, unchanged) -> None:
    token = customer_token("cus_jane_doe")
    assert "delivered" in customer.say_with_metadata("track order 4521", {"customer_token": token})
    said = customer.say("track order 4521")  # the same chat, logged out: nothing of Jane's is known
    assert "email" in said and "delivered" not in said
    stored = [e for sender in (customer.sender,) for e in tracker_events(stack, sender)]
    assert stored and token not in str(stored)
    import sqlite3

    with sqlite3.connect(stack.env["TRACKER_DB_PATH"]) as db:
        rows = db.execute("SELECT data FROM events").fetchall()
    assert not any(token in row[0] for row in rows)


def test_a_client_cannot_claim_a_login_without_a_token(customer: Conversation, unchanged) -> None:
    said = customer.say_with_metadata("track order 4521", {"login": {"customer_id": "cus_jane_doe",
                                                                     "expires_at": 4102444800}})
    assert "email" in said and "delivered" not in said


def test_unsigned_expired_tampered_or_foreign_tokens_are_ignored(stack, unchanged) -> None:
    good = customer_token("cus_jane_doe")
    header, payload, signature = good.split(".")
    forged = [
        customer_token("cus_jane_doe", expires_in=-60),                       # expired
        customer_token("cus_jane_doe", secret="not-the-shops-secret-at-all"),  # wrong key
        f"{header}.{customer_token('cus_sam_lee').split('.')[1]}.{signature}",  # payload swapped
        "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJjdXNfamFuZV9kb2UiLCJleHAiOjQxMDI0NDQ4MDB9.",  # alg none
        "not a token", 12345,
    ]
    for token in forged:
        conversation = Conversation(stack)
        said = conversation.say_with_metadata("track order 4521", {"customer_token": token})
        assert "email" in said and "delivered" not in said, token
        assert not any(e["action"] == "action_report_order_status" for e in tracker_events(stack, conversation.sender))
