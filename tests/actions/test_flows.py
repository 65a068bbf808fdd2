"""Capabilities decide by the order's state, verify first, and make no pointless API call."""

from __future__ import annotations

from typing import Any, Dict

from rasa_sdk.executor import CollectingDispatcher

from actions import ledger
from actions.cancellation import ValidateCancelOrderForm
from actions.gate_actions import ActionAskGateConfirmation, ActionResolveGate
from actions.refunds import ActionReportRefundStatus
from actions.returns import ValidateReturnForm, match_items, reason_from_text, refund_method_from_text
from actions.tracking import ActionReportOrderStatus, ValidateTrackOrderForm
from tests.actions.conftest import make_tracker, texts

JANE = {"4521": "cus_jane_doe", "4522": "cus_jane_doe", "4523": "cus_jane_doe"}
SAM = {"4524": "cus_sam_lee", "4525": "cus_sam_lee", "4526": "cus_sam_lee"}


def slot_values(events) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def report_status(order_id: str, verified: Dict[str, str], dispatcher: CollectingDispatcher):
    tracker = make_tracker({"order_id": order_id, "verified_orders": verified})
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


async def test_no_order_detail_without_verification(api_calls, dispatcher) -> None:
    await report_status("4521", SAM, dispatcher)  # verified for Sam's orders, not Jane's
    assert dispatcher.messages == []
    assert api_calls.count("/orders/4521") == 0


# -- identity --------------------------------------------------------------------------------


async def test_the_orders_email_verifies_that_order_only(configured, dispatcher) -> None:
    tracker = make_tracker({"order_id": "4521", "customer_email": "jane.doe@example.com"},
                           active_loop="track_order_form")
    slots = await ValidateTrackOrderForm().validate_customer_email(
        "jane.doe@example.com", dispatcher, tracker, {})
    assert slots["verified_orders"] == {"4521": "cus_jane_doe"}
    assert slots["customer_email"] is None


async def test_three_wrong_emails_lock_verification_without_echoing_the_real_one(configured) -> None:
    slots: Dict[str, Any] = {"order_id": "4521", "verification_failures": 0}
    said = []
    for attempt in range(3):
        dispatcher = CollectingDispatcher()
        tracker = make_tracker(dict(slots), active_loop="track_order_form")
        slots.update(await ValidateTrackOrderForm().validate_customer_email(
            f"guess{attempt}@example.com", dispatcher, tracker, {}))
        said += [str(m) for m in dispatcher.messages]
    assert slots["identity_locked"] is True and slots["form_halted"] is True
    assert not any("jane.doe" in message for message in said)
    dispatcher = CollectingDispatcher()
    locked = await ValidateTrackOrderForm().validate_customer_email(
        "jane.doe@example.com", dispatcher, make_tracker(dict(slots), active_loop="track_order_form"), {})
    assert "verified_orders" not in locked
    assert dispatcher.messages[0]["response"] == "utter_verification_locked"


# -- returns ---------------------------------------------------------------------------------


async def test_return_on_an_undelivered_order_offers_cancellation_without_an_eligibility_call(
    api_calls, dispatcher
) -> None:
    tracker = make_tracker({"order_id": "4522", "verified_orders": JANE}, active_loop="return_form")
    slots = await ValidateReturnForm().validate_order_id("4522", dispatcher, tracker, {})
    assert slots["form_halted"] is True
    assert dispatcher.messages[0]["response"] == "utter_return_not_shipped"
    assert api_calls.count("return-eligibility") == 0


async def test_item_named_before_verification_is_resolved_after_it(api_calls, dispatcher) -> None:
    tracker = make_tracker({"order_id": "4521", "return_item": "blue jacket"}, active_loop="return_form")
    held = await ValidateReturnForm().validate_return_item("blue jacket", dispatcher, tracker, {})
    assert held == {"return_item": None, "return_item_mention": "blue jacket"}
    assert api_calls.count("/orders/4521") == 0

    tracker = make_tracker({"order_id": "4521", "return_item_mention": "blue jacket"}, active_loop="return_form")
    slots = await ValidateReturnForm().validate_customer_email("jane.doe@example.com", dispatcher, tracker, {})
    assert slots["return_item"] == "4521-1"


async def test_final_sale_item_is_refused_with_the_reason(configured, dispatcher) -> None:
    tracker = make_tracker({"order_id": "4526", "verified_orders": SAM}, active_loop="return_form")
    slots = await ValidateReturnForm().validate_return_item("linen shirt", dispatcher, tracker, {})
    assert slots["return_item"] is None
    assert "final-sale" in texts(dispatcher)[0]


async def test_return_window_closed_halts_with_the_deadline(configured, dispatcher) -> None:
    tracker = make_tracker({"order_id": "4524", "verified_orders": SAM}, active_loop="return_form")
    slots = await ValidateReturnForm().validate_return_item("belt", dispatcher, tracker, {})
    assert slots["form_halted"] is True
    assert "30-day return window closed" in texts(dispatcher)[0]


def test_items_are_matched_fuzzily_and_ambiguity_is_reported() -> None:
    items = [
        {"item_id": "1", "name": "Blue Denim Jacket", "size": "M"},
        {"item_id": "2", "name": "Striped Scarf", "size": None},
        {"item_id": "3", "name": "Rain Jacket", "size": None},
    ]
    assert [i["item_id"] for i in match_items("the denim one", items)] == ["1"]
    assert [i["item_id"] for i in match_items("scarf", items)] == ["2"]
    assert [i["item_id"] for i in match_items("Blue Denim Jacket (Size M)", items)] == ["1"]
    assert len(match_items("the jacket", items)) == 2
    assert match_items("sneakers", items) == []


