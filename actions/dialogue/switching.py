"""Moving between tasks: a new request ends the current one cleanly; a correction keeps it.

`action_switch_task` runs for every message that asks for a task. It abandons what the current
task staged and starts the new one in the same turn — except where the message only looks like
a new request: "I want a refund" (a return, or a refund already on its way?) is asked about, and
a message NLU read as a destructive request but which asks for nothing of the kind ("sorry, I
meant order 4522" read as cancel_order) continues the task at hand with the corrected value.
A message asking for two tasks queues the second (`pending_tasks`).

`action_continue_task` takes information given outside a task ("4522", "the scarf") back to the
task the customer was doing, or routes it by its words.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import text_slot
from actions.dialogue.conversation import abandon_open_gate, reset_events
from actions.dialogue.tasks import task_asked_for_in, task_for_form, task_for_intent
from actions.dialogue.turns import Turn, read_turn, wants_refund_but_unclear
from actions.shop.order_numbers import find_order_numbers

RETURN_FORM = "return_form"
REFUND_KIND_BUTTONS = [
    {"title": "Return something for a refund", "payload": "I want to return an item"},
    {"title": "Check on a refund I'm owed", "payload": "Where is my refund?"},
]


def guessed_task_is_asked_for(turn: Turn) -> bool:
    """NLU fell back, but its best guess is a task (or two) and the message says so in words."""
    tasks = [task_for_intent(intent) for intent in turn.guessed_intents]
    return bool(tasks) and all(task is not None and task.asked_for_in(turn.text) for task in tasks)


def carries_values(turn: Turn) -> bool:
    """The message names an order (clearly) or an item: it could be a correction."""
    return bool(find_order_numbers(turn.text, expected=False) or turn.entity_values("item"))


async def _leave_current(tracker: Tracker) -> List[Dict[Text, Any]]:
    await abandon_open_gate(tracker)
    return ([ActiveLoop(None)] if tracker.active_loop_name else []) + reset_events()


class ActionSwitchTask(Action):
    """Starts the task the customer asked for, ending the current one (or keeps it, see module)."""

    def name(self) -> Text:
        return "action_switch_task"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        turn = read_turn(tracker)
        intents = turn.guessed_intents or turn.intents  # a fallback's guess, confirmed by its words (answers.py)
        asked = [task for task in (task_for_intent(intent) for intent in intents) if task is not None]
        if not asked:
            return []
        if len(asked) > 1:
            # Two requests in one message only when the words ask for each ("return the lamp and
            # the mat from order W1" is one return, whatever the multi-intent guess says).
            asked = [task for task in asked if task.asked_for_in(turn.text)] or asked[:1]
        target = asked[0]
        last = text_slot(tracker, "last_task")
        if target.form == RETURN_FORM and len(asked) == 1 and wants_refund_but_unclear(turn):
            events = await _leave_current(tracker)
            dispatcher.utter_message(response="utter_ask_refund_kind", buttons=REFUND_KIND_BUTTONS)
            return events + [FollowupAction("action_listen")]
        if (target.changes_orders and not target.asked_for_in(turn.text) and last and last != target.form
                and _about_an_order(last) and carries_values(turn)):
            # Not a request for this change at all: the customer corrects the task they were doing.
            return await _leave_current(tracker) + [SlotSet("last_task", last), FollowupAction(last)]
        worded = task_asked_for_in(turn.text)
        if (len(asked) == 1 and worded is not None and target.changes_orders and worded.changes_orders
                and not target.asked_for_in(turn.text)):
            # NLU's change is not what the words ask for, another change is: "can I get these sneakers
            # a size bigger" read as a return is the exchange it says
            target, asked = worded, [worded]
        queue = [{"form": task.form, "text": turn.text} for task in asked[1:] if task.form != target.form]
        events = await _leave_current(tracker)
        return events + [SlotSet("pending_tasks", queue or None), SlotSet("last_task", None),
                         FollowupAction(target.form)]


class ActionContinueTask(Action):
    """Information given outside a task: back to the customer's last task, or routed by its words."""

    def name(self) -> Text:
        return "action_continue_task"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        turn = read_turn(tracker)
        asked = task_asked_for_in(turn.text)
        if asked is not None and not (asked.form == RETURN_FORM and wants_refund_but_unclear(turn)):
            return await _leave_current(tracker) + [FollowupAction(asked.form)]
        last = text_slot(tracker, "last_task")
        if last and _about_an_order(last) and (carries_values(turn) or _names_an_order(turn)):
            return await _leave_current(tracker) + [SlotSet("last_task", last), FollowupAction(last)]
        dispatcher.utter_message(response="utter_what_about_order")
        numbers = find_order_numbers(turn.text, expected=True) if _names_an_order(turn) else []
        # Kept unchecked (nothing is looked up before verification) for the task they choose next.
        return [SlotSet("order_mention", numbers[0])] if numbers else []


def _names_an_order(turn: Turn) -> bool:
    return bool(find_order_numbers(turn.text, expected=True)) and len(turn.text.split()) <= 6


def _about_an_order(form: str) -> bool:
    """Whether the task of `form` is about an order, so an order number or item can correct it (not the account)."""
    task = task_for_form(form)
    return task is not None and task.needs_order
