"""Where is my refund: the order's cancellation refund and every return's refund status.

A processing order has nothing to refund, and a cancelled order has no returns,
so neither makes the returns call.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from actions.api.commerce import CommerceClient
from actions.common import friendly_date, money, payment_label
from actions.gate_actions import ActionReportVerifiedOrder
from actions.identity import OrderFormValidation

RETURN_STATUS_TEXT = {
    "label_sent": "we've emailed the return label and are waiting for the parcel",
    "in_transit": "the parcel is on its way back to us",
    "received": "we've received the item and are checking it",
    "refunded": "the refund has been issued",
}


class ValidateRefundStatusForm(OrderFormValidation):
    def name(self) -> Text:
        return "validate_refund_status_form"


def describe_refunds(client: CommerceClient, order: Dict[str, Any]) -> List[str]:
    order_id = order["order_id"]
    currency = order.get("currency", "USD")
    payment = payment_label(order.get("payment"))
    status = order.get("status")
    if status == "processing":
        return [f"Order #{order_id} hasn't shipped yet, so there's no refund on it. "
                "If you'd like to cancel it, just say so."]
    if status == "cancelled":
        refund = order.get("refund") or {}
        amount = money(refund.get("amount", order.get("total")), currency)
        if refund.get("status") == "refunded":
            return [f"Order #{order_id} was cancelled and {amount} was refunded to {payment} on "
                    f"{friendly_date(refund.get('refunded_at'))}. Banks can take 3–5 business days "
                    "to show it on your statement."]
        return [f"Order #{order_id} was cancelled; the refund of {amount} to {payment} is being processed."]
    returns = client.list_returns(order_id)
    if not returns:
        return [f"There's no return or refund on order #{order_id} yet. "
                "If you'd like to return something, I can start that for you."]
    lines = []
    for item_return in returns:
        destination = "as store credit" if item_return.get("refund_method") == "store_credit" else f"to {payment}"
        amount = money(item_return.get("refund_amount"), currency)
        progress = RETURN_STATUS_TEXT.get(item_return.get("status"), str(item_return.get("status")))
        if item_return.get("refund_status") == "refunded":
            refund_text = f"{amount} was refunded {destination} on {friendly_date(item_return.get('refunded_at'))}."
        else:
            refund_text = f"{amount} will be refunded {destination} once the item reaches our warehouse."
        lines.append(
            f"Return {item_return['return_id']} ({item_return.get('item_name', 'item')}): {progress}. {refund_text}"
        )
    return lines


class ActionReportRefundStatus(ActionReportVerifiedOrder):
    def name(self) -> Text:
        return "action_report_refund_status"

    def describe(self, client: CommerceClient, order: Dict[str, Any]) -> List[str]:
        return describe_refunds(client, order)
