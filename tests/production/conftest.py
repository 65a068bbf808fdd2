"""Redis fixtures: the machine's real Redis server, a private key space per test run."""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest
import redis

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
# a database the rest of the machine leaves alone; keys are also prefixed per run
TEST_DB = 13
# every variable deploy/endpoints.production.yml reads (Rasa refuses to expand an unset one)
PRODUCTION_ENV = {
    "ACTION_SERVER_URL": "http://127.0.0.1:1/webhook", "ACTION_SERVER_TOKEN": "test-token-0123456789abcdef",
    "REDIS_HOST": REDIS_HOST, "REDIS_PORT": str(REDIS_PORT), "REDIS_PASSWORD": "", "TRACKER_TTL_SECONDS": "120",
    "LOCK_LIFETIME_SECONDS": "45", "POSTGRES_HOST": "127.0.0.1", "POSTGRES_PORT": "5432", "POSTGRES_USER": "postgres",
    "POSTGRES_PASSWORD": "", "EVENT_BROKER_DB": "postgres",
}


@pytest.fixture
def production_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=TEST_DB)
    try:
        client.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"Redis is not answering on {REDIS_HOST}:{REDIS_PORT} ({error}); start it (see README)")
    yield client
    client.close()


@pytest.fixture
def key_prefix(redis_client: redis.Redis) -> Iterator[str]:
    prefix = f"test{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in redis_client.scan_iter(match=f"{prefix}*"):
        redis_client.delete(key)
