"""The batching event broker against PostgreSQL; the fixes to Rasa's per-turn cost (shop_server.patches)."""

from __future__ import annotations

import json

import jsonschema
import pytest
from aiohttp import web
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.brokers.broker import EventBroker
from rasa.engine.graph import GraphSchema, SchemaNode
from rasa.shared.core.events import Event
from rasa.shared.utils.common import all_subclasses
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config
from sqlalchemy import create_engine, text

from shop_server import patches
from shop_stores.event_broker import BatchingSQLEventBroker
from tests import processes
from tools.analytics_report import broker_db_url

# as `python -m shop_server` does before Rasa starts
patches.install()


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
    assert RemoteAction._validate_action_result.__module__ == "shop_server.patches"


async def test_action_calls_share_one_kept_connection_and_send_the_same_json():
    seen_peers, bodies = [], []

    async def webhook(request: web.Request) -> web.Response:
        seen_peers.append(request.transport.get_extra_info("peername"))
        bodies.append((await request.json(), request.query.get("token"), request.headers.get("X-Shop")))
        return web.json_response({"events": [], "responses": []})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = processes.free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", token="secret", headers={"X-Shop": "1"})
        payload = {"next_action": "action_x", "tracker": {"events": [{"event": "user", "text": "héllo / \\"}]},
                   "confidence": 0.25, "missing": None}
        for _ in range(5):
            assert await endpoint.request(json=payload, method="post") == {"events": [], "responses": []}
    finally:
        await patches.close_sessions()
        await runner.cleanup()
    assert len(seen_peers) == 5 and len(set(seen_peers)) == 1  # one TCP connection for all five calls
    assert bodies == [(payload, "secret", "1")] * 5


def test_the_json_sent_to_the_action_server_means_what_rasas_did():
    for value in ({"a": [1, 2.5, "x/y", None, True]}, {"text": "h\u00e9llo \ud800 \\ \"q\" \u202e"}, {"n": 2**70},
                  {"f": 0.1 + 0.2, "e": 1e-300}):
        assert json.loads(patches.serialise(value)) == json.loads(json.dumps(value))
    with pytest.raises(TypeError):  # what neither can write still fails loudly, as it did
        patches.serialise({"o": object()})


def test_kept_answers_equal_what_rasa_computes():
    for cls in all_subclasses(Event):
        assert Event.resolve_by_type(cls.type_name) is patches.original("Event.resolve_by_type")(cls.type_name)
    assert Event.resolve_by_type("no_such_event", default=Event) is Event
    with pytest.raises(ValueError):
        Event.resolve_by_type("no_such_event")

    def node(*needs: str) -> SchemaNode:
        return SchemaNode(needs={f"in{i}": n for i, n in enumerate(needs)}, uses=object, constructor_name="create",
                          fn="run", config={})

    schema = GraphSchema({"a": node(), "b": node("a"), "c": node("b"), "d": node("a")})
    minimal = schema.minimal_graph_schema(["c"])
    assert sorted(minimal.nodes) == ["a", "b", "c"]
    assert schema.minimal_graph_schema(["c"]) is minimal  # computed once
    assert sorted(schema.minimal_graph_schema().nodes) == sorted(
        patches.original("GraphSchema.minimal_graph_schema")(schema).nodes)


RESPONSES = [
    {"events": [{"event": "slot", "name": "order_id", "value": "4521"}, {"event": "active_loop", "name": None},
                {"event": "followup", "name": "action_x"}, {"event": "bot", "text": "hi", "data": {}}],
     "responses": [{"text": "hello"}]},
    {"events": [], "responses": []},
    {},
    {"events": [{"event": "slot"}]},  # a slot event needs its name
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"name": "x"}]},
    {"events": [{"event": 7}]},
    {"events": [{"event": "slot", "name": "x", "value": 1, "timestamp": "yesterday"}]},
    {"events": "not a list"},
    {"events": None},
    {"responses": [{"text": "x"}, "not an object"]},
    {"events": [{"event": "user", "text": 5}]},
    {"events": [{"event": "session_started"}, {"event": "action", "name": "action_listen", "policy": None}]},
]


@pytest.mark.parametrize("response", RESPONSES)
def test_action_responses_are_judged_as_the_full_schema_judges_them(response):
    schema = RemoteAction.action_response_format_spec()
    expected = best = None
    try:
        jsonschema.validate(response, schema)
        expected = True
    except ValidationError as error:
        best = error.message
    action = RemoteAction("action_anything", None)
    if expected:
        assert action._validate_action_result(response) is True
        assert patches.response_checks().quick_valid(response)  # without the full schema
    else:
        with pytest.raises(ValidationError) as raised:
            action._validate_action_result(response)
        assert raised.value.message.startswith(best)
