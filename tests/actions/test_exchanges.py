"""Another size or colour: exchanges of delivered items, swaps before shipping, and a new payment method.

The words are read by plain functions (which variant, which payment method); the forms run against
the real commerce API of the demo shop, and every write goes through the gate.
"""

from __future__ import annotations

from typing import Any, Dict

import pytest

from actions import ledger
from actions.api.commerce import get_commerce_client
from actions.capabilities.exchanges import ExchangeCapability, ValidateExchangeForm
from actions.capabilities.payment_change import PaymentChangeCapability, ValidatePaymentChangeForm
from actions.dialogue.gate_actions import ActionAskGateConfirmation, ActionResolveGate
from actions.dialogue.payment_questions import covers, methods_named
from actions.dialogue.switching import ActionSwitchTask
from actions.shop.catalogue import choose_variant
from tests.actions.conftest import texts
from tests.actions.test_flows import JANE, SAM, slot_values, turn, yes_to

SHIRT = {"product_id": "shirt", "name": "Oxford Shirt", "variants": [
    {"variant_id": "blue-s", "options": {"color": "blue", "size": "S"}, "available": True, "price": "40.00"},
    {"variant_id": "blue-m", "options": {"color": "blue", "size": "M"}, "available": True, "price": "40.00"},
    {"variant_id": "blue-l", "options": {"color": "blue", "size": "L"}, "available": False, "price": "40.00"},
    {"variant_id": "white-m", "options": {"color": "white", "size": "M"}, "available": True, "price": "35.00"},
    {"variant_id": "white-l", "options": {"color": "white", "size": "L"}, "available": True, "price": "45.00"},
]}
METHODS = [
    {"payment_method_id": "credit_card_4242", "method": "card", "brand": "visa", "last4": "4242"},
    {"payment_method_id": "credit_card_5454", "method": "card", "brand": "mastercard", "last4": "5454"},
    {"payment_method_id": "paypal_1", "method": "paypal", "brand": None, "last4": None},
    {"payment_method_id": "gift_card_7245904", "method": "gift_card", "brand": None, "last4": None,
     "balance": "20.00"},
]


# -- the words -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text, chosen", [
    ("size S", "blue-s"),                   # the colour they have, in the size they name
    ("white in L", "white-l"),
    ("the cheapest one", "white-m"),
    ("a size smaller", "blue-s"),           # the next size down in the same colour
    ("in white", "white-m"),                # what they did not name stays: the size
])
def test_the_words_choose_one_other_variant(text: str, chosen: str) -> None:
    assert choose_variant(text, SHIRT, "blue-m").chosen["variant_id"] == chosen


def test_words_that_fit_several_variants_narrow_the_choice() -> None:
    choice = choose_variant("in white", SHIRT, "blue-s")  # no white S: which size?
    assert choice.chosen is None and [v["variant_id"] for v in choice.narrowed] == ["white-m", "white-l"]


def test_a_sold_out_variant_is_named_never_chosen() -> None:
    for text in ("blue L", "a size bigger", "size L"):  # "size L" of a blue M: the blue L
        choice = choose_variant(text, SHIRT, "blue-m")
        assert choice.chosen is None and [v["variant_id"] for v in choice.sold_out] == ["blue-l"], text


def test_words_that_name_no_variant_choose_nothing() -> None:
    choice = choose_variant("yes please", SHIRT, "blue-m")
    assert (choice.chosen, choice.narrowed, choice.sold_out) == (None, (), ())
    assert choose_variant("size M", SHIRT, "blue-m").chosen is None  # the one they already have is no swap


@pytest.mark.parametrize("text, named", [
    ("charge my paypal", ["paypal_1"]),
    ("use the visa", ["credit_card_4242"]),
    ("the card ending 5454", ["credit_card_5454"]),
    ("gift card 7245904", ["gift_card_7245904"]),
    ("a card please", ["credit_card_4242", "credit_card_5454"]),
    ("size L", []),
])
def test_payment_methods_are_read_from_the_customers_own(text: str, named) -> None:
    assert [m["payment_method_id"] for m in methods_named(text, METHODS)] == named


