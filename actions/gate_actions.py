"""The gate's Rasa actions: ask for confirmation, validate the answer, resolve.

`action_ask_gate_confirmation` stages the active form's proposal in the ledger
(editing the open row if the customer changed something) and renders the prompt
from the row. `action_resolve_gate` runs when a gated form completes: it claims
the row atomically, checks ownership again, executes with the row's arguments and
the row id as idempotency key, records the outcome and clears the gate's slots.

When the API's answer to the write is lost, the client has already retried with the
same key; if that did not help either, the API is read (`reconcile`) before the
outcome is called unknown. `action_resume_unfinished` ("try again", or a "yes" with no
open question) finishes what a conversation left unfinished: a confirmed row whose
result the customer never heard because the action server died in between, a row
whose outcome is unknown, or a report the API could not answer.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from datetime import timedelta
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import gate as gate_module
from actions import ledger
from actions.api.commerce import CommerceClient, get_commerce_client
from actions.api.errors import CircuitOpen, CommerceError, CommerceUnavailable
from actions.common import blocking, is_neutralized_command, text_slot, verified_customer
from actions.config import get_settings
from actions.gate import Gate, GatedCapability, Outcome, get_gate
from actions.identity import PENDING_RETRY, OrderFormValidation
from actions.ledger import StagedAction, utcnow

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
    PENDING_RETRY,
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
            # "try again" runs this report again (action_resume_unfinished)
            return reset_events(tracker) + [SlotSet(PENDING_RETRY, {"action": self.name()})]
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
    if row is not None:
        await run_claimed(gate, row, dispatcher, tracker, resumed=False)
        return
    existing = await blocking(gate.get, row_id)
    if existing is not None and existing.conversation_id == tracker.sender_id and existing.status in (
        ledger.EXECUTING, ledger.UNKNOWN
    ):
        await resume(gate, existing, dispatcher)  # a repeated "yes" while (or after) it ran
    elif existing is not None and existing.status == ledger.SUCCEEDED:
        dispatcher.utter_message(response="utter_gate_already_done")
    else:
        dispatcher.utter_message(response="utter_confirmation_expired_restart")


async def run_claimed(
    gate: Gate, row: StagedAction, dispatcher: CollectingDispatcher, tracker: Optional[Tracker], *, resumed: bool
) -> None:
    """Executes a row this caller holds (`executing`) and records its outcome.

    `resumed`: an earlier attempt may have reached the API (a takeover after a crash, or a
    retry of an unknown outcome), so a failure to learn the outcome leaves it unknown
    rather than "nothing changed".
    """
    capability = gate_module.capability_for_action(row.action_name)
    if capability is None and resumed:  # not an action this process knows: leave the row as it is
        await _unknown(gate, row, dispatcher, f"no capability {row.action_name!r} here")
        return
    if capability is None:
        await blocking(gate.finish, row.id, status=ledger.FAILED, error=f"no capability {row.action_name!r}")
        dispatcher.utter_message(response="utter_gate_refused")
        return
    client = get_commerce_client()
    try:
        order = await blocking(client.get_order, row.order_id)
    except CommerceError as error:
        if resumed:
            await _unknown(gate, row, dispatcher, f"ownership check: {error}")
        else:
            await blocking(gate.finish, row.id, status=ledger.FAILED, error=f"ownership check: {error}")
            dispatcher.utter_message(response="utter_commerce_unavailable_nothing_changed")
        return
    owner = (order.get("customer") or {}).get("id")
    if owner != row.customer_id or (
        tracker is not None and not resumed and verified_customer(tracker, row.order_id) != row.customer_id
    ):
        await blocking(gate.finish, row.id, status=ledger.FAILED, error="ownership check failed")
        dispatcher.utter_message(response="utter_gate_refused")
        return
    try:
        outcome = await blocking(capability.execute, client, row)
    except CommerceUnavailable as error:
        if isinstance(error, CircuitOpen) and not resumed:
            # Failed fast before sending anything: certainly nothing changed.
            await blocking(gate.finish, row.id, status=ledger.FAILED, error=str(error))
            dispatcher.utter_message(response="utter_commerce_unavailable_nothing_changed")
            return
        # The client already retried with the same key. The API may still have acted
        # (the answer was lost): read it before calling the outcome unknown.
        logger.warning("gated action %s got no answer (%s); reconciling", row.id, error)
        outcome = await reconcile(capability, client, row)
        if outcome is None:
            await _unknown(gate, row, dispatcher, str(error))
            return
    await blocking(
        gate.finish, row.id, status=outcome.status, result=outcome.result,
        error=None if outcome.succeeded else "; ".join(outcome.messages),
    )
    for message in outcome.messages:
        dispatcher.utter_message(text=message)


async def reconcile(capability: GatedCapability, client: CommerceClient, row: StagedAction) -> Optional[Outcome]:
    """The API's own answer to "did it happen?", or None if it shows no change or cannot say."""
    try:
        return await blocking(capability.reconcile, client, row)
    except CommerceError as error:
        logger.warning("could not reconcile gated action %s: %s", row.id, error)
        return None


