"""The batching event broker against PostgreSQL, and the action-response validation fix."""

from __future__ import annotations

import json

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.brokers.broker import EventBroker
from rasa.utils.endpoints import read_endpoint_config
from sqlalchemy import create_engine, text

import shop_channels  # noqa: F401 - installs the speed-ups, as Rasa's channel loading does
from shop_stores.event_broker import BatchingSQLEventBroker
from tools.analytics_report import broker_db_url


async def test_events_reach_postgresql_in_order(postgres_url, production_env, monkeypatch):
    database = postgres_url.rsplit("/", 1)[1]
    monkeypatch.setenv("EVENT_BROKER_DB", database)
    broker = await EventBroker.create(read_endpoint_config("deploy/endpoints.production.yml", "event_broker"))
    assert isinstance(broker, BatchingSQLEventBroker)
    for number in range(500):
        broker.publish({"sender_id": "c1", "event": "user", "text": f"message {number}"})
    await broker.close()  # writes what is still queued
    engine = create_engine(broker_db_url("deploy/endpoints.production.yml"))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT sender_id, data FROM events ORDER BY id")).fetchall()
    assert [json.loads(data)["text"] for _, data in rows] == [f"message {n}" for n in range(500)]
    assert {sender for sender, _ in rows} == {"c1"}
    engine.dispose()


def test_action_responses_are_still_validated():
    action = RemoteAction("action_anything", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "x", "value": 1}], "responses": []})
    with pytest.raises(ValidationError) as raised:
        action._validate_action_result({"events": [{"no_event_key": True}]})
    assert "Failed to validate Action server response" in raised.value.message
    assert RemoteAction._validate_action_result.__module__ == "shop_channels.rasa_speedups"
