"""The base of every task form: who the customer is, which order, the task's own questions, the gate.

Each turn the form reads the customer's message once and decides, in this order:

1. **Identity.** The conversation is verified once (email, or full name + zip/postcode, or a
   login); until then nothing about any order is looked up, and an order number or item named
   early is only remembered.
2. **The order** (for a task about one; a task about the account, `needs_order=False`, has none).
   An order number the customer gives (in the shop's format, where one is
   expected or clearly meant), or a description ("the last one", "the one with the chair"),
   chosen among the customer's own orders; anything else is "not on your account", the same
   answer whether the order exists or not. Changing the order abandons what was staged for the
   old one.
3. **The task's questions** (`take_answers`, `next_question` of the capability).
4. **The gate**, for forms that change an order: the prompt is staged and shown by
   `action_ask_gate_confirmation`; only a plain "yes" to exactly that prompt confirms it. A
   reply that also changes something (another item, reason, order) is the change: the row is
   re-staged and shown again.

A message that is not an answer to this form (another task, a question, "never mind", a person)
is rejected, so the rules can switch task or answer and come back. The form sets
`requested_slot` itself every turn.
"""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Pattern, Text

from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.api.commerce import get_commerce_client
from actions.api.errors import CommerceError, CommerceUnavailable, TooManyAttempts
from actions.common import blocking, text_slot
from actions.config import get_settings
from actions.dialogue.conversation import (
    GATE_SLOTS,
    PENDING_RETRY,
    abandon_open_gate,
    prompt_was_shown,
    reset_events,
)
from actions.dialogue.finding import items_mentioned, orders_described
from actions.dialogue.tasks import Task, task_for_intent
from actions.dialogue.turns import (
    ANSWER_INTENTS,
    LEAVE_INTENTS,
    QUESTION_INTENTS,
    SHOP_QUESTION_INTENTS,
    Turn,
    asks_something,
    is_fresh_user_turn,
    read_turn,
    unread_message,
)
from actions.gate import get_gate
from actions.handoffs import HANDOFF_REASON_REPEATED_FAILURE, record_handoff
from actions.identity.verification import (
    VIA_EMAIL,
    VIA_NAME,
    IdentityAnswer,
    client_key,
    current_customer,
    parse_identity,
    verification_events,
    verify,
)
from actions.shop.order_numbers import find_order_numbers
from actions.shop.profile import get_profile
from actions.shop.support_hours import when_someone_answers

logger = logging.getLogger(__name__)

# Never a name and postcode, however the words look ("yep, go ahead").
NOT_IDENTITY_INTENTS = frozenset({"affirm", "deny"})


def reads_as_identity(turn: Turn) -> bool:
    """Whether untagged words and a number at the identity question may be a name and a postcode.

    Not when NLU is sure the message is something else ("where is order 4523?" is not the name
    "where order" with the postcode 4523). Names are words NLU has never seen, so an unsure other
    intent ("Aarav Davis, 46233" read as out_of_scope at 0.43) does not stop them.
    """
    if turn.intent in NOT_IDENTITY_INTENTS:
        return False
    return turn.intent in ANSWER_INTENTS or not turn.confident()

Order = Dict[str, Any]
IDENTITY_QUESTIONS = ("customer_email", "customer_postal_code")
# A "yes" less sure than this is asked again rather than taken.
CONFIRMATION_CONFIDENCE = 0.8
# Another task that the words ask for too ("cancel", "where is") switches even from a free-text
# question at this confidence; below it the message is taken as the answer.
SWITCH_CONFIDENCE = 0.6
# A yes with a doubt in it ("yes?", "maybe", "I think so") is asked again too; so is a "no" that is
# only a doubt ("maybe, I think so"), while "no, maybe later" is a no.
CLEAR_NO = re.compile(r"\b(no|nope|nah|not|don'?t|do not|never|stop|cancel|wrong|leave it)\b", re.IGNORECASE)
HEDGED = re.compile(r"\?|\b(maybe|perhaps|not sure|unsure|i think|i guess|probably|hmm+|wait|if)\b", re.IGNORECASE)
# A yes that asks for a change ("yes, but put it on PayPal") which changed nothing the row holds
# could not be read: it is asked about, never taken as a yes to the prompt as shown.
ASKS_A_CHANGE = re.compile(r"\b(but|instead|rather|actually|except|make it|change|switch|swap|put it on)\b",
                           re.IGNORECASE)


