"""The action ledger: every change the assistant stages or makes to an order.

A row is written when an action is staged for confirmation and updated as it is
confirmed, declined, expired, executed or failed, so the table doubles as the
audit log of everything the assistant did. SQLite by default, PostgreSQL in
production (`ACTION_LEDGER_URL`). Rasa 3.6 pins SQLAlchemy 1.4, so the models use
the 1.4 declarative API rather than 2.0's `Mapped[...]`.

The schema is Alembic's (actions/migrations/): `migrate` brings a database to the head
revision under a lock, so replicas starting together apply each revision once. `make
migrate`, the action server's start and the first use of the ledger in a process run it.
A model change needs a revision beside it (docs/migrations.md).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Iterator, List, Optional

from sqlalchemy import JSON, Boolean, Column, DateTime, Index, String, Text, create_engine, event, false, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import declarative_base, sessionmaker
from sqlalchemy.pool import NullPool

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
    # When the customer's "yes" claimed it: a recovered execution may only run within the
    # confirmation's own lifetime after this (see gate_actions.recover_unfinished).
    confirmed_at = Column(DateTime, nullable=True)
    result = Column(JSON, nullable=True)
    error = Column(Text, nullable=True)
    # A person must look at it: confirmed, never finished in time, not executed (`make review`).
    needs_review = Column(Boolean, nullable=False, default=False, server_default=false())

    __table_args__ = (
        Index("ix_staged_actions_conversation", "conversation_id", "created_at"),
        Index("ix_staged_actions_order", "order_id"),
    )


class ConversationNotice(Base):
    """Something the customer must hear on their next turn: the outcome of a confirmed action
    that finished after they last heard from us (the recovery sweep), delivered by the channel."""

    __tablename__ = "conversation_notices"

    id = Column(String(32), primary_key=True, default=new_id)
    conversation_id = Column(String(255), nullable=False)
    text = Column(Text, nullable=False)
    staged_action_id = Column(String(32), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    delivered_at = Column(DateTime, nullable=True)

    __table_args__ = (Index("ix_conversation_notices_pending", "conversation_id", "delivered_at"),)


class HandoffRequest(Base):
    """A conversation handed over to a human, for the support team's queue."""

    __tablename__ = "handoff_requests"

    id = Column(String(32), primary_key=True, default=new_id)
    conversation_id = Column(String(255), nullable=False, index=True)
    reason = Column(String(64), nullable=False)
    order_id = Column(String(32), nullable=True)
    created_at = Column(DateTime, nullable=False, default=utcnow)
    # the verified customer at the time, if any (the inbox shows their orders)
    customer_id = Column(String(64), nullable=True)
    # set when a person hands the conversation back to the bot (null: still waiting)
    closed_at = Column(DateTime, nullable=True)
    closed_by = Column(String(64), nullable=True)

    __table_args__ = (Index("ix_handoff_requests_open", "closed_at", "created_at"),)


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

    The engine is created, and the database brought to the head revision (`migrate`), on
    first use, never at import.
    """
    from actions.config import get_settings

    url = url or get_settings().ledger_url
    engine = _engine_for(url)
    if _in_memory(url):
        # A private database of this process: migrated on the engine's own connection.
        with engine.connect() as connection:
            _run_alembic(connection=connection)
            connection.commit()
    elif importlib.util.find_spec("alembic") is not None:
        migrate(url)
    # else: a process without Alembic (the Rasa image, whose channels read the notices) uses the ledger as
    # the action servers, which have it and migrate before they serve, left it.
    return sessionmaker(bind=engine, future=True, expire_on_commit=False)


# --- the schema's revisions ---------------------------------------------------------------

# Alembic's env.py and versions/. No __init__.py there on purpose: the action server imports
# every module of the `actions` package at start, and env.py may only ever run inside Alembic.
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The ledger's own version table, so the ledger may share a database with the commerce API's.
VERSION_TABLE = "alembic_version_ledger"
# pg_advisory_lock key of the ledger's migrations (any fixed 64-bit number; the commerce API has another).
MIGRATION_LOCK_KEY = 0x4C454447455201  # "LEDGER" 1
# How long a migrator waits for another one (PostgreSQL lock_timeout, SQLite busy timeout).
MIGRATION_LOCK_TIMEOUT_SECONDS = 120


class LedgerSchemaError(RuntimeError):
    """The ledger database cannot be brought to this code's schema (says why and what to do)."""


