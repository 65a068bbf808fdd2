"""Cancelling an order: only before it ships, behind the gate.

The confirmation lists the items and the refund; a shipped order gets an
explanation and the offer of a return once it arrives.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import gate as gate_module
from actions.api.commerce import CommerceClient
from actions.api.errors import Conflict, NotFound, Rejected
from actions.common import friendly_date, item_label, money, payment_label
from actions.gate import GatedCapability, NotPossible, Outcome, Proposal
from actions.gate_actions import GatedFormValidation
from actions.ledger import FAILED, StagedAction

CANCEL_REFUSALS = {
    "already_shipped": "it has already shipped, so it can't be cancelled. Once it arrives you can return it.",
    "already_delivered": "it has already been delivered. You can return it within 30 days instead.",
    "already_cancelled": "it was already cancelled.",
}


def explain_not_cancellable(order: Dict[str, Any]) -> str:
    """Why this order can't be cancelled, and what the customer can do instead."""
    order_id = order["order_id"]
    status = order.get("status")
    if status == "shipped":
        shipment = order.get("shipment") or {}
        return (
            f"Order #{order_id} has already shipped with {shipment.get('carrier', 'the carrier')}, "
            "so it can't be cancelled any more. Once it arrives you have 30 days to return it "
            "for a full refund — just ask me to start a return."
        )
    if status == "delivered":
        return (
            f"Order #{order_id} was delivered on {friendly_date(order.get('delivered_at'))}, so it "
            "can't be cancelled — but you can return items within 30 days of delivery."
        )
    refund = order.get("refund") or {}
    refund_state = "has been refunded" if refund.get("status") == "refunded" else "is being refunded"
    return f"Order #{order_id} is already cancelled, and the payment {refund_state}."


class CancelCapability(GatedCapability):
    action_name = "cancel_order"
    form_name = "cancel_order_form"

    def propose(self, tracker: Tracker, client: CommerceClient) -> Proposal:
        order, customer_id = self.verified_order(tracker, client, to="cancel it")
        order_id = order["order_id"]
        if order.get("status") != "processing":
            raise NotPossible(explain_not_cancellable(order))
        currency = order.get("currency", "USD")
        total = money(order["total"], currency)
        destination = payment_label(order.get("payment"))
        items = [f"   – {item_label(item)}, {money(item['price'], currency)}" for item in order["items"]]
        return Proposal(
            order_id=order_id,
            customer_id=customer_id,
            arguments={"order_id": order_id, "refund_amount": total, "refund_destination": destination},
            summary_lines=[
                f"I'm about to cancel order #{order_id}:",
                "• Items:",
                *items,
                f"• Refund: {total} to {destination}",
            ],
            question="Shall I cancel this order?",
        )

    def execute(self, client: CommerceClient, row: StagedAction) -> Outcome:
        args = row.arguments
        try:
            client.cancel_order(order_id=args["order_id"], idempotency_key=row.id)
        except (Conflict, Rejected, NotFound) as refusal:
            why = CANCEL_REFUSALS.get(refusal.reason or "", "our order system refused it.")
            return Outcome(False, [f"I couldn't cancel order #{args['order_id']}: {why}"],
                           {"error_code": refusal.code}, status=FAILED)
        return self._cancelled(args)

    def reconcile(self, client: CommerceClient, row: StagedAction) -> Optional[Outcome]:
        """Cancelled if the order now is (the proposal was only made while it was processing)."""
        order = client.get_order(row.arguments["order_id"])
        return self._cancelled(row.arguments) if order.get("status") == "cancelled" else None

    def describe_result(self, row: StagedAction) -> List[str]:
        return self._cancelled(row.arguments).messages

    @staticmethod
    def _cancelled(args: Dict[str, Any]) -> Outcome:
        return Outcome(
            True,
            [
                f"Done — order #{args['order_id']} is cancelled.",
                f"We'll refund {args['refund_amount']} to {args['refund_destination']}; "
                "it usually shows up within 3–5 business days.",
            ],
            {"cancelled": True},
        )


gate_module.register(CancelCapability())


class ValidateCancelOrderForm(GatedFormValidation):
    def name(self) -> Text:
        return "validate_cancel_order_form"

    async def after_verification(
        self, order: Dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Dict[Text, Any]:
        if order.get("status") == "processing":
            return {}
        dispatcher.utter_message(text=explain_not_cancellable(order))
        return {"form_halted": True}
