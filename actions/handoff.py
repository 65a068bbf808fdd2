"""Handing a conversation over to a human agent.

The request is recorded in the ledger (`handoff_requests`), which is the support
team's queue of conversations to pick up; the customer gets a reference.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import ledger, telemetry
from actions.common import blocking
from actions.ledger import HandoffRequest

HANDOFF_REASON_REQUESTED = "customer_request"
HANDOFF_REASON_REPEATED_FAILURE = "repeated_failure"
HANDOFF_REASON_VERIFICATION_LOCKED = "verification_locked"


def record_handoff(conversation_id: str, reason: str, order_id: Optional[str]) -> str:
    """Queues the conversation for a human; returns the short reference."""
    sessions = ledger.get_sessionmaker()
    request = HandoffRequest(
        id=ledger.new_id(), conversation_id=conversation_id, reason=reason, order_id=order_id
    )
    with sessions.begin() as session:
        session.add(request)
    telemetry.HANDOFFS.labels(reason).inc()
    return request.id[:8].upper()


async def hand_off(
    dispatcher: CollectingDispatcher, tracker: Tracker, reason: str
) -> List[Dict[Text, Any]]:
    """Records the handoff, tells the customer, and returns the slot events."""
    reference = await blocking(
        record_handoff, tracker.sender_id, reason, tracker.get_slot("order_id")
    )
    dispatcher.utter_message(response="utter_handoff", reference=reference)
    return [SlotSet("handoff_reference", reference)]


class ActionHandoffToHuman(Action):
    """Hands over on request, leaving any form with nothing staged."""

    def name(self) -> Text:
        return "action_handoff_to_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[Dict[Text, Any]]:
        from actions.gate_actions import abandon_open_gate, reset_events

        events = await abandon_open_gate(tracker)
        events += await hand_off(dispatcher, tracker, HANDOFF_REASON_REQUESTED)
        if tracker.active_loop_name:
            events += [ActiveLoop(None), SlotSet("requested_slot", None)]
        return events + reset_events(tracker)
