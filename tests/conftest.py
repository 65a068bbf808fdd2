"""Fixtures shared by the assistant's tests: real services on loopback, real databases."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import psycopg2
import pytest

from tests import processes
from tests.stack import MODEL, Conversation, Stack

POSTGRES_ADMIN_DSN = "host=127.0.0.1 port=5432 user=postgres dbname=postgres"


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def commerce_db_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('commerce') / 'commerce.db'}"


@pytest.fixture(scope="session")
def commerce_api_url(commerce_db_url: str, logs_dir: Path) -> Iterator[str]:
    """The real reference commerce API, seeded with the demo data."""
    with processes.commerce_api(commerce_db_url, logs_dir) as url:
        yield url


@pytest.fixture
def reseed(commerce_db_url: str):
    """Resets the demo data; call it before a test that changes orders."""
    return lambda: processes.seed(commerce_db_url)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database on the local server, dropped afterwards."""
    name = f"assistant_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = psycopg2.connect(POSTGRES_ADMIN_DSN)
    except psycopg2.OperationalError as error:
        pytest.fail(f"PostgreSQL is not answering on 127.0.0.1:5432 ({error}); start it (see README)")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)
            )
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture(scope="session")
def stack(commerce_api_url: str, tmp_path_factory: pytest.TempPathFactory, logs_dir: Path) -> Iterator[Stack]:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make train` first (make test does)")
    state = tmp_path_factory.mktemp("stack")
    ledger_url = f"sqlite:///{state / 'ledger.db'}"
    env = processes.base_env(
        COMMERCE_API_URL=commerce_api_url,
        COMMERCE_API_TOKEN=processes.DEMO_TOKEN,
        ACTION_LEDGER_URL=ledger_url,
        ACTION_SERVER_TOKEN=processes.ACTION_SERVER_TOKEN,
        CUSTOMER_TOKEN_SECRET=processes.CUSTOMER_TOKEN_SECRET,
        TRACKER_DB_PATH=str(state / "tracker.db"),
        EVENT_BROKER_DB_PATH=str(state / "events.db"),
    )
    with processes.action_server(env, logs_dir) as action_url:
        env["ACTION_SERVER_URL"] = action_url
        with processes.rasa_server(env, logs_dir) as rasa_url:
            yield Stack(rasa_url, commerce_api_url, ledger_url, env)


@pytest.fixture
def customer(stack: Stack, reseed) -> Conversation:
    reseed()
    return Conversation(stack)
