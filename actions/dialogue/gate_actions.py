"""The gate's Rasa actions: stage and ask, resolve, and finish what a conversation left unfinished.

`action_ask_gate_confirmation` stages the active form's proposal in the ledger (editing the open
row when the customer changed something) and renders the prompt from the row, stamping
`gate_prompt` with the row's version. `action_resolve_gate` runs when a gated form completes:
only for the row the bot's last turn showed, answered by a plain yes, it claims the row
atomically, checks ownership again, executes with the row's arguments and the row id as
idempotency key, records the outcome and clears the task's slots in the same turn. A proposal
that turns out impossible closes the row and ends the task.

When the API's answer to the write is lost, the client has already retried with the same key; if
that did not help either, the API is read (`reconcile`) before the outcome is called unknown.
`action_resume_unfinished` ("try again", or a "yes" with no open question) finishes what a
conversation left unfinished within the confirmation's lifetime. The recovery sweep
(`recover_unfinished`, `make prune`) does the same for conversations that went quiet and leaves
the outcome as a notice the customer gets on their next turn; a confirmation older than its
lifetime is never executed: it is reconciled, closed and listed for staff (`make review`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from datetime import timedelta
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, ActiveLoop, FollowupAction, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import gate as gate_module
from actions import ledger
from actions.api.commerce import CommerceClient, get_commerce_client
from actions.api.errors import CircuitOpen, CommerceError, CommerceUnavailable
from actions.common import blocking, is_neutralized_command, text_slot
from actions.config import get_settings
from actions.dialogue.conversation import (
    CONFIRM_BUTTONS,
    PENDING_RETRY,
    Events,
    abandon_open_gate,
    prompt_stamp,
    prompt_was_shown,
    reset_events,
    verified_order,
)
from actions.dialogue.tasks import task_for_form
from actions.gate import Gate, GatedCapability, Outcome, get_gate
from actions.identity.verification import current_customer
from actions.ledger import StagedAction, utcnow
from actions.notices import leave_notice

logger = logging.getLogger(__name__)


def end_task_events(tracker: Tracker, form: Optional[str]) -> Events:
    """Clears the finished task and starts the next one the customer asked for in the same message."""
    events = reset_events() + [SlotSet("last_task", form), SlotSet("last_order_id", text_slot(tracker, "order_id"))]
    queue = [entry for entry in (tracker.get_slot("pending_tasks") or []) if isinstance(entry, dict)]
    if queue:
        upcoming = queue[0]
        events += [SlotSet("pending_tasks", queue[1:] or None), SlotSet("task_request", upcoming.get("text")),
                   FollowupAction(str(upcoming.get("form")))]
    return events


class ActionReportTask(Action, ABC):
    """Tells the customer about their verified order, then ends the task."""

    @abstractmethod
    def describe(self, client: CommerceClient, order: Dict[str, Any]) -> List[str]:
        """The lines to say about `order` (may make further API calls)."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        form = _finished_form(tracker)
        if tracker.get_slot("form_halted"):
            return end_task_events(tracker, form)
        client = get_commerce_client()
        try:
            order, _ = await blocking(verified_order, tracker, client)
            if order is None:
                return end_task_events(tracker, form)
            lines = await blocking(self.describe, client, order)
        except CommerceError:
            dispatcher.utter_message(response="utter_commerce_unavailable")
            # "try again" runs this report again (action_resume_unfinished)
            return end_task_events(tracker, form) + [SlotSet(PENDING_RETRY, {"action": self.name()})]
        for line in lines:
            dispatcher.utter_message(text=line)
        return end_task_events(tracker, form)


class ActionAskGateConfirmation(Action):
    """Stages the active form's proposal and asks yes/no, rendered from the ledger row."""

    def name(self) -> Text:
        return "action_ask_gate_confirmation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        capability = gate_module.capability_for_form(tracker.active_loop_name)
        if capability is None or current_customer(tracker) is None:
            return []
        try:
            proposal = await blocking(capability.propose, tracker, get_commerce_client())
        except gate_module.NotPossible as refusal:
            # Impossible closes the row and the task, in the same turn: no later "yes" can run it.
            await abandon_open_gate(tracker)
            dispatcher.utter_message(text=str(refusal))
            return [ActiveLoop(None)] + end_task_events(tracker, tracker.active_loop_name)
        except CommerceError:
            dispatcher.utter_message(response="utter_commerce_unavailable")
            return []
        row = await blocking(
            get_gate().stage,
            conversation_id=tracker.sender_id,
            action_name=capability.action_name,
            proposal=proposal,
            replace_id=text_slot(tracker, "gate_action_id"),
        )
        dispatcher.utter_message(text=f"{row.summary}\n\n{proposal.question}", buttons=CONFIRM_BUTTONS)
        return [SlotSet("gate_action_id", row.id), SlotSet("gate_prompt", prompt_stamp(row))]


