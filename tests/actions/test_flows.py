"""Capabilities decide by the order's state, verify first, and make no pointless API call.

Forms are driven one turn at a time the way Rasa calls them: a tracker whose latest message is
the customer's, the slots so far, the form active and its requested slot.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import ledger
from actions.capabilities.cancellation import ValidateCancelOrderForm
from actions.capabilities.refunds import ActionReportRefundStatus
from actions.capabilities.returns import ValidateReturnForm, reason_from_text, refund_method_from_text
from actions.capabilities.tracking import ActionReportOrderStatus, ValidateTrackOrderForm
from actions.dialogue.conversation import prompt_stamp
from actions.dialogue.finding import items_mentioned, orders_described
from actions.dialogue.gate_actions import ActionAskGateConfirmation, ActionResolveGate
from actions.dialogue.switching import ActionSwitchTask
from actions.identity.verification import parse_identity
from tests.actions.conftest import texts

JANE = "cus_jane_doe"
SAM = "cus_sam_lee"


def slot_values(events) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def turn(slots: Dict[str, Any], text: str, *, intent: str = "inform", entities: Optional[List[Dict]] = None,
         form: Optional[str] = None, requested: Optional[str] = None, sender_id: str = "test-conversation",
         before: Optional[List[Dict[str, Any]]] = None) -> Tracker:
    """The tracker a form's validation gets for the customer's latest message `text`."""
    values = dict(slots)
    if requested:
        values["requested_slot"] = requested
    events = list(before or []) + [{"event": "user", "text": text}]
    if form:
        events.append({"event": "action", "name": form})
    return Tracker(sender_id, values, {"text": text, "intent": {"name": intent, "confidence": 0.99},
                                       "entities": entities or []},
                   events, False, None, {"name": form} if form and requested else {}, "action_listen")


async def report_status(order_id: str, customer: str, dispatcher: CollectingDispatcher):
    tracker = turn({"order_id": order_id, "customer_id": customer, "verified_via": "email"}, "")
    return await ActionReportOrderStatus().run(dispatcher, tracker, {})


# -- tracking ----------------------------------------------------------------------------------


async def test_cancelled_order_reports_its_refund_without_a_tracking_call(api_calls, dispatcher) -> None:
    await report_status("4525", SAM, dispatcher)
    assert "cancelled" in texts(dispatcher)[0] and "$120.00" in texts(dispatcher)[0]
    assert api_calls.count("/track/") == 0


async def test_shipped_order_reports_carrier_last_scan_and_eta_with_one_tracking_call(api_calls, dispatcher) -> None:
    await report_status("4523", JANE, dispatcher)
    said = " ".join(texts(dispatcher))
    assert "UPS" in said and "1Z999AA10123456784" in said and "Louisville, KY" in said
    assert "Estimated delivery" in said
    assert api_calls.count("/track/") == 1


async def test_processing_order_gives_the_expected_ship_date_without_a_tracking_call(api_calls, dispatcher) -> None:
    await report_status("4522", JANE, dispatcher)
    assert "hasn't shipped yet" in texts(dispatcher)[0]
    assert api_calls.count("/track/") == 0


async def test_no_order_detail_for_a_customer_who_does_not_own_the_order(api_calls, dispatcher) -> None:
    await report_status("4521", SAM, dispatcher)  # verified as Sam; 4521 is Jane's
    assert dispatcher.messages == []


# -- identity ------------------------------------------------------------------------------


async def test_an_email_verifies_the_customer_for_all_their_orders(configured, dispatcher) -> None:
    events = await ValidateTrackOrderForm().run(dispatcher, turn(
        {}, "jane.doe@example.com", entities=[{"entity": "email", "value": "jane.doe@example.com"}],
        form="track_order_form", requested="customer_email"), {})
    slots = slot_values(events)
    assert slots["customer_id"] == JANE and slots["verified_via"] == "email"
    assert slots["requested_slot"] == "order_id"  # Jane has three orders: which one?


async def test_a_full_name_and_zip_verify_the_customer(configured, dispatcher) -> None:
    events = await ValidateTrackOrderForm().run(dispatcher, turn(
        {}, "Sam Lee 78701", form="track_order_form", requested="customer_email"), {})
    assert slot_values(events)["customer_id"] == SAM


def test_a_name_the_tagger_cut_short_is_read_from_the_words_around_the_postcode(configured) -> None:
    # the model tagged only "Jane" as person_name: the whole name still comes from the text
    answer = parse_identity("Jane Doe, 97201", [{"entity": "person_name", "value": "Jane"},
                                                {"entity": "postal_code", "value": "97201"}])
    assert (answer.name, answer.postal_code) == ("Jane Doe", "97201")
    tagged = parse_identity("it's jane doe 97201", [{"entity": "person_name", "value": "jane doe"}])
    assert (tagged.name, tagged.postal_code) == ("jane doe", "97201")


async def test_a_name_alone_asks_for_the_zip_and_keeps_nothing_when_it_is_wrong(configured, dispatcher) -> None:
    form = ValidateTrackOrderForm()
    slots = slot_values(await form.run(dispatcher, turn({}, "my name is Jane Doe", form="track_order_form",
                                                        requested="customer_email"), {}))
    assert slots["identity_name"] == "Jane Doe" and slots["requested_slot"] == "customer_postal_code"
    slots = slot_values(await form.run(dispatcher, turn(slots, "10001", form="track_order_form",
                                                        requested="customer_postal_code"), {}))
    assert slots.get("customer_id") is None and slots["identity_name"] is None
    assert slots["verification_failures"] == 1


async def test_three_wrong_identities_lock_verification_without_echoing_the_real_one(configured) -> None:
    slots: Dict[str, Any] = {}
    said = []
    for attempt in range(3):
        dispatcher = CollectingDispatcher()
        slots.update(slot_values(await ValidateTrackOrderForm().run(dispatcher, turn(
            dict(slots), f"guess{attempt}@example.com", form="track_order_form", requested="customer_email"), {})))
        said += [str(m) for m in dispatcher.messages]
    assert slots["identity_locked"] is True and slots["form_halted"] is True
    assert not any("jane.doe" in message for message in said)
    dispatcher = CollectingDispatcher()
    locked = slot_values(await ValidateTrackOrderForm().run(dispatcher, turn(
        dict(slots), "jane.doe@example.com", form="track_order_form", requested="customer_email"), {}))
    assert "customer_id" not in locked
    assert dispatcher.messages[0]["response"] == "utter_verification_locked"


async def test_an_order_number_named_before_verification_is_not_looked_up(api_calls, dispatcher) -> None:
    events = await ValidateTrackOrderForm().run(dispatcher, turn({}, "where is order #4521?", intent="track_order"), {})
    slots = slot_values(events)
    assert slots["order_mention"] == "4521" and slots["requested_slot"] == "customer_email"
    assert api_calls.count("/orders") == 0 and dispatcher.messages == []


async def test_a_wrong_email_with_an_order_number_shows_nothing_of_the_order(api_calls, dispatcher) -> None:
    """Issue 13: an order number and a wrong email in one message used to list the order's items next."""
    events = await ValidateReturnForm().run(dispatcher, turn(
        {}, "return order 4521, my email is nope@example.com", intent="request_return",
        entities=[{"entity": "email", "value": "nope@example.com"}]), {})
    slots = slot_values(events)
    assert slots["requested_slot"] == "customer_email" and "customer_id" not in slots
    assert api_calls.count("/orders") == 0 and api_calls.count("/customers/cus") == 0
    assert [m["response"] for m in dispatcher.messages] == ["utter_identity_mismatch"]


