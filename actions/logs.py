"""Log lines of the action server: JSON (default) or text, with conversation and trace ids.

`LOG_FORMAT=json` (the default) writes one JSON object per line:

    {"ts": "...", "level": "INFO", "logger": "actions.server", "message": "...",
     "conversation_id": "...", "trace_id": "...", "span_id": "..."}

`LOG_FORMAT=text` writes the same fields as readable text. Either way emails are
masked (`j***@example.com`) as a last line of defence; the code never logs message
text or addresses in the first place. `conversation_id` is set by the action span
(`actions.telemetry.action_span`) and is null outside an action run.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import datetime, timezone
from typing import Any, Dict, Optional

from opentelemetry import trace

from actions.common import mask_email
from actions.telemetry import conversation_id

EMAIL = re.compile(r"[^@\s\"'<>()\[\],;:]{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}")


def scrub(text: str) -> str:
    """Masks every email address in `text`."""
    return EMAIL.sub(lambda match: mask_email(match.group(0)), text)


def context_fields() -> Dict[str, Optional[str]]:
    span = trace.get_current_span().get_span_context()
    return {
        "conversation_id": conversation_id.get(),  # already masked where it is set (action_span)
        "trace_id": format(span.trace_id, "032x") if span.is_valid else None,
        "span_id": format(span.span_id, "016x") if span.is_valid else None,
    }


class ContextFilter(logging.Filter):
    """Adds conversation_id, trace_id and span_id to every record (on the handler, so
    records of every logger get them, whichever thread they come from)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in context_fields().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: Dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": scrub(record.getMessage()),
            "conversation_id": getattr(record, "conversation_id", None),
            "trace_id": getattr(record, "trace_id", None),
            "span_id": getattr(record, "span_id", None),
        }
        if record.exc_info:
            line["exception"] = scrub(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [conversation=%(conversation_id)s "
                         "trace=%(trace_id)s]: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


def make_handler(environ: Optional[Dict[str, str]] = None, stream: Any = None) -> logging.Handler:
    """A handler writing `LOG_FORMAT` (json or text) lines to `stream` (stderr)."""
    env = os.environ if environ is None else environ
    kind = env.get("LOG_FORMAT", "json").strip().lower()
    if kind not in ("json", "text"):
        raise SystemExit(f"LOG_FORMAT must be json or text, got {kind!r}")
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if kind == "json" else TextFormatter())
    return handler


def configure_logging(environ: Optional[Dict[str, str]] = None, stream: Any = None) -> logging.Handler:
    """Replaces the root logger's handlers with `make_handler`'s; returns it."""
    handler = make_handler(environ, stream)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return handler
