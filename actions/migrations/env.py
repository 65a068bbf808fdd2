"""Alembic's environment for the action ledger: one migrator at a time, each in one transaction.

Runs inside Alembic only, through `actions.ledger.migrate` (`python -m actions.migrations`, what
`make migrate` and the action server's start call). The database comes from the config's
attributes: a `connection` (used as it is), an `engine`, or a `url`; else ACTION_LEDGER_URL.
"""

from __future__ import annotations

from alembic import context

from actions import ledger

config = context.config


def record_applied(ctx, step, heads, run_args) -> None:
    if step.is_upgrade:
        config.attributes.setdefault("applied", []).append(step.up_revision_id)


def run_on(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=ledger.Base.metadata,
        version_table=ledger.VERSION_TABLE,
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
        from actions.config import get_settings

        engine = ledger.migration_engine(config.attributes.get("url") or get_settings().ledger_url)
    with engine.connect() as connection, ledger.migration_lock(connection):
        run_on(connection)


run()
