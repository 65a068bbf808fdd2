"""A yes confirms only the prompt it answers, in its own conversation and session, in time.

The named cases of issue 13 (each happened on the main branch before it) and the
counterexamples of tests/security/test_dialogue_invariants.py.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

from sqlalchemy import update

from actions import ledger
from actions.ledger import StagedAction
from tests.e2e.test_conversations import JANE, reach_return_confirmation
from tests.stack import Conversation


def test_yes_from_another_conversation_does_nothing(customer: Conversation, stack) -> None:
    reach_return_confirmation(customer)
    attacker = Conversation(stack)
    assert "nothing waiting for your confirmation" in attacker.say("yes")
    assert stack.returns("4521") == []
    assert [row.status for row in customer.ledger()] == [ledger.AWAITING_CONFIRMATION]


def test_yes_before_a_prompt_exists_does_nothing(customer: Conversation, stack, unchanged) -> None:
    assert "nothing waiting for your confirmation" in customer.say("yes")
    customer.say("I want to return the blue jacket from order #4521")
    customer.say(JANE)
    customer.say("yes")  # asked for the reason, not a confirmation
    customer.say("yes")
    assert all(row.status != ledger.SUCCEEDED for row in customer.ledger())
    customer.say("never mind")  # `unchanged` checks that nothing was created


def test_gate_slots_are_not_carried_into_a_new_session(customer: Conversation, stack) -> None:
    reach_return_confirmation(customer)
    # Age the conversation past the 60-minute session expiry, as if the customer came back later.
    with sqlite3.connect(stack.env["TRACKER_DB_PATH"]) as db:
        db.execute(
            "UPDATE events SET timestamp = timestamp - 7200, "
            "data = json_set(data, '$.timestamp', json_extract(data, '$.timestamp') - 7200) WHERE sender_id = ?",
            (customer.sender,),
        )
    assert "nothing waiting for your confirmation" in customer.say("yes")
    assert stack.returns("4521") == []
    assert [row.status for row in customer.ledger()] == [ledger.ABANDONED]


# -- issue 13, case by case ---------------------------------------------------------------------


def test_a_yes_that_names_the_other_item_is_a_change_shown_again(customer: Conversation, stack) -> None:
    reach_return_confirmation(customer)
    again = customer.say("yes, the scarf")
    assert "Striped Scarf" in again and "Shall I create this return?" in again
    assert "Blue Denim Jacket" not in again
    assert stack.returns("4521") == []  # the jacket's prompt was never answered
    assert "RMA-" in customer.say("yes")
    assert [r["item_id"] for r in stack.returns("4521")] == ["4521-2"]


def test_a_no_that_names_the_other_item_is_a_change_too(customer: Conversation, stack) -> None:
    reach_return_confirmation(customer)
    again = customer.say("no, the other one")
    assert "Striped Scarf" in again and "Shall I create this return?" in again
    assert stack.returns("4521") == []
    assert [row.status for row in customer.ledger()] == [ledger.AWAITING_CONFIRMATION]


def test_a_yes_with_another_refund_method_is_asked_again(customer: Conversation, stack) -> None:
    reach_return_confirmation(customer)
    again = customer.say("yes but back to my card")
    assert "to Visa ending 4242" in again and "Shall I create this return?" in again
    assert stack.returns("4521") == []


def test_a_correction_after_a_refusal_keeps_the_task(customer: Conversation, stack) -> None:
    """Issue 13: "sorry, I meant order 4522" after a refused re-address led to a cancellation prompt."""
    customer.say("I need to change the address of order 4523")
    assert "already shipped" in customer.say(JANE)
    said = customer.say("sorry, I meant order 4522")
    assert "cancel" not in said.lower() and "street" in said
    assert stack.order("4522")["status"] == "processing" and customer.ledger() == []


def test_an_order_number_and_a_wrong_email_show_nothing_of_the_order(customer: Conversation, unchanged) -> None:
    """Issue 13: the mismatch was reported, and the next question listed the order's items with prices."""
    said = customer.say("I want to return something from order 4521, my email is jane.d0e@example.com")
    said += customer.say("the jacket")
    for detail in ("Blue Denim Jacket", "Striped Scarf", "$89.00", "$19.00"):
        assert detail not in said
    assert customer.buttons() == [] or "Yes" not in customer.buttons()


def test_an_impossible_proposal_closes_the_row(customer: Conversation, stack, commerce_db_url) -> None:
    """Issue 13: when re-proposing found the action impossible, the row stayed open for the next yes."""
    customer.say("please cancel order 4522")
    assert "Shall I cancel this order?" in customer.say(JANE)
    with sqlite3.connect(commerce_db_url.removeprefix("sqlite:///")) as db:  # it ships meanwhile
        db.execute("UPDATE orders SET status = 'shipped' WHERE id = '4522'")
    said = customer.say("what's your return policy?")  # answered; the prompt is made again, and can't be
    assert "already shipped" in said and "Shall I cancel" not in said
    assert [row.status for row in customer.ledger()] == [ledger.ABANDONED]
    assert "nothing waiting for your confirmation" in customer.say("yes")


def test_a_new_request_at_the_confirmation_abandons_the_row_and_is_served(customer: Conversation, stack) -> None:
    reach_return_confirmation(customer)
    said = customer.say("where is my order 4523?")
    assert "UPS" in said
    assert [row.status for row in customer.ledger()] == [ledger.ABANDONED]
    assert "nothing waiting for your confirmation" in customer.say("yes")
    assert stack.returns("4521") == []


def test_a_yes_to_an_edited_row_needs_the_edited_prompt(customer: Conversation, stack) -> None:
    reach_return_confirmation(customer)
    [row] = customer.ledger()
    with stack.gate._sessions.begin() as session:  # edited behind the prompt's back
        session.execute(update(StagedAction).where(StagedAction.id == row.id)
                        .values(updated_at=ledger.utcnow() + timedelta(seconds=1)))
    again = customer.say("yes")
    assert "Shall I create this return?" in again and stack.returns("4521") == []
    assert "RMA-" in customer.say("yes")
