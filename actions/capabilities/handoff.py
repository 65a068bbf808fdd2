"""Handing a conversation over to a person from the support team.

The request is recorded in the ledger (`handoff_requests`, the team's queue); whatever the
conversation had staged is abandoned and its task ended. The customer gets a reference and
is told when someone will answer: now, or when the team is next in. The conversation is then
paused (Rasa's `ConversationPaused`): the bot says nothing more until a person hands it back
from the agent inbox (shop_channels.inbox), which resumes it.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import blocking, text_slot
from actions.dialogue.conversation import abandon_open_gate, reset_events
from actions.handoffs import HANDOFF_REASON_REQUESTED, record_handoff
from actions.identity.verification import current_customer
from actions.shop.profile import get_profile
from actions.shop.support_hours import when_someone_answers


async def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> List[Dict[Text, Any]]:
    """Records the handoff, tells the customer, and returns the events that pause the bot."""
    reference = await blocking(record_handoff, tracker.sender_id, reason, text_slot(tracker, "order_id"),
                               current_customer(tracker))
    dispatcher.utter_message(response="utter_handoff", reference=reference,
                             when=when_someone_answers(get_profile()))
    return [SlotSet("handoff_reference", reference), ConversationPaused()]


class ActionHandoffToHuman(Action):
    """Hands over on request, leaving any task with nothing staged."""

    def name(self) -> Text:
        return "action_handoff_to_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
                  ) -> List[Dict[Text, Any]]:
        await abandon_open_gate(tracker)
        events = [ActiveLoop(None)] if tracker.active_loop_name else []
        events += reset_events() + [SlotSet("pending_tasks", None)]
        # the pause last: the slots above are the state the bot comes back to
        return events + await hand_off(dispatcher, tracker, HANDOFF_REASON_REQUESTED)