def test_the_same_one_is_the_method_the_order_was_paid_with_and_a_gift_card_covers_only_its_balance() -> None:
    assert [m["payment_method_id"] for m in methods_named("the same one as before", METHODS,
                                                          paid_with="credit_card_5454")] == ["credit_card_5454"]
    assert covers(METHODS[3], 20.0) and not covers(METHODS[3], 20.01) and covers(METHODS[0], 10_000)


# -- the exchange form on the demo shop ---------------------------------------------------------

EXCHANGE = "exchange_form"


def verified(**extra: Any) -> Dict[str, Any]:
    return {"customer_id": JANE, "verified_via": "email", **extra}


async def exchange_turn(dispatcher, slots: Dict[str, Any], text: str, *, intent: str = "inform",
                        requested: str | None = None) -> Dict[str, Any]:
    tracker = turn(slots, text, intent=intent, form=EXCHANGE if requested else None, requested=requested)
    return slot_values(await ValidateExchangeForm().run(dispatcher, tracker, {}))


async def test_item_and_size_in_the_first_message_go_straight_to_the_confirmation(configured, dispatcher) -> None:
    slots = await exchange_turn(dispatcher, verified(), "can I change the sneakers on order 4522 to a size 10?",
                                intent="modify_order_items")
    assert slots["order_id"] == "4522" and slots["swap_items"] == ["4522-1"]
    assert slots["swap_variants"]["4522-1"]["variant_id"] == "canvas-sneakers-10"
    assert slots["requested_slot"] == "gate_confirmation"  # the same price: nothing to pay or refund


async def test_a_dearer_size_asks_which_of_the_customers_methods_pays_the_difference(configured,
                                                                                    dispatcher) -> None:
    slots = await exchange_turn(dispatcher, verified(), "can I exchange the jacket from order 4521 for a size L?",
                                intent="request_exchange")
    assert slots["swap_variants"]["4521-1"]["variant_id"] == "denim-jacket-l"
    assert slots["requested_slot"] == "swap_payment_method" and slots["swap_needs_payment"] is True
    chosen = {**verified(), **{k: v for k, v in slots.items() if k.startswith("swap_") or k == "order_id"}}
    # $4.50 on the small gift card does not cover the $6.00 difference: said, and asked again
    slots = await exchange_turn(dispatcher, chosen, "gift card 2264", requested="swap_payment_method")
    assert "utter_payment_too_low" in texts(dispatcher) and not slots.get("swap_payment_method")
    slots = await exchange_turn(dispatcher, chosen, "use the visa", requested="swap_payment_method")
    assert slots["swap_payment_method"] == "pm_jane_visa_4242" and slots["requested_slot"] == "gate_confirmation"


async def test_a_sold_out_size_is_said_and_the_sizes_in_stock_are_asked_for(configured, dispatcher) -> None:
    slots = await exchange_turn(dispatcher, verified(), "exchange the jacket from 4521 for an XL",
                                intent="request_exchange")
    assert slots["requested_slot"] == "swap_variant" and not slots.get("swap_variants")
    assert any("sold out" in str(t) for t in texts(dispatcher)) or "utter_variant_sold_out" in texts(dispatcher)


async def test_an_item_without_another_variant_is_refused_with_what_can_be_done(configured, dispatcher) -> None:
    await exchange_turn(dispatcher, verified(), "can I swap the scarf from order 4521", intent="request_exchange")
    assert "utter_no_other_variant" in texts(dispatcher)


async def test_a_final_sale_item_cannot_be_exchanged(configured, dispatcher) -> None:
    slots = await exchange_turn(dispatcher, {"customer_id": SAM, "verified_via": "email"},
                                "exchange the linen shirt from order 4526 for a medium", intent="request_exchange")
    said = " ".join(str(t) for t in texts(dispatcher))
    assert "final-sale" in said and "exchanged" in said
    assert not slots.get("swap_items")


async def test_a_bigger_size_on_an_order_that_has_not_shipped_is_a_change_of_the_order(configured,
                                                                                      dispatcher) -> None:
    slots = await exchange_turn(dispatcher, verified(), "can I get the sneakers in order 4522 a size bigger",
                                intent="modify_order_items")
    assert slots["swap_variants"]["4522-1"]["variant_id"] == "canvas-sneakers-10"


