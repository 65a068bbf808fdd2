"""The support team's queue: conversations handed over to a person (ledger table `handoff_requests`).

Below every capability: identity hands over after repeated failures, the handoff capability on
request; both record here.
"""

from __future__ import annotations

from typing import Optional

from actions import ledger, telemetry
from actions.ledger import HandoffRequest

HANDOFF_REASON_REQUESTED = "customer_request"
HANDOFF_REASON_REPEATED_FAILURE = "repeated_failure"
HANDOFF_REASON_VERIFICATION_LOCKED = "verification_locked"


def record_handoff(conversation_id: str, reason: str, order_id: Optional[str]) -> str:
    """Queues the conversation for a person; returns the short reference the customer is given."""
    sessions = ledger.get_sessionmaker()
    request = HandoffRequest(id=ledger.new_id(), conversation_id=conversation_id, reason=reason, order_id=order_id)
    with sessions.begin() as session:
        session.add(request)
    telemetry.HANDOFFS.labels(reason).inc()
    return request.id[:8].upper()
