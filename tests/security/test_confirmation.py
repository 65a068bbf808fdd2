"""A confirmation answers only its own prompt, in its own conversation and session, in time."""

from __future__ import annotations

import sqlite3

from actions import ledger
from tests.e2e.test_conversations import reach_return_confirmation
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
    customer.say("jane.doe@example.com")
    customer.say("yes")  # asked for the reason, not a confirmation
    customer.say("yes")
    assert customer.ledger() == []
    customer.say("never mind")  # `unchanged` checks that nothing was created or staged


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