def exchange_slots(order_id: str, item_id: str, variant_id: str, price: str, **extra: Any) -> Dict[str, Any]:
    return verified(order_id=order_id, swap_items=[item_id],
                    swap_variants={item_id: {"variant_id": variant_id, "price": price}}, **extra)


async def stage(gate, dispatcher, slots: Dict[str, Any], form: str):
    tracker = turn(slots, "", form=form, requested="gate_confirmation")
    events = await ActionAskGateConfirmation().run(dispatcher, tracker, {})
    return gate.get(slot_values(events)["gate_action_id"])


async def test_the_exchange_prompt_shows_old_and_new_and_yes_creates_one_exchange(gate, api_calls,
                                                                                  dispatcher) -> None:
    slots = exchange_slots("4521", "4521-1", "denim-jacket-l", "95.00", swap_payment_method="pm_jane_visa_4242")
    row = await stage(gate, dispatcher, slots, EXCHANGE)
    prompt = dispatcher.messages[-1]["text"]
    assert row.action_name == "exchange_items" and row.arguments["kind"] == "exchange"
    for detail in ("exchange", "#4521", "Blue Denim Jacket (Size M) → Blue Denim Jacket (Size L)", "prepaid label",
                   "$89.00 → $95.00", "you pay $6.00, charged to Visa ending 4242", "Shall I create this exchange?"):
        assert detail in prompt, detail
    tracker = yes_to(row, {**slots, "gate_confirmation": True})
    await ActionResolveGate().run(dispatcher, tracker, {})
    await ActionResolveGate().run(dispatcher, tracker, {})  # a retried webhook
    assert api_calls.count("POST /exchanges") == 1 and gate.get(row.id).status == ledger.SUCCEEDED
    made = get_commerce_client().list_exchanges("4521")
    assert [(line["item_id"], line["new_variant_id"]) for e in made for line in e["items"]] == [
        ("4521-1", "denim-jacket-l")]
    assert any("exchange" in str(t) and "is created" in str(t) for t in texts(dispatcher))


async def test_a_change_before_shipping_says_so_and_changes_the_order_item(gate, api_calls, dispatcher) -> None:
    slots = exchange_slots("4522", "4522-1", "canvas-sneakers-10", "65.00")
    row = await stage(gate, dispatcher, slots, EXCHANGE)
    prompt = dispatcher.messages[-1]["text"]
    assert "before it ships" in prompt and "New order total" in prompt and row.arguments["kind"] == "item_change"
    await ActionResolveGate().run(dispatcher, yes_to(row, {**slots, "gate_confirmation": True}), {})
    assert api_calls.count("PATCH /orders/4522/items") == 1
    assert get_commerce_client().get_order("4522")["items"][0]["variant_id"] == "canvas-sneakers-10"


async def test_no_exchanges_nothing_and_another_customer_cannot_execute_it(gate, api_calls, dispatcher) -> None:
    slots = exchange_slots("4521", "4521-1", "denim-jacket-s", "84.00", swap_payment_method="pm_jane_mastercard_5454")
    row = await stage(gate, dispatcher, slots, EXCHANGE)
    await ActionResolveGate().run(dispatcher, yes_to(row, {**slots, "gate_confirmation": False}, text="no"), {})
    assert gate.get(row.id).status == ledger.DECLINED
    row = await stage(gate, dispatcher, slots, EXCHANGE)
    await ActionResolveGate().run(dispatcher, yes_to(row, {**slots, "customer_id": SAM, "gate_confirmation": True}),
                                  {})
    assert api_calls.count("POST /exchanges") == 0 and get_commerce_client().list_exchanges("4521") == []


async def test_a_refund_of_the_difference_and_a_lost_answer_reconciled_from_the_api(gate, dispatcher) -> None:
    slots = exchange_slots("4521", "4521-1", "denim-jacket-s", "84.00", swap_payment_method="pm_jane_mastercard_5454")
    row = await stage(gate, dispatcher, slots, EXCHANGE)
    assert "we refund $5.00 to Mastercard ending 5454" in dispatcher.messages[-1]["text"]
    capability = ExchangeCapability()
    assert capability.reconcile(get_commerce_client(), row) is None
    get_commerce_client().create_exchange(order_id="4521", swaps={"4521-1": "denim-jacket-s"},
                                          payment_method_id="pm_jane_mastercard_5454", idempotency_key=row.id)
    assert capability.reconcile(get_commerce_client(), row).succeeded


