"""The action server: rasa-sdk's app behind a shared secret, on loopback by default.

    python -m actions.server            (ACTION_SERVER_TOKEN must be set)

Rasa sends the secret as `?token=` (`action_endpoint.token` in endpoints.yml);
`Authorization: Bearer <secret>` is accepted too. Every call without it is
refused with 401 before any action runs. Malformed calls get 400 and internal
errors a bare 500 — never the request body or a stack trace, unlike the stock
server's error handler. Before it serves, it brings the action ledger to its head
revision (`actions.ledger.migrate`).
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import sys
import zlib
from typing import Any, Dict, Optional

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rasa_sdk import utils
from rasa_sdk.endpoint import configure_cors
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionNotFoundException
from sanic import Sanic, response
from sanic.request import Request

from actions import ledger, telemetry
from actions.logs import configure_logging
from actions.shop.profile import ProfileError, get_profile

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5055
# /metrics holds aggregate counters only (no ids); production scrapes it on the internal network
OPEN_PATHS = {"/health", "/metrics"}


class TracedActionExecutor(ActionExecutor):
    """rasa-sdk's executor with one span (and counter) per action run, see actions.telemetry."""

    async def run(self, action_call: Any) -> Optional[Dict[str, Any]]:
        with telemetry.action_span(action_call, self.actions):
            return await super().run(action_call)


def supplied_token(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer "):]
    return request.args.get("token", "")


def malformed(call: Any) -> Optional[str]:
    """Why an action call is not one Rasa would send, or None if it is well formed."""
    if not isinstance(call, dict):
        return "the body must be a JSON object"
    if not isinstance(call.get("next_action"), str) or not isinstance(call.get("sender_id"), str):
        return "next_action and sender_id must be strings"
    tracker = call.get("tracker")
    if not isinstance(tracker, dict):
        return "tracker must be an object"
    if not isinstance(tracker.get("slots", {}), dict) or not isinstance(tracker.get("events", []), list):
        return "tracker.slots must be an object and tracker.events a list"
    if not all(isinstance(event, dict) and isinstance(event.get("event"), str) for event in tracker.get("events", [])):
        return "every tracker event must be an object with an 'event' name"
    for key in ("latest_message", "active_loop"):
        if tracker.get(key) is not None and not isinstance(tracker.get(key), dict):
            return f"tracker.{key} must be an object"
    if not isinstance(call.get("domain", {}), dict):
        return "domain must be an object"
    return None


def action_app(executor: ActionExecutor) -> Sanic:
    """rasa-sdk 3.6.2's `endpoint.create_app`, serving `executor` (the SDK's builds its own executor inside).

    The same app name, CORS setting (no origin) and routes: GET /health, POST /webhook (deflate
    bodies, the SDK version check, 400 for a rejected and 404 for an unknown action) and
    GET /actions. Without the SDK's auto-reload (never used here) and without its error handler,
    which answers with the request body: `build_app` adds its own.
    """
    app = Sanic("rasa_sdk", configure_logging=False)
    configure_cors(app, cors_origins=[])

    @app.get("/health")
    async def health(_: Request):
        return response.json({"status": "ok"}, status=200)

    @app.post("/webhook")
    async def webhook(request: Request):
        if request.headers.get("Content-Encoding") == "deflate":
            action_call = json.loads(zlib.decompress(request.body))
        else:
            action_call = request.json
        if action_call is None:
            return response.json({"error": "Invalid body request"}, status=400)
        utils.check_version_compatibility(action_call.get("version"))
        try:
            result = await executor.run(action_call)
        except ActionExecutionRejection as e:
            logger.debug(e)
            return response.json({"error": e.message, "action_name": e.action_name}, status=400)
        except ActionNotFoundException as e:
            logger.error(e)
            return response.json({"error": e.message, "action_name": e.action_name}, status=404)
        return response.json(result, status=200)

    @app.get("/actions")
    async def actions(_: Request):
        return response.json([{"name": name} for name in executor.actions], status=200)

    return app


def build_app(token: str, package: str = "actions") -> Sanic:
    executor = TracedActionExecutor()
    executor.register_package(package)
    app = action_app(executor)
    telemetry.setup_tracing()

    @app.get("/metrics")
    async def metrics(_: Request):
        return response.raw(generate_latest(), content_type=CONTENT_TYPE_LATEST)

    @app.middleware("request")
    async def require_secret_and_shape(request: Request):
        if request.path in OPEN_PATHS:
            return None
        if not hmac.compare_digest(supplied_token(request).encode(), token.encode()):
            return response.json({"error": "unauthorized"}, status=401)
        if request.method == "POST" and request.path == "/webhook":
            try:
                call = request.json
            except Exception:  # Sanic raises its own error types for undecodable bodies
                return response.json({"error": "the body is not valid JSON"}, status=400)
            problem = malformed(call)
            if problem:
                return response.json({"error": problem}, status=400)
        return None

    async def safe_errors(request: Request, exception: Exception):
        status = getattr(exception, "status_code", 500)
        if status >= 500:
            logger.exception("action server error on %s", request.path, exc_info=exception)
            return response.json({"error": "internal error"}, status=500)
        return response.json({"error": str(getattr(exception, "message", "bad request"))[:200]}, status=status)

    app.error_handler.add(Exception, safe_errors)
    return app


def main() -> None:
    token = os.environ.get("ACTION_SERVER_TOKEN", "")
    if len(token) < 16:
        sys.exit("ACTION_SERVER_TOKEN must be set to a secret of at least 16 characters "
                 "(scripts/stack.py generates one for `make run`)")
    configure_logging()
    try:  # a mistake in the shop profile stops the server here, naming the file and the field
        profile = get_profile()
    except ProfileError as error:
        sys.exit(str(error))
    logger.info("serving shop %s", profile.name)
    # The ledger at the head revision before the first call (under a lock: replicas starting
    # together apply each revision once; a database ahead of this release stops it here).
    try:
        applied = ledger.migrate()
    except ledger.LedgerSchemaError as error:
        sys.exit(f"action ledger: {error}")
    if applied:
        logger.info("action ledger migrated: %s", ", ".join(applied))
    host = os.environ.get("ACTION_SERVER_HOST", DEFAULT_HOST)
    port = int(os.environ.get("ACTION_SERVER_PORT", DEFAULT_PORT))
    app = build_app(token)
    logger.info("action server on http://%s:%s", host, port)
    app.run(host, port, workers=utils.number_of_sanic_workers(), access_log=False)


if __name__ == "__main__":
    main()
