"""Log lines of the commerce API: JSON (default, `LOG_FORMAT=json`) or text (`LOG_FORMAT=text`).

Every line carries `trace_id` and `span_id` of the request's span (null outside one);
email addresses are masked as a last line of defence.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from opentelemetry import trace

EMAIL = re.compile(r"([^@\s\"'<>()\[\],;:]{1,64})@([A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24})")


def scrub(text: str) -> str:
    return EMAIL.sub(lambda m: f"{m.group(1)[:1]}***@{m.group(2)}", text)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        context = trace.get_current_span().get_span_context()
        record.trace_id = format(context.trace_id, "032x") if context.is_valid else None
        record.span_id = format(context.span_id, "016x") if context.is_valid else None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "trace_id": getattr(record, "trace_id", None),
            "span_id": getattr(record, "span_id", None),
        }
        if record.exc_info:
            line["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [trace=%(trace_id)s]: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def configure_logging(environ: Mapping[str, str] | None = None, stream: Any = None) -> logging.Handler:
    env = os.environ if environ is None else environ
    kind = env.get("LOG_FORMAT", "json").strip().lower()
    if kind not in ("json", "text"):
        raise SystemExit(f"LOG_FORMAT must be json or text, got {kind!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if kind == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # let uvicorn's lines reach this handler
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    return handler
