"""A full return produces one trace: action span → commerce API call spans → API server spans.

The actions run in-process through the action server's own executor wrapper
(`actions.server.TracedActionExecutor`, the one `build_app` installs) with Rasa's
real domain, and their spans are collected by the in-memory exporter. They call a
real commerce API process that exports its spans over OTLP/HTTP to a small OTLP
receiver in this test, so the API's half of the trace crosses a real process
boundary: the W3C `traceparent` the client injects is what links the two halves.
"""

from __future__ import annotations

import gzip
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List, Optional

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from actions import ledger, telemetry
from actions.api import commerce
from actions.common import mask_conversation_id
from actions.config import get_settings
from actions.server import TracedActionExecutor
from tests import processes

CONVERSATION = "trace-test-conversation"



class OtlpReceiver:
    """Collects the spans an OTLP/HTTP exporter posts to /v1/traces (protobuf)."""

    def __init__(self) -> None:
        self.spans: List[Dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource_spans in request.resource_spans:
                    service = next(a.value.string_value for a in resource_spans.resource.attributes
                                   if a.key == "service.name")
                    for scope_spans in resource_spans.scope_spans:
                        for span in scope_spans.spans:
                            receiver.spans.append({
                                "service": service, "name": span.name, "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(), "parent_span_id": span.parent_span_id.hex(),
                                "attributes": {a.key: a.value for a in span.attributes},
                            })
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for_children_of(self, parent_ids: List[str], timeout: float = 15) -> List[Dict[str, Any]]:
        """The spans received once every id in `parent_ids` has a child (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if set(parent_ids) <= {s["parent_span_id"] for s in self.spans}:
                break
            time.sleep(0.1)
        return list(self.spans)


@pytest.fixture(scope="module")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture(scope="module")
def traced_api(otlp: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory, logs_dir) -> Iterator[str]:
    """A real commerce API process exporting its spans to `otlp`."""
    port = processes.free_port()
    env = processes.base_env(
        COMMERCE_API_PORT=str(port), COMMERCE_API_TOKEN=processes.DEMO_TOKEN, COMMERCE_SEED_ON_START="always",
        COMMERCE_DATABASE_URL=f"sqlite:///{tmp_path_factory.mktemp('traced') / 'commerce.db'}",
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp.url, OTEL_BSP_SCHEDULE_DELAY="50",
    )
    with processes.running([str(processes.API_PYTHON), "-m", "commerce_api"], env,
                           f"http://127.0.0.1:{port}/health", logs_dir / "commerce-api-traced.log"):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch, traced_api: str, tmp_path) -> Iterator[InMemorySpanExporter]:
    monkeypatch.setenv("COMMERCE_API_URL", traced_api)
    monkeypatch.setenv("COMMERCE_API_TOKEN", processes.DEMO_TOKEN)
    monkeypatch.setenv("ACTION_LEDGER_URL", f"sqlite:///{tmp_path / 'ledger.db'}")
    caches = (get_settings, commerce.get_commerce_client, ledger.get_sessionmaker)
    for cached in caches:
        cached.cache_clear()
    provider = telemetry.setup_tracing()
    assert isinstance(provider, TracerProvider), "tracing is disabled in this environment (OTEL_SDK_DISABLED)"
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    provider.add_span_processor(processor)
    yield exporter
    processor.shutdown()  # stops exporting to this test's exporter
    for cached in caches:
        cached.cache_clear()


@pytest.fixture(scope="module")
def domain() -> Dict[str, Any]:
    from rasa.shared.core.domain import Domain

    return Domain.load(str(processes.ROOT / "domain")).as_dict()


def call(action: str, slots: Dict[str, Any], domain: Dict[str, Any], *, intent: str = "inform",
         active_loop: Optional[str] = "return_form", new_slots: Optional[Dict[str, Any]] = None,
         text: str = "", before: Optional[List[Dict[str, Any]]] = None) -> Dict[str, Any]:
    """The action call Rasa would send (new_slots: slot candidates a form validates; before: earlier events)."""
    events: List[Dict[str, Any]] = list(before or []) + [{"event": "user", "text": text, "parse_data": {}}]
    events += [{"event": "slot", "name": k, "value": v} for k, v in (new_slots or {}).items()]
    return {
        "next_action": action, "sender_id": CONVERSATION, "domain": domain, "version": "3.6.21",
        "tracker": {
            "sender_id": CONVERSATION, "slots": {**slots, **(new_slots or {})}, "events": events,
            "latest_message": {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []},
            "active_loop": {"name": active_loop} if active_loop else {}, "paused": False,
            "followup_action": None, "latest_action_name": "action_listen",
        },
    }


def children(spans, parent) -> List[Any]:
    return [s for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id]


async def test_a_full_return_is_one_trace_from_action_to_api_server(spans, otlp, domain) -> None:
    executor = TracedActionExecutor()
    executor.register_package("actions")
    # 1. the form validates the email (verify call), 2. the gate stages, 3. "yes" resolves it
    validated = await executor.run(call(
        "validate_return_form", {"order_mention": "4521", "requested_slot": "customer_email"}, domain,
        text="jane.doe@example.com"))
    verified = {e["name"]: e["value"] for e in validated["events"] if e["event"] == "slot"}["customer_id"]
    assert verified == "cus_jane_doe"
    slots = {"order_id": "4521", "customer_id": verified, "verified_via": "email", "return_items": ["4521-1"],
             "return_reason": "wrong_size", "return_refund_method": "store_credit",
             "requested_slot": "gate_confirmation"}
    staged = await executor.run(call("action_ask_gate_confirmation", slots, domain))
    row_id = next(e["value"] for e in staged["events"] if e.get("name") == "gate_action_id")
    stamp = next(e["value"] for e in staged["events"] if e.get("name") == "gate_prompt")
    shown = [{"event": "slot", "name": "gate_prompt", "value": stamp},
             {"event": "bot", "text": staged["responses"][0]["text"]}]
    resolved = await executor.run(call(
        "action_resolve_gate", {**slots, "gate_action_id": row_id, "gate_confirmation": True}, domain,
        intent="affirm", active_loop=None, text="yes", before=shown))
    assert "return RMA-" in " ".join(m.get("text") or "" for m in resolved["responses"])

    finished = spans.get_finished_spans()
    roots = [s for s in finished if s.parent is None]
    assert [s.name for s in roots] == [
        "action validate_return_form", "action action_ask_gate_confirmation", "action action_resolve_gate"]
    validate, ask, resolve = roots
    assert validate.attributes["rasa.active_loop"] == "return_form"
    assert validate.attributes["rasa.requested_slot"] == "customer_email"
    assert resolve.attributes["rasa.intent"] == "affirm"
    for root in roots:
        assert root.attributes["rasa.conversation.id"] == mask_conversation_id(CONVERSATION)  # ids are secrets
        assert root.attributes["rasa.action.outcome"] == "ok"
        assert all(child.context.trace_id == root.context.trace_id for child in children(finished, root))
    assert len({root.context.trace_id for root in roots}) == 3  # one trace per action run

    assert "commerce_api POST /customers/verify" in [s.name for s in children(finished, validate)]
    assert "gate.stage" in [s.name for s in children(finished, ask)]
    stage = next(s for s in children(finished, ask) if s.name == "gate.stage")
    assert stage.attributes["gate.ledger_row_id"] == row_id
    assert stage.attributes["gate.action_name"] == "create_return"
    assert [s.name for s in children(finished, resolve)] == [
        "gate.claim", "commerce_api GET /orders/{order_id}", "commerce_api POST /returns", "gate.finish"]
    claim, _, create, finish = children(finished, resolve)
    assert claim.attributes["gate.ledger_row_id"] == row_id and claim.attributes["gate.claimed"] is True
    assert finish.attributes["gate.ledger_row_id"] == row_id
    assert finish.attributes["gate.outcome"] == "executed"
    assert finish.attributes["gate.action_name"] == "create_return"
    assert create.attributes["http.response.status_code"] == 201
    assert create.attributes["http.request.resend_count"] == 0

    client_spans = [s for s in finished if s.name.startswith("commerce_api ")]
    assert len(client_spans) >= 4
    for span in client_spans:  # route templates only: no order id in names or attributes
        assert "4521" not in span.name and "4521" not in span.attributes["http.route"]

    # the API's server span of every call continues the trace, with the client span as parent
    server_spans = otlp.wait_for_children_of([format(s.context.span_id, "016x") for s in client_spans])
    for client in client_spans:
        trace_id, span_id = format(client.context.trace_id, "032x"), format(client.context.span_id, "016x")
        matches = [s for s in server_spans if s["parent_span_id"] == span_id]
        assert len(matches) == 1, (client.name, [(s["name"], s["parent_span_id"]) for s in server_spans])
        [server] = matches
        assert server["trace_id"] == trace_id
        assert server["service"] == "commerce-api"
        assert server["name"] == client.name.removeprefix("commerce_api ")
        assert server["attributes"]["http.response.status_code"].int_value == client.attributes[
            "http.response.status_code"]
