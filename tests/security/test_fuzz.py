"""Bounded property-based fuzzing of the REST webhook and the action server's webhook.

Whatever arrives: no 5xx, no stack trace, and nothing changes in the commerce API
or the ledger.
"""

from __future__ import annotations

import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import processes
from tests.security.conftest import commerce_state, ledger_rows

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
messages = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["/affirm", '/inform{"order_id":"4521"}', "/restart", "yes", "4521", "jane.doe@example.com"]),
    st.builds(lambda a, b: f"{a} {b}", st.sampled_from(["return", "cancel order", "track", "/"]), st.text(max_size=30)),
)


def test_the_rest_webhook_never_fails_or_changes_state(stack, reseed) -> None:
    reseed()
    before = (commerce_state(stack), ledger_rows(stack))

    @FUZZ
    @given(sender=st.text(min_size=1, max_size=40), message=messages, metadata=json_values)
    def send(sender: str, message: str, metadata) -> None:
        response = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook",
                                 json={"sender": sender, "message": message, "metadata": metadata}, timeout=60,
                                 headers={"Authorization": f"Bearer {processes.REST_CHANNEL_TOKEN}"})
        assert response.status_code < 500, response.text[:300]
        assert "Traceback" not in response.text

    send()
    assert (commerce_state(stack), ledger_rows(stack)) == before


def test_the_action_webhook_never_fails_or_changes_state(stack, reseed) -> None:
    reseed()
    before = (commerce_state(stack), ledger_rows(stack))
    actions = st.sampled_from([
        "action_resolve_gate", "action_ask_gate_confirmation", "validate_return_form", "validate_cancel_order_form",
        "validate_address_form", "validate_default_address_form", "action_report_order_status", "action_leave_form",
        "action_session_start",
        "action_handoff_to_human", "action_ask_return_items", "action_ask_order_id", "action_switch_task",
        "action_continue_task", "action_answer_question", "action_resume_unfinished", "no_such_action",
    ])
    slots = st.fixed_dictionaries({}, optional={
        "order_id": json_values, "customer_id": json_values, "verified_via": json_values,
        "gate_action_id": json_values, "gate_prompt": json_values, "gate_confirmation": json_values,
        "return_items": json_values, "requested_slot": json_values, "pending_tasks": json_values,
        "customer_email": json_values, "address_street": json_values, "order_choices": json_values,
    })
    calls = st.one_of(
        json_values,
        st.fixed_dictionaries({
            "next_action": actions, "sender_id": st.text(max_size=20),
            "tracker": st.fixed_dictionaries({
                "sender_id": st.text(max_size=20), "slots": slots, "events": st.lists(json_values, max_size=3),
                "latest_message": st.one_of(st.none(), st.fixed_dictionaries({"text": st.text(max_size=30)})),
                "active_loop": st.one_of(st.none(), st.fixed_dictionaries(
                    {"name": st.sampled_from(["return_form", "cancel_order_form", "address_form",
                                              "default_address_form"])})),
            }),
            "domain": st.one_of(st.just({}), json_values),
        }),
    )

    @FUZZ
    @given(call=calls)
    def call_action(call) -> None:
        response = requests.post(stack.env["ACTION_SERVER_URL"], json=call,
                                 params={"token": processes.ACTION_SERVER_TOKEN}, timeout=60)
        assert response.status_code < 500, (call, response.text[:300])
        assert "Traceback" not in response.text

    call_action()
    assert (commerce_state(stack), ledger_rows(stack)) == before
