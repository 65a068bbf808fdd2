"""Fixtures shared by the assistant's tests: real services on loopback, real databases."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Iterator

import psycopg2
import pytest

from tests import processes
from tests.stack import Conversation, Stack, started

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
    with started(Stack, commerce_api_url, tmp_path_factory.mktemp("stack"), logs_dir) as running_stack:
        yield running_stack


@pytest.fixture
def customer(stack: Stack, reseed) -> Conversation:
    reseed()
    return Conversation(stack)


@pytest.fixture(scope="session")
def production_layout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[processes.ProductionLayout]:
    """scripts/production.py's layout: 2 Rasa replicas and 2 action servers behind nginx, own Redis."""
    with processes.production_layout(tmp_path_factory.mktemp("production")) as layout:
        yield layout
