"""Traces, metrics and the request log of the commerce API.

* Traces: FastAPI's native OpenTelemetry support gives every request a server span named by
  its route template that continues the caller's W3C trace context (`traceparent`, sent by
  the assistant's client), with child spans for dependencies, endpoint and serialization;
  this module installs the tracer provider it uses. `OTEL_EXPORTER_OTLP_ENDPOINT` set →
  OTLP/HTTP export; `OTEL_TRACES_EXPORTER=console` → printed; neither → nothing is exported
  (ids are still kept for the log lines); `OTEL_SDK_DISABLED=true` → no-op.
  `OTEL_SERVICE_NAME` defaults to `commerce-api`.
* Metrics: `commerce_api_request_seconds{method,route,status}` on `GET /metrics`
  (no token, aggregate values only, route templates never ids; not in the OpenAPI document).
* One log line per request: method, route template, status, duration.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from fastapi.responses import Response
from opentelemetry import trace
from prometheus_client import CONTENT_TYPE_LATEST, Histogram, generate_latest

logger = logging.getLogger("commerce_api.requests")

DEFAULT_SERVICE_NAME = "commerce-api"

REQUEST_SECONDS = Histogram(
    "commerce_api_request_seconds",
    "Requests served, by method, route template and status.",
    ["method", "route", "status"],
)

_lock = threading.Lock()
_provider: trace.TracerProvider | None = None


def setup_tracing(environ: Mapping[str, str] | None = None) -> trace.TracerProvider:
    """Installs the process's tracer provider from the environment, once."""
    global _provider
    with _lock:
        if _provider is not None:
            return _provider
        env = os.environ if environ is None else environ
        if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
            _provider = trace.NoOpTracerProvider()
            return _provider
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider

        provider = TracerProvider(
            resource=Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or DEFAULT_SERVICE_NAME})
        )
        if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.trace.export import BatchSpanProcessor

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        elif env.get("OTEL_TRACES_EXPORTER", "").strip().lower() == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

            provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
        trace.set_tracer_provider(provider)
        _provider = provider
        return _provider


class TelemetryMiddleware:
    """Pure ASGI middleware: the request histogram and one log line per request (inside
    FastAPI's request span, so the line carries its trace and span ids)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        status = {"code": 500}

        async def send_and_record(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            elapsed = time.perf_counter() - started
            if route != "/metrics":
                REQUEST_SECONDS.labels(method, route, str(status["code"])).observe(elapsed)
            logger.info("%s %s %s in %.0f ms", method, route, status["code"], elapsed * 1000)


def instrument(app: FastAPI) -> None:
    """Installs the tracer provider; adds the middleware and the unauthenticated `GET /metrics`."""
    setup_tracing()

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(TelemetryMiddleware)
