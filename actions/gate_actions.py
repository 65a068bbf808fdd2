"""The gate's Rasa actions: ask for confirmation, validate the answer, resolve.

`action_ask_gate_confirmation` stages the active form's proposal in the ledger
(editing the open row if the customer changed something) and renders the prompt
from the row. `action_resolve_gate` runs when a gated form completes: it claims
the row atomically, checks ownership again, executes with the row's arguments and
the row id as idempotency key, records the outcome and clears the gate's slots.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import gate as gate_module
from actions import ledger
from actions.api.commerce import CommerceClient, get_commerce_client
from actions.api.errors import CommerceError, CommerceUnavailable
from actions.common import blocking, is_neutralized_command, text_slot, verified_customer
from actions.gate import Gate, get_gate
from actions.identity import OrderFormValidation

logger = logging.getLogger(__name__)

GATE_SLOTS = ("gate_confirmation", "gate_action_id")
# Slots that only live for one task; cleared whenever a task ends.
TASK_SLOTS = (
    "customer_email",
    "form_halted",
    "return_item",
    "return_item_mention",
    "return_reason",
    "return_refund_method",
    "address_street",
    "address_city",
    "address_postal_code",
    "address_country",
)
CONFIRM_BUTTONS = [{"title": "Yes", "payload": "Yes"}, {"title": "No", "payload": "No"}]


def reset_events(tracker: Tracker) -> List[Dict[Text, Any]]:
    """Clears the gate and the finished task's slots (the order number is kept for reuse)."""
    events = [SlotSet(slot, None) for slot in GATE_SLOTS + TASK_SLOTS]
    return events + [SlotSet("failed_attempts", 0), SlotSet("requested_slot", None)]


async def abandon_open_gate(tracker: Tracker) -> List[Dict[Text, Any]]:
    """Marks the conversation's staged row (if any) abandoned: leaving stages nothing."""
    row_id = text_slot(tracker, "gate_action_id")
    if row_id:
        await blocking(get_gate().abandon, row_id, tracker.sender_id)
    return []