class TurnContext:
    """One turn of a form: the message, the slots it changes, what the bot says."""

    def __init__(self, dispatcher: CollectingDispatcher, tracker: Tracker, turn: Turn, *,
                 reading: bool, activating: bool, requested: Optional[str]) -> None:
        self.dispatcher = dispatcher
        self.tracker = tracker
        self.turn = turn
        #: whether this turn's message is read (False when coming back after a digression)
        self.reading = reading
        self.activating = activating
        self.requested = requested
        self.changes: Dict[str, Any] = {}
        self.asked: Optional[str] = None
        self.finished = False
        #: handed over to a person: the bot stays quiet until the inbox hands the conversation back
        self.paused = False
        self._orders: Optional[List[Order]] = None

    # -- slots ---------------------------------------------------------------------------

    def get(self, name: str) -> Any:
        return self.changes[name] if name in self.changes else self.tracker.get_slot(name)

    def set(self, name: str, value: Any) -> None:
        self.changes[name] = value

    def changed(self, name: str) -> bool:
        return name in self.changes and self.changes[name] != self.tracker.get_slot(name)

    # -- what the bot does ---------------------------------------------------------------

    def say(self, response: Optional[str] = None, **kwargs: Any) -> None:
        if response:
            self.dispatcher.utter_message(response=response, **kwargs)
        else:
            self.dispatcher.utter_message(**kwargs)

    def ask(self, slot: str) -> None:
        """Ends the turn asking for `slot` (its `action_ask_*` or `utter_ask_*` runs next)."""
        self.asked = slot

    def finish(self) -> None:
        """Ends the form: every question is answered."""
        self.finished = True

    def halt(self) -> None:
        """Ends the form early (the order's state, a lock): nothing is done."""
        self.set("form_halted", True)
        self.finished = True

    @property
    def done(self) -> bool:
        return self.finished or self.asked is not None

    def events(self) -> List[Dict[Text, Any]]:
        slots = dict(self.changes)
        if self.finished:
            slots["requested_slot"] = None
        elif self.asked:
            slots["requested_slot"] = self.asked
            # Rasa rejects a form turn that sets no slot but requested_slot; the asked slot stays empty.
            slots.setdefault(self.asked, None)
        events: List[Dict[Text, Any]] = [SlotSet(name, value) for name, value in slots.items()]
        return events + [ConversationPaused()] if self.paused else events

    # -- the customer and their orders ---------------------------------------------------

    @property
    def customer(self) -> Optional[str]:
        if "customer_id" in self.changes:
            return self.changes["customer_id"]
        return current_customer(self.tracker)

    async def orders(self) -> List[Order]:
        """The verified customer's orders, newest first (one API call per turn)."""
        if self._orders is None:
            self._orders = await blocking(get_commerce_client().customer_orders, self.customer)
        return self._orders

    def unavailable(self, error: CommerceError) -> None:
        """Apologises for the commerce API; "try again" re-reads this message (never a failed answer)."""
        self.say("utter_commerce_unavailable")
        if isinstance(error, CommerceUnavailable) and self.reading:
            self.set(PENDING_RETRY, {"slot": self.requested, "text": self.turn.text})
        self.ask(self.requested or "customer_email")


