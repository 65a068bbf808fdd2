"""Cancelling an order: only before it ships, behind the gate.

The confirmation lists the items and the refund; a shipped order gets an explanation and the
offer of a return once it arrives.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker

from actions import gate as gate_module
from actions.api.commerce import CommerceClient
from actions.api.errors import Conflict, NotFound, Rejected
from actions.dialogue.conversation import verified_order
from actions.dialogue.task_form import TaskFormValidation, TurnContext
from actions.dialogue.tasks import Task, cues, register_task
from actions.gate import GatedCapability, NotPossible, Outcome, Proposal
from actions.ledger import FAILED, StagedAction
from actions.shop.formatting import friendly_date, item_label, money, payment_label
from actions.shop.policy import get_policy
from actions.shop.profile import get_profile

CANCEL_TASK = register_task(Task(
    form="cancel_order_form",
    intents=("cancel_order",),
    cues=cues("cancel", "cancle", "cancell", "stop (the |my |this )?(order|it|delivery|shipment)", "don'?t want",
              "do not want", "no longer (want|need)", "don'?t need", "ordered by mistake", "by accident",
              "call off", "annul", "storn", "revoke", "withdraw"),
    changes_orders=True,
))

CANCEL_REFUSALS = {
    "already_shipped": "it has already shipped, so it can't be cancelled. Once it arrives you can return it.",
    "already_delivered": "it has already been delivered. You can return it instead.",
    "already_cancelled": "it was already cancelled.",
}


def explain_not_cancellable(order: Dict[str, Any]) -> str:
    """Why this order can't be cancelled, and what the customer can do instead."""
    shown = get_profile().display_order(order["order_id"])
    status = order.get("status")
    if status == "shipped":
        carrier = (order.get("shipment") or {}).get("carrier", "the carrier")
        return (
            f"Order {shown} has already shipped with {carrier}, so it can't be cancelled any more. "
            "Once it arrives you can return it for a refund — just ask me to start a return."
        )
    if status == "delivered":
        return (
            f"Order {shown} was delivered on {friendly_date(order.get('delivered_at'))}, so it "
            "can't be cancelled — but you can return items from it instead."
        )
    refund = order.get("refund") or {}
    refund_state = "has been refunded" if refund.get("status") == "refunded" else "is being refunded"
    return f"Order {shown} is already cancelled, and the payment {refund_state}."


class CancelCapability(GatedCapability):
    action_name = "cancel_order"
    form_name = "cancel_order_form"

    def propose(self, tracker: Tracker, client: CommerceClient) -> Proposal:
        order, customer_id = verified_order(tracker, client)
        if order is None:
            raise NotPossible("I need to verify you before I can cancel an order.")
        order_id = order["order_id"]
        if order.get("status") != "processing":
            raise NotPossible(explain_not_cancellable(order))
        currency = order.get("currency")
        total = money(order["total"], currency)
        destination = payment_label(order.get("payment"))
        items = [f"   – {item_label(item)}, {money(item['price'], currency)}" for item in order["items"]]
        shown = get_profile().display_order(order_id)
        return Proposal(
            order_id=order_id,
            customer_id=customer_id,
            arguments={"order_id": order_id, "order_shown": shown, "refund_amount": total,
                       "refund_destination": destination,
                       "refund_timing": get_policy(client).refund_timing("original_payment")},
            summary_lines=[f"I'm about to cancel order {shown}:", "• Items:", *items,
                           f"• Refund: {total} to {destination}"],
            question="Shall I cancel this order?",
        )

    def execute(self, client: CommerceClient, row: StagedAction) -> Outcome:
        args = row.arguments
        try:
            client.cancel_order(order_id=args["order_id"], idempotency_key=row.id)
        except (Conflict, Rejected, NotFound) as refusal:
            why = CANCEL_REFUSALS.get(refusal.reason or "", "our order system refused it.")
            return Outcome(False, [f"I couldn't cancel order {args['order_shown']}: {why}"],
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
                f"Done — order {args['order_shown']} is cancelled.",
                f"We'll refund {args['refund_amount']} to {args['refund_destination']}; "
                f"it usually shows up within {args.get('refund_timing') or '3–5 business days'}.",
            ],
            {"cancelled": True},
        )


gate_module.register(CancelCapability())


class ValidateCancelOrderForm(TaskFormValidation):
    task = CANCEL_TASK
    gated = True

    def name(self) -> Text:
        return "validate_cancel_order_form"

    async def check_order(self, order: Dict[str, Any], ctx: TurnContext) -> bool:
        if order.get("status") == "processing":
            return True
        ctx.say(text=explain_not_cancellable(order))
        return False
