"""Where is my refund: the order's cancellation refund and every return's refund status.

A processing order has nothing to refund, and a cancelled order has no returns, so neither
makes the returns call.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from actions.api.commerce import CommerceClient
from actions.dialogue.gate_actions import ActionReportTask
from actions.dialogue.task_form import TaskFormValidation
from actions.dialogue.tasks import Task, cues, register_task
from actions.shop.formatting import friendly_date, money, payment_label
from actions.shop.policy import get_policy
from actions.shop.profile import get_profile

REFUND_TASK = register_task(Task(
    form="refund_status_form",
    intents=("track_refund",),
    cues=cues("where(’|')?s my (refund|money)", "refund status", "status of (my|the) refund",
              "(haven'?t|not|still not|didn'?t) (got|get|gotten|received|receive|seen).{0,20}(refund|money)",
              "when (will|do) i get (my )?(refund|money)"),
    finish_action="action_report_refund_status",
))

RETURN_STATUS_TEXT = {
    "label_sent": "we've emailed the return label and are waiting for the parcel",
    "in_transit": "the parcel is on its way back to us",
    "received": "we've received the item and are checking it",
    "refunded": "the refund has been issued",
}


class ValidateRefundStatusForm(TaskFormValidation):
    task = REFUND_TASK

    def name(self) -> Text:
        return "validate_refund_status_form"


def describe_refunds(client: CommerceClient, order: Dict[str, Any]) -> List[str]:
    shown = get_profile().display_order(order["order_id"])
    currency = order.get("currency")
    payment = payment_label(order.get("payment"))
    status = order.get("status")
    if status == "processing":
        return [f"Order {shown} hasn't shipped yet, so there's no refund on it. "
                "If you'd like to cancel it, just say so."]
    if status == "cancelled":
        refund = order.get("refund") or {}
        amount = money(refund.get("amount", order.get("total")), currency)
        if refund.get("status") == "refunded":
            return [f"Order {shown} was cancelled and {amount} was refunded to {payment} on "
                    f"{friendly_date(refund.get('refunded_at'))}. Banks can take a few business days "
                    "to show it on your statement."]
        return [f"Order {shown} was cancelled; the refund of {amount} to {payment} is being processed."]
    returns = client.list_returns(order["order_id"])
    if not returns:
        return [f"There's no return or refund on order {shown} yet. If you'd like to return something, "
                "I can start that for you."]
    policy = get_policy(client)
    lines = []
    for item_return in returns:
        method = item_return.get("refund_method") or "original_payment"
        destination = {"store_credit": "as store credit", "gift_card": "to your gift card"}.get(method, f"to {payment}")
        amount = money(item_return.get("refund_amount"), currency)
        progress = RETURN_STATUS_TEXT.get(item_return.get("status"), str(item_return.get("status")))
        if item_return.get("refund_status") == "refunded":
            refund_text = f"{amount} was refunded {destination} on {friendly_date(item_return.get('refunded_at'))}."
        else:
            refund_text = (f"{amount} will be refunded {destination} once the items reach our warehouse, "
                           f"usually within {policy.refund_timing(method)}.")
        names = [i.get("name") for i in item_return.get("items") or []] or [item_return.get("item_name", "item")]
        returned = ", ".join(str(n) for n in names)
        lines.append(f"Return {item_return['return_id']} ({returned}): {progress}. {refund_text}")
    return lines


class ActionReportRefundStatus(ActionReportTask):
    def name(self) -> Text:
        return "action_report_refund_status"

    def describe(self, client: CommerceClient, order: Dict[str, Any]) -> List[str]:
        return describe_refunds(client, order)