# -- the payment change --------------------------------------------------------------------------

PAYMENT = "payment_change_form"


async def test_another_of_the_customers_cards_pays_an_order_that_has_not_shipped(gate, api_calls,
                                                                                 dispatcher) -> None:
    tracker = turn(verified(), "can I pay order 4522 with my mastercard instead?", intent="change_payment_method")
    slots = slot_values(await ValidatePaymentChangeForm().run(dispatcher, tracker, {}))
    assert slots["new_payment_method"] == "pm_jane_mastercard_5454" and slots["requested_slot"] == "gate_confirmation"
    chosen = verified(order_id="4522", new_payment_method="pm_jane_mastercard_5454")
    row = await stage(gate, dispatcher, chosen, PAYMENT)
    prompt = dispatcher.messages[-1]["text"]
    assert "From: Visa ending 4242" in prompt and "To: Mastercard ending 5454" in prompt and "$65.00" in prompt
    await ActionResolveGate().run(dispatcher, yes_to(row, {**chosen, "gate_confirmation": True}), {})
    assert api_calls.count("PATCH /orders/4522/payment") == 1
    assert get_commerce_client().get_order("4522")["payment"]["payment_method_id"] == "pm_jane_mastercard_5454"
    assert PaymentChangeCapability().reconcile(get_commerce_client(), gate.get(row.id)).succeeded


async def test_the_method_already_paying_is_no_change(configured, dispatcher) -> None:
    tracker = turn(verified(order_id="4522"), "use my visa", form=PAYMENT, requested="new_payment_method")
    slots = slot_values(await ValidatePaymentChangeForm().run(dispatcher, tracker, {}))
    assert "utter_payment_already" in texts(dispatcher) and slots["requested_slot"] == "new_payment_method"


async def test_a_gift_card_that_does_not_cover_the_total_is_refused_one_that_does_is_taken(configured,
                                                                                           dispatcher) -> None:
    slots = slot_values(await ValidatePaymentChangeForm().run(dispatcher, turn(
        verified(order_id="4522"), "gift card 2264", form=PAYMENT, requested="new_payment_method"), {}))
    assert "utter_payment_too_low" in texts(dispatcher) and not slots.get("new_payment_method")
    slots = slot_values(await ValidatePaymentChangeForm().run(dispatcher, turn(
        verified(order_id="4522"), "the gift card ending 7310", form=PAYMENT, requested="new_payment_method"), {}))
    assert slots["new_payment_method"] == "pm_jane_gift_card_7310"


async def test_a_shipped_order_keeps_its_payment(configured, dispatcher) -> None:
    tracker = turn(verified(), "I want to pay order 4523 with another card", intent="change_payment_method")
    slots = slot_values(await ValidatePaymentChangeForm().run(dispatcher, tracker, {}))
    assert slots.get("form_halted") and any("already shipped" in str(t) for t in texts(dispatcher))


async def test_a_payment_method_named_before_verification_is_read_once_verified(configured, dispatcher) -> None:
    first = slot_values(await ValidatePaymentChangeForm().run(dispatcher, turn(
        {}, "can I pay order #4522 with my gift card 2264 instead?", intent="change_payment_method"), {}))
    assert first["requested_slot"] == "customer_email" and first["payment_mention"]
    slots = {k: v for k, v in first.items() if k != "requested_slot"}
    then = slot_values(await ValidatePaymentChangeForm().run(dispatcher, turn(
        slots, "jane.doe@example.com", form=PAYMENT, requested="customer_email"), {}))
    assert "utter_payment_too_low" in texts(dispatcher) and then["requested_slot"] == "new_payment_method"


