"""The Redis tracker store against the real Redis server."""

from __future__ import annotations

import asyncio
import subprocess
import time
from typing import Any, Dict, List

import pytest
import redis
from rasa.core.agent import Agent
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import FailSafeTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from shop_server import patches
from shop_stores.tracker_store import AsyncRedisTrackerStore
from tests.processes import free_port
from tests.production.conftest import REDIS_HOST, REDIS_PORT, TEST_DB

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet]
slots:
  order_id:
    type: text
    mappings: [{type: custom}]
responses:
  utter_greet: [{text: hi}]
""")


class RecordingBroker(EventBroker):
    def __init__(self) -> None:
        self.published: List[Dict[str, Any]] = []

    def publish(self, event: Dict[str, Any]) -> None:
        self.published.append(event)


def make_store(key_prefix: str, broker: EventBroker = None, **options) -> AsyncRedisTrackerStore:
    return AsyncRedisTrackerStore(domain=DOMAIN, host=REDIS_HOST, port=REDIS_PORT, db=TEST_DB,
                                  key_prefix=key_prefix, event_broker=broker, **options)


def session_start() -> List[Any]:
    return [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]


def turn(text: str) -> List[Any]:
    return [UserUttered(text, {"name": "greet", "confidence": 1.0}), ActionExecuted("utter_greet"),
            BotUttered("hi"), ActionExecuted("action_listen")]


async def test_round_trip_appends_only_new_events(redis_client, key_prefix):
    broker = RecordingBroker()
    store = make_store(key_prefix, broker)
    tracker = DialogueStateTracker.from_events("c1", session_start() + turn("hello"), DOMAIN.slots)
    await store.save(tracker)
    stored = await store.retrieve("c1")
    assert [e.as_dict() for e in stored.events] == [e.as_dict() for e in tracker.events]

    for event in turn("again") + [SlotSet("order_id", "4521")]:
        stored.update(event)
    await store.save(stored)
    assert redis_client.llen(f"{key_prefix}:c1:events") == 12  # 7 + 5, nothing rewritten
    again = await store.retrieve("c1")
    assert again.get_slot("order_id") == "4521"
    assert [e["event"] for e in broker.published].count("user") == 2  # each event streamed once
    assert len(broker.published) == 12


async def test_retrieve_returns_the_last_session_and_full_returns_all(key_prefix):
    store = make_store(key_prefix)
    tracker = DialogueStateTracker.from_events("c2", session_start() + turn("first"), DOMAIN.slots)
    await store.save(tracker)
    current = await store.retrieve("c2")
    for event in session_start() + turn("second"):
        current.update(event)
    await store.save(current)

    last = await store.retrieve("c2")
    assert [e.text for e in last.events if isinstance(e, UserUttered)] == ["second"]
    full = await store.retrieve_full_tracker("c2")
    assert [e.text for e in full.events if isinstance(e, UserUttered)] == ["first", "second"]
    # saving the last-session tracker again appends only what is new
    last.update(UserUttered("third"))
    await store.save(last)
    full = await store.retrieve_full_tracker("c2")
    assert [e.text for e in full.events if isinstance(e, UserUttered)] == ["first", "second", "third"]


async def test_conversations_expire_after_the_ttl(redis_client, key_prefix):
    store = make_store(key_prefix, ttl_seconds=90)
    await store.save(DialogueStateTracker.from_events("c3", session_start(), DOMAIN.slots))
    for suffix in ("events", "meta"):
        assert 80 < redis_client.ttl(f"{key_prefix}:c3:{suffix}") <= 90
    assert make_store(key_prefix).ttl_seconds == 3600  # the default: one hour


async def test_unknown_conversation_is_none_and_keys_lists_stored_ones(key_prefix):
    store = make_store(key_prefix)
    assert await store.retrieve("nobody") is None
    assert not await store.exists("nobody")
    await store.save(DialogueStateTracker.from_events("c4", session_start(), DOMAIN.slots))
    assert set(await store.keys()) == {"c4"}
    await store.delete("c4")
    assert await store.retrieve("c4") is None


async def test_errors_reach_the_caller_instead_of_an_empty_conversation(key_prefix):
    """With Redis unreachable a turn must fail, not continue on a blank tracker (fail closed)."""
    patches.install()  # as `python -m shop_server` does before Rasa builds the agent
    store = AsyncRedisTrackerStore(domain=DOMAIN, host="127.0.0.1", port=1, key_prefix=key_prefix, socket_timeout=0.5,
                                   read_retry_seconds=0.3)
    agent_store = Agent._create_tracker_store(store, DOMAIN)
    assert agent_store is store and not isinstance(agent_store, FailSafeTrackerStore)
    with pytest.raises(redis.exceptions.ConnectionError):
        await agent_store.get_or_create_tracker("c5")


def test_rasa_builds_it_from_the_production_endpoints_file(production_env):
    patches.install()
    config = read_endpoint_config("deploy/endpoints.production.yml", "tracker_store")
    store = TrackerStore.create(config, domain=DOMAIN)
    assert isinstance(store, AsyncRedisTrackerStore)
    assert store.ttl_seconds == 120 and store.settings.db == 0 and store.settings.password is None
    other = TrackerStore.create(EndpointConfig(type="redis", url=REDIS_HOST), domain=DOMAIN)
    assert Agent._create_tracker_store(other, DOMAIN).__class__ is FailSafeTrackerStore  # stock stores unchanged


async def test_a_save_waits_out_a_redis_restart_and_appends_once(tmp_path, key_prefix):
    port = free_port()
    command = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(tmp_path),
               "--appendonly", "yes", "--save", ""]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        client = redis.Redis(port=port)
        wait_for_ping(client)
        store = AsyncRedisTrackerStore(domain=DOMAIN, host="127.0.0.1", port=port, key_prefix=key_prefix,
                                       socket_timeout=0.5, save_retry_seconds=20)
        tracker = DialogueStateTracker.from_events("c6", session_start() + turn("before"), DOMAIN.slots)
        await store.save(tracker)
        client.shutdown()  # graceful: the append-only file is flushed
        server.wait(timeout=10)
        for event in turn("during the outage"):
            tracker.update(event)
        saving = asyncio.create_task(store.save(tracker))
        await asyncio.sleep(2)
        assert not saving.done()  # still retrying while Redis is away
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        await asyncio.wait_for(saving, 20)
        stored = await store.retrieve("c6")
        assert [e.text for e in stored.events if isinstance(e, UserUttered)] == ["before", "during the outage"]
        assert client.llen(f"{key_prefix}:c6:events") == len(tracker.events)
    finally:
        server.terminate()
        server.wait(timeout=10)


def wait_for_ping(client: redis.Redis) -> None:
    for _ in range(100):
        try:
            if client.ping():
                return
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")
