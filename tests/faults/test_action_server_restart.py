"""The action server is killed (SIGKILL) and started again in the middle of a return.

The conversation lives in Rasa's tracker store and the staged action in the ledger, so the
restarted server picks up where the dead one stopped. Killed between the "yes" and the
result, the claimed row is `executing` with a lease; while the lease runs the customer is
told it is still being finished, and once it has run out the row is taken over and re-sent
with the same idempotency key: one return, reported to the customer, the ledger `succeeded`.
"""

from __future__ import annotations

import re
import subprocess
import threading
import time
from datetime import timedelta
from typing import Optional

from actions import ledger
from tests import processes
from tests.e2e.test_conversations import reach_return_confirmation
from tests.faults.conftest import RETRY_BUDGET_SECONDS, FaultStack
from tests.stack import Conversation

JANE = "jane.doe@example.com"


def wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


class SaidInBackground:
    """A message whose reply the test collects later (the action server dies while handling it)."""

    def __init__(self, shopper: Conversation, text: str) -> None:
        self.reply: Optional[str] = None
        self._thread = threading.Thread(target=self._say, args=(shopper, text), daemon=True)
        self._thread.start()

    def _say(self, shopper: Conversation, text: str) -> None:
        self.reply = shopper.say(text)

    def wait(self) -> str:
        self._thread.join(timeout=30)
        assert self.reply is not None, "Rasa did not answer"
        return self.reply


def test_killed_between_two_questions_the_return_goes_on_after_the_restart(
        shopper: Conversation, fault_stack: FaultStack) -> None:
    shopper.say("I want to return the blue jacket from order #4521")
    assert "reason" in shopper.say(JANE)
    fault_stack.action_server.restart()
    assert "refund" in shopper.say("it doesn't fit")
    assert "Shall I create this return?" in shopper.say("store credit")
    assert "RMA-" in shopper.say("yes")
    assert [r["reason"] for r in fault_stack.returns("4521")] == ["wrong_size"]
    assert fault_stack.ledger_statuses(shopper.sender) == [ledger.SUCCEEDED]


def test_an_answer_given_while_the_server_was_down_is_checked_after_the_restart(
        shopper: Conversation, fault_stack: FaultStack) -> None:
    shopper.say("I want to return the blue jacket from order #4521")
    assert "reason" in shopper.say(JANE)
    fault_stack.action_server.kill()
    assert "refund" not in shopper.say("it doesn't fit")  # nobody could check it
    fault_stack.action_server.start()
    assert "refund" in shopper.say("try again")  # "it doesn't fit" is checked now: wrong size
    prompt = shopper.say("store credit")
    assert "Wrong size" in prompt
    assert "RMA-" in shopper.say("yes")
    assert [r["reason"] for r in fault_stack.returns("4521")] == ["wrong_size"]


def test_killed_between_the_yes_and_the_result_the_return_is_created_once_and_reported(
        shopper: Conversation, fault_stack: FaultStack) -> None:
    reach_return_confirmation(shopper)
    # The write reaches the proxy, which holds it; the API gets it 3 s later, after the kill.
    fault_stack.proxy.inject("delay", seconds=3, method="POST", path="/returns", times=1)
    yes = SaidInBackground(shopper, "yes")
    wait_for(lambda: fault_stack.proxy.seen("POST", "/returns"))
    fault_stack.action_server.kill()
    assert "RMA-" not in yes.wait()  # the customer heard nothing yet
    [row] = shopper.ledger()
    assert row.status == ledger.EXECUTING  # claimed by the process that died

    fault_stack.action_server.start()
    wait_for(lambda: len(fault_stack.returns("4521")) == 1)  # the held write did reach the API
    if row.expires_at > ledger.utcnow() + timedelta(seconds=RETRY_BUDGET_SECONDS + 1):
        # the lease has not run out: the real state is "still being finished", never a second return
        assert "still finishing" in shopper.say("yes")
        assert len(fault_stack.returns("4521")) == 1
    wait_for(lambda: ledger.utcnow() > row.expires_at, timeout=20)

    said = shopper.say("try again")
    [created] = fault_stack.returns("4521")
    assert re.search(r"RMA-[0-9A-F]+", said).group(0) == created["return_id"]
    attempts = fault_stack.proxy.seen("POST", "/returns")
    assert [(a.idempotency_key, a.replayed) for a in attempts] == [(row.id, False), (row.id, True)]
    [row] = shopper.ledger()
    assert row.status == ledger.SUCCEEDED and row.result["return_id"] == created["return_id"]


def test_killed_before_the_write_was_sent_the_return_is_created_once_after_the_restart(
        shopper: Conversation, fault_stack: FaultStack) -> None:
    reach_return_confirmation(shopper)
    # Hold the ownership check (the GET before the write): the write is never sent by the dead process.
    fault_stack.proxy.clear_log()
    fault_stack.proxy.inject("delay", seconds=2, method="GET", path="/orders/4521", times=1)
    yes = SaidInBackground(shopper, "yes")
    wait_for(lambda: fault_stack.proxy.seen("GET", "/orders/4521"))
    fault_stack.action_server.kill()
    assert "RMA-" not in yes.wait()
    [row] = shopper.ledger()
    assert row.status == ledger.EXECUTING and fault_stack.returns("4521") == []

    fault_stack.action_server.start()
    wait_for(lambda: ledger.utcnow() > row.expires_at, timeout=20)
    said = shopper.say("yes")
    [created] = fault_stack.returns("4521")
    assert created["return_id"] in said
    assert len(fault_stack.proxy.seen("POST", "/returns")) == 1
    assert fault_stack.ledger_statuses(shopper.sender) == [ledger.SUCCEEDED]


def test_an_orphaned_row_nobody_asks_about_is_finished_by_the_recovery_sweep(
        shopper: Conversation, fault_stack: FaultStack) -> None:
    reach_return_confirmation(shopper)
    fault_stack.proxy.clear_log()
    fault_stack.proxy.inject("delay", seconds=2, method="GET", path="/orders/4521", times=1)
    yes = SaidInBackground(shopper, "yes")
    wait_for(lambda: fault_stack.proxy.seen("GET", "/orders/4521"))
    fault_stack.action_server.kill()
    yes.wait()
    [row] = shopper.ledger()
    assert row.status == ledger.EXECUTING

    wait_for(lambda: ledger.utcnow() > row.expires_at, timeout=20)
    sweep = subprocess.run(  # `make prune`, with the stack's settings
        [str(processes.RASA_BIN / "python"), "-m", "scripts.prune_trackers"],
        cwd=processes.ROOT, env=fault_stack.env, capture_output=True, text=True, timeout=120,
    )
    assert sweep.returncode == 0, sweep.stderr
    assert "{'succeeded': 1}" in sweep.stdout
    assert len(fault_stack.returns("4521")) == 1 and len(fault_stack.proxy.seen("POST", "/returns")) == 1
    assert fault_stack.ledger_statuses(shopper.sender) == [ledger.SUCCEEDED]
