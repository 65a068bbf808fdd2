"""Identity: no order detail and no staged action before the customer is verified.

`OrderFormValidation` is the base of every form that works on one order. It
asks for the order number, verifies the customer through the commerce API's
verify endpoint (order number + the email on the order; the real email is never
echoed), locks verification after three failures, and only then lets the
capability look at the order (`after_verification`). Verification is per order
and remembered for the conversation in the `verified_orders` slot.

When the commerce API is unavailable while an answer is checked, the customer hears
an apology, the answer is kept in `pending_retry` and the form stays at that step;
"try again" checks the kept answer as if it had just been given (and with nothing
kept, asks the step's question again). An outage never counts as a failed answer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.api.commerce import get_commerce_client
from actions.api.errors import CommerceError, CommerceUnavailable, NotFound
from actions.common import (
    blocking,
    looks_like_email,
    parse_order_id,
    verified_customer,
    verified_orders,
)
from actions.config import get_settings
from actions.customer_token import customer_from_metadata
from actions.handoff import HANDOFF_REASON_REPEATED_FAILURE, hand_off

Slots = Dict[Text, Any]

# {"slot": ..., "value": ...}: an answer the commerce API was unavailable to check, kept for
# "try again" (or {"action": ...}: a report that failed, see action_resume_unfinished).
PENDING_RETRY = "pending_retry"
TRY_AGAIN_INTENT = "try_again"

# Free-text answers such as a postal code can look like an order number; while
# one of these is being asked, a number in the message is not a new order.
SLOTS_THAT_LOOK_LIKE_NUMBERS = {"address_street", "address_postal_code", "address_city"}


def slot_before_latest_message(tracker: Tracker, name: str) -> Any:
    """The value `name` had before the latest user message was processed."""
    seen_user_message = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user_message = True
            continue
        if seen_user_message and event.get("event") == "slot" and event.get("name") == name:
            return event.get("value")
    return None


def unavailable(dispatcher: CollectingDispatcher, slot: str, value: Any, error: CommerceError) -> Slots:
    """Apologises for the commerce API and keeps the answer it could not check, for "try again"."""
    dispatcher.utter_message(response="utter_commerce_unavailable")
    slots: Slots = {slot: None}
    if isinstance(error, CommerceUnavailable) and value is not None:
        slots[PENDING_RETRY] = {"slot": slot, "value": value}
    return slots


def is_try_again(tracker: Tracker) -> bool:
    return (tracker.latest_message.get("intent") or {}).get("name") == TRY_AGAIN_INTENT


class OrderFormValidation(FormValidationAction, ABC):
    """Order number and identity first, then the capability's own slots."""

    #: the capability's slots, asked in this order after verification
    capability_slots: tuple = ()
    #: whether the form ends with the confirmation gate
    gated: bool = False

    @abstractmethod
    def name(self) -> Text:
        """`validate_<form name>`; abstract so the SDK does not register the base class."""

    async def required_slots(
        self,
        domain_slots: List[Text],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> List[Text]:
        if tracker.get_slot("form_halted"):
            return []
        slots = ["order_id"]
        if not verified_customer(tracker, tracker.get_slot("order_id")):
            slots.append("customer_email")
        slots += list(self.capability_slots)
        if self.gated:
            slots.append("gate_confirmation")
        return slots

    async def after_verification(
        self, order: Dict[str, Any], dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Slots:
        """Checks the verified order's state; return `{"form_halted": True}` to stop."""
        return {}

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Dict[Text, Any]]:
        asked = tracker.get_slot("requested_slot")
        pending = tracker.get_slot(PENDING_RETRY)
        try_again = is_try_again(tracker)
        if try_again and isinstance(pending, dict) and pending.get("slot") == asked and asked:
            # Check the kept answer as if the customer had just given it again.
            tracker.slots[asked] = pending.get("value")
            tracker.events.append({"event": "slot", "name": asked, "value": pending.get("value")})
        self._recheck_unvalidated(tracker)
        # a typed slot read: a malformed call may carry any JSON as requested_slot
        answered = isinstance(asked, str) and asked in tracker.slots_to_validate()
        events = await super().run(dispatcher, tracker, domain)
        if any(e.get("event") == "slot" and e.get("name") == PENDING_RETRY for e in events):
            return events  # the API was unavailable again: not the customer's failed answer
        if try_again or (pending and answered):
            # Clearing it also keeps Rasa from rejecting the form on "try again": it asks again.
            events.append(SlotSet(PENDING_RETRY, None))
        if not asked or not answered or asked == "customer_email" or tracker.get_slot("form_halted"):
            return events
        if tracker.get_slot(asked) is not None:
            return events + [SlotSet("failed_attempts", 0)]
        return events + await self._count_failed_attempt(dispatcher, tracker, asked)

    def is_checked(self, slot: str, value: Any, tracker: Tracker) -> bool:
        """Whether `value` is what this form's validation leaves in `slot` (override per capability)."""
        if slot == "order_id":
            return parse_order_id(value) == value
        if slot == "customer_email":
            # kept only while the order number is unknown; otherwise verification consumed it
            order_id = tracker.get_slot("order_id")
            return not parse_order_id(order_id) or bool(verified_customer(tracker, order_id))
        return True

    def _recheck_unvalidated(self, tracker: Tracker) -> None:
        """Validates again answers that Rasa extracted but this form never validated.

        That happens when the action server was down or died while a message was handled:
        Rasa keeps the extracted slot values but drops the validation's events, so "it doesn't
        fit" would stay in `return_reason` instead of `wrong_size`.
        """
        candidates = tracker.slots_to_validate()
        stale = {
            slot: value for slot, value in tracker.slots.items()
            if slot in self.form_slots() and value is not None and slot not in candidates
            and not self.is_checked(slot, value, tracker)
        }
        for slot, value in stale.items():
            tracker.events.append({"event": "slot", "name": slot, "value": value})

    def form_slots(self) -> List[str]:
        return ["order_id", "customer_email", *self.capability_slots]

    async def _count_failed_attempt(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, asked: str
    ) -> List[Dict[Text, Any]]:
        attempts = int(tracker.get_slot("failed_attempts") or 0) + 1
        if attempts < get_settings().max_failed_attempts:
            return [SlotSet("failed_attempts", attempts)]
        # Three failed answers to the same question: a person will do better.
        events = await hand_off(dispatcher, tracker, HANDOFF_REASON_REPEATED_FAILURE)
        return events + [
            SlotSet("failed_attempts", 0),
            SlotSet("form_halted", True),
            SlotSet("requested_slot", None),
        ]

    # -- order number --------------------------------------------------------------------

    async def validate_order_id(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        previous = slot_before_latest_message(tracker, "order_id")
        if previous and tracker.get_slot("requested_slot") in SLOTS_THAT_LOOK_LIKE_NUMBERS:
            return {"order_id": previous}
        order_id = parse_order_id(value)
        if not order_id:
            dispatcher.utter_message(response="utter_invalid_order_id")
            return {"order_id": None}
        try:
            order = await blocking(get_commerce_client().get_order, order_id)
        except NotFound:
            dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
            return {"order_id": None}
        except CommerceError as error:
            return unavailable(dispatcher, "order_id", order_id, error)

        slots: Slots = {"order_id": order_id}
        if previous and previous != order_id:
            slots.update({slot: None for slot in self.capability_slots})
        tracker.slots.update(slots)
        if verified_customer(tracker, order_id):
            slots.update(await self.after_verification(order, dispatcher, tracker))
        elif self._logged_in_as_owner(order, tracker):
            slots.update(await self._mark_verified(order, (order.get("customer") or {})["id"], dispatcher, tracker))
        elif tracker.get_slot("identity_locked"):
            dispatcher.utter_message(response="utter_verification_locked")
            slots["form_halted"] = True
        elif looks_like_email(tracker.get_slot("customer_email")):
            slots.update(
                await self._verify(order, tracker.get_slot("customer_email"), dispatcher, tracker)
            )
        return slots

    # -- identity ------------------------------------------------------------------------

    async def validate_customer_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Slots:
        order_id = tracker.get_slot("order_id")
        if verified_customer(tracker, order_id):
            return {"customer_email": None}
        email = str(value or "").strip()
        if not looks_like_email(email):
            dispatcher.utter_message(response="utter_invalid_email")
            return {"customer_email": None}
        if not parse_order_id(order_id) or "order_id" in tracker.slots_to_validate():
            # The order number is unknown or validated in this same turn, which verifies.
            return {"customer_email": email}
        if tracker.get_slot("identity_locked"):
            dispatcher.utter_message(response="utter_verification_locked")
            return {"customer_email": None, "form_halted": True}
        order, failed = await self._ask_api(dispatcher, email, get_commerce_client().get_order, order_id)
        return failed if failed is not None else await self._verify(order, email, dispatcher, tracker)

    async def _verify(
        self, order: Dict[str, Any], email: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Slots:
        order_id = order["order_id"]
        customer_id, failed = await self._ask_api(
            dispatcher, email, get_commerce_client().verify_customer, order_id, email
        )
        if failed is not None:
            return failed
        if customer_id:
            return await self._mark_verified(order, customer_id, dispatcher, tracker)

        failures = int(tracker.get_slot("verification_failures") or 0) + 1
        if failures >= get_settings().max_verification_failures:
            dispatcher.utter_message(response="utter_verification_locked")
            return {
                "customer_email": None,
                "verification_failures": failures,
                "identity_locked": True,
                "form_halted": True,
            }
        dispatcher.utter_message(response="utter_email_mismatch", order_id=order_id)
        return {"customer_email": None, "verification_failures": failures}

    @staticmethod
    async def _ask_api(
        dispatcher: CollectingDispatcher, email: str, call: Any, order_id: str, *args: Any
    ) -> Tuple[Any, Optional[Slots]]:
        """(result, None), or (None, slots to reset) after telling the customer what failed."""
        try:
            return await blocking(call, order_id, *args), None
        except NotFound:
            dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
            return None, {"order_id": None, "customer_email": None}
        except CommerceError as error:
            return None, unavailable(dispatcher, "customer_email", email, error)

    async def _mark_verified(
        self, order: Dict[str, Any], customer_id: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Slots:
        verified = verified_orders(tracker)
        verified[order["order_id"]] = customer_id
        slots: Slots = {"customer_email": None, "verified_orders": verified, "verification_failures": 0}
        tracker.slots.update(slots)
        dispatcher.utter_message(response="utter_verified", order_id=order["order_id"])
        slots.update(await self.after_verification(order, dispatcher, tracker))
        return slots

    @staticmethod
    def _logged_in_as_owner(order: Dict[str, Any], tracker: Tracker) -> bool:
        """A valid signed token in this message names the order's customer."""
        customer = customer_from_metadata(tracker.latest_message.get("metadata"))
        return bool(customer) and customer == (order.get("customer") or {}).get("id")
