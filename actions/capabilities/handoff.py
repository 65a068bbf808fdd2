"""Handing a conversation over to a person from the support team.

The request is recorded in the ledger (`handoff_requests`, the team's queue); whatever the
conversation had staged is abandoned and its task ended. The customer gets a reference and
is told when someone will answer: now, or when the team is next in.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, Dict, List, Optional, Text
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import blocking, text_slot
from actions.dialogue.conversation import abandon_open_gate, reset_events
from actions.handoffs import HANDOFF_REASON_REQUESTED, record_handoff
from actions.shop.profile import ShopProfile, get_profile

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def next_opening(profile: ShopProfile, now: Optional[datetime] = None) -> Optional[datetime]:
    """None if the support team is in now, else when it is next in (in the shop's time zone)."""
    zone = ZoneInfo(profile.support.timezone)
    now = (now or datetime.now(zone)).astimezone(zone)
    for days_ahead in range(8):
        day = now.date() + timedelta(days=days_ahead)
        span = profile.support.hours.get(WEEKDAYS[day.weekday()])
        if not span:
            continue
        opens, closes = (time.fromisoformat(part) for part in span.split("-"))
        start = datetime.combine(day, opens, zone)
        end = datetime.combine(day, closes, zone)
        if days_ahead == 0 and start <= now < end:
            return None
        if now < start:
            return start
    return None


def when_someone_answers(profile: ShopProfile, now: Optional[datetime] = None) -> str:
    opening = next_opening(profile, now)
    if opening is None:
        return "Someone from the team will reply here shortly."
    day = "today" if opening.date() == (now or datetime.now(opening.tzinfo)).astimezone(opening.tzinfo).date() \
        else opening.strftime("%A")
    return (f"Our team is offline right now ({profile.support.hours_text}); someone will reply here when they're "
            f"back, {day} from {opening.strftime('%-I:%M %p').replace(':00', '')}.")


async def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: str) -> List[Dict[Text, Any]]:
    """Records the handoff, tells the customer, and returns the slot events."""
    reference = await blocking(record_handoff, tracker.sender_id, reason, text_slot(tracker, "order_id"))
    dispatcher.utter_message(response="utter_handoff", reference=reference,
                             when=when_someone_answers(get_profile()))
    return [SlotSet("handoff_reference", reference)]


class ActionHandoffToHuman(Action):
    """Hands over on request, leaving any task with nothing staged."""

    def name(self) -> Text:
        return "action_handoff_to_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
                  ) -> List[Dict[Text, Any]]:
        await abandon_open_gate(tracker)
        events = await hand_off(dispatcher, tracker, HANDOFF_REASON_REQUESTED)
        if tracker.active_loop_name:
            events = [ActiveLoop(None)] + events
        return events + reset_events() + [SlotSet("pending_tasks", None)]
