"""The action server and the commerce API log JSON lines that correlate, without personal data."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any, Dict, List

from actions import logs, telemetry
from tests.stack import Conversation

HEX = set("0123456789abcdef")


def json_lines(path: Path) -> List[Dict[str, Any]]:
    """Every line of the log is one JSON object, once logging is set up.

    Before that, a library may print an import-time warning to stderr (Sanic turns
    DeprecationWarnings back on when it is imported), which is skipped here.
    """
    lines = [line for line in path.read_text(errors="replace").splitlines() if line.strip()]
    first = next(i for i, line in enumerate(lines) if line.startswith("{"))
    assert all("Warning" in line or line.startswith(" ") for line in lines[:first]), lines[:first]
    lines = lines[first:]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"{path.name}: not a JSON line: {line[:200]!r}") from None
    return parsed


def is_id(value: Any, length: int) -> bool:
    return isinstance(value, str) and len(value) == length and set(value) <= HEX and value != "0" * length


def test_json_lines_carry_the_conversation_and_trace_ids(customer: Conversation, stack, logs_dir: Path) -> None:
    customer.say("where is my order 4523")
    customer.say("jane.doe@example.com")

    action_lines = json_lines(logs_dir / "action-server.log")
    api_lines = json_lines(logs_dir / "commerce-api.log")
    for line in action_lines:
        assert {"ts", "level", "logger", "message", "conversation_id", "trace_id", "span_id"} <= set(line)
    for line in api_lines:
        assert {"ts", "level", "logger", "message", "trace_id", "span_id"} <= set(line)

    from actions.common import mask_conversation_id

    assert not any(customer.sender in (line.get("conversation_id") or "") for line in action_lines)  # a secret
    mine = [line for line in action_lines if line["conversation_id"] == mask_conversation_id(customer.sender)]
    assert len(mine) >= 2, "one line per action run at least"
    assert all(is_id(line["trace_id"], 32) and is_id(line["span_id"], 16) for line in mine)
    # the commerce API's request lines continue the action's trace
    traces = {line["trace_id"] for line in mine}
    served = [line for line in api_lines if line["trace_id"] in traces]
    assert any("/customers/verify" in line["message"] for line in served), served

    for path in (logs_dir / "action-server.log", logs_dir / "commerce-api.log"):
        content = path.read_text(errors="replace")
        assert "jane.doe@example.com" not in content and "Elm Street" not in content


def test_emails_are_masked_and_the_text_format_is_available() -> None:
    logger = logging.getLogger("actions.test_logs")
    stream, text = io.StringIO(), io.StringIO()
    handlers = [logs.make_handler({"LOG_FORMAT": "json"}, stream), logs.make_handler({"LOG_FORMAT": "text"}, text)]
    for handler in handlers:
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        token = telemetry.conversation_id.set("conv-1")
        with telemetry.tracer().start_as_current_span("test"):
            logger.info("lookup for %s failed", "jane.doe@example.com")
        telemetry.conversation_id.reset(token)
        logger.info("mail sam.lee@example.com")
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "lookup for j***@example.com failed"
    assert first["conversation_id"] == "conv-1" and is_id(first["trace_id"], 32) and is_id(first["span_id"], 16)
    assert second["conversation_id"] is None and second["message"] == "mail s***@example.com"
    assert "[conversation=conv-1 trace=" in text.getvalue() and "mail s***@example.com" in text.getvalue()