async def _unknown(gate: Gate, row: StagedAction, dispatcher: CollectingDispatcher, error: str) -> None:
    # The row keeps its arguments and idempotency key: "try again" re-sends it, and the API acts at most once.
    await blocking(gate.finish, row.id, status=ledger.UNKNOWN, error=error)
    dispatcher.utter_message(response="utter_gate_outcome_unknown")


async def resume(gate: Gate, row: StagedAction, dispatcher: CollectingDispatcher) -> None:
    """Finishes, or reports, a confirmed row whose outcome the customer has not heard.

    A row another process is still running (its lease has not run out) is waited for, up to
    one retry budget; one whose process died (lease over) or whose outcome is unknown is taken
    over and re-sent with the same idempotency key.
    """
    row = await _wait_while_running(gate, row)
    capability = gate_module.capability_for_action(row.action_name)
    if row.status == ledger.SUCCEEDED and capability is not None:
        for line in capability.describe_result(row):
            dispatcher.utter_message(text=line)
        return
    if row.status == ledger.FAILED:
        dispatcher.utter_message(response="utter_gate_failed_earlier")
        return
    if row.status not in (ledger.EXECUTING, ledger.UNKNOWN):
        dispatcher.utter_message(response="utter_confirmation_expired_restart")
        return
    taken = await blocking(gate.take_over, row.id, row.conversation_id)
    if taken is None:  # still running elsewhere, or another taker won
        dispatcher.utter_message(response="utter_gate_still_running")
        return
    await run_claimed(gate, taken, dispatcher, None, resumed=True)


async def _wait_while_running(gate: Gate, row: StagedAction) -> StagedAction:
    deadline = time.monotonic() + get_settings().retry_budget_seconds
    while row.status == ledger.EXECUTING and row.expires_at > utcnow() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        row = await blocking(gate.get, row.id) or row
    return row


# Rows older than this are not re-sent by the sweep: a shop's API may forget idempotency keys
# after a day (the reference API keeps them), and a re-send must find the first answer.
RECOVERY_WINDOW_HOURS = 24


def recover_unfinished(ledger_url: Optional[str] = None) -> Dict[str, int]:
    """The recovery sweep (`make prune`): finishes confirmed rows nobody is running.

    Rows still `executing` after their lease (their process died) and rows whose outcome is
    unknown are taken over and re-sent with their idempotency key, exactly as "try again"
    does, so none stays `executing` forever and none is executed twice. Returns the final
    statuses counted.
    """
    # The capabilities register themselves when their modules are imported (the action server imports them all).
    import actions.address  # noqa: F401
    import actions.cancellation  # noqa: F401
    import actions.returns  # noqa: F401

    settings = get_settings()
    gate = Gate(ttl_minutes=settings.gate_ttl_minutes, ledger_url=ledger_url or settings.ledger_url,
                lease_seconds=settings.execution_lease_seconds)
    counted: Dict[str, int] = {}
    for row in gate.orphans(since=utcnow() - timedelta(hours=RECOVERY_WINDOW_HOURS)):
        asyncio.run(resume(gate, row, CollectingDispatcher()))
        status = gate.get(row.id).status
        counted[status] = counted.get(status, 0) + 1
    return counted


class ActionResumeUnfinished(Action):
    """"Try again", or a "yes" with no open question: finish what the conversation left unfinished.

    In order: a confirmed row whose result this conversation never heard (the action server
    died between the "yes" and the answer, so Rasa dropped that turn's events and the gate
    slots are still set); the conversation's latest row whose outcome is unknown or whose
    execution was orphaned (within the gate's TTL); after "try again", a report the API could
    not answer. Otherwise it says there is nothing waiting. It never confirms anything itself.
    """

    def name(self) -> Text:
        return "action_resume_unfinished"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        gate = get_gate()
        row = await blocking(_unfinished_row, gate, tracker)
        if row is not None:
            if row.status == ledger.AWAITING_CONFIRMATION:  # confirmed, but the resolve never ran
                await execute_staged(gate, row.id, dispatcher, tracker)
            else:
                await resume(gate, row, dispatcher)
            return reset_events(tracker)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        pending = tracker.get_slot(PENDING_RETRY)
        reports = {cls().name(): cls for cls in ActionReportVerifiedOrder.__subclasses__()}
        report = reports.get(pending.get("action")) if isinstance(pending, dict) else None
        if intent == "try_again" and report is not None:
            return await report().run(dispatcher, tracker, domain)
        nothing = "utter_try_again_what" if intent == "try_again" else "utter_nothing_to_confirm"
        dispatcher.utter_message(response=nothing)
        return []


def _unfinished_row(gate: Gate, tracker: Tracker) -> Optional[StagedAction]:
    row_id = text_slot(tracker, "gate_action_id")
    if row_id and not tracker.active_loop_name:
        row = gate.get(row_id)
        if row is not None and row.conversation_id == tracker.sender_id:
            confirmed = tracker.get_slot("gate_confirmation") is True
            if row.status == ledger.AWAITING_CONFIRMATION and confirmed:
                return row
            if row.status in (ledger.EXECUTING, ledger.UNKNOWN) or (
                confirmed and row.status in (ledger.SUCCEEDED, ledger.FAILED)
            ):
                return row
    return gate.unfinished(tracker.sender_id, since=utcnow() - gate.ttl)


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
