"""The commerce API times out, answers 5xx, refuses connections or is slow.

Reads are retried with backoff and jitter within the call's budget; the customer hears an
apology and "try again" resumes the form at the step it was at, with what was said kept; the
circuit breaker stops calling a dead API and lets one probe through once it may be back.
Each test asserts the replies, what reached the API (through the proxy), the API's state
and the ledger.
"""

from __future__ import annotations

import threading
import time

import pytest

from actions import ledger
from actions.api.breaker import CircuitBreaker
from actions.api.errors import CircuitOpen, CommerceUnavailable, Conflict
from tests.faults.conftest import BREAKER_RESET_SECONDS, RETRY_BUDGET_SECONDS, FaultStack
from tests.stack import Conversation

JANE = "jane.doe@example.com"
APOLOGY = "can't reach our order system"


def finish_return(shopper: Conversation, stack: FaultStack) -> None:
    assert "refund" in shopper.say("it doesn't fit")
    assert "Shall I create this return?" in shopper.say("store credit")
    assert "RMA-" in shopper.say("yes")
    assert [(r["item_id"], r["reason"]) for r in stack.returns("4521")] == [("4521-1", "wrong_size")]
    assert stack.ledger_statuses(shopper.sender) == [ledger.SUCCEEDED]


def test_503_answers_are_retried_then_apologised_for_and_try_again_resumes_the_step(
        shopper: Conversation, fault_stack: FaultStack) -> None:
    assert "email address on your account" in shopper.say("I want to return the blue jacket from order #4521")
    fault_stack.proxy.inject("status", status=503)
    said = shopper.say(JANE)
    assert APOLOGY in said and "try again" in said
    assert len(fault_stack.proxy.seen("POST", "/customers/verify")) == 3  # the first attempt and two retries

    fault_stack.proxy.heal()
    said = shopper.say("try again")  # checks the email it could not check before
    assert "verified" in said and "reason" in said  # the order and the jacket of the first message were kept
    finish_return(shopper, fault_stack)


def test_an_api_slower_than_the_timeout_costs_the_customer_one_budget_at_most(
        shopper: Conversation, fault_stack: FaultStack) -> None:
    shopper.say("where is my order #4523")
    fault_stack.proxy.inject("delay", seconds=2.5, method="GET")
    started = time.monotonic()
    said = shopper.say(JANE)
    waited = time.monotonic() - started
    assert APOLOGY in said
    assert waited < RETRY_BUDGET_SECONDS + 1.5, waited  # bounded by the budget, not 3 attempts × 2.5 s
    # 1 s read timeout, a retry, then a third attempt no longer fits the 3 s budget (1.3 s each)
    assert len(fault_stack.proxy.seen("GET", "/customers/cus_jane_doe/orders")) == 2

    fault_stack.proxy.heal()
    assert "on its way with UPS" in shopper.say("try again")


def test_a_slow_api_within_the_timeout_just_works(shopper: Conversation, fault_stack: FaultStack) -> None:
    fault_stack.proxy.inject("delay", seconds=0.6)
    assert "email" in shopper.say("I want to return the blue jacket from order #4521")
    assert "reason" in shopper.say(JANE)
    finish_return(shopper, fault_stack)
    assert all(r.action == "delay" for r in fault_stack.proxy.seen())
    assert "assistant_commerce_api_circuit_state 0.0" in fault_stack.action_server.metrics()


def test_a_refused_connection_is_apologised_for_quickly_and_the_form_resumes(
        shopper: Conversation, fault_stack: FaultStack) -> None:
    assert "email" in shopper.say("I want to return the blue jacket from order #4521")
    fault_stack.proxy.refuse()
    started = time.monotonic()
    said = shopper.say(JANE)
    assert APOLOGY in said and time.monotonic() - started < 3
    assert "verified" not in said

    fault_stack.proxy.accept()
    said = shopper.say("try again")  # checks the email it could not check before
    assert "you're verified" in said and "reason" in said
    finish_return(shopper, fault_stack)


def test_the_confirmation_step_is_asked_again_with_everything_kept(
        shopper: Conversation, fault_stack: FaultStack) -> None:
    shopper.say("I want to return the blue jacket from order #4521")
    shopper.say(JANE)
    assert "refund" in shopper.say("it doesn't fit")
    fault_stack.proxy.inject("status", status=504, path="/orders/4521/items/4521-1/return-eligibility")
    said = shopper.say("store credit")
    assert APOLOGY in said and "Shall I create" not in said
    assert stack_rows(fault_stack, shopper) == []  # nothing staged without a proposal

    fault_stack.proxy.heal()
    prompt = shopper.say("try again")
    for detail in ("Blue Denim Jacket (Size M)", "Wrong size", "$89.00", "store credit", "Shall I create this return?"):
        assert detail in prompt
    assert "RMA-" in shopper.say("yes")
    assert len(fault_stack.returns("4521")) == 1
    assert stack_rows(fault_stack, shopper) == [ledger.SUCCEEDED]


