"""Fixtures of the ledger's migration tests: throw-away SQLite files and PostgreSQL databases."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Callable, Dict, Iterator, List

import psycopg2
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, inspect

from actions import ledger
from tests.conftest import POSTGRES_ADMIN_DSN

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture
def new_database(tmp_path: Path) -> Iterator[Callable[[str], str]]:
    """Makes empty databases: `new_database("sqlite")` or `new_database("postgresql")` -> URL."""
    created: List[str] = []

    def make(backend: str) -> str:
        name = f"ledger_migration_{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / name}.db"
        admin = _admin()
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        admin.close()
        created.append(name)
        return f"postgresql://postgres@127.0.0.1:5432/{name}"

    yield make
    if created:
        admin = _admin()
        with admin.cursor() as cursor:
            for name in created:
                cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def _admin():
    try:
        admin = psycopg2.connect(POSTGRES_ADMIN_DSN)
    except psycopg2.OperationalError as error:
        pytest.fail(f"PostgreSQL is not answering on 127.0.0.1:5432 ({error}); start it (see README)")
    admin.autocommit = True
    return admin


def differences(url: str, metadata: MetaData) -> list:
    """Alembic's autogenerate comparison of the database with `metadata` ([] when they agree)."""
    engine = create_engine(url, future=True)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={
                "compare_type": True, "compare_server_default": True, "version_table": ledger.VERSION_TABLE})
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def schema_of(url: str) -> Dict[str, dict]:
    """Every table as the database describes it (columns, keys, indexes), the version table left out."""
    engine = create_engine(url, future=True)
    try:
        inspector = inspect(engine)
        return {
            name: {
                "columns": sorted((c["name"], str(c["type"]), c["nullable"], str(c.get("default")))
                                  for c in inspector.get_columns(name)),
                "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
                "foreign_keys": sorted((tuple(fk["constrained_columns"]), fk["referred_table"],
                                        tuple(fk["referred_columns"])) for fk in inspector.get_foreign_keys(name)),
                "indexes": sorted((ix["name"], tuple(ix["column_names"]), bool(ix["unique"]))
                                  for ix in inspector.get_indexes(name)),
                "unique": sorted(tuple(u["column_names"]) for u in inspector.get_unique_constraints(name)),
            }
            for name in sorted(set(inspector.get_table_names()) - {ledger.VERSION_TABLE})
        }
    finally:
        engine.dispose()
