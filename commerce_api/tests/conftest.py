"""Shared fixtures: every API test runs twice, against SQLite (temp file) and a throw-away PostgreSQL database."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import psycopg
import pytest
import uvicorn
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import delete, select

from commerce_api.app import create_app
from commerce_api.db import Database
from commerce_api.formatting import utcnow
from commerce_api.models import ShopPolicyRow, VerifyFailure
from commerce_api.seed import reset
from commerce_api.settings import Settings

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PG_ADMIN_DSN = os.environ.get(
    "COMMERCE_TEST_PG_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres connect_timeout=5"
)


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not answering ({PG_ADMIN_DSN!r}): {exc}. The commerce API tests run against both "
            "SQLite and PostgreSQL and are never skipped: start PostgreSQL on 127.0.0.1:5432 with a 'postgres' "
            "user (trust auth), or point COMMERCE_TEST_PG_DSN at one.",
            pytrace=False,
        )
    name = f"commerce_test_{os.getpid()}_{secrets.token_hex(4)}"
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = admin.info
    try:
        yield f"postgresql+psycopg://{info.user}@{info.host}:{info.port}/{name}"
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'commerce.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture(scope="session")
def database(db_url: str) -> Iterator[Database]:
    db = Database(db_url)
    db.create_schema()
    yield db
    db.dispose()


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, token=TOKEN, seed_on_start="never", return_window_days=30)


@pytest.fixture
def seeded(database: Database) -> Database:
    reset(database=database)
    return database


@pytest.fixture
def tau(database: Database) -> Database:
    """The τ-bench shop, seeded once and kept while tests only read it (fresh verification counters)."""
    with database.transaction() as session:
        shop = session.scalar(select(ShopPolicyRow.shop))
        if shop == "tau-retail" and database.url not in _TAU_DIRTY:
            session.execute(delete(VerifyFailure))
            return database
    reset(database=database, shop="tau-retail", now=utcnow())
    _TAU_DIRTY.discard(database.url)
    return database


_TAU_DIRTY: set[str] = set()


@pytest.fixture
def tau_fresh(tau: Database) -> Iterator[Database]:
    """The τ-bench shop for a test that writes to it: reseeded before the next τ test."""
    yield tau
    _TAU_DIRTY.add(tau.url)


@pytest.fixture
def tau_client(tau: Database, settings: Settings) -> Iterator[TestClient]:
    with make_client(settings, tau) as test_client:
        yield test_client


def make_client(settings: Settings, database: Database) -> TestClient:
    return TestClient(create_app(settings, database=database), headers=AUTH, raise_server_exceptions=False)


@pytest.fixture
def client(seeded: Database, settings: Settings) -> Iterator[TestClient]:
    with make_client(settings, seeded) as test_client:
        yield test_client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def live_server(seeded: Database, settings: Settings) -> Iterator[str]:
    """A real uvicorn server on a free loopback port, for tests that need true concurrency."""
    port = _free_port()
    config = uvicorn.Config(
        create_app(settings, database=seeded), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def idem(key: str | None = None) -> dict[str, str]:
    return {"Idempotency-Key": key or f"test-{secrets.token_hex(8)}"}


def post_return(client: TestClient | httpx.Client, *, item_id: str, key: str | None = None, **overrides: str):
    body = {"order_id": item_id.split("-")[0], "item_id": item_id, "reason": "wrong_size"}
    body["refund_method"] = "original_payment"
    body.update(overrides)
    return client.post("/returns", json=body, headers=idem(key))


def assert_error(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]
