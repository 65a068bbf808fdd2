"""Changing an order's shipping address: only before the order ships, behind the gate.

Collects the address (`actions.dialogue.address_questions`, shared with the account's saved
address) and confirms old → new for that one order.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker

from actions import gate as gate_module
from actions.api.commerce import CommerceClient
from actions.api.errors import Conflict, NotFound, Rejected
from actions.common import masked_address
from actions.dialogue.address_questions import ADDRESS_SLOTS, AddressQuestions, address_from_slots
from actions.dialogue.conversation import verified_order
from actions.dialogue.task_form import TaskFormValidation, TurnContext
from actions.dialogue.tasks import Task, cues, register_task
from actions.gate import GatedCapability, NotPossible, Outcome, Proposal
from actions.ledger import FAILED, StagedAction
from actions.shop.addresses import one_line, same_address
from actions.shop.profile import get_profile

ADDRESS_TASK = register_task(Task(
    form="address_form",
    intents=("change_shipping_address",),
    cues=cues("address", "adress", "adres", "addres", "ship (it )?to", "deliver (it )?to", "send (it )?to",
              "moved", "relocat", "redirect", "wrong (street|city|zip|postcode)", "different (street|place)"),
    changes_orders=True,
    slots=ADDRESS_SLOTS,
))

ADDRESS_REFUSALS = {
    "already_shipped": "it has already shipped, so the carrier has the address now.",
    "already_delivered": "it has already been delivered.",
    "already_cancelled": "it was cancelled.",
}


def explain_not_changeable(order: Dict[str, Any]) -> str:
    shown = get_profile().display_order(order["order_id"])
    status = order.get("status")
    if status == "shipped":
        carrier = (order.get("shipment") or {}).get("carrier", "the carrier")
        return (
            f"Order {shown} has already shipped with {carrier}, so I can't change its address any more. "
            "The carrier can sometimes redirect a parcel — a member of our team can help with that if you "
            "say \"talk to a human\"."
        )
    if status == "delivered":
        return f"Order {shown} has already been delivered, so its address can't be changed."
    return f"Order {shown} was cancelled, so there's no delivery to redirect."


def address_of(order: Dict[str, Any]) -> Dict[str, Any]:
    return order.get("shipping_address") or {}


class AddressCapability(GatedCapability):
    action_name = "change_shipping_address"
    form_name = "address_form"
    staged_slots = ADDRESS_SLOTS

    def propose(self, tracker: Tracker, client: CommerceClient) -> Proposal:
        order, customer_id = verified_order(tracker, client)
        if order is None:
            raise NotPossible("I need to verify you before I can change an address.")
        order_id = order["order_id"]
        if order.get("status") != "processing":
            raise NotPossible(explain_not_changeable(order))
        old = address_of(order)
        new = {"name": old.get("name") or (order.get("customer") or {}).get("name", ""), **address_from_slots(tracker)}
        masked_new = masked_address(new)
        shown = get_profile().display_order(order_id)
        return Proposal(
            order_id=order_id,
            customer_id=customer_id,
            arguments={"order_id": order_id, "order_shown": shown, "address": new, "new_address_text": one_line(new)},
            summary_lines=[f"I'm about to change the shipping address of order {shown}:",
                           f"• From: {one_line(old)}", f"• To: {one_line(new)}"],
            question="Shall I update the address?",
            audit_lines=[f"Change the shipping address of order {shown}:",
                         f"• From: {one_line(masked_address(old))}", f"• To: {one_line(masked_new)}"],
            redacted_arguments={"order_id": order_id, "order_shown": shown, "address": masked_new,
                                "new_address_text": one_line(masked_new)},
        )

    def execute(self, client: CommerceClient, row: StagedAction) -> Outcome:
        args = row.arguments
        address = {key: value for key, value in args["address"].items() if value is not None}
        try:
            client.change_shipping_address(order_id=args["order_id"], address=address, idempotency_key=row.id)
        except Rejected as refusal:
            fields = ", ".join(sorted(refusal.fields)) or "the address"
            return Outcome(False, [f"Our shipping system didn't accept {fields.replace('_', ' ')}. "
                                   "Nothing was changed — please start again with the corrected address."],
                           {"error_code": refusal.code}, status=FAILED)
        except (Conflict, NotFound) as refusal:
            why = ADDRESS_REFUSALS.get(refusal.reason or "", "our order system refused it.")
            return Outcome(False, [f"I couldn't change the address of order {args['order_shown']}: {why}"],
                           {"error_code": refusal.code}, status=FAILED)
        return Outcome(True, [f"Done — order {args['order_shown']} will ship to {args['new_address_text']}."],
                       {"address_changed": True})

    def reconcile(self, client: CommerceClient, row: StagedAction) -> Optional[Outcome]:
        """Changed if the order's shipping address now is the new one."""
        args = row.arguments
        current = address_of(client.get_order(args["order_id"]))
        if same_address(current, args["address"], fields=("street", "city", "postal_code", "country")):
            return Outcome(True, [f"Done — order {args['order_shown']} will ship to {args['new_address_text']}."],
                           {"address_changed": True})
        return None

    def describe_result(self, row: StagedAction) -> List[str]:
        # The row is final, so its new address is masked: don't quote it.
        return [f"Done — the shipping address of order {row.arguments.get('order_shown', row.order_id)} is changed."]


gate_module.register(AddressCapability())


class ValidateAddressForm(AddressQuestions, TaskFormValidation):
    """The order, then the address questions (`AddressQuestions`), then the gate."""

    task = ADDRESS_TASK
    gated = True

    def name(self) -> Text:
        return "validate_address_form"

    async def check_order(self, order: Dict[str, Any], ctx: TurnContext) -> bool:
        if order.get("status") == "processing":
            return True
        ctx.say(text=explain_not_changeable(order))
        return False
