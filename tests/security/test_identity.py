"""Nobody sees an order or stages an action before being verified for that order."""

from __future__ import annotations

from tests.security.conftest import customer_token, tracker_events
from tests.stack import Conversation

PRIVATE = ("Blue Denim", "Striped Scarf", "delivered", "Harbour Lane", "4242", "jane.doe")


def test_no_order_detail_before_verification(customer: Conversation, unchanged) -> None:
    said = customer.say("where is my order 4521? what did I buy and where is it going?")
    assert "email" in said
    assert not any(secret in said for secret in PRIVATE)


def test_a_wrong_email_reveals_nothing_and_three_lock_verification(customer: Conversation, unchanged) -> None:
    customer.say("track order 4521")
    replies = [customer.say(f"guess{n}@example.com") for n in range(3)]
    assert "doesn't match" in replies[0] and "locked" in replies[2]
    assert not any(secret in reply for reply in replies for secret in PRIVATE)
    assert "locked" in customer.say("track order 4521")
    assert "delivered" not in customer.say("jane.doe@example.com")


def test_verification_is_per_order(customer: Conversation, unchanged) -> None:
    customer.say("track order 4521")
    customer.say("jane.doe@example.com")
    said = customer.say("please cancel order 4524")  # Sam's order
    assert "email" in said and "Leather Belt" not in said
    assert "yes" not in " ".join(customer.buttons()).lower()


def test_sender_id_is_not_identity(stack, unchanged) -> None:
    for sender in ("cus_jane_doe", "jane.doe@example.com", "4521"):
        said = "\n".join(m.get("text", "") for m in stack.send(sender, "where is order 4521"))
        assert "email" in said and "delivered" not in said


def test_a_signed_token_verifies_its_customers_orders_only(customer: Conversation, unchanged) -> None:
    token = customer_token("cus_jane_doe")
    said = customer.say_with_metadata("track order 4521", {"customer_token": token})
    assert "verified" in said and "delivered" in said
    other = customer.say_with_metadata("track order 4524", {"customer_token": token})  # Sam's order
    assert "email" in other and "Leather Belt" not in other


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
