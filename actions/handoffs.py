"""The support team's queue: conversations handed over to a person (ledger table `handoff_requests`).

Below every capability: identity hands over after repeated failures, the handoff capability on
request; both record here. A request stays open until a person hands the conversation back to
the bot from the agent inbox (shop_channels.inbox), which reads and closes it here. A shop that
works in its own helpdesk sets HANDOFF_WEBHOOK_URL: every handoff is also posted there, signed
(docs/handoff.md); the inbox keeps the queue either way, so a helpdesk that is down loses nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, Dict, List, Optional

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy import select, update
from urllib3.util.retry import Retry

from actions import ledger, telemetry
from actions.config import get_settings
from actions.ledger import HandoffRequest, utcnow

logger = logging.getLogger(__name__)

HANDOFF_REASON_REQUESTED = "customer_request"
HANDOFF_REASON_REPEATED_FAILURE = "repeated_failure"
HANDOFF_REASON_VERIFICATION_LOCKED = "verification_locked"
WEBHOOK_EVENT = "handoff.requested"
SIGNATURE_HEADER = "X-Assistant-Signature"
WEBHOOK_TIMEOUT_SECONDS = (2.0, 5.0)  # connect, read


@dataclass(frozen=True)
class Handoff:
    """One open (or closed) request, as the inbox lists it."""

    reference: str
    conversation_id: str
    reason: str
    order_id: Optional[str]
    customer_id: Optional[str]
    created_at: datetime
    closed_at: Optional[datetime]
    closed_by: Optional[str]


def reference_of(request_id: str) -> str:
    """The short reference the customer is given (and quotes to the team)."""
    return request_id[:8].upper()


def record_handoff(conversation_id: str, reason: str, order_id: Optional[str],
                   customer_id: Optional[str] = None) -> str:
    """Queues the conversation for a person; returns the short reference the customer is given."""
    sessions = ledger.get_sessionmaker()
    request = HandoffRequest(id=ledger.new_id(), conversation_id=conversation_id, reason=reason,
                             order_id=order_id, customer_id=customer_id, created_at=utcnow())
    with sessions.begin() as session:
        session.add(request)
    telemetry.HANDOFFS.labels(reason).inc()
    _notify_helpdesk(request)
    return reference_of(request.id)


def _as_handoff(row: HandoffRequest) -> Handoff:
    return Handoff(reference=reference_of(row.id), conversation_id=row.conversation_id, reason=row.reason,
                   order_id=row.order_id, customer_id=row.customer_id, created_at=row.created_at,
                   closed_at=row.closed_at, closed_by=row.closed_by)


def waiting_handoffs(limit: int = 200, *, ledger_url: Optional[str] = None) -> List[Handoff]:
    """Open requests, oldest first: one per conversation (its first open request)."""
    sessions = ledger.get_sessionmaker(ledger_url)
    with sessions() as session:
        rows = session.scalars(
            select(HandoffRequest).where(HandoffRequest.closed_at.is_(None))
            .order_by(HandoffRequest.created_at).limit(limit * 4)
        ).all()
    first: Dict[str, Handoff] = {}
    for row in rows:
        first.setdefault(row.conversation_id, _as_handoff(row))
    return list(first.values())[:limit]


def conversation_handoffs(conversation_id: str, *, ledger_url: Optional[str] = None) -> List[Handoff]:
    """Every request of one conversation, oldest first."""
    sessions = ledger.get_sessionmaker(ledger_url)
    with sessions() as session:
        rows = session.scalars(
            select(HandoffRequest).where(HandoffRequest.conversation_id == conversation_id)
            .order_by(HandoffRequest.created_at)
        ).all()
    return [_as_handoff(row) for row in rows]


def close_handoffs(conversation_id: str, closed_by: str, *, ledger_url: Optional[str] = None) -> int:
    """Marks the conversation's open requests handed back; returns how many were open."""
    sessions = ledger.get_sessionmaker(ledger_url)
    with sessions.begin() as session:
        return session.execute(
            update(HandoffRequest)
            .where(HandoffRequest.conversation_id == conversation_id, HandoffRequest.closed_at.is_(None))
            .values(closed_at=utcnow(), closed_by=closed_by)
            .execution_options(synchronize_session=False)
        ).rowcount


# -- the shop's helpdesk -------------------------------------------------------------------------

def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`: the receiver checks both (docs/handoff.md)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def webhook_payload(request: HandoffRequest) -> Dict[str, Any]:
    return {
        "event": WEBHOOK_EVENT,
        "reference": reference_of(request.id),
        "conversation_id": request.conversation_id,
        "reason": request.reason,
        "order_id": request.order_id,
        "customer_id": request.customer_id,
        "requested_at": request.created_at.isoformat() + "Z",
    }


@lru_cache(maxsize=1)
def _webhook_session() -> requests.Session:
    session = requests.Session()
    retry = Retry(total=2, backoff_factor=0.5, status_forcelist=(429, 500, 502, 503, 504),
                  allowed_methods=frozenset({"POST"}))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    return session


@lru_cache(maxsize=1)
def _webhook_sender() -> ThreadPoolExecutor:
    # the customer's reply does not wait for the helpdesk; the inbox has the request already
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="handoff-webhook")


def post_to_helpdesk(url: str, secret: str, payload: Dict[str, Any]) -> bool:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, int(time.time()), body)
    try:
        response = _webhook_session().post(url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as error:
        telemetry.HANDOFF_WEBHOOKS.labels("failed").inc()
        logger.warning("The helpdesk webhook did not take handoff %s: %s", payload["reference"], error)
        return False
    telemetry.HANDOFF_WEBHOOKS.labels("sent").inc()
    return True


def _notify_helpdesk(request: HandoffRequest) -> None:
    settings = get_settings()
    if settings.handoff_webhook_url:
        _webhook_sender().submit(post_to_helpdesk, settings.handoff_webhook_url,
                                 settings.handoff_webhook_secret, webhook_payload(request))