async def test_an_order_that_is_not_the_customers_gets_the_answer_of_an_unknown_one(configured) -> None:
    answers = []
    for number in ("4524", "99999"):  # Sam's order, and no order at all
        dispatcher = CollectingDispatcher()
        await ValidateTrackOrderForm().run(dispatcher, turn(
            {"customer_id": JANE, "verified_via": "email"}, f"order {number}", form="track_order_form",
            requested="order_id"), {})
        answers.append([m.get("response") for m in dispatcher.messages])
    assert answers[0] == answers[1] == ["utter_order_not_on_account"]


# -- finding the order and the items -----------------------------------------------------------


async def test_the_last_one_picks_the_newest_order(configured, dispatcher) -> None:
    events = await ValidateTrackOrderForm().run(dispatcher, turn(
        {"customer_id": JANE, "verified_via": "email"}, "the last one", form="track_order_form",
        requested="order_id"), {})
    assert slot_values(events)["order_id"] == "4522"


async def test_a_described_item_picks_the_order_that_has_it(configured, dispatcher) -> None:
    events = await ValidateReturnForm().run(dispatcher, turn(
        {"customer_id": SAM, "verified_via": "email"}, "I want to return the chino shorts",
        intent="request_return"), {})
    slots = slot_values(events)
    assert slots["order_id"] == "4526" and slots["return_items"] == ["4526-2"]


