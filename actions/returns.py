"""Returns: pick the item, the reason and the refund method, check eligibility, gate it.

"I want to return the blue jacket from order #4521" fills the order, the item
and (if given) the reason in one go. The item is matched fuzzily against the
order's items ("the jacket", "denim one"); when unclear the customer picks from
buttons. Eligibility is only checked on a delivered order.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rapidfuzz import fuzz
from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import gate as gate_module
from actions.api.commerce import CommerceClient, get_commerce_client
from actions.api.errors import CommerceError, Conflict, NotFound, Rejected
from actions.common import (
    blocking,
    friendly_date,
    item_label,
    money,
    payment_label,
    verified_customer,
)
from actions.gate import GatedCapability, NotPossible, Outcome, Proposal
from actions.gate_actions import GatedFormValidation
from actions.identity import unavailable
from actions.ledger import FAILED, StagedAction

Slots = Dict[Text, Any]

REASONS: Dict[str, Tuple[str, Tuple[str, ...]]] = {
    "wrong_size": ("Wrong size", ("size", "fit", "small", "big", "large", "tight", "loose")),
    "damaged": (
        "Damaged or defective",
        ("damag", "broke", "torn", "rip", "stain", "defect", "fault", "hole", "scratch"),
    ),
    "not_as_described": (
        "Not as described",
        ("describ", "different", "colour", "color", "expect", "wrong item", "picture", "photo"),
    ),
    "changed_mind": (
        "Changed my mind",
        ("changed my mind", "mind", "need it", "like it", "no longer", "don't want", "dont want"),
    ),
    "arrived_late": ("Arrived too late", ("late", "too long", "delay")),
    "other": ("Other", ("other",)),
}
STORE_CREDIT_WORDS = ("credit", "voucher", "gift")
ORIGINAL_PAYMENT_WORDS = (
    "original", "card", "visa", "master", "amex", "paypal", "back", "same", "refund", "money",
)
ITEM_MATCH_THRESHOLD = 70
ITEM_AMBIGUITY_MARGIN = 8
FILLER_WORDS = {"the", "my", "one", "a", "an", "from", "order", "item", "i", "want", "to", "return"}


def reason_from_text(text: Any) -> Optional[str]:
    """Maps a reason in the customer's words (or a canonical value) to a reason code."""
    value = str(text or "").strip().lower()
    if not value:
        return None
    if value in REASONS:
        return value
    for code, (label, keywords) in REASONS.items():
        if value == label.lower() or any(keyword in value for keyword in keywords):
            return code
    return None


def refund_method_from_text(text: Any) -> Optional[str]:
    value = str(text or "").strip().lower()
    if value in ("original_payment", "store_credit"):
        return value
    if any(word in value for word in STORE_CREDIT_WORDS):
        return "store_credit"
    if any(word in value for word in ORIGINAL_PAYMENT_WORDS):
        return "original_payment"
    return None