class ActionResolveGate(Action):
    """Executes or declines the staged action once its form completes."""

    def name(self) -> Text:
        return "action_resolve_gate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        form = _finished_form(tracker)
        events = end_task_events(tracker, form)
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
        row = await blocking(gate.open_row, row_id, tracker.sender_id)
        if row is not None and not _answers_prompt(tracker, row):
            # The form only completes on a plain yes to this prompt; anything else here is refused.
            await blocking(gate.abandon, row_id, tracker.sender_id)
            dispatcher.utter_message(response="utter_confirmation_expired_restart")
            return events
        await execute_staged(gate, row_id, dispatcher, tracker)
        return events


def _answers_prompt(tracker: Tracker, row: StagedAction) -> bool:
    """The latest message is a typed "yes" to exactly `row`'s prompt, by `row`'s verified customer."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return (
        intent == "affirm"
        and not is_neutralized_command(tracker)
        and prompt_was_shown(tracker, row)
        and current_customer(tracker) == row.customer_id
    )


def _finished_form(tracker: Tracker) -> Optional[str]:
    """The form that just completed (the latest one activated in the tracker)."""
    for event in reversed(tracker.events):
        if event.get("event") == "active_loop" and event.get("name"):
            return str(event["name"])
    return None


async def execute_staged(gate: Gate, row_id: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
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


async def run_claimed(gate: Gate, row: StagedAction, dispatcher: CollectingDispatcher, tracker: Optional[Tracker],
                      *, resumed: bool) -> None:
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
        owner = await blocking(capability.owner, client, row)
    except CommerceError as error:
        if resumed:
            await _unknown(gate, row, dispatcher, f"ownership check: {error}")
        else:
            await blocking(gate.finish, row.id, status=ledger.FAILED, error=f"ownership check: {error}")
            dispatcher.utter_message(response="utter_commerce_unavailable_nothing_changed")
        return
    if owner != row.customer_id or (
        tracker is not None and not resumed and current_customer(tracker) != row.customer_id
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
    over and re-sent with the same idempotency key — but only within the confirmation's own
    lifetime: later than that nothing is executed (see `recover_unfinished`).
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
    if row.status not in (ledger.EXECUTING, ledger.UNKNOWN) or not within_confirmation_lifetime(gate, row):
        dispatcher.utter_message(response="utter_confirmation_expired_restart")
        return
    taken = await blocking(gate.take_over, row.id, row.conversation_id)
    if taken is None:  # still running elsewhere, or another taker won
        dispatcher.utter_message(response="utter_gate_still_running")
        return
    await run_claimed(gate, taken, dispatcher, None, resumed=True)


def within_confirmation_lifetime(gate: Gate, row: StagedAction) -> bool:
    """A confirmed row may still be executed: its "yes" is younger than a confirmation's lifetime."""
    confirmed = row.confirmed_at or row.updated_at
    return confirmed + gate.ttl > utcnow()


async def _wait_while_running(gate: Gate, row: StagedAction) -> StagedAction:
    deadline = time.monotonic() + get_settings().retry_budget_seconds
    while row.status == ledger.EXECUTING and row.expires_at > utcnow() and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        row = await blocking(gate.get, row.id) or row
    return row


# How far back the sweep looks for confirmed rows nobody finished (older ones were closed by an earlier sweep).
SWEEP_LOOKBACK_HOURS = 24 * 7
TOO_LATE = "the confirmation ran out before the action could be finished; not executed"


def recover_unfinished(ledger_url: Optional[str] = None) -> Dict[str, int]:
    """The recovery sweep (`make prune`): settles confirmed rows nobody is running.

    A row still within its confirmation's lifetime is taken over and re-sent with its idempotency
    key, exactly as "try again" does, and the customer gets the outcome as a notice on their next
    turn. An older row is never executed: the API is read (did the first attempt act after all?),
    the row is closed as succeeded or failed, marked for staff review, and the customer is told.
    Returns the final statuses counted.
    """
    from actions.dialogue.tasks import load_capabilities

    load_capabilities()  # the capabilities register themselves with the gate

    settings = get_settings()
    gate = Gate(ttl_minutes=settings.gate_ttl_minutes, ledger_url=ledger_url or settings.ledger_url,
                lease_seconds=settings.execution_lease_seconds)
    counted: Dict[str, int] = {}
    for row in gate.orphans(since=utcnow() - timedelta(hours=SWEEP_LOOKBACK_HOURS)):
        dispatcher = CollectingDispatcher()
        if within_confirmation_lifetime(gate, row):
            asyncio.run(resume(gate, row, dispatcher))
        else:
            _close_too_late(gate, row, dispatcher)
        texts = [m["text"] for m in dispatcher.messages if m.get("text")]
        texts += [_response_text(m["response"]) for m in dispatcher.messages if m.get("response")]
        if texts:
            leave_notice(row.conversation_id, "\n".join(texts), staged_action_id=row.id,
                         ledger_url=ledger_url or settings.ledger_url)
        status = gate.get(row.id).status
        counted[status] = counted.get(status, 0) + 1
    return counted