class ActionReportVerifiedOrder(Action, ABC):
    """Tells the customer about an order they are verified for, then ends the task."""

    @abstractmethod
    def describe(self, client: CommerceClient, order: Dict[str, Any]) -> List[str]:
        """The lines to say about `order` (may make further API calls)."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        order_id = text_slot(tracker, "order_id")
        if tracker.get_slot("form_halted") or not verified_customer(tracker, order_id):
            return reset_events(tracker)
        client = get_commerce_client()
        try:
            order = await blocking(client.get_order, order_id)
            lines = await blocking(self.describe, client, order)
        except CommerceError:
            dispatcher.utter_message(response="utter_commerce_unavailable")
            return reset_events(tracker)
        for line in lines:
            dispatcher.utter_message(text=line)
        return reset_events(tracker)


class GatedFormValidation(OrderFormValidation):
    """A form whose last required slot is the gate's confirmation."""

    gated = True

    async def validate_gate_confirmation(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if is_neutralized_command(tracker):
            dispatcher.utter_message(response="utter_confirm_in_words")
            return {"gate_confirmation": None}
        if value is False:
            return {"gate_confirmation": False}
        row = await blocking(get_gate().open_row, text_slot(tracker, "gate_action_id"), tracker.sender_id)
        if row is None:
            # Expired (or never staged): stage afresh and ask again.
            dispatcher.utter_message(response="utter_confirmation_expired")
            return {"gate_confirmation": None, "gate_action_id": None}
        return {"gate_confirmation": True}


class ActionAskGateConfirmation(Action):
    """Stages the active form's proposal and asks yes/no, rendered from the ledger row."""

    def name(self) -> Text:
        return "action_ask_gate_confirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        capability = gate_module.capability_for_form(tracker.active_loop_name)
        if capability is None:
            return []
        try:
            proposal = await blocking(capability.propose, tracker, get_commerce_client())
        except gate_module.NotPossible as refusal:
            dispatcher.utter_message(text=str(refusal))
            dispatcher.utter_message(response="utter_offer_nevermind")
            return []
        except CommerceError:
            dispatcher.utter_message(response="utter_commerce_unavailable")
            return [SlotSet("gate_action_id", None)]
        row = await blocking(
            get_gate().stage,
            conversation_id=tracker.sender_id,
            action_name=capability.action_name,
            proposal=proposal,
            replace_id=text_slot(tracker, "gate_action_id"),
        )
        dispatcher.utter_message(
            text=f"{row.summary}\n\n{proposal.question}", buttons=CONFIRM_BUTTONS
        )
        return [SlotSet("gate_action_id", row.id)]


class ActionResolveGate(Action):
    """Executes or declines the staged action once its form completes."""

    def name(self) -> Text:
        return "action_resolve_gate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        events = reset_events(tracker)
        row_id = text_slot(tracker, "gate_action_id")
        confirmed = tracker.get_slot("gate_confirmation")
        gate = get_gate()
        if not row_id or confirmed is None or tracker.get_slot("form_halted"):
            await abandon_open_gate(tracker)
            return events
        if confirmed is not True:  # False, or anything that is not a real "yes"
            await blocking(gate.decline, row_id, tracker.sender_id)
            dispatcher.utter_message(response="utter_gate_declined")
            return events
        await execute_staged(gate, row_id, dispatcher, tracker)
        return events


async def execute_staged(
    gate: Gate, row_id: str, dispatcher: CollectingDispatcher, tracker: Tracker
) -> None:
    """Claim → ownership check → execute → record; at most once per row, ever."""
    row = await blocking(gate.claim, row_id, tracker.sender_id)
    if row is None:
        existing = await blocking(gate.get, row_id)
        if existing is not None and existing.status in (ledger.EXECUTING, ledger.SUCCEEDED):
            dispatcher.utter_message(response="utter_gate_already_done")
        else:
            dispatcher.utter_message(response="utter_confirmation_expired_restart")
        return
    capability = gate_module.capability_for_action(row.action_name)
    client = get_commerce_client()
    try:
        order = await blocking(client.get_order, row.order_id)
    except CommerceError as error:
        await blocking(gate.finish, row.id, status=ledger.FAILED, error=f"ownership check: {error}")
        dispatcher.utter_message(response="utter_commerce_unavailable_nothing_changed")
        return
    owner = (order.get("customer") or {}).get("id")
    if capability is None or owner != row.customer_id or (
        verified_customer(tracker, row.order_id) != row.customer_id
    ):
        await blocking(gate.finish, row.id, status=ledger.FAILED, error="ownership check failed")
        dispatcher.utter_message(response="utter_gate_refused")
        return
    try:
        outcome = await blocking(capability.execute, client, row)
    except CommerceUnavailable as error:
        # The API may or may not have acted: the row keeps its idempotency key,
        # so a retry with the same key can only ever act once.
        logger.warning("gated action %s outcome unknown: %s", row.id, error)
        await blocking(gate.finish, row.id, status=ledger.UNKNOWN, error=str(error))
        dispatcher.utter_message(response="utter_gate_outcome_unknown")
        return
    await blocking(
        gate.finish, row.id, status=outcome.status, result=outcome.result,
        error=None if outcome.succeeded else "; ".join(outcome.messages),
    )
    for message in outcome.messages:
        dispatcher.utter_message(text=message)


class ActionLeaveForm(Action):
    """"Never mind": leave the current task with nothing staged."""

    def name(self) -> Text:
        return "action_leave_form"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        await abandon_open_gate(tracker)
        dispatcher.utter_message(response="utter_left_form")
        return [ActiveLoop(None)] + reset_events(tracker)


class ActionSessionStart(Action):
    """Starts a session; staged actions are never carried into a new one."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        await abandon_open_gate(tracker)
        return [SessionStarted(), ActionExecuted("action_listen")]
