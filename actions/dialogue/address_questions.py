"""Asking for an address, shared by every form that collects one (an order's, the account's saved one).

Street, city, country, state (where the country's addresses need one) and postal code, one at a
time or all of them in one line; each part is checked as it comes (`actions.shop.addresses`), so the
customer fixes a typo before the confirmation instead of after it. A "yes," or "ok," in front of an
address ("yes, 12 New Road, ...") is the customer agreeing to be asked, never part of the street.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Optional

from actions.dialogue.task_form import TurnContext
from actions.shop.addresses import (
    clean_city,
    clean_postal_code,
    clean_street,
    country_code,
    needs_state,
    normalize_country,
    normalize_state,
    postal_code_valid,
    split_one_line,
)
from actions.shop.profile import get_profile

ADDRESS_SLOTS = ("address_street", "address_city", "address_country", "address_state", "address_postal_code")
# Words in front of the address itself: "yes, 12 New Road", "sure: 12 New Road", "no, it's 12 New Road".
# "no", "actually", "sorry" only with punctuation after them ("no, ..."), so a street is never cut.
LEAD_IN = re.compile(
    r"^\s*(?:(?:yes|yeah|yep|yup|sure|ok|okay|alright|of course|please)\b[\s,.:;!-]*|"
    r"(?:no|nope|actually|sorry)\s*[,.:;!-]+\s*|"
    r"(?:it'?s|it is|that'?s|that is|my new address is|the new address is|new address(?: is)?)\b[\s,.:;-]*)+",
    re.IGNORECASE,
)


def address_words(text: str) -> str:
    """The message without the words in front of the address ("yes, 12 New Road" → "12 New Road")."""
    return LEAD_IN.sub("", str(text or ""), count=1).strip()


class AddressQuestions:
    """The address part of a task form (mixed into a `TaskFormValidation`): its questions and answers.

    The form keeps its own hooks (which order, if any; what the gate stages); this mixin reads the
    address slots from the message and says which one to ask for next.
    """

    free_text_questions = ADDRESS_SLOTS
    staged_slots = ADDRESS_SLOTS

    def next_address_question(self, ctx: TurnContext) -> Optional[str]:
        for slot in ("address_street", "address_city", "address_country"):
            if not ctx.get(slot):
                return slot
        if needs_state(ctx.get("address_country")) and not ctx.get("address_state"):
            return "address_state"
        return None if ctx.get("address_postal_code") else "address_postal_code"

    def next_question(self, ctx: TurnContext) -> Optional[str]:
        return self.next_address_question(ctx)

    async def take_address(self, ctx: TurnContext) -> None:
        """Reads an answer to an address question, or an address given at the confirmation (a change)."""
        if not ctx.reading or ctx.requested not in ADDRESS_SLOTS + ("gate_confirmation",):
            return
        text = address_words(ctx.turn.text)
        parts = split_one_line(text)
        if parts:
            self._take_parts(parts, ctx)
        elif ctx.requested in ADDRESS_SLOTS:
            self._take_one(ctx.requested, text, ctx)
        if ctx.requested in ADDRESS_SLOTS and not ctx.get(ctx.requested) and not ctx.done:
            await self.count_failed_attempt(ctx, self.next_question(ctx) or ctx.requested)  # type: ignore[attr-defined]

    async def take_answers(self, order: Any, ctx: TurnContext) -> None:
        await self.take_address(ctx)

    def _take_one(self, slot: str, text: str, ctx: TurnContext) -> None:
        if slot == "address_street":
            value = clean_street(text)
            ctx.set(slot, value) if value else ctx.say("utter_invalid_street")
        elif slot == "address_city":
            value = clean_city(text)
            ctx.set(slot, value) if value else ctx.say("utter_invalid_city")
        elif slot == "address_country":
            self._take_country(text, ctx)
        elif slot == "address_state":
            value = normalize_state(text, ctx.get("address_country"))
            ctx.set(slot, value) if value else ctx.say("utter_invalid_state")
        elif slot == "address_postal_code":
            value = clean_postal_code(text)
            country = ctx.get("address_country")
            if value and (not country or postal_code_valid(value, country)):
                ctx.set(slot, value)
            else:
                ctx.say("utter_invalid_postal_code", country=country or "your country")
        if ctx.get(slot):
            self.answered(ctx, slot)  # type: ignore[attr-defined]

    def _take_country(self, text: str, ctx: TurnContext) -> None:
        country = normalize_country(text)
        if country is None:
            ctx.say("utter_unsupported_country", countries=get_profile().country_names()) if country_code(text) \
                else ctx.say("utter_invalid_country", countries=get_profile().country_names())
            return
        ctx.set("address_country", country)
        postal_code = ctx.get("address_postal_code")
        if postal_code and not postal_code_valid(postal_code, country):
            ctx.say("utter_invalid_postal_code", country=country)
            ctx.set("address_postal_code", None)
        state = ctx.get("address_state")
        if state and needs_state(country) and not normalize_state(state, country):
            ctx.set("address_state", None)

    def _take_parts(self, parts: Dict[str, str], ctx: TurnContext) -> None:
        """Keeps every valid part of a one-line address; the form asks for the rest."""
        for slot, clean in (("address_street", clean_street), ("address_city", clean_city)):
            value = clean(parts.get(slot))
            if value:
                ctx.set(slot, value)
        if parts.get("address_country"):
            self._take_country(parts["address_country"], ctx)
        country = ctx.get("address_country")
        if parts.get("address_state") and country:
            state = normalize_state(parts["address_state"], country)
            if state:
                ctx.set("address_state", state)
        postal_code = clean_postal_code(parts.get("address_postal_code"))
        if postal_code and (not country or postal_code_valid(postal_code, country)):
            ctx.set("address_postal_code", postal_code)
        elif postal_code:
            ctx.say("utter_invalid_postal_code", country=country)


def address_from_slots(tracker: Any) -> Dict[str, Optional[str]]:
    """The address the form collected, in the commerce API's fields (without a name)."""
    return {field: tracker.get_slot(f"address_{field}") for field in ("street", "city", "state", "postal_code",
                                                                      "country")}
