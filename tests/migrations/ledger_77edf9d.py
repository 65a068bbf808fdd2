# The action ledger as the last release before migrations shipped it: `git show 77edf9d:actions/ledger.py`,
# verbatim. The migration tests build "a database that release made" with its create_all.
"""The action ledger: every change the assistant stages or makes to an order.

A row is written when an action is staged for confirmation and updated as it is
confirmed, declined, expired, executed or failed, so the table doubles as the
audit log of everything the assistant did. SQLite by default, PostgreSQL in
production (`ACTION_LEDGER_URL`). Rasa 3.6 pins SQLAlchemy 1.4, so the models use
the 1.4 declarative API rather than 2.0's `Mapped[...]`.
"""

from __future__ import annotations

import os
import uuid
from datetime import datetime, timezone
from functools import lru_cache
from typing import Optional

from sqlalchemy import JSON, Column, DateTime, Index, String, Text, create_engine
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.orm import declarative_base, sessionmaker

Base = declarative_base()

AWAITING_CONFIRMATION = "awaiting_confirmation"
EXECUTING = "executing"
SUCCEEDED = "succeeded"
FAILED = "failed"
DECLINED = "declined"
EXPIRED = "expired"
ABANDONED = "abandoned"
# An execution whose outcome we could not learn (the API never answered). The row
# keeps its idempotency key, so retrying it can never act twice.
UNKNOWN = "outcome_unknown"


def utcnow() -> datetime:
    """Naive UTC now: SQLite has no time zones, so every timestamp is naive UTC."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def new_id() -> str:
    return uuid.uuid4().hex


class StagedAction(Base):
    """One destructive action, from staging to its outcome."""

    __tablename__ = "staged_actions"

    id = Column(String(32), primary_key=True, default=new_id)
    conversation_id = Column(String(255), nullable=False)
    customer_id = Column(String(64), nullable=False)
    order_id = Column(String(32), nullable=False)
    action_name = Column(String(64), nullable=False)
    arguments = Column(JSON, nullable=False)
    summary = Column(Text, nullable=False)
    # What stays once the row is final: personal data (a new address) masked.
    audit_summary = Column(Text, nullable=False)
    redacted_arguments = Column(JSON, nullable=False)
    status = Column(String(32), nullable=False, default=AWAITING_CONFIRMATION)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    updated_at = Column(DateTime, nullable=False, default=utcnow)
    expires_at = Column(DateTime, nullable=False)
    result = Column(JSON, nullable=True)
    error = Column(Text, nullable=True)

    __table_args__ = (
        Index("ix_staged_actions_conversation", "conversation_id", "created_at"),
        Index("ix_staged_actions_order", "order_id"),
    )


class HandoffRequest(Base):
    """A conversation handed over to a human, for the support team's queue."""

    __tablename__ = "handoff_requests"

    id = Column(String(32), primary_key=True, default=new_id)
    conversation_id = Column(String(255), nullable=False, index=True)
    reason = Column(String(64), nullable=False)
    order_id = Column(String(32), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)


def _engine_for(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
        # Several worker threads share the file; wait for a lock instead of failing.
        return create_engine(url, future=True, connect_args={"check_same_thread": False, "timeout": 30})
    return create_engine(url, future=True, pool_pre_ping=True, pool_size=10, max_overflow=10)


@lru_cache(maxsize=None)
def get_sessionmaker(url: Optional[str] = None) -> sessionmaker:
    """A session factory for the ledger at `url` (default: the configured one).

    The engine is created and the schema ensured on first use, never at import.
    """
    from actions.config import get_settings

    engine = _engine_for(url or get_settings().ledger_url)
    for attempt in range(3):
        try:
            Base.metadata.create_all(engine)
            break
        except (IntegrityError, ProgrammingError):
            # Another action server created a table or index at the same moment (PostgreSQL
            # refuses the second CREATE); the next look finds it and creates what is left.
            if attempt == 2:
                raise
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)