async def test_an_exchange_read_as_a_return_is_started_as_the_exchange_its_words_ask_for(configured,
                                                                                        dispatcher) -> None:
    events = await ActionSwitchTask().run(dispatcher, turn({}, "can I swap my sneakers for a bigger size?",
                                                           intent="request_return"), {})
    assert {"event": "followup", "name": "exchange_form"} in [
        {"event": e.get("event"), "name": e.get("name")} for e in events]
    events = await ActionSwitchTask().run(dispatcher, turn({}, "I want to send the jacket back",
                                                           intent="request_return"), {})
    assert {"event": "followup", "name": "return_form"} in [
        {"event": e.get("event"), "name": e.get("name")} for e in events]


# -- counterexamples a review found (each was a way to a yes that was not a yes, or a lost answer) --


async def test_yes_but_a_payment_method_the_customer_does_not_have_is_asked_about_not_taken(gate, api_calls,
                                                                                           dispatcher) -> None:
    slots = exchange_slots("4521", "4521-1", "denim-jacket-l", "95.00", swap_payment_method="pm_jane_visa_4242")
    row = await stage(gate, dispatcher, slots, EXCHANGE)
    tracker = yes_to(row, {**slots, "gate_confirmation": True, "requested_slot": "gate_confirmation"},
                     text="yes, but put it on PayPal")
    tracker.active_loop = {"name": EXCHANGE}
    events = slot_values(await ValidateExchangeForm().run(dispatcher, tracker, {}))
    assert events["requested_slot"] == "gate_confirmation" and events.get("gate_confirmation") is None
    assert "utter_change_unclear" in texts(dispatcher) and api_calls.count("POST /exchanges") == 0


async def test_a_price_that_changed_after_the_prompt_is_not_charged(gate, api_calls, dispatcher) -> None:
    slots = exchange_slots("4521", "4521-1", "denim-jacket-l", "95.00", swap_payment_method="pm_jane_visa_4242")
    row = await stage(gate, dispatcher, slots, EXCHANGE)
    row.arguments = {**row.arguments, "difference_cents": 500}  # what the prompt said when the L cost $94.00
    outcome = ExchangeCapability().execute(get_commerce_client(), row)
    assert not outcome.succeeded and "price has changed" in outcome.messages[0]
    assert api_calls.count("POST /exchanges") == 0 and get_commerce_client().list_exchanges("4521") == []


async def test_the_answer_to_who_pays_never_moves_the_size(configured, dispatcher) -> None:
    chosen = verified(order_id="4521", swap_items=["4521-1"], swap_needs_payment=True,
                      swap_variants={"4521-1": {"variant_id": "denim-jacket-l", "price": "95.00"}})
    slots = await exchange_turn(dispatcher, chosen, "the bigger gift card", requested="swap_payment_method")
    assert slots.get("swap_variants", chosen["swap_variants"])["4521-1"]["variant_id"] == "denim-jacket-l"
    assert slots["swap_payment_method"] == "pm_jane_gift_card_7310"  # the one of the two that covers $6.00


def test_a_payment_method_is_an_answer_and_a_card_alone_switches_no_task() -> None:
    from actions.capabilities.returns import ValidateReturnForm
    from actions.dialogue.turns import read_turn

    asked = turn({}, "refund the difference to my paypal", intent="request_return", form=EXCHANGE,
                 requested="swap_payment_method")
    assert ValidateExchangeForm().takes(read_turn(asked), "swap_payment_method", asked)
    asked = turn({}, "back to my card", intent="change_payment_method", form="return_form",
                 requested="return_refund_method")
    assert ValidateReturnForm().takes(read_turn(asked), "return_refund_method", asked)


async def test_yes_but_a_sold_out_size_at_the_confirmation_asks_again_about_the_item(configured, dispatcher) -> None:
    from actions.capabilities.exchanges import ActionAskSwapVariant

    slots = exchange_slots("4521", "4521-1", "denim-jacket-l", "95.00", swap_payment_method="pm_jane_visa_4242")
    events = await exchange_turn(dispatcher, slots, "yes but in XL", intent="affirm", requested="gate_confirmation")
    assert "utter_variant_sold_out" in texts(dispatcher) and events["requested_slot"] == "swap_variant"
    await ActionAskSwapVariant().run(dispatcher, turn({**slots, **events}, ""), {})
    assert dispatcher.messages[-1]["response"] == "utter_ask_swap_variant" and dispatcher.messages[-1]["buttons"]