def match_items(text: str, items: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The order's items that `text` names: one clear match, several, or none."""
    by_id = [item for item in items if item["item_id"] == str(text).strip()]
    if by_id:
        return by_id
    words = [w for w in str(text).lower().replace("(", " ").replace(")", " ").split()
             if w not in FILLER_WORDS]
    query = " ".join(words)
    if not query:
        return []
    scored = sorted(
        (
            (max(fuzz.token_set_ratio(query, item_label(item).lower()),
                 fuzz.partial_ratio(query, item_label(item).lower())), item)
            for item in items
        ),
        key=lambda pair: pair[0],
        reverse=True,
    )
    best = [(score, item) for score, item in scored if score >= ITEM_MATCH_THRESHOLD]
    if not best:
        return []
    top = best[0][0]
    return [item for score, item in best if top - score < ITEM_AMBIGUITY_MARGIN]


def refund_destination(refund_method: str, payment: Optional[Dict[str, Any]]) -> str:
    return "as store credit" if refund_method == "store_credit" else f"to {payment_label(payment)}"


def ineligibility_text(item: Dict[str, Any], eligibility: Dict[str, Any]) -> str:
    """Why an item cannot be returned, and what the customer can do instead."""
    name = item_label(item)
    reason = eligibility.get("reason")
    if reason == "outside_return_window":
        return (
            f"The {name} can't be returned any more: the 30-day return window closed on "
            f"{friendly_date(eligibility.get('deadline'))}. If it's faulty, our team can still "
            "look at a warranty repair — just say \"talk to a human\"."
        )
    if reason == "final_sale":
        return f"The {name} was a final-sale item, so it can't be returned or refunded."
    if reason == "already_returned":
        return f"There's already a return open for the {name}. Ask me \"where is my refund\" to follow it."
    if reason == "not_delivered":
        return f"The {name} hasn't been delivered yet, so it can't be returned yet."
    if reason == "order_cancelled":
        return "That order was cancelled, so there's nothing to return."
    return eligibility.get("message") or f"The {name} can't be returned."


class ReturnCapability(GatedCapability):
    action_name = "create_return"
    form_name = "return_form"

    def propose(self, tracker: Tracker, client: CommerceClient) -> Proposal:
        order, customer_id = self.verified_order(tracker, client, to="set up a return")
        order_id = order["order_id"]
        item_id = tracker.get_slot("return_item")
        reason = tracker.get_slot("return_reason")
        refund_method = tracker.get_slot("return_refund_method")
        item = next((i for i in order["items"] if i["item_id"] == item_id), None)
        if item is None:
            raise NotPossible("I couldn't find that item on the order any more.")
        eligibility = client.return_eligibility(order_id, item_id)
        if not eligibility.get("eligible"):
            raise NotPossible(ineligibility_text(item, eligibility))
        amount = money(eligibility.get("refund_amount", item["price"]), order.get("currency", "USD"))
        destination = refund_destination(refund_method, order.get("payment"))
        return Proposal(
            order_id=order_id,
            customer_id=customer_id,
            arguments={
                "order_id": order_id,
                "item_id": item_id,
                "item_label": item_label(item),
                "reason": reason,
                "refund_method": refund_method,
                "refund_amount": amount,
                "refund_destination": destination,
            },
            summary_lines=[
                "Here's the return I'm about to create:",
                f"• Order: #{order_id}",
                f"• Item: {item_label(item)}",
                f"• Reason: {REASONS.get(reason, (reason,))[0]}",
                f"• Refund: {amount} {destination}",
            ],
            question="Shall I create this return?",
        )

    def execute(self, client: CommerceClient, row: StagedAction) -> Outcome:
        args = row.arguments
        try:
            created = client.create_return(
                order_id=args["order_id"],
                item_id=args["item_id"],
                reason=args["reason"],
                refund_method=args["refund_method"],
                idempotency_key=row.id,
            )
        except (Conflict, Rejected, NotFound) as refusal:
            message = (
                f"I couldn't create the return for the {args['item_label']}: "
                f"{_refusal_text(refusal)} Nothing was changed."
            )
            return Outcome(False, [message], {"error_code": refusal.code}, status=FAILED)
        return self._created(args, created)

    def reconcile(self, client: CommerceClient, row: StagedAction) -> Optional[Outcome]:
        """The order's return for this item with this reason and refund method, if the API has it."""
        args = row.arguments
        for existing in client.list_returns(args["order_id"]):
            if (existing.get("item_id"), existing.get("reason"), existing.get("refund_method")) == (
                args["item_id"], args["reason"], args["refund_method"]
            ):
                return self._created(args, existing)
        return None

    def describe_result(self, row: StagedAction) -> List[str]:
        return self._created(row.arguments, row.result or {}).messages

    @staticmethod
    def _created(args: Dict[str, Any], created: Dict[str, Any]) -> Outcome:
        return Outcome(
            True,
            [
                f"Done — your return {created['return_id']} for the {args['item_label']} is created.",
                (
                    f"We've emailed you a prepaid return label (reference {created.get('label_reference')}). "
                    f"Once the parcel reaches our warehouse we'll refund {args['refund_amount']} "
                    f"{args['refund_destination']}, usually within 5–10 business days."
                ),
            ],
            {"return_id": created["return_id"], "label_reference": created.get("label_reference")},
        )


def _refusal_text(refusal: CommerceError) -> str:
    reasons = {
        "already_returned": "there's already a return for it.",
        "outside_return_window": "its return window has closed.",
        "final_sale": "it's a final-sale item.",
        "not_delivered": "it hasn't been delivered yet.",
        "order_cancelled": "the order was cancelled.",
    }
    return reasons.get(refusal.reason or "", "our order system refused it.")


RETURNS = gate_module.register(ReturnCapability())


class ValidateReturnForm(GatedFormValidation):
    capability_slots = ("return_item", "return_reason", "return_refund_method")

    def name(self) -> Text:
        return "validate_return_form"

    def is_checked(self, slot: str, value: Any, tracker: Tracker) -> bool:
        if slot == "return_item":
            return isinstance(value, str) and value.startswith(f"{tracker.get_slot('order_id')}-")
        if slot == "return_reason":
            return value in REASONS
        if slot == "return_refund_method":
            return value in ("original_payment", "store_credit")
        return super().is_checked(slot, value, tracker)

    async def after_verification(
        self, order: Dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Slots:
        status = order.get("status")
        order_id = order["order_id"]
        if status == "processing":
            dispatcher.utter_message(response="utter_return_not_shipped", order_id=order_id)
            return {"form_halted": True}
        if status == "shipped":
            estimated = (order.get("shipment") or {}).get("estimated_delivery")
            dispatcher.utter_message(
                response="utter_return_in_transit", order_id=order_id, eta=friendly_date(estimated)
            )
            return {"form_halted": True}
        if status == "cancelled":
            dispatcher.utter_message(response="utter_return_order_cancelled", order_id=order_id)
            return {"form_halted": True}
        mention = tracker.get_slot("return_item_mention") or tracker.get_slot("return_item")
        if mention and not any(i["item_id"] == mention for i in order["items"]):
            return await self._resolve_item(order, mention, dispatcher)
        return {}

    async def validate_return_item(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        order_id = tracker.get_slot("order_id")
        if not verified_customer(tracker, order_id):
            # Named before verification: remember it, resolve it once verified.
            return {"return_item": None, "return_item_mention": str(value)}
        try:
            order = await blocking(get_commerce_client().get_order, order_id)
        except CommerceError as error:
            return unavailable(dispatcher, "return_item", str(value), error)
        return await self._resolve_item(order, str(value), dispatcher)

    async def _resolve_item(
        self, order: Dict[str, Any], text: str, dispatcher: CollectingDispatcher
    ) -> Slots:
        matches = match_items(text, order["items"])
        if len(matches) != 1:
            if matches:
                dispatcher.utter_message(response="utter_item_ambiguous")
            else:
                dispatcher.utter_message(response="utter_item_not_on_order", order_id=order["order_id"])
            return {"return_item": None, "return_item_mention": None}
        item = matches[0]
        try:
            eligibility = await blocking(
                get_commerce_client().return_eligibility, order["order_id"], item["item_id"]
            )
        except CommerceError as error:
            return {**unavailable(dispatcher, "return_item", text, error), "return_item_mention": None}
        if eligibility.get("eligible"):
            return {"return_item": item["item_id"], "return_item_mention": None}
        dispatcher.utter_message(text=ineligibility_text(item, eligibility))
        others = [i for i in order["items"] if i["item_id"] != item["item_id"] and not i.get("return_status")]
        if others and eligibility.get("reason") in ("final_sale", "already_returned"):
            return {"return_item": None, "return_item_mention": None}
        return {"return_item": None, "return_item_mention": None, "form_halted": True}

    async def validate_return_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        reason = reason_from_text(value)
        if reason is None and tracker.get_slot("requested_slot") == "return_reason":
            reason = "other"
        if reason is None:
            return {"return_reason": None}
        return {"return_reason": reason}

    async def validate_return_refund_method(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        method = refund_method_from_text(value)
        if method is None:
            dispatcher.utter_message(response="utter_refund_method_unclear")
        return {"return_refund_method": method}


class ActionAskReturnItem(Action):
    """Asks which item, with one button per item on the order."""

    def name(self) -> Text:
        return "action_ask_return_item"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        try:
            order = await blocking(get_commerce_client().get_order, tracker.get_slot("order_id"))
        except CommerceError:
            dispatcher.utter_message(response="utter_commerce_unavailable")
            return []
        buttons = [
            {"title": f"{item_label(item)} — {money(item['price'], order.get('currency', 'USD'))}",
             "payload": item_label(item)}
            for item in order["items"]
        ]
        dispatcher.utter_message(response="utter_ask_return_item", buttons=buttons)
        return []


class ActionAskReturnRefundMethod(Action):
    """Asks how to refund, naming the card the order was paid with."""

    def name(self) -> Text:
        return "action_ask_return_refund_method"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        try:
            order = await blocking(get_commerce_client().get_order, tracker.get_slot("order_id"))
            original = payment_label(order.get("payment"))
        except CommerceError:
            original = "your original payment method"
        buttons = [
            # Plain-words payloads: NLU reads them like typed text, no "/intent" needed.
            {"title": f"Back to {original}", "payload": "Back to my original payment method"},
            {"title": "Store credit", "payload": "Store credit"},
        ]
        dispatcher.utter_message(response="utter_ask_return_refund_method", original=original,
                                 buttons=buttons)
        return []
