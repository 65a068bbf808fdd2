"""Conversations as people have them (issue 14), over REST against the running stack.

Corrections keep the task; a new request mid-task switches cleanly; a first message with an
email, an order number and the request is served from all three; frustration reaches a person;
everyday yes/no work at the gate and anything ambiguous is asked again; "I want a refund" is
asked about; an exchange is an exchange, never a return; general questions never start an order flow.
Each checks the commerce API after.
"""

from __future__ import annotations

import pytest

from actions import ledger
from tests.e2e.test_conversations import JANE, reach_return_confirmation
from tests.stack import Conversation

ORDER_FLOW = ("order number", "Which order", "email address on your account", "full name and zip")


def starts_no_order_flow(said: str) -> bool:
    return not any(marker in said for marker in ORDER_FLOW)


def test_i_meant_another_order_keeps_the_task(customer: Conversation, stack) -> None:
    customer.say("where is order 4521")
    customer.say(JANE)
    said = customer.say("sorry, I meant order 4523")
    assert "UPS" in said  # still tracking, now the right order
    assert customer.ledger() == []


def test_the_other_item_at_the_confirmation_is_the_change(customer: Conversation, stack) -> None:
    reach_return_confirmation(customer)
    again = customer.say("no, the other item")
    assert "Striped Scarf" in again and "Shall I create this return?" in again
    customer.say("yes")
    assert [r["item_id"] for r in stack.returns("4521")] == ["4521-2"]


def test_actually_store_credit_is_a_correction(customer: Conversation, stack) -> None:
    customer.say("I want to return the blue jacket from order #4521")
    customer.say(JANE)
    customer.say("it's too small")
    customer.say("back to my card")
    again = customer.say("actually it's store credit")
    assert "as store credit" in again and "Shall I create this return?" in again
    customer.say("yes")
    assert [r["refund_method"] for r in stack.returns("4521")] == ["store_credit"]


def test_a_tracking_question_at_a_returns_confirmation_gets_tracking(customer: Conversation, stack) -> None:
    reach_return_confirmation(customer)
    said = customer.say("wait, where is my other order 4523?")
    assert "UPS" in said and "Shall I create this return?" not in said
    assert [row.status for row in customer.ledger()] == [ledger.ABANDONED]
    assert stack.returns("4521") == []


def test_a_new_request_mid_task_switches_task(customer: Conversation, stack) -> None:
    customer.say("I want to return the blue jacket from order #4521")
    customer.say(JANE)
    said = customer.say("actually, can you cancel order 4522 instead")
    assert "Shall I cancel this order?" in said and "Canvas Sneakers" in said


def test_email_order_and_request_in_the_first_message(customer: Conversation, stack) -> None:
    said = customer.say("hi, jane.doe@example.com here, I want to return the scarf from order 4521")
    assert "verified" in said and "reason" in said  # nothing asked twice
    customer.say("changed my mind")
    assert "Striped Scarf" in customer.say("store credit")


@pytest.mark.parametrize("text", [
    "this is useless, get me a real person",
    "I have been going round in circles for 20 minutes, is there a human I can talk to??",
    "AGENT",
])
def test_frustration_reaches_a_person(customer: Conversation, text: str) -> None:
    customer.say("where is my order")
    assert "handing you over" in customer.say(text)


@pytest.mark.parametrize("yes", ["yep go ahead", "sure, do it", "yes please"])
def test_everyday_yes_confirms(customer: Conversation, stack, yes: str) -> None:
    reach_return_confirmation(customer)
    assert "RMA-" in customer.say(yes)


def test_anything_ambiguous_at_the_gate_is_asked_again(customer: Conversation, stack) -> None:
    reach_return_confirmation(customer)
    for unclear in ("hmm", "yes?", "what do you mean", "maybe, I think so"):
        said = customer.say(unclear)
        assert "Shall I create this return?" in said, unclear
    assert stack.returns("4521") == []
    assert [row.status for row in customer.ledger()] == [ledger.AWAITING_CONFIRMATION]


def test_i_want_a_refund_asks_which_is_meant(customer: Conversation) -> None:
    said = customer.say("I want a refund")
    assert "return something" in said and "refund you're already expecting" in said
    assert starts_no_order_flow(said)
    assert "email" in customer.say("Where is my refund?")


def test_an_exchange_is_an_exchange_never_silently_a_return(customer: Conversation, stack) -> None:
    assert "email" in customer.say("can I exchange my sneakers for a bigger size")
    prompt = customer.say(JANE)
    # the sneakers are on 4522, which has not shipped: the size changes on the order itself
    assert "change order #4522 before it ships" in prompt and "Canvas Sneakers (Size 10)" in prompt, prompt
    assert [row.action_name for row in customer.ledger()] == ["exchange_items"]
    customer.say("yes")
    assert stack.order("4522")["items"][0]["variant_id"] == "canvas-sneakers-10"
    assert stack.returns("4522") == [] and stack.returns("4521") == []


@pytest.mark.parametrize("question", [
    "how do I unsubscribe from your newsletter",
    "can I get the invoices for last month",
    "do you accept klarna",
    "I forgot my password",
    "how long does delivery take to Canada",
    "where can I leave a review",
    "do you sell gift cards",
])
def test_general_questions_are_answered_without_an_order_flow(customer: Conversation, question: str) -> None:
    said = customer.say(question)
    assert starts_no_order_flow(said) and said.strip()


def test_a_question_inside_a_task_is_answered_and_the_task_goes_on(customer: Conversation) -> None:
    customer.say("I want to return the blue jacket from order #4521")
    customer.say(JANE)
    said = customer.say("do you ship to canada?")
    assert "reason" in said  # the return's question, asked again


def test_two_requests_in_one_message_are_done_one_after_the_other(customer: Conversation, stack) -> None:
    customer.say("cancel the pending one and return the scarf from the other")
    first = customer.say(JANE)
    assert "Shall I cancel this order?" in first and "Canvas Sneakers" in first
    second = customer.say("yes")
    assert "is cancelled" in second and "reason" in second  # the return starts right after
    assert stack.order("4522")["status"] == "cancelled"
    customer.say("changed my mind")
    assert "Striped Scarf" in customer.say("store credit")
    assert "RMA-" in customer.say("yes")
    assert [r["item_id"] for r in stack.returns("4521")] == ["4521-2"]
