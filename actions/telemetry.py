"""Traces and metrics of the action server: set up once from the environment, plus span helpers.

Traces (OpenTelemetry):

* `OTEL_EXPORTER_OTLP_ENDPOINT` set → spans are batched to that collector over OTLP/HTTP;
* `OTEL_TRACES_EXPORTER=console` → spans are printed (development);
* neither → nothing is exported or printed. Trace and span ids are still generated
  (and propagated to the commerce API) so that the JSON log lines of both services
  can be correlated; `OTEL_SDK_DISABLED=true` turns even that off (a no-op tracer).

`OTEL_SERVICE_NAME` names the service (default `shop-assistant-actions`).

Metrics (prometheus_client, served on the action server's `/metrics`) are aggregate
counters and histograms only: their labels are action names, route templates,
statuses and reasons, never an id.
"""

from __future__ import annotations

import contextvars
import logging
import os
import threading
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Mapping, Optional

from opentelemetry import propagate, trace
from prometheus_client import Counter, Gauge, Histogram

from actions.common import mask_conversation_id

logger = logging.getLogger(__name__)

DEFAULT_SERVICE_NAME = "shop-assistant-actions"
TRACER_NAME = "shop_assistant.actions"

# The conversation the current action runs for (set by `action_span`; read by the logs).
conversation_id: contextvars.ContextVar[Optional[str]] = contextvars.ContextVar("conversation_id", default=None)

# -- metrics ---------------------------------------------------------------------------------

ACTIONS = Counter("assistant_actions", "Custom actions run, by name and outcome (ok, failed, rejected).",
                  ["action", "outcome"])
COMMERCE_API_SECONDS = Histogram(
    "assistant_commerce_api_request_seconds",
    "Calls to the commerce API (including retries), by method, route template and status.",
    ["method", "route", "status"],
)
GATE_TRANSITIONS = Counter(
    "assistant_gate_transitions",
    "Confirmation gate transitions by gated action and outcome (staged, confirmed, declined, expired, "
    "executed, failed, abandoned, outcome_unknown, resumed).",
    ["action", "outcome"],
)
COMMERCE_API_CIRCUIT = Gauge(
    "assistant_commerce_api_circuit_state",
    "The commerce API circuit breaker of this process: 0 closed, 1 open, 2 half-open.",
)
COMMERCE_API_CIRCUIT_CHANGES = Counter(
    "assistant_commerce_api_circuit_changes", "Circuit breaker state changes, by the state entered.", ["state"]
)
CIRCUIT_STATES = {"closed": 0, "open": 1, "half_open": 2}
HANDOFFS = Counter("assistant_handoffs", "Conversations handed over to a person, by reason.", ["reason"])
HANDOFF_WEBHOOKS = Counter("assistant_handoff_webhooks", "Handoffs sent to the shop's helpdesk webhook, by outcome.",
                           ["outcome"])
FALLBACKS = Counter("assistant_fallbacks", "Messages NLU was not confident about (nlu_fallback).")


def set_commerce_api_circuit(state: str) -> None:
    COMMERCE_API_CIRCUIT.set(CIRCUIT_STATES.get(state, 1))
    COMMERCE_API_CIRCUIT_CHANGES.labels(state).inc()


# -- traces ----------------------------------------------------------------------------------

_setup_lock = threading.Lock()
_provider: Optional[trace.TracerProvider] = None


def setup_tracing(environ: Optional[Mapping[str, str]] = None) -> trace.TracerProvider:
    """Installs the process's tracer provider from the environment (once; later calls return it)."""
    global _provider
    with _setup_lock:
        if _provider is not None:
            return _provider
        env = os.environ if environ is None else environ
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            _provider = trace.NoOpTracerProvider()
            return _provider
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        name = env.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            # the exporter reads the endpoint, headers and timeout from the OTEL_* variables itself
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        trace.set_tracer_provider(provider)
        _provider = provider
        return _provider


def tracer() -> trace.Tracer:
    return setup_tracing().get_tracer(TRACER_NAME)


def inject_trace_context(headers: Dict[str, str]) -> Dict[str, str]:
    """Adds the W3C `traceparent` (and `tracestate`) of the current span to `headers`."""
    propagate.inject(headers)
    return headers


@contextmanager
def action_span(action_call: Mapping[str, Any], known_actions: Any) -> Iterator[trace.Span]:
    """The span of one action run; counts it and sets the conversation id for the logs.

    An action name the server does not know is counted as `unknown`, so a caller
    cannot add label values (and time series) by inventing names.
    """
    name = action_call.get("next_action") or ""
    label = name if name in known_actions else "unknown"
    tracker = action_call.get("tracker") or {}
    latest = tracker.get("latest_message") or {}
    intent = (latest.get("intent") or {}).get("name") if isinstance(latest.get("intent"), dict) else None
    loop = (tracker.get("active_loop") or {}).get("name")
    requested = (tracker.get("slots") or {}).get("requested_slot")
    attributes = {
        "rasa.action.name": label,
        "rasa.conversation.id": mask_conversation_id(str(action_call.get("sender_id") or "")),
    }
    for key, value in (("rasa.intent", intent), ("rasa.active_loop", loop), ("rasa.requested_slot", requested)):
        if isinstance(value, str) and value:
            attributes[key] = value
    token = conversation_id.set(attributes["rasa.conversation.id"] or None)
    started = time.perf_counter()
    try:
        with tracer().start_as_current_span(f"action {label}", kind=trace.SpanKind.SERVER,
                                            attributes=attributes) as span:
            outcome = "failed"
            try:
                yield span
                outcome = "ok"
            except Exception as error:
                from rasa_sdk.interfaces import ActionExecutionRejection

                if isinstance(error, ActionExecutionRejection):
                    outcome = "rejected"
                raise
            finally:
                span.set_attribute("rasa.action.outcome", outcome)
                ACTIONS.labels(label, outcome).inc()
                logger.info("action %s %s in %.0f ms", label, outcome, (time.perf_counter() - started) * 1000)
    finally:
        conversation_id.reset(token)


@contextmanager
def gate_span(operation: str, **attributes: Any) -> Iterator[trace.Span]:
    """A span for one gate transition (`gate.stage`, `gate.claim`, ...)."""
    clean = {f"gate.{k}": v for k, v in attributes.items() if v is not None}
    with tracer().start_as_current_span(f"gate.{operation}", attributes=clean) as span:
        yield span


def count_gate(action: Optional[str], outcome: str, amount: int = 1) -> None:
    if amount:
        GATE_TRANSITIONS.labels(action or "unknown", outcome).inc(amount)
