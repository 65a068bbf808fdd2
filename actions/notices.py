"""Messages owed to a conversation: told to the customer at the start of their next turn.

The recovery sweep finishes a confirmed action after the customer stopped hearing from us (the
action server died between their "yes" and the answer). Its outcome is written here and the
customer channel delivers it before the bot answers the customer's next message, so nobody
learns of a change to their order only by finding it.
"""

from __future__ import annotations

from typing import List, Optional

from sqlalchemy import select, update

from actions import ledger
from actions.ledger import ConversationNotice, utcnow


def leave_notice(conversation_id: str, text: str, *, staged_action_id: Optional[str] = None,
                 ledger_url: Optional[str] = None) -> None:
    sessions = ledger.get_sessionmaker(ledger_url)
    with sessions.begin() as session:
        session.add(ConversationNotice(id=ledger.new_id(), conversation_id=conversation_id, text=text,
                                       staged_action_id=staged_action_id, created_at=utcnow()))


def take_notices(conversation_id: str, *, ledger_url: Optional[str] = None) -> List[str]:
    """The conversation's undelivered notices, oldest first, marked delivered (each is given once)."""
    sessions = ledger.get_sessionmaker(ledger_url)
    with sessions.begin() as session:
        rows = list(session.scalars(
            select(ConversationNotice)
            .where(ConversationNotice.conversation_id == conversation_id,
                   ConversationNotice.delivered_at.is_(None))
            .order_by(ConversationNotice.created_at)
        ))
        delivered = []
        for row in rows:
            # Conditional on still undelivered: of two replicas handling the same turn only one delivers it.
            taken = session.execute(
                update(ConversationNotice)
                .where(ConversationNotice.id == row.id, ConversationNotice.delivered_at.is_(None))
                .values(delivered_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken:
                delivered.append(row.text)
        return delivered
