"""No write later than the customer can see it (issue 13, invariant 5).

A confirmed action whose execution was cut off (the action server died between the customer's
"yes" and the commerce API's answer) is finished by the recovery sweep only within the
confirmation's own lifetime, and the customer hears the outcome on their next turn. An older
one is never executed: it is reconciled against the API, closed, told to the customer and
listed for staff (`make review`).
"""

from __future__ import annotations

import subprocess
from datetime import timedelta

from sqlalchemy import update

from actions import ledger
from actions.ledger import StagedAction
from tests import processes
from tests.e2e.test_conversations import reach_return_confirmation
from tests.stack import Conversation


def cut_off_after_the_yes(customer: Conversation, stack, *, confirmed_ago: timedelta) -> StagedAction:
    """Stages a return and leaves it as a process that died right after claiming it would."""
    reach_return_confirmation(customer)
    [row] = customer.ledger()
    claimed = stack.gate.claim(row.id, customer.sender)
    assert claimed is not None
    with stack.gate._sessions.begin() as session:
        session.execute(update(StagedAction).where(StagedAction.id == row.id).values(
            confirmed_at=ledger.utcnow() - confirmed_ago, updated_at=ledger.utcnow() - confirmed_ago,
            expires_at=ledger.utcnow() - timedelta(seconds=1)))  # the lease ran out: nobody is running it
    return row


def sweep(stack) -> str:
    result = subprocess.run(
        [str(processes.RASA_BIN / "python"), "-m", "scripts.prune_trackers",
         "--ledger-url", stack.env["ACTION_LEDGER_URL"], "--db-url", f"sqlite:///{stack.env['TRACKER_DB_PATH']}"],
        cwd=processes.ROOT, env=stack.env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_a_fresh_confirmation_is_finished_and_the_customer_told_on_the_next_turn(customer: Conversation,
                                                                                 stack) -> None:
    row = cut_off_after_the_yes(customer, stack, confirmed_ago=timedelta(minutes=2))
    sweep(stack)
    assert [r["item_id"] for r in stack.returns("4521")] == ["4521-1"]
    assert stack.gate.get(row.id).status == ledger.SUCCEEDED
    first = customer.stack.send(customer.sender, "thanks")
    assert "RMA-" in first[0]["text"]  # the outcome comes first, before the answer to "thanks"
    assert "RMA-" not in customer.say("thanks again")  # and only once


def test_an_old_confirmation_is_never_executed_late(customer: Conversation, stack) -> None:
    row = cut_off_after_the_yes(customer, stack, confirmed_ago=timedelta(hours=1))
    sweep(stack)
    final = stack.gate.get(row.id)
    assert final.status == ledger.FAILED and final.needs_review
    assert stack.returns("4521") == []  # nothing happened an hour after the customer left
    said = customer.say("hello")
    assert "couldn't finish it in time" in said and "nothing was changed" in said
    listed = subprocess.run([str(processes.RASA_BIN / "python"), "-m", "tools.review_actions", "--ledger-url",
                             stack.env["ACTION_LEDGER_URL"]], cwd=processes.ROOT, env=stack.env,
                            capture_output=True, text=True, timeout=120)
    assert row.id in listed.stdout and "create_return" in listed.stdout


def test_an_old_confirmation_that_did_reach_the_api_is_closed_as_succeeded(customer: Conversation, stack) -> None:
    row = cut_off_after_the_yes(customer, stack, confirmed_ago=timedelta(hours=1))
    # The first attempt reached the API before the process died (same idempotency key).
    stack.api.post(f"{stack.commerce_api_url}/returns", timeout=10, headers={"Idempotency-Key": row.id}, json={
        "order_id": "4521", "item_ids": ["4521-1"], "reason": "wrong_size", "refund_method": "store_credit"})
    sweep(stack)
    final = stack.gate.get(row.id)
    assert final.status == ledger.SUCCEEDED and final.needs_review
    assert len(stack.returns("4521")) == 1
    assert "RMA-" in customer.say("hello")
