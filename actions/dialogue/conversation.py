"""What every dialogue action shares: the conversation's slots, ending a task, the verified order.

A task's slots live only as long as the task: they are cleared when it ends or another starts,
and an open confirmation is abandoned in the same turn. Nothing about an order is read for a
customer the conversation is not verified for (`verified_order`).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.api.commerce import CommerceClient
from actions.api.errors import NotFound
from actions.common import blocking, text_slot
from actions.dialogue.tasks import all_task_slots
from actions.gate import get_gate
from actions.identity.verification import current_customer

PENDING_RETRY = "pending_retry"
GATE_SLOTS = ("gate_confirmation", "gate_action_id", "gate_prompt")
# Slots of the task machinery itself (every form uses them).
# (`order_mention`, an order number given before anything asked for it, outlives a task switch.)
FORM_SLOTS = ("form_halted", "order_choices", "identity_name", "task_request", "task_words", PENDING_RETRY)
CONFIRM_BUTTONS = [{"title": "Yes", "payload": "Yes"}, {"title": "No", "payload": "No"}]

Events = List[Dict[Text, Any]]


def reset_events(*, keep_order: bool = True) -> Events:
    """Clears the gate and every task's slots (the verified customer and, by default, the order stay)."""
    slots = GATE_SLOTS + FORM_SLOTS + all_task_slots() + (() if keep_order else ("order_id",))
    return [SlotSet(slot, None) for slot in slots] + [SlotSet("failed_attempts", 0), SlotSet("requested_slot", None)]


async def abandon_open_gate(tracker: Tracker) -> None:
    """Marks the conversation's staged row (if any) abandoned: leaving a task stages nothing."""
    row_id = text_slot(tracker, "gate_action_id")
    if row_id:
        await blocking(get_gate().abandon, row_id, tracker.sender_id)


def verified_order(tracker: Tracker, client: CommerceClient, order_id: Optional[str] = None
                   ) -> Tuple[Optional[Dict[str, Any]], Optional[str]]:
    """(the order, its customer) if the conversation is verified for the customer who owns it.

    (None, None) otherwise — also for an order that does not exist — so nothing about an order
    is ever shown or staged for anyone but its verified owner.
    """
    customer = current_customer(tracker)
    order_id = order_id or text_slot(tracker, "order_id")
    if not customer or not order_id:
        return None, None
    try:
        order = client.get_order(order_id)
    except NotFound:
        return None, None
    if (order.get("customer") or {}).get("id") != customer:
        return None, None
    return order, customer


def prompt_was_shown(tracker: Tracker, row: Any) -> bool:
    """Whether the bot's last turn before the customer's latest message was the prompt for `row`.

    The prompt stamps `gate_prompt` with the row and its version when it is shown; the row must
    still be that version, and the bot's messages of that turn must contain its summary.
    """
    events = tracker.events
    users = [i for i, event in enumerate(events) if event.get("event") == "user"]
    if not users:
        return False
    latest = users[-1]
    previous = users[-2] if len(users) > 1 else -1
    window = events[previous + 1:latest]
    stamp = next((e.get("value") for e in reversed(window)
                  if e.get("event") == "slot" and e.get("name") == "gate_prompt"), None)
    texts = [str(e.get("text") or "") for e in window if e.get("event") == "bot"]
    return (
        isinstance(stamp, dict)
        and stamp.get("row") == row.id
        and stamp.get("version") == row.updated_at.isoformat()
        and any(row.summary in text for text in texts)
    )


def prompt_stamp(row: Any) -> Dict[str, str]:
    return {"row": row.id, "version": row.updated_at.isoformat()}
