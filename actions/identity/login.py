"""A logged-in shopper, as the customer channel hands it over: never the token itself.

The shop's website signs a token naming the customer and the web chat sends it with every message.
The channel checks it (`actions.identity.customer_token`) and replaces it in the message's metadata
with `login: {customer_id, expires_at}`, dropping any `login` a client sent itself; the token is
never stored in the tracker, the event broker or an action call. The actions trust `login` only
while it is unexpired.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Dict, Optional

from rasa_sdk import Tracker

LOGIN_KEY = "login"


@dataclass(frozen=True)
class Login:
    customer_id: str
    expires_at: float


def login_claims(customer_id: str, expires_at: float) -> Dict[str, Any]:
    """What the channel puts in the metadata for a verified token."""
    return {"customer_id": customer_id, "expires_at": float(expires_at)}


def login_from_metadata(metadata: Any, *, now: Optional[float] = None) -> Optional[Login]:
    if not isinstance(metadata, dict):
        return None
    claims = metadata.get(LOGIN_KEY)
    if not isinstance(claims, dict):
        return None
    customer_id, expires_at = claims.get("customer_id"), claims.get("expires_at")
    if not isinstance(customer_id, str) or not customer_id or not isinstance(expires_at, (int, float)):
        return None
    if expires_at <= (time.time() if now is None else now):
        return None
    return Login(customer_id, float(expires_at))


def login_from_tracker(tracker: Tracker) -> Optional[Login]:
    return login_from_metadata(tracker.latest_message.get("metadata"))