class TaskFormValidation(FormValidationAction, ABC):
    """Identity, then the order, then the capability's questions, then (if gated) the gate."""

    #: the task this form carries out (registered with `actions.dialogue.tasks`)
    task: Task
    #: whether the form ends with the confirmation gate
    gated: bool = False
    #: questions whose answer is free text (any words can be the answer)
    free_text_questions: tuple = ()
    #: the capability's slots the staged row is built from (a change to one at the gate re-stages)
    staged_slots: tuple = ()
    #: words that name a staged value ("size", "PayPal"): an answer to the prompt with them that changed
    #: nothing could not be read ("yes, PayPal" without a PayPal account), so it is asked about, never a yes
    gate_words: Optional[Pattern[str]] = None

    @abstractmethod
    def name(self) -> Text:
        """`validate_<form name>`; abstract so the SDK does not register the base class."""

    # -- hooks of the capability ----------------------------------------------------------

    async def check_order(self, order: Order, ctx: TurnContext) -> bool:
        """Whether the task can go on for `order` (say why and return False if not)."""
        return True

    async def take_answers(self, order: Optional[Order], ctx: TurnContext) -> None:
        """Reads the capability's answers from the message into `ctx` (and checks them); no order for a
        task about the account."""

    def next_question(self, ctx: TurnContext) -> Optional[str]:
        """The capability's next unanswered slot, or None when all are answered."""
        return None

    def remember_mentions(self, ctx: TurnContext) -> None:
        """Keeps what the message says about the task (e.g. items) until the order is known."""

    def order_hint(self, ctx: TurnContext, text: str, orders: List[Order]) -> Optional[List[Order]]:
        """Orders the task's own words point to ("return the bottle": orders with a bottle)."""
        return None

    # -- the turn ------------------------------------------------------------------------

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
                  ) -> List[Dict[Text, Any]]:
        # Rasa may already have set the form active when it asks it to validate its first turn: a form
        # that has asked nothing yet is starting.
        activating = ((tracker.active_loop or {}).get("name") != self.form_name()
                      or text_slot(tracker, "requested_slot") is None)
        requested = None if activating else text_slot(tracker, "requested_slot")
        fresh = is_fresh_user_turn(tracker)
        turn = read_turn(tracker)
        pending = tracker.get_slot(PENDING_RETRY)
        queued = text_slot(tracker, "task_request") if activating else None
        if queued is not None:
            turn = read_turn(tracker, text=queued)  # a task asked for earlier, now begun
        elif fresh and turn.intent == "try_again" and isinstance(pending, dict) and pending.get("slot") == requested:
            turn = read_turn(tracker, text=str(pending.get("text") or ""))
        elif fresh and turn.intent == "try_again" and not activating:
            missed = unread_message(tracker, self.form_name())
            if missed is not None:
                turn = read_turn(tracker, text=missed)  # the answer the form never got to read
            else:
                fresh = False  # "try again" is no answer: the question is asked again
        if fresh and not activating and not self.takes(turn, requested, tracker):
            return []  # not an answer to this form: the rules take it
        ctx = TurnContext(dispatcher, tracker, turn, reading=fresh or activating, activating=activating,
                          requested=requested)
        if queued is not None:
            ctx.set("task_request", None)
        if pending is not None and ctx.reading:
            ctx.set(PENDING_RETRY, None)
        await self.converse(ctx)
        if not ctx.done:
            ctx.ask(requested or "customer_email")
        return ctx.events()

    def takes(self, turn: Turn, requested: Optional[str], tracker: Tracker) -> bool:
        """Whether the message answers this form (else it is another request, for the rules)."""
        if turn.neutralized:
            return True
        free_text = requested in self.free_text_questions or requested in IDENTITY_QUESTIONS
        intents = turn.intents
        if len(intents) > 1:
            return False
        intent = intents[0]
        if intent in ANSWER_INTENTS or intent in self.task.intents:
            return True
        if free_text and intent == "out_of_scope":
            return True  # "abc" for a postcode is a (wrong) answer, not a question for someone else
        if free_text and intent in SHOP_QUESTION_INTENTS and not asks_something(turn.text):
            return True  # "Canada" for the country is the answer, not the international-shipping question
        if intent in LEAVE_INTENTS or intent in QUESTION_INTENTS:
            return free_text and not turn.confident()
        other = task_for_intent(intent)
        if other is not None:
            # A change of an order that the words do not ask for never interrupts: "Sorry, I meant order
            # 4522" read as cancel_order is a correction, "back to my card" read as change_payment_method
            # answers the refund question.
            if other.changes_orders and not other.asked_for_in(turn.text):
                return True
            if other.asked_for_in(turn.text) and turn.confident(SWITCH_CONFIDENCE):
                return False  # "actually, can you cancel order 4522 instead": asked for in words
            return free_text and not turn.confident()
        return True

    async def converse(self, ctx: TurnContext) -> None:
        ctx.changes.update(verification_events(ctx.tracker))
        if not ctx.customer:
            await self.identify(ctx)
            if not ctx.customer:
                if ctx.reading:
                    self._remember_order_number(ctx)
                    self.remember_mentions(ctx)
                return
            if ctx.done:
                return
        order: Optional[Order] = None
        if self.task.needs_order:
            try:
                order = await self.find_order(ctx)
            except CommerceError as error:
                ctx.unavailable(error)
                return
            if ctx.done or order is None:
                if ctx.activating and ctx.reading:
                    self.remember_mentions(ctx)  # "...with my gift card instead", read once the order is known
                return
            if not await self.check_order(order, ctx):
                ctx.halt()
                return
        try:
            await self.take_answers(order, ctx)
        except CommerceError as error:
            ctx.unavailable(error)
            return
        if ctx.done:
            return
        question = self.next_question(ctx)
        if question:
            ctx.ask(question)
        elif self.gated:
            await self.confirm(ctx)
        else:
            ctx.finish()

    # -- 1. identity -----------------------------------------------------------------------

    async def identify(self, ctx: TurnContext) -> None:
        if ctx.get("identity_locked"):
            ctx.say("utter_verification_locked")
            ctx.halt()
            return
        asked = ctx.requested in IDENTITY_QUESTIONS
        pending_name = ctx.get("identity_name")
        if not ctx.reading:
            ctx.ask("customer_postal_code" if pending_name else "customer_email")
            return
        answer = parse_identity(ctx.turn.text, ctx.turn.entities)
        tagged_name = ctx.turn.entity_values("person_name")
        if not asked or not (tagged_name or reads_as_identity(ctx.turn)):
            # Unprompted, or a message that is something else ("where is order 4523?", "yep go ahead"):
            # only an email or an explicitly tagged name is taken ("I'm Jane Doe, 97201"), never words
            # and a number that only look like a name and a postcode.
            answer = IdentityAnswer(email=answer.email) if answer.email else (
                IdentityAnswer(name=answer.name, postal_code=answer.postal_code) if tagged_name else IdentityAnswer())
        if answer.email or (answer.name and answer.postal_code):
            details = answer
        elif pending_name and answer.postal_code:
            details = IdentityAnswer(name=pending_name, postal_code=answer.postal_code)
        elif answer.name and asked:
            ctx.set("identity_name", answer.name)
            ctx.ask("customer_postal_code")
            return
        elif asked and ctx.turn.intent in ANSWER_INTENTS:
            ctx.say("utter_postal_code_unclear" if pending_name else "utter_identity_unclear")
            await self.count_failed_attempt(ctx, "customer_postal_code" if pending_name else "customer_email")
            return
        else:
            ctx.ask("customer_postal_code" if pending_name else "customer_email")
            return
        await self.verify(ctx, details)

    async def verify(self, ctx: TurnContext, details: IdentityAnswer) -> None:
        try:
            customer = await blocking(verify, get_commerce_client(), details, client_key=client_key(ctx.tracker))
        except TooManyAttempts as error:
            ctx.set("identity_name", None)
            ctx.say("utter_verification_throttled", minutes=max(1, round(error.retry_after / 60)))
            ctx.halt()
            return
        except CommerceError as error:
            ctx.unavailable(error)
            return
        ctx.set("identity_name", None)  # a failed name is never kept; a verified one is not needed
        if customer:
            ctx.set("customer_id", customer)
            ctx.set("verified_via", VIA_EMAIL if details.email else VIA_NAME)
            ctx.set("verification_failures", 0)
            ctx.set("failed_attempts", 0)
            ctx.say("utter_verified")
            return
        failures = int(ctx.get("verification_failures") or 0) + 1
        ctx.set("verification_failures", failures)
        if failures >= get_settings().max_verification_failures:
            ctx.set("identity_locked", True)
            ctx.say("utter_verification_locked")
            ctx.halt()
            return
        ctx.say("utter_identity_mismatch")
        ctx.ask("customer_email")

    # -- 2. the order ----------------------------------------------------------------------

    def _remember_order_number(self, ctx: TurnContext) -> None:
        """An order named before verification is kept, unchecked, until the customer is known."""
        numbers = find_order_numbers(ctx.turn.text, expected=ctx.requested == "order_id")
        if numbers:
            ctx.set("order_mention", numbers[0])
        elif ctx.activating:
            ctx.set("task_words", ctx.turn.text)

    async def find_order(self, ctx: TurnContext) -> Optional[Order]:
        orders = await ctx.orders()
        by_id = {order["order_id"]: order for order in orders}
        current = text_slot(ctx.tracker, "order_id")
        mention = text_slot(ctx.tracker, "order_mention")
        if mention:
            ctx.set("order_mention", None)
        # The words the task was asked with, before the customer was verified ("cancel the pending one").
        asked_with = text_slot(ctx.tracker, "task_words")
        if asked_with:
            ctx.set("task_words", None)
        numbers = find_order_numbers(ctx.turn.text, expected=ctx.requested == "order_id") if ctx.reading else []
        if not numbers and mention:
            numbers = [mention]
        chosen: Optional[Order] = None
        if numbers:
            chosen = by_id.get(numbers[0])
            if chosen is None:
                # Not theirs, or no such order: the same answer either way.
                ctx.say("utter_order_not_on_account", order=get_profile().display_order(numbers[0]))
                ctx.set("order_choices", None)
                self._ask_for_order(ctx, orders)
                return None
        elif ctx.reading and (ctx.requested == "order_id" or ctx.activating):
            # A new task's own words choose its order ("return the scarf") over the one talked about before.
            chosen = self._order_from_description(ctx, orders, ctx.turn.text, asked=ctx.requested == "order_id")
            if ctx.done:
                return None
        elif asked_with and not current:
            chosen = self._order_from_description(ctx, orders, asked_with, asked=False)
            if ctx.done:
                return None
        if chosen is not None and current and chosen["order_id"] != current:
            await self.switch_order(ctx)
        if chosen is None and current in by_id:
            chosen = by_id[current]
        if chosen is None and len(orders) == 1:
            chosen = orders[0]
        if chosen is None:
            if not orders:
                ctx.say("utter_no_orders")
                ctx.halt()
                return None
            self._ask_for_order(ctx, orders)
            return None
        ctx.set("order_id", chosen["order_id"])
        ctx.set("order_choices", None)
        return chosen

    def _order_from_description(self, ctx: TurnContext, orders: List[Order], text: str, *, asked: bool
                                ) -> Optional[Order]:
        previous = text_slot(ctx.tracker, "last_order_id")
        described = orders_described(text, orders, exclude=[previous] if previous else [])
        hinted = self.order_hint(ctx, text, orders)
        if hinted is not None:
            described = [o for o in (described if described is not None else orders) if o in hinted] or hinted
        if described is None:
            if asked and ctx.turn.intent in ANSWER_INTENTS:
                ctx.say("utter_order_unclear")
                self._ask_for_order(ctx, orders)
            return None
        if len(described) == 1:
            return described[0]
        if not described:
            ctx.say("utter_no_matching_order")
            self._ask_for_order(ctx, orders)
            return None
        ctx.set("order_choices", [order["order_id"] for order in described])
        self._ask_for_order(ctx, described)
        return None

    def _ask_for_order(self, ctx: TurnContext, orders: List[Order]) -> None:
        ctx.ask("order_id")

    async def switch_order(self, ctx: TurnContext) -> None:
        """Another order: what was staged for the old one is abandoned, its answers forgotten."""
        await abandon_open_gate(ctx.tracker)
        for slot in self.task.slots + GATE_SLOTS:
            ctx.set(slot, None)

    # -- 4. the gate -------------------------------------------------------------------------

    def staged_values_changed(self, ctx: TurnContext) -> bool:
        return any(ctx.changed(slot) for slot in ("order_id",) + self.staged_slots)

    async def confirm(self, ctx: TurnContext) -> None:
        """Asks (stages and shows the prompt), or takes the answer to the prompt just shown."""
        if ctx.requested != "gate_confirmation" or not ctx.reading:
            ctx.set("gate_confirmation", None)
            ctx.ask("gate_confirmation")
            return
        turn = ctx.turn
        if self.staged_values_changed(ctx):
            # "Yes, but the scarf" / "no, store credit": the change, shown again — never a yes to the old prompt.
            ctx.set("gate_confirmation", None)
            ctx.ask("gate_confirmation")
            return
        if self.gate_words is not None and self.gate_words.search(turn.text or ""):
            ctx.say("utter_change_unclear")
            ctx.set("gate_confirmation", None)
            ctx.ask("gate_confirmation")  # the prompt again, as it stands
            return
        if turn.neutralized:
            ctx.say("utter_confirm_in_words")
        elif turn.intent == "try_again":
            pass  # the prompt again (it could not be made before), no complaint
        elif turn.intent == "deny" and (CLEAR_NO.search(turn.text) or not HEDGED.search(turn.text)):
            ctx.set("gate_confirmation", False)
            ctx.finish()
            return
        elif turn.intent == "affirm" and ASKS_A_CHANGE.search(turn.text):
            ctx.say("utter_change_unclear")
        elif (turn.intent == "affirm" and turn.confident(CONFIRMATION_CONFIDENCE) and not HEDGED.search(turn.text)
              and ctx.get("gate_confirmation") is True):
            row = await blocking(get_gate().open_row, text_slot(ctx.tracker, "gate_action_id"), ctx.tracker.sender_id)
            if row is None:
                ctx.say("utter_confirmation_expired")
                ctx.set("gate_action_id", None)
            elif not prompt_was_shown(ctx.tracker, row) or row.customer_id != ctx.customer:
                ctx.say("utter_confirm_again")
            else:
                ctx.set("gate_confirmation", True)
                ctx.finish()
                return
        else:
            ctx.say("utter_yes_or_no")
        ctx.set("gate_confirmation", None)
        ctx.ask("gate_confirmation")

    # -- failed answers ----------------------------------------------------------------------

    async def count_failed_attempt(self, ctx: TurnContext, slot: str) -> None:
        """Three failed answers to the same question: a person will do better."""
        attempts = int(ctx.get("failed_attempts") or 0) + 1
        if attempts < get_settings().max_failed_attempts:
            ctx.set("failed_attempts", attempts)
            ctx.ask(slot)
            return
        await abandon_open_gate(ctx.tracker)
        reference = await blocking(record_handoff, ctx.tracker.sender_id, HANDOFF_REASON_REPEATED_FAILURE,
                                   text_slot(ctx.tracker, "order_id"), ctx.customer)
        ctx.say("utter_handoff", reference=reference, when=when_someone_answers(get_profile()))
        # paused, nothing after this turn runs: the task ends here, so the bot comes back to a clean state
        for event in reset_events() + [SlotSet("pending_tasks", None)]:
            ctx.set(event["name"], event["value"])
        ctx.set("handoff_reference", reference)
        ctx.halt()
        ctx.paused = True

    def answered(self, ctx: TurnContext, slot: str) -> None:
        """An answer to `slot` was taken: the count of failed answers starts again."""
        if ctx.requested == slot:
            ctx.set("failed_attempts", 0)


def item_hint(text: str, orders: List[Order], *, statuses: tuple = ()) -> Optional[List[Order]]:
    """Orders (of the given statuses) with an item the text names, or None if it names none."""
    candidates = [o for o in orders if not statuses or o.get("status") in statuses]
    hits = [o for o in candidates if items_mentioned(text, o.get("items") or [])]
    return hits or None
