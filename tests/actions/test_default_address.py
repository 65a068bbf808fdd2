"""The account's saved address: asked for after verification, no order, behind the gate like every write."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict

import yaml

from actions import ledger
from actions.api.commerce import get_commerce_client
from actions.capabilities.default_address import UNCHANGED, ValidateDefaultAddressForm
from actions.dialogue.address_questions import address_words
from actions.dialogue.asking import ActionAskCustomerEmail
from actions.dialogue.gate_actions import ActionAskGateConfirmation, ActionResolveGate
from tests.actions.conftest import texts
from tests.actions.test_flows import JANE, SAM, slot_values, turn, yes_to

ROOT = Path(__file__).resolve().parents[2]
FORM = "default_address_form"
NEW = {"address_street": "7 Orchard Row", "address_city": "Springfield", "address_state": "IL",
       "address_postal_code": "62704", "address_country": "US"}


def verified(**extra: Any) -> Dict[str, Any]:
    return {"customer_id": JANE, "verified_via": "email", **extra}


async def stage(gate, dispatcher, **slots: Any):
    tracker = turn(verified(**NEW, **slots), "62704", form=FORM, requested="gate_confirmation")
    events = await ActionAskGateConfirmation().run(dispatcher, tracker, {})
    return gate.get(slot_values(events)["gate_action_id"])


def test_a_yes_or_ok_in_front_of_an_address_is_not_part_of_it() -> None:
    assert address_words("yes, 12 New Road, Leeds, LS1 4AP, UK") == "12 New Road, Leeds, LS1 4AP, UK"
    assert address_words("Yes 12 New Road") == "12 New Road"
    assert address_words("sure, it's 30 Quarry Lane") == "30 Quarry Lane"
    assert address_words("no, my new address is 5 Mill Street") == "5 Mill Street"
    assert address_words("12 New Road") == "12 New Road"
    assert address_words("Yesterday Lane 4") == "Yesterday Lane 4"  # a word, not a "yes"
    assert address_words("North Street 1") == "North Street 1"


async def test_unverified_the_identity_question_says_it_is_for_the_account(configured, api_calls, dispatcher) -> None:
    events = await ValidateDefaultAddressForm().run(dispatcher, turn({}, "I moved, update my saved address",
                                                                     intent="change_default_address"), {})
    assert slot_values(events)["requested_slot"] == "customer_email"
    await ActionAskCustomerEmail().run(dispatcher, turn({}, "", form=FORM, requested="customer_email"), {})
    assert texts(dispatcher) == ["utter_ask_customer_email_account"]
    assert sum(api_calls.calls.values()) == 0  # nothing looked up before verification


async def test_an_order_task_still_asks_to_look_up_the_orders(configured, dispatcher) -> None:
    await ActionAskCustomerEmail().run(dispatcher, turn({}, "", form="track_order_form",
                                                        requested="customer_email"), {})
    assert texts(dispatcher) == ["utter_ask_customer_email"]


async def test_verified_it_asks_for_the_address_and_never_for_an_order(configured, api_calls, dispatcher) -> None:
    events = await ValidateDefaultAddressForm().run(dispatcher, turn(verified(), "change my default address",
                                                                     intent="change_default_address"), {})
    slots = slot_values(events)
    assert slots["requested_slot"] == "address_street" and "order_id" not in slots
    assert api_calls.count("/orders") == 0


async def test_yes_and_an_address_at_the_street_question_fills_the_address(configured, dispatcher) -> None:
    events = await ValidateDefaultAddressForm().run(dispatcher, turn(
        verified(), "yes, 12 New Road, Leeds, LS1 4AP, UK", intent="affirm", form=FORM,
        requested="address_street"), {})
    slots = slot_values(events)
    assert (slots["address_street"], slots["address_city"], slots["address_postal_code"],
            slots["address_country"]) == ("12 New Road", "Leeds", "LS1 4AP", "GB")
    assert slots["requested_slot"] == "gate_confirmation"


async def test_the_prompt_says_the_saved_address_changes_and_the_orders_keep_theirs(gate, dispatcher) -> None:
    row = await stage(gate, dispatcher)
    prompt = dispatcher.messages[-1]["text"]
    assert row.order_id == "" and row.customer_id == JANE and row.action_name == "change_default_address"
    assert "address saved on your account" in prompt and "default address" in prompt
    assert "From: 12 Harbour Lane, Portland, OR 97201, US" in prompt
    assert "To: 7 Orchard Row, Springfield, IL 62704, US" in prompt
    assert "Orders you've already placed keep the address they have." in prompt
    assert [b["title"] for b in dispatcher.messages[-1]["buttons"]] == ["Yes", "No"]


async def test_yes_changes_the_saved_address_once_and_no_order(gate, api_calls, dispatcher) -> None:
    client = get_commerce_client()
    orders_before = {o["order_id"]: o["shipping_address"] for o in client.customer_orders(JANE)}
    row = await stage(gate, dispatcher)
    tracker = yes_to(row, verified(**NEW, gate_confirmation=True))
    await ActionResolveGate().run(dispatcher, tracker, {})
    await ActionResolveGate().run(dispatcher, tracker, {})  # a retried webhook
    assert api_calls.count("PATCH /customers/cus_jane_doe/address") == 1
    assert gate.get(row.id).status == ledger.SUCCEEDED
    assert client.get_customer(JANE)["default_address"]["street"] == "7 Orchard Row"
    assert {o["order_id"]: o["shipping_address"] for o in client.customer_orders(JANE)} == orders_before
    assert any("saved on your account is now 7 Orchard Row" in t for t in texts(dispatcher))
    assert "7 Orchard Row" not in json.dumps(gate.get(row.id).arguments)  # the final row keeps it masked


async def test_no_changes_nothing(gate, api_calls, dispatcher) -> None:
    row = await stage(gate, dispatcher)
    await ActionResolveGate().run(dispatcher, yes_to(row, verified(**NEW, gate_confirmation=False), text="no"), {})
    assert gate.get(row.id).status == ledger.DECLINED and api_calls.count("PATCH") == 0


async def test_another_verified_customer_cannot_execute_it(gate, api_calls, dispatcher) -> None:
    row = await stage(gate, dispatcher)
    tracker = yes_to(row, {**verified(**NEW, gate_confirmation=True), "customer_id": SAM})
    await ActionResolveGate().run(dispatcher, tracker, {})
    assert api_calls.count("PATCH") == 0 and gate.get(row.id).status != ledger.SUCCEEDED
    assert get_commerce_client().get_customer(JANE)["default_address"]["street"] == "12 Harbour Lane"


async def test_the_same_address_again_is_not_staged(gate, api_calls, dispatcher) -> None:
    same = {"address_street": "12 Harbour Lane", "address_city": "Portland", "address_state": "OR",
            "address_postal_code": "97201", "address_country": "US"}
    tracker = turn(verified(**same), "97201", form=FORM, requested="gate_confirmation")
    events = await ActionAskGateConfirmation().run(dispatcher, tracker, {})
    assert texts(dispatcher) == [UNCHANGED]
    assert slot_values(events).get("gate_action_id") is None and gate.history("test-conversation") == []


async def test_a_lost_answer_is_reconciled_from_the_account(gate, dispatcher) -> None:
    from actions.capabilities.default_address import DefaultAddressCapability

    row = await stage(gate, dispatcher)
    capability = DefaultAddressCapability()
    assert capability.reconcile(get_commerce_client(), row) is None
    address = {"street": "7 Orchard Row", "city": "Springfield", "state": "IL", "postal_code": "62704", "country": "US"}
    get_commerce_client().change_default_address(customer_id=JANE, address=address, idempotency_key=row.id)
    assert capability.reconcile(get_commerce_client(), row).succeeded


def test_the_address_questions_examples_belong_to_no_customer() -> None:
    """The privacy checks watch the customers' real streets: an example in a question must be nobody's."""
    domain = yaml.safe_load((ROOT / "domain" / "address.yml").read_text(encoding="utf-8"))
    said = " ".join(v["text"] for values in domain["responses"].values() for v in values)
    examples = re.findall(r'"([^"]*\d[^"]*)"', said)
    assert examples, "the address questions lost their examples"
    users = json.loads((ROOT / "shops" / "tau-retail" / "db.json").read_text(encoding="utf-8"))["users"]
    streets = {u["address"]["address1"].lower() for u in users.values()} | {"12 harbour lane", "48 elm street"}
    for example in examples:
        assert not any(street in example.lower() for street in streets), example


async def test_an_order_number_after_the_saved_address_does_not_restart_it(configured, dispatcher) -> None:
    from actions.dialogue.switching import ActionContinueTask

    tracker = turn(verified(last_task=FORM), "4522")
    events = await ActionContinueTask().run(dispatcher, tracker, {})
    assert not any(e.get("event") == "followup" for e in events)
    assert texts(dispatcher) == ["utter_what_about_order"]


async def test_yes_with_another_address_at_the_prompt_is_the_change_shown_again(gate, dispatcher) -> None:
    row = await stage(gate, dispatcher)
    tracker = yes_to(row, verified(**NEW, gate_confirmation=True), text="yes, 12 New Road, Leeds, LS1 4AP, UK")
    tracker.active_loop = {"name": FORM}
    tracker.slots["requested_slot"] = "gate_confirmation"
    events = await ValidateDefaultAddressForm().run(dispatcher, tracker, {})
    slots = slot_values(events)
    assert slots["address_street"] == "12 New Road" and slots["address_country"] == "GB"
    assert slots["requested_slot"] == "gate_confirmation" and slots["gate_confirmation"] is None
    assert gate.get(row.id).status == ledger.AWAITING_CONFIRMATION  # re-staged with the new address, not run