def _close_too_late(gate: Gate, row: StagedAction, dispatcher: CollectingDispatcher) -> None:
    capability = gate_module.capability_for_action(row.action_name)
    outcome = None
    if capability is not None:
        try:
            outcome = capability.reconcile(get_commerce_client(), row)
        except CommerceError as error:
            logger.warning("could not reconcile expired gated action %s: %s", row.id, error)
    if outcome is not None and outcome.succeeded:
        if gate.give_up(row.id, status=ledger.SUCCEEDED, error="finished before the sweep; reconciled",
                        result=outcome.result):
            for message in outcome.messages:
                dispatcher.utter_message(text=message)
        return
    if gate.give_up(row.id, status=ledger.FAILED, error=TOO_LATE):
        dispatcher.utter_message(response="utter_gate_too_late")


# The notices of the sweep are written outside a conversation, so responses are spelled out here.
NOTICE_TEXTS = {
    "utter_gate_too_late": (
        "About your earlier request: our order system couldn't finish it in time, so I did not make "
        "the change — nothing was changed. Our support team has been told; ask again or say "
        "\"talk to a human\"."
    ),
    "utter_gate_outcome_unknown": (
        "About your earlier request: I still can't confirm with our order system whether it went through. "
        "It will never be done twice — say \"try again\" and I'll check, or \"talk to a human\"."
    ),
    "utter_gate_failed_earlier": "About your earlier request: it didn't go through, so nothing was changed.",
    "utter_gate_still_running": "About your earlier request: I'm still finishing it with our order system.",
    "utter_confirmation_expired_restart": (
        "About your earlier request: it had expired, so I didn't change anything. Just ask again if you'd still "
        "like to go ahead."
    ),
}


def _response_text(response: str) -> str:
    return NOTICE_TEXTS.get(response, "About your earlier request: please ask me again, or say \"talk to a human\".")


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

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        gate = get_gate()
        row = await blocking(_unfinished_row, gate, tracker)
        if row is not None:
            if row.status == ledger.AWAITING_CONFIRMATION:  # confirmed, but the resolve never ran
                await execute_staged(gate, row.id, dispatcher, tracker)
            else:
                await resume(gate, row, dispatcher)
            return reset_events()
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        pending = tracker.get_slot(PENDING_RETRY)
        reports = {cls().name(): cls for cls in _report_actions()}
        report = reports.get(pending.get("action")) if isinstance(pending, dict) else None
        if intent == "try_again" and report is not None:
            return await report().run(dispatcher, tracker, domain)
        nothing = "utter_try_again_what" if intent == "try_again" else "utter_nothing_to_confirm"
        dispatcher.utter_message(response=nothing)
        return []


def _report_actions() -> List[type]:
    found, queue = [], list(ActionReportTask.__subclasses__())
    while queue:
        cls = queue.pop()
        queue += cls.__subclasses__()
        if not getattr(cls, "__abstractmethods__", None):
            found.append(cls)
    return found


def _unfinished_row(gate: Gate, tracker: Tracker) -> Optional[StagedAction]:
    row_id = text_slot(tracker, "gate_action_id")
    if row_id and not tracker.active_loop_name:
        row = gate.get(row_id)
        if row is not None and row.conversation_id == tracker.sender_id:
            confirmed = tracker.get_slot("gate_confirmation") is True
            # Confirmed, but Rasa lost the turn's events before the resolve ran: only for the
            # prompt shown last and only by its verified customer.
            owner = current_customer(tracker) == row.customer_id
            if row.status == ledger.AWAITING_CONFIRMATION and confirmed and owner:
                return row
            if row.status in (ledger.EXECUTING, ledger.UNKNOWN) or (
                confirmed and row.status in (ledger.SUCCEEDED, ledger.FAILED)
            ):
                return row
    return gate.unfinished(tracker.sender_id, since=utcnow() - gate.ttl)


class ActionLeaveForm(Action):
    """"Never mind" or goodbye: leave the current task with nothing staged."""

    def name(self) -> Text:
        return "action_leave_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        await abandon_open_gate(tracker)
        if (tracker.latest_message.get("intent") or {}).get("name") == "goodbye":
            dispatcher.utter_message(response="utter_goodbye")
        elif tracker.active_loop_name or text_slot(tracker, "gate_action_id"):
            dispatcher.utter_message(response="utter_left_form")
        else:
            dispatcher.utter_message(response="utter_anything_else")
        return [ActiveLoop(None)] + reset_events() + [SlotSet("pending_tasks", None), SlotSet("last_task", None)]


class ActionSessionStart(Action):
    """Starts a session; staged actions are never carried into a new one."""

    def name(self) -> Text:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        await abandon_open_gate(tracker)
        return [SessionStarted(), ActionExecuted("action_listen")]


def form_of(tracker: Tracker) -> Optional[str]:
    """The active form if it is a task's."""
    form = tracker.active_loop_name
    return form if task_for_form(form) else None
