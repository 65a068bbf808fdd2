"""Alembic's environment for the commerce API: one migrator at a time, each in one transaction.

Runs inside Alembic only, through `commerce_api.db.migrate` (`python -m commerce_api.migrations`, what
`make migrate`, the API's start and seeding call). The database comes from the config's attributes: a
`connection` (used as it is), an `engine`, or a `url`; else COMMERCE_DATABASE_URL.
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

from commerce_api import db
from commerce_api.models import Base

config = context.config


def record_applied(*, step: Any, **_others: Any) -> None:  # Alembic passes ctx, step, heads, run_args
    if step.is_upgrade:
        config.attributes.setdefault("applied", []).append(step.up_revision_id)


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        version_table=db.VERSION_TABLE,
        # SQLite runs DDL in transactions too; there that transaction (BEGIN IMMEDIATE) is the lock.
        transactional_ddl=True,
        # new revisions alter tables in batch mode, which SQLite needs (it copies the table)
        render_as_batch=True,
        on_version_apply=record_applied,
    )
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    if config.attributes.get("connection") is not None:
        run_on(config.attributes["connection"])
        return
    engine = config.attributes.get("engine")
    if engine is None:
        from commerce_api.settings import Settings

        engine = db.migration_engine(config.attributes.get("url") or Settings.from_env().database_url)
    with engine.connect() as connection, db.migration_lock(connection):
        run_on(connection)


run()
