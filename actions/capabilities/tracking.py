"""Where is my order: after verification, say what matters for the order's state.

Only a shipped order costs a tracking call; a cancelled one reports its refund and never asks
the carrier.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from actions.api.commerce import CommerceClient
from actions.dialogue.gate_actions import ActionReportTask
from actions.dialogue.task_form import TaskFormValidation
from actions.dialogue.tasks import Task, cues, register_task
from actions.shop.formatting import friendly_date, money, payment_label
from actions.shop.profile import get_profile

TRACK_TASK = register_task(Task(
    form="track_order_form",
    intents=("track_order",),
    cues=cues("where", "track", "status", "arriv", "deliver", "ship", "dispatch", "parcel", "package", "eta",
              "when (will|does|is)", "hasn'?t (come|arrived)", "not (arrived|received)", "late"),
    finish_action="action_report_order_status",
))


class ValidateTrackOrderForm(TaskFormValidation):
    task = TRACK_TASK

    def name(self) -> Text:
        return "validate_track_order_form"


def describe_order_status(client: CommerceClient, order: Dict[str, Any]) -> List[str]:
    """The customer-facing status of `order`, calling the carrier only if it shipped."""
    shown = get_profile().display_order(order["order_id"])
    status = order.get("status")
    if status == "processing":
        return [
            f"Order {shown} is being prepared and hasn't shipped yet. "
            f"It's expected to ship by {friendly_date(order.get('expected_ship_date'))}; "
            "you'll get an email with tracking as soon as it does."
        ]
    if status == "shipped":
        shipment = order.get("shipment") or {}
        tracking = client.track(shipment["tracking_number"])
        scan = tracking.get("last_scan") or {}
        return [
            f"Order {shown} is on its way with {tracking.get('carrier', shipment.get('carrier'))} "
            f"(tracking {tracking['tracking_number']}). Status: {str(tracking.get('status', '')).replace('_', ' ')}.",
            f"Last scan: {scan.get('location', 'unknown')} on {friendly_date(scan.get('time'))}. "
            f"Estimated delivery: {friendly_date(tracking.get('estimated_delivery'))}.",
        ]
    if status == "delivered":
        return [
            f"Order {shown} was delivered on {friendly_date(order.get('delivered_at'))}. "
            "If anything's wrong with it, I can help you start a return."
        ]
    refund = order.get("refund") or {}
    amount = money(refund.get("amount", order.get("total")), order.get("currency"))
    if refund.get("status") == "refunded":
        refund_text = (f"{amount} was refunded to {payment_label(order.get('payment'))} "
                       f"on {friendly_date(refund.get('refunded_at'))}.")
    else:
        refund_text = f"The refund of {amount} to {payment_label(order.get('payment'))} is on its way."
    return [f"Order {shown} was cancelled. {refund_text}"]


class ActionReportOrderStatus(ActionReportTask):
    def name(self) -> Text:
        return "action_report_order_status"

    def describe(self, client: CommerceClient, order: Dict[str, Any]) -> List[str]:
        return describe_order_status(client, order)