def migrate(url: Optional[str] = None) -> List[str]:
    """Brings the ledger database at `url` (default: the configured one) to the head revision.

    Returns the revisions it applied, oldest first: [] when the database was already there.
    Safe to call from many processes at once: PostgreSQL queues them on an advisory lock and
    SQLite on its write lock (the migration is one BEGIN IMMEDIATE transaction); the first
    applies the revisions, the others then find the head revision and change nothing.
    """
    from actions.config import get_settings

    url = url or get_settings().ledger_url
    engine = migration_engine(url)
    try:
        with engine.connect() as connection:
            current = schema_revision(connection)
            connection.rollback()
        if current == head_revision():
            return []
        if current is not None and current not in known_revisions():
            raise LedgerSchemaError(
                f"the ledger database ({make_url(url)!r}) is at revision {current!r}, which this release does "
                f"not know (its newest is {head_revision()!r}): a newer release migrated it. Run that release, or "
                "downgrade the database with that release's migrations before starting this one.")
        return _run_alembic(engine=engine)
    finally:
        engine.dispose()


def schema_revision(connection: Connection) -> Optional[str]:
    """The revision the database is at (None: no ledger schema yet, or one made before migrations)."""
    from alembic.migration import MigrationContext

    _quiet_alembic()
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


# Alembic's `context` and `op` are module globals: one migration at a time per process (threads
# migrating together would otherwise run env.py inside each other's).
_ALEMBIC_IN_USE = threading.Lock()


@lru_cache(maxsize=None)
def _scripts():
    from alembic.script import ScriptDirectory

    with _ALEMBIC_IN_USE:
        scripts = ScriptDirectory(str(MIGRATIONS_DIR))
        scripts.get_current_head()  # loads the revision files once, in one thread
    return scripts


def head_revision() -> str:
    return _scripts().get_current_head()


def known_revisions() -> List[str]:
    return [script.revision for script in _scripts().walk_revisions()]


def alembic_config(**attributes):
    """Alembic's configuration for the ledger; env.py reads `url`, `engine` or `connection` from
    `attributes` (never from the ini options: ConfigParser would interpolate a % in a password)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s")  # versions/0003_what_it_does.py
    config.attributes.update(attributes)
    return config


def _run_alembic(**attributes) -> List[str]:
    from alembic import command

    _quiet_alembic()
    applied: List[str] = []
    with _ALEMBIC_IN_USE:
        command.upgrade(alembic_config(applied=applied, **attributes), "head")
    return applied


def _quiet_alembic() -> None:
    """Alembic's INFO lines (plugins, dialect) say nothing the callers' own "migrated: ..." line does not."""
    alembic_logs = logging.getLogger("alembic")
    if alembic_logs.level == logging.NOTSET:
        alembic_logs.setLevel(logging.WARNING)


def _in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and (
        parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed))


def migration_engine(url: str) -> Engine:
    """An engine for migrating: no pool (the PostgreSQL lock goes with its connection) and on
    SQLite every transaction BEGIN IMMEDIATE, so a migration holds the write lock from its start."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, future=True, poolclass=NullPool)
    if parsed.database and parsed.database != ":memory:":
        os.makedirs(os.path.dirname(os.path.abspath(parsed.database)), exist_ok=True)
    engine = create_engine(url, future=True, poolclass=NullPool,
                           connect_args={"check_same_thread": False, "timeout": MIGRATION_LOCK_TIMEOUT_SECONDS})

    @event.listens_for(engine, "connect")
    def _autocommit_driver(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # SQLAlchemy, not pysqlite, says when a transaction begins

    @event.listens_for(engine, "begin")
    def _begin_immediate(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """One migrator at a time. PostgreSQL: a session advisory lock, waited for at most
    MIGRATION_LOCK_TIMEOUT_SECONDS. SQLite: nothing here, the migration's transaction is the lock."""
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.exec_driver_sql(f"SET lock_timeout = '{MIGRATION_LOCK_TIMEOUT_SECONDS}s'")
    try:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    except OperationalError as error:
        raise LedgerSchemaError(
            f"another process has been migrating the ledger for over {MIGRATION_LOCK_TIMEOUT_SECONDS} s "
            "(PostgreSQL advisory lock held; see pg_locks where locktype = 'advisory')") from error
    connection.commit()
    yield
    # On an error the lock goes with the connection, which the NullPool engine really closes.
    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
    connection.commit()