def test_items_are_matched_against_the_orders_own_items() -> None:
    items = [
        {"item_id": "a", "name": "Vacuum Cleaner", "options": {"type": "robotic"}},
        {"item_id": "b", "name": "Headphones", "options": {"color": "black"}},
        {"item_id": "c", "name": "Smart Watch", "options": {"color": "silver"}},
        {"item_id": "d", "name": "Water Bottle", "options": {"color": "blue"}},
    ]
    ids = lambda found: [item["item_id"] for item in found]  # noqa: E731
    assert ids(items_mentioned("return the cleaner, the headphones and the watch", items)) == ["a", "b", "c"]
    assert ids(items_mentioned("the blue one", items)) == ["d"]
    assert ids(items_mentioned("both", items[:2])) == ["a", "b"]
    assert ids(items_mentioned("no, the other one", items[:2], current=["a"])) == ["b"]
    for not_an_item in ("yes", "no", "store credit", "it doesn't fit", "I changed my mind"):
        assert items_mentioned(not_an_item, items) == []


def test_orders_are_found_by_description() -> None:
    orders = [
        {"order_id": "W3", "status": "processing", "items": [{"item_id": "1", "name": "Office Chair"}]},
        {"order_id": "W2", "status": "delivered", "items": [{"item_id": "2", "name": "Water Bottle",
                                                             "options": {"color": "blue"}}]},
        {"order_id": "W1", "status": "delivered", "items": [{"item_id": "3", "name": "Desk Lamp"}]},
    ]
    ids = lambda found: [order["order_id"] for order in found or []]  # noqa: E731
    assert ids(orders_described("the last one", orders)) == ["W3"]
    assert ids(orders_described("the oldest", orders)) == ["W1"]
    assert ids(orders_described("the one with the office chair", orders)) == ["W3"]
    assert ids(orders_described("the blue water bottle order", orders)) == ["W2"]
    assert ids(orders_described("the pending one", orders)) == ["W3"]
    assert ids(orders_described("the other one", orders, exclude=["W3"])) == ["W2", "W1"]
    assert orders_described("hello", orders) is None


def test_reasons_and_refund_methods_are_read_from_the_customers_words(configured) -> None:
    assert reason_from_text("it's too small") == "wrong_size"
    assert reason_from_text("arrived with a hole in it") == "damaged"
    assert reason_from_text("I changed my mind") == "changed_mind"
    assert reason_from_text("wrong_size") == "wrong_size"
    allowed = ("original_payment", "store_credit")
    assert refund_method_from_text("Store credit", allowed) == "store_credit"
    assert refund_method_from_text("Back to my original payment method", allowed) == "original_payment"
    assert refund_method_from_text("gift card", ("original_payment", "gift_card")) == "gift_card"


# -- returns -----------------------------------------------------------------------------------


async def test_return_on_an_undelivered_order_offers_cancellation_without_an_eligibility_call(
    api_calls, dispatcher
) -> None:
    events = await ValidateReturnForm().run(dispatcher, turn(
        {"customer_id": JANE, "verified_via": "email"}, "order 4522", form="return_form", requested="order_id"), {})
    assert slot_values(events)["form_halted"] is True
    assert dispatcher.messages[0]["response"] == "utter_return_not_shipped"
    assert api_calls.count("return-eligibility") == 0


async def test_final_sale_item_is_refused_with_the_reason(configured, dispatcher) -> None:
    events = await ValidateReturnForm().run(dispatcher, turn(
        {"customer_id": SAM, "verified_via": "email", "order_id": "4526"}, "the linen shirt", form="return_form",
        requested="return_items"), {})
    assert not slot_values(events).get("return_items")
    assert "final-sale" in texts(dispatcher)[0]
    assert slot_values(events)["requested_slot"] == "return_items"  # the shorts can still go back


async def test_return_window_closed_halts_with_the_deadline(configured, dispatcher) -> None:
    events = await ValidateReturnForm().run(dispatcher, turn(
        {"customer_id": SAM, "verified_via": "email", "order_id": "4524"}, "the belt", form="return_form",
        requested="return_items"), {})
    assert slot_values(events)["form_halted"] is True
    assert "return window closed" in texts(dispatcher)[0]


