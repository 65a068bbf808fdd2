"""Who may speak in a conversation, and who the customer is: what every customer channel checks.

- **Conversations belong to the client that opened them.** The web chat's session ids are issued
  by the server and signed (`issue_session_id` / `session_id_if_signed`): a client can resume
  its own session, never pick another's. The REST channel serves the shop's own backend and
  requires its credential (`REST_CHANNEL_TOKEN`, see `rest_token_ok`).
- **Logins are verified here and never stored.** A `customer_token` in the metadata is checked
  (`actions.identity.customer_token`) and replaced by `login: {customer_id, expires_at}`; a
  client's own `login` or `client_key` is dropped. A login is part of the conversation's id
  (`conversation_id`), so logging in, out or as someone else starts a fresh conversation.
- **Verification limits follow the end client**, not the conversation: `client_key` is an
  opaque keyed hash of the client (its address, or the shop backend's own client id) that the
  actions pass to the commerce API's per-client limit.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from typing import Any, Dict, Optional

from actions.identity.customer_token import METADATA_KEY, verified_claims
from actions.identity.login import LOGIN_KEY, login_claims

logger = logging.getLogger(__name__)

SESSION_SECRET_ENV = "SESSION_SIGNING_SECRET"
REST_TOKEN_ENV = "REST_CHANNEL_TOKEN"
CLIENT_KEY = "client_key"
# Metadata a client may not set itself: only this module writes them.
RESERVED_KEYS = (LOGIN_KEY, CLIENT_KEY)
SIGNATURE_CHARS = 22
_fallback_secret = secrets.token_urlsafe(32)


def _secret() -> bytes:
    secret = os.environ.get(SESSION_SECRET_ENV, "")
    if len(secret) < 16:
        # Sessions then only survive as long as this process: fine for a laptop, not for replicas.
        return _fallback_secret.encode()
    return secret.encode()


def _sign(value: str, purpose: str) -> str:
    digest = hmac.new(_secret(), f"{purpose}:{value}".encode(), hashlib.sha256).digest()
    return digest.hex()[:SIGNATURE_CHARS]


def issue_session_id() -> str:
    """A new web chat session id: random, with the server's signature ("<random>.<signature>")."""
    value = secrets.token_hex(16)
    return f"{value}.{_sign(value, 'session')}"


def session_id_if_signed(candidate: Any) -> Optional[str]:
    """The candidate if this server issued it (its signature checks out), else None."""
    if not isinstance(candidate, str) or len(candidate) > 128 or candidate.count(".") != 1:
        return None
    value, signature = candidate.split(".")
    if not value or not hmac.compare_digest(signature.encode(), _sign(value, "session").encode()):
        return None
    return candidate


def rest_token_ok(given: Optional[str]) -> bool:
    """Whether a REST request carries the shop backend's credential (no credential set: nobody may)."""
    expected = os.environ.get(REST_TOKEN_ENV, "")
    return bool(expected) and bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())


def client_key(client: str) -> str:
    """An opaque, stable key for one end client (never its address itself)."""
    return "client-" + _sign(client, "client")


def customer_metadata(raw: Any, *, client: str) -> Dict[str, Any]:
    """The metadata Rasa gets: the client's own minus reserved keys and the token, plus a verified login."""
    metadata = {key: value for key, value in (raw if isinstance(raw, dict) else {}).items()
                if key not in RESERVED_KEYS and key != METADATA_KEY}
    claims = verified_claims(raw.get(METADATA_KEY)) if isinstance(raw, dict) else None
    if claims is not None:
        metadata[LOGIN_KEY] = login_claims(*claims)
    metadata[CLIENT_KEY] = client_key(client)
    return metadata


def conversation_id(session: str, metadata: Dict[str, Any]) -> str:
    """The conversation a message belongs to: the session, and the customer logged in, if any.

    A login, a logout and a login as someone else each land in a conversation of their own, so no
    verification or staged action ever crosses from one to the other.
    """
    login = metadata.get(LOGIN_KEY)
    if isinstance(login, dict) and isinstance(login.get("customer_id"), str):
        return f"{session}~{_sign(login['customer_id'], 'login')[:12]}"
    return session


def session_of(conversation: str) -> str:
    """The session (Socket.IO room) a conversation id belongs to."""
    return conversation.split("~", 1)[0]