def test_try_again_after_a_failed_report_reports_it(shopper: Conversation, fault_stack: FaultStack) -> None:
    shopper.say("where is my order #4523")
    fault_stack.proxy.inject("status", status=502, path="/track/")
    assert APOLOGY in shopper.say(JANE)
    fault_stack.proxy.heal()
    said = shopper.say("try again")
    assert "UPS" in said and "Estimated delivery" in said


def test_the_circuit_opens_on_a_dead_api_fails_fast_and_recovers_through_one_probe(
        shopper: Conversation, fault_stack: FaultStack) -> None:
    proxy = fault_stack.proxy
    shopper.say("where is my order #4521")
    proxy.inject("status", status=503)
    assert APOLOGY in shopper.say(JANE)
    assert APOLOGY in shopper.say("try again")
    assert APOLOGY in shopper.say("try again")  # third failed call in a row: the circuit opens
    reached = len(proxy.seen())
    assert "assistant_commerce_api_circuit_state 1.0" in fault_stack.action_server.metrics()

    started = time.monotonic()
    said = shopper.say("try again")
    assert APOLOGY in said and "handing you over" not in said  # an outage is not a failed answer
    assert len(proxy.seen()) == reached  # open: nothing was sent
    assert time.monotonic() - started < 1.5

    proxy.heal()
    time.sleep(BREAKER_RESET_SECONDS + 0.2)
    said = shopper.say("try again")  # the probe succeeds, and the rest of the turn with it
    assert "you're verified" in said and "delivered" in said
    assert len(proxy.seen("POST", "/customers/verify")) == reached + 1
    metrics = fault_stack.action_server.metrics()
    assert "assistant_commerce_api_circuit_state 0.0" in metrics
    assert 'assistant_commerce_api_circuit_changes_total{state="half_open"}' in metrics


def stack_rows(stack: FaultStack, shopper: Conversation):
    return stack.ledger_statuses(shopper.sender)


# -- the breaker itself (no stack needed) ------------------------------------------------------


def failing() -> None:
    raise CommerceUnavailable("down")


def test_the_breaker_never_holds_its_lock_during_a_call() -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_seconds=1, is_failure=lambda e: True)
    started = time.monotonic()
    calls = [threading.Thread(target=breaker.call, args=(time.sleep, 0.3)) for _ in range(4)]
    for call in calls:
        call.start()
    for call in calls:
        call.join()
    assert time.monotonic() - started < 0.6  # concurrent, not one after the other (pybreaker: 1.2 s)


def test_half_open_lets_exactly_one_probe_through_and_its_failure_opens_again() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, reset_seconds=10, clock=lambda: now[0],
                             is_failure=lambda e: isinstance(e, CommerceUnavailable))
    for _ in range(2):
        with pytest.raises(CommerceUnavailable):
            breaker.call(failing)
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: "not called")
    now[0] = 10.0
    probe_started, release = threading.Event(), threading.Event()
    probe = threading.Thread(target=breaker.call, args=(lambda: (probe_started.set(), release.wait(5)),))
    probe.start()
    probe_started.wait(5)
    with pytest.raises(CircuitOpen):  # a second caller while the probe runs fails fast
        breaker.call(lambda: "not called")
    release.set()
    probe.join()
    assert breaker.state == "closed"
    for _ in range(2):
        with pytest.raises(CommerceUnavailable):
            breaker.call(failing)
    now[0] = 25.0
    with pytest.raises(CommerceUnavailable):
        breaker.call(failing)  # the probe failed: open again, for another reset period
    assert breaker.state == "open"
    now[0] = 30.0
    with pytest.raises(CircuitOpen):
        breaker.call(lambda: "not called")


def test_a_business_refusal_is_not_a_failure_of_the_api() -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_seconds=10,
                             is_failure=lambda e: isinstance(e, CommerceUnavailable))
    with pytest.raises(Conflict):
        breaker.call(lambda: (_ for _ in ()).throw(Conflict("already shipped")))
    assert breaker.state == "closed"