# -- the gate at the action level ------------------------------------------------------------------


def return_slots(**extra: Any) -> Dict[str, Any]:
    return {
        "customer_id": JANE, "verified_via": "email", "order_id": "4521", "return_items": ["4521-1"],
        "return_reason": "wrong_size", "return_refund_method": "original_payment", **extra,
    }


async def stage_return(gate, dispatcher: CollectingDispatcher, **extra: Any):
    tracker = turn(return_slots(**extra), "", form="return_form", requested="gate_confirmation")
    events = await ActionAskGateConfirmation().run(dispatcher, tracker, {})
    return gate.get(slot_values(events)["gate_action_id"])


def yes_to(row, slots: Dict[str, Any], *, text: str = "yes", sender_id: str = "test-conversation") -> Tracker:
    """The tracker right after the customer answered the prompt for `row` with `text`."""
    shown = [{"event": "user", "text": "store credit"}, {"event": "slot", "name": "gate_prompt",
                                                          "value": prompt_stamp(row)},
             {"event": "bot", "text": f"{row.summary}\n\nShall I create this return?"}]
    return turn({**slots, "gate_action_id": row.id}, text, intent="affirm", before=shown, sender_id=sender_id)


async def test_prompt_is_rendered_from_the_staged_row(gate, dispatcher) -> None:
    row = await stage_return(gate, dispatcher)
    prompt = dispatcher.messages[-1]
    assert prompt["text"].startswith(row.summary)
    for detail in ("#4521", "Blue Denim Jacket (Size M)", "Wrong size", "$89.00", "Visa ending 4242"):
        assert detail in prompt["text"]
    assert [b["title"] for b in prompt["buttons"]] == ["Yes", "No"]


async def test_no_creates_nothing(gate, api_calls, dispatcher) -> None:
    row = await stage_return(gate, dispatcher)
    tracker = yes_to(row, return_slots(gate_confirmation=False), text="no")
    events = await ActionResolveGate().run(dispatcher, tracker, {})
    assert gate.get(row.id).status == ledger.DECLINED
    assert api_calls.count("POST /returns") == 0
    assert slot_values(events)["gate_action_id"] is None and slot_values(events)["gate_confirmation"] is None


async def test_yes_twice_creates_one_return(gate, api_calls, dispatcher) -> None:
    row = await stage_return(gate, dispatcher)
    tracker = yes_to(row, return_slots(gate_confirmation=True))
    await ActionResolveGate().run(dispatcher, tracker, {})
    replay = CollectingDispatcher()
    await ActionResolveGate().run(replay, tracker, {})  # the same request again: a retried webhook
    assert api_calls.count("POST /returns") == 1
    assert gate.get(row.id).status == ledger.SUCCEEDED
    assert "return RMA-" in " ".join(texts(dispatcher))
    assert replay.messages[0]["response"] == "utter_gate_already_done"


async def test_execution_uses_the_ledger_arguments_not_the_slots(gate, api_calls, dispatcher) -> None:
    row = await stage_return(gate, dispatcher)
    tampered = yes_to(row, return_slots(gate_confirmation=True, return_items=["4521-2"]))
    await ActionResolveGate().run(dispatcher, tampered, {})
    from actions.api.commerce import get_commerce_client

    returns = get_commerce_client().list_returns("4521")
    assert [r["item_id"] for r in returns] == ["4521-1"]


async def test_a_yes_to_a_prompt_that_was_not_the_last_shown_runs_nothing(gate, api_calls, dispatcher) -> None:
    row = await stage_return(gate, dispatcher)
    tracker = turn({**return_slots(gate_confirmation=True), "gate_action_id": row.id}, "yes", intent="affirm")
    await ActionResolveGate().run(dispatcher, tracker, {})
    assert api_calls.count("POST /returns") == 0
    assert gate.get(row.id).status == ledger.ABANDONED


async def test_ownership_is_checked_again_at_execution(gate, api_calls, dispatcher) -> None:
    row = await stage_return(gate, dispatcher)
    # The row was staged for Jane; a conversation verified as Sam cannot run it.
    tracker = yes_to(row, return_slots(gate_confirmation=True, customer_id=SAM))
    await ActionResolveGate().run(dispatcher, tracker, {})
    assert api_calls.count("POST /returns") == 0
    assert gate.get(row.id).status != ledger.SUCCEEDED


