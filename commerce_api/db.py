"""Database access: a lazily created SQLAlchemy engine and session factory for SQLite or PostgreSQL.

The schema is Alembic's (commerce_api/migrations/): `migrate` brings a database to the head revision
under a lock, so API replicas starting together apply each revision once. `make migrate`, the API's start
and seeding run it. A model change needs a revision beside it (docs/migrations.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

SQLITE_BUSY_TIMEOUT_S = 15  # writers queue behind each other instead of failing with "database is locked"
PG_CONNECT_TIMEOUT_S = 5
PG_STATEMENT_TIMEOUT_MS = 15_000

# Alembic's env.py and versions/ (env.py only ever runs inside Alembic).
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# The API's own version table, so its tables may share a database with the action ledger's.
VERSION_TABLE = "alembic_version_commerce"
# pg_advisory_lock key of the API's migrations (any fixed 64-bit number; the ledger has another).
MIGRATION_LOCK_KEY = 0x434F4D4D455201  # "COMMER" 1
# How long a migrator waits for another one (PostgreSQL lock_timeout, SQLite busy timeout).
MIGRATION_LOCK_TIMEOUT_S = 120


class SchemaError(RuntimeError):
    """The database cannot be brought to this code's schema (the message says why and what to do)."""


class Database:
    """Owns one engine; nothing connects until the first session is opened."""

    def __init__(self, url: str):
        self.url = url
        self._engine: Engine | None = None
        self._sessions: sessionmaker[Session] | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    self._engine = _build_engine(self.url)
                    self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        return self._engine

    @property
    def is_sqlite(self) -> bool:
        return make_url(self.url).get_backend_name() == "sqlite"

    def session(self) -> Session:
        _ = self.engine
        assert self._sessions is not None
        return self._sessions()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on any exception."""
        with self.session() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def migrate(self) -> list[str]:
        """Brings the database to the head revision; returns the revisions applied ([] if it was there)."""
        if _in_memory(self.url):
            # A private database of this process: migrated on the engine's own connection.
            with self.engine.connect() as connection:
                applied = _run_alembic(connection=connection)
                connection.commit()
            return applied
        with self.engine.connect() as connection:  # the common case, on a pooled connection: already at head
            if schema_revision(connection) == head_revision():
                return []
        return migrate(self.url)

    def create_schema(self) -> None:
        """The schema at the head revision (the name of the `create_all` days; same as `migrate`)."""
        self.migrate()

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def migrate(url: str) -> list[str]:
    """Brings the database at `url` to the head revision; returns the revisions it applied, oldest first.

    Safe to call from many processes at once: PostgreSQL queues them on an advisory lock and SQLite on
    its write lock (the migration is one BEGIN IMMEDIATE transaction); the first applies the revisions,
    the others then find the head revision and change nothing.
    """
    engine = migration_engine(url)
    try:
        with engine.connect() as connection:
            current = schema_revision(connection)
            connection.rollback()
        if current == head_revision():
            return []
        if current is not None and current not in known_revisions():
            raise SchemaError(
                f"the commerce database ({make_url(url)!r}) is at revision {current!r}, which this release does not "
                f"know (its newest is {head_revision()!r}): a newer release migrated it. Run that release, or "
                "downgrade the database with that release's migrations before starting this one."
            )
        return _run_alembic(engine=engine)
    finally:
        engine.dispose()


def schema_revision(connection: Connection) -> str | None:
    """The revision the database is at (None: no schema yet, or one made before migrations)."""
    from alembic.migration import MigrationContext

    _quiet_alembic()
    return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()


# Alembic's `context` and `op` are module globals: one migration at a time per process (threads
# migrating together would otherwise run env.py inside each other's).
_ALEMBIC_IN_USE = threading.Lock()


@cache
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    with _ALEMBIC_IN_USE:
        scripts = ScriptDirectory(str(MIGRATIONS_DIR))
        scripts.get_current_head()  # loads the revision files once, in one thread
    return scripts


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None
    return head


def known_revisions() -> list[str]:
    return [script.revision for script in _scripts().walk_revisions()]


def alembic_config(**attributes: Any) -> Config:
    """Alembic's configuration for the API; env.py reads `url`, `engine` or `connection` from `attributes`
    (never from the ini options: ConfigParser would interpolate a % in a password)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s")  # versions/0003_what_it_does.py
    config.attributes.update(attributes)
    return config


def _run_alembic(**attributes: Any) -> list[str]:
    from alembic import command

    _quiet_alembic()
    applied: list[str] = []
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
        parsed.database in (None, "", ":memory:") or "mode=memory" in str(parsed)
    )


def migration_engine(url: str) -> Engine:
    """An engine for migrating: no pool (the PostgreSQL lock goes with its connection), no statement timeout
    (waiting for the lock is bounded by lock_timeout instead); SQLite as the API's own, BEGIN IMMEDIATE."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_timeout_s=MIGRATION_LOCK_TIMEOUT_S, poolclass=NullPool)
    return create_engine(
        _postgres_url(parsed), poolclass=NullPool, connect_args={"connect_timeout": PG_CONNECT_TIMEOUT_S}
    )


@contextmanager
def migration_lock(connection: Connection) -> Iterator[None]:
    """One migrator at a time. PostgreSQL: a session advisory lock, waited for at most MIGRATION_LOCK_TIMEOUT_S.
    SQLite: nothing here, the migration's own transaction (BEGIN IMMEDIATE) is the lock."""
    if connection.dialect.name != "postgresql":
        yield
        return
    connection.exec_driver_sql(f"SET lock_timeout = '{MIGRATION_LOCK_TIMEOUT_S}s'")
    try:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    except OperationalError as exc:
        raise SchemaError(
            f"another process has been migrating the commerce database for over {MIGRATION_LOCK_TIMEOUT_S} s "
            "(PostgreSQL advisory lock held; see pg_locks where locktype = 'advisory')"
        ) from exc
    connection.commit()
    yield
    # On an error the lock goes with the connection, which the NullPool engine really closes.
    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
    connection.commit()


def _postgres_url(parsed: URL) -> URL:
    if parsed.drivername == "postgresql":
        return parsed.set(drivername="postgresql+psycopg")  # psycopg 3 rather than psycopg2
    return parsed


def _build_engine(url: str) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        return create_engine(
            _postgres_url(parsed),
            pool_pre_ping=True,
            pool_size=10,
            max_overflow=10,
            pool_timeout=10,
            connect_args={
                "connect_timeout": PG_CONNECT_TIMEOUT_S,
                "options": f"-c statement_timeout={PG_STATEMENT_TIMEOUT_MS}",
            },
        )
    raise ValueError(f"unsupported database backend {backend!r}; use sqlite or postgresql")


def _sqlite_engine(url: str, *, busy_timeout_s: float = SQLITE_BUSY_TIMEOUT_S, **options: Any) -> Engine:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout_s, "check_same_thread": False}, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy (not pysqlite) issue BEGIN, so every transaction can be BEGIN IMMEDIATE.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        # Take the write lock up front: SQLite cannot upgrade a read transaction to a write one under
        # contention without failing, and this also makes check-then-write sequences race-free.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