def test_reasons_and_refund_methods_are_read_from_the_customers_words() -> None:
    assert reason_from_text("it's too small") == "wrong_size"
    assert reason_from_text("arrived with a hole in it") == "damaged"
    assert reason_from_text("I changed my mind") == "changed_mind"
    assert reason_from_text("wrong_size") == "wrong_size"
    assert refund_method_from_text("Store credit") == "store_credit"
    assert refund_method_from_text("Back to my original payment method") == "original_payment"


# -- the gate end to end at the action level ------------------------------------------------------


def return_slots(**extra: Any) -> Dict[str, Any]:
    return {
        "order_id": "4521", "verified_orders": JANE, "return_item": "4521-1",
        "return_reason": "wrong_size", "return_refund_method": "original_payment", **extra,
    }


async def stage_return(dispatcher: CollectingDispatcher) -> str:
    tracker = make_tracker(return_slots(), active_loop="return_form")
    events = await ActionAskGateConfirmation().run(dispatcher, tracker, {})
    return slot_values(events)["gate_action_id"]


async def test_prompt_is_rendered_from_the_staged_row(gate, dispatcher) -> None:
    row_id = await stage_return(dispatcher)
    row = gate.get(row_id)
    prompt = dispatcher.messages[-1]
    assert prompt["text"].startswith(row.summary)
    for detail in ("#4521", "Blue Denim Jacket (Size M)", "Wrong size", "$89.00", "Visa ending 4242"):
        assert detail in prompt["text"]
    assert [b["title"] for b in prompt["buttons"]] == ["Yes", "No"]


async def test_no_creates_nothing(gate, api_calls, dispatcher) -> None:
    row_id = await stage_return(dispatcher)
    tracker = make_tracker(return_slots(gate_action_id=row_id, gate_confirmation=False))
    events = await ActionResolveGate().run(dispatcher, tracker, {})
    assert gate.get(row_id).status == ledger.DECLINED
    assert api_calls.count("POST /returns") == 0
    assert slot_values(events)["gate_action_id"] is None and slot_values(events)["gate_confirmation"] is None


async def test_yes_twice_creates_one_return(gate, api_calls, dispatcher) -> None:
    row_id = await stage_return(dispatcher)
    tracker = make_tracker(return_slots(gate_action_id=row_id, gate_confirmation=True))
    await ActionResolveGate().run(dispatcher, tracker, {})
    replay = CollectingDispatcher()
    await ActionResolveGate().run(replay, tracker, {})  # the same request again: a retried webhook
    assert api_calls.count("POST /returns") == 1
    assert gate.get(row_id).status == ledger.SUCCEEDED
    assert "return RMA-" in " ".join(texts(dispatcher))
    assert replay.messages[0]["response"] == "utter_gate_already_done"


async def test_execution_uses_the_ledger_arguments_not_the_slots(gate, api_calls, dispatcher) -> None:
    row_id = await stage_return(dispatcher)
    tampered = make_tracker(return_slots(gate_action_id=row_id, gate_confirmation=True, return_item="4521-2"))
    await ActionResolveGate().run(dispatcher, tampered, {})
    assert gate.get(row_id).result["return_id"]
    from actions.api.commerce import get_commerce_client

    returns = get_commerce_client().list_returns("4521")
    assert [r["item_id"] for r in returns] == ["4521-1"]


async def test_ownership_is_checked_again_at_execution(gate, api_calls, dispatcher) -> None:
    row_id = await stage_return(dispatcher)
    # The row was staged for Jane; a conversation claiming Sam's identity cannot run it.
    tracker = make_tracker(return_slots(gate_action_id=row_id, gate_confirmation=True,
                                        verified_orders={"4521": "cus_sam_lee"}))
    await ActionResolveGate().run(dispatcher, tracker, {})
    assert gate.get(row_id).status == ledger.FAILED
    assert api_calls.count("POST /returns") == 0


async def test_another_conversation_cannot_execute_the_row(gate, api_calls, dispatcher) -> None:
    row_id = await stage_return(dispatcher)
    tracker = make_tracker(return_slots(gate_action_id=row_id, gate_confirmation=True), sender_id="attacker")
    await ActionResolveGate().run(dispatcher, tracker, {})
    assert api_calls.count("POST /returns") == 0
    assert gate.get(row_id).status == ledger.AWAITING_CONFIRMATION


async def test_cancel_on_a_shipped_order_explains_and_offers_a_return(configured, dispatcher) -> None:
    tracker = make_tracker({"order_id": "4523", "verified_orders": JANE}, active_loop="cancel_order_form")
    slots = await ValidateCancelOrderForm().validate_order_id("4523", dispatcher, tracker, {})
    assert slots["form_halted"] is True
    assert "already shipped with UPS" in texts(dispatcher)[0] and "return" in texts(dispatcher)[0]


async def test_refund_status_of_a_cancelled_order_needs_no_returns_call(api_calls, dispatcher) -> None:
    tracker = make_tracker({"order_id": "4525", "verified_orders": SAM})
    await ActionReportRefundStatus().run(dispatcher, tracker, {})
    assert "$120.00 was refunded to PayPal" in texts(dispatcher)[0]
    assert api_calls.count("/returns") == 0