async def test_another_conversation_cannot_execute_the_row(gate, api_calls, dispatcher) -> None:
    row = await stage_return(gate, dispatcher)
    tracker = yes_to(row, return_slots(gate_confirmation=True), sender_id="attacker")
    await ActionResolveGate().run(dispatcher, tracker, {})
    assert api_calls.count("POST /returns") == 0
    assert gate.get(row.id).status == ledger.AWAITING_CONFIRMATION


async def test_a_yes_that_also_names_another_item_is_the_change(gate, api_calls, dispatcher) -> None:
    """Issue 13: "yes, the scarf" at the jacket's prompt used to create the jacket's return at once."""
    row = await stage_return(gate, dispatcher)
    tracker = yes_to(row, return_slots(gate_confirmation=True), text="yes, the scarf")
    tracker.active_loop = {"name": "return_form"}
    tracker.slots["requested_slot"] = "gate_confirmation"
    tracker.events.append({"event": "action", "name": "return_form"})
    events = await ValidateReturnForm().run(dispatcher, tracker, {})
    slots = slot_values(events)
    assert slots["return_items"] == ["4521-2"] and slots["gate_confirmation"] is None
    assert slots["requested_slot"] == "gate_confirmation"  # asked again, with the scarf
    assert api_calls.count("POST /returns") == 0


async def test_cancel_on_a_shipped_order_explains_and_offers_a_return(configured, dispatcher) -> None:
    events = await ValidateCancelOrderForm().run(dispatcher, turn(
        {"customer_id": JANE, "verified_via": "email"}, "order 4523", form="cancel_order_form",
        requested="order_id"), {})
    assert slot_values(events)["form_halted"] is True
    assert "already shipped with UPS" in texts(dispatcher)[0] and "return" in texts(dispatcher)[0]


async def test_refund_status_of_a_cancelled_order_needs_no_returns_call(api_calls, dispatcher) -> None:
    tracker = turn({"order_id": "4525", "customer_id": SAM, "verified_via": "email"}, "")
    await ActionReportRefundStatus().run(dispatcher, tracker, {})
    assert "$120.00 was refunded to PayPal" in texts(dispatcher)[0]
    assert api_calls.count("/returns") == 0


# -- two requests in one message -------------------------------------------------------------


async def test_a_multi_intent_guess_without_the_words_for_both_is_one_task(configured, dispatcher) -> None:
    # the model read "return the X and the Y from order N" as track_order+request_return
    events = await ActionSwitchTask().run(dispatcher, turn(
        {}, "I want to return the bookshelf and the wireless earbuds from order 4521",
        intent="track_order+request_return"), {})
    followups = [e["name"] for e in events if e.get("event") == "followup"]
    assert followups == ["return_form"] and slot_values(events)["pending_tasks"] is None


async def test_two_requests_asked_for_in_words_are_queued(configured, dispatcher) -> None:
    events = await ActionSwitchTask().run(dispatcher, turn(
        {}, "where is order 4523? and I want to return the scarf from 4521",
        intent="track_order+request_return"), {})
    assert [e["name"] for e in events if e.get("event") == "followup"] == ["track_order_form"]
    assert [task["form"] for task in slot_values(events)["pending_tasks"]] == ["return_form"]


# -- free-text answers that NLU reads as shop questions -------------------------------------


def test_a_lone_place_name_answers_an_address_question_but_a_question_about_it_does_not() -> None:
    from actions.capabilities.address import ValidateAddressForm
    from actions.dialogue.turns import asks_something, read_turn

    form = ValidateAddressForm()
    for text, is_answer in (("Canada", True), ("UK", True), ("Springfield", True), ("New South Wales", True),
                            ("do you ship to Canada?", False), ("how long does delivery take", False),
                            ("what about customs duties for my parcel", False)):
        assert asks_something(text) is not is_answer, text
        tracker = turn({}, text, intent="faq", form="address_form", requested="address_country")
        assert form.takes(read_turn(tracker), "address_country", tracker) is is_answer, text
    # Not a free-text question: the order number question leaves a shop question to the rules.
    tracker = turn({}, "Canada", intent="faq", form="address_form", requested="order_id")
    assert form.takes(read_turn(tracker), "order_id", tracker) is False
