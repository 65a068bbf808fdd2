"""The API did the work but its answer never reached the action server.

The write is retried with the same idempotency key (the ledger row id); if every answer is
lost, the API is read before the outcome is called unknown; "try again" on an unknown outcome
re-sends with the same key. Exactly one return or cancellation exists afterwards, the ledger
row ends in the true state, and the customer is told the true outcome.
"""

from __future__ import annotations

import re

from actions import ledger
from tests.e2e.test_conversations import reach_return_confirmation
from tests.faults.conftest import FaultStack
from tests.stack import Conversation

JANE = "jane.doe@example.com"


def return_id_in(text: str) -> str:
    match = re.search(r"RMA-[0-9A-F]+", text)
    assert match, text
    return match.group(0)


def test_one_lost_answer_is_retried_with_the_same_key_and_creates_one_return(
        shopper: Conversation, fault_stack: FaultStack) -> None:
    reach_return_confirmation(shopper)
    fault_stack.proxy.inject("lose", method="POST", path="/returns", times=1)
    said = shopper.say("yes")
    [row] = shopper.ledger()
    attempts = fault_stack.proxy.seen("POST", "/returns")
    assert [(a.action, a.idempotency_key, a.replayed) for a in attempts] == [
        ("lose", row.id, False), ("pass", row.id, True)]  # the retry got the first response replayed
    [created] = fault_stack.returns("4521")
    assert return_id_in(said) == created["return_id"] == row.result["return_id"]
    assert row.status == ledger.SUCCEEDED


def test_when_every_answer_is_lost_the_api_is_read_and_the_customer_hears_the_true_outcome(
        shopper: Conversation, fault_stack: FaultStack) -> None:
    reach_return_confirmation(shopper)
    fault_stack.proxy.inject("lose", method="POST", path="/returns")
    said = shopper.say("yes")
    [row] = shopper.ledger()
    attempts = fault_stack.proxy.seen("POST", "/returns")
    assert len(attempts) == 3 and {a.idempotency_key for a in attempts} == {row.id}
    assert [a.replayed for a in attempts] == [False, True, True]  # acted once, replayed after
    assert fault_stack.proxy.seen("GET", "/returns?order_id=4521")  # reconciled by reading
    [created] = fault_stack.returns("4521")
    assert "Done" in said and return_id_in(said) == created["return_id"] == row.result["return_id"]
    assert row.status == ledger.SUCCEEDED


def test_an_unknown_outcome_is_finished_by_try_again_with_the_same_key(
        shopper: Conversation, fault_stack: FaultStack) -> None:
    reach_return_confirmation(shopper)
    fault_stack.proxy.inject("lose", method="POST", path="/returns")
    fault_stack.proxy.inject("status", status=503, method="GET", path="/returns")
    said = shopper.say("yes")
    assert "can't confirm whether that went through" in said and "RMA-" not in said
    [row] = shopper.ledger()
    assert row.status == ledger.UNKNOWN and row.arguments["item_ids"] == ["4521-1"]  # kept for the retry
    assert len(fault_stack.returns("4521")) == 1  # the API did act

    fault_stack.proxy.heal()
    said = shopper.say("try again")
    [created] = fault_stack.returns("4521")
    assert return_id_in(said) == created["return_id"]
    last = fault_stack.proxy.seen("POST", "/returns")[-1]
    assert (last.idempotency_key, last.replayed) == (row.id, True)
    [row] = shopper.ledger()
    assert row.status == ledger.SUCCEEDED and row.result["return_id"] == created["return_id"]
    assert "nothing waiting for your confirmation" in shopper.say("yes")  # finished: nothing left


def test_a_cancellation_whose_answers_are_all_lost_is_reported_from_the_order(
        shopper: Conversation, fault_stack: FaultStack) -> None:
    shopper.say("please cancel order 4522")
    assert "Shall I cancel this order?" in shopper.say(JANE)
    fault_stack.proxy.inject("lose", method="POST", path="/orders/4522/cancel")
    said = shopper.say("yes")
    assert "order #4522 is cancelled" in said
    attempts = fault_stack.proxy.seen("POST", "/orders/4522/cancel")
    [row] = shopper.ledger()
    assert len(attempts) == 3 and {a.idempotency_key for a in attempts} == {row.id}
    assert fault_stack.order("4522")["status"] == "cancelled"
    assert row.status == ledger.SUCCEEDED
